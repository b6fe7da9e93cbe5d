//! Bad input gets a clear 4xx in the API's error format and changes nothing.

use pronto_shared::ErrorBody;
use serde_json::{json, Value};

use crate::{
    fixtures::{client_for, fingerprint, product_input, seed},
    helpers::spawn_app,
};

fn product_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = serde_json::to_value(product_input(50)).unwrap();
    change(&mut body);
    body
}

#[tokio::test]
async fn invalid_products_are_refused_with_field_errors_and_change_nothing() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let gerente = client_for(&app, "gerente_a").await;
    let before = fingerprint(&app.db).await;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "negative price",
            product_with(|b| b["precio"] = json!(-100)),
            422,
            "precio",
        ),
        (
            "zero price",
            product_with(|b| b["precio"] = json!(0)),
            422,
            "precio",
        ),
        (
            "fractional price",
            product_with(|b| b["precio"] = json!(1299.5)),
            422,
            "precio",
        ),
        (
            "price as text",
            product_with(|b| b["precio"] = json!("1299")),
            422,
            "precio",
        ),
        (
            "bad EAN-13 checksum",
            product_with(|b| b["codigo_barras"] = json!("4006381333932")),
            422,
            "codigo_barras",
        ),
        (
            "quarter size",
            product_with(|b| b["talla"] = json!(25.25)),
            422,
            "talla",
        ),
        (
            "unknown field",
            product_with(|b| b["tienda_id"] = json!("x")),
            422,
            "tienda_id",
        ),
        (
            "missing field",
            product_with(|b| {
                b.as_object_mut().unwrap().remove("sku");
            }),
            422,
            "cuerpo",
        ),
        (
            "empty name",
            product_with(|b| b["nombre"] = json!("   ")),
            422,
            "nombre",
        ),
        (
            "script image",
            product_with(|b| b["imagen"] = json!("javascript:alert(1)")),
            422,
            "imagen",
        ),
        (
            "duplicate SKU",
            product_with(|b| b["sku"] = json!("TST-0001")),
            409,
            "",
        ),
    ];
    for (what, body, status, field) in cases {
        let response = gerente
            .post(app.url("/api/products"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{what}");
        let error: ErrorBody = response.json().await.unwrap();
        assert!(!error.message.is_empty(), "{what}");
        if !field.is_empty() {
            assert!(error.fields.contains_key(field), "{what}: {error:?}");
        }
    }

    assert_eq!(fingerprint(&app.db).await, before);
}

#[tokio::test]
async fn malformed_json_wrong_type_and_oversized_bodies_answer_in_the_error_format() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let gerente = client_for(&app, "gerente_a").await;
    let before = fingerprint(&app.db).await;

    let broken = gerente
        .post(app.url("/api/products"))
        .header("content-type", "application/json")
        .body("{\"sku\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert_eq!(
        broken.json::<ErrorBody>().await.unwrap().code,
        "bad_request"
    );

    let not_json = gerente
        .post(app.url("/api/products"))
        .body("sku=ABC")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(
        not_json.json::<ErrorBody>().await.unwrap().code,
        "unsupported_media_type"
    );

    let huge = format!("{{\"nombre\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let oversized = gerente
        .post(app.url("/api/customers"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert_eq!(
        oversized.json::<ErrorBody>().await.unwrap().code,
        "payload_too_large"
    );

    assert_eq!(fingerprint(&app.db).await, before);
}

#[tokio::test]
async fn a_device_for_an_unknown_store_is_refused() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let admin = client_for(&app, "admin").await;
    let before = fingerprint(&app.db).await;

    let response = admin
        .post(app.url("/api/devices"))
        .json(&json!({"nombre": "Caja 9", "tienda_id": uuid::Uuid::now_v7()}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 422);
    assert!(response
        .json::<ErrorBody>()
        .await
        .unwrap()
        .fields
        .contains_key("tienda_id"));
    assert_eq!(fingerprint(&app.db).await, before);
}

#[tokio::test]
async fn sql_and_html_in_names_are_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let nasty = "Robert'); DROP TABLE customers;-- <script>alert('x')</script>";

    let created: Value = cajero
        .post(app.url("/api/customers"))
        .json(&json!({"nombre": nasty, "notas": "<b>VIP</b> & \"amigo\""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(created["nombre"], nasty);
    let found: Value = cajero
        .get(app.url("/api/customers?q=robert"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["nombre"], nasty);
    assert_eq!(found["items"][0]["notas"], "<b>VIP</b> & \"amigo\"");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 2, "the table is still there, with both customers");
}

#[tokio::test]
async fn invalid_customers_and_stock_movements_change_nothing() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let gerente = client_for(&app, "gerente_a").await;
    let before = fingerprint(&app.db).await;

    for (path, body, field) in [
        (
            "/api/customers",
            json!({"nombre": "Ana", "telefono": "123"}),
            "telefono",
        ),
        (
            "/api/customers",
            json!({"nombre": "Ana", "email": "ana@"}),
            "email",
        ),
        (
            "/api/customers",
            json!({"nombre": "Ana", "rfc": "NOPE"}),
            "rfc",
        ),
        (
            "/api/stock/movimientos",
            json!({"producto_id": world.products[0], "delta": 0, "motivo": "ajuste"}),
            "delta",
        ),
        (
            "/api/stock/movimientos",
            json!({"producto_id": world.products[0], "delta": -2, "motivo": "recepcion"}),
            "delta",
        ),
        (
            "/api/stock/movimientos",
            json!({"producto_id": world.products[0], "delta": 2, "motivo": "venta"}),
            "motivo",
        ),
        (
            "/api/stock/movimientos",
            json!({"producto_id": uuid::Uuid::now_v7(), "delta": 2, "motivo": "ajuste"}),
            "producto_id",
        ),
    ] {
        let response = gerente
            .post(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let error: ErrorBody = response.json().await.unwrap();
        assert!(error.fields.contains_key(field), "{body}: {error:?}");
    }

    assert_eq!(fingerprint(&app.db).await, before);
}
