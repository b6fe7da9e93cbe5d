//! Which ops of a batch are let in (the checks are `pronto_shared::sync::admission`'s): the
//! stored answers they need, the signature's verdict, and the op's clock bounded by the
//! server's.

use super::*;

/// `body` as it is applied: its clock bounded by the server's (`hlc::bound`), how far ahead it
/// was, and the flag a clamped op carries.
pub(super) fn bounded(body: &OpBody, now_ms: u64, margin_ms: u64) -> (Cow<'_, OpBody>, u64, Flags) {
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

/// The stored answers of the batch's op ids that were seen before, in one query.
pub(super) async fn stored_answers(
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

pub(super) enum Admission {
    /// Decided without applying (duplicate or refused before storage).
    Answer(OpResult),
    /// Refused in its place (its seq consumed, its answer stored): a bad signature.
    Refused(OpResult),
    /// Kept for a manager (stored, not applied).
    Hold(&'static str),
    Apply(Grant),
}

/// `known`: the stored (payload hash, answer) of every op id of the batch seen before.
/// `verdict`: what the op's signature proves (checked before the transaction). The order
/// checks are shared's (`admission::admit`); the signature is judged once the op has its
/// place: a refused op consumes its seq like any refusal at apply time, so the device that
/// dead-letters it is never left with a gap.
pub(super) fn admit(
    known: &HashMap<Uuid, (String, String)>,
    op: &Op,
    verdict: &Verdict,
    pusher: &CurrentUser,
    device: &DeviceCtx,
    next_seq: &mut i64,
) -> Result<Admission, AppError> {
    let id = op.body.op_id;
    let stored = known.get(&id);
    match admission::admit(
        op,
        device.id,
        stored.map(|(hash, _)| hash.as_str()),
        next_seq,
    ) {
        Admit::Refuse(result) => return Ok(Admission::Answer(result)),
        Admit::Duplicate => {
            let result = stored.map_or("", |(_, result)| result.as_str());
            let first: OpResult = serde_json::from_str(result)
                .map_err(|e| AppError::Internal(format!("stored result: {e}")))?;
            return Ok(Admission::Answer(OpResult::Duplicate {
                op_id: id,
                first: Box::new(first),
            }));
        }
        Admit::Place => {}
    }
    let grant = match grant_of(id, verdict) {
        Ok(grant) => grant,
        Err(refused) => return Ok(Admission::Refused(refused)),
    };
    if let Some(reason) = admission::unsigned_hold(grant.unsigned, op.body.author_id, pusher.id()) {
        return Ok(Admission::Hold(reason));
    }
    Ok(Admission::Apply(grant))
}

/// The ops let in, and the second copies of an op id sent twice in the batch.
pub(super) struct Admitted {
    /// (index in the request, the model's priority, what the signature grants).
    pub(super) accepted: Vec<(usize, i32, Grant)>,
    /// (index of the copy, index of the first).
    pub(super) echoes: Vec<(usize, usize)>,
}

/// Admits the batch in seq order; answers the ops that are decided without applying.
pub(super) async fn admit_all(
    tx: &mut AnyConnection,
    ops: &[Op],
    verdicts: &[Verdict],
    user: &CurrentUser,
    batch: &mut Batch,
    results: &mut [Option<OpResult>],
) -> Result<Admitted, AppError> {
    let mut admitted = Admitted {
        accepted: Vec::new(),
        echoes: Vec::new(),
    };
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| ops[i].body.seq);
    let mut next_seq = batch.device.last_seq + 1;
    let known = stored_answers(&mut *tx, ops).await?;
    // An op id sent twice in one batch: the second copy answers like a replay of the first
    // (or is refused if its payload differs); it is never applied twice nor an error.
    let mut firsts: HashMap<Uuid, (usize, String)> = HashMap::new();
    for i in order {
        let op = &ops[i];
        if let Some((first, hash)) = firsts.get(&op.body.op_id) {
            if *hash == op.payload_hash() {
                admitted.echoes.push((i, *first));
            } else {
                let result = admission::reused(op.body.op_id);
                audit_rejection(op, &result, user, batch)?;
                results[i] = Some(result);
            }
            continue;
        }
        firsts.insert(op.body.op_id, (i, op.payload_hash()));
        match admit(&known, op, &verdicts[i], user, &batch.device, &mut next_seq)? {
            Admission::Answer(result) => {
                if matches!(result, OpResult::Rejected { .. }) {
                    audit_rejection(op, &result, user, batch)?;
                }
                results[i] = Some(result);
            }
            Admission::Refused(result) => {
                store_answer(op, &result, "rejected", None, batch)?;
                audit_rejection(op, &result, user, batch)?;
                batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
                results[i] = Some(result);
            }
            Admission::Hold(reason) => {
                results[i] = Some(hold(op, reason, batch)?);
                batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
            }
            Admission::Apply(grant) => {
                let config = batch.config(&mut *tx, &op.body.model).await?;
                admitted
                    .accepted
                    .push((i, config.map_or(0, |c| c.prioridad), grant));
            }
        }
    }
    Ok(admitted)
}
