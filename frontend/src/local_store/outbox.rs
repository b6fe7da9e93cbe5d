//! The outbox side of the device's storage: the engine's [`Storage`] over IndexedDB (seq,
//! HLC, cursor, pull pages into the cache, dead letters) and putting back what the second copy
//! holds after a reset.

use std::{cell::RefCell, rc::Rc};

use pronto_shared::sync::{
    engine::{DeadLetter, Settlement, Storage, StorageError},
    Change, Hlc, Op,
};
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{IdbKeyRange, IdbRequest, IdbTransaction};

use super::{
    cache_record, cache_store,
    catalog::{append, segment_of},
    js_err, results, LocalStore, CURSOR, DATABASE_ID, DATABASE_RESET, LAST_HLC, LAST_SEQ,
    SEQ_UNKNOWN, SERVER_INSTANCE,
};
use crate::{
    local_db::{record, stores, text, DbError},
    outbox_kinds::{category, KINDS},
};

impl LocalStore {
    /// Puts back into the outbox the ops of `kept` (the second copy, `outbox_copy`) that it
    /// lacks — by op id and by seq — and raises the last seq past them; returns how many came
    /// back. After the browser reset this database they are all missing; an op the server
    /// had answered already comes back as a duplicate and leaves again.
    ///
    /// `letters` (ops refused for their place, waiting to be re-sealed) go back among the dead
    /// letters where missing; a letter already re-sealed is gone from the copy too.
    pub async fn restore(&self, kept: &[Op], letters: &[DeadLetter]) -> Result<usize, DbError> {
        let present = self.outbox().await?;
        let dead = self.clone().dead_letters().await.unwrap_or_default();
        let missing: Vec<&Op> = kept
            .iter()
            .filter(|op| {
                !present
                    .iter()
                    .any(|p| p.body.op_id == op.body.op_id || p.body.seq == op.body.seq)
                    && !dead.iter().any(|d| d.op.body.op_id == op.body.op_id)
            })
            .collect();
        let lost_letters: Vec<DeadLetter> = letters
            .iter()
            .filter(|l| !dead.iter().any(|d| d.op.body.op_id == l.op.body.op_id))
            .cloned()
            .collect();
        let letters_back = lost_letters.len();
        if letters_back > 0 {
            self.clone()
                .settle(&Settlement::letters(lost_letters))
                .await
                .map_err(|e| DbError::new("DataError", e.0))?;
        }
        if missing.is_empty() {
            return Ok(letters_back);
        }
        let rows = missing
            .iter()
            .map(|op| outbox_row(op))
            .collect::<Result<Vec<_>, JsValue>>()
            .map_err(|e| DbError::from_js(&e))?;
        self.db
            .write(&[stores::OUTBOX], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                for row in &rows {
                    outbox.put(row)?;
                }
                Ok(())
            })
            .await?;
        let highest = missing.iter().map(|op| op.body.seq).max().unwrap_or(0);
        self.clone()
            .raise_seq(highest)
            .await
            .map_err(|e| DbError::new("DataError", e.0))?;
        Ok(missing.len() + letters_back)
    }

    /// Every pending op, oldest first (what the screens show on top of the cache).
    pub async fn outbox(&self) -> Result<Vec<Op>, DbError> {
        self.pending_ops(0, None).await
    }

    /// The pending ops of one kind of record (`outbox_kinds`), in seq order, read through the
    /// outbox's index: a customer screen reads no pending sale.
    pub async fn outbox_of(&self, kind: &'static str) -> Result<Vec<Op>, DbError> {
        let request = self
            .db
            .read(&[stores::OUTBOX], |tx| {
                tx.object_store(stores::OUTBOX)?
                    .index("category")?
                    .get_all_with_key(&kind.into())
            })
            .await?;
        parse_ops(&request)
    }

    /// How many ops of each kind wait, counted in the index without reading them.
    pub async fn outbox_counts(&self) -> Result<Vec<(&'static str, usize)>, DbError> {
        let requests = self
            .db
            .read(&[stores::OUTBOX], |tx| {
                let index = tx.object_store(stores::OUTBOX)?.index("category")?;
                KINDS
                    .iter()
                    .map(|kind| Ok((*kind, index.count_with_key(&(*kind).into())?)))
                    .collect::<Result<Vec<_>, JsValue>>()
            })
            .await?;
        let counted = requests
            .iter()
            .map(|(kind, request)| {
                let n = request
                    .result()
                    .ok()
                    .and_then(|r| r.as_f64())
                    .unwrap_or(0.0);
                (*kind, n as usize)
            })
            .collect();
        Ok(counted)
    }

    async fn pending_ops(&self, after: u64, limit: Option<u32>) -> Result<Vec<Op>, DbError> {
        let request = self
            .db
            .read(&[stores::OUTBOX], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                let above =
                    IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(after as f64), true)?;
                match limit {
                    Some(n) => outbox.get_all_with_key_and_limit(&above, n),
                    None => outbox.get_all_with_key(&above),
                }
            })
            .await?;
        parse_ops(&request)
    }
}

/// A request kept alive until its transaction completes, with what its callback produced.
type Built = Rc<RefCell<Option<Result<Op, JsValue>>>>;

impl Storage for LocalStore {
    async fn last_seq(&mut self) -> Result<u64, StorageError> {
        Ok(self.meta(LAST_SEQ).await?.as_f64().unwrap_or(0.0) as u64)
    }

    async fn last_hlc(&mut self) -> Result<Option<Hlc>, StorageError> {
        let value = self.meta(LAST_HLC).await?;
        Ok(value
            .as_string()
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn set_last_hlc(&mut self, hlc: &Hlc) -> Result<(), StorageError> {
        let json = serde_json::to_string(hlc).map_err(|e| StorageError(e.to_string()))?;
        Ok(self.set_meta(LAST_HLC, json.into()).await?)
    }

    async fn enqueue_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
    ) -> Result<Op, StorageError> {
        self.enqueue(make, None).await
    }

    async fn seq_unknown(&mut self) -> Result<bool, StorageError> {
        Ok(self.meta(SEQ_UNKNOWN).await?.as_bool().unwrap_or(false))
    }

    async fn reseal_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        replaces: Uuid,
        make: F,
    ) -> Result<Op, StorageError> {
        self.enqueue(make, Some(replaces)).await
    }

    /// Reads the last seq and writes the larger of it and `floor` in one readwrite
    /// transaction: a tab enqueuing meanwhile is serialised with it, never set back.
    async fn raise_seq(&mut self, floor: u64) -> Result<(), StorageError> {
        let kept = self
            .db
            .write(&[stores::META], |tx| {
                let meta = tx.object_store(stores::META)?;
                let read = meta.get(&LAST_SEQ.into())?;
                let (tx, read2) = (tx.clone(), read.clone());
                let on_read = Closure::<dyn FnMut()>::new(move || {
                    let last = read2.result().ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u64;
                    let written = tx.object_store(stores::META).and_then(|meta| {
                        if floor > last {
                            meta.put_with_key(&JsValue::from_f64(floor as f64), &LAST_SEQ.into())?;
                        }
                        meta.delete(&SEQ_UNKNOWN.into())
                    });
                    if written.is_err() {
                        let _ = tx.abort();
                    }
                });
                read.set_onsuccess(Some(on_read.as_ref().unchecked_ref()));
                Ok(on_read)
            })
            .await?;
        drop(kept);
        Ok(())
    }

    async fn pending(&mut self, after: u64, limit: usize) -> Result<Vec<Op>, StorageError> {
        Ok(self.pending_ops(after, Some(limit as u32)).await?)
    }

    async fn pending_count(&mut self) -> Result<usize, StorageError> {
        Ok(self.outbox_len().await?)
    }

    /// One transaction: each run of consecutive seqs is deleted as one key range (a pushed
    /// batch is usually a single run), the dead letters are put by op id and the acknowledged
    /// ops as one record ([`acked_batch_row`]).
    async fn settle(&mut self, settlement: &Settlement) -> Result<(), StorageError> {
        let Settlement {
            seqs,
            acked,
            letters,
            at_ms,
        } = settlement;
        if seqs.is_empty() && letters.is_empty() && acked.is_empty() {
            return Ok(());
        }
        let runs = seq_runs(seqs);
        let to_storage = |e: JsValue| StorageError(DbError::from_js(&e).to_string());
        let letter_rows = letters
            .iter()
            .map(|letter| {
                let json = serde_json::to_string(letter).map_err(js_err)?;
                record(&[
                    ("op_id", letter.op.body.op_id.to_string().into()),
                    ("letter", json.into()),
                ])
            })
            .collect::<Result<Vec<_>, JsValue>>()
            .map_err(to_storage)?;
        let acked_row = acked_batch_row(acked, *at_ms).map_err(to_storage)?;
        self.db
            .write(
                &[stores::OUTBOX, stores::DEAD_LETTERS, stores::ACKED],
                |tx| {
                    let outbox = tx.object_store(stores::OUTBOX)?;
                    for (first, last) in &runs {
                        let range = IdbKeyRange::bound(
                            &JsValue::from_f64(*first as f64),
                            &JsValue::from_f64(*last as f64),
                        )?;
                        outbox.delete(&range)?;
                    }
                    let dead = tx.object_store(stores::DEAD_LETTERS)?;
                    for row in &letter_rows {
                        dead.put(row)?;
                    }
                    if let Some(row) = &acked_row {
                        tx.object_store(stores::ACKED)?.put(row)?;
                    }
                    Ok(())
                },
            )
            .await?;
        Ok(())
    }

    /// Reads the acknowledged records that hold ops above `seq` (a record's key is its highest
    /// seq) and what the outbox holds there, then in one transaction puts the missing ops back,
    /// forgets them as acknowledged and keeps the rest of a record that also held ops up to
    /// `seq`. A tab settling the same op in between only makes it travel once more: the server
    /// answers a duplicate.
    async fn requeue_acked_above(&mut self, seq: u64) -> Result<usize, StorageError> {
        let above = || -> Result<JsValue, JsValue> {
            Ok(IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(seq as f64), true)?.into())
        };
        let (kept, queued) = self
            .db
            .read(&[stores::ACKED, stores::OUTBOX], |tx| {
                let kept = tx
                    .object_store(stores::ACKED)?
                    .get_all_with_key(&above()?)?;
                let queued = tx
                    .object_store(stores::OUTBOX)?
                    .get_all_keys_with_key(&above()?)?;
                Ok((kept, queued))
            })
            .await?;
        let kept = results(&kept);
        if kept.is_empty() {
            return Ok(0);
        }
        let queued: Vec<u64> = results(&queued)
            .iter()
            .filter_map(|key| key.as_f64().map(|n| n as u64))
            .collect();
        let to_storage = |e: JsValue| StorageError(DbError::from_js(&e).to_string());
        let (mut rows, mut rest) = (Vec::new(), Vec::new());
        for stored in &kept {
            let (lost, stays): (Vec<Op>, Vec<Op>) = acked_ops(stored)?
                .into_iter()
                .partition(|op| op.body.seq > seq);
            for op in lost.iter().filter(|op| !queued.contains(&op.body.seq)) {
                rows.push(outbox_row(op).map_err(to_storage)?);
            }
            if let Some(row) = acked_batch_row(&stays, acked_at(stored)).map_err(to_storage)? {
                rest.push(row);
            }
        }
        let requeued = rows.len();
        self.db
            .write(&[stores::ACKED, stores::OUTBOX], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                for row in &rows {
                    outbox.put(row)?;
                }
                let acked = tx.object_store(stores::ACKED)?;
                acked.delete(&above()?)?;
                for row in &rest {
                    acked.put(row)?;
                }
                Ok(())
            })
            .await?;
        Ok(requeued)
    }

    /// Deletes the records settled before `before_ms`; then keeps the acknowledged ops of the
    /// newest `keep` seqs (below the highest one kept): records wholly older go, and the one
    /// that straddles the line keeps only its newer ops.
    async fn prune_acked(&mut self, before_ms: u64, keep: usize) -> Result<(), StorageError> {
        let (keys, stale) = self
            .db
            .read(&[stores::ACKED], |tx| {
                let acked = tx.object_store(stores::ACKED)?;
                let old =
                    IdbKeyRange::upper_bound_with_open(&JsValue::from_f64(before_ms as f64), true)?;
                Ok((
                    acked.get_all_keys()?,
                    acked.index("at")?.get_all_keys_with_key(&old)?,
                ))
            })
            .await?;
        // Sorted and searched: after an upgrade the previous version's records are one per op,
        // up to 20,000 keys.
        let mut stale: Vec<u64> = results(&stale)
            .iter()
            .filter_map(|key| key.as_f64().map(|n| n as u64))
            .collect();
        stale.sort_unstable();
        let fresh: Vec<u64> = results(&keys)
            .iter()
            .filter_map(|key| key.as_f64().map(|n| n as u64))
            .filter(|key| stale.binary_search(key).is_err())
            .collect();
        let line = fresh
            .iter()
            .max()
            .map_or(0, |newest| newest.saturating_sub(keep as u64));
        let mut doomed = stale;
        doomed.extend(fresh.iter().filter(|&&key| key <= line));
        // The oldest record above the line may hold ops at or below it (none when the line is
        // 0: seqs start at 1), and only then is it read.
        let straddling = fresh
            .iter()
            .filter(|&&key| key > line)
            .min()
            .copied()
            .filter(|_| line > 0);
        let trimmed = match straddling {
            Some(key) => {
                let request = self
                    .db
                    .read(&[stores::ACKED], |tx| {
                        tx.object_store(stores::ACKED)?
                            .get(&JsValue::from_f64(key as f64))
                    })
                    .await?;
                let stored = request.result().unwrap_or(JsValue::UNDEFINED);
                let ops = acked_ops(&stored)?;
                let newer: Vec<Op> = ops
                    .iter()
                    .filter(|op| op.body.seq > line)
                    .cloned()
                    .collect();
                (newer.len() < ops.len())
                    .then(|| acked_batch_row(&newer, acked_at(&stored)))
                    .transpose()
                    .map_err(|e| StorageError(DbError::from_js(&e).to_string()))?
                    .flatten()
            }
            None => None,
        };
        if doomed.is_empty() && trimmed.is_none() {
            return Ok(());
        }
        self.db
            .write(&[stores::ACKED], |tx| {
                let acked = tx.object_store(stores::ACKED)?;
                for key in &doomed {
                    acked.delete(&JsValue::from_f64(*key as f64))?;
                }
                if let Some(row) = &trimmed {
                    acked.put(row)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, StorageError> {
        let request = self
            .db
            .read(&[stores::DEAD_LETTERS], |tx| {
                tx.object_store(stores::DEAD_LETTERS)?.get_all()
            })
            .await?;
        Ok(results(&request)
            .iter()
            .filter_map(|stored| serde_json::from_str(&text(stored, "letter")?).ok())
            .collect())
    }

    async fn cursor(&mut self) -> Result<i64, StorageError> {
        Ok(self.meta(CURSOR).await?.as_f64().unwrap_or(0.0) as i64)
    }

    async fn apply_change(&mut self, change: &Change) -> Result<(), StorageError> {
        let cursor = self.cursor().await?;
        self.apply_pull(std::slice::from_ref(change), cursor).await
    }

    async fn set_cursor(&mut self, cursor: i64) -> Result<(), StorageError> {
        Ok(self
            .set_meta(CURSOR, JsValue::from_f64(cursor as f64))
            .await?)
    }

    async fn server_instance(&mut self) -> Result<Option<String>, StorageError> {
        Ok(self.meta(SERVER_INSTANCE).await?.as_string())
    }

    async fn set_server_instance(&mut self, instance: &str) -> Result<(), StorageError> {
        Ok(self.set_meta(SERVER_INSTANCE, instance.into()).await?)
    }

    /// The page's records and the new cursor in one transaction: a crash keeps both or neither.
    async fn apply_pull(&mut self, changes: &[Change], cursor: i64) -> Result<(), StorageError> {
        let mut writes: Vec<(&'static str, String, Option<JsValue>)> = Vec::new();
        for change in changes {
            let Some(store) = cache_store(&change.model) else {
                continue;
            };
            let id = change.entity_id.to_string();
            if change.deleted {
                writes.push((store, id, None));
            } else {
                let row = cache_record(
                    &change.model,
                    change.entity_id,
                    change.version,
                    &change.data,
                )
                .map_err(|e| StorageError(DbError::from_js(&e).to_string()))?;
                writes.push((store, id, Some(row)));
            }
        }
        let segment = segment_of(changes);
        let mut names: Vec<&str> = stores::CACHES.to_vec();
        names.extend([stores::CATALOG, stores::META]);
        self.db
            .write(&names, |tx| {
                if let Some(segment) = &segment {
                    append(&tx.object_store(stores::CATALOG)?, segment)?;
                }
                for (store, id, row) in &writes {
                    let cache = tx.object_store(store)?;
                    match row {
                        Some(row) => cache.put(row)?,
                        None => cache.delete(&id.as_str().into())?,
                    };
                }
                tx.object_store(stores::META)?
                    .put_with_key(&JsValue::from_f64(cursor as f64), &CURSOR.into())?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}

impl LocalStore {
    /// Reads the last seq and writes the op built for the next one in the same readwrite
    /// transaction, so tabs enqueuing at once are serialised by IndexedDB itself; with
    /// `replaces`, the dead letter it re-seals goes in the same transaction.
    async fn enqueue<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
        replaces: Option<Uuid>,
    ) -> Result<Op, StorageError> {
        let make = Rc::new(make);
        let built: Built = Rc::default();
        let scope: &[&str] = if replaces.is_some() {
            &[stores::OUTBOX, stores::META, stores::DEAD_LETTERS]
        } else {
            &[stores::OUTBOX, stores::META]
        };
        let vouched = self.vouched();
        let written = self
            .db
            .write(scope, |tx| {
                built.borrow_mut().take();
                if let Some(letter) = replaces {
                    tx.object_store(stores::DEAD_LETTERS)?
                        .delete(&letter.to_string().into())?;
                }
                let meta = tx.object_store(stores::META)?;
                // In the same transaction as the seq: a reset between a check and the write
                // cannot slip through. Requests of one transaction complete in order, so the
                // id is read when the seq's callback runs.
                let id_read = match vouched {
                    Some(_) => Some(meta.get(&DATABASE_ID.into())?),
                    None => None,
                };
                let read = meta.get(&LAST_SEQ.into())?;
                let (tx, read2, out, make, vouched) = (
                    tx.clone(),
                    read.clone(),
                    Rc::clone(&built),
                    Rc::clone(&make),
                    vouched.clone(),
                );
                let on_read = Closure::<dyn FnMut()>::new(move || {
                    let same = match (&vouched, &id_read) {
                        (Some(expected), Some(id)) => {
                            id.result().ok().and_then(|v| v.as_string()).as_ref() == Some(expected)
                        }
                        _ => true,
                    };
                    let outcome = if same {
                        write_op(&tx, &read2, make.as_ref())
                    } else {
                        Err(JsValue::from_str(DATABASE_RESET))
                    };
                    if outcome.is_err() {
                        let _ = tx.abort();
                    }
                    *out.borrow_mut() = Some(outcome);
                });
                read.set_onsuccess(Some(on_read.as_ref().unchecked_ref()));
                Ok(on_read)
            })
            .await;
        let op = built.borrow_mut().take();
        match (written, op) {
            // The op's own failure says more than the abort it caused.
            (_, Some(Err(err))) => Err(StorageError(match err.as_string() {
                Some(text) if text == DATABASE_RESET => text,
                _ => DbError::from_js(&err).to_string(),
            })),
            (Err(err), _) => Err(err.into()),
            (Ok(_), Some(Ok(op))) => Ok(op),
            (Ok(_), None) => Err(StorageError("la operación no se guardó".into())),
        }
    }
}

fn parse_ops(request: &IdbRequest) -> Result<Vec<Op>, DbError> {
    results(request)
        .iter()
        .map(|stored| {
            let json = text(stored, "op").unwrap_or_default();
            serde_json::from_str(&json)
                .map_err(|e| DbError::new("DataError", format!("op guardada ilegible: {e}")))
        })
        .collect()
}

/// The settled seqs as runs of consecutive seqs (first, last), each deleted as one key range.
fn seq_runs(seqs: &[u64]) -> Vec<(u64, u64)> {
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for seq in sorted {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == seq => *end = seq,
            _ => runs.push((seq, seq)),
        }
    }
    runs
}

/// The acknowledged ops of one settlement as one record, keyed by their highest seq, with when
/// they were settled; `None` for none. One IndexedDB put per push instead of one per op: moving
/// 10,000 ops into the store one record each cost Chromium ≈ 1.2 s more CPU than deleting them
/// (`tests/bench/idb_settle.mjs`), as much as the server's whole work on them. Only the tab
/// holding the sync lock settles, and an op is settled again only after a requeue took it out,
/// so two settlements never share a highest seq.
fn acked_batch_row(ops: &[Op], at_ms: u64) -> Result<Option<js_sys::Object>, JsValue> {
    let Some(last) = ops.iter().map(|op| op.body.seq).max() else {
        return Ok(None);
    };
    let texts = js_sys::Array::new();
    for op in ops {
        texts.push(&serde_json::to_string(op).map_err(js_err)?.into());
    }
    Ok(Some(record(&[
        ("seq", JsValue::from_f64(last as f64)),
        ("at", JsValue::from_f64(at_ms as f64)),
        ("ops", texts.into()),
    ])?))
}

/// The ops of an acknowledged record: a settlement's (`ops`) or, as schema 5 kept them before
/// batches, one (`op`).
fn acked_ops(stored: &JsValue) -> Result<Vec<Op>, StorageError> {
    let texts: Vec<String> = match js_sys::Reflect::get(stored, &"ops".into()) {
        Ok(list) if js_sys::Array::is_array(&list) => js_sys::Array::from(&list)
            .iter()
            .filter_map(|text| text.as_string())
            .collect(),
        _ => text(stored, "op").into_iter().collect(),
    };
    texts
        .iter()
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|e| StorageError(format!("operación confirmada ilegible: {e}")))
        })
        .collect()
}

/// When an acknowledged record was settled.
fn acked_at(stored: &JsValue) -> u64 {
    js_sys::Reflect::get(stored, &"at".into())
        .ok()
        .and_then(|at| at.as_f64())
        .unwrap_or(0.0) as u64
}

/// An op as the outbox stores it: by seq, op id and the kind of record it is about.
fn outbox_row(op: &Op) -> Result<js_sys::Object, JsValue> {
    let json = serde_json::to_string(op).map_err(js_err)?;
    record(&[
        ("op_id", op.body.op_id.to_string().into()),
        ("seq", JsValue::from_f64(op.body.seq as f64)),
        ("op", json.into()),
        ("category", category(&op.body.model, op.body.kind).into()),
    ])
}

/// Inside the enqueue transaction, once the last seq is read: builds the next op and stores it
/// with the new last seq and HLC.
fn write_op(
    tx: &IdbTransaction,
    read: &IdbRequest,
    make: &dyn Fn(u64) -> Op,
) -> Result<Op, JsValue> {
    let last = read.result()?.as_f64().unwrap_or(0.0) as u64;
    let op = make(last + 1);
    let hlc = serde_json::to_string(&op.body.hlc).map_err(js_err)?;
    tx.object_store(stores::OUTBOX)?
        .add(&outbox_row(&op)?.into())?;
    let meta = tx.object_store(stores::META)?;
    meta.put_with_key(&JsValue::from_f64(op.body.seq as f64), &LAST_SEQ.into())?;
    meta.put_with_key(&hlc.into(), &LAST_HLC.into())?;
    Ok(op)
}
