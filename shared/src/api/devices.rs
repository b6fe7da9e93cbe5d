//! `/api/devices`: browsers registered as devices of a store.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::FieldErrors;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    /// e.g. "Caja 1".
    pub nombre: String,
    /// Only an admin may register a device for another store; for everyone else the store is
    /// the session's, and a different value here is refused.
    #[serde(default)]
    pub tienda_id: Option<Uuid>,
}

impl DeviceInput {
    pub fn validate(&self) -> Result<String, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("nombre", super::text(&self.nombre, 60, "El nombre"));
        errors.into_result()?;
        Ok(name.unwrap_or_default())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub nombre: String,
    pub tienda_id: Uuid,
    /// Short code used in sale folios (`STORE-DEVICE-SEQ`), unique within the store.
    pub codigo: String,
    pub registrado_por: Uuid,
    pub creado: String,
    /// When its socket was last heard (RFC 3339): connected while recent.
    #[serde(default)]
    pub visto: Option<String>,
    /// A socket of it is open on some server. Shown as connected only while `visto` is recent
    /// too, since a server that died never closed its sockets.
    #[serde(default)]
    pub conectado: bool,
}
