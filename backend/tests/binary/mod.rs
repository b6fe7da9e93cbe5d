//! The real `pronto` binary for the tests that run it (chaos, restore): the process on a fixed
//! port and database, people signed in over HTTP, and tills — the client sync engine over
//! HTTP with memory storage and their own signing key.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use pronto_shared::sync::{
    config::{EXISTENCIA, VENTA},
    engine::{Identity, LocalChange, SyncEngine, Transport, TransportError},
    memory::MemoryStorage,
    signing::KeySigner,
    OpKind, PullReply, PushReply, PushRequest,
};
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

pub struct Server {
    pub addr: SocketAddr,
    pub db_url: String,
    pub dist: std::path::PathBuf,
    pub child: Arc<Mutex<Option<Child>>>,
}

impl Server {
    pub fn start(&self, demo: bool) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pronto"));
        command
            .args(["serve", "--bind", &self.addr.to_string()])
            .args(["--database-url", &self.db_url])
            .arg("--dist")
            .arg(&self.dist)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if demo {
            command.arg("--demo");
        }
        let mut child = command.spawn().expect("pronto starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("pronto listening on") => break,
                Some(Ok(_)) => continue,
                other => panic!("pronto did not start: {other:?}"),
            }
        }
        *self.child.lock().expect("lock") = Some(child);
    }

    /// SIGKILL: no shutdown, no flush, whatever the server was doing.
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A signed-in person: their client (which does not follow the server's restarts: the cookie
/// is all it keeps) and session cookie.
#[derive(Clone)]
pub struct Person {
    pub id: Uuid,
    pub store: Uuid,
    pub cookie: String,
}

pub async fn sign_in(
    server: &Server,
    http: &reqwest::Client,
    user: &str,
    password: &str,
) -> Person {
    let response = http
        .post(server.url("/api/auth/login"))
        .json(&json!({"usuario": user, "contrasena": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200, "{user} signs in");
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("pronto_sesion="))
        })
        .expect("session cookie")
        .to_owned();
    let me: Value = response.json().await.expect("profile");
    Person {
        id: Uuid::parse_str(me["id"].as_str().expect("id")).expect("uuid"),
        store: Uuid::parse_str(me["tienda"]["id"].as_str().expect("store")).expect("uuid"),
        cookie,
    }
}

pub struct HttpTransport {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub device: Uuid,
    /// A link too slow for pushes of more ops than this: they time out before their request
    /// is through (the server never gets them).
    pub slow_link: Option<usize>,
    /// Pushes the slow link let time out.
    pub timed_out: std::cell::Cell<usize>,
    /// Pushes waiting for their answer now, and the most there ever were at once.
    pub in_flight: std::cell::Cell<usize>,
    pub most_in_flight: std::cell::Cell<usize>,
}

impl Transport for HttpTransport {
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError> {
        if self.slow_link.is_some_and(|most| request.ops.len() > most) {
            self.timed_out.set(self.timed_out.get() + 1);
            return Err(TransportError::Unreachable);
        }
        let request = self
            .http
            .post(format!("{}/api/sync/push", self.base))
            .json(&request);
        self.in_flight.set(self.in_flight.get() + 1);
        self.most_in_flight
            .set(self.most_in_flight.get().max(self.in_flight.get()));
        // Counted out when answered or let go (the future dropped).
        let _flight = counted_out(&self.in_flight);
        self.answer(request).await
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        let request = self.http.get(format!(
            "{}/api/sync/pull?dispositivo={}&cursor={cursor}&limit={limit}",
            self.base, self.device
        ));
        self.answer(request).await
    }
}

impl HttpTransport {
    /// Sends `request` with the session cookie: the JSON of a 200, else why not.
    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, TransportError> {
        let response = request
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .map_err(|_| TransportError::Unreachable)?;
        if response.status() != 200 {
            return Err(TransportError::Status(response.status().as_u16()));
        }
        response
            .json()
            .await
            .map_err(|_| TransportError::Unreachable)
    }
}

pub struct Till {
    pub engine: SyncEngine<MemoryStorage, HttpTransport>,
    pub signer: KeySigner,
    pub cookie: String,
    pub store: Uuid,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn fields(value: Value) -> BTreeMap<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// A sale `id` of one pair of `product` at its catalog `price`, paid in full by `method`.
pub fn one_pair(id: Uuid, product: Uuid, price: i64, method: &str) -> LocalChange {
    LocalChange {
        model: VENTA.into(),
        entity_id: id,
        kind: OpKind::Sale,
        base_version: None,
        fields: fields(json!({
            "id": id,
            "lineas": [{"producto_id": product, "cantidad": 1, "precio_unitario": price}],
            "pagos": [{"metodo": method, "monto": price}],
        })),
        priority: 100,
    }
}

pub async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

pub async fn stock_of(pool: &sqlx::SqlitePool, store: Uuid) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT product_id, quantity FROM stock WHERE store_id = ?")
        .bind(store.to_string())
        .fetch_all(pool)
        .await
        .expect("stock")
        .into_iter()
        .collect()
}

impl Server {
    /// A server on a free port over the SQLite file `db` (a `dist` that does not exist: no
    /// web app is served), not started.
    pub fn new(dir: &std::path::Path, db: &str) -> Self {
        Self {
            addr: free_port(),
            db_url: format!("sqlite://{}", dir.join(db).display()),
            dist: dir.join("dist"),
            child: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `pronto ARGS --database-url <this server's>` to completion; panics unless it
    /// succeeds, and returns what it printed.
    pub fn command(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_pronto"))
            .args(args)
            .args(["--database-url", &self.db_url])
            .env("RUST_LOG", "warn")
            .output()
            .expect("pronto runs");
        assert!(
            output.status.success(),
            "pronto {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A till of `manager`'s store registered by them, signed in by `user`, whose new key it
/// registers; synced once (it has the catalog).
pub async fn register_till(
    server: &Server,
    http: &reqwest::Client,
    manager: &Person,
    name: &str,
    (user, password): (&str, &str),
    rng: &mut impl Rng,
) -> Till {
    let device: Value = http
        .post(server.url("/api/devices"))
        .header(reqwest::header::COOKIE, &manager.cookie)
        .json(&json!({"nombre": name}))
        .send()
        .await
        .expect("device")
        .json()
        .await
        .expect("device json");
    let device = Uuid::parse_str(device["id"].as_str().expect("id")).expect("uuid");
    let person = sign_in(server, http, user, password).await;
    let mut secret = [0_u8; 32];
    rng.fill(&mut secret);
    let signer = KeySigner::from_secret(Uuid::now_v7(), secret);
    let status = http
        .post(server.url(&format!("/api/devices/{device}/claves")))
        .header(reqwest::header::COOKIE, &person.cookie)
        .json(&json!({"clave_id": signer.key_id, "publica": signer.public_key()}))
        .send()
        .await
        .expect("key")
        .status();
    assert_eq!(status, 201);
    let transport = HttpTransport {
        http: http.clone(),
        base: server.url(""),
        cookie: person.cookie.clone(),
        device,
        slow_link: None,
        timed_out: Default::default(),
        in_flight: Default::default(),
        most_in_flight: Default::default(),
    };
    let identity = Identity {
        device_id: device,
        author_id: person.id,
    };
    let mut engine = SyncEngine::open(MemoryStorage::default(), transport, identity, rng.gen())
        .await
        .expect("engine");
    engine.sync(now_ms()).await.expect("first sync");
    Till {
        engine,
        signer,
        cookie: person.cookie,
        store: person.store,
    }
}

/// Active products of the catalog a till pulled, with their prices (at most `n`).
pub fn catalog(till: &Till, n: usize) -> Vec<(Uuid, i64)> {
    till.engine
        .storage
        .cache
        .iter()
        .filter(|((model, _), (_, data))| {
            model == "productos.Producto" && data["activo"].as_bool().unwrap_or(true)
        })
        .filter_map(|((_, id), (_, data))| Some((*id, data["precio"].as_i64()?)))
        .take(n)
        .collect()
}

/// What the tills recorded: the sales, and how stock moved per product.
#[derive(Default)]
pub struct Ledger {
    pub sales: Vec<Uuid>,
    pub moves: BTreeMap<String, i64>,
}

/// The next change `till` records, written into `ledger`: a sale of one pair at its catalog
/// price, or for `manager` a tenth of the time a receipt of 1–5 pairs.
pub fn next_change(
    till: &Till,
    manager: Uuid,
    products: &[(Uuid, i64)],
    ledger: &mut Ledger,
    rng: &mut impl Rng,
) -> LocalChange {
    let (product, price) = products[rng.gen_range(0..products.len())];
    if till.engine.identity.author_id == manager && rng.gen_ratio(1, 10) {
        let delta = rng.gen_range(1..=5);
        *ledger.moves.entry(product.to_string()).or_default() += delta;
        LocalChange {
            model: EXISTENCIA.into(),
            entity_id: product,
            kind: OpKind::StockDelta,
            base_version: None,
            fields: fields(
                json!({"producto_id": product, "delta": delta, "motivo": "recepcion", "tienda_id": till.store}),
            ),
            priority: 90,
        }
    } else {
        let id = Uuid::now_v7();
        ledger.sales.push(id);
        *ledger.moves.entry(product.to_string()).or_default() -= 1;
        one_pair(id, product, price, "tarjeta")
    }
}

/// What the store had before the tills rang anything up.
pub struct Before {
    pub sales: i64,
    pub stock: BTreeMap<String, i64>,
}

impl Before {
    pub async fn read(pool: &sqlx::SqlitePool, store: Uuid) -> Self {
        Self {
            sales: count(pool, "SELECT COUNT(*) FROM sales").await,
            stock: stock_of(pool, store).await,
        }
    }
}

impl Ledger {
    /// The database holds exactly what the ledger says happened since `before`: every sale
    /// once, no other, and the store's stock moved by exactly the ledger's moves.
    pub async fn holds(&self, pool: &sqlx::SqlitePool, before: &Before, store: Uuid) {
        each_once(pool, &self.sales).await;
        assert_eq!(
            count(pool, "SELECT COUNT(*) FROM sales").await,
            before.sales + self.sales.len() as i64,
            "no sale from nowhere"
        );
        let stock_after = stock_of(pool, store).await;
        for (product, moved) in &self.moves {
            let had = before.stock.get(product).copied().unwrap_or(0);
            assert_eq!(
                stock_after.get(product).copied().unwrap_or(0),
                had + moved,
                "stock of {product}"
            );
        }
    }
}

/// Every sale of `sales` is stored exactly once.
pub async fn each_once(pool: &sqlx::SqlitePool, sales: &[Uuid]) {
    for sale in sales {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE id = ?")
            .bind(sale.to_string())
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(n, 1, "sale {sale} exists exactly once");
    }
}

/// The audit chain as the admin's integrity check sees it.
pub async fn audit(server: &Server, http: &reqwest::Client) -> Value {
    let admin = sign_in(server, http, "admin", "admin2026").await;
    http.get(server.url("/api/sincronizacion/auditoria/integridad"))
        .header(reqwest::header::COOKIE, &admin.cookie)
        .send()
        .await
        .expect("integrity")
        .json()
        .await
        .expect("integrity json")
}

/// Takes one off `count` when dropped.
pub fn counted_out(count: &std::cell::Cell<usize>) -> impl Drop + '_ {
    struct Off<'a>(&'a std::cell::Cell<usize>);
    impl Drop for Off<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }
    Off(count)
}
