//! Sales read back with their lines and payments: by id (receipts, returns, pulls) and by day.

use std::collections::HashMap;

use pronto_shared::api::{
    approval::ApprovalStatus,
    sales::{Payment, PaymentKind, PaymentMethod, Sale, SaleKind, SaleLine},
};
use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{db, AppError};

const COLUMNS: &str =
    "id, folio, store_id, device_id, cashier_id, customer_id, payment_kind, subtotal, \
     discount, total, change_due, created_at, kind, original_sale_id, reason, approval, \
     approved_by";

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Sale>, AppError> {
    Ok(get_many(conn, &[id]).await?.pop())
}

/// Sales by id with their lines and payments: three queries for a whole pull page instead of
/// three per sale. Ids not stored are left out; order is the database's.
pub async fn get_many(conn: &mut AnyConnection, ids: &[Uuid]) -> Result<Vec<Sale>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(DETAIL_CHUNK) {
        let head = format!("SELECT {COLUMNS} FROM sales WHERE id IN");
        rows.extend(db::rows_in(conn, &head, chunk).await?);
    }
    with_details(conn, &rows).await
}

/// A store's sales of one UTC day, oldest first.
/// One page of a store's sales of `day`, in time then folio order: at most `limit`, after the
/// sale `after` (keyset paging: a page costs the same however deep it is). A sale `after` of
/// another store or day starts from the beginning.
pub async fn list_by_day(
    conn: &mut AnyConnection,
    store_id: Uuid,
    day: &str,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<Sale>, AppError> {
    let mark: Option<(String, String)> =
        match after {
            Some(id) => sqlx::query_as(
                "SELECT created_at, folio FROM sales WHERE id = $1 AND store_id = $2 AND day = $3",
            )
            .bind(id.to_string())
            .bind(store_id.to_string())
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?,
            None => None,
        };
    let (at, folio) = mark.unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sales WHERE store_id = $1 AND day = $2 \
         AND (created_at > $3 OR (created_at = $3 AND folio > $4)) \
         ORDER BY created_at, folio LIMIT $5"
    ))
    .bind(store_id.to_string())
    .bind(day)
    .bind(at)
    .bind(folio)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    with_details(conn, &rows).await
}

/// Ids per `IN (…)` list when loading details.
const DETAIL_CHUNK: usize = 500;

type LineRow = (String, i64, String, String, String, i64, i64, i64, i64);

/// The sales of `rows` with their lines and payments, loaded for all of them at once.
async fn with_details(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<Sale>, AppError> {
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(db::uuid(&row.try_get::<String, _>("id")?)?);
    }
    let mut lines: HashMap<String, Vec<(i64, SaleLine)>> = HashMap::new();
    let mut payments: HashMap<String, Vec<(i64, String, i64)>> = HashMap::new();
    for chunk in ids.chunks(DETAIL_CHUNK) {
        let found: Vec<LineRow> = db::in_query(
            conn,
            "SELECT sale_id, line_no, product_id, sku, name, quantity, unit_price, amount, discount \
             FROM sale_lines WHERE sale_id IN",
            chunk,
        )
        .await?;
        for (sale, line_no, product, sku, nombre, cantidad, precio_unitario, importe, descuento) in
            found
        {
            let line = SaleLine {
                producto_id: db::uuid(&product)?,
                sku,
                nombre,
                cantidad,
                precio_unitario,
                descuento,
                importe,
            };
            lines.entry(sale).or_default().push((line_no, line));
        }
        let found: Vec<(String, i64, String, i64)> = db::in_query(
            conn,
            "SELECT sale_id, line_no, method, amount FROM sale_payments WHERE sale_id IN",
            chunk,
        )
        .await?;
        for (sale, line_no, method, amount) in found {
            payments
                .entry(sale)
                .or_default()
                .push((line_no, method, amount));
        }
    }
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let mut sale_lines = lines.remove(&id).unwrap_or_default();
            sale_lines.sort_by_key(|(no, _)| *no);
            let mut sale_payments = payments.remove(&id).unwrap_or_default();
            sale_payments.sort_by_key(|(no, _, _)| *no);
            from_row(
                row,
                sale_lines.into_iter().map(|(_, line)| line).collect(),
                sale_payments
                    .into_iter()
                    .map(|(_, method, amount)| (method, amount))
                    .collect(),
            )
        })
        .collect()
}

fn from_row(
    row: &AnyRow,
    lines: Vec<SaleLine>,
    payments: Vec<(String, i64)>,
) -> Result<Sale, AppError> {
    let id: String = row.try_get("id")?;
    let opt_uuid = |value: Option<String>| value.as_deref().map(db::uuid).transpose();
    let kind: String = row.try_get("payment_kind")?;
    Ok(Sale {
        id: db::uuid(&id)?,
        folio: row.try_get("folio")?,
        tienda_id: db::uuid(&row.try_get::<String, _>("store_id")?)?,
        dispositivo_id: opt_uuid(row.try_get("device_id")?)?,
        cajero_id: db::uuid(&row.try_get::<String, _>("cashier_id")?)?,
        cliente_id: opt_uuid(row.try_get("customer_id")?)?,
        lineas: lines,
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
        tipo: {
            let kind: String = row.try_get("kind")?;
            SaleKind::parse(&kind)
                .ok_or_else(|| AppError::Internal(format!("stored sale kind {kind:?}")))?
        },
        venta_original_id: opt_uuid(row.try_get("original_sale_id")?)?,
        motivo: row.try_get("reason")?,
        autorizacion: {
            let status: String = row.try_get("approval")?;
            ApprovalStatus::parse(&status)
                .ok_or_else(|| AppError::Internal(format!("stored approval {status:?}")))?
        },
        autorizo_id: opt_uuid(row.try_get("approved_by")?)?,
    })
}
