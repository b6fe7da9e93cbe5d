//! Prices are the server's to judge (DESIGN §8): a sale line's unit price is compared with
//! the catalog prices its device could have known. Below all of them is an unstated discount:
//! recorded (the shoes left) and flagged unless a manager approved it; yesterday's price on a
//! till that has not pulled since is fine.

use pronto_shared::{
    api::{
        approval::{self, SalesPolicy},
        sales::Sale,
    },
    sync::{config::VENTA, OpKind, OpResult},
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, get_json, seed, World, PASSWORD},
    helpers::{spawn_app, TestApp},
    sync::{device, Device},
};

/// One pair of the first product at `price`, paid in cash.
fn priced(world: &World, id: Uuid, price: i64) -> Value {
    json!({
        "id": id,
        "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": price}],
        "pagos": [{"metodo": "efectivo", "monto": price}],
    })
}

async fn approval_of(app: &TestApp, sale: Uuid) -> String {
    sqlx::query_scalar("SELECT approval FROM sales WHERE id = $1")
        .bind(sale.to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("sale recorded")
}

async fn set_price(app: &TestApp, world: &World, price: i64) {
    let manager = client_for(app, "gerente_a").await;
    let mut edit = crate::fixtures::product_input(1);
    edit.precio = price;
    let response = manager
        .put(app.url(&format!("/api/products/{}", world.products[0])))
        .json(&edit)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

/// Rings up one pair at `price` on the till and pushes it.
async fn till_sale(app: &TestApp, world: &World, d: &mut Device, price: i64) -> Uuid {
    let id = Uuid::now_v7();
    let op = d.op(VENTA, id, OpKind::Sale, None, priced(world, id, price), 10);
    let results = d.push_ok(app, &[op]).await;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
    id
}

#[tokio::test]
async fn a_till_selling_below_every_price_it_could_know_is_recorded_and_flagged() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    d.pull(&app, 0, 1_000).await;
    // $1,299.00 sold for $1.00: recorded, never refused, flagged for the manager.
    let sale = till_sale(&app, &world, &mut d, 100).await;
    assert_eq!(approval_of(&app, sale).await, "sin_autorizacion");
    let fair = till_sale(&app, &world, &mut d, 129_900).await;
    assert_eq!(approval_of(&app, fair).await, "no_requerida");
}

#[tokio::test]
async fn yesterdays_price_is_fine_until_the_till_has_pulled_todays() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    d.pull(&app, 0, 1_000).await;
    // The price goes up while the till is offline; it sells at the price in its cache.
    set_price(&app, &world, 150_000).await;
    let offline = till_sale(&app, &world, &mut d, 129_900).await;
    assert_eq!(approval_of(&app, offline).await, "no_requerida");
    // Back online it pulls the new price; once a push has shown it had it, the old price is
    // below what it knows.
    let cursor = d.pull(&app, 0, 1_000).await.cursor;
    assert!(cursor > 0);
    let current = till_sale(&app, &world, &mut d, 150_000).await;
    assert_eq!(approval_of(&app, current).await, "no_requerida");
    let stale = till_sale(&app, &world, &mut d, 129_900).await;
    assert_eq!(approval_of(&app, stale).await, "sin_autorizacion");
}

#[tokio::test]
async fn the_rest_sale_path_judges_prices_by_the_same_rule_and_a_manager_may_approve() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let manager = client_for(&app, "gerente_a").await;
    let response = manager
        .put(app.url("/api/auth/pin"))
        .json(&json!({"pin": "4821", "contrasena": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 204);
    let cashier = client_for(&app, "cajero_a").await;
    let sell = |body: Value| {
        let cashier = cashier.clone();
        let url = app.url("/api/sales");
        async move {
            let response = cashier.post(url).json(&body).send().await.expect("request");
            assert_eq!(response.status(), 201);
            response.json::<Sale>().await.expect("sale")
        }
    };
    let unapproved = sell(priced(&world, Uuid::now_v7(), 100_000)).await;
    assert_eq!(unapproved.autorizacion.as_str(), "sin_autorizacion");

    let policy: SalesPolicy = get_json(&cashier, app.url("/api/sales/policy")).await;
    let approver = policy.autorizadores.first().expect("manager").clone();
    let key = approver.unlock("4821").expect("PIN");
    let id = Uuid::now_v7();
    // The manager approves the $299.00 below the catalog price.
    let mut body = priced(&world, id, 100_000);
    body["autorizacion"] =
        json!({"gerente_id": approver.id, "firma": approval::sign(&key, id, approver.id, 29_900)});
    let approved = sell(body).await;
    assert_eq!(approved.autorizacion.as_str(), "autorizada");
}
