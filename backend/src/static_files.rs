//! Serving the built web app (Trunk's `dist/`).
//!
//! Caching rules, chosen so a store device never runs a mix of two releases:
//! - files whose name carries Trunk's content hash (`app-<16 hex>.wasm`) never change, so they
//!   are cached for a year and marked immutable;
//! - `index.html` and `sw.js` name those hashed files, so they are always revalidated
//!   (`no-cache`), as is everything else without a hash (icons, manifest);
//! - any other path outside `/api` is a client route and gets `index.html`.
//!
//! `index.html` is served by [`index_html`], which also sets the Content-Security-Policy: the
//! only inline script is Trunk's loader, allowed by its SHA-256, computed from the file as
//! served so a rebuild never leaves a stale hash behind.

use std::path::Path;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use crate::{AppError, AppState};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Router for every non-`/api` path: files from `dist`, else `index.html`.
pub fn router(state: &AppState) -> Router<AppState> {
    let files = ServeDir::new(state.dist.as_ref())
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true);
    Router::new()
        .route("/", get(index_html))
        .route("/index.html", get(index_html))
        .fallback_service(files.fallback(get(index_html).with_state(state.clone())))
        .layer(middleware::from_fn(cache_headers))
}

/// `index.html` with no-cache and a CSP that allows exactly its own inline scripts.
pub async fn index_html(State(state): State<AppState>) -> Result<Response, AppError> {
    let path = state.dist.join("index.html");
    let html = match tokio::fs::read_to_string(&path).await {
        Ok(html) => html,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(missing_build(&state.dist));
        }
        Err(err) => return Err(err.into()),
    };
    let csp = content_security_policy(&html);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok((headers, html).into_response())
}

/// A page that says what to do, instead of a bare 404, when the front end was never built.
fn missing_build(dist: &Path) -> Response {
    tracing::warn!(dist = %dist.display(), "index.html missing");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CACHE_CONTROL, REVALIDATE)],
        "Pronto POS: the web app is not built. Run `trunk build --release` and restart.",
    )
        .into_response()
}

/// Builds the policy. `'wasm-unsafe-eval'` lets the page compile its WebAssembly; nothing
/// allows `eval` of strings.
pub fn content_security_policy(html: &str) -> String {
    let hashes: String = inline_scripts(html)
        .map(|body| {
            let digest = Sha256::digest(body.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
         manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Bodies of `<script>` elements without a `src` attribute, as the browser hashes them.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = rest.find("<script")?;
        let after_tag = &rest[start..];
        let open_end = after_tag.find('>')?;
        let open_tag = &after_tag[..open_end];
        let body_and_more = &after_tag[open_end + 1..];
        let close = body_and_more.find("</script>")?;
        let body = &body_and_more[..close];
        rest = &body_and_more[close + "</script>".len()..];
        if !open_tag.contains(" src=") {
            return Some(body);
        }
    })
}

/// Sets `Cache-Control` by what was actually served: immutable only for a hashed file that
/// exists (a missing hashed name falls back to `index.html`, which must not be pinned).
async fn cache_headers(request: Request, next: Next) -> Response<Body> {
    let hashed = is_hashed_asset(request.uri().path());
    let service_worker = request.uri().path() == "/sw.js";
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let value = if hashed && response.status() == StatusCode::OK && !is_html {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if service_worker {
        // Browsers decide "new release" by comparing sw.js bytes. A Last-Modified with
        // one-second resolution would let a release published within the same second answer
        // 304 to the update check, and the device would keep the old release.
        headers.remove(header::LAST_MODIFIED);
    }
    response
}

/// Trunk names hashed outputs `stem-<hex>[_bg].ext`, the hex being a 64-bit hash printed
/// without leading zeros (so usually 16 digits, sometimes fewer).
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    (8..=16).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised_and_plain_names_are_not() {
        assert!(is_hashed_asset("/pronto-frontend-4f3a9c0d1e2b7a65_bg.wasm"));
        assert!(is_hashed_asset("/pronto-frontend-4f3a9c0d1e2b7a65.js"));
        assert!(is_hashed_asset("/main-0123456789abcdef.css"));
        assert!(is_hashed_asset("/pronto-frontend-7c9cdd0ef6a8632_bg.wasm"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/icons/icon-192.png"));
        assert!(!is_hashed_asset("/ventas/nueva"));
        assert!(!is_hashed_asset("/app-0123456789ABCDEF.js"));
        assert!(!is_hashed_asset("/zapato-cafe.png"));
    }

    #[test]
    fn csp_allows_exactly_the_inline_scripts_by_hash() {
        let html =
            r#"<head><script src="/x.js"></script><script type="module">init()</script></head>"#;
        let csp = content_security_policy(html);
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("'unsafe-eval'"));
    }
}
