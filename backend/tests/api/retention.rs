//! Retention of answered ops (issue 16): applied ops a device has settled are compacted after
//! the retention period, and exactly-once still holds — a replay of a compacted op is a
//! duplicate, never a second sale; a new op reusing a compacted seq is refused, never dropped.

use std::time::Duration;

use pronto_backend::{
    auth::AuthConfig,
    clock::Clock,
    sync::retention::{self, DEFAULT_RETENTION},
};
use pronto_shared::sync::{config::VENTA, OpKind, OpResult};
use uuid::Uuid;

use crate::{
    fixtures::{fingerprint, seed},
    helpers::spawn_app_with_auth,
    sync::{device, sale},
};

async fn stored_ops(app: &crate::helpers::TestApp, device: Uuid) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sync_ops WHERE device_id = $1")
        .bind(device.to_string())
        .fetch_one(app.db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_replay_after_compaction_is_a_duplicate_and_a_reused_seq_is_still_refused() {
    // Sessions outlive the month the test moves the clock by.
    let app = spawn_app_with_auth(AuthConfig {
        idle_timeout: Duration::from_secs(60 * 24 * 3600),
        absolute_timeout: Duration::from_secs(60 * 24 * 3600),
        ..AuthConfig::default()
    })
    .await;
    let world = seed(&app.db).await;
    let mut d = device(&app, "gerente_a", "gerente_a").await;
    let wall = app.clock.now_ms() as u64;
    let sale_op = |d: &mut crate::sync::Device| {
        let id = Uuid::now_v7();
        d.op(VENTA, id, OpKind::Sale, None, sale(&world, id), wall)
    };
    let first: Vec<_> = (0..3).map(|_| sale_op(&mut d)).collect();
    for result in d.push_ok(&app, &first).await {
        assert!(matches!(result, OpResult::Applied { .. }), "{result:?}");
    }
    // Compaction waits for the device to settle them: nothing goes while it may resend.
    app.clock.advance_ms(31 * 24 * 3600 * 1000);
    let cutoff = app.clock.now() - DEFAULT_RETENTION;
    assert_eq!(
        retention::compact(&app.db, cutoff).await.expect("compact"),
        0
    );
    // Its next push starts after them: they are settled on the device.
    let next = sale_op(&mut d);
    assert!(matches!(
        d.push_ok(&app, &[next]).await[0],
        OpResult::Applied { .. }
    ));
    assert_eq!(stored_ops(&app, d.id).await, 4);
    // Not old enough yet: the last push was just now, the first three a month ago.
    let compacted = retention::compact(&app.db, cutoff).await.expect("compact");
    assert_eq!(compacted, 3);
    assert_eq!(
        stored_ops(&app, d.id).await,
        1,
        "only the unsettled op is kept"
    );

    let before = fingerprint(&app.db).await;
    for (result, op) in d.push_ok(&app, &first).await.iter().zip(&first) {
        assert_eq!(result.op_id(), op.body.op_id);
        assert!(
            matches!(result, OpResult::Duplicate { first, .. } if matches!(**first, OpResult::Applied { .. })),
            "a replay of a compacted sale must be a duplicate: {result:?}"
        );
    }
    assert_eq!(
        fingerprint(&app.db).await,
        before,
        "no second sale, no stock moved"
    );

    // A device that lost its storage counts from 1 again: a new sale with seq 2, made now,
    // is not a replay and must surface (refused, so the device keeps it), not vanish.
    let id = Uuid::now_v7();
    let mut body = d.body(
        VENTA,
        id,
        OpKind::Sale,
        None,
        sale(&world, id),
        app.clock.now_ms() as u64,
    );
    body.seq = 2;
    let reused = crate::sync::signed(body, &d.key);
    match &d.push_ok(&app, &[reused]).await[0] {
        OpResult::Rejected { code, .. } => assert_eq!(code, "seq_reused"),
        other => panic!("a new op on a compacted seq was taken as a replay: {other:?}"),
    }
    assert_eq!(fingerprint(&app.db).await, before);
    app.stop().await.expect("stop");
}
