//! The access matrix: for each route × role × own/other store, the expected answer.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    fixtures::{client_for, product_input, seed, World},
    helpers::spawn_app,
};

/// A request to try; bodies are built per attempt so that creates never collide.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn get(path: String) -> Case {
    Case {
        method: Method::GET,
        path,
        body: None,
    }
}

fn send(method: Method, path: String, body: Value) -> Case {
    Case {
        method,
        path,
        body: Some(body),
    }
}

fn new_product(n: u64) -> Value {
    serde_json::to_value(product_input(n)).unwrap()
}

fn sale(world: &World) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "lineas": [{"producto_id": world.products[0], "cantidad": 1, "precio_unitario": 129_900}],
        "pagos": [{"metodo": "efectivo", "monto": 130_000}]
    })
}

fn customer() -> Value {
    json!({"nombre": "Cliente de prueba"})
}

/// Every case, and the status each of (cajero_a, gerente_a, admin, anonymous) must get.
fn matrix(world: &World, n: &mut u64, sale_b: Uuid) -> Vec<(Case, [u16; 4])> {
    let (a, b) = (world.store_a, world.store_b);
    let product = world.products[1];
    let mut next = || {
        *n += 1;
        *n
    };
    let product_edit = |n: u64| {
        let mut body = product_input(2);
        body.nombre = format!("Editado {n}");
        serde_json::to_value(body).unwrap()
    };
    vec![
        (get("/api/products?q=oxford".into()), [200, 200, 200, 401]),
        (
            get(format!("/api/products/{product}")),
            [200, 200, 200, 401],
        ),
        (
            send(
                Method::POST,
                "/api/products".into(),
                new_product(100 + next()),
            ),
            [403, 201, 201, 401],
        ),
        (
            send(
                Method::PUT,
                format!("/api/products/{product}"),
                product_edit(next()),
            ),
            [403, 200, 200, 401],
        ),
        (get("/api/customers?q=ana".into()), [200, 200, 200, 401]),
        (
            send(Method::POST, "/api/customers".into(), customer()),
            [201, 201, 201, 401],
        ),
        (
            send(
                Method::PUT,
                format!("/api/customers/{}", world.customer),
                json!({"nombre": format!("Ana López {}", next())}),
            ),
            [200, 200, 200, 401],
        ),
        (
            get(format!("/api/stock?tienda_id={a}")),
            [200, 200, 200, 401],
        ),
        (
            get(format!("/api/stock?tienda_id={b}")),
            [403, 403, 200, 401],
        ),
        (
            send(
                Method::POST,
                "/api/stock/movimientos".into(),
                json!({"producto_id": product, "delta": 5, "motivo": "recepcion"}),
            ),
            [403, 201, 201, 401],
        ),
        (
            send(Method::POST, "/api/sales".into(), sale(world)),
            [201, 201, 201, 401],
        ),
        (
            get(format!("/api/sales?tienda_id={a}")),
            [403, 200, 200, 401],
        ),
        (
            get(format!("/api/sales?tienda_id={b}")),
            [403, 403, 200, 401],
        ),
        (get(format!("/api/sales/{sale_b}")), [403, 403, 200, 401]),
        (
            send(
                Method::POST,
                "/api/devices".into(),
                json!({"nombre": "Caja"}),
            ),
            [403, 201, 201, 401],
        ),
        (
            send(
                Method::POST,
                "/api/devices".into(),
                json!({"nombre": "Caja", "tienda_id": b}),
            ),
            [403, 403, 201, 401],
        ),
        (get("/api/devices".into()), [403, 200, 200, 401]),
        (
            get(format!("/api/devices?tienda_id={b}")),
            [403, 403, 200, 401],
        ),
        (get("/api/stores".into()), [200, 200, 200, 401]),
        (get("/api/directorio".into()), [200, 200, 200, 401]),
        (get("/api/auth/me".into()), [200, 200, 200, 401]),
    ]
}

#[tokio::test]
async fn every_route_allows_and_denies_by_role_and_store() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero_b = client_for(&app, "cajero_b").await;
    let sale_b: Value = cajero_b
        .post(app.url("/api/sales"))
        .json(&sale(&world))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sale_b = Uuid::parse_str(sale_b["id"].as_str().unwrap()).unwrap();
    let clients = [
        ("cajero_a", client_for(&app, "cajero_a").await),
        ("gerente_a", client_for(&app, "gerente_a").await),
        ("admin", client_for(&app, "admin").await),
        ("anónimo", reqwest::Client::new()),
    ];

    let mut n = 0;
    let mut failures = Vec::new();
    for (who, (name, client)) in clients.iter().enumerate() {
        for (case, expected) in matrix(&world, &mut n, sale_b) {
            let mut request = client.request(case.method.clone(), app.url(&case.path));
            if let Some(body) = &case.body {
                request = request.json(body);
            }
            let status = request.send().await.unwrap().status();
            if status != StatusCode::from_u16(expected[who]).unwrap() {
                failures.push(format!(
                    "{name} {} {} → {status}, expected {}",
                    case.method, case.path, expected[who]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix mismatches:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_cashier_sells_only_in_their_own_store_whatever_the_body_says() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let cajero_a = client_for(&app, "cajero_a").await;
    let mut body = sale(&world);
    body["tienda_id"] = json!(world.store_b);

    let response = cajero_a
        .post(app.url("/api/sales"))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(
        response.status(),
        422,
        "a store in the body is an unknown field, never obeyed"
    );
    let ok: Value = cajero_a
        .post(app.url("/api/sales"))
        .json(&sale(&world))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["tienda_id"], json!(world.store_a));
}

#[tokio::test]
async fn a_manager_moves_stock_only_in_their_own_store() {
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let gerente_b = client_for(&app, "gerente_b").await;

    let level: Value = gerente_b
        .post(app.url("/api/stock/movimientos"))
        .json(&json!({"producto_id": world.products[0], "delta": -3, "motivo": "ajuste", "nota": "conteo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(level["tienda_id"], json!(world.store_b));
    assert_eq!(level["cantidad"], 7);
    let a: Value = client_for(&app, "gerente_a")
        .await
        .get(app.url(&format!("/api/stock?producto_id={}", world.products[0])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["items"][0]["cantidad"], 10, "store A untouched");
}

#[tokio::test]
async fn the_directory_names_only_what_the_person_may_see() {
    use pronto_shared::api::directory::Directory;
    let app = spawn_app().await;
    let world = seed(&app.db).await;
    let directory = |user: &'static str| {
        let app = &app;
        async move {
            client_for(app, user)
                .await
                .get(app.url("/api/directorio"))
                .send()
                .await
                .unwrap()
                .json::<Directory>()
                .await
                .unwrap()
        }
    };
    let manager = directory("gerente_a").await;
    assert_eq!(
        manager.tiendas.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![world.store_a]
    );
    assert!(!manager.personas.is_empty());
    assert!(manager
        .personas
        .iter()
        .all(|p| p.tienda_id == world.store_a));
    assert!(manager.personas.iter().all(|p| !p.nombre.is_empty()));
    let admin = directory("admin").await;
    assert_eq!(admin.tiendas.len(), 2);
    assert!(admin.personas.iter().any(|p| p.tienda_id == world.store_b));
}
