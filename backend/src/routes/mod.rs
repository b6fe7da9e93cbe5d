//! The `/api` routers, one module per feature. Each module exposes `router()`.

mod health;

use axum::{http::Uri, Router};

use crate::{AppError, AppState};

/// Everything under `/api`. Unknown paths here answer a JSON 404, never the web app's
/// `index.html`, so a client bug shows up as an API error instead of HTML it cannot parse.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .fallback(unknown_api_path)
}

async fn unknown_api_path(uri: Uri) -> AppError {
    AppError::NotFound(format!("/api{}", uri.path()))
}
