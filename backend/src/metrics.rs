//! Prometheus metrics, served on their own listener (`--metrics-bind`, off by default: who can
//! reach that address can read them; the API's port never serves them).
//!
//! Counted as things happen: ops by model and outcome, push latency, pull pages, sign-in
//! failures, refusals by code, open WebSocket connections. Read from the database at scrape
//! time: open conflicts, the queue held for managers, each store's sync lag (how long since its
//! least recently synced active device last synced), the connection pool.

use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use axum::{extract::State, routing::get, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pronto_shared::sync::OpResult;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use tokio::net::TcpListener;

use crate::{server::AppState, AppError};

/// Seconds buckets of the push latency: a small batch takes milliseconds, a full one of 1,000
/// signed ops tens to hundreds.
const PUSH_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's recorder, installed once (tests start many servers in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("pronto_push_seconds".into()), &PUSH_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder (a test harness's) may be installed already; ours still renders
        // what it is given through its handle, so a failure here only means fewer series.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// One push's answers, by model and outcome, and how long it took.
pub fn pushed(models: &[String], results: &[OpResult], took: Duration) {
    handle();
    metrics::histogram!("pronto_push_seconds").record(took.as_secs_f64());
    for (model, result) in models.iter().zip(results) {
        let outcome = match result {
            OpResult::Applied { .. } => "applied",
            OpResult::Duplicate { .. } => "duplicate",
            OpResult::Conflict { .. } => "conflict",
            OpResult::Rejected { .. } => "rejected",
            OpResult::Held { .. } => "held",
        };
        metrics::counter!("pronto_ops_total", "model" => model.clone(), "outcome" => outcome)
            .increment(1);
    }
}

pub fn pull_page() {
    handle();
    metrics::counter!("pronto_pull_pages_total").increment(1);
}

pub fn sign_in_failed() {
    handle();
    metrics::counter!("pronto_sign_in_failures_total").increment(1);
}

/// A request answered with a 4xx: its error code (`forbidden`, `validation`, …).
pub fn refused(code: &str) {
    handle();
    metrics::counter!("pronto_refusals_total", "code" => code.to_owned()).increment(1);
}

/// Counts an open WebSocket while alive.
pub struct SocketGauge(());

impl SocketGauge {
    pub fn open() -> Self {
        handle();
        metrics::gauge!("pronto_websocket_connections").increment(1.0);
        Self(())
    }
}

impl Drop for SocketGauge {
    fn drop(&mut self) {
        metrics::gauge!("pronto_websocket_connections").decrement(1.0);
    }
}

fn age_secs(at: &str, now: OffsetDateTime) -> Option<f64> {
    let at = OffsetDateTime::parse(at, &Rfc3339).ok()?;
    Some((now - at).as_seconds_f64().max(0.0))
}

/// The figures read from the database at scrape time.
async fn observe(state: &AppState) -> Result<(), AppError> {
    let pool = state.db.pool();
    metrics::gauge!("pronto_db_pool_connections").set(f64::from(pool.size()));
    metrics::gauge!("pronto_db_pool_idle").set(pool.num_idle() as f64);
    let started = std::time::Instant::now();
    let mut conn = pool.acquire().await?;
    metrics::gauge!("pronto_db_pool_acquire_seconds").set(started.elapsed().as_secs_f64());
    let conflicts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT store_id, COUNT(*) FROM sync_conflicts WHERE status = 'pending' GROUP BY store_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let queue: Vec<(String, i64)> = sqlx::query_as(
        "SELECT store_id, COUNT(*) FROM sync_ops WHERE status IN ('pending', 'held') \
         GROUP BY store_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let devices: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT d.store_id, d.code, MAX(s.ended_at) FROM devices d \
         LEFT JOIN sync_sessions s ON s.device_id = d.id WHERE d.active = 1 \
         GROUP BY d.id, d.store_id, d.code",
    )
    .fetch_all(&mut *conn)
    .await?;
    let codes: Vec<(String, String)> = sqlx::query_as("SELECT id, code FROM stores")
        .fetch_all(&mut *conn)
        .await?;
    drop(conn);
    let store = |id: &str| {
        codes
            .iter()
            .find(|(s, _)| s == id)
            .map_or_else(|| id.to_owned(), |(_, code)| code.clone())
    };
    for (id, _) in &codes {
        let label = store(id);
        let count = |rows: &[(String, i64)]| {
            rows.iter().find(|(s, _)| s == id).map_or(0, |(_, n)| *n) as f64
        };
        metrics::gauge!("pronto_conflicts_open", "store" => label.clone()).set(count(&conflicts));
        metrics::gauge!("pronto_queue_held", "store" => label).set(count(&queue));
    }
    let now = OffsetDateTime::now_utc();
    let mut lag: Vec<(String, f64)> = Vec::new();
    for (store_id, code, last) in &devices {
        let Some(age) = last.as_deref().and_then(|at| age_secs(at, now)) else {
            continue;
        };
        let label = store(store_id);
        metrics::gauge!("pronto_device_last_sync_age_seconds", "store" => label.clone(), "device" => code.clone())
            .set(age);
        match lag.iter_mut().find(|(s, _)| *s == label) {
            Some((_, worst)) => *worst = worst.max(age),
            None => lag.push((label, age)),
        }
    }
    for (label, age) in lag {
        metrics::gauge!("pronto_store_sync_lag_seconds", "store" => label).set(age);
    }
    Ok(())
}

async fn scrape(State(state): State<AppState>) -> Result<String, AppError> {
    let handle = handle();
    observe(&state).await?;
    Ok(handle.render())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Serves `/metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, state: AppState) -> Result<(), AppError> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "metrics listening");
    axum::serve(listener, router(state))
        .await
        .map_err(AppError::Io)
}
