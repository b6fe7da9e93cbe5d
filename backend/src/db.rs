//! The database: one pool over SQLite (default) or PostgreSQL, chosen by URL.
//!
//! We use sqlx's `Any` driver so that one query text (with `$1` placeholders, which both
//! dialects accept) serves both backends. The price is that only portable types cross the
//! driver: integers, floats, text, bytes, booleans. UUIDs and timestamps are stored as text or
//! integers on both sides. Where the dialects cannot share SQL (DDL, upserts that differ), the
//! difference is kept to the migration directories and to [`Backend`]-keyed branches.

use std::{
    ops::{Deref, DerefMut},
    path::Path,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    Any, AnyConnection, AnyPool, Executor, Transaction,
};

use crate::AppError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which SQL engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    fn from_url(url: &str) -> Result<Self, AppError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(AppError::UnsupportedDatabase(redact(url)))
        }
    }
}

/// A pool plus the knowledge of which backend it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The connection URL (the event bus opens its own `LISTEN` connection on PostgreSQL).
    url: Arc<str>,
    /// SQLite: the one writer's turn ([`Database::begin_write`]).
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Database {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens a pool. For SQLite the file (and its directory) is created if missing, and every
    /// connection is put in WAL mode with foreign keys on and a busy timeout, so that readers
    /// never block the single writer and a brief write lock waits instead of failing.
    pub async fn connect(url: &str) -> Result<Self, AppError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                // One writer at a time anyway; a few readers in WAL.
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    match backend {
                        // `synchronous = FULL`: in WAL, NORMAL may lose the last commits on a
                        // power cut — commits the devices were told are safe, and deleted
                        // from their outboxes. An acknowledged op must be on disk.
                        // Checkpoints run off the write path ([`Database::checkpoint`], from
                        // the server's background task). `wal_autocheckpoint` at 8,000 pages
                        // (≈ 32 MiB, default 1,000) is the backstop for when that task falls
                        // behind: it runs inside the commit that crosses the mark, with its
                        // own fsync. Commits stay as durable either way.
                        Backend::Sqlite => {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                                 PRAGMA wal_autocheckpoint = 8000;",
                            )
                            .await?;
                        }
                        // The server's default, but a DBA's "speed-up" must not apply here.
                        Backend::Postgres => {
                            conn.execute("SET synchronous_commit = on").await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Self {
            pool,
            backend,
            url: url.into(),
            writer: Arc::default(),
        })
    }

    /// The durability setting of one pooled connection: SQLite's `synchronous` (2 = FULL) or
    /// PostgreSQL's `synchronous_commit` (`on`), as text.
    pub async fn durability(
        conn: &mut AnyConnection,
        backend: Backend,
    ) -> Result<String, AppError> {
        Ok(match backend {
            Backend::Sqlite => sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
                .fetch_one(conn)
                .await?
                .to_string(),
            Backend::Postgres => {
                sqlx::query_scalar::<_, String>("SHOW synchronous_commit")
                    .fetch_one(conn)
                    .await?
            }
        })
    }

    /// Applies the embedded migrations of this backend that are not applied yet.
    pub async fn migrate(&self) -> Result<(), AppError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Number of successfully applied migrations; doubles as a liveness query.
    pub async fn applied_migrations(&self) -> Result<i64, AppError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_one(&self.pool)
                .await?;
        Ok(count)
    }

    /// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock
    /// up front: a deferred transaction that reads and then writes can fail with
    /// SQLITE_BUSY_SNAPSHOT when another writer committed in between, and no timeout helps.
    ///
    /// SQLite has one writer at a time, and one that finds the lock taken sleeps in SQLite's
    /// busy handler (1, 2, 5, 10 … 100 ms between tries) while the lock may long be free again:
    /// with many tills pushing at once, pushes waited up to a second behind that. So the
    /// server's own writers take turns in its [`WRITER_WAIT`]-bounded queue first, and each
    /// starts as the one before it ends. What waits longer is told to come back
    /// ([`AppError::Busy`]).
    pub async fn begin_write(&self) -> Result<WriteTx, AppError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = tokio::time::timeout(WRITER_WAIT, Arc::clone(&self.writer).lock_owned())
                    .await
                    .map_err(|_| AppError::Busy {
                        retry_after_secs: 2,
                    })?;
                WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                }
            }
            Backend::Postgres => WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            },
        })
    }

    /// SQLite: copies the pages committed to the write-ahead log into the database file
    /// (`PRAGMA wal_checkpoint(PASSIVE)`: it waits for no writer and no writer waits for it).
    /// Left to SQLite, the commit that crosses `wal_autocheckpoint` does this itself, and a
    /// push batch then waits for tens of milliseconds of copying and an fsync. Returns the
    /// WAL's frames and how many of them are in the database file now; `None` on PostgreSQL,
    /// which checkpoints on its own processes.
    pub async fn checkpoint(&self) -> Result<Option<(i64, i64)>, AppError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let (_busy, frames, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        Ok(Some((frames, copied)))
    }

    /// Closes every connection; pending queries finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// How long a writer waits for its turn before being told to come back (SQLite's own
/// `busy_timeout` is as long).
pub const WRITER_WAIT: Duration = Duration::from_secs(5);

/// A write transaction holding the writer's turn (SQLite) until it commits, rolls back or is
/// dropped; it is used as the transaction it wraps.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Takes the next position in the global change sequence. The single counter row is locked
/// by the UPDATE until the transaction ends, so positions become visible in commit order and a
/// puller reading "everything after N" can never skip a change that commits late.
pub async fn next_change_seq(conn: &mut AnyConnection) -> Result<i64, AppError> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value",
    )
    .fetch_one(conn)
    .await?;
    Ok(seq)
}

/// Positions in the global change sequence reserved ahead, so a push batch pays one counter
/// update instead of one per write. Reserve outside any savepoint: a rolled-back savepoint
/// would hand the positions back to the counter while they are still being given out here.
/// Positions left unused are gaps, which pulls step over. When the reservation runs out,
/// positions come from the counter one by one, which stays correct inside a savepoint.
#[derive(Debug, Default)]
pub struct ChangeSeqs {
    next: i64,
    end: i64,
}

impl ChangeSeqs {
    pub async fn reserve(conn: &mut AnyConnection, count: i64) -> Result<Self, AppError> {
        if count <= 0 {
            return Ok(Self::default());
        }
        let top: i64 = sqlx::query_scalar(
            "UPDATE change_counter SET value = value + $1 WHERE id = 1 RETURNING value",
        )
        .bind(count)
        .fetch_one(conn)
        .await?;
        Ok(Self {
            next: top - count + 1,
            end: top + 1,
        })
    }

    pub async fn next(&mut self, conn: &mut AnyConnection) -> Result<i64, AppError> {
        if self.next < self.end {
            self.next += 1;
            return Ok(self.next - 1);
        }
        next_change_seq(conn).await
    }
}

/// `$first, $first + 1, …`: `count` placeholders for an `IN (…)` list. Callers pass at most a
/// pull page or a push batch of ids, far below either database's bind limit.
pub fn marks(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{head} ($1, …)` with one bind per id: one round trip for a whole list of rows.
pub async fn in_query<T>(
    conn: &mut AnyConnection,
    head: &str,
    ids: &[uuid::Uuid],
) -> Result<Vec<T>, AppError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    rows_in(conn, head, ids)
        .await?
        .iter()
        .map(|row| T::from_row(row).map_err(AppError::from))
        .collect()
}

/// [`in_query`] as raw rows, for models with their own row readers. No ids, no query (an
/// empty `IN ()` is not SQL).
pub async fn rows_in(
    conn: &mut AnyConnection,
    head: &str,
    ids: &[uuid::Uuid],
) -> Result<Vec<sqlx::any::AnyRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{head} ({})", marks(1, ids.len()));
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Parses a UUID read back from the database; a malformed one is corruption, not user error.
pub fn uuid(text: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(text)
        .map_err(|_| AppError::Internal(format!("stored id {text:?} is not a UUID")))
}

/// Maps a unique-constraint violation to a 409 with `message`; other errors pass through.
pub fn on_unique(err: sqlx::Error, message: &str) -> AppError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AppError::Conflict(message.to_owned())
        }
        _ => AppError::Database(err),
    }
}

/// Makes sure the SQLite file can be created: its directory exists and `mode=rwc` is set.
fn prepare_sqlite_url(url: &str) -> Result<String, AppError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Ok(url.to_owned());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    if query.split('&').any(|kv| kv.starts_with("mode=")) {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

/// A URL fit for logs: the password, if any, is replaced.
fn redact(url: &str) -> String {
    match url::Url::from_str(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The condition of a keyset page: rows after row `key = $mark` of `table` in a list ordered by
/// `columns` descending (the last column makes the order total). Pages cost the same at any
/// depth, unlike `OFFSET`; a key that is not in the table gives an empty page.
pub fn before_row(columns: &str, table: &str, key: &str, mark: usize) -> String {
    format!(" AND ({columns}) < (SELECT {columns} FROM {table} WHERE {key} = ${mark})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_gets_create_mode_and_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/deeper/pos.db");
        let url = format!("sqlite://{}", file.display());
        let prepared = prepare_sqlite_url(&url).unwrap();
        assert_eq!(prepared, format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
    }

    #[test]
    fn sqlite_url_keeps_an_explicit_mode() {
        let url = "sqlite://x.db?mode=ro";
        assert_eq!(prepare_sqlite_url(url).unwrap(), url);
    }

    #[test]
    fn unknown_scheme_is_refused_without_echoing_the_password() {
        let err = Backend::from_url("mysql://root:hunter2@db/pos").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("mysql://"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
