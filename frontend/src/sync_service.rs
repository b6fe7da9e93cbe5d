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
    api::{
        auth::Profile,
        devices::{DeadLetterReport, Device, MAX_REPORTED_LETTERS},
    },
    sync::{
        engine::{
            DeadLetter, Identity, LocalChange, Storage, SyncEngine, TransportError, RESEALABLE,
        },
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
    poke::Pokes,
    recovery::{self, Recovery},
    session::Session,
    storage,
    storage_space::{out_of_space, storage_info, write_failure, StorageInfo},
    sync_transport::FetchTransport,
    web_lock,
};

/// How often the pushing tab pulls when nothing is pending (and no realtime poke exists yet).
pub const PULL_INTERVAL_MS: f64 = 10_000.0;
/// How often the pushing tab checks whether it can and should sync.
const TICK_MS: u32 = 250;
/// Pull interval while the server's socket is open (it pokes on every change).
pub const POKED_PULL_INTERVAL_MS: f64 = 60_000.0;
/// Every how many ticks the pushing tab checks that IndexedDB was not reset under the page
/// (one read; a reset found is repaired at once, even offline).
const RECOVERY_EVERY: u32 = 4;
/// How often every tab re-reads the counters the screens show.
const REFRESH_MS: u32 = 1_000;
/// Ops per push: a backlog replays in a few large requests (≈ 0.5 MB each, far below the
/// server's 8 MiB limit) instead of many small ones, each paying its own round trip and two
/// durable IndexedDB commits.
const PUSH_BATCH: usize = 500;
const LAST_SYNC_KEY: &str = "pronto.ultima_sincronizacion";
const HELD_KEY: &str = "pronto.conflictos_en_espera";

/// A replay under way: how many of the ops pending when it started have been settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// How often every tab asks the browser for its storage estimate (in refreshes of the counters).
const STORAGE_EVERY: u32 = 30;

/// The signals the screens read; `Copy`, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct SyncStatus {
    pub pending: RwSignal<usize>,
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
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Sync {
    /// Opens the local database and starts the loops; returns at once.
    pub fn start(connection: Connection, device: ThisDevice, session: Session) -> Self {
        let status = SyncStatus {
            pending: RwSignal::new(0),
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
            })),
        };
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
                    let _ = web_lock::with_lock(
                        web_lock::SYNC_LOCK,
                        push_loop(store, status, connection, device, session),
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
                    FetchTransport {
                        device_id: device.id,
                    },
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
        Ok(op)
    }
}

/// Room for the op around its fields in the second copy (ids, stamps, signature, checksum).
const COPY_OVERHEAD: usize = 2_048;

/// Puts back what the browser's reset of IndexedDB took (see `recovery`) and tells the person.
async fn recover(store: &LocalStore, device: Uuid, status: SyncStatus) {
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

/// Every tab: the counters, from IndexedDB, once a second; the storage estimate every 30 s.
async fn refresh_counts(store: LocalStore, status: SyncStatus) {
    let mut ticks = 0_u32;
    loop {
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(STORAGE_EVERY) {
            if let Some(info) = storage_info(false).await {
                status.storage.set(Some(info));
            }
        }
        if let Ok(pending) = store.outbox_len().await {
            status.pending.set(pending);
            if let Some(progress) = status.progress.get_untracked() {
                status.progress.set(Some(Progress {
                    done: progress.total.saturating_sub(pending),
                    total: progress.total,
                }));
            }
        }
        if let Ok(dead) = store.dead_letter_count().await {
            status.dead_letters.set(dead);
        }
        if !status.pusher.get_untracked() {
            status
                .last_sync
                .set(storage::get(LAST_SYNC_KEY).and_then(|v| v.parse().ok()));
            status.held_for_manager.set(held_count());
        }
        TimeoutFuture::new(REFRESH_MS).await;
    }
}

/// Who may push through `device` right now: someone of its store (or an admin).
fn pusher_identity(device: Option<Device>, profile: Option<Profile>) -> Option<Identity> {
    let (device, profile) = (device?, profile?);
    profile
        .principal()
        .can(pronto_shared::Action::UseDevice(device.tienda_id))
        .then_some(Identity {
            device_id: device.id,
            author_id: profile.id,
        })
}

/// The pushing tab's loop (runs while this tab holds the lock).
async fn push_loop(
    store: LocalStore,
    status: SyncStatus,
    connection: Connection,
    device: ThisDevice,
    session: Session,
) {
    status.pusher.set(true);
    let mut engine: Option<Engine> = None;
    let mut next_pull = 0.0;
    // The server pokes this tab when there is something to pull.
    let pokes = Pokes::new(status.live);
    spawn_local(crate::poke::keep_open(
        pokes.clone(),
        connection,
        session,
        device,
    ));
    let mut not_before = 0.0;
    let mut ticks = 0_u32;
    // The dead letters last reported to the server (none yet since this page opened).
    let mut reported: Option<Vec<Uuid>> = None;
    loop {
        TimeoutFuture::new(TICK_MS).await;
        let now = now_ms();
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(RECOVERY_EVERY) {
            if let Some(registered) = device.device.get_untracked() {
                recover(&store, registered.id, status).await;
            }
        }
        let Some(identity) =
            pusher_identity(device.device.get_untracked(), session.profile_untracked())
        else {
            if status.pending.get_untracked() > 0 {
                status.problem.set(Some(
                    "Hay ventas guardadas en este dispositivo: se enviarán cuando alguien de la tienda inicie sesión."
                        .into(),
                ));
            }
            continue;
        };
        if !connection.state.get_untracked().can_sync() || now < not_before {
            continue;
        }
        let pending = store.outbox_len().await.unwrap_or(0);
        let poked = pokes.take();
        if pending == 0 && now < next_pull && !poked {
            continue;
        }
        if engine
            .as_ref()
            .is_none_or(|e| e.identity.device_id != identity.device_id)
        {
            match SyncEngine::open(
                store.clone(),
                FetchTransport {
                    device_id: identity.device_id,
                },
                identity,
                now as u64,
            )
            .await
            {
                Ok(mut opened) => {
                    opened.batch_size = PUSH_BATCH;
                    engine = Some(opened);
                }
                Err(err) => {
                    status
                        .problem
                        .set(Some(format!("Almacenamiento: {}", err.0)));
                    not_before = now + 5_000.0;
                    continue;
                }
            }
        }
        let Some(running) = engine.as_mut() else {
            continue;
        };
        if pending > 0 {
            status.progress.set(Some(Progress {
                done: 0,
                total: pending,
            }));
        }
        let outcome = running.sync(now as u64).await;
        status.progress.set(None);
        match outcome {
            Ok(report) => {
                outbox_copy::forget(&report.answered);
                if let Ok(seq) = running.storage.last_seq().await {
                    outbox_copy::raise_seq_mark(identity.device_id, seq);
                }
                if reseal_refused(running, identity, session, status).await {
                    not_before = 0.0;
                }
                if report.retry_after_ms.is_none() {
                    let stranded = running.storage.dead_letters().await.unwrap_or_default();
                    reported = report_stranded(identity.device_id, &stranded, reported).await;
                }
                if report.pushed > 0 {
                    status.clock_ahead_ms.set(report.clock_ahead_ms);
                }
                if let Some(held) = report.held_for_manager {
                    storage::set(HELD_KEY, &held.to_string());
                    status.held_for_manager.set(held as usize);
                }
                match report.retry_after_ms {
                    Some(wait) => {
                        not_before = now_ms() + wait as f64;
                        status.problem.set(failure_problem(report.failure));
                    }
                    None => {
                        let done = now_ms();
                        storage::set(LAST_SYNC_KEY, &done.to_string());
                        status.last_sync.set(Some(done));
                        status.problem.set(None);
                        // With the socket open, pokes bring changes; the timer is the safety net.
                        let interval = if pokes.open.get_untracked() {
                            POKED_PULL_INTERVAL_MS
                        } else {
                            PULL_INTERVAL_MS
                        };
                        next_pull = done + interval;
                    }
                }
                if let Ok(pending) = store.outbox_len().await {
                    status.pending.set(pending);
                }
            }
            Err(err) => {
                status.problem.set(Some(write_failure(&err.0)));
                not_before = now_ms() + 5_000.0;
            }
        }
    }
}

type Engine = SyncEngine<LocalStore, FetchTransport>;

/// After a sync: ops refused for a seq or id this device had used already (its storage was
/// reset) go out again in a fresh place, at once; their copies follow. Whether any did.
async fn reseal_refused(
    running: &mut Engine,
    identity: Identity,
    session: Session,
    status: SyncStatus,
) -> bool {
    let letters = running.storage.dead_letters().await.unwrap_or_default();
    for letter in &letters {
        if RESEALABLE.contains(&letter.code.as_str()) {
            outbox_copy::keep_letter(letter);
        }
    }
    if letters.is_empty() {
        return false;
    }
    let Some(signer) = session
        .keyring
        .signer(identity.author_id, identity.device_id)
        .await
    else {
        return false;
    };
    let Ok(resealed) = running.reseal(now_ms() as u64, &signer).await else {
        return false;
    };
    for (old, new) in &resealed {
        // The new op's copy first: a crash in between leaves two copies of one sale (applied
        // once: sales are deduplicated by id), never none.
        let _ = outbox_copy::keep(new);
        outbox_copy::forget(&[*old]);
    }
    match outbox_copy::resealed_message(resealed.len()) {
        Some(text) => {
            status.notice.set(Some(text));
            true
        }
        None => false,
    }
}

/// What the person is told when the server turned a sync away.
fn failure_problem(failure: Option<TransportError>) -> Option<String> {
    match failure {
        Some(TransportError::Status(401)) => {
            Some("La sesión expiró: inicia sesión para enviar lo pendiente.".into())
        }
        Some(TransportError::Status(403)) => Some(
            "Este dispositivo no está autorizado para la tienda de quien inició sesión.".into(),
        ),
        Some(TransportError::Status(426)) => Some(
            "Hay una versión nueva de la aplicación: actualízala para seguir enviando. Lo guardado se conserva."
                .into(),
        ),
        Some(TransportError::Unreadable) => Some(crate::api::UNREADABLE.into()),
        Some(TransportError::Status(code)) => {
            Some(format!("El servidor respondió {code}; se reintentará."))
        }
        _ => None,
    }
}

/// Tells the server which ops sit in this device's dead letters, when that changed since the
/// last report (after a re-seal only the ones that could not go out again are left), so the
/// manager's queue screen lists them. Returns what the server now knows.
async fn report_stranded(
    device: Uuid,
    letters: &[DeadLetter],
    reported: Option<Vec<Uuid>>,
) -> Option<Vec<Uuid>> {
    let ids: Vec<Uuid> = letters.iter().map(|l| l.op.body.op_id).collect();
    if reported.as_ref() == Some(&ids) {
        return reported;
    }
    let body: Vec<DeadLetterReport> = letters
        .iter()
        .take(MAX_REPORTED_LETTERS)
        .map(DeadLetterReport::of)
        .collect();
    let url = format!("/api/devices/{device}/rechazadas");
    match crate::api::put::<_, serde_json::Value>(&url, &body).await {
        Ok(_) => Some(ids),
        // Tried again after the next sync.
        Err(_) => reported,
    }
}
