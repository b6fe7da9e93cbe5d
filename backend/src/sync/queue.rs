//! The queue screen's list of stored ops: newest first, filtered by status, device and store,
//! paged by key. The order is read off the indexes of migration 0012 (no sort of every
//! matching row; `tests/api/queue_order.rs` checks the plan of [`ORDER`]).

use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

/// Newest first; ops of one batch share `received_at`, and two devices may share a seq, so the
/// device breaks the last tie (a page boundary never skips or repeats an op).
pub const ORDER: &str = "ORDER BY received_at DESC, seq DESC, device_id DESC";

pub struct Filter {
    pub status: Option<String>,
    pub device: Option<Uuid>,
    pub store: Option<Uuid>,
    pub limit: i64,
    /// The last op of the previous page.
    pub before: Option<Uuid>,
}

pub use pronto_shared::api::supervision::QueuedOp;

type Row = (
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// One page of the queue (an id that is not a stored op as `before` gives an empty page).
pub async fn list(conn: &mut AnyConnection, filter: &Filter) -> Result<Vec<QueuedOp>, AppError> {
    let mut sql = String::from(
        "SELECT op_id, device_id, seq, store_id, model, entity_id, kind, status, result, received_at, flag \
         FROM sync_ops WHERE 1 = 1",
    );
    let mut binds = Vec::new();
    for (clause, value) in [
        ("status =", filter.status.clone()),
        ("device_id =", filter.device.map(|d| d.to_string())),
        ("store_id =", filter.store.map(|s| s.to_string())),
    ] {
        if let Some(v) = value {
            binds.push(v);
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        }
    }
    if let Some(before) = filter.before {
        binds.push(before.to_string());
        let n = binds.len();
        sql.push_str(&db::before_row(
            "received_at, seq, device_id",
            "sync_ops",
            "op_id",
            n,
        ));
    }
    sql.push_str(&format!(" {ORDER} LIMIT {}", filter.limit.clamp(1, 1000)));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for b in &binds {
        query = query.bind(b);
    }
    query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(
            |(op, device, seq, store, model, entity, kind, status, result, at, flag)| {
                Ok(QueuedOp {
                    op_id: db::uuid(&op)?,
                    dispositivo_id: db::uuid(&device)?,
                    seq,
                    tienda_id: db::uuid(&store)?,
                    modelo: model,
                    entidad_id: db::uuid(&entity)?,
                    tipo: kind,
                    estado: status,
                    resultado: serde_json::from_str(&result).ok(),
                    recibida: at,
                    marca: flag,
                })
            },
        )
        .collect()
}
