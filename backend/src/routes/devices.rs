//! `/api/devices`: a manager or admin registers this browser as a device of their store.

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use pronto_shared::{
    api::devices::{Device, DeviceInput},
    Action, Role,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    model::{devices, stores},
    sync::audit::{self, Entry},
    AppError, AppState,
};

/// The audit log's model name for device registrations.
const DEVICES: &str = "dispositivos.Dispositivo";

pub fn router() -> Router<AppState> {
    Router::new().route("/devices", get(list).post(register))
}

async fn register(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<DeviceInput>,
) -> Result<(StatusCode, Json<Device>), AppError> {
    let name = body.validate()?;
    let store = body.tienda_id.unwrap_or(user.store_id());
    user.require(Action::ManageDevices(store))?;
    let mut tx = state.db.begin_write().await?;
    if !stores::exists(&mut tx, store).await? {
        let mut fields = pronto_shared::domain::FieldErrors::new();
        fields.add("tienda_id", "La tienda no existe.");
        return Err(fields.into());
    }
    let at = state.clock.now_rfc3339();
    let device = devices::register(&mut tx, store, &name, user.id(), &at).await?;
    let entry = Entry::rest(&user, &at, DEVICES, device.id, None::<&()>, Some(&device));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(device)))
}

#[derive(Debug, Deserialize)]
struct DeviceQuery {
    #[serde(default)]
    tienda_id: Option<Uuid>,
}

/// The session's store's devices; an admin may name another store, or omit it for all.
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<DeviceQuery>,
) -> Result<Json<Vec<Device>>, AppError> {
    let scope = match (user.profile.rol, query.tienda_id) {
        (Role::Admin, requested) => requested,
        (_, requested) => Some(requested.unwrap_or(user.store_id())),
    };
    if let Some(store) = scope {
        user.require(Action::ManageDevices(store))?;
    }
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(devices::list(&mut conn, scope).await?))
}
