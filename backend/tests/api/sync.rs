//! Push and pull: exactly-once, replays, conflicts under each strategy, permissions at apply
//! time, tampering, the audit chain, and what a device may pull.

use std::collections::BTreeMap;
use std::io::Read;

use pronto_backend::{
    model::{customers::NewCustomers, WriteAt},
    sync::audit,
    sync::config_store,
};
use pronto_shared::sync::{
    config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
    conflict::Outcome,
    engine::base64url,
    op::{signing_message, PROTOCOL},
    records::{self, ValidRecord},
    signing::KeySigner,
    Hlc, Op, OpBody, OpKind, OpResult, PullReply, PushReply, Strategy,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, fingerprint, seed, World},
    helpers::{spawn_app, TestApp},
};

pub struct Device {
    pub id: Uuid,
    pub client: reqwest::Client,
    pub author: Uuid,
    pub seq: u64,
    /// The author's signing key on this device, registered in their session.
    pub key: KeySigner,
}

/// A fresh key (random secret), not yet registered.
pub fn new_key() -> KeySigner {
    let secret: [u8; 32] = rand::random();
    KeySigner::from_secret(Uuid::now_v7(), secret)
}

/// Registers `key` for the signed-in person of `client` on `device`; returns the status.
pub async fn register_key(
    app: &TestApp,
    client: &reqwest::Client,
    device: Uuid,
    key: &KeySigner,
) -> u16 {
    client
        .post(app.url(&format!("/api/devices/{device}/claves")))
        .json(&json!({"clave_id": key.key_id, "publica": key.public_key()}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Seals `body` signed by `key` (whoever that is: tests forge with it too).
pub fn signed(mut body: OpBody, key: &KeySigner) -> Op {
    body.v = PROTOCOL;
    body.key_id = Some(key.key_id);
    let signature = base64url(&key.sign_bytes(&signing_message(&body)));
    Op::seal_signed(body, signature)
}

pub async fn device(app: &TestApp, manager: &str, user: &str) -> Device {
    let manager = client_for(app, manager).await;
    let created: Value = manager
        .post(app.url("/api/devices"))
        .json(&json!({"nombre": "Caja"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = client_for(app, user).await;
    let me: Value = client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    let key = new_key();
    assert_eq!(register_key(app, &client, id, &key).await, 201);
    Device {
        id,
        client,
        author: Uuid::parse_str(me["id"].as_str().unwrap()).unwrap(),
        seq: 0,
        key,
    }
}

impl Device {
    pub fn op(
        &mut self,
        model: &str,
        entity: Uuid,
        kind: OpKind,
        base: Option<i64>,
        fields: Value,
        wall: u64,
    ) -> Op {
        let body = self.body(model, entity, kind, base, fields, wall);
        signed(body, &self.key)
    }

    /// The next op's body, unsigned.
    pub fn body(
        &mut self,
        model: &str,
        entity: Uuid,
        kind: OpKind,
        base: Option<i64>,
        fields: Value,
        wall: u64,
    ) -> OpBody {
        self.seq += 1;
        let fields: BTreeMap<String, Value> = match fields {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        OpBody {
            op_id: Uuid::now_v7(),
            device_id: self.id,
            author_id: self.author,
            seq: self.seq,
            model: model.into(),
            entity_id: entity,
            kind,
            base_version: base,
            fields,
            hlc: Hlc {
                wall_ms: wall,
                counter: 0,
                node: self.id.to_string(),
            },
            priority: 0,
            v: 1,
            key_id: None,
        }
    }

    pub async fn push(&self, app: &TestApp, ops: &[Op]) -> reqwest::Response {
        self.client
            .post(app.url("/api/sync/push"))
            .json(&json!({"device_id": self.id, "ops": ops, "protocolo": PROTOCOL}))
            .send()
            .await
            .unwrap()
    }

    pub async fn push_ok(&self, app: &TestApp, ops: &[Op]) -> Vec<OpResult> {
        let response = self.push(app, ops).await;
        assert_eq!(response.status(), 200);
        response.json::<PushReply>().await.unwrap().results
    }

    pub async fn pull(&self, app: &TestApp, cursor: i64, limit: i64) -> PullReply {
        self.client
            .get(app.url(&format!(
                "/api/sync/pull?dispositivo={}&cursor={cursor}&limit={limit}",
                self.id
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

pub fn sale(world: &World, id: Uuid) -> Value {
    json!({
        "id": id,
        "lineas": [{"producto_id": world.products[0], "cantidad": 2, "precio_unitario": 129_900}],
        "pagos": [{"metodo": "efectivo", "monto": 300_000}]
    })
}

pub fn mixed_batch(d: &mut Device, world: &World) -> Vec<Op> {
    let sale_id = Uuid::now_v7();
    vec![
        d.op(
            PRODUCTO,
            world.products[1],
            OpKind::Update,
            Some(1),
            json!({"nombre": "Oxford Renovado"}),
            100,
        ),
        d.op(
            VENTA,
            sale_id,
            OpKind::Sale,
            None,
            sale(world, sale_id),
            101,
        ),
        d.op(
            EXISTENCIA,
            world.products[2],
            OpKind::StockDelta,
            None,
            json!({"producto_id": world.products[2], "delta": 4, "motivo": "recepcion"}),
            102,
        ),
        d.op(
            CLIENTE,
            Uuid::now_v7(),
            OpKind::Create,
            None,
            json!({"nombre": "Beatriz Solís", "telefono": "3312345678"}),
            103,
        ),
    ]
}

#[tokio::test]
async fn a_batch_applies_once_and_its_replay_gets_the_stored_answers() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);

    let first = d.push_ok(&app, &batch).await;
    let after_first = fingerprint(&app.db).await;
    // The reply was lost (say the server crashed after commit): the device sends it all again.
    let replay = d.push_ok(&app, &batch).await;

    for (a, b) in first.iter().zip(&replay) {
        assert!(matches!(a, OpResult::Applied { .. }), "{a:?}");
        let OpResult::Duplicate { first, .. } = b else {
            panic!("{b:?}")
        };
        assert_eq!(first.as_ref(), a);
    }
    assert_eq!(
        fingerprint(&app.db).await,
        after_first,
        "the replay changed nothing"
    );
    let folio: String = sqlx::query_scalar("SELECT folio FROM sales")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        folio,
        format!("TA-C01-{:06}", batch[1].body.seq),
        "a device's sale is numbered by its op's seq, known on the device"
    );
    let stock: i64 =
        sqlx::query_scalar("SELECT quantity FROM stock WHERE product_id = $1 AND store_id = $2")
            .bind(world.products[2].to_string())
            .bind(world.store_a.to_string())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stock, 14);
}

#[tokio::test]
async fn a_batch_cut_half_way_is_completed_by_sending_it_again() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);

    d.push_ok(&app, &batch[..2]).await;
    let results = d.push_ok(&app, &batch).await;

    assert!(matches!(results[0], OpResult::Duplicate { .. }));
    assert!(matches!(results[1], OpResult::Duplicate { .. }));
    assert!(matches!(results[2], OpResult::Applied { .. }));
    assert!(matches!(results[3], OpResult::Applied { .. }));
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(sales, 1);
}

#[tokio::test]
async fn reused_op_ids_and_seq_gaps_are_refused_without_being_stored() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let first = d.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"nombre": "A"}),
        10,
    );
    d.push_ok(&app, std::slice::from_ref(&first)).await;

    let mut forged = first.clone();
    forged.body.fields.insert("nombre".into(), json!("B"));
    let forged = signed(forged.body, &d.key);
    d.seq += 1; // skip seq 2: the next op is "from the future"
    let future = d.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(2),
        json!({"nombre": "C"}),
        11,
    );
    let results = d.push_ok(&app, &[forged, future.clone()]).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { code, status: 409, .. } if code == "op_id_reused"),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], OpResult::Rejected { code, status: 409, .. } if code == "seq_gap"),
        "{:?}",
        results[1]
    );
    let name: String = sqlx::query_scalar("SELECT name FROM products WHERE id = $1")
        .bind(world.products[1].to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(name, "A");
    // Filling the gap lets the later op through.
    d.seq = 1;
    let filler = d.op(
        CLIENTE,
        Uuid::now_v7(),
        OpKind::Create,
        None,
        json!({"nombre": "Relleno"}),
        12,
    );
    let results = d.push_ok(&app, &[future, filler]).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, OpResult::Applied { .. })),
        "{results:?}"
    );
}

#[tokio::test]
async fn a_tampered_op_is_rejected_and_changes_nothing() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let mut op = d.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"precio": 100}),
        10,
    );
    op.body.fields.insert("precio".into(), json!(1)); // changed after sealing
    let before = fingerprint(&app.db).await;

    let results = d.push_ok(&app, &[op]).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { code, status: 400, .. } if code == "checksum")
    );
    let mut after = fingerprint(&app.db).await;
    after.retain(|(t, _)| t != "change_counter");
    let mut before = before;
    before.retain(|(t, _)| t != "change_counter");
    assert_eq!(after, before);
}

#[tokio::test]
async fn an_op_whose_author_is_of_another_store_is_refused_with_403_and_audited() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let cajero_b: Value = client_for(&app, "cajero_b")
        .await
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    d.author = Uuid::parse_str(cajero_b["id"].as_str().unwrap()).unwrap();
    let sale_id = Uuid::now_v7();
    let op = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );

    let results = d.push_ok(&app, std::slice::from_ref(&op)).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { status: 403, .. }),
        "{:?}",
        results[0]
    );
    let audited: String = sqlx::query_scalar("SELECT result FROM audit_log WHERE op_id = $1")
        .bind(op.body.op_id.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(audited, "rejected");
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(sales, 0);
    // A person of store B cannot push through store A's device at all.
    let b = client_for(&app, "gerente_b").await;
    let response = b
        .post(app.url("/api/sync/push"))
        .json(&json!({"device_id": d.id, "ops": [], "protocolo": PROTOCOL}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn an_author_deactivated_outside_the_api_without_a_revocation_time_is_refused() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let queued = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    let mut conn = app.db.pool().acquire().await.unwrap();
    pronto_backend::model::users::set_active(&mut conn, d.author, false)
        .await
        .unwrap();
    drop(conn);
    let gerente = Device {
        id: d.id,
        client: client_for(&app, "gerente_a").await,
        author: d.author,
        seq: d.seq,
        key: d.key.clone(),
    };

    let results = gerente.push_ok(&app, &[queued]).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { status: 403, .. }),
        "{:?}",
        results[0]
    );
}

/// Products settle conflicts by `strategy`; a manager then edits product 1's price through the
/// REST API (version 2, HLC from the server's clock).
async fn server_edits_price(app: &TestApp, world: &crate::fixtures::World, strategy: Strategy) {
    let mut conn = app.db.pool().acquire().await.unwrap();
    let mut config = config_store::get(&mut conn, PRODUCTO)
        .await
        .unwrap()
        .unwrap();
    config.estrategia = strategy;
    config_store::put(&mut conn, &config, "test", "2026-11-28T00:00:00Z")
        .await
        .unwrap();
    drop(conn);
    let gerente = client_for(app, "gerente_a").await;
    let mut edit = crate::fixtures::product_input(2);
    edit.precio = 150_000;
    let response = gerente
        .put(app.url(&format!("/api/products/{}", world.products[1])))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The server edits the price (version 2, HLC from its clock), then a device that started
/// from version 1 pushes another price with HLC `wall`.
async fn price_conflict(strategy: Strategy, wall: u64) -> (OpResult, i64, i64) {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    server_edits_price(&app, &world, strategy).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let op = d.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"precio": 90_000, "nombre": "Oxford Rebajado"}),
        wall,
    );

    let results = d.push_ok(&app, &[op]).await;

    let price: i64 = sqlx::query_scalar("SELECT price_centavos FROM products WHERE id = $1")
        .bind(world.products[1].to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sync_conflicts WHERE status = 'pending'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    (results[0].clone(), price, pending)
}

fn outcome(result: &OpResult) -> Outcome {
    let OpResult::Conflict { conflict, .. } = result else {
        panic!("expected a conflict: {result:?}")
    };
    assert_eq!(conflict.fields, vec!["precio"]);
    assert_eq!(conflict.server["precio"], 150_000);
    assert_eq!(conflict.local["precio"], 90_000);
    conflict.outcome
}

#[tokio::test]
async fn conflicting_edits_are_settled_by_each_strategy() {
    let (r, price, pending) = price_conflict(Strategy::PrioridadCentral, u64::MAX / 2).await;
    assert_eq!(
        (outcome(&r), price, pending),
        (Outcome::ServerWins, 150_000, 0)
    );

    let (r, price, _) = price_conflict(Strategy::PrioridadTienda, 1).await;
    assert_eq!((outcome(&r), price), (Outcome::LocalWins, 90_000));

    let (r, price, _) = price_conflict(Strategy::UltimaModificacion, 1).await;
    assert_eq!(
        (outcome(&r), price),
        (Outcome::ServerWins, 150_000),
        "the device's edit is older"
    );
    let (r, price, _) = price_conflict(Strategy::UltimaModificacion, u64::MAX / 2).await;
    assert_eq!(
        (outcome(&r), price),
        (Outcome::LocalWins, 90_000),
        "the device's edit is newer"
    );

    let (r, price, pending) = price_conflict(Strategy::Manual, u64::MAX / 2).await;
    assert_eq!(
        (outcome(&r), price, pending),
        (Outcome::Pending, 150_000, 1)
    );
}

#[tokio::test]
async fn excluded_fields_are_neither_accepted_nor_sent() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let op = d.op(
        PRODUCTO,
        world.products[0],
        OpKind::Update,
        Some(1),
        json!({"imagen": "/x.png"}),
        10,
    );

    let results = d.push_ok(&app, &[op]).await;
    let page = d.pull(&app, 0, 100).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { status: 422, .. }),
        "{:?}",
        results[0]
    );
    let product = page.changes.iter().find(|c| c.model == PRODUCTO).unwrap();
    assert!(product.data.get("imagen").is_none(), "{:?}", product.data);
    assert!(product.data.get("precio").is_some());
}

#[tokio::test]
async fn pull_pages_are_sent_compressed_to_clients_that_accept_it() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);
    d.push_ok(&app, &batch).await;
    let url = app.url(&format!(
        "/api/sync/pull?dispositivo={}&cursor=0&limit=500",
        d.id
    ));
    let plain = d.client.get(&url).send().await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain = plain.bytes().await.unwrap();
    let page: PullReply = serde_json::from_slice(&plain).expect("a pull page");
    assert!(!page.changes.is_empty());
    for encoding in ["gzip", "br"] {
        let packed = d
            .client
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(packed.status(), 200);
        assert_eq!(
            packed
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
        let packed = packed.bytes().await.unwrap();
        let mut unpacked = Vec::new();
        match encoding {
            "gzip" => flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .unwrap(),
            _ => brotli_decompressor::Decompressor::new(&packed[..], 4096)
                .read_to_end(&mut unpacked)
                .unwrap(),
        };
        assert_eq!(unpacked, plain, "{encoding} decodes to the plain page");
        // A page this small is mostly random ids and signatures, which do not compress; a
        // full 500-change page shrinks about 9× (BENCHMARKS.md).
        assert!(
            packed.len() * 2 < plain.len(),
            "{encoding}: {} of {} bytes",
            packed.len(),
            plain.len()
        );
    }
}

#[tokio::test]
async fn pull_pages_through_the_changes_a_device_may_see() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);
    d.push_ok(&app, &batch).await;
    let delete = d.op(
        PRODUCTO,
        world.products[0],
        OpKind::Delete,
        Some(1),
        json!({}),
        200,
    );
    let deleted_result = d.push_ok(&app, &[delete]).await;
    assert!(
        matches!(deleted_result[0], OpResult::Applied { .. }),
        "{deleted_result:?}"
    );

    let mut cursor = 0;
    let mut all = Vec::new();
    loop {
        let page = d.pull(&app, cursor, 3).await;
        assert!(page.changes.len() <= 3);
        assert!(page.changes.iter().all(|c| c.seq > cursor));
        // A page with more to come says how far the sequence goes (the device's progress).
        match page.latest {
            Some(latest) => assert!(page.has_more && latest > page.cursor),
            None => assert!(!page.has_more),
        }
        all.extend(page.changes);
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }

    let seqs: Vec<i64> = all.iter().map(|c| c.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seqs, sorted, "in order, no change twice");
    let stock: Vec<_> = all.iter().filter(|c| c.model == EXISTENCIA).collect();
    assert!(!stock.is_empty());
    assert!(
        stock
            .iter()
            .all(|c| c.data["tienda_id"] == json!(world.store_a)),
        "only store A's stock"
    );
    assert_eq!(all.iter().filter(|c| c.model == VENTA).count(), 1);
    let deleted = all
        .iter()
        .find(|c| c.model == PRODUCTO && c.entity_id == world.products[0])
        .unwrap();
    assert!(
        deleted.deleted && deleted.data.is_null(),
        "a tombstone, not a vanished row: {deleted:?}"
    );
    assert!(all
        .iter()
        .any(|c| c.model == CLIENTE && c.data["nombre"] == "Beatriz Solís"));
    let empty = d.pull(&app, cursor, 3).await;
    assert!(empty.changes.is_empty() && !empty.has_more && empty.cursor == cursor);
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_first_edited_or_deleted_entry() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);
    d.push_ok(&app, &batch).await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let clean = audit::verify(&mut conn).await.unwrap();
    assert!(clean.ok, "{clean:?}");
    assert_eq!(
        clean.entries, 6,
        "the device's and its key's registrations and the batch's four ops"
    );

    sqlx::query("UPDATE audit_log SET result = 'rejected' WHERE id = 2")
        .execute(&mut *conn)
        .await
        .unwrap();
    let edited = audit::verify(&mut conn).await.unwrap();
    assert_eq!((edited.ok, edited.first_broken), (false, Some(2)));
    // Read two entries at a time (constant memory), the answers are the same.
    let paged = audit::verify_in_pages(&mut conn, 2).await.unwrap();
    assert_eq!(paged, edited);

    sqlx::query("UPDATE audit_log SET result = 'applied' WHERE id = 2")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert!(
        audit::verify(&mut conn).await.unwrap().ok,
        "restoring the value restores the chain"
    );
    sqlx::query("DELETE FROM audit_log WHERE id = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let deleted = audit::verify(&mut conn).await.unwrap();
    assert_eq!((deleted.ok, deleted.first_broken), (false, Some(3)));
    assert_eq!(audit::verify_in_pages(&mut conn, 2).await.unwrap(), deleted);

    sqlx::query("DELETE FROM audit_log WHERE id >= 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let truncated = audit::verify(&mut conn).await.unwrap();
    assert!(!truncated.ok, "a deleted tail is noticed through the head");
    assert_eq!(
        audit::verify_in_pages(&mut conn, 1).await.unwrap(),
        truncated
    );
}

#[tokio::test]
async fn creating_a_record_whose_id_exists_is_refused_and_the_batch_goes_on() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let clash = d.op(
        CLIENTE,
        world.customer,
        OpKind::Create,
        None,
        json!({"nombre": "Otra Ana"}),
        10,
    );
    let fresh = d.op(
        CLIENTE,
        Uuid::now_v7(),
        OpKind::Create,
        None,
        json!({"nombre": "Nueva"}),
        11,
    );

    let results = d.push_ok(&app, &[clash, fresh]).await;

    assert!(
        matches!(&results[0], OpResult::Rejected { status: 409, code, .. } if code == "exists"),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], OpResult::Applied { .. }),
        "{:?}",
        results[1]
    );
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(world.customer.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(name, "Ana López");
}

#[tokio::test]
async fn a_customer_created_twice_and_edited_in_one_batch_is_created_once_and_edited() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let id = Uuid::now_v7();
    let create = d.op(
        CLIENTE,
        id,
        OpKind::Create,
        None,
        json!({"nombre": "Berta Ruiz"}),
        10,
    );
    let again = d.op(
        CLIENTE,
        id,
        OpKind::Create,
        None,
        json!({"nombre": "Otra Berta"}),
        11,
    );
    let edit = d.op(
        CLIENTE,
        id,
        OpKind::Update,
        Some(1),
        json!({"telefono": "5512345678"}),
        12,
    );

    let results = d.push_ok(&app, &[create, again, edit]).await;

    assert!(
        matches!(&results[0], OpResult::Applied { version: 1, .. }),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], OpResult::Rejected { status: 409, code, .. } if code == "exists"),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], OpResult::Applied { version: 2, .. }),
        "{:?}",
        results[2]
    );
    let rows: Vec<(String, Option<String>, i64)> =
        sqlx::query_as("SELECT name, phone, version FROM customers WHERE id = $1")
            .bind(id.to_string())
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![("Berta Ruiz".to_owned(), Some("5512345678".to_owned()), 2)]
    );
}

/// An admin's retry applies one op without the batch's read ahead: the writer looks the id up
/// itself, so a taken id is refused instead of failing the INSERT at close.
#[tokio::test]
async fn a_customer_create_not_read_ahead_is_still_refused_when_its_id_is_taken() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let fields: BTreeMap<String, Value> = [("nombre".to_owned(), json!("Nueva"))].into();
    let Ok(ValidRecord::Customer(valid)) = records::validate(CLIENTE, &fields) else {
        panic!("a valid customer");
    };
    let hlc = Hlc {
        wall_ms: 1,
        counter: 0,
        node: "t".into(),
    };
    let w = WriteAt {
        seq: 1_000_000,
        at: "2026-12-07T18:00:00.000Z",
        hlc: &hlc,
    };
    let fresh = Uuid::now_v7();
    let mut tx = app.db.begin_write().await.unwrap();
    let mut new_customers = NewCustomers::default();

    let taken = new_customers
        .add(&mut tx, world.customer, &valid, 0, w)
        .await
        .unwrap();
    let first = new_customers
        .add(&mut tx, fresh, &valid, 0, w)
        .await
        .unwrap();
    let again = new_customers
        .add(&mut tx, fresh, &valid, 0, w)
        .await
        .unwrap();
    new_customers.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!((taken, first, again), (false, true, false));
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers WHERE id IN ($1, $2) ORDER BY name")
            .bind(world.customer.to_string())
            .bind(fresh.to_string())
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(names, vec!["Ana López".to_owned(), "Nueva".to_owned()]);
}

#[tokio::test]
async fn a_customer_created_inline_and_the_sale_naming_her_apply_in_one_batch() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let customer = Uuid::now_v7();
    let sale_id = Uuid::now_v7();
    let mut fields = sale(&world, sale_id);
    fields["cliente_id"] = json!(customer);
    let batch = [
        d.op(
            CLIENTE,
            customer,
            OpKind::Create,
            None,
            json!({"nombre": "Rosa Méndez", "telefono": "3319876543"}),
            20,
        ),
        d.op(VENTA, sale_id, OpKind::Sale, None, fields, 21),
    ];

    let results = d.push_ok(&app, &batch).await;

    for result in &results {
        assert!(matches!(result, OpResult::Applied { .. }), "{result:?}");
    }
    let named: Option<String> = sqlx::query_scalar("SELECT customer_id FROM sales WHERE id = $1")
        .bind(sale_id.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(named, Some(customer.to_string()));
}

fn return_of(sale_id: Uuid, id: Uuid, lines: Value, void: bool) -> Value {
    json!({
        "id": id,
        "venta_id": sale_id,
        "lineas": lines,
        "reembolso": "efectivo",
        "motivo": "No le quedó",
        "cancelacion": void,
    })
}

async fn stock_of(app: &TestApp, world: &World, product: Uuid) -> i64 {
    sqlx::query_scalar("SELECT quantity FROM stock WHERE product_id = $1 AND store_id = $2")
        .bind(product.to_string())
        .bind(world.store_a.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sale_and_its_return_made_offline_apply_in_one_batch_and_put_the_pairs_back() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let (sale_id, back_id) = (Uuid::now_v7(), Uuid::now_v7());
    let product = world.products[0];
    let batch = [
        d.op(
            VENTA,
            sale_id,
            OpKind::Sale,
            None,
            sale(&world, sale_id),
            30,
        ),
        d.op(
            VENTA,
            back_id,
            OpKind::Return,
            None,
            return_of(
                sale_id,
                back_id,
                json!([{"producto_id": product, "cantidad": 1}]),
                false,
            ),
            31,
        ),
    ];

    let results = d.push_ok(&app, &batch).await;

    for result in &results {
        assert!(matches!(result, OpResult::Applied { .. }), "{result:?}");
    }
    assert_eq!(stock_of(&app, &world, product).await, 10 - 2 + 1);
    let (kind, original, total, folio): (String, Option<String>, i64, String) =
        sqlx::query_as("SELECT kind, original_sale_id, total, folio FROM sales WHERE id = $1")
            .bind(back_id.to_string())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(kind, "devolucion");
    assert_eq!(original, Some(sale_id.to_string()));
    assert_eq!(total, 129_900, "one of two pairs at the sale price");
    assert_eq!(folio, format!("TA-C01-{:06}", batch[1].body.seq));
    let moved: i64 = sqlx::query_scalar(
        "SELECT delta FROM stock_movements WHERE sale_id = $1 AND reason = 'devolucion'",
    )
    .bind(back_id.to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(moved, 1);
}

#[tokio::test]
async fn returning_more_than_is_left_or_voiding_after_a_return_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let product = world.products[0];
    let first_back = Uuid::now_v7();
    let ops = [
        d.op(
            VENTA,
            sale_id,
            OpKind::Sale,
            None,
            sale(&world, sale_id),
            40,
        ),
        d.op(
            VENTA,
            first_back,
            OpKind::Return,
            None,
            return_of(
                sale_id,
                first_back,
                json!([{"producto_id": product, "cantidad": 1}]),
                false,
            ),
            41,
        ),
    ];
    d.push_ok(&app, &ops).await;
    let before = fingerprint(&app.db).await;
    let (too_many, void) = (Uuid::now_v7(), Uuid::now_v7());
    let refused = [
        d.op(
            VENTA,
            too_many,
            OpKind::Return,
            None,
            return_of(
                sale_id,
                too_many,
                json!([{"producto_id": product, "cantidad": 2}]),
                false,
            ),
            42,
        ),
        d.op(
            VENTA,
            void,
            OpKind::Return,
            None,
            return_of(sale_id, void, json!([]), true),
            43,
        ),
    ];

    let results = d.push_ok(&app, &refused).await;

    let reasons: Vec<&str> = results
        .iter()
        .map(|r| match r {
            OpResult::Rejected { reason, .. } => reason.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(reasons[0].contains("Solo quedan 1"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("ya tiene devoluciones"),
        "{}",
        reasons[1]
    );
    // Change positions reserved for the batch may go unused: gaps in the sequence are harmless.
    let rows = |f: Vec<(String, i64)>| -> Vec<(String, i64)> {
        f.into_iter()
            .filter(|(t, _)| t != "change_counter")
            .collect()
    };
    assert_eq!(rows(fingerprint(&app.db).await), rows(before));
    assert_eq!(stock_of(&app, &world, product).await, 10 - 2 + 1);
}

#[tokio::test]
async fn a_void_puts_every_pair_back_and_refunds_the_whole_total() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let (sale_id, void_id) = (Uuid::now_v7(), Uuid::now_v7());
    let mut fields = sale(&world, sale_id);
    fields["descuento"] = json!(9_900);
    let ops = [
        d.op(VENTA, sale_id, OpKind::Sale, None, fields, 50),
        d.op(
            VENTA,
            void_id,
            OpKind::Return,
            None,
            return_of(sale_id, void_id, json!([]), true),
            51,
        ),
    ];

    let results = d.push_ok(&app, &ops).await;

    for result in &results {
        assert!(matches!(result, OpResult::Applied { .. }), "{result:?}");
    }
    assert_eq!(stock_of(&app, &world, world.products[0]).await, 10);
    let (kind, total): (String, i64) =
        sqlx::query_as("SELECT kind, total FROM sales WHERE id = $1")
            .bind(void_id.to_string())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(kind, "cancelacion");
    assert_eq!(total, 2 * 129_900 - 9_900);
}

/// The value of the series `name{…}` whose labels include every one of `labels`.
fn series(scrape: &str, name: &str, labels: &[&str]) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_scraped_after_a_push_with_a_conflict_show_the_counters_moving() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    // The metrics listener, as `--metrics-bind` starts it, over the same database.
    let state = pronto_backend::server::AppState::new(app.db.clone(), app.dir.path().join("dist"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(pronto_backend::metrics::serve(listener, state));
    let scrape = || {
        let url = metrics_url.clone();
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    server_edits_price(&app, &world, Strategy::Manual).await;
    let store_code: String = sqlx::query_scalar("SELECT code FROM stores WHERE id = $1")
        .bind(world.store_a.to_string())
        .fetch_one(app.db.pool())
        .await
        .unwrap();

    let before = scrape().await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let op = d.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"precio": 90_000}),
        10,
    );
    let results = d.push_ok(&app, &[op]).await;
    assert!(
        matches!(results[0], OpResult::Conflict { .. }),
        "{:?}",
        results[0]
    );
    let _ = d.pull(&app, 0, 100).await;
    let after = scrape().await;

    let conflicts = ["model=\"productos.Producto\"", "outcome=\"conflict\""];
    assert!(
        series(&after, "pronto_ops_total", &conflicts)
            >= series(&before, "pronto_ops_total", &conflicts) + 1.0,
        "the conflict is counted:\n{after}"
    );
    assert!(
        series(&after, "pronto_push_seconds_count", &[])
            >= series(&before, "pronto_push_seconds_count", &[]) + 1.0
    );
    assert!(series(&after, "pronto_pull_pages_total", &[]) >= 1.0);
    let store = format!("store=\"{store_code}\"");
    assert_eq!(series(&after, "pronto_conflicts_open", &[&store]), 1.0);
    assert!(after.contains("pronto_store_sync_lag_seconds"), "{after}");
    assert!(after.contains("pronto_db_pool_connections"));
}
