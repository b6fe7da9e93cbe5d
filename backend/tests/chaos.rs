//! Chaos against the real `pronto` binary, over real sockets (issue 16): four tills ring up
//! 2,000 ops through the client sync engine while the server is killed with SIGKILL five times
//! mid-push and 50 pushes are abandoned by their client at random moments (the connection
//! closed part-way through the request or while the server works on it). Afterwards: every sale
//! exists exactly once, stock is exactly the start minus what was sold plus what was moved,
//! the audit chain is intact, and the server still signs in and applies pushes.

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
    op::PROTOCOL,
    signing::KeySigner,
    OpKind, PullReply, PushReply, PushRequest,
};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const OPS: usize = 2_000;
const KILLS: usize = 5;
const ABORTED: usize = 50;

/// The `pronto serve` process on a fixed port and database, restartable.
struct Server {
    addr: SocketAddr,
    db_url: String,
    dist: std::path::PathBuf,
    child: Arc<Mutex<Option<Child>>>,
}

impl Server {
    fn start(&self, demo: bool) {
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
    fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A signed-in person: their client (which does not follow the server's restarts: the cookie
/// is all it keeps) and session cookie.
#[derive(Clone)]
struct Person {
    id: Uuid,
    store: Uuid,
    cookie: String,
}

async fn sign_in(server: &Server, http: &reqwest::Client, user: &str, password: &str) -> Person {
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

struct HttpTransport {
    http: reqwest::Client,
    base: String,
    cookie: String,
    device: Uuid,
}

impl Transport for HttpTransport {
    async fn push(&mut self, request: PushRequest) -> Result<PushReply, TransportError> {
        let response = self
            .http
            .post(format!("{}/api/sync/push", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .json(&request)
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

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        let response = self
            .http
            .get(format!(
                "{}/api/sync/pull?dispositivo={}&cursor={cursor}&limit={limit}",
                self.base, self.device
            ))
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

struct Till {
    engine: SyncEngine<MemoryStorage, HttpTransport>,
    signer: KeySigner,
    cookie: String,
    store: Uuid,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn fields(value: Value) -> BTreeMap<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// A sale `id` of one pair of `product` at its catalog `price`, paid in full by `method`.
fn one_pair(id: Uuid, product: Uuid, price: i64, method: &str) -> LocalChange {
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

/// A push sent by hand and abandoned: the connection is closed after `cut` bytes of the
/// request (all of it, then a pause, when `cut` is past the end).
async fn abandoned_push(server: &Server, till: &Till, rng: &mut ChaCha8Rng) {
    let ops: Vec<_> = till
        .engine
        .storage
        .outbox
        .values()
        .take(50)
        .cloned()
        .collect();
    if ops.is_empty() {
        return;
    }
    let body = serde_json::to_vec(&json!({
        "device_id": till.engine.identity.device_id,
        "ops": ops,
        "protocolo": PROTOCOL,
    }))
    .expect("json");
    let mut bytes = format!(
        "POST /api/sync/push HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        till.cookie,
        body.len()
    )
    .into_bytes();
    bytes.extend(body);
    let cut = rng
        .gen_range(0..bytes.len() + bytes.len() / 4)
        .min(bytes.len());
    let pause = Duration::from_millis(rng.gen_range(0..20));
    let Ok(mut stream) = tokio::net::TcpStream::connect(server.addr).await else {
        return;
    };
    let _ = stream.write_all(&bytes[..cut]).await;
    tokio::time::sleep(pause).await;
    drop(stream);
}

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

async fn stock_of(pool: &sqlx::SqlitePool, store: Uuid) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT product_id, quantity FROM stock WHERE store_id = ?")
        .bind(store.to_string())
        .fetch_all(pool)
        .await
        .expect("stock")
        .into_iter()
        .collect()
}

#[tokio::test]
async fn two_thousand_ops_through_five_kills_and_fifty_abandoned_pushes_arrive_exactly_once() {
    let mut rng = ChaCha8Rng::seed_from_u64(
        std::env::var("PRONTO_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(16),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("chaos.db");
    let server = Server {
        addr: free_port(),
        db_url: format!("sqlite://{}", db_path.display()),
        dist: dir.path().join("dist"),
        child: Arc::new(Mutex::new(None)),
    };
    server.start(true);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    // Four tills of the first store: the manager registers them; each is signed in by one of
    // the store's people, whose key it registers.
    let manager = sign_in(&server, &http, "gerente.centro", "gerente2026").await;
    let people = [
        ("gerente.centro", "gerente2026"),
        ("cajero1.centro", "cajero2026"),
        ("cajero2.centro", "cajero2026"),
        ("cajero1.centro", "cajero2026"),
    ];
    let mut tills = Vec::new();
    for (n, (user, password)) in people.into_iter().enumerate() {
        let device: Value = http
            .post(server.url("/api/devices"))
            .header(reqwest::header::COOKIE, &manager.cookie)
            .json(&json!({"nombre": format!("Caja caos {n}")}))
            .send()
            .await
            .expect("device")
            .json()
            .await
            .expect("device json");
        let device = Uuid::parse_str(device["id"].as_str().expect("id")).expect("uuid");
        let person = sign_in(&server, &http, user, password).await;
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
        };
        let identity = Identity {
            device_id: device,
            author_id: person.id,
        };
        let mut engine = SyncEngine::open(MemoryStorage::default(), transport, identity, rng.gen())
            .await
            .expect("engine");
        engine.sync(now_ms()).await.expect("first sync");
        tills.push(Till {
            engine,
            signer,
            cookie: person.cookie,
            store: person.store,
        });
    }
    let store = manager.store;
    let products: Vec<(Uuid, i64)> = tills[0]
        .engine
        .storage
        .cache
        .iter()
        .filter(|((model, _), (_, data))| {
            model == "productos.Producto" && data["activo"].as_bool().unwrap_or(true)
        })
        .filter_map(|((_, id), (_, data))| Some((*id, data["precio"].as_i64()?)))
        .take(30)
        .collect();
    assert!(products.len() >= 10, "the demo catalog reached the tills");

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    let stock_before = stock_of(&pool, store).await;
    let sales_before = count(&pool, "SELECT COUNT(*) FROM sales").await;
    pool.close().await;

    // Where the faults fall among the ops.
    let mut kill_at: Vec<usize> = (0..KILLS).map(|_| rng.gen_range(100..OPS)).collect();
    kill_at.sort_unstable();
    let mut abort_at: Vec<usize> = (0..ABORTED).map(|_| rng.gen_range(0..OPS)).collect();
    abort_at.sort_unstable();

    let mut expected_moves: BTreeMap<String, i64> = BTreeMap::new();
    let mut sales = Vec::new();
    let (mut kills, mut aborted, mut cut_short) = (0, 0, 0);
    for n in 0..OPS {
        let t = rng.gen_range(0..tills.len());
        let till = &mut tills[t];
        let (product, price) = *products.choose(&mut rng).expect("product");
        let change = if till.engine.identity.author_id == manager.id && rng.gen_ratio(1, 10) {
            let delta = rng.gen_range(1..=5);
            *expected_moves.entry(product.to_string()).or_default() += delta;
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
            sales.push(id);
            *expected_moves.entry(product.to_string()).or_default() -= 1;
            one_pair(id, product, price, "tarjeta")
        };
        let signer = till.signer.clone();
        till.engine
            .record(change, now_ms(), &signer)
            .await
            .expect("record");
        while abort_at.first() == Some(&n) {
            abort_at.remove(0);
            abandoned_push(&server, &tills[t], &mut rng).await;
            aborted += 1;
        }
        if kill_at.first() == Some(&n) {
            kill_at.remove(0);
            // A till pushes; the server dies under it at a random moment.
            let child = server.child.clone();
            let after = Duration::from_millis(rng.gen_range(0..40));
            let killer = tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(mut child) = child.lock().expect("lock").take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            });
            let report = tills[t].engine.sync(now_ms()).await.expect("sync");
            killer.await.expect("killer");
            cut_short += usize::from(report.failure.is_some());
            server.kill();
            server.start(false);
            kills += 1;
        } else if rng.gen_ratio(1, 25) {
            tills[t].engine.sync(now_ms()).await.expect("sync");
        }
    }
    assert_eq!((kills, aborted), (KILLS, ABORTED));

    // The link is back for good: every till sends everything.
    for _round in 0..20 {
        let mut pending = 0;
        for till in &mut tills {
            till.engine.sync(now_ms()).await.expect("sync");
            pending += till.engine.storage.outbox.len();
        }
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for till in &tills {
        assert!(
            till.engine.storage.outbox.is_empty(),
            "a till could not send"
        );
        assert!(
            till.engine.storage.dead.is_empty(),
            "honest ops were refused: {:?}",
            till.engine.storage.dead.first()
        );
    }

    // The server still serves: a sign-in and a push right away.
    let admin = sign_in(&server, &http, "admin", "admin2026").await;
    let integrity: Value = http
        .get(server.url("/api/sincronizacion/auditoria/integridad"))
        .header(reqwest::header::COOKIE, &admin.cookie)
        .send()
        .await
        .expect("integrity")
        .json()
        .await
        .expect("integrity json");
    assert_eq!(integrity["ok"], json!(true), "audit chain: {integrity}");
    let till = &mut tills[0];
    let id = Uuid::now_v7();
    let (product, price) = products[0];
    let signer = till.signer.clone();
    till.engine
        .record(one_pair(id, product, price, "efectivo"), now_ms(), &signer)
        .await
        .expect("record");
    let report = till.engine.sync(now_ms()).await.expect("sync");
    assert_eq!((report.applied, report.failure), (1, None));
    sales.push(id);
    *expected_moves.entry(product.to_string()).or_default() -= 1;
    server.kill();

    let pool = sqlx::SqlitePool::connect(&server.db_url).await.expect("db");
    for sale in &sales {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE id = ?")
            .bind(sale.to_string())
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(n, 1, "sale {sale} exists exactly once");
    }
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM sales").await,
        sales_before + sales.len() as i64,
        "no sale from nowhere"
    );
    let stock_after = stock_of(&pool, store).await;
    for (product, moved) in &expected_moves {
        let before = stock_before.get(product).copied().unwrap_or(0);
        assert_eq!(
            stock_after.get(product).copied().unwrap_or(0),
            before + moved,
            "stock of {product}"
        );
    }
    println!(
        "chaos: {OPS} ops ({} sales) on {} tills, {kills} kills ({cut_short} cut a sync short), \
         {aborted} abandoned pushes: every sale once, stock exact, audit intact ({} entries)",
        sales.len(),
        tills.len(),
        integrity["entries"]
    );
}
