//! Reads and writes of each kind of record, taking a connection or transaction from the
//! caller. The REST routes and the sync apply path both call these; the synced records'
//! fields, stamps and versions are written only as the shared conflict rule settles them
//! (`synced`).

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
pub mod synced;
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

/// A synced row's bookkeeping as the conflict rule left it, encoded for its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct RowMeta {
    pub version: i64,
    pub field_versions: String,
    pub deleted: bool,
    pub deleted_stamp: Option<String>,
}

impl RowMeta {
    pub fn of(row: &pronto_shared::sync::RowState) -> Self {
        Self {
            version: row.version,
            field_versions: field_versions::encode(&row.stamps),
            deleted: row.deleted,
            deleted_stamp: field_versions::encode_deleted(row.deleted_stamp.as_ref()),
        }
    }
}

/// Writes only the bookkeeping of a row whose fields stay (a delete, an undelete).
pub async fn write_meta(
    conn: &mut sqlx::AnyConnection,
    table: Tombstoned,
    id: uuid::Uuid,
    meta: &RowMeta,
    w: WriteAt<'_>,
) -> Result<(), crate::AppError> {
    // The table name is one of two literals, never input.
    let table = match table {
        Tombstoned::Products => "products",
        Tombstoned::Customers => "customers",
    };
    sqlx::query(&format!(
        "UPDATE {table} SET deleted = $1, deleted_stamp = $2, version = $3, field_versions = $4, \
         change_seq = $5, updated_at = $6 WHERE id = $7"
    ))
    .bind(i64::from(meta.deleted))
    .bind(meta.deleted_stamp.as_deref())
    .bind(meta.version)
    .bind(&meta.field_versions)
    .bind(w.seq)
    .bind(w.at)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The row `sql` selects by id (`$1`), read with `from_row`.
pub async fn one<T>(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    id: uuid::Uuid,
    from_row: fn(&sqlx::any::AnyRow) -> Result<T, crate::AppError>,
) -> Result<Option<T>, crate::AppError> {
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Rows by id with their `deleted` flag, deleted ones too, in one query for a whole pull page:
/// `head` selects the columns and `deleted` and ends in `WHERE id IN`.
pub async fn many_with_deleted<T>(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    ids: &[uuid::Uuid],
    from_row: fn(&sqlx::any::AnyRow) -> Result<T, crate::AppError>,
) -> Result<Vec<(T, bool)>, crate::AppError> {
    use sqlx::Row;
    crate::db::rows_in(conn, head, ids)
        .await?
        .iter()
        .map(|row| Ok((from_row(row)?, row.try_get::<i64, _>("deleted")? != 0)))
        .collect()
}

/// A synced row as the conflict rule needs it, deleted or not: `(record, deleted, field
/// stamps, deleted stamp)`; `sql` selects the columns and those three by id (`$1`).
pub async fn for_sync<T>(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    id: uuid::Uuid,
    from_row: fn(&sqlx::any::AnyRow) -> Result<T, crate::AppError>,
) -> Result<Option<(T, bool, String, Option<String>)>, crate::AppError> {
    use sqlx::Row;
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((
        from_row(&row)?,
        row.try_get::<i64, _>("deleted")? != 0,
        row.try_get("field_versions")?,
        row.try_get("deleted_stamp")?,
    )))
}
