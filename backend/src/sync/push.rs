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
        config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
        conflict::{ConflictRecord, Outcome},
        hlc, order,
        protocol::MAX_PUSH_OPS,
        ModelConfig, Op, OpBody, OpKind, OpResult, PushReply, PushRequest,
    },
    Principal, Role,
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
    model::sales::SaleWriter,
    rows::{Cell, Rows},
    AppError, AppState,
};

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

    fn into_result(self, op_id: Uuid) -> OpResult {
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

/// What every op of one batch shares: the device, the time, the open end of the audit chain,
/// and the configuration and authors read once per batch (they cannot change under the
/// batch's write transaction).
pub struct Batch {
    pub device: DeviceCtx,
    pub at: String,
    pub day: String,
    /// Where the batch's new row ids come from (`Clock::new_id`).
    clock: Arc<dyn Clock>,
    chain: audit::Chain,
    /// Answers of new ops and their conflict records, written at close (in that order: a
    /// conflict refers to its op).
    answers: Rows,
    conflicts: Rows,
    configs: HashMap<String, Option<ModelConfig>>,
    authors: HashMap<Uuid, Option<Author>>,
    /// Change positions reserved for the batch's writes.
    seqs: db::ChangeSeqs,
    /// The batch's sales, written together at close.
    sales: SaleWriter,
}

impl Batch {
    pub async fn open(
        conn: &mut AnyConnection,
        device: DeviceCtx,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        let chain = audit::Chain::open(conn).await?;
        Ok(Self {
            device,
            at: clock.now_rfc3339(),
            day: clock.today(),
            clock,
            chain,
            answers: Rows::new("sync_ops", ANSWER_COLUMNS),
            conflicts: Rows::new("sync_conflicts", CONFLICT_COLUMNS),
            configs: HashMap::new(),
            authors: HashMap::new(),
            seqs: db::ChangeSeqs::default(),
            sales: SaleWriter::new(),
        })
    }

    /// Writes the collected answers, conflicts and audit entries and the audit head; call
    /// before committing.
    pub async fn close(mut self, conn: &mut AnyConnection) -> Result<DeviceCtx, AppError> {
        self.sales.flush(conn).await?;
        self.answers.flush(conn).await?;
        self.conflicts.flush(conn).await?;
        self.chain.close(conn).await?;
        Ok(self.device)
    }

    async fn config(
        &mut self,
        conn: &mut AnyConnection,
        model: &str,
    ) -> Result<Option<ModelConfig>, AppError> {
        if let Some(cached) = self.configs.get(model) {
            return Ok(cached.clone());
        }
        let config = config_store::get(conn, model).await?;
        self.configs.insert(model.to_owned(), config.clone());
        Ok(config)
    }

    async fn author(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
    ) -> Result<Option<Author>, AppError> {
        if let Some(cached) = self.authors.get(&id) {
            return Ok(*cached);
        }
        let principal = author(conn, id).await?;
        self.authors.insert(id, principal);
        Ok(principal)
    }
}

impl Batch {
    /// Chains the audit entry of `body` under this batch's device, by `user`.
    fn audit(
        &mut self,
        body: &OpBody,
        user: Uuid,
        result: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        let entry = Entry {
            at: self.at.clone(),
            user_id: Some(user.to_string()),
            device_id: Some(self.device.id.to_string()),
            op_id: Some(body.op_id.to_string()),
            model: body.model.clone(),
            entity_id: body.entity_id.to_string(),
            result: result.to_owned(),
            before,
            after,
        };
        self.chain.append(&entry);
    }
}

const ANSWER_COLUMNS: &[&str] = &[
    "op_id",
    "device_id",
    "seq",
    "payload_hash",
    "author_id",
    "store_id",
    "model",
    "entity_id",
    "kind",
    "status",
    "result",
    "op",
    "received_at",
    "flag",
];

const CONFLICT_COLUMNS: &[&str] = &[
    "id",
    "op_id",
    "model",
    "entity_id",
    "store_id",
    "record",
    "status",
    "created_at",
];

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
    if device.store_id != user.store_id() && user.profile.rol != Role::Admin {
        return Err(AppError::Forbidden);
    }
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

    fn stored(&self) -> Option<String> {
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
    let verdicts = signatures::check(state, &request.ops).await?;
    let now_ms = u64::try_from(state.clock.now_ms()).unwrap_or(0);
    let margin_ms = state.auth.clock_margin_ms();
    let mut tx = state.db.begin_write().await?;
    let device = lock_device(&mut tx, user, request.device_id).await?;
    let mut batch = Batch::open(&mut tx, device, state.clock.clone()).await?;

    let mut results: Vec<Option<OpResult>> = vec![None; request.ops.len()];
    let mut accepted: Vec<(usize, i32, Grant)> = Vec::new();
    let mut order: Vec<usize> = (0..request.ops.len()).collect();
    order.sort_by_key(|&i| request.ops[i].body.seq);
    let mut next_seq = batch.device.last_seq + 1;
    let known = stored_answers(&mut tx, &request.ops).await?;
    // An op id sent twice in one batch: the second copy answers like a replay of the first
    // (or is refused if its payload differs); it is never applied twice nor an error.
    let mut firsts: HashMap<Uuid, (usize, String)> = HashMap::new();
    let mut echoes: Vec<(usize, usize)> = Vec::new();
    for i in order {
        let op = &request.ops[i];
        if let Some((first, hash)) = firsts.get(&op.body.op_id) {
            if *hash == op.payload_hash() {
                echoes.push((i, *first));
            } else {
                let result = reused(op.body.op_id);
                audit_rejection(op, &result, user, &mut batch)?;
                results[i] = Some(result);
            }
            continue;
        }
        firsts.insert(op.body.op_id, (i, op.payload_hash()));
        match admit(&known, op, &verdicts[i], user, &batch.device, &mut next_seq)? {
            Admission::Answer(result) => {
                if matches!(result, OpResult::Rejected { .. }) {
                    audit_rejection(op, &result, user, &mut batch)?;
                }
                results[i] = Some(result);
            }
            Admission::Refused(result) => {
                store_answer(op, &result, "rejected", None, &mut batch)?;
                audit_rejection(op, &result, user, &mut batch)?;
                batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
                results[i] = Some(result);
            }
            Admission::Hold(reason) => {
                results[i] = Some(hold(op, reason, &mut batch)?);
                batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
            }
            Admission::Apply(grant) => {
                let priority = batch
                    .config(&mut tx, &op.body.model)
                    .await?
                    .map_or(0, |c| c.prioridad);
                accepted.push((i, priority, grant));
            }
        }
    }
    // Highest priority first, never ahead of an op it depends on (shared `apply_order`).
    let ranked: Vec<_> = accepted
        .iter()
        .map(|&(i, priority, _)| (&request.ops[i].body, priority))
        .collect();
    let accepted: Vec<(usize, i32, Grant)> = order::apply_order(&ranked)
        .into_iter()
        .map(|k| accepted[k])
        .collect();
    let positions: i64 = accepted
        .iter()
        .map(|&(i, _, _)| positions(&request.ops[i]))
        .sum();
    batch.seqs = db::ChangeSeqs::reserve(&mut tx, positions).await?;
    let (products, sale_ids) = sold(accepted.iter().map(|&(i, _, _)| &request.ops[i]));
    batch.sales.prefetch(&mut tx, &products, &sale_ids).await?;
    let mut clock_ahead = 0_u64;
    for (i, _, grant) in accepted {
        let op = &request.ops[i];
        let (effective, ahead, flags) = bounded(&op.body, now_ms, margin_ms);
        clock_ahead = clock_ahead.max(ahead);
        state.observe_hlc(&effective.hlc);
        let result = apply_one(&mut tx, op, &effective, grant, flags, &mut batch).await?;
        results[i] = Some(result);
        batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
    }
    for (i, first) in echoes {
        let op_id = request.ops[i].body.op_id;
        results[i] = results[first].clone().map(|first| match first {
            OpResult::Duplicate { .. } => first,
            first => OpResult::Duplicate {
                op_id,
                first: Box::new(first),
            },
        });
    }
    let at = batch.at.clone();
    let device = batch.close(&mut tx).await?;
    let acked = retention::acked_by(&request.ops)
        .map_or(device.acked_seq, |acked| acked.max(device.acked_seq));
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
    let results: Vec<OpResult> = results
        .into_iter()
        .zip(&request.ops)
        .map(|(r, op)| {
            r.unwrap_or_else(|| {
                OpResult::rejected(op.body.op_id, 500, "internal", "Sin respuesta.")
            })
        })
        .collect();
    let counts = sessions::Counts::of_push(&results);
    sessions::record(
        &mut tx,
        state.clock.as_ref(),
        device.id,
        user.id(),
        device.store_id,
        counts,
    )
    .await?;
    tx.commit().await?;
    Ok(PushReply {
        results,
        server_hlc: state.next_hlc(),
        clock_ahead_ms: (clock_ahead > 0).then_some(clock_ahead),
    })
}

/// `body` as it is applied: its clock bounded by the server's (`hlc::bound`), how far ahead it
/// was, and the flag a clamped op carries.
fn bounded(body: &OpBody, now_ms: u64, margin_ms: u64) -> (Cow<'_, OpBody>, u64, Flags) {
    let (hlc, ahead) = hlc::bound(&body.hlc, now_ms, margin_ms);
    let mut flags = Flags::default();
    if ahead == 0 {
        return (Cow::Borrowed(body), 0, flags);
    }
    flags.add("reloj_adelantado");
    let clamped = OpBody {
        hlc,
        ..body.clone()
    };
    (Cow::Owned(clamped), ahead, flags)
}

fn reused(op_id: Uuid) -> OpResult {
    OpResult::rejected(
        op_id,
        409,
        "op_id_reused",
        "Ya llegó otra operación con este id y contenido distinto.",
    )
}

/// Stores an op for a manager to accept or discard (`pending`, answered `held`), audited.
fn hold(op: &Op, reason: &'static str, batch: &mut Batch) -> Result<OpResult, AppError> {
    let result = OpResult::Held {
        op_id: op.body.op_id,
        reason: reason.to_owned(),
    };
    store_answer(op, &result, "pending", None, batch)?;
    let after = Some(serde_json::json!({"motivo": reason}));
    batch.audit(&op.body, op.body.author_id, "held", None, after);
    Ok(result)
}

/// The stored answers of the batch's op ids that were seen before, in one query.
async fn stored_answers(
    conn: &mut AnyConnection,
    ops: &[Op],
) -> Result<HashMap<Uuid, (String, String)>, AppError> {
    let mut known = HashMap::new();
    for chunk in ops.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT op_id, payload_hash, result FROM sync_ops WHERE op_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
        for op in chunk {
            query = query.bind(op.body.op_id.to_string());
        }
        for (id, hash, result) in query.fetch_all(&mut *conn).await? {
            known.insert(db::uuid(&id)?, (hash, result));
        }
    }
    // Ops compacted away (`retention`): their id and payload hash are kept, and they were
    // applied.
    let missing: Vec<Uuid> = ops
        .iter()
        .map(|op| op.body.op_id)
        .filter(|id| !known.contains_key(id))
        .collect();
    for chunk in missing.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT op_id, payload_hash FROM sync_ops_archive WHERE op_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            query = query.bind(id.to_string());
        }
        for (id, hash) in query.fetch_all(&mut *conn).await? {
            let id = db::uuid(&id)?;
            let first = serde_json::to_string(&retention::replay_answer(id))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            known.insert(id, (hash, first));
        }
    }
    Ok(known)
}

enum Admission {
    /// Decided without applying (duplicate or refused before storage).
    Answer(OpResult),
    /// Refused in its place (its seq consumed, its answer stored): a bad signature.
    Refused(OpResult),
    /// Kept for a manager (stored, not applied).
    Hold(&'static str),
    Apply(Grant),
}

/// `known`: the stored (payload hash, answer) of every op id of the batch seen before.
/// `verdict`: what the op's signature proves (checked before the transaction).
fn admit(
    known: &HashMap<Uuid, (String, String)>,
    op: &Op,
    verdict: &Verdict,
    pusher: &CurrentUser,
    device: &DeviceCtx,
    next_seq: &mut i64,
) -> Result<Admission, AppError> {
    let id = op.body.op_id;
    if !op.checksum_ok() {
        return Ok(Admission::Answer(OpResult::rejected(
            id,
            400,
            "checksum",
            "La operación llegó alterada (checksum).",
        )));
    }
    if op.body.device_id != device.id {
        return Ok(Admission::Answer(OpResult::rejected(
            id,
            403,
            "device",
            "La operación es de otro dispositivo.",
        )));
    }
    let stored = known.get(&id);
    if let Some((hash, result)) = stored {
        if *hash != op.payload_hash() {
            return Ok(Admission::Answer(reused(id)));
        }
        let first: OpResult = serde_json::from_str(result)
            .map_err(|e| AppError::Internal(format!("stored result: {e}")))?;
        return Ok(Admission::Answer(OpResult::Duplicate {
            op_id: id,
            first: Box::new(first),
        }));
    }
    let seq = i64::try_from(op.body.seq).unwrap_or(i64::MAX);
    if seq < *next_seq {
        return Ok(Admission::Answer(OpResult::rejected(
            id,
            409,
            "seq_reused",
            "Ese número de secuencia ya se usó.",
        )));
    }
    if seq > *next_seq {
        return Ok(Admission::Answer(OpResult::rejected(
            id,
            409,
            "seq_gap",
            format!("Faltan operaciones anteriores (se esperaba la {next_seq})."),
        )));
    }
    *next_seq += 1;
    // The signature is judged once the op has its place: a refused op consumes its seq like
    // any refusal at apply time, so the device that dead-letters it is never left with a gap.
    let grant = match grant_of(id, verdict) {
        Ok(grant) => grant,
        Err(refused) => return Ok(Admission::Refused(refused)),
    };
    // The first release's ops carry no signature: only their author can vouch for them (the
    // session pushing them is theirs); anyone else's push holds them for a manager.
    if grant.unsigned && op.body.author_id != pusher.id() {
        return Ok(Admission::Hold(
            "Operación sin firma de una versión anterior, enviada por otra persona: un gerente debe aceptarla o descartarla.",
        ));
    }
    Ok(Admission::Apply(grant))
}

/// Applies one admitted op in a savepoint and stores its answer. `op` is the op as sent (what
/// is stored, so a replay matches it); `effective` is its body as applied (clock bounded).
async fn apply_one(
    conn: &mut AnyConnection,
    op: &Op,
    effective: &OpBody,
    grant: Grant,
    mut flags: Flags,
    batch: &mut Batch,
) -> Result<OpResult, AppError> {
    let (result, status, applied) = execute(conn, effective, grant, &mut flags, batch).await?;
    store_answer(op, &result, status, flags.stored(), batch)?;
    finish(&op.body, batch, &result, status, applied)?;
    Ok(result)
}

/// Adds the op's answer to the batch's `sync_ops` rows.
fn store_answer(
    op: &Op,
    result: &OpResult,
    status: &str,
    flag: Option<String>,
    batch: &mut Batch,
) -> Result<(), AppError> {
    let (device, at) = (&batch.device, batch.at.clone());
    let body = &op.body;
    let result_json =
        serde_json::to_string(result).map_err(|e| AppError::Internal(e.to_string()))?;
    let op_json = serde_json::to_string(op).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.answers.push(vec![
        Cell::from(body.op_id.to_string()),
        Cell::from(device.id.to_string()),
        Cell::from(i64::try_from(body.seq).unwrap_or(i64::MAX)),
        Cell::from(op.payload_hash()),
        Cell::from(body.author_id.to_string()),
        Cell::from(device.store_id.to_string()),
        Cell::from(body.model.as_str()),
        Cell::from(body.entity_id.to_string()),
        Cell::from(kind_str(body.kind)),
        Cell::from(status.to_owned()),
        Cell::from(result_json),
        Cell::from(op_json),
        Cell::from(at.as_str()),
        Cell::from(flag),
    ]);
    Ok(())
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
    let verdict = signatures::check(state, std::slice::from_ref(op))
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

/// Change positions an op may take, reserved for the whole batch up front: one for a record
/// or stock op; a sale one for itself and one per line (its stock rows).
fn positions(op: &Op) -> i64 {
    match op.body.model.as_str() {
        PRODUCTO | CLIENTE | EXISTENCIA => 1,
        VENTA => {
            1 + op
                .body
                .fields
                .get("lineas")
                .and_then(|l| l.as_array())
                .map_or(0, |l| l.len() as i64)
        }
        _ => 0,
    }
}

/// The products and sale ids the batch's sale ops name, for one read each.
fn sold<'a>(ops: impl Iterator<Item = &'a Op>) -> (Vec<Uuid>, Vec<Uuid>) {
    let (mut products, mut sales) = (Vec::new(), Vec::new());
    for op in ops.filter(|op| op.body.model == VENTA) {
        sales.push(op.body.entity_id);
        let lines = op.body.fields.get("lineas").and_then(|l| l.as_array());
        for line in lines.into_iter().flatten() {
            let id = line.get("producto_id").and_then(|p| p.as_str());
            if let Some(id) = id.and_then(|p| Uuid::parse_str(p).ok()) {
                products.push(id);
            }
        }
    }
    (products, sales)
}

/// Runs the op in a savepoint: kept when applied, rolled back when refused. Creates and sales
/// need none: they are refused only before they write (validation; an INSERT that finds the
/// id, SKU or barcode taken and writes nothing; a sale's rows are only collected, and written
/// at the batch's end), and two statements per op are much of a batch's cost. Updates, deletes
/// and stock deltas may be refused after a write (a merged record failing validation).
async fn execute(
    conn: &mut AnyConnection,
    op: &OpBody,
    grant: Grant,
    flags: &mut Flags,
    batch: &mut Batch,
) -> Result<(OpResult, &'static str, Option<Applied>), AppError> {
    if op.model == EXISTENCIA {
        // The batch's sales take their stock at close; a stock op reads the quantity, so
        // theirs goes first — outside the savepoint, which a refusal would roll back.
        batch.sales.flush_stock(conn).await?;
    }
    let outcome = if matches!(op.kind, OpKind::Create | OpKind::Sale | OpKind::Return) {
        dispatch(conn, op, grant, flags, batch).await?
    } else {
        let mut sp = conn.begin().await?;
        let outcome = dispatch(&mut sp, op, grant, flags, batch).await?;
        if outcome.is_ok() {
            sp.commit().await?;
        } else {
            sp.rollback().await?;
        }
        outcome
    };
    Ok(answer(op.op_id, outcome))
}

/// The op's answer, its status in `sync_ops`, and what it did.
fn answer(
    op_id: Uuid,
    outcome: Result<Applied, Refusal>,
) -> (OpResult, &'static str, Option<Applied>) {
    match outcome {
        Ok(applied) => match &applied.conflict {
            Some(conflict) => {
                let status = if conflict.outcome == Outcome::Pending {
                    "pending"
                } else {
                    "conflict"
                };
                let result = OpResult::Conflict {
                    op_id,
                    conflict: conflict.clone(),
                };
                (result, status, Some(applied))
            }
            None => {
                let result = OpResult::Applied {
                    op_id,
                    version: applied.version,
                };
                (result, "applied", Some(applied))
            }
        },
        Err(refusal) => (refusal.into_result(op_id), "rejected", None),
    }
}

/// Records the conflict (if any) and chains the audit entry.
fn finish(
    body: &OpBody,
    batch: &mut Batch,
    result: &OpResult,
    status: &str,
    applied: Option<Applied>,
) -> Result<(), AppError> {
    if let Some(conflict) = applied.as_ref().and_then(|a| a.conflict.as_ref()) {
        record_conflict(batch, body, conflict)?;
    }
    let (before, after) = applied.map_or((None, None), |a| (a.before, a.after));
    let after = after.or_else(|| match result {
        OpResult::Rejected { reason, .. } => Some(serde_json::json!({"motivo": reason})),
        _ => None,
    });
    batch.audit(body, body.author_id, status, before, after);
    Ok(())
}

async fn dispatch(
    conn: &mut AnyConnection,
    body: &OpBody,
    grant: Grant,
    flags: &mut Flags,
    batch: &mut Batch,
) -> Result<Result<Applied, Refusal>, AppError> {
    let (at, day) = (batch.at.clone(), batch.day.clone());
    let store_id = batch.device.store_id;
    let device_ref = movements::DeviceRef {
        id: batch.device.id,
        code: batch.device.code.clone(),
        price_floor: batch.device.price_floor,
    };
    let Some(config) = batch.config(conn, &body.model).await? else {
        return Ok(Err(Refusal::invalid(format!(
            "El modelo {} no se sincroniza.",
            body.model
        ))));
    };
    if let Some(field) = body.fields.keys().find(|f| config.is_excluded(f)) {
        return Ok(Err(Refusal::invalid(format!(
            "El campo {field} no se sincroniza."
        ))));
    }
    let Some(Author {
        principal: author,
        active,
    }) = batch.author(conn, body.author_id).await?
    else {
        return Ok(Err(Refusal::forbidden(
            "El autor de la operación no existe.",
        )));
    };
    if grant.unsigned {
        flags.add("sin_firma");
    }
    // Revocation is not retroactive for facts (DESIGN §8): a sale, return or stock move signed
    // before its author's key was revoked is recorded — the shoes left while the till was
    // offline — and flagged; edits, and anything signed after, are refused. An inactive author
    // without a revocation time (deactivated outside the API) is refused outright.
    let revoked = match (grant.revoked_ms, active) {
        (Some(ms), _) => Some(ms),
        (None, false) => Some(i64::MIN),
        (None, true) => None,
    };
    if let Some(revoked_ms) = revoked {
        let fact = matches!(
            body.kind,
            OpKind::Sale | OpKind::Return | OpKind::StockDelta
        );
        let signed_before = i64::try_from(body.hlc.wall_ms).unwrap_or(i64::MAX) < revoked_ms;
        if !(fact && signed_before && !grant.unsigned) {
            return Ok(Err(Refusal::new(
                403,
                "revocada",
                "El autor o el dispositivo fue dado de baja: la operación ya no se acepta.",
            )));
        }
        flags.add("autor_revocado");
    }
    if author.store_id != store_id && author.role != Role::Admin {
        return Ok(Err(Refusal::forbidden(
            "El autor no pertenece a la tienda del dispositivo.",
        )));
    }
    match (body.model.as_str(), body.kind) {
        (PRODUCTO | CLIENTE, OpKind::Create | OpKind::Update | OpKind::Delete) => {
            let action = entities::action_for(&body.model, body.kind);
            if !action.is_some_and(|a| author.can(a)) {
                return Ok(Err(Refusal::forbidden(
                    "No tienes permiso para este cambio.",
                )));
            }
            entities::apply(conn, body, &config, &at, &mut batch.seqs).await
        }
        (EXISTENCIA, OpKind::StockDelta) => {
            let seqs = &mut batch.seqs;
            movements::stock_delta(conn, body, &author, body.author_id, store_id, &at, seqs).await
        }
        (VENTA, OpKind::Sale) => {
            movements::sale(
                conn,
                body,
                &author,
                body.author_id,
                store_id,
                device_ref,
                &at,
                &day,
                &mut batch.sales,
                &mut batch.seqs,
            )
            .await
        }
        (VENTA, OpKind::Return) => {
            movements::sale_return(
                conn,
                body,
                &author,
                store_id,
                device_ref,
                (&at, &day),
                &mut batch.sales,
                &mut batch.seqs,
            )
            .await
        }
        (model, kind) => Ok(Err(Refusal::invalid(format!(
            "{model} no admite operaciones {}.",
            kind_str(kind)
        )))),
    }
}

/// An op's author as the server knows them now.
#[derive(Debug, Clone, Copy)]
struct Author {
    /// Role and store now (not when the op was made).
    principal: Principal,
    active: bool,
}

async fn author(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Author>, AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT role, store_id, active FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    let Some((role, store, active)) = row else {
        return Ok(None);
    };
    let role =
        Role::parse(&role).ok_or_else(|| AppError::Internal(format!("stored role {role:?}")))?;
    Ok(Some(Author {
        principal: Principal {
            role,
            store_id: db::uuid(&store)?,
        },
        active: active != 0,
    }))
}

fn record_conflict(
    batch: &mut Batch,
    op: &OpBody,
    conflict: &ConflictRecord,
) -> Result<(), AppError> {
    let status = if conflict.outcome == Outcome::Pending {
        "pending"
    } else {
        "resolved"
    };
    let record = serde_json::to_string(conflict).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.conflicts.push(vec![
        Cell::from(batch.clock.new_id().to_string()),
        Cell::from(op.op_id.to_string()),
        Cell::from(op.model.as_str()),
        Cell::from(op.entity_id.to_string()),
        Cell::from(batch.device.store_id.to_string()),
        Cell::from(record),
        Cell::from(status),
        Cell::from(batch.at.as_str()),
    ]);
    Ok(())
}

/// Refusals decided before storage are audited too (tampered, reused, out of order).
fn audit_rejection(
    op: &Op,
    result: &OpResult,
    user: &CurrentUser,
    batch: &mut Batch,
) -> Result<(), AppError> {
    let OpResult::Rejected { code, reason, .. } = result else {
        return Ok(());
    };
    // Under the device that sent it (not the one the op claims): a refusal belongs to the
    // store whose device pushed it.
    let after = Some(serde_json::json!({"codigo": code, "motivo": reason}));
    batch.audit(&op.body, user.id(), "rejected", None, after);
    Ok(())
}

fn kind_str(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Create => "create",
        OpKind::Update => "update",
        OpKind::Delete => "delete",
        OpKind::Sale => "sale",
        OpKind::StockDelta => "stock_delta",
        OpKind::Return => "return",
    }
}
