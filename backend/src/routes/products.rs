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
    sync::records::ValidRecord,
    Action,
};
use uuid::Uuid;

use super::records;
use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    model::products,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(search).post(create))
        .route("/products/{id}", get(read).put(update))
}

#[utoipa::path(
    get,
    path = "/api/products",
    tag = "productos",
    params(ProductQuery),
    responses((status = 200, description = "Una página del catálogo", body = Page<Product>)),
)]
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

#[utoipa::path(
    get,
    path = "/api/products/{id}",
    tag = "productos",
    params(("id" = Uuid, Path, description = "Producto")),
    responses((status = 200, description = "El producto", body = Product)),
)]
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

#[utoipa::path(
    post,
    path = "/api/products",
    tag = "productos",
    request_body = ProductInput,
    responses((status = 201, description = "Producto creado", body = Product)),
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<ProductInput>,
) -> Result<(StatusCode, Json<Product>), AppError> {
    user.require(Action::EditCatalog)?;
    let valid = ValidRecord::Product(body.validate()?);
    let id = body.id.unwrap_or_else(|| state.clock.new_id());
    let created = records::create(&state, &user, (PRODUCTO, id), valid).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    put,
    path = "/api/products/{id}",
    tag = "productos",
    params(("id" = Uuid, Path, description = "Producto")),
    request_body = ProductInput,
    responses((status = 200, description = "Producto editado", body = Product)),
)]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<ProductInput>,
) -> Result<Json<Product>, AppError> {
    user.require(Action::EditCatalog)?;
    records::same_id(id, body.id)?;
    let valid = ValidRecord::Product(body.validate()?);
    let edited = records::edit(&state, &user, (PRODUCTO, id), valid, body.version).await?;
    Ok(Json(edited))
}
