//! Opaque session tokens. The browser holds 256 random bits in an `HttpOnly; SameSite=Strict`
//! cookie; the database holds only their SHA-256, so a leaked database backup opens no session.

use axum::http::{header, HeaderMap};
use base64::Engine;
use rand::RngCore;
use sqlx::AnyConnection;

use crate::AppError;

pub const COOKIE_NAME: &str = "pronto_sesion";

/// A new random token (32 bytes, base64url) and the hash to store.
pub fn new_token() -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// Hex SHA-256 of a token, the key of the `sessions` table.
pub fn token_hash(token: &str) -> String {
    pronto_shared::sync::canonical::sha256_hex(token.as_bytes())
}

/// The session token from the request's `Cookie` header(s), if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// Whether the request reached us over https (directly or via a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` value that installs `token` for `max_age_secs`.
pub fn set_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

/// `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms) VALUES ($1, $2, $3, $3)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, token_hash: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_unique_and_stored_only_as_hash() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes in unpadded base64url");
        assert_eq!(hash_a.len(), 64);
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.contains(&a));
    }

    #[test]
    fn cookie_is_http_only_strict_and_secure_only_when_asked() {
        let cookie = set_cookie("abc", 60, false);
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(set_cookie("abc", 60, true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn token_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "tema=oscuro; pronto_sesion=tok123 ; x=y".parse().unwrap(),
        );
        assert_eq!(token_from_headers(&headers).as_deref(), Some("tok123"));
        headers.insert(header::COOKIE, "pronto_sesion=".parse().unwrap());
        assert_eq!(token_from_headers(&headers), None);
    }
}
