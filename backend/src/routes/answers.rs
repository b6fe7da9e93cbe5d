//! The small answers of a few writes, typed so the API's description names their fields.

use serde::Serialize;
use uuid::Uuid;

/// A device or a person switched on or off; switching off revokes their signing keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deactivated {
    pub activo: bool,
    /// Keys revoked by this change (0 when switching on).
    pub claves_revocadas: u64,
}

/// How many of a device's reported dead letters are kept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLettersKept {
    pub rechazadas: u64,
}

/// An op given up for good; it stays in the log, marked discarded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Discarded {
    pub op_id: Uuid,
    /// Always `discarded`.
    pub estado: &'static str,
}
