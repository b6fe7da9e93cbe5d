//! `POST /api/sync/push`: apply a device's batch exactly once (DESIGN §4).
//!
//! The batch shares one write transaction; each op runs in its own savepoint, so a refused op
//! never undoes the others. Per op, in order:
//! 1. checksum and device must match, else `rejected` (not stored: the op cannot be trusted);
//! 2. an op id seen before answers its stored result (`duplicate`), or an error if the payload
//!    differs; a seq already used by another op, or beyond the next expected one (a gap:
//!    "from the future"), is refused without being stored, so it can be sent again properly;
//! 3. the author's current rights are checked; the model's rules apply the op;
//! 4. the answer is stored with the op (`sync_ops`), conflicts are recorded, and an audit entry
//!    is chained. The device's `last_seq` advances.
//!
//! Ops are taken in seq order for the gap check and applied in (priority, seq) order, which
//! keeps the ops of one entity (same model, same priority) in their original order.
//!
//! Before any of that, outside the write transaction, every op's signature is checked
//! (`signatures.rs`): an op is only as trusted as its author's signature. Its clock is
//! bounded by the server's (`hlc::bound`) before it is used for ordering.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use pronto_shared::{
    sync::{
        admission::{self, Admit},
        config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
        conflict::{ConflictRecord, Outcome},
        hlc, order,
        protocol::MAX_PUSH_OPS,
        ModelConfig, Op, OpBody, OpKind, OpResult, PushReply, PushRequest,
    },
    Action, Principal, Role,
};
use sqlx::{Acquire, AnyConnection};
use uuid::Uuid;

use super::{
    audit::{self, Entry},
    config_store,
    entities::{self, Applied},
    movements, retention, sessions,
    signatures::{self, Verdict},
};
use crate::{
    auth::CurrentUser,
    clock::Clock,
    db,
    model::{customers::NewCustomers, sales::SaleWriter},
    rows::{Cell, Rows},
    AppError, AppState,
};

mod admit;
mod apply;
mod batch;
pub mod device_order;

use admit::*;
use apply::*;
pub use batch::*;

/// A domain refusal of one op.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Self {
            status: 422,
            code: "invalid",
            reason: reason.into(),
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self {
            status: 403,
            code: "forbidden",
            reason: reason.into(),
        }
    }

    pub(super) fn into_result(self, op_id: Uuid) -> OpResult {
        OpResult::rejected(op_id, self.status, self.code, self.reason)
    }
}

/// The device a batch comes from, checked against the session.
pub struct DeviceCtx {
    pub id: Uuid,
    pub code: String,
    pub store_id: Uuid,
    pub last_seq: i64,
    /// The catalog position it had pulled by its previous push (see `approval::lowest_known`).
    pub price_floor: i64,
    /// Every op up to here is settled on the device (`retention`).
    pub acked_seq: i64,
}

/// Loads the device and checks that the signed-in person may push through it: it exists and
/// belongs to their store (an admin may push through any).
pub async fn device_for(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    device_id: Uuid,
) -> Result<DeviceCtx, AppError> {
    device_row(conn, user, device_id, false).await
}

/// [`device_for`] inside a push's transaction, taking the device's row lock first: two pushes
/// of one device (a retry while the first still runs — the client gave up, the server did
/// not) then run one after the other. Without it, on PostgreSQL both read the same `last_seq`,
/// and the later commit could set it back (a batch of replays does not advance it), leaving
/// the device "from the future" for good. SQLite's `BEGIN IMMEDIATE` serialises them anyway.
pub async fn lock_device(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    device_id: Uuid,
) -> Result<DeviceCtx, AppError> {
    device_row(conn, user, device_id, true).await
}

async fn device_row(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    device_id: Uuid,
    lock: bool,
) -> Result<DeviceCtx, AppError> {
    // An UPDATE that changes nothing takes the row lock on both backends (SQLite has no
    // `FOR UPDATE`), and PostgreSQL re-reads the row once the lock is granted.
    let sql = if lock {
        "UPDATE devices SET last_seq = last_seq WHERE id = $1 RETURNING {DEVICE_COLUMNS}"
    } else {
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
    }
    .replace("{DEVICE_COLUMNS}", DEVICE_COLUMNS);
    let row: Option<DeviceRow> = sqlx::query_as(&sql)
        .bind(device_id.to_string())
        .fetch_optional(conn)
        .await?;
    let row = row.ok_or_else(|| AppError::NotFound(format!("dispositivo {device_id}")))?;
    let device = device_ctx(device_id, row)?;
    user.require(Action::UseDevice(device.store_id))?;
    Ok(device)
}

/// The columns of `devices` a [`DeviceCtx`] is made of, in [`DeviceRow`]'s order.
pub const DEVICE_COLUMNS: &str = "store_id, code, last_seq, price_floor_seq, acked_seq";

pub type DeviceRow = (String, String, i64, i64, i64);

pub fn device_ctx(id: Uuid, row: DeviceRow) -> Result<DeviceCtx, AppError> {
    let (store, code, last_seq, price_floor, acked_seq) = row;
    Ok(DeviceCtx {
        id,
        code,
        store_id: db::uuid(&store)?,
        last_seq,
        price_floor,
        acked_seq,
    })
}

/// What admission grants an op beyond "apply it".
#[derive(Debug, Clone, Copy, Default)]
pub struct Grant {
    /// The author's key was revoked at this server time (milliseconds).
    pub revoked_ms: Option<i64>,
    /// An unsigned op of the first release, applied because its author pushed it.
    pub unsigned: bool,
}

/// Why an applied op is flagged for the manager (stored in `sync_ops.flag`, comma-separated).
#[derive(Debug, Default)]
pub struct Flags(Vec<&'static str>);

impl Flags {
    pub fn add(&mut self, flag: &'static str) {
        if !self.0.contains(&flag) {
            self.0.push(flag);
        }
    }

    pub(super) fn stored(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(","))
    }
}

/// Applies the batch and answers one result per op, in the order sent.
pub async fn push(
    state: &AppState,
    user: &CurrentUser,
    request: PushRequest,
) -> Result<PushReply, AppError> {
    if request.protocolo.is_none() {
        return Err(AppError::UpgradeRequired);
    }
    if request.ops.len() > MAX_PUSH_OPS {
        return Err(AppError::TooManyOps(MAX_PUSH_OPS));
    }
    // Shared with the signature checks on the blocking pool without a copy of each op.
    let ops: Arc<[Op]> = request.ops.into();
    let turn = ops
        .first()
        .map(|op| state.push_order.enter(request.device_id, op.body.seq));
    let verdicts = signatures::check(state, &ops).await?;
    if let Some(turn) = &turn {
        turn.wait_for_earlier(device_order::MAX_WAIT).await;
    }
    let mut tx = state.db.begin_write().await?;
    let device = lock_device(&mut tx, user, request.device_id).await?;
    // Holding the row keeps the order from here: later pushes of the device may go on.
    drop(turn);
    let mut batch = Batch::open(&mut tx, device, state.clock.clone()).await?;
    let mut results: Vec<Option<OpResult>> = vec![None; ops.len()];
    let admitted = admit_all(&mut tx, &ops, &verdicts, user, &mut batch, &mut results).await?;
    let clock_ahead = apply_all(
        &mut tx,
        state,
        &ops,
        admitted.accepted,
        &mut batch,
        &mut results,
    )
    .await?;
    for (i, first) in admitted.echoes {
        let op_id = ops[i].body.op_id;
        results[i] = results[first].clone().map(|first| match first {
            OpResult::Duplicate { .. } => first,
            first => OpResult::Duplicate {
                op_id,
                first: Box::new(first),
            },
        });
    }
    let results: Vec<OpResult> = results
        .into_iter()
        .zip(ops.iter())
        .map(|(r, op)| {
            r.unwrap_or_else(|| {
                OpResult::rejected(op.body.op_id, 500, "internal", "Sin respuesta.")
            })
        })
        .collect();
    close(&mut tx, state, user, &ops, batch, (clock_ahead, &results)).await?;
    tx.commit().await?;
    Ok(PushReply {
        results,
        server_hlc: state.next_hlc(),
        clock_ahead_ms: (clock_ahead > 0).then_some(clock_ahead),
    })
}

/// Writes the batch's rows, the device's marks and the sync session.
async fn close(
    tx: &mut AnyConnection,
    state: &AppState,
    user: &CurrentUser,
    ops: &[Op],
    batch: Batch,
    (clock_ahead, results): (u64, &[OpResult]),
) -> Result<(), AppError> {
    let at = batch.at.clone();
    let device = batch.close(&mut *tx).await?;
    let acked =
        retention::acked_by(ops).map_or(device.acked_seq, |acked| acked.max(device.acked_seq));
    sqlx::query(
        "UPDATE devices SET last_seq = CASE WHEN last_seq > $1 THEN last_seq ELSE $1 END, \
         clock_ahead_ms = $2, clock_checked_at = $3, price_floor_seq = pulled_seq, \
         acked_seq = $5 WHERE id = $4",
    )
    .bind(device.last_seq)
    .bind(i64::try_from(clock_ahead).unwrap_or(i64::MAX))
    .bind(&at)
    .bind(device.id.to_string())
    .bind(acked.min(device.last_seq))
    .execute(&mut *tx)
    .await?;
    let counts = sessions::Counts::of_push(results);
    sessions::record(
        &mut *tx,
        state.clock.as_ref(),
        device.id,
        user.id(),
        device.store_id,
        counts,
    )
    .await
}

/// Applies an op again that was refused or held before (an admin's retry, e.g. after
/// restoring the author's access; a manager accepting an unsigned op of an earlier release):
/// the stored answer is replaced by the new one. The signature is checked again
/// ([`retry_grant`]); the op's clock is bounded by the server's as of now (`now_ms`).
pub async fn retry(
    conn: &mut AnyConnection,
    op: &Op,
    grant: Grant,
    device: DeviceCtx,
    clock: Arc<dyn Clock>,
    margin_ms: u64,
) -> Result<OpResult, AppError> {
    let now_ms = u64::try_from(clock.now_ms()).unwrap_or(0);
    let mut batch = Batch::open(conn, device, clock).await?;
    batch.seqs = db::ChangeSeqs::reserve(conn, positions(op)).await?;
    let (effective, _, mut flags) = bounded(&op.body, now_ms, margin_ms);
    let (result, status, applied) =
        execute(conn, &effective, grant, &mut flags, &mut batch).await?;
    let result_json =
        serde_json::to_string(&result).map_err(|e| AppError::Internal(e.to_string()))?;
    sqlx::query("UPDATE sync_ops SET status = $1, result = $2, flag = $3 WHERE op_id = $4")
        .bind(status)
        .bind(result_json)
        .bind(flags.stored())
        .bind(op.body.op_id.to_string())
        .execute(&mut *conn)
        .await?;
    finish(&op.body, &mut batch, &result, status, applied)?;
    batch.close(conn).await?;
    Ok(result)
}

/// What a retried op may do: its signature is verified again (a forged op stays refused,
/// whoever retries it); an unsigned op of the first release is vouched for by the manager
/// who accepts it.
pub async fn retry_grant(state: &AppState, op: &Op) -> Result<Result<Grant, OpResult>, AppError> {
    let verdict = signatures::check(state, &Arc::from(vec![op.clone()]))
        .await?
        .pop()
        .unwrap_or(Verdict::Unsigned);
    Ok(grant_of(op.body.op_id, &verdict))
}

/// What an op's signature lets it do, or its refusal.
fn grant_of(op_id: Uuid, verdict: &Verdict) -> Result<Grant, OpResult> {
    match verdict {
        Verdict::Signed(key) => Ok(Grant {
            revoked_ms: key.revoked_ms,
            unsigned: false,
        }),
        Verdict::Unsigned => Ok(Grant {
            revoked_ms: None,
            unsigned: true,
        }),
        Verdict::Refused { code, reason } => Err(OpResult::rejected(op_id, 403, code, *reason)),
    }
}
