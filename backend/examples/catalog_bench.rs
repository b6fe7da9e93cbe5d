//! Load program for the catalog: how long the demo data takes to load, and how fast product
//! search answers, measured inside the server (the query function) and through HTTP on
//! loopback (routing, session check, JSON). Prints its figures; asserts nothing.
//!
//!     cargo run --release -p pronto-backend --example catalog_bench
//!     cargo run --release -p pronto-backend --example catalog_bench -- postgres://user:pw@127.0.0.1/db
//!
//! With a PostgreSQL URL the database must be empty (the demo loads only into an empty one).

use std::time::{Duration, Instant};

use pronto_backend::{db::Database, demo, model::products, AppState};
use pronto_shared::api::products::ProductQuery;

const ROUNDS: usize = 300;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Database::connect(&url).await?;
    db.migrate().await?;
    println!("backend: {}", db.backend().as_str());

    let started = Instant::now();
    let summary = demo::load_if_empty(&db)
        .await?
        .ok_or("database not empty")?;
    println!(
        "demo load: {:.2} s ({summary})",
        started.elapsed().as_secs_f64()
    );

    let mut conn = db.pool().acquire().await?;
    let barcodes: Vec<String> = sqlx::query_scalar("SELECT barcode FROM products ORDER BY sku")
        .fetch_all(&mut *conn)
        .await?;
    let name_queries = [
        "oxf",
        "bo",
        "tenis",
        "moc neg",
        "sandalia brisa",
        "c",
        "pronto clas",
        "zapatilla 25",
    ];

    println!("\nserver-side (products::search on one pooled connection, {ROUNDS} rounds each):");
    for q in name_queries {
        let query = ProductQuery {
            q: Some(q.into()),
            ..Default::default()
        };
        let mut times = Vec::with_capacity(ROUNDS);
        let mut found = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let page = products::search(&mut conn, &query).await?;
            times.push(t.elapsed());
            found = page.items.len();
        }
        report(
            &format!("name prefix {q:?} ({found} on page 1)"),
            &mut times,
        );
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let query = ProductQuery {
            codigo_barras: Some(barcodes[(i * 37) % barcodes.len()].clone()),
            ..Default::default()
        };
        let t = Instant::now();
        let page = products::search(&mut conn, &query).await?;
        times.push(t.elapsed());
        assert_eq!(page.items.len(), 1);
    }
    report("barcode (exact)", &mut times);
    drop(conn);

    // Through HTTP: a real server on loopback, a signed-in cashier.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(db.clone(), dir.path().join("dist"));
    tokio::spawn(pronto_backend::run(listener, state, std::future::pending()));
    let client = reqwest::Client::new();
    let login = client
        .post(format!("http://{addr}/api/auth/login"))
        .json(&serde_json::json!({"usuario": "cajero1.centro", "contrasena": "cajero2026"}))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    println!(
        "\nHTTP on loopback (GET /api/products, signed in, {ROUNDS} rounds each, client-measured):"
    );
    for q in ["oxf", "moc neg", "c"] {
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let response = client
                .get(format!("http://{addr}/api/products"))
                .query(&[("q", q)])
                .header("cookie", &cookie)
                .send()
                .await?;
            let _ = response.bytes().await?;
            times.push(t.elapsed());
        }
        report(&format!("name prefix {q:?}"), &mut times);
    }
    Ok(())
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "  {label:<44} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}
