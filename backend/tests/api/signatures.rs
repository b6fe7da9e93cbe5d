//! Signed authorship (DESIGN §8): every claim an op makes about who made it is proven by a
//! signature, and refused — audited, nothing written — when it is not. Each forged claim an
//! attacker with a cashier's own session could make gets its own test; the same ops signed by
//! their real authors apply.

use pronto_backend::clock::Clock;
use pronto_shared::sync::{
    config::{EXISTENCIA, PRODUCTO, VENTA},
    op::PROTOCOL,
    signing::KeySigner,
    Op, OpKind, OpResult, PushReply,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, fingerprint, get_json, seed, World},
    helpers::{spawn_app, TestApp},
    sync::{device, new_key, register_key, sale, signed, Device},
};

async fn id_of(app: &TestApp, username: &str) -> Uuid {
    let client = client_for(app, username).await;
    let me: Value = get_json(&client, app.url("/api/auth/me")).await;
    Uuid::parse_str(me["id"].as_str().expect("id")).expect("uuid")
}

async fn price(app: &TestApp, product: Uuid) -> i64 {
    sqlx::query_scalar("SELECT price_centavos FROM products WHERE id = $1")
        .bind(product.to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("price")
}

async fn audited(app: &TestApp, op: &Op) -> Vec<String> {
    sqlx::query_scalar("SELECT result FROM audit_log WHERE op_id = $1")
        .bind(op.body.op_id.to_string())
        .fetch_all(app.db.pool())
        .await
        .expect("audit")
}

/// The next op of `d`: the first product's price to $1.00, "by" `author`, signed by `key`.
fn price_edit_signed(d: &mut Device, world: &World, author: Uuid, key: &KeySigner) -> Op {
    let mut body = d.body(
        PRODUCTO,
        world.products[0],
        OpKind::Update,
        Some(1),
        json!({"precio": 100}),
        10,
    );
    body.author_id = author;
    signed(body, key)
}

/// The same, signed with the device's own key.
fn price_edit(d: &mut Device, world: &World, author: Uuid) -> Op {
    let key = d.key.clone();
    price_edit_signed(d, world, author, &key)
}

fn stock_move(d: &mut Device, world: &World, author: Uuid) -> Op {
    let mut body = d.body(
        EXISTENCIA,
        world.products[0],
        OpKind::StockDelta,
        None,
        json!({"producto_id": world.products[0], "delta": 50, "motivo": "ajuste"}),
        10,
    );
    body.author_id = author;
    signed(body, &d.key)
}

/// Pushes `op` and asserts it was refused with 403 `code`, audited, and changed nothing.
async fn assert_refused(app: &TestApp, d: &Device, op: Op, code: &str) {
    let before = fingerprint(&app.db).await;
    let results = d.push_ok(app, std::slice::from_ref(&op)).await;
    assert!(
        matches!(&results[0], OpResult::Rejected { status: 403, code: c, .. } if c == code),
        "expected {code}: {:?}",
        results[0]
    );
    assert_eq!(fingerprint(&app.db).await, before, "nothing written");
    assert_eq!(audited(app, &op).await, ["rejected"]);
}

#[tokio::test]
async fn a_cashier_cannot_sign_an_op_as_the_store_manager() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let manager = id_of(&app, "gerente_a").await;
    let forged = price_edit(&mut d, &world, manager);
    assert_refused(&app, &d, forged, "clave_ajena").await;
    assert_eq!(price(&app, world.products[0]).await, 129_900);
}

#[tokio::test]
async fn a_cashier_cannot_sign_a_stock_move_as_the_admin() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let admin = id_of(&app, "admin").await;
    let forged = stock_move(&mut d, &world, admin);
    assert_refused(&app, &d, forged, "clave_ajena").await;
}

#[tokio::test]
async fn a_cashier_cannot_book_a_sale_to_another_cashier() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    // Another person of the same store.
    let other = id_of(&app, "gerente_a").await;
    let sale_id = Uuid::now_v7();
    let mut body = d.body(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    body.author_id = other;
    assert_refused(&app, &d, signed(body, &d.key), "clave_ajena").await;
}

#[tokio::test]
async fn a_cashier_of_another_store_cannot_sign_as_the_admin() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_b", "cajero_b").await;
    let admin = id_of(&app, "admin").await;
    let forged = stock_move(&mut d, &world, admin);
    assert_refused(&app, &d, forged, "clave_ajena").await;
}

#[tokio::test]
async fn a_signature_lifted_onto_a_different_body_is_refused() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let me = d.author;
    let honest = price_edit(&mut d, &world, me);
    // Same signature, another price; the checksum is recomputed (anyone can).
    let mut body = honest.body.clone();
    body.fields.insert("precio".into(), json!(1));
    let mut forged = Op::seal(body);
    forged.signature = honest.signature.clone();
    assert_refused(&app, &d, forged, "firma_invalida").await;
    assert_eq!(price(&app, world.products[0]).await, 129_900);
}

#[tokio::test]
async fn an_op_without_a_signature_or_with_an_unknown_key_is_refused() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let me = d.author;
    let mut unsigned = price_edit(&mut d, &world, me);
    unsigned.signature = None;
    assert_refused(&app, &d, unsigned, "firma_faltante").await;
    let forged = price_edit_signed(&mut d, &world, me, &new_key());
    assert_refused(&app, &d, forged, "clave_desconocida").await;
    // A refused op took its place: the device's next op is not "from the future".
    let next = price_edit(&mut d, &world, me);
    let results = d.push_ok(&app, &[next]).await;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
}

/// A copy of the device's storage in another browser profile holds the manager's key only
/// wrapped under her password: without it, the copier can sign with a key of their own — and
/// an op signed so is not hers, whichever key id it names.
#[tokio::test]
async fn a_copied_device_without_the_password_cannot_sign_as_its_owner() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let me = d.author;
    let copier_key = new_key();
    // Naming the manager's real key id, signed with another key.
    let mut forged = price_edit_signed(&mut d, &world, me, &copier_key);
    forged.body.key_id = Some(d.key.key_id);
    let forged = {
        let signature = forged.signature.clone();
        let mut op = Op::seal(forged.body);
        op.signature = signature;
        op
    };
    assert_refused(&app, &d, forged, "firma_invalida").await;
    // Registering the copier's key as the cashier and signing as the manager.
    let cashier = client_for(&app, "cajero_a").await;
    assert_eq!(register_key(&app, &cashier, d.id, &copier_key).await, 201);
    let forged = price_edit_signed(&mut d, &world, me, &copier_key);
    assert_refused(&app, &d, forged, "clave_ajena").await;
    assert_eq!(price(&app, world.products[0]).await, 129_900);
}

#[tokio::test]
async fn the_same_ops_signed_by_their_real_authors_apply() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut manager = device(&app, "gerente_a", "gerente_a").await;
    let me = manager.author;
    let edit = price_edit(&mut manager, &world, me);
    let moved = stock_move(&mut manager, &world, me);
    let results = manager.push_ok(&app, &[edit, moved]).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, OpResult::Applied { .. })),
        "{results:?}"
    );
    assert_eq!(price(&app, world.products[0]).await, 100);
    // A cashier on the same device, with her own key, pushed through the manager's session.
    let mut cashier = device(&app, "gerente_a", "cajero_a").await;
    cashier.id = manager.id;
    cashier.seq = manager.seq;
    cashier.key = new_key();
    let client = client_for(&app, "cajero_a").await;
    assert_eq!(
        register_key(&app, &client, manager.id, &cashier.key).await,
        201
    );
    let sale_id = Uuid::now_v7();
    let op = cashier.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        20,
    );
    let results = manager.push_ok(&app, &[op]).await;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
    let booked: String = sqlx::query_scalar("SELECT cashier_id FROM sales WHERE id = $1")
        .bind(sale_id.to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("sale");
    assert_eq!(booked, cashier.author.to_string(), "booked to its signer");
}

#[tokio::test]
async fn registering_a_key_is_audited_and_only_for_a_device_of_ones_store() {
    let app = spawn_app().await;
    let _world = seed(&app.db).await;
    let d = device(&app, "gerente_a", "cajero_a").await;
    let entries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE model = 'dispositivos.Clave' AND entity_id = $1",
    )
    .bind(d.key.key_id.to_string())
    .fetch_one(app.db.pool())
    .await
    .expect("audit");
    assert_eq!(entries, 1);
    let other_store = client_for(&app, "cajero_b").await;
    assert_eq!(
        register_key(&app, &other_store, d.id, &new_key()).await,
        403
    );
    // The same key id again with another public key is refused, never overwritten.
    let mut twin = new_key();
    twin.key_id = d.key.key_id;
    assert_eq!(register_key(&app, &d.client, d.id, &twin).await, 409);
    assert_eq!(register_key(&app, &d.client, d.id, &d.key).await, 200);
    let response = d
        .client
        .post(app.url(&format!("/api/devices/{}/claves", d.id)))
        .json(&json!({"clave_id": Uuid::now_v7(), "publica": "no-es-una-clave"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 422);
}

async fn deactivate_device(app: &TestApp, id: Uuid) {
    let manager = client_for(app, "gerente_a").await;
    let response = manager
        .post(app.url(&format!("/api/devices/{id}/desactivar")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

/// Revocation is not retroactive for facts: a sale and a stock move signed before the
/// device was deactivated are recorded and flagged (the shoes left while it was offline);
/// an edit, and a sale signed after, are refused.
#[tokio::test]
async fn a_revoked_key_keeps_facts_signed_before_and_refuses_the_rest() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let me = d.author;
    let now = app.clock.now_ms() as u64;
    let before_sale = Uuid::now_v7();
    let sale_before = d.op(
        VENTA,
        before_sale,
        OpKind::Sale,
        None,
        sale(&world, before_sale),
        now - 60_000,
    );
    let mut moved = stock_move(&mut d, &world, me);
    moved = {
        let mut body = moved.body;
        body.hlc.wall_ms = now - 50_000;
        signed(body, &d.key)
    };
    let edit = price_edit(&mut d, &world, me);
    let after_sale = Uuid::now_v7();
    let sale_after = d.op(
        VENTA,
        after_sale,
        OpKind::Sale,
        None,
        sale(&world, after_sale),
        now + 60_000,
    );
    deactivate_device(&app, d.id).await;

    let results = d
        .push_ok(
            &app,
            &[sale_before.clone(), moved.clone(), edit, sale_after],
        )
        .await;

    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
    assert!(
        matches!(&results[1], OpResult::Applied { .. }),
        "{results:?}"
    );
    for refused in &results[2..] {
        assert!(
            matches!(refused, OpResult::Rejected { status: 403, code, .. } if code == "revocada"),
            "{refused:?}"
        );
    }
    for op in [&sale_before, &moved] {
        let flag: Option<String> = sqlx::query_scalar("SELECT flag FROM sync_ops WHERE op_id = $1")
            .bind(op.body.op_id.to_string())
            .fetch_one(app.db.pool())
            .await
            .expect("flag");
        assert_eq!(flag.as_deref(), Some("autor_revocado"));
    }
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sales, 1);
    assert_eq!(price(&app, world.products[0]).await, 129_900);
}

#[tokio::test]
async fn deactivating_a_person_revokes_their_keys_on_every_device() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let now = app.clock.now_ms() as u64;
    let sale_id = Uuid::now_v7();
    let morning = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        now - 3_600_000,
    );
    let admin = client_for(&app, "admin").await;
    let response = admin
        .post(app.url(&format!("/api/usuarios/{}/desactivar", d.author)))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["claves_revocadas"], 1);
    // Her session is dead; the manager pushes her offline morning.
    let manager = Device {
        client: client_for(&app, "gerente_a").await,
        key: new_key(),
        ..d
    };
    let results = manager.push_ok(&app, &[morning]).await;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
    let manager_may_not: u16 = client_for(&app, "gerente_a")
        .await
        .post(app.url(&format!("/api/usuarios/{}/desactivar", d.author)))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16();
    assert_eq!(manager_may_not, 403, "people are managed by admins");
}

#[tokio::test]
async fn an_unsigned_op_of_the_previous_release_applies_only_for_its_author_else_waits_for_a_manager(
) {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    // Queued by the first release (no version, key or signature), pushed after the upgrade.
    let legacy = |d: &mut Device, n: u128| {
        let sale_id = Uuid::from_u128(n);
        Op::seal(d.body(
            VENTA,
            sale_id,
            OpKind::Sale,
            None,
            sale(&world, sale_id),
            10,
        ))
    };
    let own = legacy(&mut d, 1);
    let results = d.push_ok(&app, std::slice::from_ref(&own)).await;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );

    let theirs = legacy(&mut d, 2);
    let manager = Device {
        client: client_for(&app, "gerente_a").await,
        key: new_key(),
        ..d
    };
    let results = manager.push_ok(&app, std::slice::from_ref(&theirs)).await;
    assert!(matches!(&results[0], OpResult::Held { .. }), "{results:?}");
    let queue: Vec<Value> = get_json(
        &manager.client,
        app.url("/api/sincronizacion/cola/?estado=pending"),
    )
    .await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["resultado"]["result"], "held");
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sales, 1, "held, not applied");
    // A replay of the held op answers the same, never a second hold.
    let again = manager.push_ok(&app, std::slice::from_ref(&theirs)).await;
    assert!(matches!(&again[0], OpResult::Duplicate { .. }), "{again:?}");

    let accepted: OpResult = manager
        .client
        .post(app.url(&format!(
            "/api/sincronizacion/cola/{}/reintentar",
            theirs.body.op_id
        )))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(matches!(accepted, OpResult::Applied { .. }), "{accepted:?}");
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sales, 2);
}

#[tokio::test]
async fn an_app_without_a_protocol_is_told_to_update_and_oversized_pushes_are_413() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let op = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    let response = d
        .client
        .post(app.url("/api/sync/push"))
        .json(&json!({"device_id": d.id, "ops": [op]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 426);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "upgrade_required");
    let many: Vec<Op> = (0..1_001)
        .map(|_| {
            let id = Uuid::now_v7();
            d.op(VENTA, id, OpKind::Sale, None, sale(&world, id), 10)
        })
        .collect();
    let response = d.push(&app, &many).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"].as_str().unwrap_or("").contains("1000"),
        "{body}"
    );
}

#[tokio::test]
async fn an_op_with_an_unknown_field_is_refused_like_any_other_body() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let op = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    let mut wire = serde_json::to_value(&op).expect("json");
    wire["autor_real"] = json!("admin");
    let response = d
        .client
        .post(app.url("/api/sync/push"))
        .json(&json!({"device_id": d.id, "ops": [wire], "protocolo": PROTOCOL}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn the_same_op_id_twice_in_one_push_gets_an_answer_each_and_applies_once() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let op = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        10,
    );
    let mut twin_body = op.body.clone();
    twin_body.fields.insert(
        "pagos".into(),
        json!([{"metodo": "efectivo", "monto": 400_000}]),
    );
    let twin = signed(twin_body, &d.key);
    let response = d.push(&app, &[op.clone(), op.clone(), twin]).await;
    assert_eq!(response.status(), 200);
    let results = response.json::<PushReply>().await.expect("reply").results;
    assert!(
        matches!(&results[0], OpResult::Applied { .. }),
        "{results:?}"
    );
    assert!(
        matches!(&results[1], OpResult::Duplicate { .. }),
        "{results:?}"
    );
    assert!(
        matches!(&results[2], OpResult::Rejected { code, .. } if code == "op_id_reused"),
        "{results:?}"
    );
    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sales, 1);
}

/// Bounded clocks (DESIGN §8): a till 10 minutes fast still sells, is flagged, and its edit
/// does not beat a later edit from a correct clock under `ultima_modificacion`.
#[tokio::test]
async fn a_till_ten_minutes_fast_sells_is_flagged_and_loses_to_a_later_correct_edit() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut fast = device(&app, "gerente_a", "gerente_a").await;
    let mut right = device(&app, "gerente_a", "gerente_a").await;
    let t0 = app.clock.now_ms() as u64;
    let sale_id = Uuid::now_v7();
    let sold = fast.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        t0 + 600_000,
    );
    let renamed = fast.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"nombre": "Del reloj adelantado"}),
        t0 + 600_001,
    );
    let response = fast.push(&app, &[sold, renamed]).await;
    let reply: PushReply = response.json().await.expect("reply");
    assert!(
        reply
            .results
            .iter()
            .all(|r| matches!(r, OpResult::Applied { .. })),
        "{:?}",
        reply.results
    );
    assert!(reply.clock_ahead_ms.is_some_and(|ms| ms >= 600_000));
    assert!(
        reply.server_hlc.wall_ms <= t0 + 120_000,
        "the server's clock is not dragged ahead"
    );
    let manager = client_for(&app, "gerente_a").await;
    let devices: Vec<Value> = get_json(&manager, app.url("/api/devices")).await;
    let listed = devices
        .iter()
        .find(|d| d["id"] == json!(fast.id))
        .expect("listed");
    assert!(listed["reloj_adelantado_ms"].as_i64().unwrap_or(0) >= 600_000);

    app.clock.advance_ms(180_000);
    let later = right.op(
        PRODUCTO,
        world.products[1],
        OpKind::Update,
        Some(1),
        json!({"nombre": "Del reloj correcto"}),
        t0 + 180_000,
    );
    let results = right.push_ok(&app, &[later]).await;
    assert!(
        matches!(&results[0], OpResult::Conflict { .. }),
        "{results:?}"
    );
    let name: String = sqlx::query_scalar("SELECT name FROM products WHERE id = $1")
        .bind(world.products[1].to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("name");
    assert_eq!(name, "Del reloj correcto");
}

#[tokio::test]
async fn an_op_stamped_at_the_end_of_time_applies_without_moving_the_servers_clock() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let sale_id = Uuid::now_v7();
    let op = d.op(
        VENTA,
        sale_id,
        OpKind::Sale,
        None,
        sale(&world, sale_id),
        u64::MAX,
    );
    let reply: PushReply = d.push(&app, &[op]).await.json().await.expect("reply");
    assert!(
        matches!(&reply.results[0], OpResult::Applied { .. }),
        "{reply:?}"
    );
    let now = app.clock.now_ms() as u64;
    assert!(
        reply.server_hlc.wall_ms <= now + 120_000,
        "{:?}",
        reply.server_hlc
    );
    let flag: Option<String> = sqlx::query_scalar("SELECT flag FROM sync_ops WHERE entity_id = $1")
        .bind(sale_id.to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("flag");
    assert_eq!(flag.as_deref(), Some("reloj_adelantado"));
}
