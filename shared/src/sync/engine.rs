//! The client sync engine: the same code in the browser (IndexedDB + fetch) and in native
//! tests (memory + direct calls), as a loop over two traits (DESIGN §2).
//!
//! - [`SyncEngine::record`] turns a local change into an op: next seq, an HLC stamp, sealed with
//!   its checksum, and written to the outbox **before** anything is sent.
//! - [`SyncEngine::sync`] pushes the outbox in seq order, in batches, and handles every answer:
//!   applied, duplicate and conflict leave the outbox; a refusal goes to the dead letters with
//!   its reason (it never blocks the queue); a transport failure keeps everything and backs off.
//!   Then it pulls from its cursor until the server has nothing newer.
//! - The cache holds only what the server confirmed (pulled changes); pending local edits are
//!   shown on top of it by the UI from the outbox. So when a conflict goes the server's way,
//!   the cache is already right.

use std::{
    collections::BTreeMap,
    future::{poll_fn, Future},
    pin::pin,
    task::Poll,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{
    hlc::{Hlc, HlcClock},
    op::{signing_message, Op, OpBody, OpKind, PROTOCOL},
    protocol::{Change, OpResult, PullReply, PushReply, PushRequest},
};

/// An op the server refused for good, kept for the person to see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub op: Op,
    pub status: u16,
    pub code: String,
    pub reason: String,
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
    /// Takes the ops with these seqs out of the outbox, keeping `letters` (refused ops) as dead
    /// letters, atomically: a refused op is never both gone and unrecorded.
    async fn settle(&mut self, seqs: &[u64], letters: &[DeadLetter]) -> Result<(), StorageError>;
    async fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, StorageError>;
    async fn cursor(&mut self) -> Result<i64, StorageError>;
    /// Applies one pulled change to the cache (a tombstone removes the record).
    async fn apply_change(&mut self, change: &Change) -> Result<(), StorageError>;
    async fn set_cursor(&mut self, cursor: i64) -> Result<(), StorageError>;
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
    async fn push(&mut self, request: PushRequest) -> Result<PushReply, TransportError>;
    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError>;
}

/// Exponential backoff with full jitter, from a seeded generator so tests replay exactly.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    rng: u64,
    base_ms: u64,
    cap_ms: u64,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Self {
            failures: 0,
            rng: seed | 1,
            base_ms: 500,
            cap_ms: 60_000,
        }
    }

    /// Milliseconds to wait after one more failure: uniform in `[0, min(cap, base·2^n)]`.
    pub fn next_delay_ms(&mut self) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .base_ms
            .saturating_mul(1_u64 << self.failures.min(20))
            .min(self.cap_ms);
        // xorshift64*: cheap, deterministic, good enough for jitter (not for secrets).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        random % (ceiling + 1)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// What one [`SyncEngine::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub applied: usize,
    pub duplicates: usize,
    pub conflicts: usize,
    pub dead_lettered: usize,
    /// Ops the server keeps for a manager to accept or discard.
    pub held: usize,
    /// The server found this device's clock this far ahead of its own (beyond its margin).
    pub clock_ahead_ms: Option<u64>,
    pub pulled: usize,
    /// This device's ops the server holds for a manager (`manual` conflicts not settled), as
    /// of the last pull page; `None` when the pull did not finish.
    pub held_for_manager: Option<u32>,
    /// Set when the server could not be reached: wait this long before trying again.
    pub retry_after_ms: Option<u64>,
    /// Why the last call failed (e.g. `Status(401)`: nobody is signed in).
    pub failure: Option<TransportError>,
    /// Ops the server answered for good (applied, duplicate, conflict, held or refused for a
    /// reason of their own): the device may drop any other copy it keeps of them. Not those
    /// refused for their place ([`RESEALABLE`]): they still have to reach the server.
    pub answered: Vec<Uuid>,
}

/// A change made on the device, before it becomes an op.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalChange {
    pub model: String,
    pub entity_id: Uuid,
    pub kind: OpKind,
    /// The server version the edit started from (`None` for creates, sales, stock deltas).
    pub base_version: Option<i64>,
    pub fields: BTreeMap<String, Value>,
    /// From the model's sync configuration.
    pub priority: i32,
}

impl LocalChange {
    /// A change whose fields are `input`'s JSON object (a form's validated input type), at
    /// the model's default priority; `None` if `input` is not a JSON object.
    pub fn of<T: Serialize>(
        model: &str,
        entity_id: Uuid,
        kind: OpKind,
        base_version: Option<i64>,
        input: &T,
    ) -> Option<Self> {
        let Ok(Value::Object(map)) = serde_json::to_value(input) else {
            return None;
        };
        let priority = super::config::defaults()
            .into_iter()
            .find(|c| c.model == model)
            .map_or(0, |c| c.prioridad);
        Some(Self {
            model: model.to_owned(),
            entity_id,
            kind,
            base_version,
            fields: map.into_iter().collect(),
            priority,
        })
    }
}

/// Who this engine speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub device_id: Uuid,
    pub author_id: Uuid,
}

pub struct SyncEngine<S, T> {
    pub storage: S,
    pub transport: T,
    pub identity: Identity,
    pub backoff: Backoff,
    clock: HlcClock,
    pub batch_size: usize,
    pub pull_page: i64,
    /// Where op ids come from: seeded from `open`'s seed by default (a simulation replays
    /// exactly); the browser sets a cryptographically random source, since two tabs of one
    /// device may open engines in the same millisecond.
    pub op_ids: Box<dyn FnMut() -> Uuid + Send>,
}

impl<S: Storage, T: Transport> SyncEngine<S, T> {
    /// Starts (or restarts after a crash) from what `storage` holds.
    pub async fn open(
        mut storage: S,
        transport: T,
        identity: Identity,
        seed: u64,
    ) -> Result<Self, StorageError> {
        let clock = match storage.last_hlc().await? {
            Some(last) => HlcClock::resume(last),
            None => HlcClock::new(identity.device_id.to_string()),
        };
        Ok(Self {
            storage,
            transport,
            identity,
            backoff: Backoff::new(seed),
            clock,
            batch_size: 100,
            pull_page: 500,
            op_ids: seeded_ids(seed ^ identity.device_id.as_u64_pair().0),
        })
    }

    /// Turns a local change into an op signed by `signer` (the author's key) and sealed in the
    /// outbox, before anything is sent. The signature is made first (it may be asynchronous);
    /// the seq is taken inside the storage's atomic write.
    pub async fn record<G: Signer>(
        &mut self,
        change: LocalChange,
        now_ms: u64,
        signer: &G,
    ) -> Result<Op, StorageError> {
        if self.storage.seq_unknown().await? {
            return Err(StorageError(SEQ_UNKNOWN.into()));
        }
        self.seal(change, now_ms, signer, None).await
    }

    /// Seals the refused ops this device caused — a seq or an op id it had already used, as a
    /// device whose storage was reset does — again, with a fresh op id and seq: the sale is
    /// the same (same entity, fields and author), only its place in the device's sequence is
    /// new. Only the engine's author's own ops (only they can sign them); call after a sync,
    /// which has taught the device the server's seq. Returns each re-sealed op's old id and
    /// its new op.
    pub async fn reseal<G: Signer>(
        &mut self,
        now_ms: u64,
        signer: &G,
    ) -> Result<Vec<(Uuid, Op)>, StorageError> {
        let letters = self.storage.dead_letters().await?;
        let mut resealed = Vec::new();
        for letter in letters {
            let op = letter.op;
            if !RESEALABLE.contains(&letter.code.as_str())
                || op.body.author_id != self.identity.author_id
                || op.body.device_id != self.identity.device_id
            {
                continue;
            }
            let change = LocalChange {
                model: op.body.model,
                entity_id: op.body.entity_id,
                kind: op.body.kind,
                base_version: op.body.base_version,
                fields: op.body.fields,
                priority: op.body.priority,
            };
            let old = op.body.op_id;
            let new = self.seal(change, now_ms, signer, Some(old)).await?;
            resealed.push((old, new));
        }
        Ok(resealed)
    }

    async fn seal<G: Signer>(
        &mut self,
        change: LocalChange,
        now_ms: u64,
        signer: &G,
        replaces: Option<Uuid>,
    ) -> Result<Op, StorageError> {
        let hlc = self.clock.tick(now_ms);
        let identity = self.identity;
        let body = OpBody {
            op_id: (self.op_ids)(),
            device_id: identity.device_id,
            author_id: identity.author_id,
            seq: 0,
            model: change.model,
            entity_id: change.entity_id,
            kind: change.kind,
            base_version: change.base_version,
            fields: change.fields,
            hlc,
            priority: change.priority,
            v: PROTOCOL,
            key_id: Some(signer.key_id()),
        };
        let raw = signer
            .sign(&signing_message(&body))
            .await
            .map_err(|e| StorageError(format!("No se pudo firmar la operación: {e}")))?;
        let signature = base64url(&raw);
        let make = move |seq| {
            Op::seal_signed(
                OpBody {
                    seq,
                    ..body.clone()
                },
                signature.clone(),
            )
        };
        match replaces {
            None => self.storage.enqueue_with(make).await,
            Some(letter) => self.storage.reseal_with(letter, make).await,
        }
    }

    /// Pushes everything pending, then pulls everything new. Stops at the first transport
    /// failure and says how long to wait.
    pub async fn sync(&mut self, now_ms: u64) -> Result<SyncReport, StorageError> {
        let mut report = SyncReport::default();
        let mut observed = false;
        let outcome = self.push_all(now_ms, &mut report, &mut observed).await;
        // The server's clock, once per sync rather than once per batch (each is a durable
        // write on the device); ops already carry their own stamps.
        if observed {
            self.storage.set_last_hlc(self.clock.last()).await?;
        }
        if !outcome? {
            return Ok(report);
        }
        self.pull_all(&mut report).await?;
        if report.retry_after_ms.is_none() {
            self.backoff.reset();
        }
        Ok(report)
    }

    /// Pushes until the outbox is empty; `false` when it stopped on a failure (`report` says
    /// how long to wait).
    /// Pushes until the outbox is empty; `false` when it stopped on a failure (`report` says
    /// how long to wait).
    ///
    /// Pipelined: while a batch is at the server, the previous batch is settled in storage
    /// and the next one read, so the device's storage work hides behind the server's. An op
    /// still leaves the outbox only after the server answered for it.
    async fn push_all(
        &mut self,
        now_ms: u64,
        report: &mut SyncReport,
        observed: &mut bool,
    ) -> Result<bool, StorageError> {
        let limit = self.batch_size;
        let mut unsettled: Option<(Vec<u64>, Vec<DeadLetter>)> = None;
        let mut batch = self.storage.pending(0, limit).await?;
        loop {
            let Some(last) = batch.last().map(|op| op.body.seq) else {
                if let Some((done, letters)) = unsettled.take() {
                    self.storage.settle(&done, &letters).await?;
                }
                return Ok(true);
            };
            let request = PushRequest {
                device_id: self.identity.device_id,
                ops: batch.clone(),
                protocolo: Some(PROTOCOL),
            };
            let (storage, transport) = (&mut self.storage, &mut self.transport);
            let previous = unsettled.take();
            let (reply, next) = join(transport.push(request), async move {
                if let Some((done, letters)) = previous {
                    storage.settle(&done, &letters).await?;
                }
                storage.pending(last, limit).await
            })
            .await;
            let next = next?;
            let reply = match reply {
                Ok(reply) => reply,
                Err(err) => {
                    report.retry_after_ms = Some(self.backoff.next_delay_ms());
                    report.failure = Some(err);
                    return Ok(false);
                }
            };
            self.clock.observe(&reply.server_hlc, now_ms);
            *observed = true;
            if reply.clock_ahead_ms.is_some() {
                report.clock_ahead_ms = reply.clock_ahead_ms;
            }
            let (done, letters) = tally(&batch, &reply.results, report);
            if done.is_empty() {
                // Nothing in the batch could be settled (e.g. the server lacks earlier ops):
                // back off rather than spin.
                report.retry_after_ms = Some(self.backoff.next_delay_ms());
                return Ok(false);
            }
            if done.len() == batch.len() {
                unsettled = Some((done, letters));
                batch = next;
            } else {
                // Some ops stay (e.g. a retryable refusal): settle now and start again from
                // the oldest pending op.
                self.storage.settle(&done, &letters).await?;
                batch = self.storage.pending(0, limit).await?;
            }
        }
    }

    /// Pulls pages until the server has nothing newer.
    async fn pull_all(&mut self, report: &mut SyncReport) -> Result<(), StorageError> {
        loop {
            let cursor = self.storage.cursor().await?;
            let page = match self.transport.pull(cursor, self.pull_page).await {
                Ok(page) => page,
                Err(err) => {
                    report.retry_after_ms = Some(self.backoff.next_delay_ms());
                    report.failure = Some(err);
                    return Ok(());
                }
            };
            self.storage.apply_pull(&page.changes, page.cursor).await?;
            report.pulled += page.changes.len();
            if !page.has_more {
                report.held_for_manager = page.held_for_manager;
                if let Some(seq) = page.device_seq {
                    self.storage.raise_seq(seq).await?;
                }
                return Ok(());
            }
        }
    }
}

/// Why a device that lost its seq does not record (`Storage::seq_unknown`), for the cashier.
pub const SEQ_UNKNOWN: &str = "Este dispositivo perdió su numeración de ventas: conéctate a internet un momento antes de vender (lo guardado se conserva).";

/// Refusals a device causes itself, by taking a seq or op id again (its storage was reset):
/// the op is fine, its place is not, so it is re-sealed ([`SyncEngine::reseal`]).
pub const RESEALABLE: [&str; 2] = ["seq_reused", "op_id_reused"];

/// Counts the answers into `report`; returns the seqs that are settled for good (applied,
/// duplicate, conflict, refused) and the dead letters of the refused ones.
fn tally(
    batch: &[Op],
    results: &[OpResult],
    report: &mut SyncReport,
) -> (Vec<u64>, Vec<DeadLetter>) {
    let mut done = Vec::new();
    let mut letters = Vec::new();
    for op in batch {
        let Some(result) = results.iter().find(|r| r.op_id() == op.body.op_id) else {
            continue;
        };
        report.pushed += 1;
        if !result.is_final() {
            continue;
        }
        match (result, result.original()) {
            (OpResult::Duplicate { .. }, _) => report.duplicates += 1,
            (_, OpResult::Applied { .. }) => report.applied += 1,
            (_, OpResult::Conflict { .. }) => report.conflicts += 1,
            (_, OpResult::Held { .. }) => report.held += 1,
            _ => {}
        }
        if let OpResult::Rejected {
            status,
            code,
            reason,
            ..
        } = result.original()
        {
            letters.push(DeadLetter {
                op: op.clone(),
                status: *status,
                code: code.clone(),
                reason: reason.clone(),
            });
            report.dead_lettered += 1;
        }
        done.push(op.body.seq);
        let misplaced = matches!(result.original(),
            OpResult::Rejected { code, .. } if RESEALABLE.contains(&code.as_str()));
        if !misplaced {
            report.answered.push(op.body.op_id);
        }
    }
    (done, letters)
}

/// Runs two futures at once on the current task and waits for both (the engine runs on the
/// browser's single thread, where this is how IndexedDB work overlaps a fetch).
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut left, mut right) = (None, None);
    poll_fn(move |cx| {
        if left.is_none() {
            if let Poll::Ready(value) = a.as_mut().poll(cx) {
                left = Some(value);
            }
        }
        if right.is_none() {
            if let Poll::Ready(value) = b.as_mut().poll(cx) {
                right = Some(value);
            }
        }
        match (left.take(), right.take()) {
            (Some(l), Some(r)) => Poll::Ready((l, r)),
            (l, r) => {
                left = l;
                right = r;
                Poll::Pending
            }
        }
    })
    .await
}

/// A deterministic op id source (xorshift64*), for native engines and simulations: one seed
/// gives one sequence of ids, so a simulated world replays exactly.
pub fn seeded_ids(seed: u64) -> Box<dyn FnMut() -> Uuid + Send> {
    let mut state = seed | 1;
    Box::new(move || {
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let (hi, lo) = (next(), next());
        let mut bytes = [0_u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    })
}

/// Base64url without padding (the signature's and public keys' wire form).
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` if it is not that.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_its_jittered_cap_and_resets() {
        let mut backoff = Backoff::new(42);
        let mut max_seen = 0;
        for n in 1..=12 {
            let delay = backoff.next_delay_ms();
            let ceiling = (500_u64 << n).min(60_000);
            assert!(delay <= ceiling, "{n}: {delay} > {ceiling}");
            max_seen = max_seen.max(delay);
        }
        assert!(max_seen > 500, "jitter spreads up the range: {max_seen}");
        backoff.reset();
        assert!(backoff.next_delay_ms() <= 1_000);
        let replay: Vec<u64> = {
            let mut b = Backoff::new(42);
            (0..5).map(|_| b.next_delay_ms()).collect()
        };
        let again: Vec<u64> = {
            let mut b = Backoff::new(42);
            (0..5).map(|_| b.next_delay_ms()).collect()
        };
        assert_eq!(replay, again, "the same seed gives the same delays");
    }

    #[test]
    fn seeded_op_ids_replay_per_seed_and_never_repeat_within_one() {
        let (mut a, mut b, mut c) = (seeded_ids(7), seeded_ids(7), seeded_ids(8));
        let first: Vec<Uuid> = (0..1000).map(|_| a()).collect();
        let again: Vec<Uuid> = (0..1000).map(|_| b()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], c());
        let distinct: std::collections::HashSet<_> = first.iter().collect();
        assert_eq!(distinct.len(), first.len());
    }

    #[test]
    fn base64url_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
