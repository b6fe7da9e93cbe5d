//! What every `/api` and `/ws` answer obeys, whichever handler (or none) produced it:
//!
//! - A request that changes state (POST, PUT, PATCH, DELETE) must say
//!   `Content-Type: application/json`, body or not. A page of another site can send a
//!   "simple" cross-site form post with the visitor's cookie (SameSite=Strict stops most, not a
//!   same-site sibling); it cannot set this header without a CORS preflight, which we never
//!   grant. So a no-cors form can neither sign anyone out nor deactivate a device.
//! - Every error has the `{code, message, fields}` body, also those axum makes itself (a bad
//!   path parameter, a wrong method, a refused WebSocket upgrade): clients parse one shape.
//! - JSON answers carry `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`: a
//!   shared tablet's browser must not keep sales or customers in its HTTP cache.
//! - A request runs to its end in a task of its own ([`run_to_completion`]): a client that
//!   goes away drops only the waiting, never the handler half-way through a transaction.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use pronto_shared::ErrorBody;

use crate::{AppError, AppState};

/// Methods that change state.
fn writes(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn is_json(value: Option<&HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The JSON error body for a status some layer answered without one: the application's own
/// error where it has one for that status (one wording for both), else a generic one.
fn body_for(status: StatusCode) -> ErrorBody {
    let known = match status {
        StatusCode::UNAUTHORIZED => Some(AppError::Unauthenticated),
        StatusCode::FORBIDDEN => Some(AppError::Forbidden),
        StatusCode::PAYLOAD_TOO_LARGE => Some(AppError::PayloadTooLarge),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some(AppError::UnsupportedMediaType),
        s if s.is_server_error() => Some(AppError::Internal(String::new())),
        _ => None,
    };
    if let Some(error) = known {
        return error.body();
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "La solicitud no es válida (revisa la dirección y sus parámetros).",
        ),
        StatusCode::NOT_FOUND => ("not_found", "No encontrado."),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "Esta dirección no admite ese método.")
        }
        StatusCode::UPGRADE_REQUIRED => ("upgrade_required", "Se esperaba una conexión WebSocket."),
        _ => ("http", "La solicitud no se pudo atender."),
    };
    ErrorBody::new(code, message)
}

/// Runs the rest of the request in its own task and waits for it. Hyper drops a request's
/// future when its client disconnects; dropped after `BEGIN IMMEDIATE`, sqlx 0.8 returns the
/// connection to the pool still inside the transaction, and every later write fails ("database
/// is locked", "begin_with at non-zero transaction depth") until a restart. In a task the
/// request does not own, every transaction commits or rolls back whatever the client does.
pub async fn run_to_completion(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // The task keeps the request's span: its log lines carry the request's id.
    let run = tracing::Instrument::in_current_span(next.run(request));
    match state.requests.spawn(run).await {
        Ok(response) => response,
        Err(err) => AppError::Internal(format!("request task failed: {err}")).into_response(),
    }
}

/// The rules above, as one `axum::middleware::from_fn` layer.
pub async fn guard(request: Request, next: Next) -> Response {
    if writes(request.method()) && !is_json(request.headers().get(header::CONTENT_TYPE)) {
        return finish(
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(body_for(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
            )
                .into_response(),
        );
    }
    finish(next.run(request).await)
}

fn finish(response: Response) -> Response {
    let status = response.status();
    let mut response = if status.is_client_error() || status.is_server_error() {
        if is_json(response.headers().get(header::CONTENT_TYPE)) {
            response
        } else {
            let (mut parts, _) = response.into_parts();
            let json = Json(body_for(status)).into_response();
            let (json_parts, body) = json.into_parts();
            parts.headers.insert(
                header::CONTENT_TYPE,
                json_parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .cloned()
                    .unwrap_or(HeaderValue::from_static("application/json")),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::new(body))
        }
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_json(headers.get(header::CONTENT_TYPE)) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
