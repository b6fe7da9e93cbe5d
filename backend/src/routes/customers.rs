//! `/api/customers`: everyone signed in searches, registers and edits customers (a phone
//! changes at the till); managers and admins delete them (by sync).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use pronto_shared::{
    api::{
        customers::{Customer, CustomerInput, CustomerQuery},
        Page,
    },
    sync::config::CLIENTE,
    sync::records::ValidRecord,
    Action,
};
use uuid::Uuid;

use super::records;
use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    model::customers,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(search).post(create))
        .route("/customers/{id}", get(read).put(update))
}

#[utoipa::path(
    get,
    path = "/api/customers",
    tag = "clientes",
    params(CustomerQuery),
    responses((status = 200, description = "Una página de clientes", body = Page<Customer>)),
)]
async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<CustomerQuery>,
) -> Result<Json<Page<Customer>>, AppError> {
    user.require(Action::ReadCustomers)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(customers::search(&mut conn, &query).await?))
}

#[utoipa::path(
    get,
    path = "/api/customers/{id}",
    tag = "clientes",
    params(("id" = Uuid, Path, description = "Cliente")),
    responses((status = 200, description = "El cliente", body = Customer)),
)]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Customer>, AppError> {
    user.require(Action::ReadCustomers)?;
    let mut conn = state.db.pool().acquire().await?;
    customers::get(&mut conn, id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("cliente {id}")))
}

#[utoipa::path(
    post,
    path = "/api/customers",
    tag = "clientes",
    request_body = CustomerInput,
    responses((status = 201, description = "Cliente creado", body = Customer)),
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<CustomerInput>,
) -> Result<(StatusCode, Json<Customer>), AppError> {
    user.require(Action::CreateCustomer)?;
    let valid = ValidRecord::Customer(body.validate()?);
    let id = body.id.unwrap_or_else(|| state.clock.new_id());
    let created = records::create(&state, &user, (CLIENTE, id), valid).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    put,
    path = "/api/customers/{id}",
    tag = "clientes",
    params(("id" = Uuid, Path, description = "Cliente")),
    request_body = CustomerInput,
    responses((status = 200, description = "Cliente editado", body = Customer)),
)]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<CustomerInput>,
) -> Result<Json<Customer>, AppError> {
    user.require(Action::EditCustomer)?;
    records::same_id(id, body.id)?;
    let valid = ValidRecord::Customer(body.validate()?);
    let edited = records::edit(&state, &user, (CLIENTE, id), valid, body.version).await?;
    Ok(Json(edited))
}
