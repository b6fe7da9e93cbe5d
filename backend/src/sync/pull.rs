//! `GET /api/sync/pull`: the changes a device may see after its cursor, in pages, from the one
//! global change sequence — the shared catalog and customers, and its own store's stock and
//! sales. Excluded fields never leave the server.

use pronto_shared::sync::{
    config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
    Change, PullReply,
};
use serde_json::{json, Value};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::config_store;
use crate::{db, model::sales, AppError};

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
    let mut excluded: std::collections::BTreeMap<&str, Vec<String>> =
        std::collections::BTreeMap::new();
    for model in [PRODUCTO, CLIENTE, EXISTENCIA, VENTA] {
        let fields = config_store::get(conn, model)
            .await?
            .map(|c| c.excluded_fields)
            .unwrap_or_default();
        excluded.insert(model, fields);
    }
    let mut changes = Vec::with_capacity(keyed.len());
    for (seq, model, id) in &keyed {
        let mut change = load_change(conn, *seq, model, id, &store).await?;
        if let Value::Object(map) = &mut change.data {
            let drop = &excluded[model];
            map.retain(|field, _| !drop.contains(field));
        }
        changes.push(change);
    }
    let next = keyed.last().map_or(cursor, |(seq, _, _)| *seq);
    Ok(PullReply {
        changes,
        cursor: next,
        has_more,
    })
}

async fn load_change(
    conn: &mut AnyConnection,
    seq: i64,
    model: &'static str,
    id: &str,
    store: &str,
) -> Result<Change, AppError> {
    let entity_id = db::uuid(id)?;
    let (version, deleted, data): (i64, bool, Value) = match model {
        PRODUCTO | CLIENTE => {
            let table = if model == PRODUCTO {
                "products"
            } else {
                "customers"
            };
            let (version, deleted): (i64, i64) = sqlx::query_as(&format!(
                "SELECT version, deleted FROM {table} WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            let data = if deleted != 0 {
                Value::Null
            } else if model == PRODUCTO {
                json_of(crate::model::products::get(conn, entity_id).await?)?
            } else {
                json_of(crate::model::customers::get(conn, entity_id).await?)?
            };
            (version, deleted != 0, data)
        }
        EXISTENCIA => {
            let (version, quantity): (i64, i64) = sqlx::query_as(
                "SELECT version, quantity FROM stock WHERE store_id = $1 AND product_id = $2",
            )
            .bind(store)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            let data = json!({"tienda_id": store, "producto_id": id, "cantidad": quantity, "negativo": quantity < 0});
            (version, false, data)
        }
        _ => (1, false, json_of(sales::get(conn, entity_id).await?)?),
    };
    Ok(Change {
        seq,
        model: model.to_owned(),
        entity_id,
        version,
        deleted,
        data,
    })
}

fn json_of<T: serde::Serialize>(value: Option<T>) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}
