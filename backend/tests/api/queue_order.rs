//! The queue screen's order comes off an index, not a sort of every matching row (issue 16).

use pronto_backend::sync::queue::ORDER;

use crate::helpers::{backend_name, spawn_app};

#[tokio::test]
async fn the_queue_lists_a_stores_ops_newest_first_without_sorting_them() {
    if backend_name() != "sqlite" {
        return; // PostgreSQL's planner chooses by table statistics; the plan is SQLite's here.
    }
    let app = spawn_app().await;
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
        "EXPLAIN QUERY PLAN SELECT op_id FROM sync_ops WHERE status = 'rejected' AND store_id = 'x' \
         {ORDER} LIMIT 200"
    ))
    .fetch_all(app.db.pool())
    .await
    .expect("plan");
    let steps: Vec<&str> = plan.iter().map(|(_, _, _, step)| step.as_str()).collect();
    assert!(
        steps.iter().any(|s| s.contains("sync_ops_store_queue")),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("TEMP B-TREE")),
        "no sort: {steps:?}"
    );
}
