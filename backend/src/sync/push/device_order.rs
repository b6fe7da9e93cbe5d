//! Pushes of one device reach the writer in seq order. The device keeps two pushes in flight
//! (it sends the next batch before the answer to the one before comes), so that the server
//! checks the next batch's signatures while it writes the one before. Should the later push
//! take the writer first, every op of it would be "from the future" (a gap), refused and sent
//! again. So a push waits, after its signatures are checked and before its write transaction,
//! while a push of the same device with lower seqs has not yet taken the device's row: once it
//! has, the writer's turn (SQLite) or the row lock (PostgreSQL) keeps the order.
//!
//! The wait is bounded ([`MAX_WAIT`]): past it the push goes on, and a gap is answered as
//! before. A push leaves the line when it holds the row or when it ends, its future dropped
//! included (its [`Turn`] is dropped).

use std::{
    collections::HashMap,
    pin::pin,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use tokio::sync::Notify;
use uuid::Uuid;

/// The longest a push waits for an earlier push of its device to take the device's row.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// The pushes on their way to their device's row, by device, with their first seq.
#[derive(Debug, Default)]
pub struct PushOrder {
    running: Mutex<HashMap<Uuid, Vec<Entry>>>,
    moved: Notify,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    first_seq: u64,
}

/// One push's place in its device's line: dropped once the push holds the device's row (or
/// when it ends before that).
pub struct Turn<'a> {
    order: &'a PushOrder,
    device: Uuid,
    id: u64,
    first_seq: u64,
}

impl PushOrder {
    fn running(&self) -> MutexGuard<'_, HashMap<Uuid, Vec<Entry>>> {
        // A panic while holding this lock leaves the map whole (every change is one call).
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the line of `device` with a push whose lowest seq is `first_seq`.
    pub fn enter(&self, device: Uuid, first_seq: u64) -> Turn<'_> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.running()
            .entry(device)
            .or_default()
            .push(Entry { id, first_seq });
        Turn {
            order: self,
            device,
            id,
            first_seq,
        }
    }

    fn earlier_on_its_way(&self, device: Uuid, first_seq: u64) -> bool {
        self.running()
            .get(&device)
            .is_some_and(|entries| entries.iter().any(|e| e.first_seq < first_seq))
    }
}

impl Turn<'_> {
    /// Waits (at most `max`: [`MAX_WAIT`] on the push path) until no push of this device with
    /// lower seqs is still on its way to the device's row.
    pub async fn wait_for_earlier(&self, max: Duration) {
        let deadline = tokio::time::Instant::now() + max;
        loop {
            let mut moved = pin!(self.order.moved.notified());
            // Registered before the check, so a change between the two is not missed.
            moved.as_mut().enable();
            if !self.order.earlier_on_its_way(self.device, self.first_seq) {
                return;
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut running = self.order.running();
        if let Some(entries) = running.get_mut(&self.device) {
            entries.retain(|e| e.id != self.id);
            if entries.is_empty() {
                running.remove(&self.device);
            }
        }
        drop(running);
        self.order.moved.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_later_push_waits_until_the_earlier_one_of_its_device_leaves_the_line() {
        let order = PushOrder::default();
        let device = Uuid::new_v4();
        let earlier = order.enter(device, 1);
        let later = order.enter(device, 1001);
        let other_device = order.enter(Uuid::new_v4(), 1001);
        // Another device's push never waits.
        tokio::time::timeout(
            Duration::from_millis(50),
            other_device.wait_for_earlier(MAX_WAIT),
        )
        .await
        .expect("another device's push goes on at once");
        let mut waiting = Box::pin(later.wait_for_earlier(MAX_WAIT));
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiting.as_mut())
                .await
                .is_err(),
            "the later push went on while the earlier one had not taken the row"
        );
        // The earlier push does not wait for the later one.
        tokio::time::timeout(
            Duration::from_millis(50),
            earlier.wait_for_earlier(MAX_WAIT),
        )
        .await
        .expect("the earlier push never waits for a later one");
        drop(earlier);
        tokio::time::timeout(Duration::from_millis(50), waiting)
            .await
            .expect("the later push goes on once the earlier one holds the row");
        drop(later);
        drop(other_device);
        assert!(
            order.running().is_empty(),
            "a device with no push stays listed"
        );
    }

    #[tokio::test]
    async fn the_wait_for_an_earlier_push_is_bounded() {
        let order = PushOrder::default();
        let device = Uuid::new_v4();
        let _stuck = order.enter(device, 1);
        let later = order.enter(device, 2);
        let bound = Duration::from_millis(200);
        let started = tokio::time::Instant::now();
        tokio::time::timeout(bound * 5, later.wait_for_earlier(bound))
            .await
            .expect("the wait ended");
        assert!(started.elapsed() >= bound);
    }
}
