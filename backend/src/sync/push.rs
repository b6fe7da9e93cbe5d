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

use std::collections::HashMap;

use pronto_shared::{
    sync::{
        config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
        conflict::{ConflictRecord, Outcome},
        order, ModelConfig, Op, OpKind, OpResult, PushReply, PushRequest,
    },
    Principal, Role,
};
use sqlx::{Acquire, AnyConnection};
use uuid::Uuid;

use super::{
    audit::{self, Entry},
    config_store,
    entities::{self, Applied},
    movements, sessions,
};
use crate::{
    auth::CurrentUser,
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
}

/// What every op of one batch shares: the device, the time, the open end of the audit chain,
/// and the configuration and authors read once per batch (they cannot change under the
/// batch's write transaction).
pub struct Batch {
    pub device: DeviceCtx,
    pub at: String,
    pub day: String,
    chain: audit::Chain,
    /// Answers of new ops and their conflict records, written at close (in that order: a
    /// conflict refers to its op).
    answers: Rows,
    conflicts: Rows,
    configs: HashMap<String, Option<ModelConfig>>,
    authors: HashMap<Uuid, Option<Principal>>,
    /// Change positions reserved for the batch's writes.
    seqs: db::ChangeSeqs,
    /// The batch's sales, written together at close.
    sales: SaleWriter,
}

impl Batch {
    pub async fn open(
        conn: &mut AnyConnection,
        device: DeviceCtx,
        at: String,
        day: String,
    ) -> Result<Self, AppError> {
        let chain = audit::Chain::open(conn).await?;
        Ok(Self {
            device,
            at,
            day,
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
    ) -> Result<Option<Principal>, AppError> {
        if let Some(cached) = self.authors.get(&id) {
            return Ok(*cached);
        }
        let principal = author(conn, id).await?;
        self.authors.insert(id, principal);
        Ok(principal)
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
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT store_id, code, last_seq FROM devices WHERE id = $1")
            .bind(device_id.to_string())
            .fetch_optional(conn)
            .await?;
    let (store, code, last_seq) =
        row.ok_or_else(|| AppError::NotFound(format!("dispositivo {device_id}")))?;
    let store_id = db::uuid(&store)?;
    if store_id != user.store_id() && user.profile.rol != Role::Admin {
        return Err(AppError::Forbidden);
    }
    Ok(DeviceCtx {
        id: device_id,
        code,
        store_id,
        last_seq,
    })
}

/// Applies the batch and answers one result per op, in the order sent.
pub async fn push(
    state: &AppState,
    user: &CurrentUser,
    request: PushRequest,
) -> Result<PushReply, AppError> {
    let mut tx = state.db.begin_write().await?;
    let device = device_for(&mut tx, user, request.device_id).await?;
    let mut batch = Batch::open(
        &mut tx,
        device,
        state.clock.now_rfc3339(),
        state.clock.today(),
    )
    .await?;

    let mut results: Vec<Option<OpResult>> = vec![None; request.ops.len()];
    let mut accepted: Vec<(usize, i32)> = Vec::new();
    let mut order: Vec<usize> = (0..request.ops.len()).collect();
    order.sort_by_key(|&i| request.ops[i].body.seq);
    let mut next_seq = batch.device.last_seq + 1;
    let known = stored_answers(&mut tx, &request.ops).await?;
    for i in order {
        let op = &request.ops[i];
        match admit(&known, op, &batch.device, &mut next_seq)? {
            Admission::Answer(result) => {
                if matches!(result, OpResult::Rejected { .. }) {
                    audit_rejection(op, &result, user, &mut batch)?;
                }
                results[i] = Some(result);
            }
            Admission::Apply => {
                let priority = batch
                    .config(&mut tx, &op.body.model)
                    .await?
                    .map_or(0, |c| c.prioridad);
                accepted.push((i, priority));
            }
        }
    }
    // Highest priority first, never ahead of an op it depends on (shared `apply_order`).
    let ranked: Vec<_> = accepted
        .iter()
        .map(|&(i, priority)| (&request.ops[i].body, priority))
        .collect();
    let accepted: Vec<(usize, i32)> = order::apply_order(&ranked)
        .into_iter()
        .map(|k| accepted[k])
        .collect();
    let positions: i64 = accepted
        .iter()
        .map(|&(i, _)| positions(&request.ops[i]))
        .sum();
    batch.seqs = db::ChangeSeqs::reserve(&mut tx, positions).await?;
    let (products, sale_ids) = sold(accepted.iter().map(|&(i, _)| &request.ops[i]));
    batch.sales.prefetch(&mut tx, &products, &sale_ids).await?;
    for (i, _) in accepted {
        let op = &request.ops[i];
        state.observe_hlc(&op.body.hlc);
        let result = apply_one(&mut tx, op, &mut batch).await?;
        results[i] = Some(result);
        batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
    }
    let at = batch.at.clone();
    let device = batch.close(&mut tx).await?;
    sqlx::query("UPDATE devices SET last_seq = $1 WHERE id = $2")
        .bind(device.last_seq)
        .bind(device.id.to_string())
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
    let window = state.session_window_start();
    sessions::record(
        &mut tx,
        device.id,
        user.id(),
        device.store_id,
        &at,
        &window,
        counts,
    )
    .await?;
    tx.commit().await?;
    Ok(PushReply {
        results,
        server_hlc: state.next_hlc(),
    })
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
    Ok(known)
}

enum Admission {
    /// Decided without applying (duplicate or refused before storage).
    Answer(OpResult),
    Apply,
}

/// `known`: the stored (payload hash, answer) of every op id of the batch seen before.
fn admit(
    known: &HashMap<Uuid, (String, String)>,
    op: &Op,
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
            return Ok(Admission::Answer(OpResult::rejected(
                id,
                409,
                "op_id_reused",
                "Ya llegó otra operación con este id y contenido distinto.",
            )));
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
    Ok(Admission::Apply)
}

/// Applies one admitted op in a savepoint and stores its answer.
async fn apply_one(
    conn: &mut AnyConnection,
    op: &Op,
    batch: &mut Batch,
) -> Result<OpResult, AppError> {
    let (result, status, applied) = execute(conn, op, batch).await?;
    let (device, at) = (&batch.device, batch.at.clone());
    let body = &op.body;
    let result_json =
        serde_json::to_string(&result).map_err(|e| AppError::Internal(e.to_string()))?;
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
        Cell::from(status),
        Cell::from(result_json),
        Cell::from(op_json),
        Cell::from(at.as_str()),
    ]);
    finish(op, batch, &result, status, applied)?;
    Ok(result)
}

/// Applies an op again that was refused before (an admin's retry, e.g. after restoring the
/// author's access): the stored answer is replaced by the new one.
pub async fn retry(
    conn: &mut AnyConnection,
    op: &Op,
    device: DeviceCtx,
    at: &str,
    day: &str,
) -> Result<OpResult, AppError> {
    let mut batch = Batch::open(conn, device, at.to_owned(), day.to_owned()).await?;
    batch.seqs = db::ChangeSeqs::reserve(conn, positions(op)).await?;
    let (result, status, applied) = execute(conn, op, &mut batch).await?;
    let result_json =
        serde_json::to_string(&result).map_err(|e| AppError::Internal(e.to_string()))?;
    sqlx::query("UPDATE sync_ops SET status = $1, result = $2 WHERE op_id = $3")
        .bind(status)
        .bind(result_json)
        .bind(op.body.op_id.to_string())
        .execute(&mut *conn)
        .await?;
    finish(op, &mut batch, &result, status, applied)?;
    batch.close(conn).await?;
    Ok(result)
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
    op: &Op,
    batch: &mut Batch,
) -> Result<(OpResult, &'static str, Option<Applied>), AppError> {
    if op.body.model == EXISTENCIA {
        // The batch's sales take their stock at close; a stock op reads the quantity, so
        // theirs goes first — outside the savepoint, which a refusal would roll back.
        batch.sales.flush_stock(conn).await?;
    }
    let outcome = if matches!(op.body.kind, OpKind::Create | OpKind::Sale | OpKind::Return) {
        dispatch(conn, op, batch).await?
    } else {
        let mut sp = conn.begin().await?;
        let outcome = dispatch(&mut sp, op, batch).await?;
        if outcome.is_ok() {
            sp.commit().await?;
        } else {
            sp.rollback().await?;
        }
        outcome
    };
    Ok(answer(op.body.op_id, outcome))
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
    op: &Op,
    batch: &mut Batch,
    result: &OpResult,
    status: &str,
    applied: Option<Applied>,
) -> Result<(), AppError> {
    let body = &op.body;
    if let Some(conflict) = applied.as_ref().and_then(|a| a.conflict.as_ref()) {
        record_conflict(batch, op, conflict)?;
    }
    let (before, after) = applied.map_or((None, None), |a| (a.before, a.after));
    let entry = Entry {
        at: batch.at.clone(),
        user_id: Some(body.author_id.to_string()),
        device_id: Some(batch.device.id.to_string()),
        op_id: Some(body.op_id.to_string()),
        model: body.model.clone(),
        entity_id: body.entity_id.to_string(),
        result: status.to_owned(),
        before,
        after: after.or_else(|| match result {
            OpResult::Rejected { reason, .. } => Some(serde_json::json!({"motivo": reason})),
            _ => None,
        }),
    };
    batch.chain.append(&entry);
    Ok(())
}

async fn dispatch(
    conn: &mut AnyConnection,
    op: &Op,
    batch: &mut Batch,
) -> Result<Result<Applied, Refusal>, AppError> {
    let (at, day) = (batch.at.clone(), batch.day.clone());
    let (device_id, device_code, store_id) = (
        batch.device.id,
        batch.device.code.clone(),
        batch.device.store_id,
    );
    let body = &op.body;
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
    let Some(author) = batch.author(conn, body.author_id).await? else {
        return Ok(Err(Refusal::forbidden(
            "El autor de la operación no existe o está dado de baja.",
        )));
    };
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
            let device_ref = (device_id, device_code);
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
            let device_ref = (device_id, device_code);
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

/// The author's rights now (not when the op was made): an active account's role and store.
async fn author(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Principal>, AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT role, store_id, active FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    let Some((role, store, active)) = row else {
        return Ok(None);
    };
    if active == 0 {
        return Ok(None);
    }
    let role =
        Role::parse(&role).ok_or_else(|| AppError::Internal(format!("stored role {role:?}")))?;
    Ok(Some(Principal {
        role,
        store_id: db::uuid(&store)?,
    }))
}

fn record_conflict(batch: &mut Batch, op: &Op, conflict: &ConflictRecord) -> Result<(), AppError> {
    let status = if conflict.outcome == Outcome::Pending {
        "pending"
    } else {
        "resolved"
    };
    let record = serde_json::to_string(conflict).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.conflicts.push(vec![
        Cell::from(Uuid::now_v7().to_string()),
        Cell::from(op.body.op_id.to_string()),
        Cell::from(op.body.model.as_str()),
        Cell::from(op.body.entity_id.to_string()),
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
    let entry = Entry {
        at: batch.at.clone(),
        user_id: Some(user.id().to_string()),
        device_id: Some(op.body.device_id.to_string()),
        op_id: Some(op.body.op_id.to_string()),
        model: op.body.model.clone(),
        entity_id: op.body.entity_id.to_string(),
        result: "rejected".into(),
        before: None,
        after: Some(serde_json::json!({"codigo": code, "motivo": reason})),
    };
    batch.chain.append(&entry);
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
