//! Request and response bodies of the REST API (`/api/...`), shared so that the server and
//! the browser cannot disagree on a field. Field names on the wire are Spanish, as in the
//! model names of the sync protocol (`productos.Producto` has `imagen`, `precio`, …).
//!
//! Inputs carry a `validate()` that turns raw JSON values into domain values or per-field
//! errors; the REST handlers and the sync apply path both call it.

pub mod approval;
pub mod auth;
pub mod conflicts;
pub mod customers;
pub mod devices;
pub mod directory;
pub mod products;
pub mod returns;
pub mod sales;
pub mod stock;
pub mod supervision;

use serde::{Deserialize, Serialize};

/// One page of a list, with what is needed to ask for the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Whether a next page exists (cheaper than a total count on big tables).
    pub has_more: bool,
}

/// `?page=&per_page=` with bounds: page ≥ 1, 1 ≤ per_page ≤ 100 (default 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Paging {
    #[serde(default = "first_page")]
    pub page: u32,
    #[serde(default = "default_per_page")]
    pub per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    25
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: default_per_page(),
        }
    }
}

impl Paging {
    pub const MAX_PER_PAGE: u32 = 100;

    /// From optional `?page=&per_page=` values, clamped.
    pub fn from_query(page: Option<u32>, per_page: Option<u32>) -> Self {
        let default = Self::default();
        Self {
            page: page.unwrap_or(default.page),
            per_page: per_page.unwrap_or(default.per_page),
        }
        .clamped()
    }

    /// Clamps to the allowed range instead of failing: a too-large page size is not worth an
    /// error screen.
    pub fn clamped(self) -> Self {
        Self {
            page: self.page.max(1),
            per_page: self.per_page.clamp(1, Self::MAX_PER_PAGE),
        }
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }

    /// Builds the page from up to `per_page + 1` fetched rows (the extra one says `has_more`).
    pub fn page_of<T>(self, mut rows: Vec<T>) -> Page<T> {
        let has_more = rows.len() > self.per_page as usize;
        rows.truncate(self.per_page as usize);
        Page {
            items: rows,
            page: self.page,
            per_page: self.per_page,
            has_more,
        }
    }
}

/// Trims and bounds a free-text field (names, notes); `None` when it is empty after trimming
/// and the field is optional. Text is stored verbatim otherwise: escaping is the renderer's job.
pub fn text(value: &str, max: usize, what: &str) -> Result<String, crate::domain::ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(crate::domain::ValidationError::new(format!(
            "{what} no puede quedar vacío."
        )));
    }
    if trimmed.chars().count() > max {
        return Err(crate::domain::ValidationError::new(format!(
            "{what} admite como máximo {max} caracteres."
        )));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(crate::domain::ValidationError::new(format!(
            "{what} contiene caracteres no permitidos."
        )));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_clamps_and_computes_offset() {
        let p = Paging {
            page: 0,
            per_page: 1000,
        }
        .clamped();
        assert_eq!((p.page, p.per_page), (1, 100));
        assert_eq!(
            Paging {
                page: 3,
                per_page: 20
            }
            .offset(),
            40
        );
    }

    #[test]
    fn page_of_uses_the_extra_row_for_has_more() {
        let paging = Paging {
            page: 1,
            per_page: 2,
        };
        let page = paging.page_of(vec![1, 2, 3]);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_more);
        assert!(!paging.page_of(vec![1, 2]).has_more);
    }

    #[test]
    fn text_is_trimmed_kept_verbatim_and_bounded() {
        assert_eq!(
            text("  <b>Ana</b>'; DROP TABLE x; ", 50, "El nombre").unwrap(),
            "<b>Ana</b>'; DROP TABLE x;"
        );
        assert!(text("   ", 50, "El nombre").is_err());
        assert!(text(&"a".repeat(51), 50, "El nombre").is_err());
        assert!(text("a\u{0}b", 50, "El nombre").is_err());
    }
}
