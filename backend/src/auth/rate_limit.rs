//! Sign-in throttling, kept in the database so that several server processes (PostgreSQL
//! deployments) share one count.
//!
//! Within a sliding window of 15 minutes, an account with 10 failures, or an address with 50,
//! is refused at once — without even checking the password, so guessing gains nothing — until
//! the oldest failure leaves the window.

use sqlx::AnyConnection;

use crate::AppError;

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 10;
pub const MAX_FAILURES_PER_IP: i64 = 50;

/// `Err(TooManyAttempts)` when this account or address must wait.
pub async fn check(
    conn: &mut AnyConnection,
    username: &str,
    ip: &str,
    now_ms: i64,
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
        if count >= max {
            let free_at = oldest.unwrap_or(now_ms) + WINDOW_MS;
            let retry_after_secs = u64::try_from((free_at - now_ms).max(1000) / 1000).unwrap_or(60);
            return Err(AppError::TooManyAttempts { retry_after_secs });
        }
    }
    Ok(())
}

pub async fn record_failure(
    conn: &mut AnyConnection,
    username: &str,
    ip: &str,
    now_ms: i64,
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO login_failures (username, ip, at_ms) VALUES ($1, $2, $3)")
        .bind(username)
        .bind(ip)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    // Keep the table small: drop what can no longer count.
    sqlx::query("DELETE FROM login_failures WHERE at_ms <= $1")
        .bind(now_ms - WINDOW_MS)
        .execute(conn)
        .await?;
    Ok(())
}

/// A successful sign-in forgives the account's earlier failures (not the address's).
pub async fn clear_account(conn: &mut AnyConnection, username: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(username)
        .execute(conn)
        .await?;
    Ok(())
}
