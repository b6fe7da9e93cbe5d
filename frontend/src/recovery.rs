//! Putting back what the browser took: when IndexedDB was reset (at start, or under the open
//! page — Chromium resets the whole database at a write that fails on a full disk), the ops
//! the second copy (`outbox_copy`) holds go back into the outbox and the seq goes back above
//! every one the device used, before anything else is recorded.

use pronto_shared::sync::engine::Storage;
use uuid::Uuid;

use crate::{local_store::LocalStore, outbox_copy};

/// What [`ensure_current`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// The database is the one vouched for, or the one the copies were made beside.
    Intact,
    /// The database was new: this many ops (and refused letters) came back from the copy.
    Restored(usize),
    /// The database was new and the copy could not be put back; it is kept, and the next call
    /// tries again. Nothing is recorded meanwhile (the enqueue refuses an unvouched database).
    Failed(String),
}

impl Recovery {
    /// What the cashier is told, if anything.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Intact => None,
            Self::Restored(n) => outbox_copy::restored_message(*n),
            Self::Failed(err) => Some(format!(
                "No se pudo recuperar la copia de respaldo ({err}); se conserva y se reintentará. \
                 Si el disco está lleno, libera espacio."
            )),
        }
    }
}

/// Makes sure `store` holds what `device` must not lose, cheaply when nothing changed (one
/// read of the database's id). Safe to call from any tab at any time: a restore skips the
/// ops already present, so two tabs restoring at once put each op back once.
pub async fn ensure_current(store: &LocalStore, device: Uuid) -> Recovery {
    let mut store = store.clone();
    let database = match store.database_id().await {
        Ok(id) => id,
        Err(err) => return Recovery::Failed(err.to_string()),
    };
    if store.vouched().as_deref() == Some(database.as_str()) {
        return Recovery::Intact;
    }
    if outbox_copy::same_database(device, &database) {
        // Copies of ops answered while the page was closing are stale.
        if let (Ok(outbox), Ok(letters)) = (store.outbox().await, store.dead_letters().await) {
            outbox_copy::prune(device, &outbox, &letters);
        }
        outbox_copy::set_database(device, &database);
        if let Err(err) = store.raise_seq(outbox_copy::seq_mark(device)).await {
            return Recovery::Failed(err.0);
        }
        store.vouch(&database);
        return Recovery::Intact;
    }
    let kept = outbox_copy::kept(device);
    let letters = outbox_copy::kept_letters(device);
    let mark = outbox_copy::seq_mark(device);
    let highest_kept = kept.iter().map(|op| op.body.seq).max().unwrap_or(0);
    let restored = match store.restore(&kept, &letters).await {
        Ok(n) => n,
        Err(err) => {
            // Not recorded as this database's: the next call tries again. Sales may go on
            // meanwhile only once the seq is safe (above every one used), which the enqueue
            // then need not check.
            let top = mark.max(highest_kept);
            let safe = if top > 0 {
                store.raise_seq(top).await.is_ok()
            } else {
                store.forget_seq().await.is_ok()
            };
            if safe {
                store.unvouch();
            }
            return Recovery::Failed(err.to_string());
        }
    };
    outbox_copy::set_database(device, &database);
    let seq = if mark.max(highest_kept) == 0 {
        // A reset database and no trace of the seq (a copy from before marks existed): no sale
        // until the server says where this device stands.
        store.forget_seq().await.map_err(|e| e.to_string())
    } else {
        store
            .raise_seq(mark.max(highest_kept))
            .await
            .map_err(|e| e.0)
    };
    if let Err(err) = seq {
        return Recovery::Failed(err);
    }
    store.vouch(&database);
    Recovery::Restored(restored)
}
