//! Sync history (`/api/sincronizacion/registros/`): one record per device sync session. Pushes
//! and pulls of a device less than five minutes apart belong to the same session; the record
//! keeps its start, its last activity and the counts.

use pronto_shared::sync::OpResult;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{clock::Clock, db, AppError};

pub const GAP_MINUTES: i64 = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pushed: i64,
    pub pulled: i64,
    pub conflicts: i64,
    pub errors: i64,
}

impl Counts {
    pub fn of_push(results: &[OpResult]) -> Self {
        let mut counts = Self {
            pushed: results.len() as i64,
            ..Self::default()
        };
        for result in results {
            match result.original() {
                OpResult::Conflict { .. } => counts.conflicts += 1,
                OpResult::Rejected { .. } => counts.errors += 1,
                _ => {}
            }
        }
        counts
    }
}

pub use pronto_shared::api::supervision::SessionRecord;

/// Adds `counts` to the device's open session (last activity less than [`GAP_MINUTES`] ago),
/// or starts one, at the clock's time.
pub async fn record(
    conn: &mut AnyConnection,
    clock: &dyn Clock,
    device: Uuid,
    user: Uuid,
    store: Uuid,
    counts: Counts,
) -> Result<(), AppError> {
    let at = clock.now_rfc3339();
    let open_since = crate::clock::rfc3339(clock.now() - time::Duration::minutes(GAP_MINUTES));
    let open: Option<String> = sqlx::query_scalar(
        "SELECT id FROM sync_sessions WHERE device_id = $1 AND ended_at >= $2 ORDER BY ended_at DESC LIMIT 1",
    )
    .bind(device.to_string())
    .bind(&open_since)
    .fetch_optional(&mut *conn)
    .await?;
    match open {
        Some(id) => {
            sqlx::query(
                "UPDATE sync_sessions SET ended_at = $1, pushed = pushed + $2, pulled = pulled + $3, \
                 conflicts = conflicts + $4, errors = errors + $5 WHERE id = $6",
            )
            .bind(&at)
            .bind(counts.pushed)
            .bind(counts.pulled)
            .bind(counts.conflicts)
            .bind(counts.errors)
            .bind(id)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO sync_sessions (id, device_id, user_id, store_id, started_at, ended_at, pushed, pulled, \
                 conflicts, errors) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)",
            )
            .bind(clock.new_id().to_string())
            .bind(device.to_string())
            .bind(user.to_string())
            .bind(store.to_string())
            .bind(&at)
            .bind(counts.pushed)
            .bind(counts.pulled)
            .bind(counts.conflicts)
            .bind(counts.errors)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Latest sessions first, of one store (or all), optionally of one device; the page after the
/// session `before` (keyset: an id that is not a session gives an empty page).
pub async fn list(
    conn: &mut AnyConnection,
    (store, device): (Option<Uuid>, Option<Uuid>),
    limit: i64,
    before: Option<Uuid>,
) -> Result<Vec<SessionRecord>, AppError> {
    let mut sql = String::from(
        "SELECT id, device_id, user_id, store_id, started_at, ended_at, pushed, pulled, conflicts, errors \
         FROM sync_sessions WHERE 1 = 1",
    );
    let mut binds = Vec::new();
    if let Some(store) = store {
        binds.push(store.to_string());
        sql.push_str(&format!(" AND store_id = ${}", binds.len()));
    }
    if let Some(device) = device {
        binds.push(device.to_string());
        sql.push_str(&format!(" AND device_id = ${}", binds.len()));
    }
    if let Some(before) = before {
        binds.push(before.to_string());
        let n = binds.len();
        sql.push_str(&db::before_row("started_at, id", "sync_sessions", "id", n));
    }
    sql.push_str(&format!(
        " ORDER BY started_at DESC, id DESC LIMIT {}",
        limit.clamp(1, 500)
    ));
    let mut q = sqlx::query_as::<
        _,
        (
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
        ),
    >(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    q.fetch_all(conn)
        .await?
        .into_iter()
        .map(
            |(id, device, user, store, start, end, pushed, pulled, conflicts, errors)| {
                Ok(SessionRecord {
                    id: db::uuid(&id)?,
                    dispositivo_id: db::uuid(&device)?,
                    usuario_id: db::uuid(&user)?,
                    tienda_id: db::uuid(&store)?,
                    inicio: start,
                    fin: end,
                    enviadas: pushed,
                    recibidas: pulled,
                    conflictos: conflicts,
                    errores: errors,
                })
            },
        )
        .collect()
}
