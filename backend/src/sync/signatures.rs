//! Who made each op of a push, proven (DESIGN §8): every op of protocol 2 carries an Ed25519
//! signature by its author's key for the pushing device. Checked before the batch's write
//! transaction opens — keys are read with a pooled connection and signatures verified on the
//! blocking pool, spread over the cores — so verification never holds SQLite's single writer.

use std::{collections::HashMap, sync::Arc};

use pronto_shared::sync::{
    op::ACCEPTED_PROTOCOLS,
    signing::{self, VerifyingKey},
    Op,
};
use uuid::Uuid;

use crate::{
    model::keys::{self, DeviceKey},
    AppError, AppState,
};

/// What the signature of one op proves.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Signed by its author with this key, registered for the op's device.
    Signed(DeviceKey),
    /// An op of the first release (protocol 1): no signature at all.
    Unsigned,
    /// Missing, unknown, someone else's or wrong: refused, never applied.
    Refused {
        code: &'static str,
        reason: &'static str,
    },
}

/// Below this many signed ops a batch is verified on the request's own task: handing work to
/// other threads costs more than a few verifications (≈ 16 µs each in a batch).
const PARALLEL_FROM: usize = 128;

/// One verdict per op, in order.
pub async fn check(state: &AppState, ops: &Arc<[Op]>) -> Result<Vec<Verdict>, AppError> {
    let mut key_ids: Vec<Uuid> = ops.iter().filter_map(|op| op.body.key_id).collect();
    key_ids.sort_unstable();
    key_ids.dedup();
    let keys = if key_ids.is_empty() {
        HashMap::new()
    } else {
        let mut conn = state.db.pool().acquire().await?;
        keys::load(&mut conn, &key_ids).await?
    };
    // Each key decoded once (a point decompression, ≈ 15 µs), not once per op.
    let publics: HashMap<Uuid, VerifyingKey> = keys
        .iter()
        .filter_map(|(id, key)| Some((*id, signing::parse_public_key(&key.public_key)?)))
        .collect();
    // First what needs no cryptography (protocol, key, whose key), then the signatures of
    // the rest, in batches.
    let mut verdicts: Vec<Option<Verdict>> = Vec::with_capacity(ops.len());
    let mut to_verify: Vec<(usize, DeviceKey, VerifyingKey)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match classify(op, &keys, &publics) {
            Ok((key, public)) => {
                to_verify.push((i, key.clone(), public));
                verdicts.push(None);
            }
            Err(verdict) => verdicts.push(Some(verdict)),
        }
    }
    let checked = if to_verify.len() < PARALLEL_FROM {
        verify_all(ops, &to_verify)
    } else {
        // Pure CPU: one share per core on the blocking pool, each task holding the batch.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let share = to_verify.len().div_ceil(cores).max(1);
        let mut tasks = Vec::new();
        for chunk in to_verify.chunks(share) {
            let ops = Arc::clone(ops);
            let keys: Vec<(usize, DeviceKey, VerifyingKey)> = chunk.to_vec();
            tasks.push(tokio::task::spawn_blocking(move || verify_all(&ops, &keys)));
        }
        let mut all = Vec::with_capacity(to_verify.len());
        for task in tasks {
            all.extend(
                task.await
                    .map_err(|e| AppError::Internal(format!("signature check: {e}")))?,
            );
        }
        all
    };
    for ((i, key, _), holds) in to_verify.into_iter().zip(checked) {
        verdicts[i] = Some(if holds {
            Verdict::Signed(key)
        } else {
            refused(
                "firma_invalida",
                "La firma no corresponde a la operación (alterada o de otra persona).",
            )
        });
    }
    Ok(verdicts
        .into_iter()
        .map(|v| v.unwrap_or(Verdict::Unsigned))
        .collect())
}

/// Whether each op of `which` (its index in `ops`, its key) is signed by its key.
fn verify_all(ops: &[Op], which: &[(usize, DeviceKey, VerifyingKey)]) -> Vec<bool> {
    let pairs: Vec<(&Op, &VerifyingKey)> = which
        .iter()
        .map(|(i, _, public)| (&ops[*i], public))
        .collect();
    signing::verify_many(&pairs)
        .into_iter()
        .map(|r| r.is_ok())
        .collect()
}

fn refused(code: &'static str, reason: &'static str) -> Verdict {
    Verdict::Refused { code, reason }
}

/// Everything about an op's signature but the signature itself: `Ok` with the key to verify
/// it against, or the verdict already.
fn classify<'k>(
    op: &Op,
    keys: &'k HashMap<Uuid, DeviceKey>,
    publics: &HashMap<Uuid, VerifyingKey>,
) -> Result<(&'k DeviceKey, VerifyingKey), Verdict> {
    let body = &op.body;
    if !ACCEPTED_PROTOCOLS.contains(&body.v) {
        return Err(refused(
            "protocolo",
            "La operación viene de una versión de la aplicación que este servidor no acepta.",
        ));
    }
    if body.v == 1 {
        return Err(if op.signature.is_none() && body.key_id.is_none() {
            Verdict::Unsigned
        } else {
            refused("firma_invalida", "La firma de la operación no es válida.")
        });
    }
    let (Some(key_id), Some(_)) = (body.key_id, op.signature.as_ref()) else {
        return Err(refused(
            "firma_faltante",
            "La operación no trae la firma de su autor.",
        ));
    };
    let Some(key) = keys.get(&key_id) else {
        return Err(refused(
            "clave_desconocida",
            "La clave que firmó la operación no está registrada.",
        ));
    };
    if key.user_id != body.author_id || key.device_id != body.device_id {
        return Err(refused(
            "clave_ajena",
            "La operación no está firmada por su autor en este dispositivo.",
        ));
    }
    let public = publics
        .get(&key_id)
        .copied()
        .ok_or_else(|| refused("clave_desconocida", "La clave registrada no es válida."))?;
    Ok((key, public))
}
