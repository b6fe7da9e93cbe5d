//! The sockets: refused without a session or from another site; a person gets only the
//! events of their store and channel; with PostgreSQL, an event committed through one server
//! process reaches a socket on another.

use std::{net::SocketAddr, time::Duration};

use futures_util::StreamExt;
use pronto_shared::{
    api::conflicts::ConflictView,
    sync::{
        config::{CLIENTE, EXISTENCIA},
        events::Event,
        OpKind, OpResult,
    },
};
use serde_json::json;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, Error as WsError, Message},
    MaybeTlsStream, WebSocketStream,
};
use uuid::Uuid;

use crate::{
    fixtures::{get_json, seed, session_cookie, PASSWORD},
    helpers::{backend_name, spawn_app, TestApp},
    sync::device,
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn cookie(addr: SocketAddr, username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/auth/login"))
        .json(&json!({"usuario": username, "contrasena": PASSWORD}))
        .send()
        .await
        .unwrap();
    session_cookie(&response).expect("session cookie")
}

/// Opens `/ws/sincronizacion/{channel}/` with an optional cookie and `Origin`.
async fn open(
    addr: SocketAddr,
    channel: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, WsError> {
    // `channel` may carry a query: `estado/?dispositivo=…`.
    let path = if channel.contains('?') {
        channel.to_owned()
    } else {
        format!("{channel}/")
    };
    let mut request = format!("ws://{addr}/ws/sincronizacion/{path}")
        .into_client_request()
        .unwrap();
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    connect_async(request).await.map(|(socket, _)| socket)
}

fn own_origin(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn status(result: Result<Socket, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Ok(_) => 101,
        Err(other) => panic!("{other:?}"),
    }
}

/// The next event on `socket` within `wait`, skipping pings.
async fn next_event(socket: &mut Socket, wait: Duration) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        if let Ok(Message::Text(text)) = message {
            return serde_json::from_str(&text).ok();
        }
    }
}

/// A receipt of 3 pairs through a device of `manager`'s store.
async fn receive_stock(app: &TestApp, manager: &str, product: Uuid) {
    let mut d = device(app, manager, manager).await;
    let op = d.op(
        EXISTENCIA,
        product,
        OpKind::StockDelta,
        None,
        json!({"producto_id": product, "delta": 3, "motivo": "recepcion"}),
        1,
    );
    d.push_ok(app, &[op]).await;
}

#[tokio::test]
async fn a_socket_without_a_session_or_from_another_site_is_refused() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let origin = own_origin(app.addr);
    let session = cookie(app.addr, "cajero_a").await;

    assert_eq!(
        status(open(app.addr, "estado", None, Some(&origin)).await),
        401
    );
    assert_eq!(
        status(
            open(
                app.addr,
                "estado",
                Some(&session),
                Some("http://evil.example")
            )
            .await
        ),
        403
    );
    assert_eq!(
        status(open(app.addr, "estado", Some(&session), None).await),
        403
    );
    assert_eq!(
        status(open(app.addr, "conflictos", Some(&session), Some(&origin)).await),
        403,
        "a cashier does not supervise conflicts"
    );
    assert_eq!(
        status(open(app.addr, "estado", Some(&session), Some(&origin)).await),
        101
    );
}

#[tokio::test]
async fn a_cashier_of_store_a_gets_her_stores_pokes_and_never_store_bs() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let session = cookie(app.addr, "cajero_a").await;
    let mut socket = open(
        app.addr,
        "estado",
        Some(&session),
        Some(&own_origin(app.addr)),
    )
    .await
    .expect("socket");

    receive_stock(&app, "gerente_b", world.products[1]).await;
    receive_stock(&app, "gerente_a", world.products[0]).await;

    // Store B's events were published first; the first one she gets must be her store's.
    let mut seen = Vec::new();
    while let Some(event) = next_event(&mut socket, Duration::from_secs(5)).await {
        seen.push(event.clone());
        if event
            == (Event::Cambios {
                tienda_id: Some(world.store_a),
            })
        {
            break;
        }
    }
    assert!(
        seen.contains(&Event::Cambios {
            tienda_id: Some(world.store_a)
        }),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|e| e.store() != Some(world.store_b)),
        "nothing of store B: {seen:?}"
    );
}

/// A second `pronto` server, a real OS process, on `database_url`; killed on drop.
struct SecondProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Drop for SecondProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn second_process(database_url: &str, dist: &std::path::Path) -> SecondProcess {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pronto"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--dist",
        ])
        .arg(dist)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("second server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server prints its address")
            .expect("line");
        if let Some(url) = line.split("listening on http://").nth(1) {
            break url.trim().parse().expect("address");
        }
    };
    SecondProcess { child, addr }
}

#[tokio::test]
async fn an_event_committed_through_one_server_process_reaches_a_socket_on_another() {
    if backend_name() != "postgres" {
        eprintln!("needs PostgreSQL (PRONTO_TEST_POSTGRES_URL): the SQLite run has one process");
        return;
    }
    let first = spawn_app().await;
    let world = seed(&first.db).await;
    let second = second_process(first.db.url(), &first.dir.path().join("dist"));
    // The second server's listener needs a moment to start listening.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let session = cookie(second.addr, "gerente_a").await;
    let origin = own_origin(second.addr);
    let mut conflicts = open(second.addr, "conflictos", Some(&session), Some(&origin))
        .await
        .expect("socket on the second process");
    let mut estado = open(second.addr, "estado", Some(&session), Some(&origin))
        .await
        .expect("socket on the second process");

    receive_stock(&first, "gerente_a", world.products[0]).await;

    let mut got = None;
    while let Some(event) = next_event(&mut estado, Duration::from_secs(5)).await {
        if matches!(event, Event::Cambios { .. }) {
            got = Some(event);
            break;
        }
    }
    assert_eq!(
        got,
        Some(Event::Cambios {
            tienda_id: Some(world.store_a)
        })
    );
    // Nothing on the conflicts channel: that push had no conflict.
    assert_eq!(
        next_event(&mut conflicts, Duration::from_millis(300)).await,
        None
    );
    drop(second);
}

/// The admin sets `clientes.Cliente` to `manual` on the configuration endpoint.
async fn customers_by_hand(app: &TestApp) {
    let admin = crate::fixtures::client_for(app, "admin").await;
    let configs: Vec<serde_json::Value> = admin
        .get(app.url("/api/sincronizacion/configuracion/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut customer = configs
        .into_iter()
        .find(|c| c["model"] == pronto_shared::sync::config::CLIENTE)
        .unwrap();
    customer["estrategia"] = json!("manual");
    let response = admin
        .put(app.url("/api/sincronizacion/configuracion/"))
        .json(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_held_conflict_is_announced_counted_on_its_till_resolved_by_her_and_announced_again() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    customers_by_hand(&app).await;

    let manager_session = cookie(app.addr, "gerente_a").await;
    let mut conflicts = open(
        app.addr,
        "conflictos",
        Some(&manager_session),
        Some(&own_origin(app.addr)),
    )
    .await
    .expect("socket");
    // Two of her tills edit the same customer's phone from version 1, offline.
    let (first, second) = two_tills_edit_one_phone(&app, &world).await;

    let announced = next_event(&mut conflicts, Duration::from_secs(5)).await;
    assert_eq!(
        announced,
        Some(Event::Conflicto {
            tienda_id: world.store_a,
            modelo: pronto_shared::sync::config::CLIENTE.into(),
            entidad_id: world.customer,
            estado: "pendiente".into(),
        })
    );
    let manager = crate::fixtures::client_for(&app, "gerente_a").await;
    let pending: Vec<ConflictView> =
        get_json(&manager, app.url("/api/sincronizacion/conflictos/")).await;
    assert_eq!(pending.len(), 1);
    // The till whose edit waits counts it on its last pull page; the other till does not.
    assert_eq!(second.pull(&app, 0, 1000).await.held_for_manager, Some(1));
    assert_eq!(first.pull(&app, 0, 1000).await.held_for_manager, Some(0));
    assert_eq!(second.pull(&app, 0, 1).await.held_for_manager, None);
    let held = &pending[0];
    assert_eq!(held.registro.local["telefono"], json!("3322222222"));
    assert_eq!(held.actual["telefono"], json!("3311111111"));

    let url = app.url(&format!(
        "/api/sincronizacion/conflictos/{}/resolver",
        held.id
    ));
    let cashier = crate::fixtures::client_for(&app, "cajero_a").await;
    let refused = cashier
        .post(&url)
        .json(&json!({"valores": {"telefono": "3333333333"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let incomplete = manager
        .post(&url)
        .json(&json!({"valores": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(incomplete.status(), 422);
    let resolved = manager
        .post(&url)
        .json(&json!({"valores": {"telefono": "3333333333"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let again = manager
        .post(&url)
        .json(&json!({"valores": {"telefono": "3344444444"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);

    let stored: serde_json::Value = manager
        .get(app.url(&format!("/api/customers/{}", world.customer)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["telefono"], json!("3333333333"));
    assert_eq!(
        next_event(&mut conflicts, Duration::from_secs(5)).await,
        Some(Event::Conflicto {
            tienda_id: world.store_a,
            modelo: pronto_shared::sync::config::CLIENTE.into(),
            entidad_id: world.customer,
            estado: "resuelto".into(),
        })
    );
    // Both tills pull the chosen value, and nothing waits any more.
    assert_eq!(second.pull(&app, 0, 1000).await.held_for_manager, Some(0));
    let pulled = first.pull(&app, 0, 1000).await;
    let last = pulled
        .changes
        .iter()
        .rev()
        .find(|c| c.entity_id == world.customer)
        .unwrap();
    assert_eq!(last.data["telefono"], json!("3333333333"));
}

/// Two of store A's tills edit the same customer's phone from version 1: the first edit goes
/// in, the second conflicts (held for the manager under `manual`).
async fn two_tills_edit_one_phone(
    app: &TestApp,
    world: &crate::fixtures::World,
) -> (crate::sync::Device, crate::sync::Device) {
    let mut first = device(app, "gerente_a", "gerente_a").await;
    let mut second = device(app, "gerente_a", "gerente_a").await;
    for (d, phone, wall) in [
        (&mut first, "3311111111", 10),
        (&mut second, "3322222222", 11),
    ] {
        let op = d.op(
            CLIENTE,
            world.customer,
            OpKind::Update,
            Some(1),
            json!({"telefono": phone}),
            wall,
        );
        d.push_ok(app, &[op]).await;
    }
    (first, second)
}

/// The device as the manager's device list shows it.
async fn listed(app: &TestApp, id: Uuid) -> pronto_shared::api::devices::Device {
    let manager = crate::fixtures::client_for(app, "gerente_a").await;
    let all: Vec<pronto_shared::api::devices::Device> =
        get_json(&manager, app.url("/api/devices")).await;
    all.into_iter().find(|d| d.id == id).unwrap()
}

#[tokio::test]
async fn a_device_socket_marks_it_connected_and_a_device_of_another_store_is_refused() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let ours = device(&app, "gerente_a", "cajero_a").await;
    let theirs = device(&app, "gerente_b", "gerente_b").await;
    let session = cookie(app.addr, "gerente_a").await;
    let origin = own_origin(app.addr);
    let mut watcher = open(app.addr, "estado", Some(&session), Some(&origin))
        .await
        .expect("dashboard socket");

    let refused = open(
        app.addr,
        &format!("estado/?dispositivo={}", theirs.id),
        Some(&session),
        Some(&origin),
    )
    .await;
    assert_eq!(status(refused), 403);
    let till = open(
        app.addr,
        &format!("estado/?dispositivo={}", ours.id),
        Some(&cookie(app.addr, "cajero_a").await),
        Some(&origin),
    )
    .await
    .expect("the till's socket");

    let connected = Event::Dispositivo {
        tienda_id: world.store_a,
        dispositivo_id: ours.id,
        conectado: true,
    };
    assert_eq!(
        next_event(&mut watcher, Duration::from_secs(5)).await,
        Some(connected)
    );
    let seen: Option<String> = sqlx::query_scalar("SELECT last_seen_at FROM devices WHERE id = $1")
        .bind(ours.id.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(seen.is_some(), "the device is stamped as heard");
    assert!(listed(&app, ours.id).await.conectado);
    drop(till);
    let closed = Event::Dispositivo {
        tienda_id: world.store_a,
        dispositivo_id: ours.id,
        conectado: false,
    };
    assert_eq!(
        next_event(&mut watcher, Duration::from_secs(5)).await,
        Some(closed)
    );
    assert!(
        !listed(&app, ours.id).await.conectado,
        "shown disconnected as soon as its socket closes"
    );
}

#[tokio::test]
async fn heartbeats_of_many_devices_are_written_in_one_batch_and_kept_if_it_fails() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let ours = device(&app, "gerente_a", "cajero_a").await;
    let other = device(&app, "gerente_a", "gerente_a").await;
    let presence = pronto_backend::presence::Presence::default();
    presence.heard(ours.id);
    presence.heard(other.id);
    presence.heard(ours.id);

    let at = "2026-11-28T12:00:00.000Z";
    assert_eq!(presence.flush(&app.db, at).await.unwrap(), 2);
    for id in [ours.id, other.id] {
        let seen: Option<String> =
            sqlx::query_scalar("SELECT last_seen_at FROM devices WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!(seen.as_deref(), Some(at));
    }
    assert_eq!(
        presence.flush(&app.db, at).await.unwrap(),
        0,
        "nothing heard since"
    );

    presence.heard(ours.id);
    app.db.close().await;
    assert!(presence.flush(&app.db, at).await.is_err());
    let reopened = pronto_backend::db::Database::connect(app.db.url())
        .await
        .unwrap();
    assert_eq!(
        presence
            .flush(&reopened, "2026-11-28T12:00:20.000Z")
            .await
            .unwrap(),
        1,
        "a failed write keeps the device for the next beat"
    );
}

#[tokio::test]
async fn a_conflict_on_a_record_deleted_since_closes_without_a_write_and_stops_counting() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    customers_by_hand(&app).await;
    let (mut first, second) = two_tills_edit_one_phone(&app, &world).await;
    assert_eq!(second.pull(&app, 0, 1000).await.held_for_manager, Some(1));
    let delete = first.op(
        CLIENTE,
        world.customer,
        OpKind::Delete,
        Some(2),
        json!({}),
        12,
    );
    let deleted = first.push_ok(&app, &[delete]).await;
    assert!(
        matches!(deleted[0], OpResult::Applied { .. }),
        "{deleted:?}"
    );

    let manager = crate::fixtures::client_for(&app, "gerente_a").await;
    let pending: Vec<ConflictView> =
        get_json(&manager, app.url("/api/sincronizacion/conflictos/")).await;
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].eliminado,
        "the dashboard is told the record is gone"
    );
    let closed = manager
        .post(app.url(&format!(
            "/api/sincronizacion/conflictos/{}/resolver",
            pending[0].id
        )))
        .json(&json!({"valores": {"telefono": "3333333333"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let closed: ConflictView = closed.json().await.unwrap();
    assert_eq!(closed.estado, "resuelto");

    let read = manager
        .get(app.url(&format!("/api/customers/{}", world.customer)))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 404, "the delete stands");
    assert_eq!(second.pull(&app, 0, 1000).await.held_for_manager, Some(0));
}
