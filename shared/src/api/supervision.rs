//! What the manager's sync screens read (DESIGN §6): the server's op queue, sync sessions and
//! the audit log. Typed once here; the server writes them and the browser decodes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::sync::OpResult;

/// One op the server holds (`GET /api/sincronizacion/cola/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuedOp {
    pub op_id: Uuid,
    pub dispositivo_id: Uuid,
    pub seq: i64,
    pub tienda_id: Uuid,
    pub modelo: String,
    pub entidad_id: Uuid,
    pub tipo: String,
    /// `pending`, `applied`, `conflict`, `rejected`, `held`, `discarded`.
    pub estado: String,
    /// The answer the device got; `None` while none was given or if it no longer parses.
    pub resultado: Option<OpResult>,
    pub recibida: String,
    /// Why the manager should look at it (`autor_revocado`, `reloj_adelantado`, `sin_firma`).
    pub marca: Option<String>,
}

/// A device's sync session (`GET /api/sincronizacion/registros/`): consecutive pushes and
/// pulls with less than a quarter of an hour between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRecord {
    pub id: Uuid,
    pub dispositivo_id: Uuid,
    pub usuario_id: Uuid,
    pub tienda_id: Uuid,
    pub inicio: String,
    pub fin: String,
    pub enviadas: i64,
    pub recibidas: i64,
    pub conflictos: i64,
    pub errores: i64,
}

/// One audit entry before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: String,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub op_id: Option<String>,
    pub model: String,
    pub entity_id: String,
    /// `applied`, `conflict`, `pending`, `rejected`, `resolved`, …
    pub result: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A stored audit entry with its chain fields (`GET /api/sincronizacion/auditoria/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredAuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The audit chain walked (`GET /api/sincronizacion/auditoria/integridad`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integrity {
    pub ok: bool,
    pub entries: i64,
    /// Id of the first entry whose hash or link does not match (or where one is missing).
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_entry_is_flat_on_the_wire() {
        let stored = StoredAuditEntry {
            id: 3,
            entry: AuditEntry {
                at: "2026-12-01T10:00:00.000Z".into(),
                user_id: None,
                device_id: None,
                op_id: None,
                model: "ventas.Venta".into(),
                entity_id: "x".into(),
                result: "applied".into(),
                before: None,
                after: Some(serde_json::json!({"total": 100})),
            },
            prev_hash: "0".into(),
            hash: "1".into(),
        };
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["model"], "ventas.Venta");
        assert_eq!(
            serde_json::from_value::<StoredAuditEntry>(json).unwrap(),
            stored
        );
    }
}
