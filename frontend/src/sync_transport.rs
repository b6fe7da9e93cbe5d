//! The engine's transport in the browser: push and pull over fetch, with the session cookie
//! (same origin). No answer at all is `Unreachable` (the engine backs off and keeps the ops);
//! an error status for the whole request — 401 after the session expired, 403 from another
//! store's device — is reported as such and the ops stay queued too.

use leptos::prelude::*;
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
    /// Where a download of many pages (the first catalog) says how far along it is.
    pub download: Option<RwSignal<Option<Download>>>,
    /// The download under way: the cursor it started from and the records received.
    started: Option<(i64, usize)>,
}

/// A download of many pull pages, for the sync bar: records so far and the share done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Download {
    pub records: usize,
    pub percent: u8,
}

impl FetchTransport {
    /// The transport of `device_id`; the pushing tab passes where downloads are shown.
    pub fn new(device_id: Uuid, download: Option<RwSignal<Option<Download>>>) -> Self {
        Self {
            device_id,
            download,
            started: None,
        }
    }

    /// After a page: the download's progress, or none once the last page came.
    fn follow(&mut self, cursor: i64, reply: &PullReply) {
        let Some(shown) = self.download else {
            return;
        };
        match reply.latest.filter(|_| reply.has_more) {
            Some(latest) => {
                let (from, records) = self.started.unwrap_or((cursor, 0));
                let records = records + reply.changes.len();
                self.started = Some((from, records));
                let span = (latest - from).max(1);
                let percent = ((reply.cursor - from) * 100 / span).clamp(0, 99) as u8;
                shown.set(Some(Download { records, percent }));
            }
            None => {
                self.started = None;
                if shown.get_untracked().is_some() {
                    shown.set(None);
                }
            }
        }
    }
}

fn transport_error(err: ApiError) -> TransportError {
    match err {
        ApiError::Network => TransportError::Unreachable,
        ApiError::Server { status, .. } => TransportError::Status(status),
        ApiError::Unreadable { .. } => TransportError::Unreadable,
    }
}

impl Transport for FetchTransport {
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError> {
        api::post(PUSH_URL, &request).await.map_err(transport_error)
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        let url = format!(
            "{PULL_URL}?dispositivo={}&cursor={cursor}&limit={limit}",
            self.device_id
        );
        let reply: PullReply = api::get(&url).await.map_err(transport_error)?;
        self.follow(cursor, &reply);
        Ok(reply)
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
