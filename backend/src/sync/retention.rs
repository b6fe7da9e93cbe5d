//! Retention of answered ops. `sync_ops` keeps one row per op a device ever pushed — the op,
//! its answer, its place — so the server can answer a replay with the first answer
//! (exactly-once). A device only ever resends what is still in its outbox, and it pushes its
//! outbox oldest first: a push whose lowest seq is `s` says the device has settled everything
//! below `s` (`devices.acked_seq`). Those ops come again only in a stale request still in
//! flight or from a device restoring an old copy of its outbox — replays.
//!
//! So, after a retention period, applied ops at or below their device's acknowledged seq (and
//! without a conflict record: the conflict screens show them) are compacted: the op's body and
//! answer go, and `sync_ops_archive` keeps its id, device, seq and payload hash — about a
//! tenth of the row. A replay of an archived op is answered as a duplicate of an applied op
//! (its version is no longer known: 0), the same id with another payload is refused
//! `op_id_reused`, and a new op on an archived seq is refused `seq_reused` as before — exactly
//! what the full row answered, minus the version.
//!
//! (A first version kept one row per device — the highest compacted seq and the time its ops
//! were made — and took any unknown op below that seq and time for a replay. The simulation
//! found where that is wrong: a device whose storage was reset restarts its clock from its own
//! wall time, which may be behind the stamps it had taken from the server's clock before; its
//! new sale looked older than the compacted ops, was answered "duplicate", and was lost.)

use std::time::Duration;

use pronto_shared::sync::OpResult;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{clock::rfc3339, db::Database, AppError};

/// How long an answered op is kept whole before it may be compacted, by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Ops compacted per transaction: compaction never holds the write lock for long.
const CHUNK: i64 = 2_000;

/// The answer to a replay of an archived op: only applied ops are archived, so it was applied;
/// the version it produced is no longer known (0). The device drops it from its outbox.
pub fn replay_answer(op_id: Uuid) -> OpResult {
    OpResult::Applied { op_id, version: 0 }
}

/// The acknowledged seq a push proves: everything below its lowest seq.
pub fn acked_by(ops: &[pronto_shared::sync::Op]) -> Option<i64> {
    ops.iter()
        .map(|op| i64::try_from(op.body.seq).unwrap_or(i64::MAX))
        .min()
        .map(|lowest| lowest - 1)
}

/// Compacts, for every device, the applied ops answered before `before` and at or below its
/// acknowledged seq. Returns how many ops were compacted.
pub async fn compact(db: &Database, before: OffsetDateTime) -> Result<u64, AppError> {
    let before = rfc3339(before);
    let devices: Vec<String> = {
        let mut conn = db.pool().acquire().await?;
        sqlx::query_scalar("SELECT id FROM devices WHERE acked_seq > 0 ORDER BY id")
            .fetch_all(&mut *conn)
            .await?
    };
    let mut total = 0_u64;
    for device in devices {
        loop {
            let mut tx = db.begin_write().await?;
            let n = compact_chunk(&mut tx, &device, &before).await?;
            tx.commit().await?;
            total += n;
            if n < CHUNK as u64 {
                break;
            }
        }
    }
    Ok(total)
}

async fn compact_chunk(
    conn: &mut AnyConnection,
    device: &str,
    before: &str,
) -> Result<u64, AppError> {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT s.op_id, s.seq, s.payload_hash FROM sync_ops s JOIN devices d ON d.id = s.device_id \
         WHERE s.device_id = $1 AND s.seq <= d.acked_seq AND s.status = 'applied' \
         AND s.received_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM sync_conflicts c WHERE c.op_id = s.op_id) \
         ORDER BY s.seq LIMIT $3",
    )
    .bind(device)
    .bind(before)
    .bind(CHUNK)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    for chunk in rows.chunks(300) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
            .collect();
        let sql = format!(
            "INSERT INTO sync_ops_archive (op_id, device_id, seq, payload_hash) VALUES {}",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(device);
        for (id, seq, hash) in chunk {
            query = query.bind(id).bind(*seq).bind(hash);
        }
        query.execute(&mut *conn).await?;
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("DELETE FROM sync_ops WHERE op_id IN ({})", marks.join(", "));
        let mut query = sqlx::query(&sql);
        for (id, _, _) in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(rows.len() as u64)
}
