//! Retention of answered ops. `sync_ops` keeps one row per op a device ever pushed, so the
//! server can answer a replay with the first answer (exactly-once). A device only ever resends
//! what is still in its outbox, and it pushes its outbox oldest first: a push whose lowest seq
//! is `s` says the device has settled everything below `s` (`devices.acked_seq`). Those
//! answers are needed again only by a stale request still in flight or a device restoring an
//! old copy of its outbox — both replays.
//!
//! So, after a retention period, applied ops at or below the device's acknowledged seq are
//! deleted and summarised in the device's row: `compacted_seq` (the highest compacted seq) and
//! `compacted_until_ms` (the latest time, by the device's own clock, one of them was made). An
//! op that comes later with an unknown id and a seq at or below `compacted_seq` is a replay
//! when it was made no later than that (the same device's clock on both sides, so its skew does
//! not matter): it is answered as a duplicate and applied no second time. One made later
//! reuses a seq (a device that lost its storage and counts again from 1, at least a retention
//! period later) and is refused as `seq_reused`, as before compaction: that sale must surface,
//! not be taken for a replay and dropped.
//!
//! Only `applied` ops without a conflict record are compacted: refusals, held ops and
//! conflicts stay for the screens that show them.

use std::time::Duration;

use pronto_shared::sync::{Op, OpResult};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{clock::rfc3339, db::Database, AppError};

/// How long an answered op is kept before it may be compacted, by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Ops deleted per transaction: compaction never holds the write lock for long.
const CHUNK: i64 = 5_000;

/// What compaction did to the device rows of one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compacted {
    pub seq: i64,
    pub until_ms: i64,
}

/// Whether an op with an unknown id is a replay of a compacted one (see the module docs).
pub fn is_compacted_replay(op: &Op, compacted: Compacted) -> bool {
    let seq = i64::try_from(op.body.seq).unwrap_or(i64::MAX);
    let made_ms = i64::try_from(op.body.hlc.wall_ms).unwrap_or(i64::MAX);
    seq <= compacted.seq && made_ms <= compacted.until_ms
}

/// The answer to such a replay: only applied ops are compacted, so it was applied; the
/// version it produced is no longer known (0). The device drops it from its outbox.
pub fn replay_answer(op_id: Uuid) -> OpResult {
    OpResult::Duplicate {
        op_id,
        first: Box::new(OpResult::Applied { op_id, version: 0 }),
    }
}

/// The acknowledged seq a push proves: everything below its lowest seq.
pub fn acked_by(ops: &[Op]) -> Option<i64> {
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
        sqlx::query_scalar("SELECT id FROM devices WHERE acked_seq > compacted_seq ORDER BY id")
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
        "SELECT s.op_id, s.seq, s.op FROM sync_ops s JOIN devices d ON d.id = s.device_id \
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
    let Some(last_seq) = rows.iter().map(|(_, seq, _)| *seq).max() else {
        return Ok(0);
    };
    let mut until_ms = 0_i64;
    for (id, _, op) in &rows {
        let op: Op = serde_json::from_str(op)
            .map_err(|e| AppError::Internal(format!("stored op {id}: {e}")))?;
        until_ms = until_ms.max(i64::try_from(op.body.hlc.wall_ms).unwrap_or(i64::MAX));
    }
    for chunk in rows.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("DELETE FROM sync_ops WHERE op_id IN ({})", marks.join(", "));
        let mut query = sqlx::query(&sql);
        for (id, _, _) in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE devices SET \
         compacted_seq = CASE WHEN compacted_seq > $1 THEN compacted_seq ELSE $1 END, \
         compacted_until_ms = CASE WHEN compacted_until_ms > $2 THEN compacted_until_ms ELSE $2 END \
         WHERE id = $3",
    )
    .bind(last_seq)
    .bind(until_ms)
    .bind(device)
    .execute(&mut *conn)
    .await?;
    Ok(rows.len() as u64)
}
