//! How a till's backlog goes out (issue 21), against the real `pronto` binary.
//! - A link too slow for a whole batch: a till's pushes of many ops never get through within
//!   the request's timeout, and sending the same batch again would fail the same way forever.
//!   The engine sends smaller pushes until they get through, and every sale arrives exactly
//!   once.
//! - A good link: two pushes are in flight at once, the server takes them in seq order (no op
//!   of the later one is refused as a gap), and every sale arrives exactly once.

mod binary;

use binary::{
    catalog, client, next_change, now_ms, register_till, sign_in, Before, Ledger, Server,
};
use pronto_shared::sync::engine::MIN_PUSH_BATCH;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SALES: usize = 300;
/// Enough for several pushes of [`BATCH`].
const BACKLOG: usize = 2_400;
const BATCH: usize = 500;
/// The most ops a push may carry to get through this link.
const THROUGH: usize = 60;

/// A till of the demo's Centro store with `n` sales of its cashier in its outbox, on a server
/// of its own.
struct Backlog {
    server: Server,
    _dir: tempfile::TempDir,
    till: binary::Till,
    pool: sqlx::SqlitePool,
    before: Before,
    ledger: Ledger,
}

async fn backlog(seed: u64, till_name: &str, n: usize) -> Backlog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::new(dir.path(), "backlog.db");
    server.start(true);
    let http = client();
    let manager = sign_in(&server, &http, "gerente.centro", "gerente2026").await;
    let cashier = ("cajero1.centro", "cajero2026");
    let mut till = register_till(&server, &http, &manager, till_name, cashier, &mut rng).await;
    let products = catalog(&till, 30);
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    let before = Before::read(&pool, till.store).await;
    let mut ledger = Ledger::default();
    for _ in 0..n {
        let change = next_change(&till, manager.id, &products, &mut ledger, &mut rng);
        let signer = till.signer.clone();
        till.engine
            .record(change, now_ms(), &signer)
            .await
            .expect("record");
    }
    Backlog {
        server,
        _dir: dir,
        till,
        pool,
        before,
        ledger,
    }
}

#[tokio::test]
async fn a_backlog_gets_through_a_link_too_slow_for_a_whole_batch_in_smaller_pushes() {
    let Backlog {
        server,
        _dir,
        mut till,
        pool,
        before,
        ledger,
    } = backlog(21, "Caja lenta", SALES).await;
    till.engine.batch_size = 1_000;
    till.engine.transport.slow_link = Some(THROUGH);
    let mut syncs = 0;
    while !till.engine.storage.outbox.is_empty() {
        syncs += 1;
        assert!(
            syncs <= 40,
            "still {} ops waiting",
            till.engine.storage.outbox.len()
        );
        till.engine.sync(now_ms()).await.expect("sync");
    }
    assert!(
        till.engine.transport.timed_out.get() > 0,
        "the link was too slow for some pushes"
    );
    assert!(till.engine.push_limit() >= MIN_PUSH_BATCH);
    ledger.holds(&pool, &before, till.store).await;
    assert_eq!(ledger.sales.len(), SALES);
    pool.close().await;
    server.kill();
}

#[tokio::test]
async fn a_backlog_goes_out_in_one_sync_with_two_pushes_in_flight_each_sale_once() {
    let Backlog {
        server,
        _dir,
        mut till,
        pool,
        before,
        ledger,
    } = backlog(2121, "Caja llena", BACKLOG).await;
    till.engine.batch_size = BATCH;
    let report = till.engine.sync(now_ms()).await.expect("sync");
    assert_eq!(report.failure, None);
    assert_eq!(
        report.retry_after_ms, None,
        "a push was answered with nothing to settle (its ops came before the earlier push's)"
    );
    assert!(till.engine.storage.outbox.is_empty(), "ops left behind");
    assert_eq!(report.applied, BACKLOG);
    assert_eq!(report.duplicates, 0);
    assert_eq!(till.engine.transport.most_in_flight.get(), 2);
    ledger.holds(&pool, &before, till.store).await;
    assert_eq!(ledger.sales.len(), BACKLOG);
    pool.close().await;
    server.kill();
}
