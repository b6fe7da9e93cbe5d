//! `/api/auth/*`: signing in and out, and who is signed in.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{Principal, Role};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub usuario: String,
    pub contrasena: String,
}

/// A store as the header and pickers show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreRef {
    pub id: Uuid,
    pub codigo: String,
    pub nombre: String,
    /// The store's IANA time zone: its day, its hours on every screen. Profiles kept by a
    /// device from before stores had one read as Mexico's central zone.
    #[serde(default = "default_zone")]
    pub zona_horaria: String,
}

/// Where a store is unless it says otherwise.
pub const DEFAULT_ZONE: &str = "America/Mexico_City";

fn default_zone() -> String {
    DEFAULT_ZONE.to_owned()
}

/// The signed-in person: answer of login and of `GET /api/auth/me`. The browser keeps the last
/// one to keep working offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    pub id: Uuid,
    pub usuario: String,
    pub nombre: String,
    pub rol: Role,
    pub tienda: StoreRef,
}

impl Profile {
    pub fn principal(&self) -> Principal {
        Principal {
            role: self.rol,
            store_id: self.tienda.id,
        }
    }
}
