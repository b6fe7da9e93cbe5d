//! `/api/customers`: everyone signed in searches and registers customers; managers and admins
//! edit them.

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
    sync::events::Event,
    sync::records::ValidRecord,
    Action,
};
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    db,
    extract::{AppJson, AppQuery},
    model::{customers, synced, WriteAt},
    sync::audit,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(search).post(create))
        .route("/customers/{id}", get(read).put(update))
}

async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<CustomerQuery>,
) -> Result<Json<Page<Customer>>, AppError> {
    user.require(Action::ReadCustomers)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(customers::search(&mut conn, &query).await?))
}

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

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<CustomerInput>,
) -> Result<(StatusCode, Json<Customer>), AppError> {
    user.require(Action::CreateCustomer)?;
    let valid = body.validate()?;
    let id = body.id.unwrap_or_else(|| state.clock.new_id());
    let mut tx = state.db.begin_write().await?;
    let seq = db::next_change_seq(&mut tx).await?;
    let (at, hlc) = (state.clock.now_rfc3339(), state.next_hlc());
    customers::insert(
        &mut tx,
        id,
        &valid,
        0,
        WriteAt {
            seq,
            at: &at,
            hlc: &hlc,
        },
    )
    .await?;
    let customer = customers::get(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal("customer vanished".into()))?;
    let entry = audit::rest(&user, &at, CLIENTE, id, None::<&Customer>, Some(&customer));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok((StatusCode::CREATED, Json(customer)))
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<CustomerInput>,
) -> Result<Json<Customer>, AppError> {
    user.require(Action::EditCustomer)?;
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
    let before = customers::get(&mut tx, id).await?;
    let fields = ValidRecord::Customer(valid).fields();
    let after = synced::edit(&mut tx, CLIENTE, id, &fields, (body.version, false), write).await?;
    let customer: Customer =
        serde_json::from_value(after).map_err(|e| AppError::Internal(e.to_string()))?;
    let entry = audit::rest(&user, &at, CLIENTE, id, before.as_ref(), Some(&customer));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok(Json(customer))
}
