//! `/api/stores`: the chain's stores (names and codes are not secret to signed-in staff).

use axum::{extract::State, routing::get, Json, Router};
use pronto_shared::api::auth::StoreRef;

use crate::{auth::CurrentUser, model::stores, AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/stores", get(list))
}

#[utoipa::path(
    get,
    path = "/api/stores",
    tag = "tiendas",
    responses((status = 200, description = "Tiendas", body = Vec<StoreRef>)),
)]
async fn list(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Vec<StoreRef>>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(stores::list(&mut conn).await?))
}
