//! `/ws/sincronizacion/{estado,conflictos,cola}/`: the real-time channels (DESIGN §7, §9).
//!
//! The handshake needs the session cookie and an `Origin` equal to the server's own (a page of
//! another site cannot open a socket with the visitor's cookie). Each socket gets the bus's
//! events that its person may see on its channel (shared `events::may_see`), as JSON text.
//! Every [`HEARTBEAT`] the server pings and re-checks the session: a socket silent for two
//! beats, or whose session ended, is closed.

use std::time::{Duration, Instant};

use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        Path, State,
    },
    http::{header, HeaderMap},
    response::Response,
    routing::get,
    Router,
};
use pronto_shared::{
    sync::events::{may_open, may_see, Channel, Event},
    Principal,
};
use tokio::sync::broadcast::error::RecvError;

use crate::{auth::CurrentUser, AppError, AppState};

pub const HEARTBEAT: Duration = Duration::from_secs(20);
const SOCKET_BUFFER: usize = 4 * 1024;
/// A socket this far behind in writes is dropped (its device pulls on reconnect).
const MAX_WRITE_BUFFER: usize = 256 * 1024;
const MAX_INCOMING: usize = 16 * 1024;
/// Close code for "the session ended" (4000–4999 are the application's).
const SESSION_ENDED: u16 = 4401;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sincronizacion/{canal}/", get(open))
        .route("/sincronizacion/{canal}", get(open))
}

/// Whether the handshake's `Origin` is this server (same host and port as `Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host)
}

async fn open(
    State(state): State<AppState>,
    Path(canal): Path<String>,
    headers: HeaderMap,
    user: CurrentUser,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        tracing::warn!("socket refused: foreign or missing Origin");
        return Err(AppError::Forbidden);
    }
    let channel = Channel::parse(&canal)
        .ok_or_else(|| AppError::NotFound(format!("/ws/sincronizacion/{canal}/")))?;
    let who = user.principal();
    if !may_open(&who, channel) {
        return Err(AppError::Forbidden);
    }
    let events = state.events.subscribe();
    // Browsers send us nothing but pongs, and our messages are small: the default 128 KiB
    // read and write buffers would cost ~150 KiB per socket, 150 MiB per 1,000 devices.
    let upgrade = upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING);
    Ok(upgrade.on_upgrade(move |socket| serve(socket, state, user, channel, events)))
}

async fn serve(
    mut socket: WebSocket,
    state: AppState,
    user: CurrentUser,
    channel: Channel,
    mut events: tokio::sync::broadcast::Receiver<Event>,
) {
    let mut who: Principal = user.principal();
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.tick().await;
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    // Fell behind: whatever was missed, a pull catches up.
                    Err(RecvError::Lagged(_)) => Event::Resincronizar,
                    Err(RecvError::Closed) => break,
                };
                if !may_see(&who, channel, &event) && event != Event::Resincronizar {
                    continue;
                }
                let Ok(json) = serde_json::to_string(&event) else { continue };
                if socket.send(Message::Text(json.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = beat.tick() => {
                if heard.elapsed() > 2 * HEARTBEAT {
                    tracing::debug!("socket silent for two heartbeats: closed");
                    break;
                }
                match CurrentUser::from_token_hash(&state, user.token_hash.clone()).await {
                    Ok(current) => who = current.principal(),
                    Err(_) => {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame {
                                code: SESSION_ENDED,
                                reason: "sesión terminada".into(),
                            })))
                            .await;
                        break;
                    }
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_servers_own_origin_opens_a_socket() {
        assert!(same_origin(&headers(
            Some("http://pos.local:8080"),
            "pos.local:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://pos.example"),
            "pos.example"
        )));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "pos.local:8080"
        )));
        assert!(!same_origin(&headers(
            Some("http://pos.local:9090"),
            "pos.local:8080"
        )));
        assert!(!same_origin(&headers(None, "pos.local:8080")));
        assert!(!same_origin(&headers(Some("null"), "pos.local:8080")));
    }
}
