//! Sockets to `/ws/sincronizacion/{channel}/`. The pushing tab keeps one on `estado`: a
//! `cambios` (or `resincronizar`) message makes the sync loop pull at once instead of at its
//! next timer. The socket is a shortcut, never the only way: when it is closed the loop still
//! pulls every [`crate::sync_service::PULL_INTERVAL_MS`], and after every (re)connection it
//! pulls once, so a missed poke costs seconds, never data. Screens (the sync dashboard) open
//! their own, for as long as they are shown.

use std::{cell::Cell, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use pronto_shared::sync::events::Event;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{MessageEvent, WebSocket};

use crate::{connection::Connection, device::ThisDevice, session::Session};

/// Shared between the socket and the sync loop.
#[derive(Clone)]
pub struct Pokes {
    /// A pull is wanted now.
    pub due: Rc<Cell<bool>>,
    /// The socket is open (the loop may then pull less often on its own; the sync bar says
    /// "en vivo").
    pub open: RwSignal<bool>,
}

impl Pokes {
    pub fn new(open: RwSignal<bool>) -> Self {
        Self {
            due: Rc::default(),
            open,
        }
    }

    /// Whether a poke came since the last call.
    pub fn take(&self) -> bool {
        self.due.replace(false)
    }
}

/// The device's socket (named, so the dashboard shows the device connected): pokes make the
/// sync loop pull.
pub async fn keep_open(pokes: Pokes, connection: Connection, session: Session, device: ThisDevice) {
    let due = Rc::clone(&pokes.due);
    let on_event: Rc<dyn Fn(Option<Event>)> = Rc::new(move |event| {
        // `None`: (re)connected — whatever happened while away, pull from the cursor now.
        if matches!(
            event,
            None | Some(Event::Cambios { .. } | Event::Resincronizar)
        ) {
            due.set(true);
        }
    });
    let query: Rc<dyn Fn() -> String> = Rc::new(move || {
        device
            .device
            .get_untracked()
            .map(|d| format!("?dispositivo={}", d.id))
            .unwrap_or_default()
    });
    listen(
        "estado",
        query,
        on_event,
        pokes.open,
        connection,
        session,
        Rc::default(),
    )
    .await;
}

fn socket_url(channel: &str, query: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!(
        "{scheme}://{}/ws/sincronizacion/{channel}/{query}",
        location.host().ok()?
    ))
}

/// Keeps a socket on `channel` open while the server is reachable and someone is signed in,
/// reconnecting with a growing pause (1 s up to 30 s), until `stop` is set. `on_event` gets
/// every event, and `None` each time the socket (re)opens.
pub async fn listen(
    channel: &'static str,
    query: Rc<dyn Fn() -> String>,
    on_event: Rc<dyn Fn(Option<Event>)>,
    open: RwSignal<bool>,
    connection: Connection,
    session: Session,
    stop: Rc<Cell<bool>>,
) {
    let mut pause_ms = 1_000;
    while !stop.get() {
        let usable =
            connection.state.get_untracked().can_sync() && session.profile_untracked().is_some();
        if !usable {
            TimeoutFuture::new(1_000).await;
            continue;
        }
        let Some(url) = socket_url(channel, &query()) else {
            return;
        };
        match WebSocket::new(&url) {
            Ok(socket) => {
                let closed = Rc::new(Cell::new(false));
                let opened = Rc::new(Cell::new(false));
                watch(&socket, &on_event, open, &closed, &opened);
                // Wait for this socket to close, then try again after a pause.
                while !closed.get() {
                    TimeoutFuture::new(250).await;
                    if stop.get() || !connection.state.get_untracked().can_sync() {
                        let _ = socket.close();
                        break;
                    }
                }
                open.set(false);
                pause_ms = if opened.get() {
                    1_000
                } else {
                    (pause_ms * 2).min(30_000)
                };
            }
            Err(_) => pause_ms = (pause_ms * 2).min(30_000),
        }
        if !stop.get() {
            TimeoutFuture::new(pause_ms).await;
        }
    }
}

fn watch(
    socket: &WebSocket,
    on_event: &Rc<dyn Fn(Option<Event>)>,
    open: RwSignal<bool>,
    closed: &Rc<Cell<bool>>,
    opened: &Rc<Cell<bool>>,
) {
    let (on_open_event, on_message_event) = (Rc::clone(on_event), Rc::clone(on_event));
    let opened = Rc::clone(opened);
    let on_open = Closure::<dyn FnMut()>::new(move || {
        opened.set(true);
        open.set(true);
        on_open_event(None);
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        if let Ok(event) = serde_json::from_str::<Event>(&text) {
            on_message_event(Some(event));
        }
    });
    let closed_flag = Rc::clone(closed);
    let on_close = Closure::<dyn FnMut()>::new(move || closed_flag.set(true));
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // One set per connection (a few per hour at most); they must live as long as the socket.
    on_open.forget();
    on_message.forget();
    on_close.forget();
}
