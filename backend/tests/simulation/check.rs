//! What must hold once the faults stop and every queue has drained.

use std::collections::BTreeMap;

use pronto_backend::sync::{audit, pull};
use pronto_shared::sync::{
    config::{CLIENTE, EXISTENCIA, PRODUCTO},
    Strategy,
};
use serde_json::Value;
use uuid::Uuid;

use crate::world::{Sim, INITIAL_STOCK};

async fn scalar(sim: &Sim, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(sim.state.db.pool())
        .await
        .expect(sql)
}

pub async fn all(sim: &mut Sim) {
    let seed = sim.seed;
    outboxes_are_empty_and_dead_letters_explained(sim, seed);
    caches_equal_the_server_view(sim, seed).await;
    every_op_was_answered_exactly_once(sim, seed).await;
    every_sale_exists_exactly_once(sim, seed).await;
    stock_is_initial_plus_deltas(sim, seed).await;
    conflicts_are_recorded_and_settled(sim, seed).await;
    let mut conn = sim.state.db.pool().acquire().await.expect("conn");
    let integrity = audit::verify(&mut conn).await.expect("verify");
    assert!(
        integrity.ok,
        "seed {seed}: audit chain broken: {integrity:?}"
    );
}

fn outboxes_are_empty_and_dead_letters_explained(sim: &Sim, seed: u64) {
    for d in &sim.devices {
        let storage = &d.engine.as_ref().expect("engine").storage;
        assert!(
            storage.outbox.is_empty(),
            "seed {seed}: device {} still has {} ops",
            d.id,
            storage.outbox.len()
        );
        for letter in &storage.dead {
            assert!(
                !letter.reason.is_empty() && !letter.code.is_empty(),
                "seed {seed}: {letter:?}"
            );
        }
    }
}

/// (model, entity) → (version, data): what a device should hold.
type View = BTreeMap<(String, Uuid), (i64, Value)>;

async fn caches_equal_the_server_view(sim: &Sim, seed: u64) {
    let mut views: BTreeMap<Uuid, View> = BTreeMap::new();
    for store in &sim.stores {
        let mut conn = sim.state.db.pool().acquire().await.expect("conn");
        let mut view = BTreeMap::new();
        let mut cursor = 0;
        loop {
            let page = pull::pull(&mut conn, *store, cursor, 1000)
                .await
                .expect("pull");
            for c in page.changes {
                if c.deleted {
                    view.remove(&(c.model.clone(), c.entity_id));
                } else {
                    view.insert((c.model.clone(), c.entity_id), (c.version, c.data));
                }
            }
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
        }
        views.insert(*store, view);
    }
    for d in &sim.devices {
        let cache = &d.engine.as_ref().expect("engine").storage.cache;
        let view = &views[&d.store];
        if cache != view {
            let missing: Vec<_> = view
                .keys()
                .filter(|k| !cache.contains_key(*k))
                .take(3)
                .collect();
            let extra: Vec<_> = cache
                .keys()
                .filter(|k| !view.contains_key(*k))
                .take(3)
                .collect();
            let differ: Vec<_> = view
                .iter()
                .filter(|(k, v)| cache.get(*k).is_some_and(|c| c != *v))
                .map(|(k, _)| k)
                .take(3)
                .collect();
            panic!("seed {seed}: device {} cache differs from the server: missing {missing:?}, extra {extra:?}, different {differ:?}", d.id);
        }
    }
}

async fn every_op_was_answered_exactly_once(sim: &Sim, seed: u64) {
    let stored = scalar(sim, "SELECT COUNT(*) FROM sync_ops").await;
    let made = sim.totals().ops as i64;
    assert_eq!(
        stored + sim.compacted as i64,
        made,
        "seed {seed}: every op the devices made is stored once or was compacted once"
    );
    // What was compacted was settled on its device: nothing above a device's acknowledged seq.
    let beyond = scalar(
        sim,
        "SELECT COUNT(*) FROM sync_ops_archive a JOIN devices d ON d.id = a.device_id \
         WHERE a.seq > d.acked_seq OR d.acked_seq > d.last_seq",
    )
    .await;
    let archived = scalar(sim, "SELECT COUNT(*) FROM sync_ops_archive").await;
    assert_eq!(
        archived, sim.compacted as i64,
        "seed {seed}: every compacted op is archived"
    );
    assert_eq!(beyond, 0, "seed {seed}: compaction ran ahead of a device");
}

async fn every_sale_exists_exactly_once(sim: &Sim, seed: u64) {
    let mut expected = 0;
    for d in &sim.devices {
        let dead: Vec<Uuid> = d
            .engine
            .as_ref()
            .expect("engine")
            .storage
            .dead
            .iter()
            .map(|l| l.op.body.entity_id)
            .collect();
        for sale in &d.sales {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE id = $1")
                .bind(sale.to_string())
                .fetch_one(sim.state.db.pool())
                .await
                .expect("count");
            if dead.contains(sale) {
                assert_eq!(count, 0, "seed {seed}: a refused sale must not exist");
            } else {
                assert_eq!(
                    count, 1,
                    "seed {seed}: sale {sale} of device {} must exist exactly once",
                    d.id
                );
                expected += 1;
            }
        }
    }
    assert_eq!(
        scalar(sim, "SELECT COUNT(*) FROM sales").await,
        expected,
        "seed {seed}: no sale from nowhere"
    );
    let refused_sales = scalar(
        sim,
        "SELECT COUNT(*) FROM sync_ops WHERE model = 'ventas.Venta' AND status = 'rejected'",
    )
    .await;
    assert_eq!(
        refused_sales, 0,
        "seed {seed}: honest sales are never refused"
    );
}

async fn stock_is_initial_plus_deltas(sim: &Sim, seed: u64) {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT store_id, product_id, quantity FROM stock")
            .fetch_all(sim.state.db.pool())
            .await
            .expect("stock");
    for (store, product, quantity) in rows {
        let moved: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM stock_movements WHERE store_id = $1 AND product_id = $2",
        )
        .bind(&store)
        .bind(&product)
        .fetch_one(sim.state.db.pool())
        .await
        .expect("sum");
        assert_eq!(
            quantity,
            INITIAL_STOCK + moved,
            "seed {seed}: stock of {product} in {store}"
        );
    }
    // A delta's movement is named by its op (`movements.rs`): one per op at most by the key;
    // here, one per applied op still stored, and none for an op that was not applied.
    let missing = scalar(
        sim,
        &format!(
            "SELECT COUNT(*) FROM sync_ops s WHERE s.model = '{EXISTENCIA}' AND s.status = 'applied' \
             AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.id = s.op_id)"
        ),
    )
    .await;
    assert_eq!(
        missing, 0,
        "seed {seed}: an applied delta without its movement"
    );
    let unapplied = scalar(
        sim,
        "SELECT COUNT(*) FROM stock_movements m JOIN sync_ops s ON s.op_id = m.id \
         WHERE s.status <> 'applied'",
    )
    .await;
    assert_eq!(
        unapplied, 0,
        "seed {seed}: a movement of an op that was not applied"
    );
    let lines = scalar(sim, "SELECT COUNT(*) FROM sale_lines").await;
    let sale_moves = scalar(
        sim,
        "SELECT COUNT(*) FROM stock_movements WHERE reason IN ('venta', 'devolucion')",
    )
    .await;
    assert_eq!(
        lines, sale_moves,
        "seed {seed}: one movement per sale or return line"
    );
    let over_refunded = scalar(
        sim,
        "SELECT COUNT(*) FROM sales s WHERE s.total < \
         (SELECT COALESCE(SUM(r.total), 0) FROM sales r WHERE r.original_sale_id = s.id)",
    )
    .await;
    assert_eq!(
        over_refunded, 0,
        "seed {seed}: refunds never exceed the sale"
    );
}

async fn conflicts_are_recorded_and_settled(sim: &Sim, seed: u64) {
    let conflicted = scalar(
        sim,
        "SELECT COUNT(*) FROM sync_ops WHERE status IN ('conflict', 'pending')",
    )
    .await;
    let recorded = scalar(sim, "SELECT COUNT(*) FROM sync_conflicts").await;
    assert_eq!(
        conflicted, recorded,
        "seed {seed}: every conflict is recorded"
    );
    for (model, strategy) in [(PRODUCTO, sim.strategies.0), (CLIENTE, sim.strategies.1)] {
        let pending = scalar(sim, &format!("SELECT COUNT(*) FROM sync_conflicts WHERE status = 'pending' AND model = '{model}'")).await;
        if strategy != Strategy::Manual {
            assert_eq!(
                pending, 0,
                "seed {seed}: {model} under {strategy:?} resolves at once"
            );
        }
    }
}
