//! `pronto backup` while the server serves and `pronto restore` with it stopped: the copy holds
//! exactly what was committed when it was taken, an existing file is never overwritten, and a
//! restore refuses under a running server and keeps the database it replaces.

use pronto_backend::{
    backup::{self, ServingLock},
    db::Database,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    fixtures::{client_for, seed},
    helpers::{backend_name, spawn_app},
};

async fn sales_in(url: &str) -> i64 {
    let db = Database::connect(url).await.expect("opens");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(db.pool())
        .await
        .expect("count");
    db.close().await;
    n
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_exactly_what_was_committed_then() {
    if backend_name() != "sqlite" {
        return; // PostgreSQL is backed up with pg_dump (docs/DEPLOY.md).
    }
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero = client_for(&app, "cajero_a").await;
    let sell = || {
        let body = json!({"id": Uuid::now_v7(), "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 500}],
                          "pagos": [{"metodo": "tarjeta", "monto": 500}]});
        let request = cajero.post(app.url("/api/sales")).json(&body).send();
        async move { assert_eq!(request.await.unwrap().status(), 201) }
    };
    for _ in 0..3 {
        sell().await;
    }
    let copy = app.dir.path().join("copia.db");
    let summary = backup::backup(&app.db, &copy).await.expect("backup");
    assert!(summary.bytes > 0 && summary.migrations >= 15, "{summary}");
    for _ in 0..2 {
        sell().await;
    }
    let again = backup::backup(&app.db, &copy).await.unwrap_err();
    assert!(again.to_string().contains("never overwrites"), "{again}");

    // Restore into the database of a stopped server: the live one has 5 sales, the copy 3.
    let live = app.dir.path().join("tienda.db");
    let live_url = format!("sqlite://{}", live.display());
    let db = Database::connect(&live_url).await.expect("live db");
    db.migrate().await.expect("migrate");
    db.close().await;
    {
        let _serving = ServingLock::take(&live_url).expect("lock").expect("sqlite");
        let refused = backup::restore(&live_url, &copy, "t0").await.unwrap_err();
        assert!(refused.to_string().contains("stop it"), "{refused}");
    }
    let kept = backup::restore(&live_url, &copy, "2026-12-01T10:00:00Z")
        .await
        .expect("restore")
        .expect("the replaced database is kept");
    assert!(kept.exists());
    assert_eq!(
        sales_in(&live_url).await,
        3,
        "exactly what was committed at the backup"
    );
    assert_eq!(sales_in(&format!("sqlite://{}", kept.display())).await, 0);

    let junk = app.dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(backup::restore(&live_url, &junk, "t1").await.is_err());
    assert_eq!(sales_in(&live_url).await, 3, "a bad backup changes nothing");
}
