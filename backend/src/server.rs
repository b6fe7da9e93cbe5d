//! Assembles the application and runs it.
//!
//! [`run`] takes its listener and its shutdown signal from the caller (as mini-redis does): the
//! binary binds the configured address and waits for SIGINT/SIGTERM, tests bind port 0 and stop
//! the server by completing a future.

use std::{future::Future, path::PathBuf, sync::Arc};

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{db::Database, routes, static_files, AppError};

/// What every handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Database,
    pub dist: Arc<PathBuf>,
}

impl AppState {
    pub fn new(db: Database, dist: PathBuf) -> Self {
        Self {
            db,
            dist: Arc::new(dist),
        }
    }
}

/// The whole HTTP surface: `/api/*` first, then the web app for every other path.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api", routes::api_router())
        .merge(static_files::router(&state))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests end
/// and closes the database pool.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let db = state.db.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    db.close().await;
    Ok(())
}
