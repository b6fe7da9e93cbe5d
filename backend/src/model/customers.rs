//! Customers (`clientes.Cliente`).

use pronto_shared::{
    api::{
        customers::{Customer, CustomerQuery, ValidCustomer},
        Page,
    },
    search,
};
use std::collections::HashSet;

use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{
    db,
    model::{field_versions, RowMeta, WriteAt},
    rows::{Cell, Rows},
    AppError,
};

pub const FIELDS: &[&str] = pronto_shared::sync::config::CUSTOMER_FIELDS;

const COLUMNS: &str = "id, name, phone, email, rfc, points, notes, version";

fn from_row(row: &AnyRow) -> Result<Customer, AppError> {
    let id: String = row.try_get("id")?;
    Ok(Customer {
        id: db::uuid(&id)?,
        nombre: row.try_get("name")?,
        telefono: row.try_get("phone")?,
        email: row.try_get("email")?,
        rfc: row.try_get("rfc")?,
        puntos: row.try_get("points")?,
        notas: row.try_get("notes")?,
        version: row.try_get("version")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Customer>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1 AND deleted = 0");
    super::one(conn, &sql, id, from_row).await
}

/// Customers by id, deleted ones too (with `true`), in one query for a whole pull page.
pub async fn get_many_with_deleted(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<Vec<(Customer, bool)>, AppError> {
    let head = format!("SELECT {COLUMNS}, deleted FROM customers WHERE id IN");
    super::many_with_deleted(conn, &head, ids, from_row).await
}

/// `q` of digits searches phones by prefix, with `@` e-mails by prefix, otherwise names: the
/// whole name by prefix or any later word by prefix.
pub async fn search(
    conn: &mut AnyConnection,
    query: &CustomerQuery,
) -> Result<Page<Customer>, AppError> {
    let paging = query.paging();
    let mut sql = format!("SELECT {COLUMNS} FROM customers WHERE deleted = 0");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        if q.contains('@') {
            let prefix = q.to_lowercase();
            binds.push(search::prefix_upper_bound(&prefix));
            binds.push(prefix);
            sql.push_str(" AND email >= $2 AND email < $1");
        } else if digits.len() >= 3 && digits.len() * 2 >= q.len() {
            binds.push(search::prefix_upper_bound(&digits));
            binds.push(digits);
            sql.push_str(" AND phone >= $2 AND phone < $1");
        } else {
            let folded = search::fold(q);
            binds.push(search::prefix_upper_bound(&folded));
            binds.push(folded.clone());
            binds.push(format!("% {}%", folded.replace(['%', '_'], "")));
            sql.push_str(" AND ((name_folded >= $2 AND name_folded < $1) OR name_folded LIKE $3)");
        }
    }
    sql.push_str(&format!(
        " ORDER BY name_folded, id LIMIT {} OFFSET {}",
        i64::from(paging.per_page) + 1,
        paging.offset()
    ));
    let mut q = sqlx::query(&sql);
    for bind in &binds {
        q = q.bind(bind);
    }
    let rows = q.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(paging.page_of(items))
}

/// Why a create of a taken customer id is refused.
pub const TAKEN: &str = "Ya existe un cliente con ese id.";

const INSERT_COLUMNS: &[&str] = &[
    "id",
    "name",
    "name_folded",
    "phone",
    "email",
    "rfc",
    "points",
    "notes",
    "version",
    "field_versions",
    "deleted",
    "change_seq",
    "updated_at",
];

/// A new customer's row, in [`INSERT_COLUMNS`]' order: version 1, every field stamped with
/// the write's clock.
fn new_row(id: Uuid, c: &ValidCustomer, points: i64, w: WriteAt<'_>) -> Vec<Cell> {
    vec![
        Cell::from(id.to_string()),
        Cell::from(c.name.clone()),
        Cell::from(search::fold(&c.name)),
        Cell::from(c.phone.as_ref().map(|p| p.as_str().to_owned())),
        Cell::from(c.email.as_ref().map(|e| e.as_str().to_owned())),
        Cell::from(c.rfc.as_ref().map(|r| r.as_str().to_owned())),
        Cell::from(points),
        Cell::from(c.notes.clone()),
        Cell::from(1),
        Cell::from(field_versions::created(FIELDS, w.hlc)),
        Cell::from(0),
        Cell::from(w.seq),
        Cell::from(w.at),
    ]
}

/// The customers one push batch creates, written with multi-row INSERTs when the batch closes
/// or before an op reads one of them: a till's new customers are most of a busy push, and one
/// statement each was most of applying them. Whether an id is taken is known before anything
/// is collected (one read for the batch's ids up front, or one per id that was not in it,
/// then the batch's own creates), so a create is
/// answered when it is collected and the INSERT cannot find the id taken — a concurrent
/// writer that takes it meanwhile (PostgreSQL) fails the whole batch, which the device sends
/// again and then sees refused.
#[derive(Debug)]
pub struct NewCustomers {
    rows: Rows,
    /// Collected, not yet written.
    pending: HashSet<Uuid>,
    /// Ids of this batch's creates found in the table, and every id collected since: a create
    /// of one of them is refused.
    taken: HashSet<Uuid>,
    /// Ids looked up in the table.
    checked: HashSet<Uuid>,
}

impl Default for NewCustomers {
    fn default() -> Self {
        Self {
            rows: Rows::new("customers", INSERT_COLUMNS),
            pending: HashSet::new(),
            taken: HashSet::new(),
            checked: HashSet::new(),
        }
    }
}

impl NewCustomers {
    /// Reads which of the batch's create ids exist already (deleted ones too), all at once.
    pub async fn prefetch(
        &mut self,
        conn: &mut AnyConnection,
        ids: &[Uuid],
    ) -> Result<(), AppError> {
        self.checked.extend(ids.iter().copied());
        for chunk in ids.chunks(500) {
            let found: Vec<(String,)> =
                db::in_query(conn, "SELECT id FROM customers WHERE id IN", chunk).await?;
            for (id,) in found {
                self.taken.insert(db::uuid(&id)?);
            }
        }
        Ok(())
    }

    /// Collects a new customer; `false`, collecting nothing, when the id is taken (looked up
    /// here unless [`Self::prefetch`] did: an admin's retry of one op does not prefetch).
    pub async fn add(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
        c: &ValidCustomer,
        points: i64,
        w: WriteAt<'_>,
    ) -> Result<bool, AppError> {
        if !self.checked.contains(&id) {
            self.prefetch(conn, &[id]).await?;
        }
        if !self.taken.insert(id) {
            return Ok(false);
        }
        self.pending.insert(id);
        self.rows.push(new_row(id, c, points, w));
        Ok(true)
    }

    /// Whether `id` is collected and not yet in the table.
    pub fn pending(&self, id: Uuid) -> bool {
        self.pending.contains(&id)
    }

    /// Writes what was collected.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), AppError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.rows.flush(conn).await?;
        self.pending.clear();
        Ok(())
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    id: Uuid,
    c: &ValidCustomer,
    points: i64,
    w: WriteAt<'_>,
) -> Result<(), AppError> {
    let mut row = Rows::with_suffix("customers", INSERT_COLUMNS, "ON CONFLICT DO NOTHING");
    row.push(new_row(id, c, points, w));
    // A taken id writes nothing instead of failing the statement: on PostgreSQL a failed
    // statement would abort the whole transaction, and a synced create runs without a
    // savepoint of its own.
    if row.flush(conn).await? == 0 {
        return Err(AppError::Conflict(TAKEN.into()));
    }
    Ok(())
}

/// Writes the row the conflict rule returned: `c` is its fields, validated (points are the
/// sales', never written here); `meta` its version, stamps and deleted flag.
pub async fn write(
    conn: &mut AnyConnection,
    id: Uuid,
    c: &ValidCustomer,
    meta: &RowMeta,
    w: WriteAt<'_>,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE customers SET name = $1, name_folded = $2, phone = $3, email = $4, rfc = $5, notes = $6, \
         version = $7, field_versions = $8, deleted = $9, deleted_stamp = $10, change_seq = $11, \
         updated_at = $12 WHERE id = $13",
    )
    .bind(&c.name)
    .bind(search::fold(&c.name))
    .bind(c.phone.as_ref().map(|p| p.as_str().to_owned()))
    .bind(c.email.as_ref().map(|e| e.as_str().to_owned()))
    .bind(c.rfc.as_ref().map(|r| r.as_str().to_owned()))
    .bind(&c.notes)
    .bind(meta.version)
    .bind(&meta.field_versions)
    .bind(i64::from(meta.deleted))
    .bind(meta.deleted_stamp.as_deref())
    .bind(w.seq)
    .bind(w.at)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The row as the conflict rules see it, deleted or not.
pub async fn get_for_sync(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<(Customer, bool, String, Option<String>)>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS}, deleted, field_versions, deleted_stamp FROM customers WHERE id = $1"
    );
    super::for_sync(conn, &sql, id, from_row).await
}
