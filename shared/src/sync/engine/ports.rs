//! What the engine runs over: the device's storage, the author's signer and the transport to
//! the server — IndexedDB, WebCrypto and fetch in the browser; memory and direct calls in the
//! simulation.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sync::{
    hlc::Hlc,
    op::Op,
    protocol::{Change, PullReply, PushReply, PushRequest},
};

/// An op the server refused for good, kept for the person to see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    pub op: Op,
    pub status: u16,
    pub code: String,
    pub reason: String,
}

/// What one push's answers settle, written by [`Storage::settle`] in one atomic step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settlement {
    /// The seqs that leave the outbox.
    pub seqs: Vec<u64>,
    /// Those of them that took their place at the server ([`OpResult::took_place`]): kept as
    /// acknowledged for a while, so that they can be sent again to a server restored to a
    /// backup that lacks them.
    ///
    /// [`OpResult::took_place`]: crate::sync::OpResult::took_place
    pub acked: Vec<Op>,
    /// The refused ones, kept for the person to see.
    pub letters: Vec<DeadLetter>,
    /// When the answer came (the device's clock): the acknowledged ops' retention counts
    /// from it.
    pub at_ms: u64,
}

impl Settlement {
    /// Only dead letters (put back from a copy that outlived the storage).
    pub fn letters(letters: Vec<DeadLetter>) -> Self {
        Self {
            letters,
            ..Self::default()
        }
    }
}

/// Why a call to the server gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Offline, timeout, connection cut: try again later.
    Unreachable,
    /// The server answered with an error status for the whole request.
    Status(u16),
    /// The server answered, but not in a form this build reads (a proxy's page, a newer
    /// protocol): reported as such, kept and retried like an error status.
    Unreadable,
}

/// A storage failure (quota, a closed database); the engine stops and reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError(pub String);

/// Where the device keeps its outbox, cache, cursor, counters and dead letters. Every write
/// must be durable when the future resolves (IndexedDB: `durability: "strict"`).
#[allow(async_fn_in_trait)] // used generically, never as `dyn`; no Send bound so wasm can use it
pub trait Storage {
    /// The seq of the last op enqueued (0 before the first).
    async fn last_seq(&mut self) -> Result<u64, StorageError>;
    async fn last_hlc(&mut self) -> Result<Option<Hlc>, StorageError>;
    async fn set_last_hlc(&mut self, hlc: &Hlc) -> Result<(), StorageError>;
    /// Takes the next seq, builds the op for it with `make` and stores the op in the outbox,
    /// recording seq and the op's HLC as the last ones — all atomically. A crash can never
    /// leave a seq used without its op (a gap the server refuses), and two tabs of one device
    /// enqueuing at once can never both take the same seq (one would overwrite the other).
    async fn enqueue_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
    ) -> Result<Op, StorageError>;
    /// Raises the last seq to at least `floor` (what the server, or a copy that outlived the
    /// storage, knows this device used), atomically with respect to `enqueue_with`; the seq is
    /// then known again (see `seq_unknown`).
    async fn raise_seq(&mut self, floor: u64) -> Result<(), StorageError>;
    /// Whether this storage lost the device's seq and nothing told it where it stands yet (a
    /// database the browser reset, with no surviving mark). Such a device must not record:
    /// its next seqs may be the server's already, and an op refused for its place while a later
    /// one that depends on it gets through (a sale naming a customer created just before) is a
    /// lost sale. The next pull tells it (`PullReply::device_seq`).
    async fn seq_unknown(&mut self) -> Result<bool, StorageError> {
        Ok(false)
    }
    /// `enqueue_with`, dropping the dead letter of op `replaces` in the same atomic write: a
    /// re-sealed op never exists twice (the letter re-sealed again) nor not at all.
    async fn reseal_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        replaces: Uuid,
        make: F,
    ) -> Result<Op, StorageError>;
    /// Up to `limit` pending ops with a seq above `after`, lowest seq first.
    async fn pending(&mut self, after: u64, limit: usize) -> Result<Vec<Op>, StorageError>;
    async fn pending_count(&mut self) -> Result<usize, StorageError>;
    /// Takes the settled ops out of the outbox, keeping the refused ones as dead letters (by
    /// op id: a letter put twice is one letter) and the acknowledged ones, atomically: a
    /// refused op is never both gone and unrecorded, an acknowledged one never both gone and
    /// not kept.
    async fn settle(&mut self, settlement: &Settlement) -> Result<(), StorageError>;
    /// Puts the acknowledged ops with a seq above `seq` back into the outbox (same seq, id and
    /// signature) and returns how many: the server, restored to an older backup, no longer has
    /// them. Atomic; an op already in the outbox is left as it is.
    async fn requeue_acked_above(&mut self, seq: u64) -> Result<usize, StorageError>;
    /// Forgets the acknowledged ops settled before `before_ms`, then keeps at most `keep` of
    /// the rest, the newest (IndexedDB keeps those of the newest `keep` seqs, settled batches
    /// being its records).
    async fn prune_acked(&mut self, before_ms: u64, keep: usize) -> Result<(), StorageError>;
    async fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, StorageError>;
    async fn cursor(&mut self) -> Result<i64, StorageError>;
    /// Applies one pulled change to the cache (a tombstone removes the record).
    async fn apply_change(&mut self, change: &Change) -> Result<(), StorageError>;
    async fn set_cursor(&mut self, cursor: i64) -> Result<(), StorageError>;
    /// The identity of the server database the cursor counts in ([`PullReply::instance`]).
    ///
    /// [`PullReply::instance`]: crate::sync::PullReply::instance
    async fn server_instance(&mut self) -> Result<Option<String>, StorageError>;
    async fn set_server_instance(&mut self, instance: &str) -> Result<(), StorageError>;
    /// Applies a pulled page and moves the cursor past it. Storage that can should do both in
    /// one transaction; the default does them one by one (a crash in between pulls the page
    /// again, which is harmless).
    async fn apply_pull(&mut self, changes: &[Change], cursor: i64) -> Result<(), StorageError> {
        for change in changes {
            self.apply_change(change).await?;
        }
        self.set_cursor(cursor).await
    }
}

/// The author's signing key on this device (DESIGN §8): WebCrypto Ed25519 in the browser, an
/// in-memory key in native tests. Only the author's session holds one.
#[allow(async_fn_in_trait)]
pub trait Signer {
    /// The id the key was registered under with the server.
    fn key_id(&self) -> Uuid;
    /// The raw 64-byte Ed25519 signature of `message`; `Err` with a reason for a person.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// How the device talks to the server.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Takes `&self`: the engine keeps a second push in flight while it waits for the
    /// answer to the first (their answers are taken in the order they were sent).
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError>;
    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError>;
}
