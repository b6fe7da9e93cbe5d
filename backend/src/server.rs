//! Assembles the application and runs it.
//!
//! [`run`] takes its listener and its shutdown signal from the caller (as mini-redis does): the
//! binary binds the configured address and waits for SIGINT/SIGTERM, tests bind port 0 and stop
//! the server by completing a future.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use pronto_shared::sync::{Hlc, HlcClock};
use uuid::Uuid;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    auth::AuthConfig,
    clock::{Clock, SystemClock},
    db::Database,
    events::EventBus,
    presence::Presence,
    routes, static_files, ws, AppError,
};

/// What every handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Database,
    pub dist: Arc<PathBuf>,
    pub clock: Arc<dyn Clock>,
    pub auth: Arc<AuthConfig>,
    /// This process's hybrid logical clock: stamps server-side edits and observes devices'.
    pub hlc: Arc<Mutex<HlcClock>>,
    /// Pokes and dashboard events for the sockets (`events.rs`).
    pub events: EventBus,
    /// Device sockets heard since the last presence write (`presence.rs`).
    pub presence: Presence,
    /// Whether the database took a write lately (`writable.rs`), for `/api/health`.
    pub writable: crate::writable::Writable,
    /// The password-hashing threads and their bounded line (`auth/password.rs`).
    pub hashing: Arc<crate::auth::password::Hashing>,
    /// Requests running in their own task ([`crate::edge::run_to_completion`]): shutdown waits
    /// for them, and the simulation waits for one whose client it dropped.
    pub requests: tokio_util::task::TaskTracker,
    /// How long applied ops' answers are kept before compaction (`sync/retention.rs`).
    pub retention: std::time::Duration,
    /// The database's identity (`pull::instance`), read on the first pull: it changes only by
    /// a restore, which needs every server on the database stopped.
    pub instance: Arc<std::sync::OnceLock<String>>,
    /// Pushes of one device on their way to the writer, kept in seq order (`push/device_order.rs`).
    pub push_order: Arc<crate::sync::push::device_order::PushOrder>,
}

impl AppState {
    /// Real clock, default session settings.
    pub fn new(db: Database, dist: PathBuf) -> Self {
        Self {
            events: EventBus::new(db.clone()),
            presence: Presence::default(),
            writable: crate::writable::Writable::default(),
            hashing: Arc::new(crate::auth::password::Hashing::default()),
            requests: tokio_util::task::TaskTracker::new(),
            retention: crate::sync::retention::DEFAULT_RETENTION,
            instance: Arc::default(),
            push_order: Arc::default(),
            db,
            dist: Arc::new(dist),
            clock: Arc::new(SystemClock),
            auth: Arc::new(AuthConfig::default()),
            // Unique per process, so stamps of several servers on one database never tie.
            hlc: Arc::new(Mutex::new(HlcClock::new(format!(
                "srv-{}",
                Uuid::now_v7().simple()
            )))),
        }
    }

    /// A fresh stamp for a change made here.
    pub fn next_hlc(&self) -> Hlc {
        let now = u64::try_from(self.clock.now_ms()).unwrap_or(0);
        match self.hlc.lock() {
            Ok(mut clock) => clock.tick(now),
            Err(poisoned) => poisoned.into_inner().tick(now),
        }
    }

    /// Takes in a device's stamp so later server stamps order after it.
    pub fn observe_hlc(&self, remote: &Hlc) -> Hlc {
        let now = u64::try_from(self.clock.now_ms()).unwrap_or(0);
        match self.hlc.lock() {
            Ok(mut clock) => clock.observe(remote, now),
            Err(poisoned) => poisoned.into_inner().observe(remote, now),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names this server's hybrid logical clock (its tie-breaker) instead of a random name: a
    /// simulated seed must not draw anything outside its seed.
    pub fn with_hlc_node(self, node: &str) -> Self {
        match self.hlc.lock() {
            Ok(mut clock) => *clock = HlcClock::new(node.to_owned()),
            Err(poisoned) => *poisoned.into_inner() = HlcClock::new(node.to_owned()),
        }
        self
    }

    /// Waits until no request task is running (those a dropped client left behind included).
    pub async fn requests_done(&self) {
        self.requests.close();
        self.requests.wait().await;
        self.requests.reopen();
    }

    pub fn with_retention(mut self, retention: std::time::Duration) -> Self {
        self.retention = retention;
        self
    }

    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = Arc::new(auth);
        self
    }
}

/// The span every log line of a request is in: method, path and the request's id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// The whole HTTP surface: `/api/*` first, then the web app for every other path.
pub fn router(state: AppState) -> Router {
    let guarded = axum::middleware::from_fn(crate::edge::guard);
    let detached =
        axum::middleware::from_fn_with_state(state.clone(), crate::edge::run_to_completion);
    Router::new()
        .nest(
            "/api",
            routes::api_router()
                .layer(detached.clone())
                .layer(guarded.clone())
                // JSON answers compress about tenfold (a 500-change pull page: 192 KB → 21 KB
                // gzipped); the fastest level keeps most of that for a fraction of the CPU.
                // Static files are compressed at build time instead (post-build.sh).
                .layer(
                    CompressionLayer::new()
                        .gzip(true)
                        .br(true)
                        .quality(CompressionLevel::Fastest),
                ),
        )
        .nest("/ws", ws::router().layer(detached).layer(guarded))
        .merge(static_files::router(&state))
        // Every request gets an id (or keeps the proxy's `x-request-id`), sent back in the
        // answer and carried by every log line of the request.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests end
/// and closes the database pool.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let (db, requests) = (state.db.clone(), state.requests.clone());
    state.events.start_listener();
    let presence = tokio::spawn(write_presence(state.clone()));
    // Known before the first request: a fresh server is writable or says it is not.
    state.writable.probe(&state.db).await;
    let probe = tokio::spawn(probe_writes(state.clone()));
    let compaction = tokio::spawn(compact_hourly(state.clone()));
    let checkpoints = tokio::spawn(checkpoint_often(state.db.clone()));
    // Peer addresses feed the per-IP sign-in limit.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    presence.abort();
    probe.abort();
    compaction.abort();
    checkpoints.abort();
    // A request whose client went away still runs in its own task: let it commit (or roll
    // back) before the pool closes.
    requests.close();
    requests.wait().await;
    served?;
    db.close().await;
    Ok(())
}

/// Compacts answered ops past their retention once an hour (see `sync/retention.rs`); the
/// first run a minute after start, not in the way of a restart's burst of reconnecting tills.
async fn compact_hourly(state: AppState) {
    let hour = std::time::Duration::from_secs(3600);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        hour,
    );
    loop {
        tick.tick().await;
        let before = state.clock.now() - state.retention;
        match crate::sync::retention::compact(&state.db, before).await {
            Ok(0) => {}
            Ok(ops) => tracing::info!(ops, "answered ops compacted"),
            Err(err) => tracing::warn!(%err, "compaction failed; tried again in an hour"),
        }
    }
}

/// Checkpoints SQLite's write-ahead log four times a second (`Database::checkpoint`), so
/// that commits do not: in a replay a quarter of a second added ≈ 2,700 pages to the log,
/// under the 8,000 at which a commit would checkpoint itself. When nothing was written since
/// the last one, a checkpoint copies nothing and syncs nothing. Ends at once on PostgreSQL.
async fn checkpoint_often(db: crate::db::Database) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match db.checkpoint().await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%err, "checkpoint failed; the next commit past the mark does it")
            }
        }
    }
}

/// Probes once a second whether the database takes a write (see `writable.rs`).
async fn probe_writes(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        state.writable.probe(&state.db).await;
    }
}

/// Writes the devices heard by their sockets once per heartbeat, for as long as the server runs.
async fn write_presence(state: AppState) {
    let mut tick = tokio::time::interval(crate::ws::HEARTBEAT);
    loop {
        tick.tick().await;
        if let Err(err) = state
            .presence
            .flush(&state.db, &state.clock.now_rfc3339())
            .await
        {
            tracing::warn!(%err, "device presence not recorded; kept for the next beat");
        }
    }
}
