//! The device's sync: recording ops into IndexedDB from any tab, and one pushing tab.
//!
//! - [`Sync::record`] writes an op to the outbox and returns once it is on disk; the sale is
//!   then safe whatever happens to the network, the tab or the battery.
//! - One tab holds the [`web_lock::SYNC_LOCK`] and runs the loop: when the device is registered,
//!   someone of its store is signed in and the server answers, it pushes the outbox (oldest
//!   first, in batches) and pulls what changed; after a failure it waits with backoff and
//!   jitter. When that tab closes, the browser hands the lock to another one.
//! - Every tab refreshes the counters the screens show from IndexedDB each second, so a tab
//!   that does not push still sees the outbox drain.
//! - Signing out or an expired session never touches the outbox: the ops wait for the next
//!   person of the store to sign in, and the server checks each op's author at apply time.

use std::{cell::RefCell, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{auth::Profile, devices::Device},
    sync::{
        engine::{Identity, LocalChange, SyncEngine},
        Op,
    },
};
use send_wrapper::SendWrapper;

use uuid::Uuid;

use crate::{
    connection::Connection,
    device::ThisDevice,
    keyring::Keyring,
    local_db::DB_NAME,
    local_store::{LocalStore, DATABASE_RESET},
    outbox_copy,
    recovery::{self, Recovery},
    session::Session,
    storage,
    storage_space::{out_of_space, storage_info, write_failure, StorageInfo},
    sync_transport::{Download, FetchTransport},
    web_lock,
};

pub mod nudge;
mod pusher;

use nudge::Nudge;
use pusher::push_loop;

/// How often the pushing tab pulls when nothing is pending (and no realtime poke exists yet).
pub const PULL_INTERVAL_MS: f64 = 10_000.0;
/// How often the pushing tab checks whether it can and should sync.
pub(crate) const TICK_MS: u32 = 250;
/// Pull interval while the server's socket is open (it pokes on every change).
pub const POKED_PULL_INTERVAL_MS: f64 = 60_000.0;
/// Every how many ticks the pushing tab checks that IndexedDB was not reset under the page
/// (one read; a reset found is repaired at once, even offline).
pub(crate) const RECOVERY_EVERY: u32 = 4;
/// How often every tab re-reads the counters the screens show.
const REFRESH_MS: u32 = 1_000;
/// Most ops per push (the server's limit, `MAX_PUSH_OPS`): a backlog replays in a few large
/// requests (≈ 0.8 MB each, far below the server's 8 MiB limit) instead of many small ones,
/// each paying its own round trip, durable commit and two durable IndexedDB commits. A push
/// that gets no answer (a link too slow for it within the request's timeout) makes the engine
/// send smaller ones (`SyncEngine::push_limit`).
pub(crate) const PUSH_BATCH: usize = pronto_shared::sync::protocol::MAX_PUSH_OPS;
pub(crate) const LAST_SYNC_KEY: &str = "pronto.ultima_sincronizacion";
pub(crate) const HELD_KEY: &str = "pronto.conflictos_en_espera";

/// A replay under way: how many of the ops pending when it started have been settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// How often every tab asks the browser for its storage estimate (in refreshes of the counters).
const STORAGE_EVERY: u32 = 30;
/// How often every tab counts the outbox by kind even though its total stood still.
const RECOUNT_EVERY: u32 = 10;

/// The signals the screens read; `Copy`, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct SyncStatus {
    pub pending: RwSignal<usize>,
    /// A download of many pages under way (the first catalog): records and share done.
    pub download: RwSignal<Option<Download>>,
    /// What waits, by kind of record (`outbox_kinds`), for the sync bar's words.
    pub waiting: RwSignal<Vec<(&'static str, usize)>>,
    pub progress: RwSignal<Option<Progress>>,
    /// Epoch milliseconds of the last sync that reached the server.
    pub last_sync: RwSignal<Option<f64>>,
    pub dead_letters: RwSignal<usize>,
    /// Conflicts of this device's ops that wait for a manager.
    pub held_for_manager: RwSignal<usize>,
    pub storage: RwSignal<Option<StorageInfo>>,
    /// This tab is the one pushing.
    pub pusher: RwSignal<bool>,
    /// Why ops are not going out even though they could (shown to the person).
    pub problem: RwSignal<Option<String>>,
    /// Something the device recovered from that the person should know about (ops restored
    /// from the second copy, ops re-sent with a new folio); stays until dismissed.
    pub notice: RwSignal<Option<String>>,
    /// The local database opened.
    pub ready: RwSignal<bool>,
    /// The server's socket is open in the pushing tab: changes arrive as they happen.
    pub live: RwSignal<bool>,
    /// The server found this device's clock this many milliseconds ahead of its own.
    pub clock_ahead_ms: RwSignal<Option<u64>>,
}

/// The local store and this tab's recording engine, behind the context's `Send` requirement
/// (the browser runs everything on one thread).
#[derive(Clone)]
pub struct Sync {
    pub status: SyncStatus,
    keyring: Keyring,
    inner: SendWrapper<Rc<Inner>>,
}

struct Inner {
    store: RefCell<Option<LocalStore>>,
    recorder: RefCell<Option<SyncEngine<LocalStore, FetchTransport>>>,
    /// Wakes this tab's push loop (if this tab pushes) when a sale is recorded here.
    nudge: Nudge,
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Sync {
    /// Opens the local database and starts the loops; returns at once.
    pub fn start(connection: Connection, device: ThisDevice, session: Session) -> Self {
        let status = SyncStatus {
            pending: RwSignal::new(0),
            waiting: RwSignal::new(Vec::new()),
            download: RwSignal::new(None),
            progress: RwSignal::new(None),
            last_sync: RwSignal::new(storage::get(LAST_SYNC_KEY).and_then(|v| v.parse().ok())),
            dead_letters: RwSignal::new(0),
            held_for_manager: RwSignal::new(held_count()),
            storage: RwSignal::new(None),
            pusher: RwSignal::new(false),
            problem: RwSignal::new(None),
            notice: RwSignal::new(None),
            ready: RwSignal::new(false),
            live: RwSignal::new(false),
            clock_ahead_ms: RwSignal::new(None),
        };
        let sync = Self {
            status,
            keyring: session.keyring,
            inner: SendWrapper::new(Rc::new(Inner {
                store: RefCell::new(None),
                recorder: RefCell::new(None),
                nudge: Nudge::default(),
            })),
        };
        // The connection coming back wakes the push loop: a backlog starts out at once.
        let nudge = SendWrapper::new(sync.inner.nudge.clone());
        Effect::new(move |could: Option<bool>| {
            let can = connection.state.get().can_sync();
            if can && could == Some(false) {
                nudge.ring();
            }
            can
        });
        let this = sync.clone();
        spawn_local(async move {
            match LocalStore::open(DB_NAME).await {
                Ok(store) => {
                    if let Some(registered) = device.device.get_untracked() {
                        recover(&store, registered.id, status).await;
                    }
                    *this.inner.store.borrow_mut() = Some(store.clone());
                    status.ready.set(true);
                    status.storage.set(storage_info(true).await);
                    spawn_local(refresh_counts(store.clone(), status));
                    // Indexing the catalog takes a few hundred milliseconds for a chain's:
                    // done now, not at the cashier's first scan.
                    let warm = store.clone();
                    spawn_local(async move {
                        let _ = warm.with_catalog(|_| ()).await;
                    });
                    let nudge = this.inner.nudge.clone();
                    let _ = web_lock::with_lock(
                        web_lock::SYNC_LOCK,
                        push_loop(store, status, connection, device, session, nudge),
                    )
                    .await;
                }
                Err(err) => status.problem.set(Some(format!(
                    "No se pudo abrir el almacenamiento del dispositivo ({err}). Recarga la página."
                ))),
            }
        });
        sync
    }

    /// The local store, once open.
    pub fn store(&self) -> Option<LocalStore> {
        self.inner.store.borrow().clone()
    }

    /// The local store, waiting (up to 15 s) while it opens: a scan right after a page load
    /// must not be dropped.
    pub async fn opened_store(&self) -> Option<LocalStore> {
        for _ in 0..300 {
            if let Some(store) = self.store() {
                return Some(store);
            }
            TimeoutFuture::new(50).await;
        }
        None
    }

    /// Writes `change` as an op by `author`, signed with their key for this device, into the
    /// outbox; resolves once it is durable.
    pub async fn record(
        &self,
        change: LocalChange,
        device: &Device,
        author: &Profile,
    ) -> Result<Op, String> {
        let store = self
            .store()
            .ok_or_else(|| "El almacenamiento del dispositivo no está listo.".to_owned())?;
        // Both copies or none: refused here, the cart stays and no receipt is shown.
        let size = serde_json::to_string(&change.fields).map_or(0, |json| json.len());
        if !outbox_copy::can_store(size + COPY_OVERHEAD) {
            return Err(outbox_copy::NO_ROOM.to_owned());
        }
        let signer = self.keyring.signer(author.id, device.id).await.ok_or_else(|| {
            "Tu sesión no tiene llave de firma en este dispositivo: cierra sesión y vuelve a entrar."
                .to_owned()
        })?;
        let identity = Identity {
            device_id: device.id,
            author_id: author.id,
        };
        // Take the engine out while it works: a second record meanwhile opens its own.
        let cached = self.inner.recorder.borrow_mut().take();
        let mut engine = match cached {
            Some(engine) if engine.identity == identity => engine,
            _ => {
                let mut engine = SyncEngine::open(
                    store,
                    FetchTransport::new(device.id, None),
                    identity,
                    now_ms() as u64,
                )
                .await
                .map_err(|e| write_failure(&e.0))?;
                // Random ids: two tabs of one device may open engines in the same millisecond.
                engine.op_ids = Box::new(Uuid::now_v7);
                engine
            }
        };
        recover(&engine.storage, device.id, self.status).await;
        let mut recorded = engine
            .record(change.clone(), now_ms() as u64, &signer)
            .await;
        if recorded.as_ref().is_err_and(|e| e.0 == DATABASE_RESET) {
            // Reset between the check and the write: put things back, then once more.
            recover(&engine.storage, device.id, self.status).await;
            recorded = engine.record(change, now_ms() as u64, &signer).await;
        }
        let op = recorded.map_err(|e| {
            if out_of_space(&e.0) {
                // The browser's figures lag behind a failed write: read them again now.
                let storage = self.status.storage;
                spawn_local(async move { storage.set(storage_info(false).await) });
            }
            write_failure(&e.0)
        })?;
        *self.inner.recorder.borrow_mut() = Some(engine);
        if let Err(err) = outbox_copy::keep(&op) {
            // Recorded in IndexedDB already (taking it back would leave a gap in the seqs):
            // the sale stands, the person is told the second copy failed.
            self.status
                .problem
                .set(Some(outbox_copy::copy_failed_message(&err)));
        }
        self.status.pending.update(|n| *n += 1);
        self.inner.nudge.ring();
        Ok(op)
    }
}

/// Room for the op around its fields in the second copy (ids, stamps, signature, checksum).
const COPY_OVERHEAD: usize = 2_048;

/// Puts back what the browser's reset of IndexedDB took (see `recovery`) and tells the person.
pub(crate) async fn recover(store: &LocalStore, device: Uuid, status: SyncStatus) {
    let outcome = recovery::ensure_current(store, device).await;
    match &outcome {
        Recovery::Intact => {}
        Recovery::Restored(_) => {
            if let Some(text) = outcome.message() {
                status.notice.set(Some(text));
            }
            // The catalog went with the database: counters now, the pull follows.
            if let Ok(pending) = store.outbox_len().await {
                status.pending.set(pending);
            }
        }
        Recovery::Failed(_) => status.problem.set(outcome.message()),
    }
}

fn held_count() -> usize {
    storage::get(HELD_KEY)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sets `signal` only when the value changed: a screen that reads a counter does nothing while
/// the counter stands still (an idle till re-reads no outbox).
pub(crate) fn put<T: PartialEq + Send + std::marker::Sync + 'static>(
    signal: RwSignal<T>,
    value: T,
) {
    signal.maybe_update(|current| {
        if *current == value {
            false
        } else {
            *current = value;
            true
        }
    });
}

/// Every tab: the counters, from IndexedDB, once a second; the storage estimate every 30 s.
async fn refresh_counts(store: LocalStore, status: SyncStatus) {
    let mut ticks = 0_u32;
    let mut counted = None;
    loop {
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(STORAGE_EVERY) {
            if let Some(info) = storage_info(false).await {
                put(status.storage, Some(info));
            }
        }
        if let Ok(pending) = store.outbox_len().await {
            put(status.pending, pending);
            // Counted by kind again when the total moved (the pusher and a recorded sale set
            // the total themselves, so the last count is remembered here), and now and then
            // for a sale recorded while another op left.
            if counted != Some(pending) || ticks.is_multiple_of(RECOUNT_EVERY) {
                if let Ok(counts) = store.outbox_counts().await {
                    put(status.waiting, counts);
                    counted = Some(pending);
                }
            }
            if let Some(progress) = status.progress.get_untracked() {
                put(
                    status.progress,
                    Some(Progress {
                        done: progress.total.saturating_sub(pending),
                        total: progress.total,
                    }),
                );
            }
        }
        if let Ok(dead) = store.dead_letter_count().await {
            put(status.dead_letters, dead);
        }
        if !status.pusher.get_untracked() {
            put(
                status.last_sync,
                storage::get(LAST_SYNC_KEY).and_then(|v| v.parse().ok()),
            );
            put(status.held_for_manager, held_count());
        }
        TimeoutFuture::new(REFRESH_MS).await;
    }
}
