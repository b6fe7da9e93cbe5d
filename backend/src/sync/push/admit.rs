//! Which ops of a batch are let in: a stored answer for an op id seen before, a refusal for a
//! reused id or seq or a gap, and the op's clock bounded by the server's.

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

pub(super) fn reused(op_id: Uuid) -> OpResult {
    OpResult::rejected(
        op_id,
        409,
        "op_id_reused",
        "Ya llegó otra operación con este id y contenido distinto.",
    )
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
/// `verdict`: what the op's signature proves (checked before the transaction).
pub(super) fn admit(
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
