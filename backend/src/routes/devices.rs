//! `/api/devices`: a manager or admin registers this browser as a device of their store.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post, put},
    Json, Router,
};
use pronto_shared::{
    api::devices::{DeadLetterReport, Device, DeviceInput, KeyInput, RegisteredKey},
    domain::FieldErrors,
    sync::signing,
    Action,
};
use serde::Deserialize;
use uuid::Uuid;

use super::answers::{Deactivated, DeadLettersKept};
use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    model::{
        dead_letters, devices,
        keys::{self, Owner, Registered},
        stores,
    },
    sync::audit,
    AppError, AppState,
};

/// The audit log's model names for device registrations and their signing keys.
const DEVICES: &str = "dispositivos.Dispositivo";
const KEYS: &str = "dispositivos.Clave";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(register))
        .route("/devices/{id}/claves", post(register_key))
        .route("/devices/{id}/desactivar", post(deactivate))
        .route("/devices/{id}/rechazadas", put(report_dead_letters))
}

/// A device reports the ops stranded in its dead letters (the whole list, replacing the last
/// report), signed in as someone of its store. Not audited: it changes no record, only what the
/// queue screen shows.
#[utoipa::path(
    put,
    path = "/api/devices/{id}/rechazadas",
    tag = "dispositivos",
    params(("id" = Uuid, Path, description = "Dispositivo")),
    request_body = Vec<DeadLetterReport>,
    responses((status = 200, description = "Cuántas quedaron registradas", body = DeadLettersKept)),
)]
async fn report_dead_letters(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(device_id): Path<Uuid>,
    AppJson(letters): AppJson<Vec<DeadLetterReport>>,
) -> Result<Json<DeadLettersKept>, AppError> {
    DeadLetterReport::validate_all(&letters)?;
    let mut tx = state.db.begin_write().await?;
    let device = devices::get(&mut tx, device_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("dispositivo {device_id}")))?;
    user.require(Action::UseDevice(device.tienda_id))?;
    let at = state.clock.now_rfc3339();
    let kept = dead_letters::replace(&mut tx, device_id, &letters, &at, user.id()).await?;
    tx.commit().await?;
    Ok(Json(DeadLettersKept {
        rechazadas: kept as u64,
    }))
}

/// The signed-in person registers their signing key for a device of their store (an admin:
/// any store). Audited; registering the same key again is a no-op answered 200.
#[utoipa::path(
    post,
    path = "/api/devices/{id}/claves",
    tag = "dispositivos",
    params(("id" = Uuid, Path, description = "Dispositivo")),
    request_body = KeyInput,
    responses((status = 201, description = "Clave registrada", body = RegisteredKey)),
)]
async fn register_key(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(device_id): Path<Uuid>,
    AppJson(body): AppJson<KeyInput>,
) -> Result<(StatusCode, Json<RegisteredKey>), AppError> {
    body.validate()?;
    if signing::parse_public_key(&body.publica).is_none() {
        let mut fields = FieldErrors::new();
        fields.add(
            "publica",
            "La clave pública no es una clave Ed25519 válida.",
        );
        return Err(fields.into());
    }
    let mut tx = state.db.begin_write().await?;
    let device = devices::get(&mut tx, device_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("dispositivo {device_id}")))?;
    user.require(Action::UseDevice(device.tienda_id))?;
    if !devices::is_active(&mut tx, device_id).await? {
        return Err(AppError::Conflict(
            "El dispositivo está dado de baja.".into(),
        ));
    }
    let at = state.clock.now_rfc3339();
    let key = RegisteredKey {
        clave_id: body.clave_id,
        dispositivo_id: device_id,
        usuario_id: user.id(),
    };
    let registered = keys::register(
        &mut tx,
        body.clave_id,
        device_id,
        user.id(),
        &body.publica,
        &at,
    )
    .await?;
    if registered == Registered::Again {
        return Ok((StatusCode::OK, Json(key)));
    }
    let mut entry = audit::rest(&user, &at, KEYS, body.clave_id, None::<&()>, Some(&key));
    entry.device_id = Some(device_id.to_string());
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// A manager (of its store) or an admin deactivates a device: its keys are revoked, so
/// nothing signed there from now on is accepted (facts signed before still land, flagged).
#[utoipa::path(
    post,
    path = "/api/devices/{id}/desactivar",
    tag = "dispositivos",
    params(("id" = Uuid, Path, description = "Dispositivo")),
    responses((status = 200, description = "Dispositivo desactivado, claves revocadas", body = Deactivated)),
)]
async fn deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(device_id): Path<Uuid>,
) -> Result<Json<Deactivated>, AppError> {
    let mut tx = state.db.begin_write().await?;
    let device = devices::get(&mut tx, device_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("dispositivo {device_id}")))?;
    user.require(Action::ManageDevices(device.tienda_id))?;
    devices::set_active(&mut tx, device_id, false).await?;
    let at = state.clock.now_rfc3339();
    let revoked =
        keys::revoke(&mut tx, Owner::Device(device_id), &at, state.clock.now_ms()).await?;
    let after = Deactivated {
        activo: false,
        claves_revocadas: revoked as u64,
    };
    let mut entry = audit::rest(&user, &at, DEVICES, device_id, None::<&()>, Some(&after));
    entry.device_id = Some(device_id.to_string());
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}

#[utoipa::path(
    post,
    path = "/api/devices",
    tag = "dispositivos",
    request_body = DeviceInput,
    responses((status = 201, description = "Dispositivo registrado", body = Device)),
)]
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
    let device =
        devices::register(&mut tx, state.clock.new_id(), store, &name, user.id(), &at).await?;
    let entry = audit::rest(&user, &at, DEVICES, device.id, None::<&()>, Some(&device));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(device)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeviceQuery {
    #[serde(default)]
    tienda_id: Option<Uuid>,
}

/// The session's store's devices; an admin may name another store, or omit it for all.
#[utoipa::path(
    get,
    path = "/api/devices",
    tag = "dispositivos",
    params(DeviceQuery),
    responses((status = 200, description = "Dispositivos", body = Vec<Device>)),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<DeviceQuery>,
) -> Result<Json<Vec<Device>>, AppError> {
    let scope = user.principal().scope(query.tienda_id);
    if let Some(store) = scope {
        user.require(Action::ManageDevices(store))?;
    }
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(devices::list(&mut conn, scope).await?))
}
