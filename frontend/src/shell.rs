//! The sign-in screen painted from `index.html` before the app's wasm arrives.
//!
//! On a first visit the wasm is most of the download (≈ 545 KB compressed): on a slow store
//! connection that is seconds of a blank page. `index.html` carries the sign-in screen as
//! plain HTML (`#arranque`), so the cashier sees it at once and may start typing; its button
//! waits for the app. When the app starts it takes over what was typed, removes the plain
//! screen and draws its own in the same place (same markup and classes, so nothing moves).

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use leptos::prelude::{request_animation_frame, set_timeout};
use wasm_bindgen::JsCast;

/// What the person typed into the plain sign-in screen, and where the cursor was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    pub usuario: String,
    pub contrasena: String,
    /// The `name` of the field that had the focus.
    pub focused: Option<String>,
}

thread_local! {
    static TYPED: RefCell<Option<Typed>> = const { RefCell::new(None) };
}

const SHELL_ID: &str = "arranque";

/// Runs `start` once the plain screen has been painted, or at once without one. On a fast
/// network the wasm can be ready before the browser's first paint, and running the app then
/// would leave the page blank until the app has drawn. A timer backs the frame callback up:
/// a hidden tab gets no frames, and its app must start all the same (it syncs).
pub fn after_paint(start: impl FnOnce() + 'static) {
    let present = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(SHELL_ID))
        .is_some();
    if !present {
        start();
        return;
    }
    // Whichever of the two callbacks comes first runs it.
    let start = Rc::new(Cell::new(Some(start)));
    let run = move || {
        if let Some(start) = start.take() {
            start();
        }
    };
    let after_frame = run.clone();
    // A timer set inside a frame callback fires after that frame is painted.
    request_animation_frame(move || set_timeout(after_frame, Duration::ZERO));
    set_timeout(run, Duration::from_millis(100));
}

/// Keeps what was typed into the plain screen for [`take_typed`] and removes the screen.
/// Call once, before mounting the app.
pub fn take_over() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(shell) = document.get_element_by_id(SHELL_ID) else {
        return;
    };
    let value = |name: &str| {
        shell
            .query_selector(&format!("input[name={name}]"))
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|input| input.value())
            .unwrap_or_default()
    };
    let focused = document
        .active_element()
        .filter(|e| shell.contains(Some(e)))
        .and_then(|e| e.get_attribute("name"));
    let typed = Typed {
        usuario: value("usuario"),
        contrasena: value("contrasena"),
        focused,
    };
    TYPED.with(|t| *t.borrow_mut() = Some(typed));
    shell.remove();
}

/// What was typed before the app started, once (the first sign-in screen drawn takes it).
pub fn take_typed() -> Typed {
    TYPED.with(|t| t.borrow_mut().take()).unwrap_or_default()
}
