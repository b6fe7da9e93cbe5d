//! `/api/auth`: sign in, sign out, who am I.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use pronto_shared::{
    api::{
        approval::{validate_pin, PinInput},
        auth::{LoginRequest, Profile},
    },
    domain::FieldErrors,
    Action,
};

use crate::{
    auth::{password, rate_limit, session, CurrentUser},
    extract::{AppJson, ClientIp},
    model::{approvals, users},
    AppError, AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/pin", axum::routing::put(set_pin))
}

/// A manager (or admin) sets their discount-approval PIN, confirming with their password. The
/// password check counts against the same limits as sign-in: a stolen session cookie must not
/// become an unlimited password oracle.
#[utoipa::path(
    put,
    path = "/api/auth/pin",
    tag = "sesion",
    request_body = PinInput,
    responses((status = 204, description = "PIN guardado")),
)]
async fn set_pin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    AppJson(body): AppJson<PinInput>,
) -> Result<StatusCode, AppError> {
    user.require(Action::ApproveDiscount(user.store_id()))?;
    if let Err(err) = validate_pin(&body.pin) {
        let mut fields = FieldErrors::new();
        fields.add("pin", err);
        return Err(fields.into());
    }
    let username = user.profile.usuario.to_lowercase();
    let mut conn = state.db.pool().acquire().await?;
    let attempt = rate_limit::begin(&mut conn, &username, &ip, state.clock.now_ms()).await?;
    let account = users::credentials(&mut conn, &user.profile.usuario).await?;
    drop(conn);
    let phc = account.map(|a| a.password_hash).unwrap_or_default();
    let (matches, attempt) = check_password(&state, attempt, body.contrasena, phc).await?;
    if !matches {
        let mut fields = FieldErrors::new();
        fields.add("contrasena", "La contraseña no es correcta.");
        return Err(fields.into());
    }
    let mut conn = state.db.pool().acquire().await?;
    rate_limit::succeeded(&mut conn, attempt, &username).await?;
    approvals::set_pin(&mut conn, user.id(), body.pin).await?;
    tracing::info!(user = %user.id(), "approval PIN set");
    Ok(StatusCode::NO_CONTENT)
}

/// Checks `password` against `phc` in the bounded hashing line. A try the line was too busy
/// for is taken back (it does not count as a failure) and its 503 passed on.
async fn check_password(
    state: &AppState,
    attempt: rate_limit::Attempt,
    password: String,
    phc: String,
) -> Result<(bool, rate_limit::Attempt), AppError> {
    match password::verify(&state.hashing, password, phc).await {
        Ok(matches) => Ok((matches, attempt)),
        Err(busy) => {
            let mut conn = state.db.pool().acquire().await?;
            rate_limit::abandon(&mut conn, attempt).await?;
            Err(busy)
        }
    }
}

/// A real argon2id hash of nothing anyone knows: an unknown user name is checked against it,
/// so it costs the same time as a known one and timing does not reveal which names exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| password::hash_blocking("pronto-decoy-password").unwrap_or_default())
}

#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "sesion",
    request_body = LoginRequest,
    responses((status = 200, description = "Sesión abierta: la cookie `pronto_sesion` va en `Set-Cookie`", body = Profile)),
    security(()),
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Response, AppError> {
    let username = body.usuario.trim().to_lowercase();
    let now = state.clock.now_ms();
    let mut conn = state.db.pool().acquire().await?;
    let attempt = rate_limit::begin(&mut conn, &username, &ip, now).await?;
    let account = users::credentials(&mut conn, &username).await?;
    // No pooled connection is held while argon2id runs (a quarter second of CPU).
    drop(conn);
    let (phc, usable) = match &account {
        Some(c) => (c.password_hash.clone(), c.active),
        None => (decoy_hash().to_owned(), false),
    };
    let (matches, attempt) = check_password(&state, attempt, body.contrasena, phc).await?;
    let Some(account) = account.filter(|_| matches && usable) else {
        tracing::info!(%ip, "failed sign-in");
        crate::metrics::sign_in_failed();
        return Err(AppError::InvalidCredentials);
    };
    let mut conn = state.db.pool().acquire().await?;
    rate_limit::succeeded(&mut conn, attempt, &username).await?;

    let (token, hash) = session::new_token();
    session::insert(&mut conn, &hash, &account.id, now).await?;
    drop(conn);

    // Read the profile back through the same path every later request takes.
    let user = CurrentUser::from_token_hash(&state, hash).await?;

    let secure = state.auth.secure_cookies || session::is_https(&headers);
    let cookie = session::set_cookie(&token, state.auth.absolute_timeout.as_secs(), secure);
    Ok(([(header::SET_COOKIE, cookie)], Json(user.profile)).into_response())
}

/// Ends the session (if any) and clears the cookie. Always 204: signing out twice is fine.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "sesion",
    responses((status = 204, description = "Sesión cerrada (también sin sesión)")),
    security(()),
)]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = session::token_from_headers(&headers) {
        let mut conn = state.db.pool().acquire().await?;
        session::delete(&mut conn, &session::token_hash(&token)).await?;
    }
    let secure = state.auth.secure_cookies || session::is_https(&headers);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session::clear_cookie(secure))],
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "sesion",
    responses((status = 200, description = "La persona de la sesión", body = Profile)),
)]
async fn me(user: CurrentUser) -> Json<Profile> {
    Json(user.profile)
}
