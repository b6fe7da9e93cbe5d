//! `/api/directorio`: the names the manager screens show instead of ids — stores, devices and
//! people — scoped like those screens (a manager's own store, an admin's every store).

use axum::{extract::State, routing::get, Json, Router};
use pronto_shared::api::directory::Directory;

use crate::{
    auth::CurrentUser,
    model::{devices, stores, users},
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/directorio", get(directory))
}

#[utoipa::path(
    get,
    path = "/api/directorio",
    tag = "tiendas",
    responses((status = 200, description = "Nombres de tiendas, dispositivos y personas", body = Directory)),
)]
async fn directory(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Directory>, AppError> {
    let scope = user.principal().scope(None);
    let mut conn = state.db.pool().acquire().await?;
    let tiendas = stores::list(&mut conn)
        .await?
        .into_iter()
        .filter(|s| scope.is_none_or(|only| only == s.id))
        .collect();
    let dispositivos = devices::list(&mut conn, scope)
        .await?
        .into_iter()
        .map(|d| pronto_shared::api::directory::Named {
            id: d.id,
            nombre: d.nombre,
            tienda_id: d.tienda_id,
        })
        .collect();
    let personas = users::names(&mut conn, scope).await?;
    Ok(Json(Directory {
        tiendas,
        dispositivos,
        personas,
    }))
}
