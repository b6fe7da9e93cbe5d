//! Sales (`venta`): insert-only. A sale, its lines, its payments and the stock it takes are
//! written in one transaction; sending the same sale id again returns the first one.

use pronto_shared::api::{
    sales::{Payment, PaymentKind, PaymentMethod, Sale, SaleLine, ValidSale},
    stock::StockReason,
};
use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{
    db,
    model::{customers, products, stock, stores},
    AppError,
};

/// Who sold, where, and on which device (`None`: straight through the REST API).
pub struct SaleContext {
    pub store_id: Uuid,
    pub cashier_id: Uuid,
    pub device: Option<(Uuid, String)>,
}

/// Device code used in folios of sales made through the REST API without a device.
pub const API_DEVICE_CODE: &str = "API";

/// Creates the sale, or returns the stored one when `id` was already sold by the same cashier
/// in the same store (a retried request). `Ok((sale, created))`.
#[allow(clippy::too_many_arguments)] // one call site per path (REST, sync); a struct would only rename them
pub async fn create(
    conn: &mut AnyConnection,
    id: Uuid,
    ctx: &SaleContext,
    sale: &ValidSale,
    payments: &[(PaymentMethod, i64)],
    customer_id: Option<Uuid>,
    now: &str,
    day: &str,
) -> Result<(Sale, bool), AppError> {
    if let Some(existing) = get(conn, id).await? {
        if existing.tienda_id == ctx.store_id && existing.cajero_id == ctx.cashier_id {
            return Ok((existing, false));
        }
        return Err(AppError::Conflict(
            "Ya existe otra venta con ese id.".into(),
        ));
    }
    if let Some(customer) = customer_id {
        if customers::get(conn, customer).await?.is_none() {
            let mut fields = pronto_shared::domain::FieldErrors::new();
            fields.add("cliente_id", "El cliente no existe.");
            return Err(fields.into());
        }
    }
    let mut lines = Vec::with_capacity(sale.lines.len());
    for (i, line) in sale.lines.iter().enumerate() {
        // A product deleted from the catalog after the shoes were sold still gets its sale:
        // the sale happened (it may have waited offline), so it is recorded, never lost.
        let Some((product, _deleted, _, _)) = products::get_for_sync(conn, line.product_id).await?
        else {
            let mut fields = pronto_shared::domain::FieldErrors::new();
            fields.add(format!("lineas[{i}].producto_id"), "El producto no existe.");
            return Err(fields.into());
        };
        lines.push((line, product));
    }

    let store_code = stores::code(conn, ctx.store_id).await?;
    let device_code = ctx
        .device
        .as_ref()
        .map_or(API_DEVICE_CODE, |(_, code)| code.as_str());
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO folio_counters (store_id, device_code, value) VALUES ($1, $2, 1) \
         ON CONFLICT (store_id, device_code) DO UPDATE SET value = folio_counters.value + 1 RETURNING value",
    )
    .bind(ctx.store_id.to_string())
    .bind(device_code)
    .fetch_one(&mut *conn)
    .await?;
    let folio = format!("{store_code}-{device_code}-{number:06}");
    let seq = db::next_change_seq(conn).await?;

    sqlx::query(
        "INSERT INTO sales (id, folio, store_id, device_id, cashier_id, customer_id, payment_kind, subtotal, \
         discount, total, paid, change_due, created_at, day, version, change_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15)",
    )
    .bind(id.to_string())
    .bind(&folio)
    .bind(ctx.store_id.to_string())
    .bind(ctx.device.as_ref().map(|(id, _)| id.to_string()))
    .bind(ctx.cashier_id.to_string())
    .bind(customer_id.map(|c| c.to_string()))
    .bind(sale.kind.as_str())
    .bind(sale.subtotal.centavos())
    .bind(sale.discount.centavos())
    .bind(sale.total.centavos())
    .bind(sale.paid.centavos())
    .bind(sale.change.centavos())
    .bind(now)
    .bind(day)
    .bind(seq)
    .execute(&mut *conn)
    .await
    .map_err(|err| db::on_unique(err, "Ya existe una venta con ese id o folio."))?;

    for (no, (line, product)) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO sale_lines (sale_id, line_no, product_id, sku, name, quantity, unit_price, amount) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(no as i64)
        .bind(line.product_id.to_string())
        .bind(&product.sku)
        .bind(&product.nombre)
        .bind(line.quantity.get())
        .bind(line.unit_price.centavos())
        .bind(line.amount.centavos())
        .execute(&mut *conn)
        .await?;
        let movement = stock::Movement {
            store_id: ctx.store_id,
            product_id: line.product_id,
            delta: -line.quantity.get(),
            reason: StockReason::Venta,
            note: "",
            sale_id: Some(id),
            user_id: ctx.cashier_id,
        };
        // Each stock row change gets its own position: pulls page by position, and two rows
        // sharing one could be split across pages.
        let stock_seq = db::next_change_seq(conn).await?;
        stock::apply(conn, &movement, stock_seq, now).await?;
    }
    insert_payments(conn, id, payments).await?;
    Ok((
        get(conn, id)
            .await?
            .ok_or_else(|| AppError::Internal("sale vanished".into()))?,
        true,
    ))
}

async fn insert_payments(
    conn: &mut AnyConnection,
    id: Uuid,
    payments: &[(PaymentMethod, i64)],
) -> Result<(), AppError> {
    for (no, (method, amount)) in payments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO sale_payments (sale_id, line_no, method, amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(no as i64)
        .bind(method.as_str())
        .bind(*amount)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

const COLUMNS: &str =
    "id, folio, store_id, device_id, cashier_id, customer_id, payment_kind, subtotal, \
                       discount, total, change_due, created_at";

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Sale>, AppError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sales WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(Some(with_details(conn, &row).await?)),
        None => Ok(None),
    }
}

/// A store's sales of one UTC day, oldest first.
pub async fn list_by_day(
    conn: &mut AnyConnection,
    store_id: Uuid,
    day: &str,
) -> Result<Vec<Sale>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sales WHERE store_id = $1 AND day = $2 ORDER BY created_at, folio"
    ))
    .bind(store_id.to_string())
    .bind(day)
    .fetch_all(&mut *conn)
    .await?;
    let mut sales = Vec::with_capacity(rows.len());
    for row in &rows {
        sales.push(with_details(conn, row).await?);
    }
    Ok(sales)
}

async fn with_details(conn: &mut AnyConnection, row: &AnyRow) -> Result<Sale, AppError> {
    let id: String = row.try_get("id")?;
    let lines: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT product_id, sku, name, quantity, unit_price, amount FROM sale_lines WHERE sale_id = $1 ORDER BY line_no",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let payments: Vec<(String, i64)> = sqlx::query_as(
        "SELECT method, amount FROM sale_payments WHERE sale_id = $1 ORDER BY line_no",
    )
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let opt_uuid = |value: Option<String>| value.as_deref().map(db::uuid).transpose();
    let kind: String = row.try_get("payment_kind")?;
    Ok(Sale {
        id: db::uuid(&id)?,
        folio: row.try_get("folio")?,
        tienda_id: db::uuid(&row.try_get::<String, _>("store_id")?)?,
        dispositivo_id: opt_uuid(row.try_get("device_id")?)?,
        cajero_id: db::uuid(&row.try_get::<String, _>("cashier_id")?)?,
        cliente_id: opt_uuid(row.try_get("customer_id")?)?,
        lineas: lines
            .into_iter()
            .map(
                |(product, sku, nombre, cantidad, precio_unitario, importe)| {
                    Ok(SaleLine {
                        producto_id: db::uuid(&product)?,
                        sku,
                        nombre,
                        cantidad,
                        precio_unitario,
                        importe,
                    })
                },
            )
            .collect::<Result<_, AppError>>()?,
        pagos: payments
            .into_iter()
            .map(|(method, monto)| {
                let metodo = match method.as_str() {
                    "efectivo" => PaymentMethod::Efectivo,
                    "tarjeta" => PaymentMethod::Tarjeta,
                    other => {
                        return Err(AppError::Internal(format!(
                            "stored payment method {other:?}"
                        )))
                    }
                };
                Ok(Payment { metodo, monto })
            })
            .collect::<Result<_, AppError>>()?,
        forma_pago: match kind.as_str() {
            "efectivo" => PaymentKind::Efectivo,
            "tarjeta" => PaymentKind::Tarjeta,
            "mixto" => PaymentKind::Mixto,
            other => return Err(AppError::Internal(format!("stored payment kind {other:?}"))),
        },
        subtotal: row.try_get("subtotal")?,
        descuento: row.try_get("discount")?,
        total: row.try_get("total")?,
        cambio: row.try_get("change_due")?,
        creada: row.try_get("created_at")?,
    })
}
