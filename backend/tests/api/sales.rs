//! Sales through the REST API: totals checked by the shared rule, stock moved, folios
//! unique, a retried sale created once.

use pronto_shared::{api::sales::Sale, ErrorBody};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, fingerprint, seed},
    helpers::spawn_app,
};

#[tokio::test]
async fn a_mixed_payment_sale_is_stored_with_change_folio_and_stock_taken() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let body = json!({
        "id": Uuid::now_v7(),
        "lineas": [
            {"producto_id": world.products[0], "cantidad": 2, "precio_unitario": 129_900},
            {"producto_id": world.products[1], "cantidad": 1, "precio_unitario": 99_900}
        ],
        "pagos": [{"metodo": "tarjeta", "monto": 200_000}, {"metodo": "efectivo", "monto": 200_000}],
        "descuento": 10_000,
        "cliente_id": world.customer
    });

    let response = cajero
        .post(app.url("/api/sales"))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    let sale: Sale = response.json().await.unwrap();
    assert_eq!(sale.subtotal, 359_700);
    assert_eq!(sale.total, 349_700);
    assert_eq!(sale.cambio, 50_300);
    assert_eq!(
        sale.forma_pago,
        pronto_shared::api::sales::PaymentKind::Mixto
    );
    assert_eq!(sale.folio, "TA-API-000001");
    assert_eq!(sale.lineas.len(), 2);
    assert_eq!(sale.cliente_id, Some(world.customer));
    let stock: Value = cajero
        .get(app.url(&format!("/api/stock?producto_id={}", world.products[0])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stock["items"][0]["cantidad"], 8);
}

#[tokio::test]
async fn the_same_sale_sent_twice_is_created_once() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let body = json!({
        "id": Uuid::now_v7(),
        "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 129_900}],
        "pagos": [{"metodo": "efectivo", "monto": 129_900}]
    });

    let first = cajero
        .post(app.url("/api/sales"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let after_first = fingerprint(&app.db).await;
    let second = cajero
        .post(app.url("/api/sales"))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(first.status(), 201);
    assert_eq!(second.status(), 200);
    let (a, b): (Sale, Sale) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(a, b);
    assert_eq!(fingerprint(&app.db).await, after_first);
}

#[tokio::test]
async fn stock_may_go_negative_and_is_flagged_not_refused() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let body = json!({
        "id": Uuid::now_v7(),
        "lineas": [{"producto_id": world.products[2], "cantidad": 12, "precio_unitario": 1_000}],
        "pagos": [{"metodo": "efectivo", "monto": 12_000}]
    });

    assert_eq!(
        cajero
            .post(app.url("/api/sales"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let gerente = client_for(&app, "gerente_a").await;
    let negatives: Value = gerente
        .get(app.url("/api/stock?solo_negativos=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(negatives["items"][0]["cantidad"], -2);
    assert_eq!(negatives["items"][0]["negativo"], true);
}

#[tokio::test]
async fn short_payments_and_unknown_products_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let before = fingerprint(&app.db).await;

    for (body, field) in [
        (
            json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 129_900}],
                   "pagos": [{"metodo": "efectivo", "monto": 100_000}]}),
            "pagos",
        ),
        (
            json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": Uuid::now_v7(), "cantidad": 1, "precio_unitario": 100}],
                   "pagos": [{"metodo": "efectivo", "monto": 100}]}),
            "lineas[0].producto_id",
        ),
        (
            json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 100}],
                   "pagos": [{"metodo": "efectivo", "monto": 100}], "cliente_id": Uuid::now_v7()}),
            "cliente_id",
        ),
    ] {
        let response = cajero
            .post(app.url("/api/sales"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert!(
            response
                .json::<ErrorBody>()
                .await
                .unwrap()
                .fields
                .contains_key(field),
            "{body}"
        );
    }
    assert_eq!(fingerprint(&app.db).await, before);
}

#[tokio::test]
async fn managers_list_the_days_sales_of_their_store() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    for _ in 0..2 {
        let body = json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 500}],
                          "pagos": [{"metodo": "tarjeta", "monto": 500}]});
        assert_eq!(
            cajero
                .post(app.url("/api/sales"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }

    let gerente = client_for(&app, "gerente_a").await;
    let today: Vec<Sale> = gerente
        .get(app.url("/api/sales"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_day: Vec<Sale> = gerente
        .get(app.url("/api/sales?fecha=2001-01-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bad_day = gerente
        .get(app.url("/api/sales?fecha=ayer"))
        .send()
        .await
        .unwrap();

    assert_eq!(today.len(), 2);
    assert_eq!(today[1].folio, "TA-API-000002");
    assert!(other_day.is_empty());
    assert_eq!(bad_day.status(), 422);
}

#[tokio::test]
async fn a_days_sales_come_in_pages_that_cover_each_sale_once_in_order() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let gerente = client_for(&app, "gerente_a").await;
    for _ in 0..7 {
        let body = json!({
            "id": Uuid::now_v7(),
            "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 129_900}],
            "pagos": [{"metodo": "efectivo", "monto": 129_900}]
        });
        let response = gerente
            .post(app.url("/api/sales"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let everything: Vec<Sale> = gerente
        .get(app.url("/api/sales"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(everything.len(), 7);
    let mut paged: Vec<Sale> = Vec::new();
    let mut pages = 0;
    loop {
        let after = paged
            .last()
            .map(|s| format!("&despues={}", s.id))
            .unwrap_or_default();
        let page: Vec<Sale> = gerente
            .get(app.url(&format!("/api/sales?limite=3{after}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        let done = page.len() < 3;
        paged.extend(page);
        if done {
            break;
        }
    }
    assert_eq!(pages, 3);
    let ids = |list: &[Sale]| list.iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&paged),
        ids(&everything),
        "each once, in the same order"
    );
}

#[tokio::test]
async fn a_sale_at_half_past_eight_in_the_evening_is_that_days_sale_in_the_stores_time() {
    use pronto_backend::clock::Clock;
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    // Forward to the next 02:30 UTC: 20:30 of the day before in Mexico City (UTC−6).
    let day_ms = 86_400_000;
    let now = app.clock.now_ms();
    let target = now - now.rem_euclid(day_ms) + 2 * 3_600_000 + 30 * 60_000;
    let target = if target <= now {
        target + day_ms
    } else {
        target
    };
    app.clock.advance_ms(target - now);
    let at = time::OffsetDateTime::from_unix_timestamp(target / 1000).unwrap();
    let utc_day = at.date().to_string();
    let local_day = at.date().previous_day().unwrap().to_string();

    let cajero = client_for(&app, "cajero_a").await;
    let body = json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 500}],
                      "pagos": [{"metodo": "tarjeta", "monto": 500}]});
    let created = cajero
        .post(app.url("/api/sales"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let sale: Sale = created.json().await.unwrap();

    let gerente = client_for(&app, "gerente_a").await;
    let list = |query: String| {
        let gerente = gerente.clone();
        let url = app.url(&format!("/api/sales{query}"));
        async move {
            gerente
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Vec<Sale>>()
                .await
                .unwrap()
        }
    };
    let ids = |sales: Vec<Sale>| sales.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(list(String::new()).await),
        vec![sale.id],
        "today is the store's today"
    );
    assert_eq!(
        ids(list(format!("?fecha={local_day}")).await),
        vec![sale.id]
    );
    assert!(
        list(format!("?fecha={utc_day}")).await.is_empty(),
        "not tomorrow's sale, as the UTC day would have it"
    );
}
