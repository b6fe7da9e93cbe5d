use pronto_backend::db::Database;
use pronto_shared::{HealthReport, HealthStatus};

use crate::helpers::{spawn_app, spawn_app_with, test_dirs};

#[tokio::test]
async fn health_reports_version_and_a_reachable_migrated_database() {
    let app = spawn_app().await;

    let response = app.get("/api/health").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let report: HealthReport = response.json().await.unwrap();
    assert_eq!(report.status, HealthStatus::Ok);
    assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(report.database.backend, crate::helpers::backend_name());
    assert!(report.database.reachable);
    assert!(report.database.migrations >= 1);
    assert!(
        report
            .protocolos
            .contains(&pronto_shared::sync::op::PROTOCOL),
        "says which op formats it accepts: {:?}",
        report.protocolos
    );
}

#[tokio::test]
async fn health_answers_503_degraded_when_the_database_does_not_answer() {
    let (dir, dist, db_url) = test_dirs().await;
    let db = Database::connect(&db_url).await.unwrap();
    db.migrate().await.unwrap();
    db.close().await;
    let app = spawn_app_with(dir, dist, db).await;

    let response = app.get("/api/health").await;

    assert_eq!(response.status(), 503);
    let report: HealthReport = response.json().await.unwrap();
    assert_eq!(report.status, HealthStatus::Degraded);
    assert!(!report.database.reachable);
}
