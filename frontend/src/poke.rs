//! The pushing tab's socket to `/ws/sincronizacion/estado/`: a `cambios` (or `resincronizar`)
//! message makes the sync loop pull at once instead of at its next timer. The socket is a
//! shortcut, never the only way: when it is closed the loop still pulls every
//! [`crate::sync_service::PULL_INTERVAL_MS`], and after every (re)connection it pulls once,
//! so a missed poke costs seconds, never data.

use std::{cell::Cell, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use pronto_shared::sync::events::Event;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{MessageEvent, WebSocket};

use crate::{connection::Connection, session::Session};

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

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!(
        "{scheme}://{}/ws/sincronizacion/estado/",
        location.host().ok()?
    ))
}

/// Keeps a socket open while the server is reachable and someone is signed in; reconnects
/// with a growing pause (1 s up to 30 s).
pub async fn keep_open(pokes: Pokes, connection: Connection, session: Session) {
    let mut pause_ms = 1_000;
    loop {
        let usable =
            connection.state.get_untracked().can_sync() && session.profile_untracked().is_some();
        if !usable || pokes.open.get_untracked() {
            TimeoutFuture::new(1_000).await;
            continue;
        }
        let Some(url) = socket_url() else { return };
        match WebSocket::new(&url) {
            Ok(socket) => {
                let closed = Rc::new(Cell::new(false));
                watch(&socket, &pokes, &closed);
                // Wait for this socket to close, then try again after a pause.
                while !closed.get() {
                    TimeoutFuture::new(500).await;
                    if !connection.state.get_untracked().can_sync() {
                        let _ = socket.close();
                    }
                }
                pokes.open.set(false);
                let _ = socket.close();
                pause_ms = if pokes.due.get() {
                    1_000
                } else {
                    (pause_ms * 2).min(30_000)
                };
            }
            Err(_) => pause_ms = (pause_ms * 2).min(30_000),
        }
        TimeoutFuture::new(pause_ms).await;
    }
}

fn watch(socket: &WebSocket, pokes: &Pokes, closed: &Rc<Cell<bool>>) {
    let (on_open_pokes, on_message_pokes) = (pokes.clone(), pokes.clone());
    let on_open = Closure::<dyn FnMut()>::new(move || {
        on_open_pokes.open.set(true);
        // Whatever happened while we were away: pull from the cursor now.
        on_open_pokes.due.set(true);
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        if let Ok(Event::Cambios { .. } | Event::Resincronizar) = serde_json::from_str(&text) {
            on_message_pokes.due.set(true);
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
