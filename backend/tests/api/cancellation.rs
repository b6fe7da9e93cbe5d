//! No dropped connection can wedge the server (issue 16): clients that go away at random
//! moments during pushes, sign-ins and REST writes — hundreds of times — leave a server that
//! still pushes, signs in and writes at once.

use std::time::Duration;

use pronto_shared::sync::{config::VENTA, op::PROTOCOL, OpKind, OpResult};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpStream};
use uuid::Uuid;

use crate::{
    fixtures::{seed, session_cookie, PASSWORD},
    helpers::{spawn_app, TestApp},
    sync::{device, sale},
};

/// A raw HTTP/1.1 POST with a JSON body, as bytes.
fn request(app: &TestApp, path: &str, cookie: Option<&str>, body: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(body).expect("json");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{cookie}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        body.len()
    )
    .into_bytes();
    bytes.extend(body);
    bytes
}

#[tokio::test]
async fn five_hundred_clients_that_vanish_mid_request_leave_the_server_writing() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"usuario": "gerente_a", "contrasena": PASSWORD}))
        .send()
        .await
        .expect("login");
    let cookie = session_cookie(&login).expect("cookie");
    // One batch of 2 sales, sent again and again: the first that commits applies it, the rest
    // are replays — each one a write transaction the client may abandon. (Small, so that the
    // abandoned requests, which the server finishes, are not an overload of their own.)
    let ops: Vec<_> = (0..2)
        .map(|_| {
            let id = Uuid::now_v7();
            d.op(VENTA, id, OpKind::Sale, None, sale(&world, id), 10)
        })
        .collect();
    let push = request(
        &app,
        "/api/sync/push",
        Some(&cookie),
        &json!({"device_id": d.id, "ops": ops, "protocolo": PROTOCOL}),
    );
    let sign_in = request(
        &app,
        "/api/auth/login",
        None,
        &json!({"usuario": "cajero_a", "contrasena": PASSWORD}),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    for n in 0..500 {
        let customer = request(
            &app,
            "/api/customers",
            Some(&cookie),
            &json!({"nombre": format!("Cliente que se fue {n}")}),
        );
        let bytes = match n % 5 {
            0 => &sign_in,
            1 => &customer,
            _ => &push,
        };
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        stream.write_all(bytes).await.expect("send");
        // Gone 0–20 ms after sending: before, during or after the transaction.
        let wait = if rng.gen_bool(0.5) {
            rng.gen_range(0..4_000)
        } else {
            rng.gen_range(0..20_000)
        };
        tokio::time::sleep(Duration::from_micros(wait)).await;
        drop(stream);
    }

    let after_abandon = std::time::Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        let results = d.push_ok(&app, &ops).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r.original(), OpResult::Applied { .. })),
            "{results:?}"
        );
        let next = {
            let id = Uuid::now_v7();
            d.op(VENTA, id, OpKind::Sale, None, sale(&world, id), 11)
        };
        let results = d.push_ok(&app, &[next]).await;
        assert!(
            matches!(&results[0], OpResult::Applied { .. }),
            "{results:?}"
        );
        let signed_in = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"usuario": "cajero_a", "contrasena": PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(signed_in.status(), 200);
        let created = d
            .client
            .post(app.url("/api/customers"))
            .json(&json!({"nombre": "Cliente después"}))
            .send()
            .await
            .expect("customer");
        assert_eq!(created.status(), 201);
    })
    .await;
    assert!(answered.is_ok(), "the server is wedged");
    println!(
        "after 500 abandoned requests: push, sign-in and a write answered in {} ms",
        after_abandon.elapsed().as_millis()
    );
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sales, 3, "each sale exactly once");
}
