//! Load program for the real-time channel: starts the release server (SQLite, demo data) in
//! its own process, opens N device sockets (default 1,000) to `/ws/sincronizacion/estado/`,
//! then commits stock receipts one at a time through the REST API and measures, for every
//! socket, the time from sending the request to receiving its poke. Prints p50/p95/p99/max
//! and the server's resident memory (VmRSS with the sockets open, VmHWM peak).
//!
//!     cargo build --release -p pronto-backend
//!     cargo run --release -p pronto-backend --example ws_fanout -- [SOCKETS] [COMMITS]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use pronto_shared::sync::events::Event;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, Message},
};

mod support;

use support::{memory_kib, percentile, session_cookie, start_server, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let sockets: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let commits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let port = 18_000 + (std::process::id() % 1_000) as u16;
    let server = start_server(port, &[]).await?;
    let pid = server.child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let rss_idle = memory_kib(pid, "VmRSS:").unwrap_or(0);

    let cookie = session_cookie(&base, "gerente.centro", "gerente2026", "10.255.0.1").await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse()?);
    let api = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let products: Value = api
        .get(format!("{base}/api/products?q=oxford"))
        .send()
        .await?
        .json()
        .await?;
    let product = products["items"][0]["id"].clone();

    // Every socket reports (socket, instant) for each poke it receives.
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let connected = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Instant::now();
    for _ in 0..sockets {
        let mut request =
            format!("ws://127.0.0.1:{port}/ws/sincronizacion/estado/").into_client_request()?;
        request.headers_mut().insert("cookie", cookie.parse()?);
        request.headers_mut().insert("origin", base.parse()?);
        let (tx, connected) = (tx.clone(), Arc::clone(&connected));
        tokio::spawn(async move {
            let Ok((mut socket, _)) = connect_async(request).await else {
                eprintln!("a socket failed to connect");
                return;
            };
            connected.add_permits(1);
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    if let Ok(Event::Cambios { .. }) = serde_json::from_str(&text) {
                        let _ = tx.send(Instant::now());
                    }
                }
            }
        });
    }
    drop(tx);
    let all = connected.acquire_many(sockets as u32).await?;
    all.forget();
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = memory_kib(pid, "VmRSS:").unwrap_or(0);

    let mut latencies = Vec::with_capacity(sockets * commits);
    let mut missing = 0;
    for _ in 0..commits {
        let sent = Instant::now();
        let status = api
            .post(format!("{base}/api/stock/movimientos"))
            .json(&json!({"producto_id": product, "delta": 1, "motivo": "recepcion"}))
            .send()
            .await?
            .status();
        if !status.is_success() {
            return Err(format!("stock movement answered {status}").into());
        }
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while got < sockets {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(at)) => {
                    latencies.push(at - sent);
                    got += 1;
                }
                _ => break,
            }
        }
        missing += sockets - got;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_after = memory_kib(pid, "VmRSS:").unwrap_or(0);
    let peak = memory_kib(pid, "VmHWM:").unwrap_or(0);
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "sockets: {sockets} connected in {:.2} s",
        connect_time.as_secs_f64()
    );
    println!(
        "commits: {commits}, pokes received: {} (missing {missing})",
        latencies.len()
    );
    println!(
        "request-sent-to-poke latency: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );
    println!(
        "server RSS: {:.1} MiB before sockets, {:.1} MiB with {sockets} open, {:.1} MiB after the run, peak {:.1} MiB",
        rss_idle as f64 / 1024.0,
        rss_open as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
    Ok(())
}
