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
