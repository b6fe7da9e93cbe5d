//! `pronto backup` and `pronto restore` for the SQLite database.
//!
//! A backup is taken while the server serves: `VACUUM INTO` copies one consistent snapshot (a
//! read transaction: commits that come after it are not in it, none is half in it) into a new
//! file, which is then checked (`PRAGMA integrity_check`, the migrations it has) before it gets
//! its final name — a backup that was cut short never looks like one.
//!
//! A restore needs the server stopped: `pronto serve` holds a lock file next to the database
//! (`<database>.lock`) for as long as it runs, and a restore refuses while anyone holds it. The
//! current database is kept beside the restored one (`<database>.antes-de-restaurar-<time>`), so
//! a wrong restore loses nothing either.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`), see `docs/DEPLOY.md`; `pronto
//! restore` runs `pg_restore` on such a dump and renews the identity like for SQLite.

use std::{
    fs::File,
    path::{Path, PathBuf},
};

use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};

use crate::{
    db::{Backend, Database},
    AppError,
};

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    /// Migrations applied in the copy (its schema version).
    pub migrations: i64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} bytes, {} migrations)",
            self.path.display(),
            self.bytes,
            self.migrations
        )
    }
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::Refused(message.into())
}

/// The database file of a `sqlite://` URL; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The file beside `path` whose name is `path`'s with `suffix` added (`pronto.db.lock`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Held by `pronto serve` while it runs; a restore refuses while it is held.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

impl ServingLock {
    /// Takes the lock of the SQLite database at `url` (nothing to lock for other databases).
    pub fn take(url: &str) -> Result<Option<Self>, AppError> {
        let Some(database) = sqlite_path(url) else {
            return Ok(None);
        };
        if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::create(with_suffix(&database, ".lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(_) => Err(refused(format!(
                "another pronto process is serving {}: one server per SQLite database",
                database.display()
            ))),
        }
    }
}

async fn open_file(path: &Path, read_only: bool) -> Result<sqlx::SqliteConnection, AppError> {
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .connect()
        .await?)
}

/// Checks a database file: intact, and with the project's schema; how many migrations it has.
async fn check(path: &Path) -> Result<i64, AppError> {
    let mut conn = open_file(path, true).await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    if verdict != "ok" {
        return Err(refused(format!("{} is damaged: {verdict}", path.display())));
    }
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .map_err(|_| refused(format!("{} is not a Pronto database", path.display())))?;
    conn.close().await?;
    Ok(migrations)
}

/// Copies the serving database into the new file `to`, consistently, while it serves.
pub async fn backup(db: &Database, to: &Path) -> Result<Summary, AppError> {
    if db.backend() != Backend::Sqlite {
        return Err(refused(
            "PostgreSQL is backed up with pg_dump (see docs/DEPLOY.md)",
        ));
    }
    if to.exists() {
        return Err(refused(format!(
            "{} already exists: a backup never overwrites a file",
            to.display()
        )));
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let target = partial
        .to_str()
        .ok_or_else(|| refused("the backup path must be valid UTF-8"))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(db.pool())
        .await?;
    let migrations = match check(&partial).await {
        Ok(n) => n,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, to)?;
    Ok(Summary {
        path: to.to_owned(),
        bytes: std::fs::metadata(to)?.len(),
        migrations,
    })
}

/// Puts the backup `from` in place of the database at `url`; every server on it must be
/// stopped. Returns where the replaced database was kept (SQLite; PostgreSQL's is replaced by
/// `pg_restore --clean`).
///
/// The restored database gets a new identity (`app_instance`): devices that pulled from the
/// replaced one see it at their next pull and pull everything again, since the positions they
/// saw past the backup are handed out anew; and they resend the ops it lacks (DESIGN §4 as
/// amended in docs/ARCHITECTURE.md, "Restores").
pub async fn restore(url: &str, from: &Path, now: &str) -> Result<Option<PathBuf>, AppError> {
    match sqlite_path(url) {
        Some(database) => restore_sqlite(url, &database, from, now).await,
        None if url.starts_with("postgres") => {
            restore_postgres(url, from).await?;
            Ok(None)
        }
        None => Err(refused(
            "restore works on a SQLite file or a PostgreSQL database",
        )),
    }
}

async fn restore_sqlite(
    url: &str,
    database: &Path,
    from: &Path,
    now: &str,
) -> Result<Option<PathBuf>, AppError> {
    check(from).await?;
    let _lock = ServingLock::take(url).map_err(|_| {
        refused(format!(
            "the server is running on {}: stop it before restoring",
            database.display()
        ))
    })?;
    let incoming = with_suffix(database, ".restoring");
    std::fs::copy(from, &incoming)?;
    let mut conn = open_file(&incoming, false).await?;
    sqlx::query("UPDATE app_instance SET instance_id = ? WHERE id = 1")
        .bind(new_instance())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    File::open(&incoming)?.sync_all()?;
    let kept = if database.exists() {
        let kept = with_suffix(
            database,
            &format!(".antes-de-restaurar-{}", now.replace(':', "-")),
        );
        std::fs::rename(database, &kept)?;
        for suffix in ["-wal", "-shm"] {
            let side = with_suffix(database, suffix);
            if side.exists() {
                std::fs::rename(&side, with_suffix(&kept, suffix))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, database)?;
    Ok(kept)
}

/// `pg_restore --clean` of a `pg_dump --format=custom` file, then the new identity. Nothing
/// tells a PostgreSQL database that no `pronto` uses it: stopping them is the operator's step.
async fn restore_postgres(url: &str, from: &Path) -> Result<(), AppError> {
    if !from.is_file() {
        return Err(refused(format!("{} is not a file", from.display())));
    }
    let listed = tokio::process::Command::new("pg_restore")
        .arg("--list")
        .arg(from)
        .output()
        .await
        .map_err(|e| {
            refused(format!(
                "pg_restore could not be run ({e}): install PostgreSQL's client tools"
            ))
        })?;
    if !listed.status.success() || !String::from_utf8_lossy(&listed.stdout).contains("app_instance")
    {
        return Err(refused(format!(
            "{} is not a pg_dump of a Pronto database",
            from.display()
        )));
    }
    let restored = tokio::process::Command::new("pg_restore")
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
        ])
        .arg(format!("--dbname={url}"))
        .arg(from)
        .output()
        .await?;
    if !restored.status.success() {
        return Err(refused(format!(
            "pg_restore failed: {}",
            String::from_utf8_lossy(&restored.stderr).trim()
        )));
    }
    let db = Database::connect(url).await?;
    let mut conn = db.pool().acquire().await?;
    sqlx::query("UPDATE app_instance SET instance_id = $1 WHERE id = 1")
        .bind(new_instance())
        .execute(&mut *conn)
        .await?;
    drop(conn);
    db.close().await;
    Ok(())
}

fn new_instance() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_file_is_read_from_the_url() {
        assert_eq!(
            sqlite_path("sqlite://data/pronto.db?mode=rwc"),
            Some(PathBuf::from("data/pronto.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x@y/z"), None);
    }
}
