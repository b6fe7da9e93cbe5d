//! Stock per store and product, moved only by deltas that commute (DESIGN §4): receipts,
//! adjustments, transfers and sales add or subtract; nothing ever sets an absolute count, so
//! two devices moving the same stock offline both count.

use pronto_shared::api::{
    stock::{StockLevel, StockQuery, StockReason},
    Page,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

/// One movement to apply.
pub struct Movement<'a> {
    pub id: Uuid,
    pub store_id: Uuid,
    pub product_id: Uuid,
    pub delta: i64,
    pub reason: StockReason,
    pub note: &'a str,
    pub sale_id: Option<Uuid>,
    pub user_id: Uuid,
}

/// The id of the stock movement of a sale's (or return's) line `line`: derived, so one sale
/// always moves stock under the same ids (and a simulated seed replays identically).
pub fn line_movement_id(sale: Uuid, line: usize) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"pronto-stock-line\n");
    hash.update(sale.as_bytes());
    hash.update((line as u64).to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Records the movement and adds its delta to the stock row (created at zero if missing).
/// Returns the new quantity, which may be negative: flagged for the manager, never refused.
pub async fn apply(
    conn: &mut AnyConnection,
    m: &Movement<'_>,
    seq: i64,
    now: &str,
) -> Result<i64, AppError> {
    sqlx::query(
        "INSERT INTO stock_movements (id, store_id, product_id, delta, reason, note, sale_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(m.id.to_string())
    .bind(m.store_id.to_string())
    .bind(m.product_id.to_string())
    .bind(m.delta)
    .bind(m.reason.as_str())
    .bind(m.note)
    .bind(m.sale_id.map(|id| id.to_string()))
    .bind(m.user_id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let quantity: i64 = sqlx::query_scalar(
        "INSERT INTO stock (store_id, product_id, quantity, version, change_seq, updated_at) \
         VALUES ($1, $2, $3, 1, $4, $5) \
         ON CONFLICT (store_id, product_id) DO UPDATE SET quantity = stock.quantity + excluded.quantity, \
         version = stock.version + 1, change_seq = excluded.change_seq, updated_at = excluded.updated_at \
         RETURNING quantity",
    )
    .bind(m.store_id.to_string())
    .bind(m.product_id.to_string())
    .bind(m.delta)
    .bind(seq)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(quantity)
}

/// Sets the starting count of a store's product (demo data, first inventory); a plain insert.
pub async fn seed(
    conn: &mut AnyConnection,
    store_id: Uuid,
    product_id: Uuid,
    quantity: i64,
    seq: i64,
    now: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO stock (store_id, product_id, quantity, version, change_seq, updated_at) VALUES ($1, $2, $3, 1, $4, $5)",
    )
    .bind(store_id.to_string())
    .bind(product_id.to_string())
    .bind(quantity)
    .bind(seq)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(
    conn: &mut AnyConnection,
    store_id: Uuid,
    query: &StockQuery,
) -> Result<Page<StockLevel>, AppError> {
    let paging = query.paging();
    let mut sql = String::from("SELECT product_id, quantity FROM stock WHERE store_id = $1");
    if query.producto_id.is_some() {
        sql.push_str(" AND product_id = $2");
    }
    if query.solo_negativos {
        sql.push_str(" AND quantity < 0");
    }
    sql.push_str(&format!(
        " ORDER BY product_id LIMIT {} OFFSET {}",
        i64::from(paging.per_page) + 1,
        paging.offset()
    ));
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(store_id.to_string());
    if let Some(product) = query.producto_id {
        q = q.bind(product.to_string());
    }
    let rows = q.fetch_all(conn).await?;
    let items = rows
        .into_iter()
        .map(|(product, cantidad)| {
            Ok(StockLevel {
                tienda_id: store_id,
                producto_id: db::uuid(&product)?,
                cantidad,
                negativo: cantidad < 0,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(paging.page_of(items))
}
