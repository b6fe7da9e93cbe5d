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

#[tokio::test]
async fn a_checkpoint_copies_every_committed_page_of_the_log_into_the_database() {
    let app = spawn_app().await;
    let Some(_) = app.db.checkpoint().await.expect("first checkpoint") else {
        assert_eq!(app.db.backend().as_str(), "postgres");
        return; // PostgreSQL checkpoints on its own.
    };
    let mut tx = app.db.begin_write().await.expect("write");
    for n in 0..200 {
        sqlx::query("INSERT INTO sync_config (model, config, updated_at) VALUES ($1, '{}', 'x')")
            .bind(format!("model-{n}"))
            .execute(&mut *tx)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    let (frames, copied) = app
        .db
        .checkpoint()
        .await
        .expect("checkpoint")
        .expect("sqlite");
    assert!(frames > 0, "the commit went to the log: {frames} frames");
    assert_eq!(copied, frames, "nothing holds the log back");
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sync_config WHERE model LIKE 'model-%'")
            .fetch_one(app.db.pool())
            .await
            .expect("count");
    assert_eq!(kept, 200);
}

#[tokio::test]
async fn a_writer_kept_waiting_past_its_turn_is_told_to_come_back_and_the_next_gets_in() {
    let app = spawn_app().await;
    if app.db.backend() != pronto_backend::db::Backend::Sqlite {
        return; // PostgreSQL writers do not queue: they wait on the rows they touch.
    }
    let first = app.db.begin_write().await.expect("first writer");
    let second = app.db.begin_write().await;
    assert!(
        matches!(second, Err(pronto_backend::AppError::Busy { .. })),
        "{:?}",
        second.err()
    );
    first.commit().await.expect("commit");
    let third = app.db.begin_write().await.expect("the turn was given back");
    third.rollback().await.expect("rollback");
}
