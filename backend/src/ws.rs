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
        Path, Query, State,
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

use serde::Deserialize;
use uuid::Uuid;

use crate::{auth::CurrentUser, model::devices, sync::push, AppError, AppState};

/// `?dispositivo=<id>`: the socket of a registered device, whose presence the dashboard shows.
#[derive(Debug, Default, Deserialize)]
struct SocketQuery {
    #[serde(default)]
    dispositivo: Option<Uuid>,
}

/// A device's socket: which device, of which store.
#[derive(Debug, Clone, Copy)]
struct Present {
    device: Uuid,
    store: Uuid,
}

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
    Query(query): Query<SocketQuery>,
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
    let present = match query.dispositivo {
        Some(id) => {
            let mut conn = state.db.pool().acquire().await?;
            // Refuses a device of another store (403) or an unknown one (404).
            let device = push::device_for(&mut conn, &user, id).await?;
            Some(Present {
                device: device.id,
                store: device.store_id,
            })
        }
        None => None,
    };
    let events = state.events.subscribe();
    // Browsers send us nothing but pongs, and our messages are small: the default 128 KiB
    // read and write buffers would cost ~150 KiB per socket, 150 MiB per 1,000 devices.
    let upgrade = upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let _open = crate::metrics::SocketGauge::open();
        announce(&state, present, true).await;
        serve(socket, state.clone(), user, channel, events, present).await;
        announce(&state, present, false).await;
    }))
}

/// Counts the device's socket as opened or closed and tells the dashboards.
async fn announce(state: &AppState, present: Option<Present>, connected: bool) {
    let Some(p) = present else { return };
    let at = state.clock.now_rfc3339();
    let result = match state.db.pool().acquire().await {
        Ok(mut conn) => devices::socket(&mut conn, p.device, connected, &at).await,
        Err(err) => Err(err.into()),
    };
    if let Err(err) = result {
        tracing::warn!(%err, "device presence not recorded");
    }
    state
        .events
        .publish(Event::Dispositivo {
            tienda_id: p.store,
            dispositivo_id: p.device,
            conectado: connected,
        })
        .await;
}

async fn serve(
    mut socket: WebSocket,
    state: AppState,
    user: CurrentUser,
    channel: Channel,
    mut events: tokio::sync::broadcast::Receiver<Event>,
    present: Option<Present>,
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
                if let Some(p) = present {
                    state.presence.heard(p.device);
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
