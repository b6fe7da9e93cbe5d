//! Load program for a sign-in rush (issue 16): starts the release server (SQLite, demo data)
//! behind a "proxy" (it trusts 127.0.0.1's `X-Forwarded-For`, so every sign-in comes from a
//! client address of its own, as tablets of many stores would), fires N simultaneous sign-ins
//! (default 200: half real accounts with their passwords, half unknown names), and meanwhile
//! keeps one signed-in person reading the catalog and her session. Prints the sign-ins'
//! statuses, the readers' latencies during the rush, and the server's memory.
//!
//!     cargo build --release -p pronto-backend
//!     cargo run --release -p pronto-backend --example signin_rush -- [SIGN_INS]

mod support;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use futures_util::future::join_all;
use serde_json::json;
use support::{memory_kib, percentile, session_cookie, start_server, Error};

/// The demo's accounts (README).
const ACCOUNTS: [(&str, &str); 10] = [
    ("admin", "admin2026"),
    ("gerente.centro", "gerente2026"),
    ("cajero1.centro", "cajero2026"),
    ("cajero2.centro", "cajero2026"),
    ("gerente.polanco", "gerente2026"),
    ("cajero1.polanco", "cajero2026"),
    ("cajero2.polanco", "cajero2026"),
    ("gerente.gdl", "gerente2026"),
    ("cajero1.gdl", "cajero2026"),
    ("cajero2.gdl", "cajero2026"),
];

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rush: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let port = 19_000 + (std::process::id() % 1_000) as u16;
    let server = start_server(port, &["--trusted-proxies", "127.0.0.1"]).await?;
    let pid = server.child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let rss_idle = memory_kib(pid, "VmRSS:").unwrap_or(0);

    let reader = reqwest::Client::new();
    let cookie = session_cookie(&base, "gerente.centro", "gerente2026", "10.255.0.1").await?;

    let client = reqwest::Client::new();
    let started = Instant::now();
    let sign_ins = (0..rush).map(|n| {
        let (user, password) = if n % 2 == 0 {
            let (u, p) = ACCOUNTS[(n / 2) % ACCOUNTS.len()];
            (u.to_owned(), p.to_owned())
        } else {
            (format!("nadie{n}"), "adivina".to_owned())
        };
        let request = client
            .post(format!("{base}/api/auth/login"))
            .header(
                "x-forwarded-for",
                format!("10.{}.{}.{}", n / 65_025, (n / 255) % 255, n % 255 + 1),
            )
            .json(&json!({"usuario": user, "contrasena": password}))
            .send();
        async move {
            let response = request.await;
            response.map(|r| {
                let retry = r.headers().contains_key("retry-after");
                (r.status().as_u16(), retry)
            })
        }
    });
    let reads = async {
        let mut latencies = Vec::new();
        let mut failures = 0;
        // Reads while the sign-ins are in flight, and a little after.
        while started.elapsed() < Duration::from_secs(3) {
            for path in ["/api/auth/me", "/api/products?q=oxford"] {
                let t = Instant::now();
                let ok = reader
                    .get(format!("{base}{path}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                latencies.push(t.elapsed());
                if !ok {
                    failures += 1;
                }
            }
        }
        (latencies, failures)
    };
    let (answers, (mut latencies, read_failures)) = tokio::join!(join_all(sign_ins), reads);
    let rush_secs = started.elapsed().as_secs_f64();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut bad = 0;
    for answer in answers {
        let key = match answer {
            Ok((503, true)) => "503 + Retry-After".to_owned(),
            Ok((status, _)) => {
                if status >= 500 {
                    bad += 1;
                }
                status.to_string()
            }
            Err(_) => {
                bad += 1;
                "no answer".to_owned()
            }
        };
        *statuses.entry(key).or_default() += 1;
    }
    latencies.sort();
    let rss_after = memory_kib(pid, "VmRSS:").unwrap_or(0);
    let peak = memory_kib(pid, "VmHWM:").unwrap_or(0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{rush} simultaneous sign-ins, answered within {rush_secs:.2} s: {statuses:?}");
    println!("5xx other than 503 with Retry-After, or no answer: {bad}");
    println!(
        "reads during the rush ({} requests, {read_failures} failed): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );
    println!(
        "server memory: {:.1} MiB idle, {:.1} MiB after, peak {:.1} MiB",
        rss_idle as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    drop(server);
    Ok(())
}
