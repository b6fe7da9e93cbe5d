//! `/api/usuarios`: an admin deactivates or reactivates a person. Deactivating ends their
//! sessions (checked on every request) and revokes their signing keys on every device.

use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};
use pronto_shared::Action;
use uuid::Uuid;

use super::answers::Deactivated;
use crate::{
    auth::CurrentUser,
    model::{
        keys::{self, Owner},
        users,
    },
    sync::audit,
    AppError, AppState,
};

const USERS: &str = "usuarios.Usuario";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/usuarios/{id}/desactivar", post(deactivate))
        .route("/usuarios/{id}/activar", post(activate))
}

#[utoipa::path(
    post,
    path = "/api/usuarios/{id}/desactivar",
    tag = "usuarios",
    params(("id" = Uuid, Path, description = "Persona")),
    responses((status = 200, description = "Persona desactivada, claves revocadas", body = Deactivated)),
)]
async fn deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Deactivated>, AppError> {
    set(state, user, id, false).await
}

/// Brings a person back; their old keys stay revoked (a new sign-in registers a new one).
#[utoipa::path(
    post,
    path = "/api/usuarios/{id}/activar",
    tag = "usuarios",
    params(("id" = Uuid, Path, description = "Persona")),
    responses((status = 200, description = "Persona activada", body = Deactivated)),
)]
async fn activate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Deactivated>, AppError> {
    set(state, user, id, true).await
}

async fn set(
    state: AppState,
    user: CurrentUser,
    id: Uuid,
    active: bool,
) -> Result<Json<Deactivated>, AppError> {
    user.require(Action::ManageStoresAndUsers)?;
    if id == user.id() {
        return Err(AppError::Conflict(
            "No puedes darte de baja a ti mismo.".into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    if !users::exists(&mut tx, id).await? {
        return Err(AppError::NotFound(format!("usuario {id}")));
    }
    users::set_active(&mut tx, id, active).await?;
    let at = state.clock.now_rfc3339();
    let revoked = if active {
        0
    } else {
        keys::revoke(&mut tx, Owner::User(id), &at, state.clock.now_ms()).await?
    };
    let after = Deactivated {
        activo: active,
        claves_revocadas: revoked as u64,
    };
    let entry = audit::rest(&user, &at, USERS, id, None::<&()>, Some(&after));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(after))
}
