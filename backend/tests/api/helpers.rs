//! `spawn_app()`: a real server on a free port, with its own database and `dist/` directory.
//!
//! The database is SQLite in a temp dir, or — when `PRONTO_TEST_POSTGRES_URL` names a
//! PostgreSQL server (scripts/test.sh sets it for the second pass) — a fresh PostgreSQL
//! database created for this one test.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use pronto_backend::{
    auth::AuthConfig,
    clock::{Clock, ManualClock},
    db::Database,
    AppState,
};
use sqlx::{AnyConnection, Connection, Executor};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// Name of the fake hashed wasm file written into every test `dist/`.
pub const HASHED_WASM: &str = "pronto-frontend-0123456789abcdef_bg.wasm";
pub const WASM_BYTES: &[u8] = b"\0asm\x01\0\0\0";
pub const INDEX_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/pronto-frontend-0123456789abcdef.js'; init();</script></head><body></body></html>";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub db: Database,
    pub clock: Arc<ManualClock>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), pronto_backend::AppError>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the test server")
    }

    /// Sends the shutdown signal and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), pronto_backend::AppError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.expect("server task does not panic"),
            None => Ok(()),
        }
    }
}

/// Which backend this test run uses: `sqlite` or `postgres`.
pub fn backend_name() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("PRONTO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Starts the app on `127.0.0.1:0` over a fresh database and a fake build output.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_auth(AuthConfig::default()).await
}

/// A server with these session and proxy settings.
pub async fn spawn_app_with_auth(auth: AuthConfig) -> TestApp {
    let (dir, dist, db_url) = test_dirs().await;
    let db = Database::connect(&db_url).await.expect("database opens");
    db.migrate().await.expect("migrations apply");
    serve(dir, dist, db, auth).await
}

/// A temp dir holding a fake `dist/`, and the URL of a database nobody has used yet.
pub async fn test_dirs() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dist = dir.path().join("dist");
    write_dist(&dist);
    let db_url = match postgres_admin_url() {
        Some(admin) => fresh_postgres_database(&admin).await,
        None => format!("sqlite://{}", dir.path().join("data/pronto.db").display()),
    };
    (dir, dist, db_url)
}

async fn fresh_postgres_database(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("pronto_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = AnyConnection::connect(admin_url)
        .await
        .expect("PostgreSQL admin connection");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create throwaway database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{name}")
}

/// Starts the app over a database the caller prepared (or broke on purpose), with a manual
/// clock starting at the real time.
pub async fn spawn_app_with(dir: tempfile::TempDir, dist: PathBuf, db: Database) -> TestApp {
    serve(dir, dist, db, AuthConfig::default()).await
}

async fn serve(dir: tempfile::TempDir, dist: PathBuf, db: Database, auth: AuthConfig) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let clock = Arc::new(ManualClock::new(
        pronto_backend::clock::SystemClock.now_ms(),
    ));
    let state = AppState::new(db.clone(), dist)
        .with_clock(clock.clone())
        .with_auth(auth);
    let server = tokio::spawn(pronto_backend::run(listener, state, async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        dir,
        db,
        clock,
        shutdown: Some(tx),
        server: Some(server),
    }
}

fn write_dist(dist: &std::path::Path) {
    std::fs::create_dir_all(dist.join("icons")).expect("dist dir");
    std::fs::write(dist.join("index.html"), INDEX_HTML).expect("index.html");
    std::fs::write(dist.join(HASHED_WASM), WASM_BYTES).expect("wasm");
    std::fs::write(
        dist.join("pronto-frontend-0123456789abcdef.js"),
        "export default function init() {}",
    )
    .expect("js");
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .expect("sw.js");
    std::fs::write(
        dist.join("manifest.webmanifest"),
        "{\"name\":\"Pronto POS\"}",
    )
    .expect("manifest");
    std::fs::write(dist.join("icons/icon-192.png"), b"\x89PNG\r\n\x1a\n").expect("icon");
}
