//! Pronto POS in the browser: a Leptos client-side app built by Trunk.
//!
//! - [`app`]: the router and the page layout every screen shares.
//! - [`connection`]: online/offline from `navigator.onLine` plus a heartbeat to the server.
//! - [`pwa`]: service worker registration and the "new version" prompt.
//! - [`session`] and [`api`]: who is signed in, and JSON calls to the server.
//! - [`components`] and [`pages`]: what the cashier sees.
//!
//! No rule the server also needs is written here; those live in `pronto_shared`.

pub mod api;
pub mod app;
pub mod components;
pub mod connection;
pub mod device;
pub mod keyring;
pub mod live_search;
pub mod local_db;
pub mod local_store;
pub mod local_time;
pub mod names;
pub mod outbox_copy;
pub mod outbox_kinds;
pub mod pages;
pub mod pending;
pub mod poke;
pub mod policy;
pub mod pwa;
pub mod record_form;
pub mod recovery;
pub mod scanner;
pub mod screen_change;
pub mod session;
pub mod shell;
pub mod storage;
pub mod storage_space;
pub mod sync_service;
pub mod sync_transport;
pub mod web_lock;
pub mod webcrypto;
pub mod words;

/// Installs the panic hook, takes over the plain sign-in screen, then mounts the app on
/// `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    shell::after_paint(|| {
        shell::take_over();
        leptos::mount::mount_to_body(app::App);
    });
}
