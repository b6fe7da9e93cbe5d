//! Online/offline detection for the whole app.
//!
//! Two signals feed [`ConnectionState::derive`]: the browser's `navigator.onLine` (with its
//! `online`/`offline` events, which fire at once) and a heartbeat to `/api/health` every
//! [`HEARTBEAT_INTERVAL_MS`], which catches the case the browser cannot see: a network that is
//! up while the server is not. A heartbeat that takes longer than [`HEARTBEAT_TIMEOUT_MS`]
//! counts as failed, so an unreachable server is noticed within about four seconds.

use gloo_timers::future::TimeoutFuture;
use leptos::{ev, prelude::*, task::spawn_local};
use pronto_shared::{ConnectionState, HealthReport, HealthStatus, Heartbeat};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestCache, RequestInit, Response};

/// Path polled by the heartbeat.
pub const HEALTH_URL: &str = "/api/health";
pub const HEARTBEAT_INTERVAL_MS: u32 = 2_000;
pub const HEARTBEAT_TIMEOUT_MS: u32 = 2_000;

/// Handle to the app's connection state; `Copy`, provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    pub state: Signal<ConnectionState>,
}

impl Connection {
    /// Reads `navigator.onLine`, listens to its events and starts the heartbeat loop.
    pub fn start() -> Self {
        let navigator_online = RwSignal::new(navigator_on_line());
        let heartbeat = RwSignal::new(Heartbeat::Unknown);

        // The handles are dropped on purpose: these listeners live as long as the page.
        let _ = window_event_listener(ev::offline, move |_| navigator_online.set(false));
        let _ = window_event_listener(ev::online, move |_| {
            navigator_online.set(true);
            heartbeat.set(Heartbeat::Unknown);
            // Don't wait for the next tick: the cashier wants to see "En línea" now.
            spawn_local(
                async move { heartbeat.set(probe(HEALTH_URL, HEARTBEAT_TIMEOUT_MS).await) },
            );
        });
        spawn_local(async move {
            loop {
                if navigator_online.get_untracked() {
                    heartbeat.set(probe(HEALTH_URL, HEARTBEAT_TIMEOUT_MS).await);
                }
                TimeoutFuture::new(HEARTBEAT_INTERVAL_MS).await;
            }
        });

        let state = Signal::derive(move || {
            ConnectionState::derive(navigator_online.get(), heartbeat.get())
        });
        Self { state }
    }
}

/// `navigator.onLine`; `true` when there is no window (nothing says we are offline).
pub fn navigator_on_line() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// One heartbeat: `Ok` only when `url` answers 2xx with a health report whose status is ok
/// within `timeout_ms`. Any network error, timeout, error status or unreadable body is a
/// failure: all of them mean ops cannot be pushed right now.
pub async fn probe(url: &str, timeout_ms: u32) -> Heartbeat {
    match fetch_health(url, timeout_ms).await {
        Ok(report) if report.status == HealthStatus::Ok => Heartbeat::Ok,
        Ok(_) | Err(_) => Heartbeat::Failed,
    }
}

async fn fetch_health(url: &str, timeout_ms: u32) -> Result<HealthReport, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = RequestInit::new();
    init.set_method("GET");
    // A cached answer would say the server is up when it is not.
    init.set_cache(RequestCache::NoStore);
    let signal = AbortSignal::timeout_with_u32(timeout_ms);
    init.set_signal(Some(&signal));
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await?
        .dyn_into()?;
    if !response.ok() {
        return Err(JsValue::from_f64(f64::from(response.status())));
    }
    let text = JsFuture::from(response.text()?).await?;
    let text = text.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|err| JsValue::from_str(&err.to_string()))
}
