//! `GET /api/health`: version and database status, the browser's heartbeat target.

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use pronto_shared::{DatabaseStatus, HealthReport, HealthStatus};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// 200 with the report when the database answers and took a write within the last seconds,
/// 503 with the same report when not, so load balancers and the heartbeat can both rely on the
/// status code alone.
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "salud",
    responses((status = 200, description = "Todo en orden", body = HealthReport), (status = 503, description = "La base de datos no responde o no acepta escrituras", body = HealthReport)),
    security(()),
)]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let (reachable, migrations) = match state.db.applied_migrations().await {
        Ok(count) => (true, count),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (false, 0)
        }
    };
    let report = HealthReport::new(
        env!("CARGO_PKG_VERSION"),
        DatabaseStatus {
            backend: state.db.backend().as_str().to_owned(),
            reachable,
            migrations,
            writable: state.writable.now(),
        },
    );
    let status = match report.status {
        HealthStatus::Ok => StatusCode::OK,
        HealthStatus::Degraded => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(report))
}
