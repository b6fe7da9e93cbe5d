//! Device-side benchmarks in headless Chromium (ignored by the test suite; run them with
//! `cd frontend && WASM_BINDGEN_TEST_TIMEOUT=600 cargo test --release --target wasm32-unknown-unknown --test bench -- --include-ignored`).
//! They print their figures to the console, which the runner shows; BENCHMARKS.md has the
//! method and the results.

use std::collections::BTreeMap;

use pronto_frontend::{
    keyring::WebSigner,
    local_db::{LocalDb, DB_NAME},
    local_store::LocalStore,
    outbox_copy,
};
use pronto_shared::sync::{
    config::{PRODUCTO, VENTA},
    engine::{Identity, LocalChange, SyncEngine, Transport, TransportError},
    OpKind, PullReply, PushReply, PushRequest,
};
use serde_json::json;
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A WebCrypto Ed25519 key, as a signed-in person's (registered nowhere: no server here).
async fn signer() -> WebSigner {
    WebSigner::unregistered().await.expect("WebCrypto Ed25519")
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Never reached: enqueueing does not touch the network.
struct Offline;

impl Transport for Offline {
    async fn push(&self, _: PushRequest) -> Result<PushReply, TransportError> {
        Err(TransportError::Unreachable)
    }
    async fn pull(&mut self, _: i64, _: i64) -> Result<PullReply, TransportError> {
        Err(TransportError::Unreachable)
    }
}

/// A sale as the sale screen records it: two lines, cash.
fn sale() -> LocalChange {
    let id = Uuid::now_v7();
    let fields = json!({
        "id": id,
        "lineas": [
            {"producto_id": Uuid::now_v7(), "cantidad": 1, "precio_unitario": 129_900},
            {"producto_id": Uuid::now_v7(), "cantidad": 2, "precio_unitario": 89_900},
        ],
        "pagos": [{"metodo": "efectivo", "monto": 320_000}],
        "cliente_id": null,
        "descuento": 0,
    });
    let serde_json::Value::Object(map) = fields else {
        unreachable!("a literal object")
    };
    LocalChange {
        model: VENTA.into(),
        entity_id: id,
        kind: OpKind::Sale,
        base_version: None,
        fields: map.into_iter().collect::<BTreeMap<_, _>>(),
        priority: 100,
    }
}

#[wasm_bindgen_test]
#[ignore]
async fn bench_enqueue_latency_of_one_sale_op() {
    let name = format!("{DB_NAME}-bench-enqueue-{}", Uuid::now_v7());
    let store = LocalStore::open(&name).await.expect("open");
    let identity = Identity {
        device_id: Uuid::now_v7(),
        author_id: Uuid::now_v7(),
    };
    let mut engine = SyncEngine::open(store.clone(), Offline, identity, 1)
        .await
        .expect("engine");
    let key = signer().await;
    // Warm up: the first transactions open files.
    for _ in 0..50 {
        engine.record(sale(), 1, &key).await.expect("record");
    }
    let mut times = Vec::new();
    for n in 0..2_000 {
        let change = sale();
        let started = now();
        engine.record(change, n, &key).await.expect("record");
        times.push(now() - started);
    }
    times.sort_by(f64::total_cmp);
    console_log!(
        "enqueue one sale op (durability strict), {} ops: p50 {:.2} ms, p90 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

/// What `Sync::record` does since issue 17: the space check of the second copy, the op into
/// IndexedDB, its copy into localStorage — the whole cost a sale pays before its receipt.
#[wasm_bindgen_test]
#[ignore]
async fn bench_enqueue_latency_of_one_sale_op_with_its_second_copy() {
    let name = format!("{DB_NAME}-bench-enqueue-copy-{}", Uuid::now_v7());
    let store = LocalStore::open(&name).await.expect("open");
    let identity = Identity {
        device_id: Uuid::now_v7(),
        author_id: Uuid::now_v7(),
    };
    let mut engine = SyncEngine::open(store.clone(), Offline, identity, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let mut kept = Vec::new();
    for _ in 0..50 {
        let op = engine.record(sale(), 1, &key).await.expect("record");
        outbox_copy::keep(&op).expect("copy");
        kept.push(op.body.op_id);
    }
    // 1,000, not 2,000: the copies of a long offline morning must also fit in localStorage.
    let mut times = Vec::new();
    for n in 0..1_000 {
        let change = sale();
        let started = now();
        let size = serde_json::to_string(&change.fields).map_or(0, |j| j.len());
        assert!(outbox_copy::can_store(size + 2_048));
        let op = engine.record(change, n, &key).await.expect("record");
        outbox_copy::keep(&op).expect("copy");
        times.push(now() - started);
        kept.push(op.body.op_id);
    }
    outbox_copy::forget(&kept);
    times.sort_by(f64::total_cmp);
    console_log!(
        "enqueue one sale op with its second copy, {} ops: p50 {:.2} ms, p90 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
#[ignore]
async fn bench_product_search_over_twenty_thousand_cached_variants() {
    let name = format!("{DB_NAME}-bench-search-{}", Uuid::now_v7());
    let store = LocalStore::open(&name).await.expect("open");
    let models = [
        "Oxford",
        "Mocasín",
        "Bota",
        "Tenis",
        "Sandalia",
        "Botín",
        "Zapatilla",
        "Derby",
    ];
    let brands = [
        "Pronto",
        "Andaluz",
        "Calzado Roma",
        "Brisa",
        "Sendero",
        "Tacón de Oro",
    ];
    let colors = [
        "Negro",
        "Café",
        "Blanco",
        "Rojo",
        "Azul marino",
        "Verde olivo",
    ];
    let mut rows = Vec::with_capacity(20_000);
    let mut barcodes = Vec::new();
    for n in 0..20_000_u64 {
        let id = Uuid::now_v7();
        let model = models[(n % 8) as usize];
        let brand = brands[(n / 8 % 6) as usize];
        let color = colors[(n / 48 % 6) as usize];
        let barcode = format!("75{:011}", n);
        if n % 1_000 == 0 {
            barcodes.push(barcode.clone());
        }
        rows.push((
            id,
            1,
            json!({"id": id, "sku": format!("SKU-{n:05}"), "codigo_barras": barcode,
                   "nombre": format!("{model} {brand} {}", n / 288), "marca": brand, "modelo": model,
                   "color": color, "talla": 22.0 + (n % 17) as f64 / 2.0, "precio": 99_900,
                   "imagen": null, "activo": true, "version": 1}),
        ));
    }
    let started = now();
    for chunk in rows.chunks(2_000) {
        store.put_cached(PRODUCTO, chunk).await.expect("cache");
    }
    console_log!("cached 20,000 variants in {:.0} ms", now() - started);

    let mut by_name = Vec::new();
    for query in [
        "oxf",
        "moc neg",
        "bota",
        "tenis bri",
        "z",
        "derby sen",
        "sand",
        "b",
    ] {
        let mut mine = Vec::new();
        for _ in 0..20 {
            let started = now();
            let found = store.search_products(query, 25).await.expect("search");
            mine.push(now() - started);
            assert!(!found.is_empty(), "{query} finds something");
        }
        mine.sort_by(f64::total_cmp);
        console_log!(
            "  {query:?}: p50 {:.2} ms, max {:.2} ms",
            percentile(&mine, 0.5),
            mine.last().copied().unwrap_or(0.0)
        );
        by_name.extend(mine);
    }
    let mut by_code = Vec::new();
    for code in &barcodes {
        for _ in 0..10 {
            let started = now();
            let found = store.product_by_barcode(code).await.expect("barcode");
            by_code.push(now() - started);
            assert!(found.is_some());
        }
    }
    by_name.sort_by(f64::total_cmp);
    by_code.sort_by(f64::total_cmp);
    console_log!(
        "search by name prefix over 20,000 variants ({} queries, 25 results): p50 {:.2} ms, p99 {:.2} ms",
        by_name.len(),
        percentile(&by_name, 0.5),
        percentile(&by_name, 0.99)
    );
    console_log!(
        "search by barcode over 20,000 variants ({} lookups): p50 {:.2} ms, p99 {:.2} ms",
        by_code.len(),
        percentile(&by_code, 0.5),
        percentile(&by_code, 0.99)
    );
    store.db.close();
    LocalDb::delete(&name).await.expect("delete");
}

#[wasm_bindgen_test]
#[ignore]
async fn bench_floor_one_small_strict_put() {
    let name = format!("{DB_NAME}-bench-floor-{}", Uuid::now_v7());
    let db = LocalDb::open(&name).await.expect("open");
    let mut times = Vec::new();
    for n in 0..2_050 {
        let started = now();
        db.write(&[pronto_frontend::local_db::stores::META], |tx| {
            tx.object_store(pronto_frontend::local_db::stores::META)?
                .put_with_key(&wasm_bindgen::JsValue::from_f64(n as f64), &"x".into())
        })
        .await
        .expect("put");
        if n >= 50 {
            times.push(now() - started);
        }
    }
    times.sort_by(f64::total_cmp);
    console_log!(
        "floor: one small strict put, {} transactions: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
    db.close();
    LocalDb::delete(&name).await.expect("delete");
}
