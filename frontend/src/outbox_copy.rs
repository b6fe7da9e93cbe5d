//! A second, independent copy of what a till must not lose, in `localStorage`: every op not yet
//! answered by the server, and the highest seq the device has used. A browser may reset or drop
//! IndexedDB alone — a full disk (Chromium resets the database at the failed write), recovery
//! from corruption, eviction, a partial "clear data" — while the origin's `localStorage`, where
//! the device's identity also lives, survives. On start the device restores from here whatever
//! IndexedDB lost, and never takes a seq (a folio) it already used: identity and sequence live
//! and die together.

use pronto_shared::sync::{engine::DeadLetter, Op};
use uuid::Uuid;

/// At Cobrar, when the two copies cannot both be written: the cart stays, no receipt.
pub const NO_ROOM: &str =
    "El dispositivo no tiene espacio para guardar la venta: envía lo pendiente o libera espacio.";

/// After a start that brought back ops the database had lost.
pub fn restored_message(n: usize) -> Option<String> {
    (n > 0).then(|| {
        format!(
            "Se recuperaron {n} operaciones sin enviar de la copia de respaldo del dispositivo."
        )
    })
}

/// After ops refused for a seq the device had used already went out again in a new place.
pub fn resealed_message(n: usize) -> Option<String> {
    (n > 0).then(|| {
        format!(
            "El dispositivo había perdido su numeración: {n} operaciones se reenviaron con folio nuevo. \
             Los comprobantes ya impresos siguen siendo válidos."
        )
    })
}

/// When the sale was stored but its second copy was not.
pub fn copy_failed_message(err: &str) -> String {
    format!("La venta se guardó, pero no su copia de respaldo ({err}): envía lo pendiente pronto.")
}

const OP_PREFIX: &str = "pronto.salida.";
/// Ops refused for their place (a seq or id used already): they must still reach the server,
/// re-sealed, so their copy stays — as the letter, which a restore puts back among the dead
/// letters (not the outbox, where its old seq may belong to another op by now).
const LETTER_PREFIX: &str = "pronto.rechazada.";
const SEQ_PREFIX: &str = "pronto.secuencia.";
/// The id of the IndexedDB database the copies were made beside (`LocalStore::database_id`).
const DATABASE_PREFIX: &str = "pronto.base.";
/// Scratch key of the space check before a sale.
const PROBE: &str = "pronto.salida.prueba";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Whether `bytes` more fit: written and removed at once, before anything is recorded, so a
/// sale is refused at Cobrar (cart kept) rather than stored in one copy only.
pub fn can_store(bytes: usize) -> bool {
    let Some(s) = storage() else {
        return false;
    };
    let fits = s.set_item(PROBE, &"x".repeat(bytes)).is_ok();
    let _ = s.remove_item(PROBE);
    fits
}

/// Keeps `op` until [`forget`]; `Err` when it could not be written.
pub fn keep(op: &Op) -> Result<(), String> {
    let s = storage().ok_or("sin localStorage")?;
    let json = serde_json::to_string(op).map_err(|e| e.to_string())?;
    s.set_item(&format!("{OP_PREFIX}{}", op.body.op_id), &json)
        .map_err(|_| "la copia de respaldo está llena".to_owned())?;
    raise_seq_mark(op.body.device_id, op.body.seq);
    Ok(())
}

/// Keeps `letter` (an op refused for its place) until it is re-sealed, instead of its op.
pub fn keep_letter(letter: &DeadLetter) {
    let Some(s) = storage() else {
        return;
    };
    let id = letter.op.body.op_id;
    if let Ok(json) = serde_json::to_string(letter) {
        if s.set_item(&format!("{LETTER_PREFIX}{id}"), &json).is_ok() {
            let _ = s.remove_item(&format!("{OP_PREFIX}{id}"));
        }
    }
}

/// Drops the copies of ops the server has answered (or that were re-sealed as new ones).
pub fn forget(op_ids: &[Uuid]) {
    if let Some(s) = storage() {
        for id in op_ids {
            let _ = s.remove_item(&format!("{OP_PREFIX}{id}"));
            let _ = s.remove_item(&format!("{LETTER_PREFIX}{id}"));
        }
    }
}

fn values(prefix: &str) -> Vec<String> {
    let Some(s) = storage() else {
        return Vec::new();
    };
    let len = s.length().unwrap_or(0);
    (0..len)
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with(prefix) && k != PROBE)
        .filter_map(|k| s.get_item(&k).ok().flatten())
        .collect()
}

/// Every kept letter of `device`.
pub fn kept_letters(device: Uuid) -> Vec<DeadLetter> {
    values(LETTER_PREFIX)
        .iter()
        .filter_map(|json| serde_json::from_str::<DeadLetter>(json).ok())
        .filter(|letter| letter.op.body.device_id == device)
        .collect()
}

/// Every kept op of `device`, lowest seq first.
pub fn kept(device: Uuid) -> Vec<Op> {
    let mut ops: Vec<Op> = values(OP_PREFIX)
        .iter()
        .filter_map(|json| serde_json::from_str::<Op>(json).ok())
        .filter(|op| op.body.device_id == device)
        .collect();
    ops.sort_by_key(|op| op.body.seq);
    ops
}

/// Whether the database `current` is the one the copies of `device` were made beside. `false`
/// when the browser reset it (a new id) — then the copies are what the device has. A device
/// with no record yet (a first start) counts as the same database.
pub fn same_database(device: Uuid, current: &str) -> bool {
    storage()
        .and_then(|s| {
            s.get_item(&format!("{DATABASE_PREFIX}{device}"))
                .ok()
                .flatten()
        })
        .is_none_or(|seen| seen == current)
}

pub fn set_database(device: Uuid, current: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(&format!("{DATABASE_PREFIX}{device}"), current);
    }
}

/// Drops the copies of `device`'s ops that are in neither `outbox` nor `letters` of an intact
/// database: the server answered them and the page closed before their copies were dropped.
pub fn prune(device: Uuid, outbox: &[Op], letters: &[DeadLetter]) {
    let live = |id: Uuid| {
        outbox.iter().any(|op| op.body.op_id == id) || letters.iter().any(|l| l.op.body.op_id == id)
    };
    let stale: Vec<Uuid> = kept(device)
        .iter()
        .map(|op| op.body.op_id)
        .chain(kept_letters(device).iter().map(|l| l.op.body.op_id))
        .filter(|id| !live(*id))
        .collect();
    forget(&stale);
}

/// The highest seq `device` is known to have used here (0 when none is recorded).
pub fn seq_mark(device: Uuid) -> u64 {
    storage()
        .and_then(|s| s.get_item(&format!("{SEQ_PREFIX}{device}")).ok().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Records that `device` used `seq` (never lowers the mark).
pub fn raise_seq_mark(device: Uuid, seq: u64) {
    if seq <= seq_mark(device) {
        return;
    }
    if let Some(s) = storage() {
        let _ = s.set_item(&format!("{SEQ_PREFIX}{device}"), &seq.to_string());
    }
}
