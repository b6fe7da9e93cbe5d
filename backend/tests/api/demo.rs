//! The demo data set: loaded once into an empty database, never over existing data, and every
//! demo account can sign in.

use pronto_backend::demo;
use pronto_shared::domain::Ean13;

use crate::helpers::spawn_app;

#[tokio::test]
async fn demo_data_loads_into_an_empty_database_once_and_is_valid() {
    let app = spawn_app().await;

    let summary = demo::load_if_empty(&app.db)
        .await
        .unwrap()
        .expect("loaded into an empty database");

    assert_eq!(summary.stores, 3);
    assert_eq!(summary.users, 10);
    assert!(summary.models >= 150, "{summary}");
    assert!(summary.products >= 2_000, "{summary}");
    assert_eq!(summary.customers, 500);
    assert_eq!(
        summary.stock_rows,
        summary.products * 3,
        "stock for every store"
    );
    let barcodes: Vec<String> = sqlx::query_scalar("SELECT barcode FROM products")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(barcodes.len(), summary.products);
    assert!(
        barcodes.iter().all(|b| Ean13::parse(b).is_ok()),
        "every barcode passes its checksum"
    );

    assert!(
        demo::load_if_empty(&app.db).await.unwrap().is_none(),
        "a database with data is left alone"
    );
    let stores: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stores")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stores, 3);

    for (user, _, _, _, password) in demo::USERS {
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&serde_json::json!({"usuario": user, "contrasena": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{user}");
    }
}

#[tokio::test]
async fn demo_catalog_is_the_same_on_every_machine() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    demo::load_if_empty(&first.db).await.unwrap();
    demo::load_if_empty(&second.db).await.unwrap();
    let query = "SELECT sku || ' ' || barcode || ' ' || name FROM products ORDER BY sku";

    let a: Vec<String> = sqlx::query_scalar(query)
        .fetch_all(first.db.pool())
        .await
        .unwrap();
    let b: Vec<String> = sqlx::query_scalar(query)
        .fetch_all(second.db.pool())
        .await
        .unwrap();

    assert_eq!(a, b);
}

#[tokio::test]
async fn a_scaled_demo_catalog_has_exactly_the_variants_asked_each_with_its_own_sku_and_barcode() {
    let app = spawn_app().await;
    let summary = demo::load_if_empty_with(&app.db, Some(6_000))
        .await
        .unwrap()
        .expect("loaded into an empty database");
    assert_eq!(summary.products, 6_000, "{summary}");
    assert_eq!(summary.stock_rows, 18_000);
    let (rows, skus, barcodes): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT sku), COUNT(DISTINCT barcode) FROM products",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!((rows, skus, barcodes), (6_000, 6_000, 6_000));
}
