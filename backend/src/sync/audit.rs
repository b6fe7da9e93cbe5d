//! The audit log: every applied, rejected and resolved op, and every write through the REST
//! API (products, customers, stock movements, sales, device registrations), writes an entry
//! that holds the SHA-256 of the previous entry, so editing or deleting a row breaks the chain where it was
//! touched, and [`verify`] names that entry.

use std::{
    borrow::Cow,
    io::{self, Write},
};

use pronto_shared::sync::canonical;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    auth::CurrentUser,
    rows::{Cell, Rows},
    AppError,
};

pub use pronto_shared::api::supervision::{
    AuditEntry as Entry, Integrity, StoredAuditEntry as Stored,
};

/// The entry of a write made through the REST API by a signed-in person: no device, no op.
pub fn rest<B: Serialize, A: Serialize>(
    user: &CurrentUser,
    at: &str,
    model: &str,
    entity_id: impl ToString,
    before: Option<&B>,
    after: Option<&A>,
) -> Entry {
    Entry {
        at: at.to_owned(),
        user_id: Some(user.id().to_string()),
        device_id: None,
        op_id: None,
        model: model.to_owned(),
        entity_id: entity_id.to_string(),
        result: "applied".into(),
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: after.and_then(|a| serde_json::to_value(a).ok()),
    }
}

/// Longest text an audit entry keeps of any one value (characters); longer text keeps its
/// start and says how long it was.
pub const MAX_TEXT: usize = 500;
/// Most items an audit entry keeps of one list or object.
pub const MAX_ITEMS: usize = 200;

/// `entry` with every text cut to [`MAX_TEXT`] and every list to [`MAX_ITEMS`].
pub fn bounded(entry: &Entry) -> Entry {
    Entry {
        model: cut(&entry.model),
        entity_id: cut(&entry.entity_id),
        before: entry.before.as_ref().map(bound_value),
        after: entry.after.as_ref().map(bound_value),
        ..entry.clone()
    }
}

/// [`bounded`], without a copy of an entry that is within the bounds (nearly all are).
fn bounded_cow(entry: &Entry) -> Cow<'_, Entry> {
    let fits = fits(&entry.model)
        && fits(&entry.entity_id)
        && [&entry.before, &entry.after]
            .into_iter()
            .flatten()
            .all(within_bounds);
    if fits {
        Cow::Borrowed(entry)
    } else {
        Cow::Owned(bounded(entry))
    }
}

fn within_bounds(value: &Value) -> bool {
    match value {
        Value::String(text) => fits(text),
        Value::Array(items) => items.len() <= MAX_ITEMS && items.iter().all(within_bounds),
        Value::Object(map) => {
            map.len() <= MAX_ITEMS && map.iter().all(|(k, v)| fits(k) && within_bounds(v))
        }
        _ => true,
    }
}

/// Whether [`cut`] leaves `text` as it is.
fn fits(text: &str) -> bool {
    text.len() <= MAX_TEXT || text.chars().nth(MAX_TEXT).is_none()
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}… ({} caracteres)", &text[..at], text.chars().count()),
    }
}

fn bound_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(cut(text)),
        Value::Array(items) => items.iter().take(MAX_ITEMS).map(bound_value).collect(),
        Value::Object(map) => Value::Object(
            map.iter()
                .take(MAX_ITEMS)
                .map(|(k, v)| (cut(k), bound_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The chain's hash of an entry: SHA-256 over the canonical JSON of the entry (with its id,
/// so moving rows around is noticed too) and the previous hash:
/// `{"entry":{…},"id":…,"prev":"…"}`. Written straight into the hasher, keys in canonical
/// order, instead of building that object as a `Value` (a copy of the entry's before and
/// after) and a string of it; the bytes are the same (a test keeps the first form).
fn chain_hash(prev_hash: &str, id: i64, entry: &Entry) -> String {
    let parts = Parts {
        before: Part::Value(entry.before.as_ref()),
        after: Part::Value(entry.after.as_ref()),
    };
    chain_hash_of(prev_hash, id, entry, parts)
}

fn chain_hash_of(prev_hash: &str, id: i64, entry: &Entry, parts: Parts<'_>) -> String {
    let mut hasher = Sha256::new();
    // A hasher takes every write.
    let _ = write_chained(&mut hasher, prev_hash, id, entry, parts);
    hex::encode(hasher.finalize())
}

/// An entry's `before` or `after` as the hash takes it: the value, written canonically as it
/// goes (checking a stored chain), or its canonical text already made (appending, where the
/// same text is stored: one serialisation instead of two).
#[derive(Clone, Copy)]
enum Part<'a> {
    Value(Option<&'a Value>),
    Text(Option<&'a str>),
}

#[derive(Clone, Copy)]
struct Parts<'a> {
    before: Part<'a>,
    after: Part<'a>,
}

fn write_chained(
    out: &mut impl Write,
    prev_hash: &str,
    id: i64,
    entry: &Entry,
    parts: Parts<'_>,
) -> io::Result<()> {
    let text = |out: &mut _, key: &[u8], value: &str| -> io::Result<()> {
        Write::write_all(out, key)?;
        canonical::write_str(value, out)
    };
    let optional = |out: &mut _, key: &[u8], value: Option<&str>| -> io::Result<()> {
        Write::write_all(out, key)?;
        match value {
            Some(value) => canonical::write_str(value, out),
            None => Write::write_all(out, b"null"),
        }
    };
    let json = |out: &mut _, key: &[u8], part: Part<'_>| -> io::Result<()> {
        Write::write_all(out, key)?;
        match part {
            Part::Value(Some(value)) => canonical::write_canonical(value, out),
            Part::Text(Some(text)) => Write::write_all(out, text.as_bytes()),
            Part::Value(None) | Part::Text(None) => Write::write_all(out, b"null"),
        }
    };
    json(out, b"{\"entry\":{\"after\":", parts.after)?;
    text(out, b",\"at\":", &entry.at)?;
    json(out, b",\"before\":", parts.before)?;
    optional(out, b",\"device_id\":", entry.device_id.as_deref())?;
    text(out, b",\"entity_id\":", &entry.entity_id)?;
    text(out, b",\"model\":", &entry.model)?;
    optional(out, b",\"op_id\":", entry.op_id.as_deref())?;
    text(out, b",\"result\":", &entry.result)?;
    optional(out, b",\"user_id\":", entry.user_id.as_deref())?;
    write!(out, "}},\"id\":{id}")?;
    text(out, b",\"prev\":", prev_hash)?;
    out.write_all(b"}")
}

/// The end of the chain while a transaction appends to it. [`Chain::open`] takes the head's
/// row lock (an UPDATE), so concurrent appenders on PostgreSQL queue up instead of forking the
/// chain; entries are then hashed in memory and the head is written once by [`Chain::close`].
#[derive(Debug)]
pub struct Chain {
    last_id: i64,
    last_hash: String,
    pending: Rows,
}

const COLUMNS: &[&str] = &[
    "id",
    "at",
    "user_id",
    "device_id",
    "op_id",
    "model",
    "entity_id",
    "result",
    "before",
    "after",
    "prev_hash",
    "hash",
];

impl Chain {
    pub async fn open(conn: &mut AnyConnection) -> Result<Self, AppError> {
        let (last_id, last_hash): (i64, String) = sqlx::query_as(
            "UPDATE audit_head SET last_id = last_id WHERE id = 1 RETURNING last_id, last_hash",
        )
        .fetch_one(conn)
        .await?;
        Ok(Self {
            last_id,
            last_hash,
            pending: Rows::new("audit_log", COLUMNS),
        })
    }

    /// Appends `entry` after the current end (written out by [`Chain::close`]). What a device
    /// sent is bounded first ([`bounded`]): a refused op's model name or reason can echo
    /// anything, and the log must not grow by megabytes per forged op.
    pub fn append(&mut self, entry: &Entry) -> i64 {
        let entry = &*bounded_cow(entry);
        let id = self.last_id + 1;
        // Stored as hashed: canonical JSON, made once.
        let before = entry.before.as_ref().map(canonical::to_canonical_string);
        let after = entry.after.as_ref().map(canonical::to_canonical_string);
        let parts = Parts {
            before: Part::Text(before.as_deref()),
            after: Part::Text(after.as_deref()),
        };
        let hash = chain_hash_of(&self.last_hash, id, entry, parts);
        self.pending.push(vec![
            Cell::from(id),
            Cell::from(entry.at.as_str()),
            Cell::from(entry.user_id.clone()),
            Cell::from(entry.device_id.clone()),
            Cell::from(entry.op_id.clone()),
            Cell::from(entry.model.as_str()),
            Cell::from(entry.entity_id.as_str()),
            Cell::from(entry.result.as_str()),
            Cell::from(before),
            Cell::from(after),
            Cell::from(self.last_hash.as_str()),
            Cell::from(hash.as_str()),
        ]);
        self.last_id = id;
        self.last_hash = hash;
        id
    }

    /// Writes the collected entries and the new end into the head; without it nothing of the
    /// batch's audit is stored (and the transaction must not commit).
    pub async fn close(mut self, conn: &mut AnyConnection) -> Result<(), AppError> {
        self.pending.flush(conn).await?;
        sqlx::query("UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE id = 1")
            .bind(self.last_id)
            .bind(&self.last_hash)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Appends one entry inside the caller's transaction (open, append, close).
pub async fn append(conn: &mut AnyConnection, entry: &Entry) -> Result<i64, AppError> {
    let mut chain = Chain::open(conn).await?;
    let id = chain.append(entry);
    chain.close(conn).await?;
    Ok(id)
}

fn entry_of(row: &AnyRow) -> Result<(i64, Entry, String, String), AppError> {
    let parse = |text: Option<String>| -> Result<Option<Value>, AppError> {
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| AppError::Internal(format!("audit json: {e}")))
        })
        .transpose()
    };
    let entry = Entry {
        at: row.try_get("at")?,
        user_id: row.try_get("user_id")?,
        device_id: row.try_get("device_id")?,
        op_id: row.try_get("op_id")?,
        model: row.try_get("model")?,
        entity_id: row.try_get("entity_id")?,
        result: row.try_get("result")?,
        before: parse(row.try_get("before")?)?,
        after: parse(row.try_get("after")?)?,
    };
    Ok((
        row.try_get("id")?,
        entry,
        row.try_get("prev_hash")?,
        row.try_get("hash")?,
    ))
}

/// Walks the whole chain in id order and recomputes every hash.
pub async fn verify(conn: &mut AnyConnection) -> Result<Integrity, AppError> {
    verify_in_pages(conn, VERIFY_PAGE).await
}

/// Entries read per query by [`verify`]: memory stays constant however long the log grows
/// (it was read whole; a million entries is a year of a busy chain).
pub const VERIFY_PAGE: i64 = 1_000;

/// [`verify`], reading `page` entries at a time.
pub async fn verify_in_pages(conn: &mut AnyConnection, page: i64) -> Result<Integrity, AppError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut *conn)
        .await?;
    let (head_id, head_hash): (i64, String) =
        sqlx::query_as("SELECT last_id, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
    let mut expected_prev = "0".repeat(64);
    let mut expected_id = 1;
    let broken = |id: i64, reason: &str| Integrity {
        ok: false,
        entries: count,
        first_broken: Some(id),
        reason: Some(reason.to_owned()),
    };
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(
            "SELECT id, at, user_id, device_id, op_id, model, entity_id, result, before, after, prev_hash, hash \
             FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(page.max(1))
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get("id")?;
        for row in &rows {
            let (id, entry, prev_hash, hash) = entry_of(row)?;
            if id != expected_id {
                return Ok(broken(expected_id, "falta la entrada (fue borrada)"));
            }
            if prev_hash != expected_prev {
                return Ok(broken(id, "el enlace con la entrada anterior no coincide"));
            }
            if chain_hash(&prev_hash, id, &entry) != hash {
                return Ok(broken(id, "el contenido de la entrada fue modificado"));
            }
            expected_prev = hash;
            expected_id += 1;
        }
    }
    if head_id != expected_id - 1 || head_hash != expected_prev {
        return Ok(broken(expected_id, "faltan entradas al final del registro"));
    }
    Ok(Integrity {
        ok: true,
        entries: count,
        first_broken: None,
        reason: None,
    })
}

/// Filters of `GET /api/sincronizacion/auditoria/`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    #[serde(default)]
    pub modelo: Option<String>,
    #[serde(default)]
    pub entidad: Option<String>,
    #[serde(default)]
    pub usuario: Option<String>,
    #[serde(default)]
    pub dispositivo: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub desde: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`, exclusive.
    #[serde(default)]
    pub hasta: Option<String>,
    #[serde(default)]
    pub limite: Option<i64>,
    /// The next page: entries older than this one (the id of the last of the previous page).
    #[serde(default)]
    pub antes: Option<i64>,
}

/// Newest first. `store` restricts to what happened in one store (a manager's view): ops from
/// its devices and REST writes by its staff (an admin's home store does not make the admin's
/// chain-wide catalog edits that store's business). `None` is everything (an admin's).
pub async fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    store: Option<uuid::Uuid>,
) -> Result<Vec<Stored>, AppError> {
    let mut sql = String::from(
        "SELECT id, at, user_id, device_id, op_id, model, entity_id, result, before, after, prev_hash, hash \
         FROM audit_log WHERE 1 = 1",
    );
    let mut binds: Vec<String> = Vec::new();
    let mut add = |sql: &mut String, clause: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            binds.push(v.to_owned());
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        }
    };
    add(&mut sql, "model =", &filter.modelo);
    add(&mut sql, "entity_id =", &filter.entidad);
    add(&mut sql, "user_id =", &filter.usuario);
    add(&mut sql, "device_id =", &filter.dispositivo);
    add(&mut sql, "at >=", &filter.desde);
    add(&mut sql, "at <", &filter.hasta);
    if let Some(store) = store {
        binds.push(store.to_string());
        let n = binds.len();
        sql.push_str(&format!(
            " AND (device_id IN (SELECT id FROM devices WHERE store_id = ${n}) \
             OR (device_id IS NULL AND user_id IN \
             (SELECT id FROM users WHERE store_id = ${n} AND role <> 'admin')))"
        ));
    }
    if let Some(before) = filter.antes {
        // An integer, not text: written into the statement (PostgreSQL compares types strictly).
        sql.push_str(&format!(" AND id < {before}"));
    }
    sql.push_str(&format!(
        " ORDER BY id DESC LIMIT {}",
        filter.limite.unwrap_or(200).clamp(1, 1000)
    ));
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let (id, entry, prev_hash, hash) = entry_of(row)?;
            Ok(Stored {
                id,
                entry,
                prev_hash,
                hash,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_at_most_a_bounded_piece_of_whatever_a_device_sent() {
        let huge = "x".repeat(1_000_000);
        let entry = Entry {
            at: "t".into(),
            user_id: None,
            device_id: None,
            op_id: None,
            model: huge.clone(),
            entity_id: "e".into(),
            result: "rejected".into(),
            before: None,
            after: Some(serde_json::json!({"motivo": huge, "lista": vec![1; 10_000]})),
        };
        let kept = bounded(&entry);
        assert!(kept.model.len() < 600, "{}", kept.model.len());
        let after = serde_json::to_string(&kept.after).unwrap();
        assert!(after.len() < 2_000, "{}", after.len());
        assert!(kept.model.contains("1000000 caracteres"));
    }

    /// The chain's first form: stored chains were hashed with it and are verified against it.
    fn chain_hash_as_first_written(prev_hash: &str, id: i64, entry: &Entry) -> String {
        let body = serde_json::json!({"id": id, "prev": prev_hash, "entry": entry});
        canonical::sha256_hex(canonical::to_canonical_string(&body).as_bytes())
    }

    fn entries() -> Vec<Entry> {
        let full = Entry {
            at: "2026-12-07T16:00:00.000Z".into(),
            user_id: Some("u-1".into()),
            device_id: Some("d-\"1\"".into()),
            op_id: Some("op\n1".into()),
            model: "ventas.Venta".into(),
            entity_id: "e-ñ-😀".into(),
            result: "applied".into(),
            before: Some(
                serde_json::json!({"z": 1, "a": [1.5, -2, null, true], "ñ": {"y": "x\u{1}"}}),
            ),
            after: Some(serde_json::json!({"total": 129_900, "lineas": [{"b": 1, "a": "\\"}]})),
        };
        let empty = Entry {
            user_id: None,
            device_id: None,
            op_id: None,
            before: None,
            after: None,
            ..full.clone()
        };
        let odd = Entry {
            after: Some(serde_json::json!("solo texto")),
            before: Some(serde_json::json!([])),
            ..full.clone()
        };
        vec![full, empty, odd]
    }

    #[test]
    fn the_streamed_chain_hash_is_the_first_forms_hash_byte_for_byte() {
        for (i, entry) in entries().iter().enumerate() {
            for (prev, id) in [("", 1), ("ab12", 42), ("\"", i64::MAX)] {
                assert_eq!(
                    chain_hash(prev, id, entry),
                    chain_hash_as_first_written(prev, id, entry),
                    "entry {i}, prev {prev:?}, id {id}"
                );
            }
        }
    }

    #[test]
    fn an_appended_entry_is_stored_as_it_was_hashed_and_checks_against_its_hash() {
        for entry in entries() {
            let mut chain = Chain {
                last_id: 6,
                last_hash: "ab12".into(),
                pending: Rows::new("audit_log", COLUMNS),
            };
            chain.append(&entry);
            let stored = |column: usize| chain.pending.text(0, column).map(str::to_owned);
            // What a check reads back: the stored texts, parsed.
            let read = Entry {
                before: stored(8).map(|t| serde_json::from_str(&t).expect("before")),
                after: stored(9).map(|t| serde_json::from_str(&t).expect("after")),
                ..entry.clone()
            };
            assert_eq!(read, entry);
            assert_eq!(stored(11), Some(chain_hash("ab12", 7, &read)));
        }
    }

    #[test]
    fn an_entry_within_bounds_is_chained_as_it_is_and_one_beyond_them_is_cut() {
        for entry in entries() {
            assert!(matches!(bounded_cow(&entry), Cow::Borrowed(_)));
            assert_eq!(bounded(&entry), entry);
        }
        let long = Entry {
            entity_id: "é".repeat(MAX_TEXT + 1),
            ..entries()[0].clone()
        };
        let many = Entry {
            after: Some(serde_json::json!({"lista": vec![0; MAX_ITEMS + 1]})),
            ..entries()[0].clone()
        };
        let exactly = Entry {
            entity_id: "é".repeat(MAX_TEXT),
            after: Some(serde_json::json!({"lista": vec![0; MAX_ITEMS]})),
            ..entries()[0].clone()
        };
        assert!(matches!(bounded_cow(&exactly), Cow::Borrowed(_)));
        for entry in [long, many] {
            let kept = bounded_cow(&entry);
            assert!(matches!(kept, Cow::Owned(_)));
            assert_eq!(*kept, bounded(&entry));
            assert_ne!(*kept, entry);
        }
    }
}
