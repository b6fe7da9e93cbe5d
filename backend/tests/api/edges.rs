//! The holes an attacker's probe found at the edges of the API, each closed: writes only as
//! JSON, one error shape everywhere, no caching of answers, image paths of this server only,
//! overflowing stock deltas refused, sign-in limits that hold under concurrency and also guard
//! the PIN route, and what a cashier may read matches what her till pulls.

use futures_util::future::join_all;
use pronto_shared::{
    sync::{config::EXISTENCIA, OpKind, OpResult},
    ErrorBody,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, fingerprint, seed, PASSWORD},
    helpers::spawn_app,
    sync::{device, sale},
};

#[tokio::test]
async fn a_write_without_a_json_content_type_is_refused_and_signs_nobody_out() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    // What a same-site form post looks like: no JSON content type.
    let response = manager
        .post(app.url("/api/auth/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    let body: ErrorBody = response.json().await.expect("json error");
    assert_eq!(body.code, "unsupported_media_type");
    let me = manager
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200, "still signed in");
}

#[tokio::test]
async fn every_error_has_the_json_error_body_even_those_axum_makes() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    for (method, path, status) in [
        ("GET", "/api/sales/no-es-un-id", 400),
        ("GET", "/api/auth/logout", 405),
        ("GET", "/ws/sincronizacion/estado/", 400),
        ("GET", "/api/no-existe", 404),
    ] {
        let response = manager
            .request(method.parse().expect("method"), app.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{method} {path}");
        let text = response.text().await.expect("body");
        let body: ErrorBody = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not the error body: {text:?}"));
        assert!(!body.code.is_empty() && !body.message.is_empty());
    }
}

#[tokio::test]
async fn json_answers_are_never_cached_nor_sniffed() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    for path in ["/api/auth/me", "/api/products", "/api/no-existe"] {
        let response = manager.get(app.url(path)).send().await.expect("request");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn a_product_image_must_be_a_plain_path_of_this_server() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    for (n, image, status) in [
        (7, "//evil.example/x.png", 422),
        (8, "/imagenes/../../secreto", 422),
        (9, "https://cdn.example/x.png", 422),
        (10, "/imagenes/oxford-negro.jpg", 201),
    ] {
        let mut product = crate::fixtures::product_input(n);
        product.imagen = Some(image.into());
        let response = manager
            .post(app.url("/api/products"))
            .json(&product)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{image}");
    }
}

#[tokio::test]
async fn a_stock_delta_that_overflows_is_422_and_never_stored() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    let before = fingerprint(&app.db).await;
    for delta in [i64::MIN, i64::MAX] {
        let response = manager
            .post(app.url("/api/stock/movimientos"))
            .json(&json!({"producto_id": world.products[0], "delta": delta, "motivo": "ajuste"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "REST {delta}");
    }
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let op = d.op(
        EXISTENCIA,
        world.products[0],
        OpKind::StockDelta,
        None,
        json!({"producto_id": world.products[0], "delta": i64::MIN, "motivo": "ajuste"}),
        10,
    );
    let results = d.push_ok(&app, &[op]).await;
    assert!(
        matches!(&results[0], OpResult::Rejected { status: 422, .. }),
        "{results:?}"
    );
    let after = fingerprint(&app.db).await;
    let moved = |f: &[(String, i64)]| {
        f.iter()
            .filter(|(k, _)| k == "stock_sum" || k == "stock_movements")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(moved(&after), moved(&before));
}

#[tokio::test]
async fn thirty_simultaneous_wrong_passwords_get_at_most_ten_password_checks() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let tries = (0..30).map(|_| {
        app.client
            .post(app.url("/api/auth/login"))
            .json(&json!({"usuario": "cajero_a", "contrasena": "adivina"}))
            .send()
    });
    let statuses: Vec<u16> = join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("request").status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + refused, 30, "{statuses:?}");
    assert!(checked <= 10, "{checked} password checks: {statuses:?}");
    // Whatever the burst left of the ten, one at a time uses up exactly the rest.
    let attempt = |password: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .json(&json!({"usuario": "cajero_a", "contrasena": password}))
            .send()
    };
    let mut more = 0;
    while attempt("adivina").await.expect("request").status() == 401 {
        more += 1;
        assert!(more <= 10, "the limit never came");
    }
    assert_eq!(checked + more, 10);
    let right = attempt(PASSWORD).await.expect("request");
    assert_eq!(right.status(), 429, "even the right password waits");
}

#[tokio::test]
async fn the_pin_route_counts_wrong_passwords_like_sign_in() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = manager
            .put(app.url("/api/auth/pin"))
            .json(&json!({"pin": "4821", "contrasena": "adivina"}))
            .send()
            .await
            .expect("request");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[422; 10]);
    assert_eq!(statuses[10], 429);
}

#[tokio::test]
async fn a_cashier_reads_one_sale_of_her_store_as_her_till_pulls_it_but_no_lists() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    let id = Uuid::now_v7();
    let response = manager
        .post(app.url("/api/sales"))
        .json(&sale(&world, id))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let cashier = client_for(&app, "cajero_a").await;
    let read = cashier
        .get(app.url(&format!("/api/sales/{id}")))
        .send()
        .await
        .expect("request");
    assert_eq!(read.status(), 200, "a return at the till needs it");
    let list = cashier
        .get(app.url("/api/sales"))
        .send()
        .await
        .expect("request");
    assert_eq!(list.status(), 403);
    let other = client_for(&app, "cajero_b").await;
    let read: Value = other
        .get(app.url(&format!("/api/sales/{id}")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(read["code"], "forbidden");
}

#[tokio::test]
async fn a_refused_op_is_audited_under_the_device_that_sent_it_not_the_one_it_names() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let their = device(&app, "gerente_a", "cajero_a").await;
    let mut mine = device(&app, "gerente_b", "cajero_b").await;
    let sale_id = Uuid::now_v7();
    let mut body = mine.body(
        pronto_shared::sync::config::VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    body.device_id = their.id;
    let op = crate::sync::signed(body, &mine.key);
    let results = mine.push_ok(&app, std::slice::from_ref(&op)).await;
    assert!(
        matches!(&results[0], OpResult::Rejected { status: 403, .. }),
        "{results:?}"
    );
    let audited: Option<String> =
        sqlx::query_scalar("SELECT device_id FROM audit_log WHERE op_id = $1")
            .bind(op.body.op_id.to_string())
            .fetch_one(app.db.pool())
            .await
            .expect("audited");
    assert_eq!(
        audited,
        Some(mine.id.to_string()),
        "store B's device pushed it"
    );
}
