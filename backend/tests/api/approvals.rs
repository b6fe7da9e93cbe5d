//! Discounts above a store's limit: a manager's PIN-signed approval is recorded as such; a
//! missing or forged one never refuses the sale (the shoes left) but flags it.

use pronto_shared::api::{
    approval::{self, SalesPolicy},
    sales::Sale,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, seed, World, PASSWORD},
    helpers::{spawn_app, TestApp},
};

/// A one-pair sale of the first product at its catalog price ($1,299.00) with `discount` off
/// the ticket.
fn discounted(world: &World, id: Uuid, discount: i64, approval: Option<Value>) -> Value {
    let mut sale = json!({
        "id": id,
        "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 129_900}],
        "pagos": [{"metodo": "efectivo", "monto": 129_900}],
        "descuento": discount,
    });
    if let Some(approval) = approval {
        sale["autorizacion"] = approval;
    }
    sale
}

async fn sell(app: &TestApp, client: &reqwest::Client, body: &Value) -> Sale {
    let response = client
        .post(app.url("/api/sales"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_pin_signed_approval_is_recorded_and_a_missing_or_forged_one_flags_the_sale() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    let set_pin = |pin: &str, password: &str| {
        manager
            .put(app.url("/api/auth/pin"))
            .json(&json!({"pin": pin, "contrasena": password}))
            .send()
    };
    assert_eq!(set_pin("12", PASSWORD).await.unwrap().status(), 422);
    assert_eq!(set_pin("4821", "otra").await.unwrap().status(), 422);
    assert_eq!(set_pin("4821", PASSWORD).await.unwrap().status(), 204);

    let cashier = client_for(&app, "cajero_a").await;
    let policy: SalesPolicy = cashier
        .get(app.url("/api/sales/policy"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy.descuento_sin_autorizacion, 15);
    let approver = policy.autorizadores.first().expect("the manager").clone();
    let key = approver.unlock("4821").expect("the PIN unlocks the key");
    assert!(approver.unlock("4822").is_none());

    // 20 % off: above the limit.
    let approved = Uuid::now_v7();
    let signature = approval::sign(&key, approved, approver.id, 25_980);
    let sale = sell(
        &app,
        &cashier,
        &discounted(
            &world,
            approved,
            25_980,
            Some(json!({"gerente_id": approver.id, "firma": signature})),
        ),
    )
    .await;
    assert_eq!(sale.autorizacion.as_str(), "autorizada");
    assert_eq!(sale.autorizo_id, Some(approver.id));

    // The same signature on another sale, or for another amount, is a forgery.
    let replayed = Uuid::now_v7();
    let sale = sell(
        &app,
        &cashier,
        &discounted(
            &world,
            replayed,
            25_980,
            Some(json!({"gerente_id": approver.id, "firma": signature})),
        ),
    )
    .await;
    assert_eq!(sale.autorizacion.as_str(), "sin_autorizacion");
    assert_eq!(sale.autorizo_id, None);

    let unsigned = sell(
        &app,
        &cashier,
        &discounted(&world, Uuid::now_v7(), 25_980, None),
    )
    .await;
    assert_eq!(unsigned.autorizacion.as_str(), "sin_autorizacion");
    let within = sell(
        &app,
        &cashier,
        &discounted(&world, Uuid::now_v7(), 12_990, None),
    )
    .await;
    assert_eq!(within.autorizacion.as_str(), "no_requerida");
}

#[tokio::test]
async fn only_managers_set_a_pin_and_only_admins_change_the_limit() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cashier = client_for(&app, "cajero_a").await;
    let response = cashier
        .put(app.url("/api/auth/pin"))
        .json(&json!({"pin": "4821", "contrasena": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let limit =
        |percent: i64| json!({"tienda_id": world.store_a, "descuento_sin_autorizacion": percent});
    let manager = client_for(&app, "gerente_a").await;
    let response = manager
        .put(app.url("/api/sales/policy"))
        .json(&limit(30))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let admin = client_for(&app, "admin").await;
    let response = admin
        .put(app.url("/api/sales/policy"))
        .json(&limit(150))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let policy: SalesPolicy = admin
        .put(app.url("/api/sales/policy"))
        .json(&limit(30))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(policy.descuento_sin_autorizacion, 30);
    // A manager of another store does not read this store's approvers.
    let other = client_for(&app, "gerente_b").await;
    let response = other
        .get(app.url(&format!("/api/sales/policy?tienda_id={}", world.store_a)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
