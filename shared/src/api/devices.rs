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
    /// In service; a deactivated device's keys are revoked.
    #[serde(default = "yes")]
    pub activo: bool,
    /// How far ahead of the server's clock its latest push was stamped, beyond the allowed
    /// margin ("reloj adelantado"); 0 when its clock is fine.
    #[serde(default)]
    pub reloj_adelantado_ms: i64,
}

fn yes() -> bool {
    true
}

/// `POST /api/devices/{id}/claves`: the signed-in person registers the public half of their
/// signing key on this device (DESIGN §8). The private half never leaves the device.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// Chosen by the device (random); ops name it as `key_id`.
    pub clave_id: Uuid,
    /// Raw 32-byte Ed25519 public key, base64url without padding (43 characters).
    pub publica: String,
}

impl KeyInput {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        let well_formed = self.publica.len() == 43
            && self
                .publica
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            errors.add(
                "publica",
                "La clave pública debe ser Ed25519 (32 bytes en base64url).",
            );
        }
        errors.into_result()
    }
}

/// A registered key, as the server answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredKey {
    pub clave_id: Uuid,
    pub dispositivo_id: Uuid,
    pub usuario_id: Uuid,
}
