//! What is durable when (issue 16): an op is acknowledged only after its commit is on disk, so
//! every pooled connection must run with the durable setting — a later "speed-up" that drops
//! it fails here, not in a store after a power cut.

use pronto_backend::db::Database;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_pooled_connection_commits_durably() {
    let app = spawn_app().await;
    let pool = app.db.pool();
    let max = pool.options().get_max_connections();
    // Hold them all at once, so each one the pool can hand out is checked.
    let mut held = Vec::new();
    for _ in 0..max {
        held.push(pool.acquire().await.expect("connection"));
    }
    for conn in &mut held {
        let setting = Database::durability(conn, app.db.backend())
            .await
            .expect("setting");
        // SQLite: 2 = FULL (3 = EXTRA is also durable); PostgreSQL: `on`.
        assert!(
            matches!(setting.as_str(), "2" | "3" | "on"),
            "{} connection runs synchronous = {setting}",
            app.db.backend().as_str()
        );
    }
    assert_eq!(held.len() as u32, max);
}
