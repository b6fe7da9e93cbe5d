//! The event bus behind the sockets. One process on SQLite: a broadcast channel. On
//! PostgreSQL several server processes share the database, so an event is published with
//! `pg_notify` and every process (the publisher too) hears it through its own `LISTEN`
//! connection and hands it to its sockets: two processes on one database behave as one.
//! Events are pokes, never data: losing one costs a pull, not a change. When the listener
//! connection drops, every socket is told to resynchronise once it is back.

use std::time::Duration;

use pronto_shared::sync::events::Event;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::db::{Backend, Database};

/// PostgreSQL channel name.
pub const CHANNEL: &str = "pronto_eventos";
/// Events a slow socket may fall behind by before it is told to resynchronise.
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    db: Database,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("receivers", &self.tx.receiver_count())
            .finish()
    }
}

impl EventBus {
    pub fn new(db: Database) -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx, db }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Sends `event` to every socket of every server process; call after the commit.
    pub async fn publish(&self, event: Event) {
        if self.db.backend() == Backend::Sqlite {
            // No receivers is fine: nobody is connected.
            let _ = self.tx.send(event);
            return;
        }
        let payload = match serde_json::to_string(&event) {
            Ok(json) => json,
            Err(err) => {
                tracing::error!(%err, "event does not serialise");
                return;
            }
        };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(self.db.pool())
            .await;
        if let Err(err) = sent {
            // This process's sockets still hear it; the others pull on their next timer.
            tracing::warn!(%err, "pg_notify failed; event delivered locally only");
            let _ = self.tx.send(event);
        }
    }

    /// On PostgreSQL, starts the task that listens for every process's events (a no-op on
    /// SQLite). It reconnects after a failure and then tells every socket to resynchronise.
    pub fn start_listener(&self) {
        if self.db.backend() != Backend::Postgres {
            return;
        }
        let (tx, url) = (self.tx.clone(), self.db.url().to_owned());
        tokio::spawn(async move {
            let mut lost = false;
            loop {
                match listen(&url, &tx, &mut lost).await {
                    Ok(()) => return,
                    Err(err) => {
                        tracing::warn!(%err, "event listener lost; reconnecting");
                        lost = true;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// Forwards notifications until the connection fails (`Err`) or nobody can listen any more
/// (every sender dropped: the server is stopping, `Ok`).
async fn listen(
    url: &str,
    tx: &broadcast::Sender<Event>,
    lost: &mut bool,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    if std::mem::take(lost) {
        let _ = tx.send(Event::Resincronizar);
    }
    loop {
        let notification = listener.recv().await?;
        match serde_json::from_str::<Event>(notification.payload()) {
            Ok(event) => {
                let _ = tx.send(event);
            }
            Err(err) => tracing::warn!(%err, "unreadable event on {CHANNEL}"),
        }
    }
}
