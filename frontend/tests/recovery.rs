//! A till that lost its IndexedDB (issue 17), in headless Chromium: each way back, and what
//! the cashier is told. The second copy is the page's real `localStorage`.

use std::{cell::RefCell, collections::BTreeMap, rc::Rc};

use pronto_frontend::{
    keyring::WebSigner,
    local_db::{LocalDb, DB_NAME},
    local_store::{LocalStore, DATABASE_RESET},
    outbox_copy,
    recovery::{self, Recovery},
};
use pronto_shared::sync::{
    config::VENTA,
    engine::{Identity, LocalChange, Storage, SyncEngine, Transport, TransportError},
    Hlc, OpKind, OpResult, PullReply, PushReply, PushRequest,
};
use serde_json::json;
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn signer() -> WebSigner {
    WebSigner::unregistered().await.expect("WebCrypto Ed25519")
}

fn db_name(test: &str) -> String {
    format!("{DB_NAME}-test-{test}-{}", Uuid::now_v7())
}

fn identity() -> Identity {
    Identity {
        device_id: Uuid::now_v7(),
        author_id: Uuid::now_v7(),
    }
}

fn sale() -> LocalChange {
    let id = Uuid::now_v7();
    LocalChange {
        model: VENTA.into(),
        entity_id: id,
        kind: OpKind::Sale,
        base_version: None,
        fields: BTreeMap::from([("id".to_owned(), json!(id))]),
        priority: 100,
    }
}

/// The server's rule for one device's seqs: the next one is applied, an old one is refused as
/// reused, a later one waits for the gap; the last pull page says how far it got.
#[derive(Clone, Default)]
struct Server {
    last_seq: Rc<RefCell<u64>>,
    applied: Rc<RefCell<Vec<Uuid>>>,
}

impl Transport for Server {
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError> {
        let mut results = Vec::new();
        for op in &request.ops {
            let mut last = self.last_seq.borrow_mut();
            let id = op.body.op_id;
            results.push(if op.body.seq <= *last {
                OpResult::rejected(id, 409, "seq_reused", "Ese número de secuencia ya se usó.")
            } else if op.body.seq == *last + 1 {
                *last = op.body.seq;
                self.applied.borrow_mut().push(op.body.entity_id);
                OpResult::Applied {
                    op_id: id,
                    version: 1,
                }
            } else {
                OpResult::rejected(id, 409, "seq_gap", "Faltan operaciones anteriores.")
            });
        }
        Ok(PushReply {
            results,
            server_hlc: Hlc::zero("server"),
            clock_ahead_ms: None,
        })
    }

    async fn pull(&mut self, cursor: i64, _limit: i64) -> Result<PullReply, TransportError> {
        Ok(PullReply {
            changes: Vec::new(),
            cursor,
            has_more: false,
            held_for_manager: None,
            device_seq: Some(*self.last_seq.borrow()),
            latest: None,
            instance: None,
        })
    }
}

async fn close(store: LocalStore, name: &str) {
    store.db.close();
    LocalDb::delete(name).await.expect("delete");
}

#[wasm_bindgen_test]
async fn a_device_whose_database_is_new_takes_no_seq_below_its_surviving_mark() {
    let who = identity();
    outbox_copy::raise_seq_mark(who.device_id, 7);
    outbox_copy::raise_seq_mark(who.device_id, 3);
    assert_eq!(
        outbox_copy::seq_mark(who.device_id),
        7,
        "a mark never goes down"
    );
    let name = db_name("mark");
    let mut store = LocalStore::open(&name).await.expect("open");
    store
        .raise_seq(outbox_copy::seq_mark(who.device_id))
        .await
        .expect("raise");
    store.raise_seq(2).await.expect("raise");
    let mut engine = SyncEngine::open(store.clone(), Server::default(), who, 1)
        .await
        .expect("engine");
    let op = engine
        .record(sale(), 1_000, &signer().await)
        .await
        .expect("record");
    assert_eq!(op.body.seq, 8);
    close(store, &name).await;
}

#[wasm_bindgen_test]
async fn a_device_behind_the_server_learns_its_seq_and_re_seals_the_sale_it_recorded_meanwhile() {
    let who = identity();
    let server = Server::default();
    *server.last_seq.borrow_mut() = 5;
    let name = db_name("behind");
    let store = LocalStore::open(&name).await.expect("open");
    let mut engine = SyncEngine::open(store.clone(), server.clone(), who, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let change = sale();
    let entity = change.entity_id;
    let first = engine.record(change, 1_000, &key).await.expect("record");
    assert_eq!(first.body.seq, 1, "it did not know better");
    let report = engine.sync(2_000).await.expect("sync");
    assert_eq!(report.dead_lettered, 1);
    assert_eq!(
        engine.storage.last_seq().await.expect("seq"),
        5,
        "the pull taught it"
    );
    let resealed = engine.reseal(3_000, &key).await.expect("reseal");
    assert_eq!(resealed.len(), 1);
    assert!(outbox_copy::resealed_message(resealed.len())
        .is_some_and(|text| text.contains("folio nuevo")));
    assert!(engine
        .storage
        .dead_letters()
        .await
        .expect("dead")
        .is_empty());
    let pending = engine.storage.pending(0, 10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].body.seq, pending[0].body.entity_id),
        (6, entity)
    );
    assert_ne!(pending[0].body.op_id, first.body.op_id);
    engine.sync(4_000).await.expect("sync");
    assert_eq!(
        *server.applied.borrow(),
        vec![entity],
        "the sale is on the server, once"
    );
    assert_eq!(engine.storage.pending_count().await.expect("count"), 0);
    close(store, &name).await;
}

#[wasm_bindgen_test]
async fn an_outbox_lost_with_the_database_comes_back_from_the_second_copy() {
    let who = identity();
    let name = db_name("lost");
    let store = LocalStore::open(&name).await.expect("open");
    let mut engine = SyncEngine::open(store.clone(), Server::default(), who, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let mut recorded = Vec::new();
    for n in 0..3 {
        let op = engine
            .record(sale(), 1_000 + n, &key)
            .await
            .expect("record");
        outbox_copy::keep(&op).expect("second copy");
        recorded.push(op);
    }
    close(store, &name).await;

    // The browser reset the database: a new, empty one under the same identity.
    let name = db_name("lost-reset");
    let mut fresh = LocalStore::open(&name).await.expect("open");
    let kept = outbox_copy::kept(who.device_id);
    assert_eq!(kept, recorded);
    let restored = fresh.restore(&kept, &[]).await.expect("restore");
    assert_eq!(restored, 3);
    assert!(outbox_copy::restored_message(restored).is_some_and(|t| t.contains("Se recuperaron 3")));
    assert_eq!(outbox_copy::restored_message(0), None);
    assert_eq!(fresh.pending(0, 10).await.expect("pending"), recorded);
    assert_eq!(fresh.last_seq().await.expect("seq"), 3);
    // Filed by kind again: the sync bar counts them and the screens find them.
    let counts = fresh.outbox_counts().await.expect("counts");
    assert_eq!(
        counts.iter().find(|(k, _)| *k == "venta"),
        Some(&("venta", 3))
    );
    assert_eq!(
        fresh.restore(&kept, &[]).await.expect("again"),
        0,
        "restoring twice adds nothing"
    );
    // An op refused for its place keeps its copy as a letter, and comes back as one.
    let letter = pronto_shared::sync::engine::DeadLetter {
        op: recorded[0].clone(),
        status: 409,
        code: "seq_reused".into(),
        reason: "Ese número de secuencia ya se usó.".into(),
    };
    outbox_copy::keep_letter(&letter);
    assert_eq!(
        outbox_copy::kept_letters(who.device_id),
        vec![letter.clone()]
    );
    assert_eq!(
        fresh
            .restore(&[], std::slice::from_ref(&letter))
            .await
            .expect("letter"),
        1
    );
    assert_eq!(fresh.dead_letters().await.expect("dead"), vec![letter]);
    outbox_copy::forget(&[recorded[0].body.op_id]);
    assert!(outbox_copy::kept_letters(who.device_id).is_empty());
    // Answered by the server: the copies go.
    let mut engine = SyncEngine::open(fresh.clone(), Server::default(), who, 2)
        .await
        .expect("engine");
    let report = engine.sync(5_000).await.expect("sync");
    outbox_copy::forget(&report.answered);
    assert!(outbox_copy::kept(who.device_id).is_empty());
    close(fresh, &name).await;
}

#[wasm_bindgen_test]
async fn a_full_second_copy_refuses_the_sale_before_anything_is_stored() {
    assert!(outbox_copy::can_store(10_000));
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .expect("localStorage");
    // Fill it: one large value, then smaller ones until nothing more fits.
    let mut filler = Vec::new();
    let mut size = 4 * 1024 * 1024;
    while size >= 1024 {
        let key = format!("relleno.{}", filler.len());
        if storage.set_item(&key, &"x".repeat(size)).is_ok() {
            filler.push(key);
        } else {
            size /= 2;
        }
    }
    let refused = !outbox_copy::can_store(4_096);
    for key in &filler {
        let _ = storage.remove_item(key);
    }
    assert!(refused, "a full second copy must refuse");
    assert!(outbox_copy::NO_ROOM.contains("no tiene espacio"));
    assert!(
        outbox_copy::can_store(4_096),
        "and take sales again once there is room"
    );
}

#[wasm_bindgen_test]
async fn copies_are_restored_only_into_a_new_database_and_pruned_beside_the_same_one() {
    let who = identity();
    let name = db_name("same");
    let store = LocalStore::open(&name).await.expect("open");
    let id = store.database_id().await.expect("id");
    assert_eq!(store.database_id().await.expect("again"), id, "stable");
    assert!(
        outbox_copy::same_database(who.device_id, &id),
        "a first start"
    );
    outbox_copy::set_database(who.device_id, &id);
    let mut engine = SyncEngine::open(store.clone(), Server::default(), who, 1)
        .await
        .expect("engine");
    let op = engine
        .record(sale(), 1_000, &signer().await)
        .await
        .expect("record");
    outbox_copy::keep(&op).expect("copy");
    // Still waiting: pruning beside the same database keeps it.
    let outbox = engine.storage.pending(0, 10).await.expect("pending");
    outbox_copy::prune(who.device_id, &outbox, &[]);
    assert_eq!(outbox_copy::kept(who.device_id), vec![op.clone()]);
    // Answered while the page closed: its copy is stale, and goes.
    outbox_copy::prune(who.device_id, &[], &[]);
    assert!(outbox_copy::kept(who.device_id).is_empty());
    close(store, &name).await;

    let other = LocalStore::open(&db_name("same-reset"))
        .await
        .expect("open");
    let new_id = other.database_id().await.expect("id");
    assert!(
        !outbox_copy::same_database(who.device_id, &new_id),
        "the browser reset it"
    );
    other.db.close();
}

#[wasm_bindgen_test]
async fn a_reset_database_without_a_trace_of_its_seq_records_nothing_until_the_server_says() {
    let who = identity();
    let name = db_name("unknown");
    let store = LocalStore::open(&name).await.expect("open");
    store.forget_seq().await.expect("forget");
    let server = Server::default();
    *server.last_seq.borrow_mut() = 9;
    let mut engine = SyncEngine::open(store.clone(), server, who, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let refused = engine
        .record(sale(), 1_000, &key)
        .await
        .expect_err("refused");
    assert!(refused.0.contains("conéctate"), "{}", refused.0);
    assert_eq!(engine.storage.pending_count().await.expect("count"), 0);
    engine.sync(2_000).await.expect("sync");
    let op = engine.record(sale(), 3_000, &key).await.expect("record");
    assert_eq!(op.body.seq, 10, "after the server's 9");
    close(store, &name).await;
}

#[wasm_bindgen_test]
async fn a_database_reset_under_the_open_page_takes_no_seq_until_the_copy_is_back_in_it() {
    let who = identity();
    let name = db_name("in-place");
    let store = LocalStore::open(&name).await.expect("open");
    assert_eq!(
        recovery::ensure_current(&store, who.device_id).await,
        Recovery::Intact,
        "a first start"
    );
    let mut engine = SyncEngine::open(store.clone(), Server::default(), who, 1)
        .await
        .expect("engine");
    let key = signer().await;
    let first = engine.record(sale(), 1_000, &key).await.expect("record");
    outbox_copy::keep(&first).expect("copy");

    // As Chromium does at a write that failed on a full disk: the database goes while the
    // page holds it open; the next use creates it again, empty.
    LocalDb::delete(&name).await.expect("reset");
    let refused = engine
        .record(sale(), 2_000, &key)
        .await
        .expect_err("a reset database takes no seq");
    assert_eq!(refused.0, DATABASE_RESET);
    assert!(refused.0.contains("se reinició"), "the cashier is told");
    assert_eq!(engine.storage.pending_count().await.expect("count"), 0);

    let outcome = recovery::ensure_current(&store, who.device_id).await;
    assert_eq!(outcome, Recovery::Restored(1));
    assert!(outcome
        .message()
        .is_some_and(|t| t.contains("Se recuperaron 1")));
    assert_eq!(
        engine.storage.pending(0, 10).await.expect("pending"),
        vec![first.clone()]
    );
    let second = engine.record(sale(), 3_000, &key).await.expect("record");
    assert_eq!(
        second.body.seq, 2,
        "after the restored sale, not seq 1 again"
    );
    assert_eq!(
        recovery::ensure_current(&store, who.device_id).await,
        Recovery::Intact,
        "and nothing to do while the database stays"
    );
    outbox_copy::forget(&[first.body.op_id]);
    close(store, &name).await;
}
