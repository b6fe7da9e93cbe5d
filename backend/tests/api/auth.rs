use pronto_backend::auth::AuthConfig;
use pronto_shared::{api::auth::Profile, ErrorBody, Role};
use serde_json::json;

use crate::{
    fixtures::{client_for, seed, session_cookie, PASSWORD},
    helpers::{spawn_app, spawn_app_with_auth, TestApp},
};

async fn login(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .json(&json!({"usuario": user, "contrasena": password}))
        .send()
        .await
        .unwrap()
}

async fn me_with(app: &TestApp, cookie: &str) -> reqwest::StatusCode {
    app.client
        .get(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn login_sets_an_http_only_strict_cookie_and_me_returns_the_profile() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;

    let response = login(&app, "  Cajero_A ", PASSWORD).await;

    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    let cookie = session_cookie(&response).unwrap();
    let token = cookie.trim_start_matches("pronto_sesion=");
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let profile: Profile = response.json().await.unwrap();
    assert_eq!(profile.usuario, "cajero_a");
    assert_eq!(profile.rol, Role::Cajero);
    assert_eq!(profile.tienda.id, world.store_a);

    let me: Profile = app
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, profile);
}

#[tokio::test]
async fn the_stored_session_is_a_hash_never_the_token() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let response = login(&app, "cajero_a", PASSWORD).await;
    let cookie = session_cookie(&response).unwrap();
    let token = cookie.trim_start_matches("pronto_sesion=").to_owned();

    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(app.db.pool())
        .await
        .unwrap();

    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert_eq!(stored[0], pronto_backend::auth::session::token_hash(&token));
}

#[tokio::test]
async fn https_behind_a_proxy_gets_a_secure_cookie() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"usuario": "cajero_a", "contrasena": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    seed(&app.db).await;

    let wrong = login(&app, "cajero_a", "nope").await;
    let unknown = login(&app, "nadie", PASSWORD).await;

    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert!(session_cookie(&wrong).is_none());
    let a: ErrorBody = wrong.json().await.unwrap();
    let b: ErrorBody = unknown.json().await.unwrap();
    assert_eq!(a, b, "no hint which part was wrong");
    assert_eq!(a.message, "Usuario o contraseña incorrectos.");
}

#[tokio::test]
async fn every_login_gets_a_new_token_and_logout_kills_only_its_own() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let first = session_cookie(&login(&app, "gerente_a", PASSWORD).await).unwrap();
    let second = session_cookie(&login(&app, "gerente_a", PASSWORD).await).unwrap();
    assert_ne!(first, second);

    let out = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("cookie", &first)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(me_with(&app, &first).await, 401);
    assert_eq!(me_with(&app, &second).await, 200);
}

#[tokio::test]
async fn no_cookie_or_a_forged_one_is_401() {
    let app = spawn_app().await;
    seed(&app.db).await;
    assert_eq!(app.get("/api/auth/me").await.status(), 401);
    assert_eq!(me_with(&app, "pronto_sesion=forjado123").await, 401);
}

#[tokio::test]
async fn a_session_idle_longer_than_the_limit_expires() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let cookie = session_cookie(&login(&app, "cajero_a", PASSWORD).await).unwrap();

    app.clock.advance_ms(8 * 3600 * 1000 - 1000);
    assert_eq!(
        me_with(&app, &cookie).await,
        200,
        "still inside the idle limit"
    );
    app.clock.advance_ms(8 * 3600 * 1000 + 1000);

    assert_eq!(me_with(&app, &cookie).await, 401);
}

#[tokio::test]
async fn a_busy_session_still_ends_at_the_absolute_limit() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let cookie = session_cookie(&login(&app, "cajero_a", PASSWORD).await).unwrap();

    for _ in 0..23 {
        app.clock.advance_ms(3600 * 1000);
        assert_eq!(me_with(&app, &cookie).await, 200);
    }
    app.clock.advance_ms(3600 * 1000 + 1000);

    assert_eq!(me_with(&app, &cookie).await, 401);
}

#[tokio::test]
async fn the_eleventh_rapid_failure_is_refused_without_checking_the_password() {
    let app = spawn_app().await;
    seed(&app.db).await;
    for attempt in 1..=10 {
        assert_eq!(
            login(&app, "cajero_a", "mal").await.status(),
            401,
            "attempt {attempt}"
        );
    }

    // The right password now: refusing it proves the password was not even checked.
    let refused = login(&app, "cajero_a", PASSWORD).await;

    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(session_cookie(&refused).is_none());
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.code, "too_many_attempts");
    // Another account on the same address is not locked out.
    assert_eq!(login(&app, "gerente_a", PASSWORD).await.status(), 200);
    // After the window, the account can sign in again.
    app.clock.advance_ms(15 * 60 * 1000 + 1000);
    assert_eq!(login(&app, "cajero_a", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address_out() {
    let app = spawn_app().await;
    seed(&app.db).await;
    for i in 0..50 {
        assert_eq!(
            login(&app, &format!("inventado{i}"), "x").await.status(),
            401
        );
    }

    assert_eq!(login(&app, "gerente_b", PASSWORD).await.status(), 429);
}

async fn login_from(app: &TestApp, user: &str, password: &str, forwarded: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"usuario": user, "contrasena": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_forwarded_address_from_a_peer_that_is_not_a_trusted_proxy_cannot_dodge_the_limit() {
    let app = spawn_app().await;
    seed(&app.db).await;
    for i in 0..50 {
        let spoofed = format!("203.0.113.{i}");
        assert_eq!(
            login_from(&app, &format!("inventado{i}"), "x", &spoofed).await,
            401
        );
    }

    assert_eq!(
        login_from(&app, "gerente_b", PASSWORD, "198.51.100.2").await,
        429
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_it_forwards_has_its_own_limit() {
    let app = spawn_app_with_auth(AuthConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..AuthConfig::default()
    })
    .await;
    seed(&app.db).await;
    // The client wrote its own first entry; the proxy appended the address it saw.
    for i in 0..50 {
        let chain = format!("10.{i}.0.1, 203.0.113.7");
        assert_eq!(
            login_from(&app, &format!("inventado{i}"), "x", &chain).await,
            401
        );
    }

    assert_eq!(
        login_from(&app, "gerente_b", PASSWORD, "203.0.113.7").await,
        429
    );
    // Another shopper behind the same proxy still signs in.
    assert_eq!(
        login_from(&app, "gerente_b", PASSWORD, "198.51.100.2").await,
        200
    );
}

#[tokio::test]
async fn a_deactivated_account_loses_its_session_and_cannot_sign_in() {
    let app = spawn_app().await;
    seed(&app.db).await;
    let client = client_for(&app, "cajero_b").await;
    let me: Profile = client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let mut conn = app.db.pool().acquire().await.unwrap();
    pronto_backend::model::users::set_active(&mut conn, me.id, false)
        .await
        .unwrap();

    assert_eq!(
        client
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(login(&app, "cajero_b", PASSWORD).await.status(), 401);
}
