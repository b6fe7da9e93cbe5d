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

mod answers;
mod backoff;
mod ids;
mod ports;

use answers::{join, tally, with_ahead};
pub use backoff::Backoff;
pub use ids::{base64url, base64url_decode, seeded_ids};
pub use ports::{DeadLetter, Settlement, Signer, Storage, StorageError, Transport, TransportError};

use std::{cell::RefCell, collections::BTreeMap, future::Future, pin::Pin};

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    hlc::HlcClock,
    op::{signing_message, Op, OpBody, OpKind, PROTOCOL},
    protocol::{PullReply, PushReply, PushRequest},
};

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
    /// Acknowledged ops sent again because the server no longer had them (it was restored
    /// to an older backup).
    pub resent: usize,
    /// The server's database was restored from a backup since this device last pulled: the
    /// pull started again from the beginning.
    pub server_restored: bool,
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
    /// Most ops per push.
    pub batch_size: usize,
    /// Fewer ops per push after a push that did not get through ([`MIN_PUSH_BATCH`] at the
    /// least); doubled back after each one that does. `None`: [`Self::batch_size`].
    push_cap: Option<usize>,
    pub pull_page: i64,
    /// How long acknowledged ops are kept after their answer ([`ACKED_RETENTION_MS`]).
    pub acked_retention_ms: u64,
    /// At most this many acknowledged ops are kept ([`ACKED_KEEP`]).
    pub acked_keep: usize,
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
            push_cap: None,
            pull_page: 500,
            acked_retention_ms: ACKED_RETENTION_MS,
            acked_keep: ACKED_KEEP,
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
    ///
    /// The pull's last page says the highest seq the server holds from this device; acked
    /// ops above it (the server was restored to an older backup) go back to the outbox and
    /// are pushed again in the same sync. A push the server could settle nothing of (a gap:
    /// it lacks earlier ops) still pulls, so that the device learns what to send again.
    pub async fn sync(&mut self, now_ms: u64) -> Result<SyncReport, StorageError> {
        let mut report = SyncReport::default();
        if !self.push_then_pull(now_ms, &mut report).await? {
            return Ok(report);
        }
        if report.resent > 0 {
            // The gap, if there was one, was this device's to fill: it just did.
            report.retry_after_ms = None;
            self.push_then_pull(now_ms, &mut report).await?;
        }
        if report.retry_after_ms.is_none() {
            self.backoff.reset();
        }
        if report.pushed > 0 {
            let before = now_ms.saturating_sub(self.acked_retention_ms);
            self.storage.prune_acked(before, self.acked_keep).await?;
        }
        Ok(report)
    }

    /// One push of the whole outbox and, unless the server could not be reached, a pull;
    /// `false` when a transport failure stopped it (`report` says how long to wait).
    async fn push_then_pull(
        &mut self,
        now_ms: u64,
        report: &mut SyncReport,
    ) -> Result<bool, StorageError> {
        let mut observed = false;
        let outcome = self.push_all(now_ms, report, &mut observed).await;
        // The server's clock, once per sync rather than once per batch (each is a durable
        // write on the device); ops already carry their own stamps.
        if observed {
            self.storage.set_last_hlc(self.clock.last()).await?;
        }
        if !outcome? {
            return Ok(false);
        }
        self.pull_all(report).await?;
        Ok(report.failure.is_none())
    }

    /// Pushes until the outbox is empty or nothing more can be settled; `false` when it
    /// stopped on a transport failure (`report` says how long to wait).
    ///
    /// Pipelined: while a batch is at the server, the previous batch is settled in storage
    /// and the next one read **and sent**: two pushes are in flight, so the server checks the
    /// next batch's signatures while it writes this one, and never waits for the device between
    /// batches. Answers are still taken in seq order, and an op leaves the outbox only after
    /// the server answered for it. A push sent ahead whose predecessor failed is let go: what
    /// it may have applied is answered as a duplicate when it is sent again.
    ///
    /// A push that does not get through (no answer: a timeout, a cut connection; or 413) halves
    /// the size of the next ones: on a link too slow to carry a whole batch within the
    /// request's timeout, the same batch would fail the same way forever. Each push that does
    /// get through doubles it back, up to [`Self::batch_size`]; until then pushes go one at a
    /// time (two would share the slow link).
    async fn push_all(
        &mut self,
        now_ms: u64,
        report: &mut SyncReport,
        observed: &mut bool,
    ) -> Result<bool, StorageError> {
        let device_id = self.identity.device_id;
        let request = move |ops: &[Op]| PushRequest {
            device_id,
            ops: ops.to_vec(),
            protocolo: Some(PROTOCOL),
        };
        let transport = &self.transport;
        let mut limit = push_limit(self.push_cap, self.batch_size);
        let mut unsettled: Option<Settlement> = None;
        let mut batch = self.storage.pending(0, limit).await?;
        let mut in_flight: PushFuture<'_> = match batch.is_empty() {
            true => return Ok(true),
            false => Box::pin(transport.push(request(&batch))),
        };
        loop {
            let last = batch.last().map_or(0, |op| op.body.seq);
            let storage = &mut self.storage;
            let previous = unsettled.take();
            let pipelined = self.push_cap.is_none();
            // The next batch is read first and sent at once; the previous one is settled
            // while both pushes are out.
            let read: RefCell<Option<Vec<Op>>> = RefCell::new(None);
            let (reply, stored, ahead) = with_ahead(
                in_flight,
                async {
                    let next = storage.pending(last, limit).await?;
                    *read.borrow_mut() = Some(next);
                    if let Some(settled) = previous {
                        storage.settle(&settled).await?;
                    }
                    Ok::<_, StorageError>(())
                },
                || match read.borrow().as_deref() {
                    Some(next) if pipelined && !next.is_empty() => {
                        Some(Box::pin(transport.push(request(next))) as PushFuture<'_>)
                    }
                    _ => None,
                },
            )
            .await;
            stored?;
            let next = read.into_inner().unwrap_or_default();
            let reply = match reply {
                Ok(reply) => {
                    self.push_cap = self
                        .push_cap
                        .map(|cap| cap.saturating_mul(2))
                        .filter(|&cap| cap < self.batch_size);
                    limit = push_limit(self.push_cap, self.batch_size);
                    reply
                }
                Err(err) => {
                    if matches!(
                        err,
                        TransportError::Unreachable | TransportError::Status(413)
                    ) {
                        self.push_cap = Some((batch.len() / 2).max(MIN_PUSH_BATCH));
                    }
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
            let settled = tally(&batch, &reply.results, report, now_ms);
            if settled.seqs.is_empty() {
                // Nothing in the batch could be settled (the server lacks earlier ops): back
                // off rather than spin; the pull that follows says what it lacks.
                report.retry_after_ms = Some(self.backoff.next_delay_ms());
                return Ok(true);
            }
            if settled.seqs.len() < batch.len() {
                // Some ops stay (e.g. a retryable refusal): settle now and start again from
                // the oldest pending op (a push sent ahead met the same gap).
                self.storage.settle(&settled).await?;
                batch = self.storage.pending(0, limit).await?;
                if batch.is_empty() {
                    return Ok(true);
                }
                in_flight = Box::pin(transport.push(request(&batch)));
                continue;
            }
            unsettled = Some(settled);
            (batch, in_flight) = match ahead {
                Some(ahead) => (next, ahead),
                None if next.is_empty() => {
                    if let Some(settled) = unsettled.take() {
                        self.storage.settle(&settled).await?;
                    }
                    return Ok(true);
                }
                None => {
                    let push = Box::pin(transport.push(request(&next)));
                    (next, push as PushFuture<'_>)
                }
            };
        }
    }

    /// How many ops the next push may carry.
    pub fn push_limit(&self) -> usize {
        push_limit(self.push_cap, self.batch_size)
    }

    /// Pulls pages until the server has nothing newer.
    ///
    /// A server whose database is not the one this device last pulled from (restored from a
    /// backup: [`PullReply::instance`]) is pulled again from the beginning: what the device saw
    /// past the backup is gone there, and those positions are handed out again. The new
    /// identity is kept only once the last page is in, so a pull cut short starts over.
    ///
    /// [`PullReply::instance`]: crate::sync::PullReply::instance
    async fn pull_all(&mut self, report: &mut SyncReport) -> Result<(), StorageError> {
        let known = self.storage.server_instance().await?;
        let mut from_start = false;
        // The next page, asked for while the last one was being stored: on a first download
        // the network and the device's storage each take about half the time.
        let mut fetched: Option<(i64, Result<PullReply, TransportError>)> = None;
        loop {
            let cursor = self.storage.cursor().await?;
            let reply = match fetched.take() {
                Some((asked, reply)) if asked == cursor => reply,
                _ => self.transport.pull(cursor, self.pull_page).await,
            };
            let page = match reply {
                Ok(page) => page,
                Err(err) => {
                    report.retry_after_ms = Some(self.backoff.next_delay_ms());
                    report.failure = Some(err);
                    return Ok(());
                }
            };
            let restored = matches!((&known, &page.instance), (Some(was), Some(now)) if was != now);
            if restored && !from_start && cursor > 0 {
                from_start = true;
                report.server_restored = true;
                self.storage.set_cursor(0).await?;
                continue;
            }
            if page.has_more {
                let (applied, next) = join(
                    self.storage.apply_pull(&page.changes, page.cursor),
                    self.transport.pull(page.cursor, self.pull_page),
                )
                .await;
                applied?;
                fetched = Some((page.cursor, next));
            } else {
                self.storage.apply_pull(&page.changes, page.cursor).await?;
            }
            report.pulled += page.changes.len();
            if !page.has_more {
                report.held_for_manager = page.held_for_manager;
                if let Some(seq) = page.device_seq {
                    self.storage.raise_seq(seq).await?;
                    report.resent += self.storage.requeue_acked_above(seq).await?;
                }
                if let Some(now) = page.instance.filter(|now| known.as_ref() != Some(now)) {
                    self.storage.set_server_instance(&now).await?;
                }
                return Ok(());
            }
        }
    }
}

fn push_limit(cap: Option<usize>, batch_size: usize) -> usize {
    cap.map_or(batch_size, |cap| cap.min(batch_size)).max(1)
}

/// A push on its way: boxed, so that the one sent ahead can take the place of the one
/// answered.
type PushFuture<'a> = Pin<Box<dyn Future<Output = Result<PushReply, TransportError>> + 'a>>;

/// The fewest ops a push is cut down to after pushes that did not get through: a sale op is
/// about a kilobyte, so 25 of them go through a link of a few kilobits per second within a
/// request's timeout.
pub const MIN_PUSH_BATCH: usize = 25;

/// How long a device keeps an acknowledged op after its answer, by default: a server
/// restored to a backup up to this old gets back everything the device sent since.
pub const ACKED_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;

/// Most acknowledged ops a device keeps, by default (a busy till makes a few thousand a week;
/// an op is about a kilobyte).
pub const ACKED_KEEP: usize = 20_000;

/// Why a device that lost its seq does not record (`Storage::seq_unknown`), for the cashier.
pub const SEQ_UNKNOWN: &str = "Este dispositivo perdió su numeración de ventas: conéctate a internet un momento antes de vender (lo guardado se conserva).";

/// Refusals a device causes itself, by taking a seq or op id again (its storage was reset):
/// the op is fine, its place is not, so it is re-sealed ([`SyncEngine::reseal`]).
pub const RESEALABLE: [&str; 2] = ["seq_reused", "op_id_reused"];
