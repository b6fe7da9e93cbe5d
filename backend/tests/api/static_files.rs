use crate::helpers::{spawn_app, HASHED_WASM, INDEX_HTML, WASM_BYTES};

#[tokio::test]
async fn hashed_wasm_is_served_as_application_wasm_with_immutable_caching() {
    let app = spawn_app().await;

    let response = app.get(&format!("/{HASHED_WASM}")).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/wasm");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), WASM_BYTES);
}

#[tokio::test]
async fn index_html_is_revalidated_and_carries_a_csp_hashing_its_inline_script() {
    let app = spawn_app().await;

    for path in ["/", "/index.html"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert!(csp.contains("'sha256-"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert_eq!(response.text().await.unwrap(), INDEX_HTML);
    }
}

#[tokio::test]
async fn service_worker_and_unhashed_files_are_revalidated() {
    let app = spawn_app().await;

    for path in ["/sw.js", "/manifest.webmanifest", "/icons/icon-192.png"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
    }
    let sw = app.get("/sw.js").await;
    assert!(
        sw.headers().get("last-modified").is_none(),
        "sw.js must be compared by bytes, never answered 304 by date"
    );
    assert!(sw.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
}

#[tokio::test]
async fn client_routes_get_index_html_without_caching() {
    let app = spawn_app().await;

    for path in ["/venta", "/sincronizacion/dashboard/", "/clientes/123"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        assert_eq!(response.text().await.unwrap(), INDEX_HTML, "{path}");
    }
}

#[tokio::test]
async fn a_missing_hashed_asset_is_never_pinned_as_immutable() {
    let app = spawn_app().await;

    let response = app.get("/pronto-frontend-ffffffffffffffff_bg.wasm").await;

    assert_eq!(response.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404_not_the_web_app() {
    let app = spawn_app().await;

    let response = app.get("/api/no-existe").await;

    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: pronto_shared::ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, "not_found");
    assert!(body.message.contains("/api/no-existe"), "{}", body.message);
}

#[tokio::test]
async fn precompressed_brotli_is_served_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let br_path = app
        .dir
        .path()
        .join("dist")
        .join(format!("{HASHED_WASM}.br"));
    std::fs::write(&br_path, b"brotli-bytes").unwrap();

    let response = app
        .client
        .get(app.url(&format!("/{HASHED_WASM}")))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(response.headers()["content-type"], "application/wasm");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"brotli-bytes");
}
