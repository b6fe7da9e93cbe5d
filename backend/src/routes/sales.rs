//! `/api/sales`: cashiers sell in their store; managers read their store's sales; a cashier may
//! read back a sale they made (the receipt).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use pronto_shared::{
    api::{
        approval::{LimitInput, PolicyQuery, SalesPolicy},
        sales::{Sale, SaleInput, SaleKind, SaleQuery, SALES_PAGE_MAX},
    },
    domain::FieldErrors,
    sync::config::VENTA,
    Action,
};
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    model::{
        approvals,
        sales::{self, NewSale, SaleContext},
        stores,
    },
    sync::audit,
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sales", get(list).post(create))
        .route("/sales/policy", get(policy).put(set_limit))
        .route("/sales/{id}", get(read))
}

/// The discount rule for a store's tills: its limit and who may approve above it.
#[utoipa::path(
    get,
    path = "/api/sales/policy",
    tag = "ventas",
    params(PolicyQuery),
    responses((status = 200, description = "Límite de descuento y quién autoriza", body = SalesPolicy)),
)]
async fn policy(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<PolicyQuery>,
) -> Result<Json<SalesPolicy>, AppError> {
    let store = query.tienda_id.unwrap_or(user.store_id());
    user.require(Action::ReadSalesPolicy(store))?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(approvals::policy(&mut conn, store).await?))
}

/// An admin sets a store's discount limit (percent, 0–100).
#[utoipa::path(
    put,
    path = "/api/sales/policy",
    tag = "ventas",
    request_body = LimitInput,
    responses((status = 200, description = "Límite guardado", body = SalesPolicy)),
)]
async fn set_limit(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<LimitInput>,
) -> Result<Json<SalesPolicy>, AppError> {
    user.require(Action::SetDiscountLimit)?;
    if !(0..=100).contains(&body.descuento_sin_autorizacion) {
        let mut fields = FieldErrors::new();
        fields.add(
            "descuento_sin_autorizacion",
            "El límite debe ir de 0 % a 100 %.",
        );
        return Err(fields.into());
    }
    let mut tx = state.db.begin_write().await?;
    approvals::limit(&mut tx, body.tienda_id).await?;
    approvals::set_limit(&mut tx, body.tienda_id, body.descuento_sin_autorizacion).await?;
    let policy = approvals::policy(&mut tx, body.tienda_id).await?;
    tx.commit().await?;
    Ok(Json(policy))
}

/// 201 with the new sale; 200 with the stored one when the same sale is sent again.
#[utoipa::path(
    post,
    path = "/api/sales",
    tag = "ventas",
    request_body = SaleInput,
    responses((status = 201, description = "Venta registrada", body = Sale)),
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<SaleInput>,
) -> Result<(StatusCode, Json<Sale>), AppError> {
    let store = user.store_id();
    user.require(Action::CreateSale(store))?;
    let valid = body.validate()?;
    let payments: Vec<_> = body.pagos.iter().map(|p| (p.metodo, p.monto)).collect();
    let ctx = SaleContext {
        price_floor: None,
        store_id: store,
        cashier_id: user.id(),
        device: None,
    };
    let mut tx = state.db.begin_write().await?;
    let at = state.clock.now_rfc3339();
    let day = state
        .clock
        .today_in(&stores::time_zone(&mut tx, store).await?);
    let (sale, created) = sales::create(
        &mut tx,
        NewSale {
            id: body.id,
            number: None,
            ctx: &ctx,
            sale: &valid,
            payments: &payments,
            customer_id: body.cliente_id,
            now: &at,
            day: &day,
            kind: SaleKind::Venta,
            original: None,
            reason: "",
            approval: body.autorizacion.as_ref(),
        },
    )
    .await?;
    let entry = created.then(|| audit::rest(&user, &at, VENTA, sale.id, None::<&()>, Some(&sale)));
    super::commit_and_tell(&state, tx, entry.as_ref(), Some(store)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sale)))
}

#[utoipa::path(
    get,
    path = "/api/sales/{id}",
    tag = "ventas",
    params(("id" = Uuid, Path, description = "Venta")),
    responses((status = 200, description = "La venta", body = Sale)),
)]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Sale>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    let sale = sales::get(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("venta {id}")))?;
    // The same a device of the store pulls: any sale of one's store, one at a time.
    user.require(Action::LookUpSale(sale.tienda_id))?;
    Ok(Json(sale))
}

#[utoipa::path(
    get,
    path = "/api/sales",
    tag = "ventas",
    params(SaleQuery),
    responses((status = 200, description = "Ventas del día", body = Vec<Sale>)),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<SaleQuery>,
) -> Result<Json<Vec<Sale>>, AppError> {
    let store = query.tienda_id.unwrap_or(user.store_id());
    user.require(Action::ReadSales(store))?;
    let mut conn = state.db.pool().acquire().await?;
    // A day is the store's local day.
    let day = match query.fecha {
        Some(day) => valid_day(&day)?,
        None => state
            .clock
            .today_in(&stores::time_zone(&mut conn, store).await?),
    };
    let limit = query
        .limite
        .unwrap_or(SALES_PAGE_MAX)
        .clamp(1, SALES_PAGE_MAX);
    Ok(Json(
        sales::list_by_day(&mut conn, store, &day, limit, query.despues).await?,
    ))
}

fn valid_day(text: &str) -> Result<String, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|_| text.to_owned())
        .map_err(|_| {
            let mut fields = pronto_shared::domain::FieldErrors::new();
            fields.add("fecha", "La fecha debe tener el formato AAAA-MM-DD.");
            AppError::Validation(fields)
        })
}
