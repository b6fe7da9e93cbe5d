use pronto_backend::db::Database;

use crate::helpers::{spawn_app, spawn_app_with, test_dirs};

#[tokio::test]
async fn shutdown_signal_ends_run_cleanly_and_frees_the_port() {
    let app = spawn_app().await;
    let addr = app.addr;
    assert_eq!(app.get("/api/health").await.status(), 200);

    app.stop().await.expect("run returns Ok after shutdown");

    assert!(reqwest::get(format!("http://{addr}/api/health"))
        .await
        .is_err());
}

#[tokio::test]
async fn restarting_on_the_same_database_keeps_it_and_reapplies_nothing() {
    let (dir, dist, db_url) = test_dirs().await;
    let first = Database::connect(&db_url).await.unwrap();
    first.migrate().await.unwrap();
    let instance: String = sqlx::query_scalar("SELECT instance_id FROM app_instance")
        .fetch_one(first.pool())
        .await
        .unwrap();
    let applied = first.applied_migrations().await.unwrap();
    first.close().await;

    let second = Database::connect(&db_url).await.unwrap();
    second.migrate().await.unwrap();
    let again: String = sqlx::query_scalar("SELECT instance_id FROM app_instance")
        .fetch_one(second.pool())
        .await
        .unwrap();
    let app = spawn_app_with(dir, dist, second).await;

    assert_eq!(instance, again);
    let report: pronto_shared::HealthReport = app.get("/api/health").await.json().await.unwrap();
    assert!(applied >= 2, "every embedded migration applied: {applied}");
    assert_eq!(report.database.migrations, applied);
}
