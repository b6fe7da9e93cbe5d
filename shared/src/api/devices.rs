//! `/api/devices`: browsers registered as devices of a store.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::FieldErrors;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredKey {
    pub clave_id: Uuid,
    pub dispositivo_id: Uuid,
    pub usuario_id: Uuid,
}

/// Most ops one report of a device's dead letters carries (more stay on the device, counted).
pub const MAX_REPORTED_LETTERS: usize = 500;

/// One op stranded in a device's dead letters (refused for good, not re-sealable), as the
/// device reports it after a sync: the manager's queue screen lists what tills could not
/// deliver, which the server otherwise never sees (issue 17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeadLetterReport {
    pub op_id: Uuid,
    pub seq: u64,
    pub modelo: String,
    pub entidad_id: Uuid,
    /// The server's refusal code (`seq_gap`, `invalid`, …) and its Spanish reason.
    pub codigo: String,
    pub motivo: String,
}

impl DeadLetterReport {
    pub fn of(letter: &crate::sync::engine::DeadLetter) -> Self {
        let body = &letter.op.body;
        Self {
            op_id: body.op_id,
            seq: body.seq,
            modelo: body.model.clone(),
            entidad_id: body.entity_id,
            codigo: letter.code.clone(),
            motivo: letter.reason.clone(),
        }
    }

    /// A whole report: bounded in count and in every text.
    pub fn validate_all(letters: &[Self]) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if letters.len() > MAX_REPORTED_LETTERS {
            errors.add(
                "rechazadas",
                format!("Un informe lleva como mucho {MAX_REPORTED_LETTERS} operaciones."),
            );
        }
        for (i, letter) in letters.iter().enumerate() {
            for (field, value, max) in [
                ("modelo", &letter.modelo, 64),
                ("codigo", &letter.codigo, 64),
                ("motivo", &letter.motivo, 500),
            ] {
                if value.chars().count() > max {
                    errors.add(
                        format!("rechazadas[{i}].{field}"),
                        format!("Como mucho {max} caracteres."),
                    );
                }
            }
        }
        errors.into_result()
    }
}

/// A reported dead letter as the queue screen lists it: names, not ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StrandedOp {
    pub dispositivo_id: Uuid,
    pub dispositivo: String,
    pub tienda_id: Uuid,
    pub op_id: Uuid,
    pub seq: u64,
    pub modelo: String,
    pub entidad_id: Uuid,
    pub codigo: String,
    pub motivo: String,
    /// When the device last reported it (RFC 3339) and who was signed in there.
    pub reportada: String,
    pub reportada_por: String,
}
