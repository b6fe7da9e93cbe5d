//! The device's IndexedDB storage and the cross-tab lock, in headless Chromium: what must
//! hold for no sale to be lost on the device.

use std::{cell::RefCell, collections::BTreeMap, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use pronto_frontend::{
    keyring::WebSigner,
    local_db::{stores, LocalDb, DB_NAME},
    local_store::LocalStore,
    web_lock,
};
use pronto_shared::sync::{
    config::{PRODUCTO, VENTA},
    engine::{Identity, LocalChange, Storage, SyncEngine, Transport, TransportError},
    Change, OpKind, OpResult, PullReply, PushReply, PushRequest,
};
use serde_json::json;
use uuid::Uuid;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A WebCrypto Ed25519 key, as a signed-in person's (registered nowhere: no server here).
async fn signer() -> WebSigner {
    WebSigner::unregistered().await.expect("WebCrypto Ed25519")
}

/// A database of its own per test, so tests never see each other's data.
fn db_name(test: &str) -> String {
    format!("{DB_NAME}-test-{test}-{}", Uuid::now_v7())
}

fn identity() -> Identity {
    Identity {
        device_id: Uuid::now_v7(),
        author_id: Uuid::now_v7(),
    }
}

fn sale(n: u64) -> LocalChange {
    let id = Uuid::now_v7();
    LocalChange {
        model: VENTA.into(),
        entity_id: id,
        kind: OpKind::Sale,
        base_version: None,
        fields: BTreeMap::from([("id".to_owned(), json!(id)), ("n".to_owned(), json!(n))]),
        priority: 100,
    }
}

/// Answers every op as applied and remembers the seqs it received; once given a
/// `device_seq`, its pulls say how far it holds the device (raised by what it applies), and
/// which database it is (`instance`).
#[derive(Clone, Default)]
struct Accepting {
    seqs: Rc<RefCell<Vec<u64>>>,
    device_seq: Rc<RefCell<Option<u64>>>,
    instance: Rc<RefCell<Option<String>>>,
}

impl Transport for Accepting {
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError> {
        let mut results = Vec::new();
        for op in &request.ops {
            self.seqs.borrow_mut().push(op.body.seq);
            if let Some(held) = self.device_seq.borrow_mut().as_mut() {
                *held = (*held).max(op.body.seq);
            }
            results.push(OpResult::Applied {
                op_id: op.body.op_id,
                version: 1,
            });
        }
        Ok(PushReply {
            clock_ahead_ms: None,
            results,
            server_hlc: pronto_shared::sync::Hlc::zero("server"),
        })
    }

    async fn pull(&mut self, cursor: i64, _limit: i64) -> Result<PullReply, TransportError> {
        Ok(PullReply {
            changes: Vec::new(),
            cursor,
            has_more: false,
            held_for_manager: None,
            device_seq: *self.device_seq.borrow(),
            latest: None,
            instance: self.instance.borrow().clone(),
        })
    }
}

/// Acknowledged ops kept (each record holds a settlement's ops).
async fn acked_count(store: &LocalStore) -> u32 {
    let request = store
        .db
        .read(&[stores::ACKED], |tx| {
            tx.object_store(stores::ACKED)?.get_all()
        })
        .await
        .expect("read");
    js_sys::Array::from(&request.result().expect("result"))
        .iter()
        .map(|record| {
            js_sys::Array::from(&js_sys::Reflect::get(&record, &"ops".into()).expect("ops"))
                .length()
        })
        .sum()
}

#[wasm_bindgen_test]
async fn the_outbox_survives_closing_and_reopening_the_database() {
    let name = db_name("reopen");
    let store = LocalStore::open(&name).await.expect("open");
    let who = identity();
    let mut engine = SyncEngine::open(store.clone(), Accepting::default(), who, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let mut recorded = Vec::new();
    for n in 0..3 {
        recorded.push(
            engine
                .record(sale(n), 1_000 + n, &key)
                .await
                .expect("record"),
        );
    }
    store.db.close();
    drop(engine);

    let mut reopened = LocalStore::open(&name).await.expect("reopen");
    assert_eq!(reopened.last_seq().await.expect("seq"), 3);
    assert_eq!(reopened.pending(0, 10).await.expect("pending"), recorded);
    let hlc = reopened.last_hlc().await.expect("hlc");
    assert_eq!(hlc.as_ref(), Some(&recorded[2].body.hlc));
    reopened.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn a_lost_connection_is_reopened_and_the_write_goes_through() {
    let name = db_name("lost");
    let store = LocalStore::open(&name).await.expect("open");
    let mut engine = SyncEngine::open(store.clone(), Accepting::default(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    engine.record(sale(0), 1, &key).await.expect("record");
    // What the browser does when it drops the connection: the next write must reopen it.
    store.db.close();
    engine
        .record(sale(1), 2, &key)
        .await
        .expect("record after close");
    assert_eq!(store.outbox_len().await.expect("count"), 2);
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

fn nothing(
    _: &web_sys::IdbDatabase,
    _: &web_sys::IdbTransaction,
    _: u32,
    _: u32,
) -> Result<(), JsValue> {
    Ok(())
}

#[wasm_bindgen_test]
async fn a_database_another_script_created_empty_opens_with_every_store() {
    let name = db_name("empty-v1");
    // `indexedDB.open(name)` without a version, as a probe or a devtools snippet does.
    let probe = LocalDb::open_with(&name, 1, nothing).await.expect("probe");
    probe.close();
    let mut store = LocalStore::open(&name)
        .await
        .expect("opens at the app's version");
    assert_eq!(store.pending_count().await.expect("outbox"), 0);
    assert_eq!(store.cursor().await.expect("meta"), 0);
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

fn oxford(id: Uuid, version: i64, price: i64) -> Change {
    Change {
        seq: version,
        model: PRODUCTO.into(),
        entity_id: id,
        version,
        deleted: false,
        data: json!({"id": id, "sku": "OXF-1", "codigo_barras": "7501234567897",
                     "nombre": "Oxford Clásico", "marca": "Pronto", "modelo": "Oxford",
                     "color": "Negro", "precio": price}),
    }
}

#[wasm_bindgen_test]
async fn a_schema_upgrade_keeps_the_outbox_and_pulls_the_catalog_again_into_its_log() {
    let name = db_name("upgrade");
    let old = LocalStore::over(LocalDb::open_at(&name, 5).await.expect("open v5"));
    let mut engine = SyncEngine::open(old.clone(), Accepting::default(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    let queued = engine.record(sale(7), 5, &key).await.expect("record");
    let product = Uuid::now_v7();
    // A product as versions 1 to 5 cached it: one record in its own store.
    old.db
        .write(&[stores::PRODUCTS], |tx| {
            let row = js_sys::Object::new();
            js_sys::Reflect::set(&row, &"id".into(), &product.to_string().into())?;
            js_sys::Reflect::set(&row, &"barcode".into(), &"7501234567897".into())?;
            tx.object_store(stores::PRODUCTS)?.put(&row)
        })
        .await
        .expect("cache at v5");
    old.clone().set_cursor(40).await.expect("cursor");
    old.db.close();

    let mut upgraded = LocalStore::open(&name).await.expect("open latest");
    assert_eq!(
        upgraded.pending(0, 10).await.expect("pending"),
        vec![queued],
        "the op queued before the upgrade is still there"
    );
    assert_eq!(
        upgraded.cursor().await.expect("cursor"),
        0,
        "the old cache is gone, so the next sync pulls everything again"
    );
    assert!(upgraded
        .product_by_barcode("7501234567897")
        .await
        .expect("barcode")
        .is_none());
    upgraded
        .apply_pull(&[oxford(product, 1, 129_900)], 1)
        .await
        .expect("pull");
    let found = upgraded
        .product_by_barcode("7501234567897")
        .await
        .expect("barcode");
    assert_eq!(found.map(|p| p["sku"].clone()), Some(json!("OXF-1")));
    let by_name = upgraded.search_products("clasi", 10).await.expect("search");
    assert_eq!(
        by_name.len(),
        1,
        "found by a word's beginning, accents aside"
    );
    upgraded.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn another_tab_sees_each_pulled_page_and_the_compacted_log_gives_the_same_catalog() {
    let name = db_name("catalog-tabs");
    let mut writer = LocalStore::open(&name).await.expect("open");
    let reader = LocalStore::open(&name).await.expect("open again");
    let product = Uuid::now_v7();
    writer
        .apply_pull(&[oxford(product, 1, 100)], 1)
        .await
        .expect("pull");
    let price = |found: Option<serde_json::Value>| found.map(|p| p["precio"].clone());
    assert_eq!(
        price(reader.cached(PRODUCTO, product).await.expect("read")),
        Some(json!(100))
    );
    // Past the compaction threshold: one page per price change, each its own segment.
    for version in 2..=300 {
        writer
            .apply_pull(&[oxford(product, version, version * 100)], version)
            .await
            .expect("pull");
    }
    let others: Vec<Change> = (0..50)
        .map(|n| {
            let mut change = oxford(Uuid::now_v7(), 1, n);
            change.data["codigo_barras"] = json!(format!("75099{n:08}"));
            change
        })
        .collect();
    writer.apply_pull(&others, 301).await.expect("pull");
    assert_eq!(
        price(reader.cached(PRODUCTO, product).await.expect("read")),
        Some(json!(30_000)),
        "the reader caught up across 300 segments and compacted them"
    );
    let log = writer
        .db
        .read(&[stores::CATALOG], |tx| {
            tx.object_store(stores::CATALOG)?.count()
        })
        .await
        .expect("count");
    assert_eq!(
        log.result().expect("count").as_f64(),
        Some(1.0),
        "51 records fit in one base segment"
    );
    let mut gone = oxford(product, 302, 0);
    gone.deleted = true;
    gone.data = serde_json::Value::Null;
    writer.apply_pull(&[gone], 302).await.expect("pull");
    let fresh = LocalStore::open(&name).await.expect("a third tab");
    for tab in [&writer, &reader, &fresh] {
        assert!(tab.cached(PRODUCTO, product).await.expect("read").is_none());
        assert_eq!(
            tab.search_products("oxford", 100)
                .await
                .expect("search")
                .len(),
            50,
            "every tab: the 50 others, not the deleted one"
        );
    }
    for tab in [writer, reader, fresh] {
        tab.db.close();
    }
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn a_tab_whose_database_the_browser_reset_reads_the_new_catalog_not_its_memory() {
    // Whether the recovery gave the new database its id before the next pull wrote to it.
    for recovered_first in [false, true] {
        let name = db_name("catalog-reset");
        let mut store = LocalStore::open(&name).await.expect("open");
        let old = Uuid::now_v7();
        store
            .apply_pull(&[oxford(old, 1, 100)], 1)
            .await
            .expect("pull");
        assert!(store.cached(PRODUCTO, old).await.expect("read").is_some());
        // The browser drops the database under the open page; the next use creates it
        // again, and its first segment takes the same key the old one had.
        LocalDb::delete(&name).await.expect("reset");
        if recovered_first {
            store.database_id().await.expect("the new database's id");
        }
        let new = Uuid::now_v7();
        let mut change = oxford(new, 1, 200);
        change.data["codigo_barras"] = json!("7509999999999");
        store
            .apply_pull(&[change], 1)
            .await
            .expect("pull into the new database");
        assert!(
            store.cached(PRODUCTO, old).await.expect("read").is_none(),
            "what the tab held in memory went with the old database (recovered first: {recovered_first})"
        );
        let found = store
            .product_by_barcode("7509999999999")
            .await
            .expect("barcode");
        assert_eq!(found.map(|p| p["precio"].clone()), Some(json!(200)));
        store.db.close();
        LocalDb::delete(&name).await.expect("delete");
    }
}

#[wasm_bindgen_test]
async fn ten_thousand_ops_enqueue_and_drain_through_a_test_transport_in_seq_order() {
    let name = db_name("drain");
    let store = LocalStore::open(&name).await.expect("open");
    let transport = Accepting::default();
    let mut engine = SyncEngine::open(store.clone(), transport.clone(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    for n in 0..10_000 {
        engine.record(sale(n), n, &key).await.expect("record");
    }
    assert_eq!(store.outbox_len().await.expect("count"), 10_000);
    let report = engine.sync(20_000).await.expect("sync");
    assert_eq!(report.applied, 10_000);
    assert_eq!(store.outbox_len().await.expect("count"), 0);
    let seqs = transport.seqs.borrow().clone();
    assert_eq!(seqs, (1..=10_000).collect::<Vec<u64>>());
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn acknowledged_ops_a_restored_server_lacks_are_sent_again_from_indexeddb_and_pruned_later() {
    let name = db_name("acked");
    let store = LocalStore::open(&name).await.expect("open");
    let server = Accepting::default();
    *server.instance.borrow_mut() = Some("primera".into());
    let mut engine = SyncEngine::open(store.clone(), server.clone(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    for n in 0..5 {
        engine
            .record(sale(n), 1_000 + n, &key)
            .await
            .expect("record");
    }
    *server.device_seq.borrow_mut() = Some(0);
    let report = engine.sync(2_000).await.expect("sync");
    assert_eq!((report.applied, report.resent), (5, 0));
    assert_eq!(acked_count(&store).await, 5, "answered ops are kept");

    // Restored to a backup holding the first two: the other three go again, once.
    *server.device_seq.borrow_mut() = Some(2);
    *server.instance.borrow_mut() = Some("restaurada".into());
    store.clone().set_cursor(40).await.expect("cursor");
    let report = engine.sync(3_000).await.expect("sync");
    assert!(report.server_restored);
    assert_eq!((report.resent, report.applied), (3, 3));
    assert_eq!(*server.seqs.borrow(), [1, 2, 3, 4, 5, 3, 4, 5]);
    assert_eq!(store.outbox_len().await.expect("count"), 0);
    assert_eq!(
        store.clone().cursor().await.expect("cursor"),
        0,
        "pulled again from the start"
    );
    assert_eq!(
        store
            .clone()
            .server_instance()
            .await
            .expect("instance")
            .as_deref(),
        Some("restaurada")
    );
    let report = engine.sync(4_000).await.expect("sync");
    assert_eq!((report.resent, report.server_restored), (0, false));

    // Kept while young and within the bound; the oldest go first.
    store.clone().prune_acked(2_500, 100).await.expect("prune");
    assert_eq!(
        acked_count(&store).await,
        3,
        "the two answered at 2,000 are forgotten"
    );
    store.clone().prune_acked(0, 1).await.expect("prune");
    assert_eq!(acked_count(&store).await, 1);
    assert_eq!(
        store.clone().requeue_acked_above(0).await.expect("requeue"),
        1
    );
    assert_eq!(
        store.outbox().await.expect("outbox")[0].body.seq,
        5,
        "the newest is kept"
    );
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn a_second_lock_holder_waits_until_the_first_releases() {
    let lock = format!("test-lock-{}", Uuid::now_v7());
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let (first_log, second_log) = (Rc::clone(&log), Rc::clone(&log));
    let first_lock = lock.clone();
    wasm_bindgen_futures::spawn_local(async move {
        web_lock::with_lock(&first_lock, async move {
            first_log.borrow_mut().push("first in");
            TimeoutFuture::new(300).await;
            first_log.borrow_mut().push("first out");
        })
        .await
        .expect("first");
    });
    TimeoutFuture::new(50).await;
    assert!(web_lock::is_held(&lock).await);
    web_lock::with_lock(&lock, async move {
        second_log.borrow_mut().push("second in");
    })
    .await
    .expect("second");
    assert_eq!(
        *log.borrow(),
        vec!["first in", "first out", "second in"],
        "the second holder ran only after the first released"
    );
}

#[wasm_bindgen_test]
async fn upgrading_to_version_3_indexes_sales_cached_before_by_folio_and_original_sale() {
    let name = db_name("folio");
    let old = LocalDb::open_at(&name, 2).await.expect("open v2");
    let (sale, back) = (Uuid::now_v7(), Uuid::now_v7());
    // Records as version 2 stored them: id, version and the JSON, no folio field.
    let rows = [
        (
            sale,
            json!({"id": sale, "folio": "T01-C01-000007", "tipo": "venta"}),
        ),
        (
            back,
            json!({"id": back, "folio": "T01-C01-000009", "tipo": "devolucion",
                   "venta_original_id": sale}),
        ),
    ];
    old.write(&[stores::SALES], |tx| {
        let cache = tx.object_store(stores::SALES)?;
        for (id, data) in &rows {
            let row = pronto_frontend::local_db::record(&[
                ("id", JsValue::from_str(&id.to_string())),
                ("version", JsValue::from_f64(1.0)),
                ("data", JsValue::from_str(&data.to_string())),
            ])?;
            cache.put(&row)?;
        }
        Ok(())
    })
    .await
    .expect("v2 rows");
    old.close();

    let upgraded = LocalStore::open(&name).await.expect("open latest");
    let found = upgraded
        .sales_by("folio", "T01-C01-000007")
        .await
        .expect("by folio");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], json!(sale));
    let returns = upgraded
        .sales_by("original", &sale.to_string())
        .await
        .expect("by original");
    assert_eq!(returns.len(), 1);
    assert_eq!(returns[0]["id"], json!(back));
    upgraded.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn upgrading_to_version_4_files_the_queued_ops_by_kind_for_counts_and_screens() {
    let name = db_name("kinds");
    let old = LocalStore::over(LocalDb::open_at(&name, 3).await.expect("open v3"));
    let mut engine = SyncEngine::open(old.clone(), Accepting::default(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    let customer = Uuid::now_v7();
    let create = LocalChange {
        model: pronto_shared::sync::config::CLIENTE.into(),
        entity_id: customer,
        kind: OpKind::Create,
        base_version: None,
        fields: BTreeMap::from([("nombre".to_owned(), json!("Rosa Díaz"))]),
        priority: 50,
    };
    let mut queued = vec![
        engine.record(sale(1), 1, &key).await.expect("sale"),
        engine.record(create, 2, &key).await.expect("customer"),
        engine.record(sale(3), 3, &key).await.expect("sale"),
    ];
    // The rows as version 3 stored them: seq, op id and the op, no kind.
    old.db
        .write(&[stores::OUTBOX], |tx| {
            let outbox = tx.object_store(stores::OUTBOX)?;
            outbox.clear()?;
            for op in &queued {
                let row = pronto_frontend::local_db::record(&[
                    ("op_id", JsValue::from_str(&op.body.op_id.to_string())),
                    ("seq", JsValue::from_f64(op.body.seq as f64)),
                    (
                        "op",
                        JsValue::from_str(&serde_json::to_string(op).expect("json")),
                    ),
                ])?;
                outbox.put(&row)?;
            }
            Ok(())
        })
        .await
        .expect("v3 rows");
    old.db.close();

    let upgraded = LocalStore::open(&name).await.expect("open latest");
    let counts = upgraded.outbox_counts().await.expect("counts");
    assert_eq!(
        counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .copied()
            .collect::<Vec<_>>(),
        vec![("venta", 2), ("cliente", 1)]
    );
    let customers = upgraded.outbox_of("cliente").await.expect("customers");
    assert_eq!(customers, vec![queued.remove(1)]);
    upgraded.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn acknowledged_ops_kept_one_record_each_by_the_previous_version_are_still_sent_again() {
    let name = db_name("acked-one-each");
    let store = LocalStore::open(&name).await.expect("open");
    let server = Accepting::default();
    let mut engine = SyncEngine::open(store.clone(), server.clone(), identity(), 1)
        .await
        .expect("engine");
    let key = signer().await;
    for n in 0..2 {
        engine
            .record(sale(n), 1_000 + n, &key)
            .await
            .expect("record");
    }
    engine.sync(2_000).await.expect("sync");
    let request = store
        .db
        .read(&[stores::ACKED], |tx| {
            tx.object_store(stores::ACKED)?.get_all()
        })
        .await
        .expect("read");
    let records = js_sys::Array::from(&request.result().expect("result"));
    assert_eq!(records.length(), 1, "one record for the push");
    let texts =
        js_sys::Array::from(&js_sys::Reflect::get(&records.get(0), &"ops".into()).expect("ops"));
    // As schema 5 kept them before settlements were batched: one record per op.
    store
        .db
        .write(&[stores::ACKED], |tx| {
            let acked = tx.object_store(stores::ACKED)?;
            acked.clear()?;
            for (i, text) in texts.iter().enumerate() {
                let row = js_sys::Object::new();
                js_sys::Reflect::set(&row, &"seq".into(), &JsValue::from_f64((i + 1) as f64))?;
                js_sys::Reflect::set(&row, &"at".into(), &JsValue::from_f64(2_000.0))?;
                js_sys::Reflect::set(&row, &"op".into(), &text)?;
                acked.put(&row)?;
            }
            Ok(())
        })
        .await
        .expect("write");
    assert_eq!(
        store.clone().requeue_acked_above(1).await.expect("requeue"),
        1
    );
    assert_eq!(store.outbox().await.expect("outbox")[0].body.seq, 2);
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}
