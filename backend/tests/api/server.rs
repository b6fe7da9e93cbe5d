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

#[tokio::test]
async fn json_logs_carry_the_request_id_the_answer_gave() {
    use std::io::{BufRead, Read};
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html></html>").unwrap();
    let url = format!("sqlite://{}", dir.path().join("pronto.db").display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pronto"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--dist",
        ])
        .arg(&dist)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("address line").unwrap();
        if let Some(addr) = line.split("listening on http://").nth(1) {
            break addr.trim().to_owned();
        }
    };
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/api/auth/login"))
        .json(&serde_json::json!({"usuario": "nadie", "contrasena": "mala"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let id = answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let line = stderr
        .lines()
        .find(|l| l.contains("failed sign-in"))
        .unwrap_or_else(|| panic!("the failure is logged:\n{stderr}"));
    let logged: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
    assert_eq!(logged["span"]["request_id"], id.as_str(), "{line}");
}
