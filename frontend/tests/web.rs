//! Browser tests (headless Chromium through wasm-bindgen-test-runner): what only a real
//! browser can show — fetch failures as the heartbeat sees them, and the indicator's DOM.

use leptos::prelude::*;
use pronto_frontend::{
    components::connection_indicator::ConnectionIndicator, connection, sync_service::nudge::Nudge,
};
use pronto_shared::{ConnectionState, Heartbeat};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn heartbeat_fails_when_the_health_endpoint_does_not_exist() {
    // The test runner's own server has no /api/health: a 404 must count as "server down".
    assert_eq!(
        connection::probe("/api/health", 2_000).await,
        Heartbeat::Failed
    );
}

#[wasm_bindgen_test]
async fn heartbeat_fails_when_nothing_listens() {
    // Port 9 (discard) is closed on the test machine: a network error, not a hang.
    assert_eq!(
        connection::probe("http://127.0.0.1:9/api/health", 2_000).await,
        Heartbeat::Failed
    );
}

/// A `data:` URL answers a fetch like a server would, without one.
fn json_url(body: &str) -> String {
    format!(
        "data:application/json,{}",
        String::from(js_sys::encode_uri_component(body))
    )
}

#[wasm_bindgen_test]
async fn heartbeat_succeeds_only_on_a_healthy_report() {
    let healthy = r#"{"status":"ok","version":"0.1.0","database":{"backend":"sqlite","reachable":true,"migrations":1}}"#;
    let degraded = r#"{"status":"degraded","version":"0.1.0","database":{"backend":"sqlite","reachable":false,"migrations":0}}"#;

    assert_eq!(
        connection::probe(&json_url(healthy), 2_000).await,
        Heartbeat::Ok
    );
    assert_eq!(
        connection::probe(&json_url(degraded), 2_000).await,
        Heartbeat::Failed
    );
    assert_eq!(
        connection::probe(&json_url("<html>portal cautivo</html>"), 2_000).await,
        Heartbeat::Failed
    );
}

#[wasm_bindgen_test]
async fn indicator_shows_the_state_label_and_follows_changes() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let state = RwSignal::new(ConnectionState::Online);
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        view! { <ConnectionIndicator state=state /> }
    });

    let pill = host
        .query_selector(".connection")
        .unwrap()
        .expect("indicator rendered");
    assert_eq!(pill.get_attribute("data-state").as_deref(), Some("online"));
    assert_eq!(pill.text_content().as_deref(), Some("En línea"));
    assert_eq!(pill.get_attribute("role").as_deref(), Some("status"));

    state.set(ConnectionState::Offline);
    leptos::task::tick().await;

    assert_eq!(pill.get_attribute("data-state").as_deref(), Some("offline"));
    assert_eq!(pill.text_content().as_deref(), Some("Sin conexión"));
    assert!(pill.class_name().contains("connection--offline"));
    drop(handle);
}

#[wasm_bindgen_test]
async fn names_with_html_are_rendered_as_text_never_as_markup() {
    use pronto_frontend::{
        components::user_badge::UserBadge,
        session::{Session, SessionState},
    };
    use pronto_shared::{
        api::auth::{Profile, StoreRef},
        Role,
    };

    let nasty = "<img src=x onerror=alert(1)><script>alert(2)</script>'; DROP TABLE users;--";
    let profile = Profile {
        id: uuid::Uuid::from_u128(1),
        usuario: "x".into(),
        nombre: nasty.into(),
        rol: Role::Cajero,
        tienda: StoreRef {
            id: uuid::Uuid::from_u128(2),
            codigo: "T".into(),
            nombre: "<b>Tienda</b>".into(),
            zona_horaria: "America/Mexico_City".into(),
        },
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let shown = profile.clone();
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        provide_context(Session::fixed(SessionState::SignedIn(shown.clone())));
        view! { <UserBadge profile=shown.clone() /> }
    });

    let name = host
        .query_selector("[data-testid=user-name]")
        .unwrap()
        .expect("name rendered");
    assert_eq!(name.text_content().as_deref(), Some(nasty));
    assert!(
        host.query_selector("img, script, b").unwrap().is_none(),
        "no element was created from the text"
    );
    let store = host
        .query_selector("[data-testid=user-store]")
        .unwrap()
        .unwrap();
    assert_eq!(store.text_content().as_deref(), Some("<b>Tienda</b>"));
    drop(handle);
}

#[wasm_bindgen_test]
fn times_show_on_the_stores_clock_and_a_local_day_starts_at_its_midnight() {
    use pronto_frontend::local_time;
    local_time::set_zone("America/Mexico_City");
    assert_eq!(local_time::of("2026-11-19T02:30:00Z"), "18/11/2026 20:30");
    assert_eq!(
        local_time::hour_of("2026-11-19T02:30:00Z").as_deref(),
        Some("2026-11-18 20")
    );
    assert_eq!(
        local_time::day_start("2026-11-18", 0).as_deref(),
        Some("2026-11-18T06:00:00.000Z")
    );
    assert_eq!(
        local_time::day_start("2026-11-18", 1).as_deref(),
        Some("2026-11-19T06:00:00.000Z")
    );
    local_time::set_zone("Asia/Tokyo");
    assert_eq!(local_time::of("2026-11-19T02:30:00Z"), "19/11/2026 11:30");
    // A zone the browser does not know: the device's own clock, not a crash.
    local_time::set_zone("Nowhere/Atlantis");
    assert!(local_time::of("2026-11-19T02:30:00Z").contains("/11/2026"));
    assert_eq!(local_time::of("mañana"), "mañana");
}

/// Whether a timer of `ms` started now has fired, read later.
fn timer_of(ms: u32) -> std::rc::Rc<std::cell::Cell<bool>> {
    let fired = std::rc::Rc::new(std::cell::Cell::new(false));
    let mark = std::rc::Rc::clone(&fired);
    // Started here, not when the task first runs.
    let timer = gloo_timers::future::TimeoutFuture::new(ms);
    wasm_bindgen_futures::spawn_local(async move {
        timer.await;
        mark.set(true);
    });
    fired
}

#[wasm_bindgen_test]
async fn a_ring_ends_the_push_loops_wait_before_its_timer() {
    let nudge = Nudge::default();
    let ringer = nudge.clone();
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(20).await;
        ringer.ring();
    });
    let same_wait = timer_of(5_000);
    nudge.wait(5_000).await;
    assert!(!same_wait.get(), "the wait ran its full length");
}

#[wasm_bindgen_test]
async fn a_ring_made_while_the_push_loop_is_busy_ends_its_next_wait() {
    let nudge = Nudge::default();
    nudge.ring();
    let same_wait = timer_of(5_000);
    nudge.wait(5_000).await;
    assert!(!same_wait.get(), "the ring was lost");
    // Taken: the wait after it runs its length.
    let shorter = timer_of(30);
    nudge.wait(60).await;
    gloo_timers::future::TimeoutFuture::new(0).await;
    assert!(shorter.get(), "a ring is taken once");
}
