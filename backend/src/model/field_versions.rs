//! Per-field change stamps of a synced row: `{field: {"version": v, "hlc": {…}}}`, stored as
//! JSON text. The conflict rules (`pronto_shared::sync::conflict`) compare `version` with an
//! op's `base_version` and `hlc` with the op's HLC.

use std::collections::BTreeMap;

use pronto_shared::sync::{conflict::FieldStamp, Hlc};

use crate::AppError;

pub type Stamps = BTreeMap<String, FieldStamp>;

/// Every field stamped with `version` at `hlc` (a new row).
pub fn all(fields: &[&str], version: i64, hlc: &Hlc) -> String {
    let stamps: Stamps = fields
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                FieldStamp {
                    version,
                    hlc: hlc.clone(),
                },
            )
        })
        .collect();
    encode(&stamps)
}

/// `stored` with each of `changed` re-stamped.
pub fn bump(stored: &str, changed: &[&str], version: i64, hlc: &Hlc) -> Result<String, AppError> {
    let mut stamps = parse(stored)?;
    for field in changed {
        stamps.insert(
            (*field).to_owned(),
            FieldStamp {
                version,
                hlc: hlc.clone(),
            },
        );
    }
    Ok(encode(&stamps))
}

pub fn parse(stored: &str) -> Result<Stamps, AppError> {
    serde_json::from_str(stored)
        .map_err(|err| AppError::Internal(format!("field_versions does not parse: {err}")))
}

pub fn encode(stamps: &Stamps) -> String {
    serde_json::to_string(stamps).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_restamps_only_the_changed_fields() {
        let h1 = Hlc {
            wall_ms: 1,
            counter: 0,
            node: "s".into(),
        };
        let h2 = Hlc {
            wall_ms: 2,
            counter: 0,
            node: "s".into(),
        };
        let start = all(&["precio", "nombre"], 1, &h1);
        let next = parse(&bump(&start, &["precio"], 2, &h2).unwrap()).unwrap();
        assert_eq!(
            next["precio"],
            FieldStamp {
                version: 2,
                hlc: h2
            }
        );
        assert_eq!(
            next["nombre"],
            FieldStamp {
                version: 1,
                hlc: h1
            }
        );
    }
}
