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

/// A database that answers reads but takes no write cannot accept a sale: health says so (503,
/// `writable: false`) while a write lock is held elsewhere, and recovers when it is released.
#[tokio::test]
async fn health_is_503_while_the_database_takes_no_write_and_recovers_after() {
    let app = crate::helpers::spawn_app().await;
    let status = |app: &crate::helpers::TestApp| {
        let url = app.url("/api/health");
        let client = app.client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            let code = response.status().as_u16();
            let report: HealthReport = response.json().await.unwrap();
            (code, report.database.writable)
        }
    };
    assert_eq!(status(&app).await, (200, true));
    let mut blocker = app.db.begin_write().await.unwrap();
    sqlx::query("UPDATE audit_head SET last_id = last_id WHERE id = 1")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let mut seen = (200, true);
    for _ in 0..60 {
        seen = status(&app).await;
        if seen.0 == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(seen, (503, false), "a held write lock shows");
    blocker.rollback().await.unwrap();
    for _ in 0..60 {
        seen = status(&app).await;
        if seen.0 == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(seen, (200, true), "and goes when it is released");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_proxys_id_is_kept() {
    let app = crate::helpers::spawn_app().await;
    let made = app.client.get(app.url("/api/health")).send().await.unwrap();
    let id = made.headers().get("x-request-id").expect("an id is made");
    assert_eq!(
        uuid::Uuid::parse_str(id.to_str().unwrap())
            .unwrap()
            .get_version_num(),
        4
    );
    let kept = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "nginx-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers().get("x-request-id").unwrap(), "nginx-7f3a");
}
