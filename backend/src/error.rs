//! The one error type of the backend, and how it reaches the client.
//!
//! Each variant says which HTTP status it becomes. Internal failures (database, I/O) are logged
//! with their cause and answered with an opaque 500: a client never sees SQL or file paths.
//! Messages are Spanish (es-MX): the browser shows them as they come.

use std::net::SocketAddr;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use pronto_shared::{domain::FieldErrors, ErrorBody};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the body is not JSON, or not the JSON this route reads.
    #[error("bad request: {0}")]
    BadRequest(String),

    /// 401: no session, or it expired or was closed.
    #[error("not signed in")]
    Unauthenticated,

    /// 401: wrong user name or password (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,

    /// 403: signed in, but role or store does not allow this.
    #[error("forbidden")]
    Forbidden,

    /// 404: no such resource or route.
    #[error("not found: {0}")]
    NotFound(String),

    /// 409: the change collides with existing data (a duplicate SKU, a stale version).
    #[error("conflict: {0}")]
    Conflict(String),

    /// 413: the body is larger than this route accepts.
    #[error("payload too large")]
    PayloadTooLarge,

    /// 413: a push with more ops than one batch may carry; the client splits it.
    #[error("too many ops in one push (limit {0})")]
    TooManyOps(usize),

    /// 426: the app speaks an older sync protocol; it keeps its outbox and updates.
    #[error("client protocol too old")]
    UpgradeRequired,

    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,

    /// 422: well-formed, but values break domain rules; per-field messages.
    #[error("validation failed: {0}")]
    Validation(FieldErrors),

    /// 429: too many failed sign-ins; try again after the given seconds.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },

    /// 503: too much work queued (sign-in hashing); try again after the given seconds.
    #[error("busy")]
    Busy { retry_after_secs: u64 },

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

    /// 500: a bug or broken invariant (e.g. a stored value that no longer parses).
    #[error("internal error: {0}")]
    Internal(String),

    /// Commands only (`pronto backup`, `restore`, a second server on one SQLite file): what
    /// the operator asked cannot be done as things are; the message says why.
    #[error("{0}")]
    Refused(String),
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

impl AppError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge | Self::TooManyOps(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_)
            | Self::Migration(_)
            | Self::UnsupportedDatabase(_)
            | Self::Bind { .. }
            | Self::Io(_)
            | Self::Internal(_)
            | Self::Refused(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body this error answers with.
    pub fn body(&self) -> ErrorBody {
        match self {
            Self::BadRequest(message) => ErrorBody::new("bad_request", message.clone()),
            Self::Unauthenticated => {
                ErrorBody::new("unauthenticated", "Inicia sesión para continuar.")
            }
            Self::InvalidCredentials => {
                ErrorBody::new("invalid_credentials", "Usuario o contraseña incorrectos.")
            }
            Self::Forbidden => ErrorBody::new("forbidden", "No tienes permiso para esta acción."),
            Self::NotFound(what) => ErrorBody::new("not_found", format!("No encontrado: {what}")),
            Self::Conflict(message) => ErrorBody::new("conflict", message.clone()),
            Self::PayloadTooLarge => {
                ErrorBody::new("payload_too_large", "La solicitud es demasiado grande.")
            }
            Self::TooManyOps(limit) => ErrorBody::new(
                "too_many_ops",
                format!("Se enviaron demasiadas operaciones juntas (máximo {limit})."),
            ),
            Self::UpgradeRequired => ErrorBody::new(
                "upgrade_required",
                "Esta versión de la aplicación ya no puede sincronizar: actualízala. Las ventas guardadas se conservan.",
            ),
            Self::UnsupportedMediaType => ErrorBody::new(
                "unsupported_media_type",
                "La solicitud debe enviarse como application/json.",
            ),
            Self::Validation(errors) => errors.clone().into_body(),
            Self::TooManyAttempts { retry_after_secs } => ErrorBody::new(
                "too_many_attempts",
                format!(
                    "Demasiados intentos fallidos. Espera {} minutos e intenta de nuevo.",
                    retry_after_secs.div_ceil(60).max(1)
                ),
            ),
            Self::Busy { .. } => ErrorBody::new(
                "busy",
                "El servidor está muy ocupado en este momento. Intenta de nuevo en unos segundos.",
            ),
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
        let body = self.body();
        if status.is_client_error() {
            crate::metrics::refused(&body.code);
        }
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyAttempts { retry_after_secs } | Self::Busy { retry_after_secs } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
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

    #[test]
    fn validation_errors_carry_their_fields() {
        let mut fields = FieldErrors::new();
        fields.add("precio", "El precio debe ser mayor que cero.");
        let err = AppError::from(fields);
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.body().fields.len(), 1);
    }

    #[test]
    fn too_many_attempts_sets_retry_after() {
        let response = AppError::TooManyAttempts {
            retry_after_secs: 90,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "90");
    }
}
