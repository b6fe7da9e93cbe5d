//! The pushing tab's loop (runs while this tab holds the sync lock): every tick it checks that
//! the database was not reset, whether someone may push and the server answers, and syncs when
//! there is something to push, a poke, or the pull interval passed; afterwards it re-seals
//! what the device's own reset made the server refuse, reports what is stranded, and backs
//! off after a failure.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        auth::Profile,
        devices::{DeadLetterReport, Device, MAX_REPORTED_LETTERS},
    },
    sync::engine::{
        DeadLetter, Identity, Storage, SyncEngine, SyncReport, TransportError, RESEALABLE,
    },
};
use uuid::Uuid;

use super::{
    now_ms, nudge::Nudge, recover, Progress, SyncStatus, HELD_KEY, LAST_SYNC_KEY,
    POKED_PULL_INTERVAL_MS, PULL_INTERVAL_MS, PUSH_BATCH, RECOVERY_EVERY, TICK_MS,
};
use crate::{
    connection::Connection, device::ThisDevice, local_store::LocalStore, outbox_copy, poke::Pokes,
    session::Session, storage, storage_space::write_failure, sync_transport::FetchTransport,
};

type Engine = SyncEngine<LocalStore, FetchTransport>;

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

/// What the loop keeps between ticks.
struct Pusher {
    store: LocalStore,
    status: SyncStatus,
    session: Session,
    pokes: Pokes,
    engine: Option<Engine>,
    /// No pull before this (epoch ms) unless something is pending or a poke came.
    next_pull: f64,
    /// No sync at all before this: the backoff after a failure.
    not_before: f64,
    /// The dead letters last reported to the server (none yet since this page opened).
    reported: Option<Vec<Uuid>>,
}

pub(super) async fn push_loop(
    store: LocalStore,
    status: SyncStatus,
    connection: Connection,
    device: ThisDevice,
    session: Session,
    nudge: Nudge,
) {
    status.pusher.set(true);
    // The server pokes this tab when there is something to pull.
    let pokes = Pokes::new(status.live);
    spawn_local(crate::poke::keep_open(
        pokes.clone(),
        connection,
        session,
        device,
    ));
    let mut pusher = Pusher {
        store,
        status,
        session,
        pokes,
        engine: None,
        next_pull: 0.0,
        not_before: 0.0,
        reported: None,
    };
    let mut ticks = 0_u32;
    loop {
        nudge.wait(TICK_MS).await;
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(RECOVERY_EVERY) {
            if let Some(registered) = device.device.get_untracked() {
                recover(&pusher.store, registered.id, status).await;
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
        if connection.state.get_untracked().can_sync() && now_ms() >= pusher.not_before {
            pusher.tick(identity).await;
        }
    }
}

impl Pusher {
    /// Syncs if there is reason to.
    async fn tick(&mut self, identity: Identity) {
        let now = now_ms();
        let pending = self.store.outbox_len().await.unwrap_or(0);
        let poked = self.pokes.take();
        if pending == 0 && now < self.next_pull && !poked {
            return;
        }
        if !self.open_engine(identity, now).await {
            return;
        }
        let Some(running) = self.engine.as_mut() else {
            return;
        };
        if pending > 0 {
            self.status.progress.set(Some(Progress {
                done: 0,
                total: pending,
            }));
        }
        let outcome = running.sync(now as u64).await;
        self.status.progress.set(None);
        match outcome {
            Ok(report) => self.after_sync(identity, report).await,
            Err(err) => {
                self.status.problem.set(Some(write_failure(&err.0)));
                self.not_before = now_ms() + 5_000.0;
            }
        }
    }

    /// An engine for this device (a new one when the device changed); false after a failure.
    async fn open_engine(&mut self, identity: Identity, now: f64) -> bool {
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.identity.device_id == identity.device_id)
        {
            return true;
        }
        let transport = FetchTransport::new(identity.device_id, Some(self.status.download));
        match SyncEngine::open(self.store.clone(), transport, identity, now as u64).await {
            Ok(mut opened) => {
                opened.batch_size = PUSH_BATCH;
                self.engine = Some(opened);
                true
            }
            Err(err) => {
                self.status
                    .problem
                    .set(Some(format!("Almacenamiento: {}", err.0)));
                self.not_before = now + 5_000.0;
                false
            }
        }
    }

    async fn after_sync(&mut self, identity: Identity, report: SyncReport) {
        let Some(running) = self.engine.as_mut() else {
            return;
        };
        let status = self.status;
        outbox_copy::forget(&report.answered);
        if let Ok(seq) = running.storage.last_seq().await {
            outbox_copy::raise_seq_mark(identity.device_id, seq);
        }
        if reseal_refused(running, identity, self.session, status).await {
            self.not_before = 0.0;
        }
        if report.retry_after_ms.is_none() {
            let stranded = running.storage.dead_letters().await.unwrap_or_default();
            let reported = self.reported.take();
            self.reported = report_stranded(identity.device_id, &stranded, reported).await;
        }
        if report.pushed > 0 {
            status.clock_ahead_ms.set(report.clock_ahead_ms);
        }
        if report.pulled > 0 {
            // The catalog just grew the database: the storage figures are read again now, not
            // at the next half-minute refresh ("Usado 0.0 MB" after the first download).
            let storage = status.storage;
            spawn_local(async move {
                super::put(storage, crate::storage_space::storage_info(false).await)
            });
        }
        if let Some(held) = report.held_for_manager {
            storage::set(HELD_KEY, &held.to_string());
            super::put(status.held_for_manager, held as usize);
        }
        match report.retry_after_ms {
            Some(wait) => {
                self.not_before = now_ms() + wait as f64;
                status.problem.set(failure_problem(report.failure));
            }
            None => {
                let done = now_ms();
                storage::set(LAST_SYNC_KEY, &done.to_string());
                status.last_sync.set(Some(done));
                status.problem.set(None);
                // With the socket open, pokes bring changes; the timer is the safety net.
                let interval = if self.pokes.open.get_untracked() {
                    POKED_PULL_INTERVAL_MS
                } else {
                    PULL_INTERVAL_MS
                };
                self.next_pull = done + interval;
            }
        }
        if let Ok(pending) = self.store.outbox_len().await {
            super::put(status.pending, pending);
        }
    }
}

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
