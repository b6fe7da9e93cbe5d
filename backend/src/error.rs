//! The one error type of the backend, and how it reaches the client.
//!
//! Each variant says which HTTP status it becomes. Internal failures (database, I/O) are logged
//! with their cause and answered with an opaque 500: a client never sees SQL or file paths.

use std::net::SocketAddr;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use pronto_shared::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such resource or route.
    #[error("not found: {0}")]
    NotFound(String),

    /// 500: the database failed; logged, never shown.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// 500 at start-up: a migration could not be applied.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// Start-up only: the database URL names no backend we support.
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedDatabase(String),

    /// Start-up only: the listen address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },

    /// 500: file system or socket failure.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl AppError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Database(_)
            | Self::Migration(_)
            | Self::UnsupportedDatabase(_)
            | Self::Bind { .. }
            | Self::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        match self {
            Self::NotFound(what) => ErrorBody::new("not_found", format!("No encontrado: {what}")),
            _ => ErrorBody::new(
                "internal",
                "Ocurrió un error interno del servidor. Intenta de nuevo.",
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = AppError::Io(std::io::Error::other("/secret/path unreadable"));
        let body = err.body();
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.code, "internal");
        assert!(!body.message.contains("secret"));
    }

    #[test]
    fn not_found_names_what_was_missing() {
        let err = AppError::NotFound("/api/nada".into());
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
        assert!(err.body().message.contains("/api/nada"));
    }
}
