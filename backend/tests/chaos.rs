//! Chaos against the real `pronto` binary, over real sockets (issue 16): four tills ring up
//! 2,000 ops through the client sync engine while the server is killed with SIGKILL five times
//! mid-push and 50 pushes are abandoned by their client at random moments (the connection
//! closed part-way through the request or while the server works on it). Afterwards: every sale
//! exists exactly once, stock is exactly the start minus what was sold plus what was moved,
//! the audit chain is intact, and the server still signs in and applies pushes.

mod binary;

use std::time::Duration;

use binary::{
    audit, catalog, client, next_change, now_ms, one_pair, register_till, sign_in, Before, Ledger,
    Server, Till,
};
use pronto_shared::sync::op::PROTOCOL;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const OPS: usize = 2_000;
const KILLS: usize = 5;
const ABORTED: usize = 50;

/// A push sent by hand and abandoned: the connection is closed after `cut` bytes of the
/// request (all of it, then a pause, when `cut` is past the end).
async fn abandoned_push(server: &Server, till: &Till, rng: &mut ChaCha8Rng) {
    let ops: Vec<_> = till
        .engine
        .storage
        .outbox
        .values()
        .take(50)
        .cloned()
        .collect();
    if ops.is_empty() {
        return;
    }
    let body = serde_json::to_vec(&json!({
        "device_id": till.engine.identity.device_id,
        "ops": ops,
        "protocolo": PROTOCOL,
    }))
    .expect("json");
    let mut bytes = format!(
        "POST /api/sync/push HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        till.cookie,
        body.len()
    )
    .into_bytes();
    bytes.extend(body);
    let cut = rng
        .gen_range(0..bytes.len() + bytes.len() / 4)
        .min(bytes.len());
    let pause = Duration::from_millis(rng.gen_range(0..20));
    let Ok(mut stream) = tokio::net::TcpStream::connect(server.addr).await else {
        return;
    };
    let _ = stream.write_all(&bytes[..cut]).await;
    tokio::time::sleep(pause).await;
    drop(stream);
}

#[tokio::test]
async fn two_thousand_ops_through_five_kills_and_fifty_abandoned_pushes_arrive_exactly_once() {
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("PRONTO_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(16),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::new(dir.path(), "chaos.db");
    server.start(true);
    let http = client();

    // Four tills of the first store: the manager registers them; each is signed in by one of
    // the store's people, whose key it registers.
    let manager = sign_in(&server, &http, "gerente.centro", "gerente2026").await;
    let people = [
        ("gerente.centro", "gerente2026"),
        ("cajero1.centro", "cajero2026"),
        ("cajero2.centro", "cajero2026"),
        ("cajero1.centro", "cajero2026"),
    ];
    let mut tills = Vec::new();
    for (n, person) in people.into_iter().enumerate() {
        let name = format!("Caja caos {n}");
        tills.push(register_till(&server, &http, &manager, &name, person, &mut rng).await);
    }
    let store = manager.store;
    let products = catalog(&tills[0], 30);
    assert!(products.len() >= 10, "the demo catalog reached the tills");

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    let before = Before::read(&pool, store).await;
    pool.close().await;

    // Where the faults fall among the ops.
    let mut kill_at: Vec<usize> = (0..KILLS).map(|_| rng.gen_range(100..OPS)).collect();
    kill_at.sort_unstable();
    let mut abort_at: Vec<usize> = (0..ABORTED).map(|_| rng.gen_range(0..OPS)).collect();
    abort_at.sort_unstable();

    let mut ledger = Ledger::default();
    let (mut kills, mut aborted, mut cut_short) = (0, 0, 0);
    for n in 0..OPS {
        let t = rng.gen_range(0..tills.len());
        let till = &mut tills[t];
        let change = next_change(till, manager.id, &products, &mut ledger, &mut rng);
        let signer = till.signer.clone();
        till.engine
            .record(change, now_ms(), &signer)
            .await
            .expect("record");
        while abort_at.first() == Some(&n) {
            abort_at.remove(0);
            abandoned_push(&server, &tills[t], &mut rng).await;
            aborted += 1;
        }
        if kill_at.first() == Some(&n) {
            kill_at.remove(0);
            // A till pushes; the server dies under it at a random moment.
            let child = server.child.clone();
            let after = Duration::from_millis(rng.gen_range(0..40));
            let killer = tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(mut child) = child.lock().expect("lock").take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            });
            let report = tills[t].engine.sync(now_ms()).await.expect("sync");
            killer.await.expect("killer");
            cut_short += usize::from(report.failure.is_some());
            server.kill();
            server.start(false);
            kills += 1;
        } else if rng.gen_ratio(1, 25) {
            tills[t].engine.sync(now_ms()).await.expect("sync");
        }
    }
    assert_eq!((kills, aborted), (KILLS, ABORTED));

    // The link is back for good: every till sends everything.
    for _round in 0..20 {
        let mut pending = 0;
        for till in &mut tills {
            till.engine.sync(now_ms()).await.expect("sync");
            pending += till.engine.storage.outbox.len();
        }
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for till in &tills {
        assert!(
            till.engine.storage.outbox.is_empty(),
            "a till could not send"
        );
        assert!(
            till.engine.storage.dead.is_empty(),
            "honest ops were refused: {:?}",
            till.engine.storage.dead.first()
        );
    }

    // The server still serves: a sign-in and a push right away.
    let integrity = audit(&server, &http).await;
    assert_eq!(integrity["ok"], json!(true), "audit chain: {integrity}");
    let till = &mut tills[0];
    let id = Uuid::now_v7();
    let (product, price) = products[0];
    let signer = till.signer.clone();
    till.engine
        .record(one_pair(id, product, price, "efectivo"), now_ms(), &signer)
        .await
        .expect("record");
    let report = till.engine.sync(now_ms()).await.expect("sync");
    assert_eq!((report.applied, report.failure), (1, None));
    ledger.sales.push(id);
    *ledger.moves.entry(product.to_string()).or_default() -= 1;
    server.kill();

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    ledger.holds(&pool, &before, store).await;
    println!(
        "chaos: {OPS} ops ({} sales) on {} tills, {kills} kills ({cut_short} cut a sync short), \
         {aborted} abandoned pushes: every sale once, stock exact, audit intact ({} entries)",
        ledger.sales.len(),
        tills.len(),
        integrity["entries"]
    );
}
