//! An in-memory [`Storage`] for native tests and the simulation. "Durable" here means: what
//! a crash-restart keeps is exactly this struct (the simulation clones it across restarts).

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::{
    engine::{DeadLetter, Settlement, Storage, StorageError},
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
    /// Acknowledged ops by seq, with when they were settled (ms).
    pub acked: BTreeMap<u64, (u64, Op)>,
    pub cursor: i64,
    pub server_instance: Option<String>,
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

    async fn settle(&mut self, settlement: &Settlement) -> Result<(), StorageError> {
        for seq in &settlement.seqs {
            self.outbox.remove(seq);
        }
        for op in &settlement.acked {
            self.acked
                .insert(op.body.seq, (settlement.at_ms, op.clone()));
        }
        for letter in &settlement.letters {
            self.dead
                .retain(|kept| kept.op.body.op_id != letter.op.body.op_id);
            self.dead.push(letter.clone());
        }
        Ok(())
    }

    async fn requeue_acked_above(&mut self, seq: u64) -> Result<usize, StorageError> {
        let lost = self.acked.split_off(&seq.saturating_add(1));
        let mut requeued = 0;
        for (seq, (_, op)) in lost {
            if let std::collections::btree_map::Entry::Vacant(slot) = self.outbox.entry(seq) {
                slot.insert(op);
                requeued += 1;
            }
        }
        Ok(requeued)
    }

    async fn prune_acked(&mut self, before_ms: u64, keep: usize) -> Result<(), StorageError> {
        self.acked.retain(|_, (at, _)| *at >= before_ms);
        while self.acked.len() > keep {
            self.acked.pop_first();
        }
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

    async fn server_instance(&mut self) -> Result<Option<String>, StorageError> {
        Ok(self.server_instance.clone())
    }

    async fn set_server_instance(&mut self, instance: &str) -> Result<(), StorageError> {
        self.server_instance = Some(instance.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(seq: u64) -> Op {
        crate::sync::op::test_op(Uuid::from_u128(1), seq)
    }

    fn settled(seqs: std::ops::RangeInclusive<u64>, at_ms: u64) -> Settlement {
        Settlement {
            seqs: seqs.clone().collect(),
            acked: seqs.map(op).collect(),
            letters: Vec::new(),
            at_ms,
        }
    }

    /// Memory storage never waits: one poll finishes its futures.
    fn ready<F: std::future::Future>(future: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(future).poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("memory storage waited"),
        }
    }

    #[test]
    fn acked_ops_above_a_seq_go_back_once_and_old_or_surplus_ones_are_forgotten() {
        let mut storage = MemoryStorage::default();
        ready(storage.settle(&settled(1..=10, 1_000))).expect("settle");
        ready(storage.settle(&settled(11..=20, 5_000))).expect("settle");
        storage.outbox.insert(21, op(21));
        assert_eq!(ready(storage.requeue_acked_above(17)).expect("requeue"), 3);
        assert_eq!(
            storage.outbox.keys().copied().collect::<Vec<_>>(),
            [18, 19, 20, 21]
        );
        assert_eq!(ready(storage.requeue_acked_above(17)).expect("again"), 0);
        ready(storage.prune_acked(2_000, 100)).expect("prune");
        assert_eq!(
            storage.acked.keys().copied().collect::<Vec<_>>(),
            (11..=17).collect::<Vec<_>>()
        );
        ready(storage.prune_acked(0, 4)).expect("prune");
        assert_eq!(
            storage.acked.keys().copied().collect::<Vec<_>>(),
            [14, 15, 16, 17]
        );
    }
}
