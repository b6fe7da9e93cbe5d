//! Reads and writes of each kind of record, taking a connection or transaction from the
//! caller. The REST routes call these, and so will the sync apply path: the validation and the
//! bookkeeping (versions, field versions, change sequence) are written once, here and in
//! `pronto_shared`.

pub mod approvals;
pub mod customers;
pub mod dead_letters;
pub mod devices;
pub mod field_versions;
pub mod keys;
pub mod products;
pub mod sales;
pub mod stock;
pub mod stores;
pub mod users;

/// When a write happens: its position in the change sequence, its wall time (RFC 3339) and
/// its HLC stamp. Every synced write carries all three.
#[derive(Debug, Clone, Copy)]
pub struct WriteAt<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub hlc: &'a pronto_shared::sync::Hlc,
}

/// The synced tables that keep tombstones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tombstoned {
    Products,
    Customers,
}

/// Marks a row deleted (a tombstone devices will pull) or brings it back; `stamp` is the
/// JSON field stamp of the change. Returns the new version.
pub async fn set_deleted(
    conn: &mut sqlx::AnyConnection,
    table: Tombstoned,
    id: uuid::Uuid,
    deleted: bool,
    stamp: &str,
    w: WriteAt<'_>,
) -> Result<i64, crate::AppError> {
    // The table name is one of two literals, never input.
    let table = match table {
        Tombstoned::Products => "products",
        Tombstoned::Customers => "customers",
    };
    let version: i64 = sqlx::query_scalar(&format!(
        "UPDATE {table} SET deleted = $1, deleted_stamp = $2, version = version + 1, change_seq = $3, \
         updated_at = $4 WHERE id = $5 RETURNING version"
    ))
    .bind(i64::from(deleted))
    .bind(stamp)
    .bind(w.seq)
    .bind(w.at)
    .bind(id.to_string())
    .fetch_one(conn)
    .await?;
    Ok(version)
}
