//! `/api/stock`: pairs on hand per store and product, moved only by deltas.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{FieldErrors, StockDelta};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevel {
    pub tienda_id: Uuid,
    pub producto_id: Uuid,
    pub cantidad: i64,
    /// Below zero: shoes left the store that the books did not have. Flagged, never refused.
    pub negativo: bool,
}

/// Why stock moved (DESIGN §4: sale −n, receipt +n, adjustment ±n, transfer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StockReason {
    Venta,
    /// Pairs back from a return or a void.
    Devolucion,
    Recepcion,
    Ajuste,
    Traspaso,
}

impl StockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Venta => "venta",
            Self::Devolucion => "devolucion",
            Self::Recepcion => "recepcion",
            Self::Ajuste => "ajuste",
            Self::Traspaso => "traspaso",
        }
    }
}

/// A manager's stock movement in their store (`POST /api/stock/movimientos`). Sales move stock
/// by themselves; this is for receipts, counts and transfers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StockMovementInput {
    pub producto_id: Uuid,
    pub delta: i64,
    pub motivo: StockReason,
    #[serde(default)]
    pub nota: Option<String>,
}

impl StockMovementInput {
    pub fn validate(&self) -> Result<(StockDelta, String), FieldErrors> {
        let mut e = FieldErrors::new();
        let delta = e.check("delta", StockDelta::new(self.delta));
        if matches!(self.motivo, StockReason::Venta | StockReason::Devolucion) {
            e.add(
                "motivo",
                "Las ventas y devoluciones mueven el inventario por sí solas.",
            );
        }
        if self.motivo == StockReason::Recepcion && self.delta < 0 {
            e.add("delta", "Una recepción solo puede sumar pares.");
        }
        let note = match self.nota.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(text) => e
                .check("nota", super::text(text, 300, "La nota"))
                .unwrap_or_default(),
        };
        match delta {
            Some(delta) if e.is_empty() => Ok((delta, note)),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct StockQuery {
    /// Defaults to the session's store.
    #[serde(default)]
    pub tienda_id: Option<Uuid>,
    #[serde(default)]
    pub producto_id: Option<Uuid>,
    /// Only rows below zero (the manager's "to check" list).
    #[serde(default)]
    pub solo_negativos: bool,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
}

impl StockQuery {
    pub fn paging(&self) -> super::Paging {
        super::Paging::from_query(self.page, self.per_page)
    }
}
