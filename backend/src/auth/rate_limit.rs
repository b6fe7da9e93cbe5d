//! Sign-in throttling, kept in the database so that several server processes (PostgreSQL
//! deployments) share one count.
//!
//! Within a sliding window of 15 minutes, an account with 10 failures, or an address with 50,
//! is refused at once — without even checking the password, so guessing gains nothing — until
//! the oldest failure leaves the window.
//!
//! Concurrent tries cannot slip past the count: each try is written down *before* its
//! password is checked ([`begin`]) and counts itself, so of 30 simultaneous wrong passwords
//! only those among the first 10 written get a password check. A success takes its own entry
//! back and forgives the account ([`succeeded`]); a failure leaves it.

use sqlx::AnyConnection;

use crate::AppError;

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
pub const MAX_FAILURES_PER_IP: i64 = 50;

/// A sign-in try under way, counted as a failure unless it [`succeeded`].
#[derive(Debug)]
pub struct Attempt {
    id: i64,
}

/// Writes the try down, then counts it with the window's others; `Err(TooManyAttempts)` (and
/// the try taken back) when this account or address must wait.
pub async fn begin(
    conn: &mut AnyConnection,
    username: &str,
    ip: &str,
    now_ms: i64,
) -> Result<Attempt, AppError> {
    // Keep the table small: drop what can no longer count.
    sqlx::query("DELETE FROM login_failures WHERE at_ms <= $1")
        .bind(now_ms - WINDOW_MS)
        .execute(&mut *conn)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (username, ip, at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(username)
    .bind(ip)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?;
    let attempt = Attempt { id };
    if let Err(refused) = check(conn, username, ip, now_ms, 1).await {
        take_back(conn, &attempt).await?;
        return Err(refused);
    }
    Ok(attempt)
}

/// The password was right: the try does not count, and the account's failures are forgiven.
pub async fn succeeded(
    conn: &mut AnyConnection,
    attempt: Attempt,
    username: &str,
) -> Result<(), AppError> {
    take_back(conn, &attempt).await?;
    clear_account(conn, username).await
}

/// The try ended before its password was checked (the server was too busy): it does not count.
pub async fn abandon(conn: &mut AnyConnection, attempt: Attempt) -> Result<(), AppError> {
    take_back(conn, &attempt).await
}

async fn take_back(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(attempt.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// `Err(TooManyAttempts)` when this account or address has more than its failures in the
/// window, `own` of them being the caller's try under way.
async fn check(
    conn: &mut AnyConnection,
    username: &str,
    ip: &str,
    now_ms: i64,
    own: i64,
) -> Result<(), AppError> {
    let since = now_ms - WINDOW_MS;
    for (column, key, max) in [
        ("username", username, MAX_FAILURES_PER_ACCOUNT),
        ("ip", ip, MAX_FAILURES_PER_IP),
    ] {
        // `column` is one of two literals above, never input.
        let sql = format!(
            "SELECT COUNT(*), MIN(at_ms) FROM login_failures WHERE {column} = $1 AND at_ms > $2"
        );
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(&sql)
            .bind(key)
            .bind(since)
            .fetch_one(&mut *conn)
            .await?;
        if count - own >= max {
            let free_at = oldest.unwrap_or(now_ms) + WINDOW_MS;
            let retry_after_secs = u64::try_from((free_at - now_ms).max(1000) / 1000).unwrap_or(60);
            return Err(AppError::TooManyAttempts { retry_after_secs });
        }
    }
    Ok(())
}

/// A successful sign-in forgives the account's earlier failures (not the address's).
async fn clear_account(conn: &mut AnyConnection, username: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(username)
        .execute(conn)
        .await?;
    Ok(())
}
