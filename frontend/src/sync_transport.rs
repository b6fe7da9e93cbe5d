//! The engine's transport in the browser: push and pull over fetch, with the session cookie
//! (same origin). No answer at all is `Unreachable` (the engine backs off and keeps the ops);
//! an error status for the whole request — 401 after the session expired, 403 from another
//! store's device — is reported as such and the ops stay queued too.

use pronto_shared::sync::{
    engine::{Transport, TransportError},
    PullReply, PushReply, PushRequest,
};
use uuid::Uuid;

use crate::api::{self, ApiError};

pub const PUSH_URL: &str = "/api/sync/push";
pub const PULL_URL: &str = "/api/sync/pull";

#[derive(Debug, Clone, Copy)]
pub struct FetchTransport {
    pub device_id: Uuid,
}

fn transport_error(err: ApiError) -> TransportError {
    match err {
        ApiError::Network => TransportError::Unreachable,
        ApiError::Server { status, .. } => TransportError::Status(status),
        ApiError::Unreadable { .. } => TransportError::Unreadable,
    }
}

impl Transport for FetchTransport {
    async fn push(&mut self, request: PushRequest) -> Result<PushReply, TransportError> {
        api::post(PUSH_URL, &request).await.map_err(transport_error)
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        let url = format!(
            "{PULL_URL}?dispositivo={}&cursor={cursor}&limit={limit}",
            self.device_id
        );
        api::get(&url).await.map_err(transport_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_does_not_parse_is_reported_as_such_not_as_offline() {
        let unreadable = ApiError::Unreadable {
            status: 200,
            detail: "expected value at line 1 column 1".into(),
        };
        assert_eq!(unreadable.status(), Some(200));
        assert!(unreadable.message().contains("no se pudo leer"));
        assert_eq!(transport_error(unreadable), TransportError::Unreadable);
        assert_eq!(
            transport_error(ApiError::Network),
            TransportError::Unreachable
        );
    }
}
