//! `GET /api/sync/pull`: the changes a device may see after its cursor, in pages, from the one
//! global change sequence — the shared catalog and customers, and its own store's stock and
//! sales. Excluded fields never leave the server.

use pronto_shared::sync::{
    config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
    Change, PullReply,
};
use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::config_store;
use crate::{
    db,
    model::{customers, products, sales},
    AppError,
};

pub const MAX_PAGE: i64 = 1000;

/// Up to `limit` changes after `cursor` for a device of `store_id`.
pub async fn pull(
    conn: &mut AnyConnection,
    store_id: Uuid,
    cursor: i64,
    limit: i64,
) -> Result<PullReply, AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let store = store_id.to_string();
    let mut keyed: Vec<(i64, &'static str, String)> = Vec::new();
    for (model, sql, scoped) in [
        (PRODUCTO, "SELECT change_seq, id FROM products WHERE change_seq > $1 ORDER BY change_seq LIMIT $2", false),
        (CLIENTE, "SELECT change_seq, id FROM customers WHERE change_seq > $1 ORDER BY change_seq LIMIT $2", false),
        (
            EXISTENCIA,
            "SELECT change_seq, product_id FROM stock WHERE change_seq > $1 AND store_id = $3 ORDER BY change_seq LIMIT $2",
            true,
        ),
        (
            VENTA,
            "SELECT change_seq, id FROM sales WHERE change_seq > $1 AND store_id = $3 ORDER BY change_seq LIMIT $2",
            true,
        ),
    ] {
        let mut q = sqlx::query_as::<_, (i64, String)>(sql).bind(cursor).bind(limit + 1);
        if scoped {
            q = q.bind(&store);
        }
        for (seq, id) in q.fetch_all(&mut *conn).await? {
            keyed.push((seq, model, id));
        }
    }
    keyed.sort();
    let has_more = keyed.len() as i64 > limit;
    keyed.truncate(limit as usize);
    // Excluded fields per model, read once per page (the configuration may change between
    // pages, never within one).
    let excluded: HashMap<String, Vec<String>> = config_store::all(conn)
        .await?
        .into_iter()
        .map(|c| (c.model, c.excluded_fields))
        .collect();
    let mut loaded = load_entities(conn, &keyed, &store).await?;
    let mut changes = Vec::with_capacity(keyed.len());
    for (seq, model, id) in &keyed {
        let entity_id = db::uuid(id)?;
        let (version, deleted, mut data) = loaded
            .remove(&(*model, entity_id))
            .ok_or_else(|| AppError::Internal(format!("changed {model} {id} is not stored")))?;
        if let Value::Object(map) = &mut data {
            if let Some(drop) = excluded.get(*model) {
                map.retain(|field, _| !drop.contains(field));
            }
        }
        changes.push(Change {
            seq: *seq,
            model: (*model).to_owned(),
            entity_id,
            version,
            deleted,
            data,
        });
    }
    let next = keyed.last().map_or(cursor, |(seq, _, _)| *seq);
    let latest = if has_more {
        let value: i64 = sqlx::query_scalar("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        Some(value)
    } else {
        None
    };
    Ok(PullReply {
        changes,
        cursor: next,
        has_more,
        held_for_manager: None,
        device_seq: None,
        latest,
        instance: None,
    })
}

/// The database's identity (`app_instance`), which a restore renews (`backup::restore`): read
/// once per process and kept in `known`.
pub async fn instance(
    conn: &mut AnyConnection,
    known: &std::sync::OnceLock<String>,
) -> Result<String, AppError> {
    if let Some(id) = known.get() {
        return Ok(id.clone());
    }
    let id: String = sqlx::query_scalar("SELECT instance_id FROM app_instance WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(known.get_or_init(|| id).clone())
}

/// Version, deleted flag and wire data of every entity named on the page, one query per model
/// (three for sales) rather than one or more per change.
async fn load_entities(
    conn: &mut AnyConnection,
    keyed: &[(i64, &'static str, String)],
    store: &str,
) -> Result<HashMap<(&'static str, Uuid), (i64, bool, Value)>, AppError> {
    let mut ids: HashMap<&'static str, Vec<Uuid>> = HashMap::new();
    for (_, model, id) in keyed {
        ids.entry(model).or_default().push(db::uuid(id)?);
    }
    let mut loaded = HashMap::with_capacity(keyed.len());
    let wanted = |model| ids.get(model).map_or(&[][..], Vec::as_slice);
    for (product, deleted) in products::get_many_with_deleted(conn, wanted(PRODUCTO)).await? {
        let data = if deleted {
            Value::Null
        } else {
            json_of(&product)?
        };
        let entry = (product.version, deleted, data);
        loaded.insert((PRODUCTO, product.id), entry);
    }
    for (customer, deleted) in customers::get_many_with_deleted(conn, wanted(CLIENTE)).await? {
        let data = if deleted {
            Value::Null
        } else {
            json_of(&customer)?
        };
        let entry = (customer.version, deleted, data);
        loaded.insert((CLIENTE, customer.id), entry);
    }
    let stock_ids = wanted(EXISTENCIA);
    if !stock_ids.is_empty() {
        let sql = format!(
            "SELECT product_id, version, quantity FROM stock WHERE store_id = $1 AND product_id IN ({})",
            db::marks(2, stock_ids.len())
        );
        let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql).bind(store);
        for id in stock_ids {
            query = query.bind(id.to_string());
        }
        for (id, version, quantity) in query.fetch_all(&mut *conn).await? {
            let data = json!({"tienda_id": store, "producto_id": id, "cantidad": quantity, "negativo": quantity < 0});
            loaded.insert((EXISTENCIA, db::uuid(&id)?), (version, false, data));
        }
    }
    for sale in sales::get_many(conn, wanted(VENTA)).await? {
        loaded.insert((VENTA, sale.id), (1, false, json_of(&sale)?));
    }
    Ok(loaded)
}

/// How many ops of `device` (of `store`) wait for a manager: `pending` ops, which are the
/// conflicts not settled yet and the unsigned ops of an earlier release held for a manager.
/// The `(status, store_id)` index keeps this to the store's few pending ops.
pub async fn held_for_manager(
    conn: &mut AnyConnection,
    store: Uuid,
    device: Uuid,
) -> Result<u32, AppError> {
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sync_ops WHERE status = 'pending' AND store_id = $1 AND device_id = $2",
    )
    .bind(store.to_string())
    .bind(device.to_string())
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(held).unwrap_or(u32::MAX))
}

fn json_of<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}
