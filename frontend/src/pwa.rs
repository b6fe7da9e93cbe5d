//! The service worker from the page's side: register `/sw.js`, tell the UI when the app can
//! open offline, and when a new release is waiting.
//!
//! A waiting release is activated only when the person taps "Actualizar ahora": the page then
//! asks the waiting worker to take over and reloads once it has, so old and new files never
//! run together.

use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState};

/// How often a long-open tab asks the server whether `sw.js` changed (a store tablet may
/// keep the app open all day).
const UPDATE_CHECK_MS: u32 = 30 * 60 * 1000;

#[derive(Debug, Clone, Copy)]
pub struct Pwa {
    /// An active service worker holds the app shell: a reload works without network.
    pub offline_ready: RwSignal<bool>,
    /// A new release is installed and waiting for the person to accept it.
    pub update_ready: RwSignal<bool>,
    reload_when_controller_changes: RwSignal<bool>,
}

impl Pwa {
    /// Registers the service worker (where the browser supports it) and wires the signals.
    pub fn start() -> Self {
        let pwa = Self {
            offline_ready: RwSignal::new(false),
            update_ready: RwSignal::new(false),
            reload_when_controller_changes: RwSignal::new(false),
        };
        if let Some(container) = container() {
            spawn_local(async move {
                if let Err(err) = pwa.register(container).await {
                    leptos::logging::warn!("service worker registration failed: {err:?}");
                }
            });
        }
        pwa
    }

    /// Asks the waiting worker to activate; the page reloads when it controls the page.
    pub fn apply_update(self) {
        let Some(container) = container() else { return };
        self.reload_when_controller_changes.set(true);
        spawn_local(async move {
            let registration = JsFuture::from(container.get_registration())
                .await
                .ok()
                .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok());
            if let Some(waiting) = registration.and_then(|r| r.waiting()) {
                let message = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&message, &"type".into(), &"SKIP_WAITING".into());
                let _ = waiting.post_message(&message);
            }
        });
    }

    async fn register(self, container: ServiceWorkerContainer) -> Result<(), JsValue> {
        let on_controller_change = Closure::<dyn Fn()>::new(move || {
            if self.reload_when_controller_changes.get_untracked() {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }
        });
        container.set_oncontrollerchange(Some(on_controller_change.as_ref().unchecked_ref()));
        on_controller_change.forget();

        let registration: ServiceWorkerRegistration = JsFuture::from(container.register("/sw.js"))
            .await?
            .dyn_into()?;
        // A release may already be waiting from an earlier visit.
        if registration.waiting().is_some() && container.controller().is_some() {
            self.update_ready.set(true);
        }
        self.watch_for_updates(&registration, container.clone());

        let update_target = registration.clone();
        leptos::prelude::set_interval(
            move || {
                let _ = update_target.update();
            },
            std::time::Duration::from_millis(u64::from(UPDATE_CHECK_MS)),
        );

        JsFuture::from(container.ready()?).await?;
        self.offline_ready.set(true);
        Ok(())
    }

    /// When a new worker finishes installing while an old one controls the page, offer it.
    fn watch_for_updates(
        self,
        registration: &ServiceWorkerRegistration,
        container: ServiceWorkerContainer,
    ) {
        let reg = registration.clone();
        let on_update_found = Closure::<dyn Fn()>::new(move || {
            let Some(installing) = reg.installing() else {
                return;
            };
            let worker = installing.clone();
            let container = container.clone();
            let on_state = Closure::<dyn Fn()>::new(move || {
                if worker.state() == ServiceWorkerState::Installed
                    && container.controller().is_some()
                {
                    self.update_ready.set(true);
                }
            });
            installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        registration.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
        on_update_found.forget();
    }
}

/// `navigator.serviceWorker`, absent on plain-http origins other than localhost.
fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    let has =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false);
    has.then(|| navigator.service_worker())
}
