//! Who made each op of a push, proven (DESIGN §8): every op of protocol 2 carries an Ed25519
//! signature by its author's key for the pushing device. Checked before the batch's write
//! transaction opens — keys are read with a pooled connection and signatures verified on the
//! blocking pool, spread over the cores — so verification never holds SQLite's single writer.

use std::collections::HashMap;

use pronto_shared::sync::{
    op::ACCEPTED_PROTOCOLS,
    signing::{self, Invalid},
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
/// other threads costs more than a few verifications (≈ 50 µs each).
const PARALLEL_FROM: usize = 64;

/// One verdict per op, in order.
pub async fn check(state: &AppState, ops: &[Op]) -> Result<Vec<Verdict>, AppError> {
    let mut key_ids: Vec<Uuid> = ops.iter().filter_map(|op| op.body.key_id).collect();
    key_ids.sort_unstable();
    key_ids.dedup();
    let keys = if key_ids.is_empty() {
        HashMap::new()
    } else {
        let mut conn = state.db.pool().acquire().await?;
        keys::load(&mut conn, &key_ids).await?
    };
    let signed = ops.iter().filter(|op| op.body.v >= 2).count();
    if signed < PARALLEL_FROM {
        return Ok(ops.iter().map(|op| verdict(op, &keys)).collect());
    }
    // Verification is pure CPU: one share per core on the blocking pool. The ops and keys are
    // cloned into the tasks (they must be 'static); that is a copy of the batch, cheap next
    // to the signatures themselves.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let share = ops.len().div_ceil(cores).max(1);
    let keys = std::sync::Arc::new(keys);
    let mut tasks = Vec::new();
    for chunk in ops.chunks(share) {
        let (chunk, keys) = (chunk.to_vec(), keys.clone());
        tasks.push(tokio::task::spawn_blocking(move || {
            chunk
                .iter()
                .map(|op| verdict(op, &keys))
                .collect::<Vec<_>>()
        }));
    }
    let mut verdicts = Vec::with_capacity(ops.len());
    for task in tasks {
        let part = task
            .await
            .map_err(|e| AppError::Internal(format!("signature check: {e}")))?;
        verdicts.extend(part);
    }
    Ok(verdicts)
}

fn refused(code: &'static str, reason: &'static str) -> Verdict {
    Verdict::Refused { code, reason }
}

fn verdict(op: &Op, keys: &HashMap<Uuid, DeviceKey>) -> Verdict {
    let body = &op.body;
    if !ACCEPTED_PROTOCOLS.contains(&body.v) {
        return refused(
            "protocolo",
            "La operación viene de una versión de la aplicación que este servidor no acepta.",
        );
    }
    if body.v == 1 {
        return if op.signature.is_none() && body.key_id.is_none() {
            Verdict::Unsigned
        } else {
            refused("firma_invalida", "La firma de la operación no es válida.")
        };
    }
    let (Some(key_id), Some(_)) = (body.key_id, op.signature.as_ref()) else {
        return refused(
            "firma_faltante",
            "La operación no trae la firma de su autor.",
        );
    };
    let Some(key) = keys.get(&key_id) else {
        return refused(
            "clave_desconocida",
            "La clave que firmó la operación no está registrada.",
        );
    };
    if key.user_id != body.author_id || key.device_id != body.device_id {
        return refused(
            "clave_ajena",
            "La operación no está firmada por su autor en este dispositivo.",
        );
    }
    let Some(public) = signing::parse_public_key(&key.public_key) else {
        return refused("clave_desconocida", "La clave registrada no es válida.");
    };
    match signing::verify(op, &public) {
        Ok(()) => Verdict::Signed(key.clone()),
        Err(Invalid::Malformed | Invalid::BadKey | Invalid::Mismatch) => refused(
            "firma_invalida",
            "La firma no corresponde a la operación (alterada o de otra persona).",
        ),
    }
}
