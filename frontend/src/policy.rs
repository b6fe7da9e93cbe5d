//! The store's discount rule for this till (limit and approvers), fetched when the server is
//! reachable and kept in `localStorage`, so a discount above the limit is approved the same
//! way offline. Without a stored policy the shared default limit applies and nobody can
//! approve: the cashier is told to connect once.

use pronto_shared::api::approval::{SalesPolicy, DEFAULT_LIMIT_PERCENT};
use uuid::Uuid;

use crate::{api, storage};

fn key(store: Uuid) -> String {
    format!("pronto.policy.{store}")
}

pub fn stored(store: Uuid) -> SalesPolicy {
    storage::get(&key(store))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or(SalesPolicy {
            descuento_sin_autorizacion: DEFAULT_LIMIT_PERCENT,
            autorizadores: Vec::new(),
        })
}

/// Asks the server for the current policy and keeps it; the stored one stays when offline.
pub async fn refresh(store: Uuid) -> SalesPolicy {
    match api::get::<SalesPolicy>("/api/sales/policy").await {
        Ok(policy) => {
            if let Ok(json) = serde_json::to_string(&policy) {
                storage::set(&key(store), &json);
            }
            policy
        }
        Err(_) => stored(store),
    }
}
