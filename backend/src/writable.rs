//! Whether the database can take a write right now (issue 16): `GET /api/health` says not
//! ready (503) when it cannot, and the tills' indicator follows it. A health check answered
//! "ok" while every push failed is how a wedged server hid for minutes.
//!
//! One probe per second per process, not one per heartbeat (a thousand tills beat every 2 s):
//! a write transaction that takes the audit head's row lock — the lock every op's write takes —
//! and rolls back. It runs in a task of its own, so a probe that outlives its deadline still
//! rolls back instead of leaving its connection inside a transaction.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{db::Database, AppError};

/// How long a probe may wait for the write lock before the database counts as not writable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A database is writable while its last successful probe is at most this old (real time,
/// not the application's clock, which tests stop and move).
pub const FRESH: Duration = Duration::from_secs(3);

/// When the last probe succeeded. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Writable {
    last_ok: Arc<Mutex<Option<Instant>>>,
}

impl Writable {
    /// Whether a write got through recently.
    pub fn now(&self) -> bool {
        self.last_ok
            .lock()
            .map(|last| last.is_some_and(|at| at.elapsed() <= FRESH))
            .unwrap_or(false)
    }

    /// Probes once; records the time on success.
    pub async fn probe(&self, db: &Database) {
        let task_db = db.clone();
        let task = tokio::spawn(async move { write_and_roll_back(&task_db).await });
        match tokio::time::timeout(PROBE_TIMEOUT, task).await {
            Ok(Ok(Ok(()))) => {
                if let Ok(mut last) = self.last_ok.lock() {
                    *last = Some(Instant::now());
                }
            }
            Ok(Ok(Err(err))) => tracing::warn!(%err, "database did not take a write"),
            Ok(Err(err)) => tracing::warn!(%err, "write probe task failed"),
            Err(_) => tracing::warn!("database did not take a write within the probe timeout"),
        }
    }
}

async fn write_and_roll_back(db: &Database) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE audit_head SET last_id = last_id WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(())
}
