//! `/api/products`: the shared catalog. Everyone signed in reads it; managers and admins edit.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use pronto_shared::{
    api::{
        products::{Product, ProductInput, ProductQuery},
        Page,
    },
    sync::config::PRODUCTO,
    sync::events::Event,
    sync::records::ValidRecord,
    Action,
};
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    db,
    extract::{AppJson, AppQuery},
    model::{products, synced, WriteAt},
    sync::audit,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(search).post(create))
        .route("/products/{id}", get(read).put(update))
}

async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<ProductQuery>,
) -> Result<Json<Page<Product>>, AppError> {
    user.require(Action::ReadCatalog)?;
    let mut conn = state.db.pool().acquire().await?;
    let page = products::search(&mut conn, &query).await?;
    Ok(Json(page))
}

async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Product>, AppError> {
    user.require(Action::ReadCatalog)?;
    let mut conn = state.db.pool().acquire().await?;
    products::get(&mut conn, id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("producto {id}")))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<ProductInput>,
) -> Result<(StatusCode, Json<Product>), AppError> {
    user.require(Action::EditCatalog)?;
    let valid = body.validate()?;
    let id = body.id.unwrap_or_else(|| state.clock.new_id());
    let mut tx = state.db.begin_write().await?;
    let seq = db::next_change_seq(&mut tx).await?;
    let (at, hlc) = (state.clock.now_rfc3339(), state.next_hlc());
    products::insert(
        &mut tx,
        id,
        &valid,
        WriteAt {
            seq,
            at: &at,
            hlc: &hlc,
        },
    )
    .await?;
    let product = products::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal("product vanished".into()))?;
    let entry = audit::rest(&user, &at, PRODUCTO, id, None::<&Product>, Some(&product));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok((StatusCode::CREATED, Json(product)))
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<ProductInput>,
) -> Result<Json<Product>, AppError> {
    user.require(Action::EditCatalog)?;
    if body.id.is_some_and(|body_id| body_id != id) {
        return Err(AppError::BadRequest(
            "El id del cuerpo no coincide con el de la ruta.".into(),
        ));
    }
    let valid = body.validate()?;
    let mut tx = state.db.begin_write().await?;
    let seq = db::next_change_seq(&mut tx).await?;
    let (at, hlc) = (state.clock.now_rfc3339(), state.next_hlc());
    let write = WriteAt {
        seq,
        at: &at,
        hlc: &hlc,
    };
    let before = products::get(&mut tx, id).await?;
    let fields = ValidRecord::Product(valid).fields();
    let after = synced::edit(&mut tx, PRODUCTO, id, &fields, (body.version, false), write).await?;
    let product: Product =
        serde_json::from_value(after).map_err(|e| AppError::Internal(e.to_string()))?;
    let entry = audit::rest(&user, &at, PRODUCTO, id, before.as_ref(), Some(&product));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok(Json(product))
}
