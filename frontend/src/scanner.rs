//! The till's barcode scanner. A keyboard-wedge scanner types a code's digits and Enter into
//! whatever has focus, a few milliseconds apart — into the cash field, onto the Tarjeta button,
//! into a dialog. The scanner service catches digits before any field sees them (a listener in
//! the capture phase of the window), and decides by their rhythm: a burst of at least
//! [`MIN_SCAN`] digits, each within [`GAP_MS`] of the last, ended by Enter, is a scan and goes
//! to the sale; anything slower is a person typing, and the digits are put into the field they
//! were typed in, as typed. A person's digit therefore shows [`GAP_MS`] late; a scan never
//! reaches a money field.

use std::{cell::RefCell, rc::Rc};

use gloo_timers::callback::Timeout;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Element, HtmlDocument, KeyboardEvent};

/// Longest pause between two keys of one scan. Wedge scanners type 1–10 ms apart; people on a
/// physical keyboard rarely keep under 80 ms for eight keys in a row.
pub const GAP_MS: f64 = 80.0;
/// Shortest code taken as a scan: EAN-8. A PIN or an amount typed fast is shorter.
pub const MIN_SCAN: usize = 8;

#[derive(Default)]
struct Burst {
    digits: String,
    last_at: f64,
    /// Where the digits were typed, to put them back if they were a person's.
    target: Option<Element>,
    flush: Option<Timeout>,
}

impl Burst {
    /// The digits were typed by a person: into the element that had focus, at its caret.
    fn give_back(&mut self) {
        self.flush = None;
        let text = std::mem::take(&mut self.digits);
        let target = self.target.take();
        if text.is_empty() {
            return;
        }
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let still_there = target.is_some() && document.active_element() == target;
        if !still_there || !editable(target.as_ref()) {
            return;
        }
        // `insertText` types as the keyboard would: at the caret, with the field's own input
        // event, so the screen's signals follow.
        if let Ok(html) = document.dyn_into::<HtmlDocument>() {
            let _ = html.exec_command_with_show_ui_and_value("insertText", false, &text);
        }
    }
}

fn editable(element: Option<&Element>) -> bool {
    element.is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA"))
}

/// Listens while alive; dropping it stops listening (the sale screen holds it while open).
pub struct Scanner {
    listener: Closure<dyn FnMut(KeyboardEvent)>,
    burst: Rc<RefCell<Burst>>,
}

impl Scanner {
    /// Starts listening; `on_scan` gets every code read.
    pub fn listen(on_scan: impl Fn(String) + 'static) -> Option<Self> {
        let window = web_sys::window()?;
        let burst = Rc::new(RefCell::new(Burst::default()));
        let state = burst.clone();
        let listener = Closure::<dyn FnMut(KeyboardEvent)>::new(move |ev: KeyboardEvent| {
            if let Some(code) = on_key(&state, &ev) {
                on_scan(code);
            }
        });
        window
            .add_event_listener_with_callback_and_bool(
                "keydown",
                listener.as_ref().unchecked_ref(),
                true,
            )
            .ok()?;
        Some(Self { listener, burst })
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback_and_bool(
                "keydown",
                self.listener.as_ref().unchecked_ref(),
                true,
            );
        }
        if let Ok(mut burst) = self.burst.try_borrow_mut() {
            burst.flush = None;
        }
    }
}

/// One key: held while it may be part of a scan; the code when Enter ends one.
fn on_key(state: &Rc<RefCell<Burst>>, ev: &KeyboardEvent) -> Option<String> {
    let now = ev.time_stamp();
    let key = ev.key();
    let plain = !(ev.ctrl_key() || ev.alt_key() || ev.meta_key());
    let mut burst = state.try_borrow_mut().ok()?;
    let in_rhythm = !burst.digits.is_empty() && now - burst.last_at <= GAP_MS;
    if plain && key.len() == 1 && key.as_bytes()[0].is_ascii_digit() {
        if !in_rhythm {
            burst.give_back();
        }
        ev.prevent_default();
        burst.digits.push_str(&key);
        burst.last_at = now;
        if burst.target.is_none() {
            burst.target = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element());
        }
        let later = state.clone();
        burst.flush = Some(Timeout::new(GAP_MS as u32 + 20, move || {
            if let Ok(mut burst) = later.try_borrow_mut() {
                burst.give_back();
            }
        }));
        return None;
    }
    if key == "Enter" && in_rhythm && burst.digits.len() >= MIN_SCAN {
        ev.prevent_default();
        ev.stop_immediate_propagation();
        burst.flush = None;
        burst.target = None;
        return Some(std::mem::take(&mut burst.digits));
    }
    // Any other key ends a burst: what was held is a person's typing, put in before this key
    // acts (an Enter after a typed amount sees the amount).
    burst.give_back();
    None
}
