//! An in-memory [`Storage`] for native tests and the simulation. "Durable" here means: what
//! a crash-restart keeps is exactly this struct (the simulation clones it across restarts).

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::{
    engine::{DeadLetter, Storage, StorageError},
    hlc::Hlc,
    op::Op,
    protocol::Change,
};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryStorage {
    pub seq: u64,
    pub hlc: Option<Hlc>,
    /// Keyed by seq: iteration is seq order.
    pub outbox: BTreeMap<u64, Op>,
    pub dead: Vec<DeadLetter>,
    pub cursor: i64,
    /// (model, entity) → (version, data).
    pub cache: BTreeMap<(String, Uuid), (i64, Value)>,
    /// The seq was lost and not learned again yet (`Storage::seq_unknown`).
    pub seq_unknown: bool,
}

impl Storage for MemoryStorage {
    async fn last_seq(&mut self) -> Result<u64, StorageError> {
        Ok(self.seq)
    }

    async fn last_hlc(&mut self) -> Result<Option<Hlc>, StorageError> {
        Ok(self.hlc.clone())
    }

    async fn set_last_hlc(&mut self, hlc: &Hlc) -> Result<(), StorageError> {
        self.hlc = Some(hlc.clone());
        Ok(())
    }

    async fn enqueue_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
    ) -> Result<Op, StorageError> {
        let op = make(self.seq + 1);
        self.seq = op.body.seq;
        self.hlc = Some(op.body.hlc.clone());
        self.outbox.insert(op.body.seq, op.clone());
        Ok(op)
    }

    async fn raise_seq(&mut self, floor: u64) -> Result<(), StorageError> {
        self.seq = self.seq.max(floor);
        self.seq_unknown = false;
        Ok(())
    }

    async fn seq_unknown(&mut self) -> Result<bool, StorageError> {
        Ok(self.seq_unknown)
    }

    async fn reseal_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        replaces: Uuid,
        make: F,
    ) -> Result<Op, StorageError> {
        let op = self.enqueue_with(make).await?;
        self.dead.retain(|letter| letter.op.body.op_id != replaces);
        Ok(op)
    }

    async fn pending(&mut self, after: u64, limit: usize) -> Result<Vec<Op>, StorageError> {
        Ok(self
            .outbox
            .range(after.saturating_add(1)..)
            .map(|(_, op)| op.clone())
            .take(limit)
            .collect())
    }

    async fn pending_count(&mut self) -> Result<usize, StorageError> {
        Ok(self.outbox.len())
    }

    async fn settle(&mut self, seqs: &[u64], letters: &[DeadLetter]) -> Result<(), StorageError> {
        for seq in seqs {
            self.outbox.remove(seq);
        }
        self.dead.extend(letters.iter().cloned());
        Ok(())
    }

    async fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, StorageError> {
        Ok(self.dead.clone())
    }

    async fn cursor(&mut self) -> Result<i64, StorageError> {
        Ok(self.cursor)
    }

    async fn apply_change(&mut self, change: &Change) -> Result<(), StorageError> {
        let key = (change.model.clone(), change.entity_id);
        if change.deleted {
            self.cache.remove(&key);
        } else {
            self.cache
                .insert(key, (change.version, change.data.clone()));
        }
        Ok(())
    }

    async fn set_cursor(&mut self, cursor: i64) -> Result<(), StorageError> {
        self.cursor = cursor;
        Ok(())
    }
}
