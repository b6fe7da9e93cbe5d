//! A small, known world for the API tests: two stores (A, B), one person of each role in A
//! plus a manager and a cashier in B, three products with stock in both stores, one customer.
//! Built through the same model functions the routes use.

use std::sync::OnceLock;

use pronto_backend::{
    auth::password,
    db::{self, Database},
    model::{customers, products, stock, stores, users, WriteAt},
};
use pronto_shared::{
    api::{auth::StoreRef, customers::CustomerInput, products::ProductInput},
    domain::Ean13,
    sync::Hlc,
    Role,
};
use uuid::Uuid;

use crate::helpers::TestApp;

pub const PASSWORD: &str = "Zapatos-2026!";

pub struct World {
    pub store_a: Uuid,
    pub store_b: Uuid,
    pub products: Vec<Uuid>,
    pub customer: Uuid,
}

/// (user name, role, in store A?)
pub const PEOPLE: [(&str, Role, bool); 5] = [
    ("admin", Role::Admin, true),
    ("gerente_a", Role::Gerente, true),
    ("cajero_a", Role::Cajero, true),
    ("gerente_b", Role::Gerente, false),
    ("cajero_b", Role::Cajero, false),
];

/// One argon2id hash for every fixture account: hashing is deliberately slow, and the tests
/// need many accounts, not many salts.
fn shared_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_blocking(PASSWORD).expect("hash"))
}

pub fn product_input(n: u64) -> ProductInput {
    ProductInput {
        id: None,
        sku: format!("TST-{n:04}"),
        codigo_barras: Ean13::from_first_12(750_999_000_000 + n)
            .expect("ean")
            .to_string(),
        nombre: format!("Oxford Prueba {n}"),
        marca: "Pronto".into(),
        modelo: "Oxford".into(),
        color: "Negro".into(),
        talla: 26.5,
        precio: 129_900,
        imagen: None,
        activo: true,
        version: None,
    }
}

pub async fn seed(db: &Database) -> World {
    let now = "2026-11-28T00:00:00.000Z";
    let mut tx = db.begin_write().await.expect("tx");
    let store_a = Uuid::now_v7();
    let store_b = Uuid::now_v7();
    for (id, code, name) in [(store_a, "TA", "Tienda A"), (store_b, "TB", "Tienda B")] {
        stores::insert(
            &mut tx,
            &StoreRef {
                id,
                codigo: code.into(),
                nombre: name.into(),
                zona_horaria: pronto_shared::api::auth::DEFAULT_ZONE.into(),
            },
            now,
        )
        .await
        .expect("store");
    }
    for (name, role, in_a) in PEOPLE {
        let user = users::NewUser {
            id: Uuid::now_v7(),
            username: name,
            display_name: name,
            password_hash: shared_hash(),
            role,
            store_id: if in_a { store_a } else { store_b },
        };
        users::insert(&mut tx, &user, now).await.expect("user");
    }
    let mut product_ids = Vec::new();
    for n in 1..=3 {
        let id = Uuid::now_v7();
        let valid = product_input(n).validate().expect("valid product");
        let seq = db::next_change_seq(&mut tx).await.expect("seq");
        products::insert(
            &mut tx,
            id,
            &valid,
            WriteAt {
                seq,
                at: now,
                hlc: &Hlc::zero("fixture"),
            },
        )
        .await
        .expect("product");
        for store in [store_a, store_b] {
            stock::seed(&mut tx, store, id, 10, seq, now)
                .await
                .expect("stock");
        }
        product_ids.push(id);
    }
    let customer = Uuid::now_v7();
    let input = CustomerInput {
        id: None,
        nombre: "Ana López".into(),
        telefono: Some("5512345678".into()),
        email: None,
        rfc: None,
        notas: None,
        version: None,
    };
    let seq = db::next_change_seq(&mut tx).await.expect("seq");
    customers::insert(
        &mut tx,
        customer,
        &input.validate().expect("valid"),
        0,
        WriteAt {
            seq,
            at: now,
            hlc: &Hlc::zero("fixture"),
        },
    )
    .await
    .expect("customer");
    tx.commit().await.expect("commit");
    World {
        store_a,
        store_b,
        products: product_ids,
        customer,
    }
}

/// A client that sends the session cookie of `username` (signed in with [`PASSWORD`]).
pub async fn client_for(app: &TestApp, username: &str) -> reqwest::Client {
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({"usuario": username, "contrasena": PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(response.status(), 200, "login of {username}");
    let cookie = session_cookie(&response).expect("session cookie");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        cookie.parse().expect("cookie header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// `GET url` as `client` and decode the JSON answer.
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: String) -> T {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json body")
}

/// `name=value` of the session cookie a response set.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pronto_sesion="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Row counts of every table a request could touch, and the change counter: equal before
/// and after means the request changed nothing.
pub async fn fingerprint(db: &Database) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in [
        "stores",
        "users",
        "devices",
        "products",
        "product_words",
        "customers",
        "stock",
        "stock_movements",
        "sales",
        "sale_lines",
        "sale_payments",
        "folio_counters",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .expect("count");
        out.push((table.to_owned(), count));
    }
    let seq: i64 = sqlx::query_scalar("SELECT value FROM change_counter WHERE id = 1")
        .fetch_one(db.pool())
        .await
        .expect("counter");
    out.push(("change_counter".into(), seq));
    let sum: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock")
            .fetch_one(db.pool())
            .await
            .expect("stock sum");
    out.push(("stock_sum".into(), sum));
    out
}
