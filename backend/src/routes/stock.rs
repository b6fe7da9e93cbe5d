//! `/api/stock`: a store's stock (its staff read it) and movements (its manager makes them).

use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use pronto_shared::{
    api::{
        stock::{StockLevel, StockMovementInput, StockQuery},
        Page,
    },
    sync::config::EXISTENCIA,
    Action,
};

use crate::{
    auth::CurrentUser,
    db,
    extract::{AppJson, AppQuery},
    model::{products, stock},
    sync::audit,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stock", get(list))
        .route("/stock/movimientos", post(movement))
}

#[utoipa::path(
    get,
    path = "/api/stock",
    tag = "existencias",
    params(StockQuery),
    responses((status = 200, description = "Existencias", body = Page<StockLevel>)),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<StockQuery>,
) -> Result<Json<Page<StockLevel>>, AppError> {
    let store = query.tienda_id.unwrap_or(user.store_id());
    user.require(Action::ReadStock(store))?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(stock::list(&mut conn, store, &query).await?))
}

/// Applies a movement to the session's store and answers the new level.
#[utoipa::path(
    post,
    path = "/api/stock/movimientos",
    tag = "existencias",
    request_body = StockMovementInput,
    responses((status = 201, description = "Movimiento registrado", body = StockLevel)),
)]
async fn movement(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<StockMovementInput>,
) -> Result<(StatusCode, Json<StockLevel>), AppError> {
    let store = user.store_id();
    user.require(Action::AdjustStock(store))?;
    let (delta, note) = body.validate()?;
    let mut tx = state.db.begin_write().await?;
    if products::get(&mut tx, body.producto_id).await?.is_none() {
        let mut fields = pronto_shared::domain::FieldErrors::new();
        fields.add("producto_id", "El producto no existe.");
        return Err(fields.into());
    }
    let seq = db::next_change_seq(&mut tx).await?;
    let movement = stock::Movement {
        id: state.clock.new_id(),
        store_id: store,
        product_id: body.producto_id,
        delta: delta.get(),
        reason: body.motivo,
        note: &note,
        sale_id: None,
        user_id: user.id(),
    };
    let at = state.clock.now_rfc3339();
    let quantity = stock::apply(&mut tx, &movement, seq, &at).await?;
    let after = serde_json::json!({
        "producto_id": body.producto_id,
        "delta": delta.get(),
        "motivo": body.motivo,
        "cantidad": quantity,
        "negativo": quantity < 0,
    });
    let entry = audit::rest(
        &user,
        &at,
        EXISTENCIA,
        body.producto_id,
        None::<&()>,
        Some(&after),
    );
    super::commit_and_tell(&state, tx, Some(&entry), Some(store)).await?;
    Ok((
        StatusCode::CREATED,
        Json(StockLevel {
            tienda_id: store,
            producto_id: body.producto_id,
            cantidad: quantity,
            negativo: quantity < 0,
        }),
    ))
}
