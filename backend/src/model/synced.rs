//! The synced records (`productos.Producto`, `clientes.Cliente`) read as the conflict rule's
//! `RowState` and written from the row it returns. Every change of one — a device's op, a REST
//! edit, a manager's resolution — goes through `pronto_shared::sync::records::settle` and then
//! [`store`]; there is no other write of their fields, stamps or versions.

use std::collections::BTreeMap;

use pronto_shared::sync::{
    config::PRODUCTO,
    conflict::{self, RowState},
    records::{self, Settled, ValidRecord},
};
use serde_json::Value;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{
    model::{customers, field_versions, products, write_meta, RowMeta, Tombstoned, WriteAt},
    AppError,
};

/// A synced row as the rule sees it and as the API shows it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub row: RowState,
    pub json: Value,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// The row, deleted or not; `None` when there is none.
pub async fn load(
    conn: &mut AnyConnection,
    model: &str,
    id: Uuid,
) -> Result<Option<Loaded>, AppError> {
    let (json, deleted, stamps, deleted_stamp) = if model == PRODUCTO {
        match products::get_for_sync(conn, id).await? {
            Some((p, d, s, ds)) => (to_json(&p)?, d, s, ds),
            None => return Ok(None),
        }
    } else {
        match customers::get_for_sync(conn, id).await? {
            Some((c, d, s, ds)) => (to_json(&c)?, d, s, ds),
            None => return Ok(None),
        }
    };
    let row = RowState {
        version: json.get("version").and_then(Value::as_i64).unwrap_or(0),
        deleted,
        deleted_stamp: field_versions::parse_deleted(deleted_stamp.as_deref())?,
        fields: records::fields_of(&json),
        stamps: field_versions::parse(&stamps)?,
    };
    Ok(Some(Loaded { row, json }))
}

/// Writes what the rule settled; `before` is the row it started from.
pub async fn store(
    conn: &mut AnyConnection,
    model: &str,
    id: Uuid,
    before: &RowState,
    settled: &Settled,
    w: WriteAt<'_>,
) -> Result<(), AppError> {
    let meta = RowMeta::of(&settled.row);
    match &settled.valid {
        Some(ValidRecord::Product(p)) => {
            let price_changed =
                before.fields.get("precio") != Some(&Value::from(p.price.centavos()));
            products::write(conn, id, p, &meta, price_changed, w).await
        }
        Some(ValidRecord::Customer(c)) => customers::write(conn, id, c, &meta, w).await,
        None => {
            let table = if model == PRODUCTO {
                Tombstoned::Products
            } else {
                Tombstoned::Customers
            };
            write_meta(conn, table, id, &meta, w).await
        }
    }
}

/// A server-side edit of a live record: `fields` (wire names) go through the rule at the row's
/// current version, so they never conflict. `expected_version`, when given, must be the stored
/// one (else 409, someone else changed it); `restamp` stamps every given field even when its
/// value stays. The record after the edit.
pub async fn edit(
    conn: &mut AnyConnection,
    model: &str,
    id: Uuid,
    fields: &BTreeMap<String, Value>,
    (expected_version, restamp): (Option<i64>, bool),
    w: WriteAt<'_>,
) -> Result<Value, AppError> {
    let what = if model == PRODUCTO {
        "producto"
    } else {
        "cliente"
    };
    let loaded = load(conn, model, id)
        .await?
        .filter(|l| !l.row.deleted)
        .ok_or_else(|| AppError::NotFound(format!("{what} {id}")))?;
    if expected_version.is_some_and(|v| v != loaded.row.version) {
        return Err(AppError::Conflict(format!(
            "Otra persona modificó este {what}. Recarga y vuelve a intentarlo."
        )));
    }
    let decision = conflict::edit(&loaded.row, fields, restamp);
    let Some(settled) = records::settle(model, &loaded.row, &decision, w.hlc)? else {
        return Ok(loaded.json);
    };
    store(conn, model, id, &loaded.row, &settled, w).await?;
    load(conn, model, id)
        .await?
        .map(|l| l.json)
        .ok_or_else(|| AppError::NotFound(format!("{what} {id}")))
}
