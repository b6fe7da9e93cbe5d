//! The sync module's endpoints: queue (with admin retry/discard), configuration, history,
//! content types, audit with its integrity check.

use pronto_shared::sync::{config::PRODUCTO, OpResult, Strategy};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, get_json, seed},
    helpers::spawn_app,
    sync::{device, mixed_batch},
};

#[tokio::test]
async fn the_queue_lists_ops_by_status_and_admins_retry_or_discard_refused_ones() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "cajero_a").await;
    let gerente = client_for(&app, "gerente_a").await;
    let admin = client_for(&app, "admin").await;
    // Two sales queued while the cashier's account was off: refused at apply time.
    let mut conn = app.db.pool().acquire().await.unwrap();
    pronto_backend::model::users::set_active(&mut conn, d.author, false)
        .await
        .unwrap();
    drop(conn);
    let sale_ids = [Uuid::now_v7(), Uuid::now_v7()];
    let ops: Vec<_> = sale_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            d.op(
                pronto_shared::sync::config::VENTA,
                *id,
                pronto_shared::sync::OpKind::Sale,
                None,
                crate::sync::sale(&world, *id),
                10 + i as u64,
            )
        })
        .collect();
    d.client = gerente.clone();
    d.push_ok(&app, &ops).await;

    let rejected: Vec<Value> = get_json(
        &gerente,
        app.url("/api/sincronizacion/cola/?estado=rejected"),
    )
    .await;
    assert_eq!(rejected.len(), 2);
    let cajero = client_for(&app, "cajero_b").await;
    assert_eq!(
        cajero
            .get(app.url("/api/sincronizacion/cola/"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let retry_url = app.url(&format!(
        "/api/sincronizacion/cola/{}/reintentar",
        ops[0].body.op_id
    ));
    assert_eq!(
        gerente
            .post(&retry_url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "only admins retry"
    );

    let mut conn = app.db.pool().acquire().await.unwrap();
    pronto_backend::model::users::set_active(&mut conn, d.author, true)
        .await
        .unwrap();
    drop(conn);
    let retried: OpResult = admin
        .post(&retry_url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(matches!(retried, OpResult::Applied { .. }), "{retried:?}");
    let discarded = admin
        .post(app.url(&format!(
            "/api/sincronizacion/cola/{}/descartar",
            ops[1].body.op_id
        )))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(discarded.status(), 200);

    let sales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(sales, 1);
    let applied: Vec<Value> = get_json(
        &gerente,
        app.url("/api/sincronizacion/cola/?estado=applied"),
    )
    .await;
    assert_eq!(applied.len(), 1);
    let gone: Vec<Value> = get_json(
        &gerente,
        app.url("/api/sincronizacion/cola/?estado=discarded"),
    )
    .await;
    assert_eq!(gone.len(), 1);
    // The replay of a retried op answers its new result.
    let replay = d.push_ok(&app, &ops[..1]).await;
    let OpResult::Duplicate { first, .. } = &replay[0] else {
        panic!("{replay:?}")
    };
    assert!(matches!(first.as_ref(), OpResult::Applied { .. }));
}

#[tokio::test]
async fn admins_change_the_configuration_and_it_holds_for_the_next_op() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let admin = client_for(&app, "admin").await;
    let gerente = client_for(&app, "gerente_a").await;
    let configs: Vec<Value> =
        get_json(&gerente, app.url("/api/sincronizacion/configuracion/")).await;
    let mut product = configs
        .into_iter()
        .find(|c| c["model"] == PRODUCTO)
        .unwrap();
    assert_eq!(product["excluded_fields"], json!(["imagen"]));

    product["estrategia"] = json!("manual");
    assert_eq!(
        gerente
            .put(app.url("/api/sincronizacion/configuracion/"))
            .json(&product)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let mut bad = product.clone();
    bad["excluded_fields"] = json!(["no_existe"]);
    assert_eq!(
        admin
            .put(app.url("/api/sincronizacion/configuracion/"))
            .json(&bad)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        admin
            .put(app.url("/api/sincronizacion/configuracion/"))
            .json(&product)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A server edit, then a device edit of the same field from an older version: now held.
    let mut edit = crate::fixtures::product_input(2);
    edit.precio = 150_000;
    gerente
        .put(app.url(&format!("/api/products/{}", world.products[1])))
        .json(&edit)
        .send()
        .await
        .unwrap();
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let op = d.op(
        PRODUCTO,
        world.products[1],
        pronto_shared::sync::OpKind::Update,
        Some(1),
        json!({"precio": 90_000}),
        1,
    );
    let results = d.push_ok(&app, &[op]).await;
    let OpResult::Conflict { conflict, .. } = &results[0] else {
        panic!("{results:?}")
    };
    assert_eq!(conflict.strategy, Strategy::Manual);
}

#[tokio::test]
async fn history_content_types_and_audit_answer_what_happened() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let batch = mixed_batch(&mut d, &world);
    d.push_ok(&app, &batch).await;
    let pulled = d.pull(&app, 0, 1000).await.changes.len() as i64;
    let gerente = client_for(&app, "gerente_a").await;
    let admin = client_for(&app, "admin").await;

    let history: Vec<Value> = get_json(&gerente, app.url("/api/sincronizacion/registros/")).await;
    assert_eq!(
        history.len(),
        1,
        "a push and a pull a moment apart are one session"
    );
    assert_eq!(history[0]["enviadas"], 4);
    assert_eq!(history[0]["recibidas"], pulled);

    let types: Vec<Value> = get_json(&gerente, app.url("/api/sincronizacion/content-types/")).await;
    assert_eq!(types.len(), 4);
    assert!(types
        .iter()
        .any(|t| t["model"] == PRODUCTO
            && t["fields"].as_array().unwrap().contains(&json!("precio"))));

    let product_audit: Vec<Value> = get_json(
        &gerente,
        app.url(&format!("/api/sincronizacion/auditoria/?modelo={PRODUCTO}")),
    )
    .await;
    assert_eq!(product_audit.len(), 1);
    assert_eq!(product_audit[0]["result"], "applied");
    assert_eq!(product_audit[0]["after"]["nombre"], "Oxford Renovado");
    assert_eq!(product_audit[0]["before"]["nombre"], "Oxford Prueba 2");
    let other_store = client_for(&app, "gerente_b").await;
    let theirs: Vec<Value> =
        get_json(&other_store, app.url("/api/sincronizacion/auditoria/")).await;
    assert!(
        theirs.is_empty(),
        "a manager sees only their store's devices"
    );

    let check: Value = get_json(&admin, app.url("/api/sincronizacion/auditoria/integridad")).await;
    assert_eq!(check["ok"], true);
    sqlx::query("UPDATE audit_log SET after = '{}' WHERE id = 1")
        .execute(app.db.pool())
        .await
        .unwrap();
    let broken: Value = get_json(&admin, app.url("/api/sincronizacion/auditoria/integridad")).await;
    assert_eq!(
        (broken["ok"].clone(), broken["first_broken"].clone()),
        (json!(false), json!(1))
    );
    assert_eq!(
        gerente
            .get(app.url("/api/sincronizacion/auditoria/integridad"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn rest_writes_are_audited_and_shown_to_their_store_only() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let gerente = client_for(&app, "gerente_a").await;
    let admin = client_for(&app, "admin").await;
    let created: Value = admin
        .post(app.url("/api/products"))
        .json(&crate::fixtures::product_input(900))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moved = gerente
        .post(app.url("/api/stock/movimientos"))
        .json(&json!({"producto_id": world.products[0], "delta": 4, "motivo": "recepcion"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 201);

    let everything: Vec<Value> = get_json(&admin, app.url("/api/sincronizacion/auditoria/")).await;
    let product = everything
        .iter()
        .find(|e| e["model"] == PRODUCTO && e["entity_id"] == created["id"])
        .expect("the product's creation is audited");
    assert_eq!(product["after"]["sku"], "TST-0900");
    assert_eq!(product["device_id"], Value::Null);
    assert!(everything
        .iter()
        .any(|e| e["model"] == "inventario.Existencia" && e["after"]["delta"] == 4));

    let mine: Vec<Value> = get_json(&gerente, app.url("/api/sincronizacion/auditoria/")).await;
    assert_eq!(mine.len(), 1, "the manager sees their own stock movement");
    assert_eq!(mine[0]["model"], "inventario.Existencia");
    let other_store = client_for(&app, "gerente_b").await;
    let theirs: Vec<Value> =
        get_json(&other_store, app.url("/api/sincronizacion/auditoria/")).await;
    assert!(theirs.is_empty(), "another store's manager sees none of it");
    let check: Value = get_json(&admin, app.url("/api/sincronizacion/auditoria/integridad")).await;
    assert_eq!(check["ok"], true);
}

/// Follows `antes` from page to page (`limite` = `size`) until an empty page; the ids in order.
async fn every_page(
    client: &reqwest::Client,
    app: &crate::helpers::TestApp,
    (path, key): (&str, &str),
    size: usize,
) -> Vec<Value> {
    let mut ids = Vec::new();
    let mut next: Option<Value> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limite={size}");
        if let Some(id) = &next {
            url.push_str(&format!(
                "&antes={}",
                id.as_str().map_or(id.to_string(), str::to_owned)
            ));
        }
        let page: Vec<Value> = get_json(client, app.url(&url)).await;
        assert!(page.len() <= size, "{path}: a page larger than asked");
        let Some(last) = page.last() else { break };
        next = Some(last[key].clone());
        ids.extend(page.iter().map(|row| row[key].clone()));
    }
    ids
}

#[tokio::test]
async fn history_conflicts_audit_and_queue_page_by_key_and_every_row_comes_once() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    // Three tills edit the same product from the same version: sessions, audit entries and
    // conflicts to page through.
    for _ in 0..3 {
        let mut d = device(&app, "gerente_a", "gerente_a").await;
        let batch = mixed_batch(&mut d, &world);
        d.push_ok(&app, &batch).await;
    }
    let admin = client_for(&app, "admin").await;
    for (path, key, size) in [
        ("/api/sincronizacion/registros/", "id", 1),
        ("/api/sincronizacion/auditoria/", "id", 4),
        ("/api/sincronizacion/conflictos/?estado=resuelto", "id", 1),
        ("/api/sincronizacion/cola/?estado=applied", "op_id", 3),
    ] {
        let whole: Vec<Value> = get_json(&admin, app.url(path)).await;
        let whole: Vec<Value> = whole.iter().map(|row| row[key].clone()).collect();
        assert!(
            whole.len() >= 2,
            "{path}: {} rows, too few to page",
            whole.len()
        );
        let paged = every_page(&admin, &app, (path, key), size).await;
        assert_eq!(paged, whole, "{path}");
    }
    let unknown: Vec<Value> = get_json(
        &admin,
        app.url(&format!(
            "/api/sincronizacion/registros/?antes={}",
            Uuid::now_v7()
        )),
    )
    .await;
    assert!(unknown.is_empty());
}
