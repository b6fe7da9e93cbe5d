//! A sign-in rush (issue 16): hashing is bounded, so 200 simultaneous sign-ins answer at once
//! — a password check, or 503 with `Retry-After` when the line is full — never a pool timeout,
//! and the server keeps serving everyone else meanwhile.

use futures_util::future::join_all;
use pronto_backend::auth::AuthConfig;
use serde_json::json;

use crate::{
    fixtures::{client_for, seed, PASSWORD},
    helpers::spawn_app_with_auth,
};

#[tokio::test]
async fn two_hundred_simultaneous_sign_ins_get_an_answer_or_a_retry_and_nothing_else_waits() {
    // Each try from its own client address (behind a trusted proxy), so the per-address limit
    // does not decide the outcome.
    let app = spawn_app_with_auth(AuthConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
        ..AuthConfig::default()
    })
    .await;
    let _world = seed(&app.db).await;
    let reader = client_for(&app, "gerente_a").await;
    let tries = (0..200).map(|n| {
        app.client
            .post(app.url("/api/auth/login"))
            .header(
                "x-forwarded-for",
                format!("10.1.{}.{}", n / 250, n % 250 + 1),
            )
            .json(&json!({"usuario": format!("nadie{n}"), "contrasena": "adivina"}))
            .send()
    });
    let during = async {
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let response = reader
                .get(app.url("/api/products?q=oxford"))
                .send()
                .await
                .expect("read");
            statuses.push(response.status().as_u16());
        }
        statuses
    };
    let (answers, reads) = tokio::join!(join_all(tries), during);
    assert!(
        reads.iter().all(|&s| s == 200),
        "reads during the rush: {reads:?}"
    );
    let mut busy = 0;
    for answer in answers {
        let answer = answer.expect("answered");
        let status = answer.status().as_u16();
        match status {
            401 => {}
            503 => {
                busy += 1;
                assert!(
                    answer.headers().contains_key("retry-after"),
                    "503 says when"
                );
            }
            other => panic!("a sign-in answered {other}"),
        }
    }
    println!("sign-in rush: {} checked, {busy} told to retry", 200 - busy);
    assert!(busy < 200, "some tries were checked");
    let after = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", "10.9.9.9")
        .json(&json!({"usuario": "cajero_a", "contrasena": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(after.status(), 200);
}
