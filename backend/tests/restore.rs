//! A restore to an older backup loses no sale (issue 20), against the real `pronto` binary: two
//! tills push 2,000 ops, `pronto backup` copies the database while the server serves, the tills
//! push 2,000 more, the server is stopped and `pronto restore` puts the backup back. When the
//! tills sync again they learn that the server's database changed (its identity) and how far it
//! holds their ops, resend the acknowledged ops it lost, and pull everything again. Afterwards
//! the server holds all 4,000 ops exactly once — every sale once, stock exact — the audit chain
//! is intact and nothing was refused.

mod binary;

use binary::{
    audit, catalog, client, count, next_change, now_ms, register_till, sign_in, Before, Ledger,
    Till,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use uuid::Uuid;

const HALF: usize = 2_000;

/// `n` ops on random tills (a tenth of the manager's are stock receipts), each till syncing
/// now and then and all of them at the end, until every outbox is empty.
async fn ring_up(
    tills: &mut [Till],
    manager: Uuid,
    products: &[(Uuid, i64)],
    n: usize,
    ledger: &mut Ledger,
    rng: &mut ChaCha8Rng,
) {
    for _ in 0..n {
        let till = &mut tills[rng.gen_range(0..tills.len())];
        let change = next_change(till, manager, products, ledger, rng);
        let signer = till.signer.clone();
        till.engine
            .record(change, now_ms(), &signer)
            .await
            .expect("record");
        if rng.gen_ratio(1, 40) {
            till.engine.sync(now_ms()).await.expect("sync");
        }
    }
    for till in tills.iter_mut() {
        let report = till.engine.sync(now_ms()).await.expect("sync");
        assert_eq!(report.failure, None);
        assert!(
            till.engine.storage.outbox.is_empty(),
            "a till could not send"
        );
    }
}

#[tokio::test]
async fn a_restore_to_an_older_backup_gets_every_op_back_from_the_tills_exactly_once() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = binary::Server::new(dir.path(), "restore.db");
    server.start(true);
    let http = client();
    let manager = sign_in(&server, &http, "gerente.centro", "gerente2026").await;
    let mut tills = Vec::new();
    for (name, person) in [
        ("Caja 1", ("gerente.centro", "gerente2026")),
        ("Caja 2", ("cajero1.centro", "cajero2026")),
    ] {
        tills.push(register_till(&server, &http, &manager, name, person, &mut rng).await);
    }
    let products = catalog(&tills[0], 30);
    assert!(products.len() >= 10, "the demo catalog reached the tills");
    let store = manager.store;
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    let before = Before::read(&pool, store).await;
    pool.close().await;

    let mut ledger = Ledger::default();
    ring_up(
        &mut tills,
        manager.id,
        &products,
        HALF,
        &mut ledger,
        &mut rng,
    )
    .await;
    let backup = dir.path().join("backup.db");
    let backup_arg = backup.display().to_string();
    let printed = server.command(&["backup", "--to", &backup_arg]);
    assert!(printed.contains("backup written"), "{printed}");
    let in_backup = ledger.sales.len();
    ring_up(
        &mut tills,
        manager.id,
        &products,
        HALF,
        &mut ledger,
        &mut rng,
    )
    .await;

    server.kill();
    let printed = server.command(&["restore", "--from", &backup_arg]);
    assert!(printed.contains("restored"), "{printed}");
    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM sales").await,
        before.sales + in_backup as i64,
        "the server is back at the backup"
    );
    pool.close().await;
    server.start(false);

    let mut resent = 0;
    for till in &mut tills {
        let report = till.engine.sync(now_ms()).await.expect("sync");
        assert_eq!(report.failure, None);
        assert!(report.server_restored, "the till saw the restore");
        resent += report.resent;
        assert!(
            till.engine.storage.outbox.is_empty(),
            "the till sent it all"
        );
        assert!(
            till.engine.storage.dead.is_empty(),
            "honest ops were refused: {:?}",
            till.engine.storage.dead.first()
        );
    }
    // Every op of the second half, nothing else: the server kept the first half.
    assert_eq!(resent, HALF, "the tills resent what the backup lacks");
    // A second sync finds nothing to resend.
    for till in &mut tills {
        let report = till.engine.sync(now_ms()).await.expect("sync");
        assert_eq!((report.resent, report.server_restored), (0, false));
    }
    let integrity = audit(&server, &http).await;
    assert_eq!(integrity["ok"], json!(true), "audit chain: {integrity}");
    server.kill();

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    ledger.holds(&pool, &before, store).await;
    for till in &tills {
        // The restored server's view of the till matches the till's own.
        let device = till.engine.identity.device_id.to_string();
        let last: i64 = sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = ?")
            .bind(&device)
            .fetch_one(&pool)
            .await
            .expect("device");
        let ops: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_ops WHERE device_id = ?")
            .bind(&device)
            .fetch_one(&pool)
            .await
            .expect("ops");
        assert_eq!(ops, last, "one op per seq of {device}");
    }
    println!(
        "restore: {} ops ({} sales) on {} tills, backup after {HALF}; {resent} resent after the \
         restore, every sale once, stock exact, audit intact ({} entries)",
        2 * HALF,
        ledger.sales.len(),
        tills.len(),
        integrity["entries"]
    );
}
