//! Ops stranded in a device's dead letters reach the manager's queue screen (issue 17): the
//! device reports its list, each report replaces the last, only its store sees it, and an op
//! the server applied is never listed as stranded.

use pronto_backend::clock::Clock;
use pronto_shared::{
    api::devices::{DeadLetterReport, StrandedOp, MAX_REPORTED_LETTERS},
    sync::{config::VENTA, OpKind, OpResult},
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, seed},
    helpers::spawn_app,
    sync::{device, sale},
};

fn letter(seq: u64) -> DeadLetterReport {
    DeadLetterReport {
        op_id: Uuid::now_v7(),
        seq,
        modelo: VENTA.into(),
        entidad_id: Uuid::now_v7(),
        codigo: "invalid".into(),
        motivo: "La venta no cuadra con sus pagos.".into(),
    }
}

async fn stranded(app: &crate::helpers::TestApp, client: &reqwest::Client) -> Vec<StrandedOp> {
    let response = client
        .get(app.url("/api/sincronizacion/en-dispositivos/"))
        .send()
        .await
        .expect("list");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_device_s_reported_dead_letters_are_listed_for_its_store_by_name_and_replaced_by_the_next_report(
) {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let mut till = device(&app, "gerente_a", "cajero_a").await;
    let url = app.url(&format!("/api/devices/{}/rechazadas", till.id));

    // An op the server applied is not stranded, whatever the device says.
    let id = Uuid::now_v7();
    let wall = app.clock.now_ms() as u64;
    let applied = till.op(VENTA, id, OpKind::Sale, None, sale(&world, id), wall);
    assert!(matches!(
        till.push_ok(&app, std::slice::from_ref(&applied)).await[0],
        OpResult::Applied { .. }
    ));
    let mut claimed = letter(applied.body.seq);
    claimed.op_id = applied.body.op_id;
    let stuck = [letter(7), letter(9), claimed];
    let answer: Value = till
        .client
        .put(&url)
        .json(&stuck)
        .send()
        .await
        .expect("report")
        .json()
        .await
        .expect("json");
    assert_eq!(answer, json!({"rechazadas": 2}));

    let manager = client_for(&app, "gerente_a").await;
    let listed = stranded(&app, &manager).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].dispositivo, "Caja", "the device by name");
    assert_eq!(listed[0].reportada_por, "cajero_a", "who was signed in");
    assert_eq!(listed.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![7, 9]);
    assert_eq!(listed[0].motivo, "La venta no cuadra con sus pagos.");
    // Another store's manager sees none of it, nor may they report for this device.
    let other = client_for(&app, "gerente_b").await;
    assert!(stranded(&app, &other).await.is_empty());
    let refused = other.put(&url).json(&stuck).send().await.expect("put");
    assert_eq!(refused.status(), 403);

    // Re-sealed and delivered: the next report is empty, and so is the list.
    let emptied = till
        .client
        .put(&url)
        .json(&Vec::<DeadLetterReport>::new())
        .send()
        .await
        .expect("report");
    assert_eq!(emptied.status(), 200);
    assert!(stranded(&app, &manager).await.is_empty());
}

#[tokio::test]
async fn an_oversized_report_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let till = device(&app, "gerente_a", "cajero_a").await;
    let url = app.url(&format!("/api/devices/{}/rechazadas", till.id));
    let first = [letter(3)];
    assert_eq!(
        till.client
            .put(&url)
            .json(&first)
            .send()
            .await
            .expect("put")
            .status(),
        200
    );
    let too_many: Vec<_> = (1..=MAX_REPORTED_LETTERS as u64 + 1).map(letter).collect();
    let response = till
        .client
        .put(&url)
        .json(&too_many)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 422);
    let mut long = letter(4);
    long.motivo = "x".repeat(501);
    let response = till
        .client
        .put(&url)
        .json(&[long])
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 422);
    let manager = client_for(&app, "gerente_a").await;
    let listed = stranded(&app, &manager).await;
    assert_eq!(listed.len(), 1, "the last good report stands");
    assert_eq!(listed[0].op_id, first[0].op_id);
}
