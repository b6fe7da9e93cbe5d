//! Which device sockets were heard lately. Every socket's heartbeat only notes its device
//! here; once per heartbeat the process writes them all in one UPDATE — at 1,000 tills that is
//! one write every 20 s instead of 50 a second competing with pushes for SQLite's one writer.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use uuid::Uuid;

use crate::{db::Database, model::devices, AppError};

/// Ids per UPDATE.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct Presence {
    heard: Arc<Mutex<HashSet<Uuid>>>,
}

impl Presence {
    /// Notes that `device`'s socket answered; written at the next [`Presence::flush`].
    pub fn heard(&self, device: Uuid) {
        match self.heard.lock() {
            Ok(mut set) => set.insert(device),
            Err(poisoned) => poisoned.into_inner().insert(device),
        };
    }

    /// Writes every device heard since the last flush as seen at `at`; how many. If the
    /// write fails the ids are kept for the next try.
    pub async fn flush(&self, db: &Database, at: &str) -> Result<usize, AppError> {
        let ids: Vec<Uuid> = match self.heard.lock() {
            Ok(mut set) => set.drain().collect(),
            Err(poisoned) => poisoned.into_inner().drain().collect(),
        };
        if ids.is_empty() {
            return Ok(0);
        }
        let written = async {
            let mut conn = db.pool().acquire().await?;
            for chunk in ids.chunks(CHUNK) {
                devices::seen(&mut conn, chunk, at).await?;
            }
            Ok::<_, AppError>(())
        }
        .await;
        if let Err(err) = written {
            for id in ids {
                self.heard(id);
            }
            return Err(err);
        }
        Ok(ids.len())
    }
}
