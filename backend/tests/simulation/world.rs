//! The simulated chain: stores, people, devices, and the random day they live through.

use std::{cell::RefCell, collections::BTreeMap, rc::Rc, sync::Arc};

use pronto_backend::{
    auth::{session, CurrentUser},
    clock::ManualClock,
    db::{self, Database},
    model::{customers, devices, keys, products, stock, stores, users, WriteAt},
    sync::config_store,
    AppState,
};
use pronto_shared::{
    api::{
        auth::{Profile, StoreRef},
        customers::CustomerInput,
        products::ProductInput,
    },
    domain::Ean13,
    sync::{
        config::{self, CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
        engine::{Identity, LocalChange, SyncEngine, SyncReport, RESEALABLE},
        memory::MemoryStorage,
        signing::KeySigner,
        Hlc, OpKind, Strategy,
    },
    Role,
};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::transport::{deliver_delayed, Faults, Net, NetStats, SimTransport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Full,
}

pub const INITIAL_STOCK: i64 = 20;
/// The world's clock at the start of every seed (2026-11-18): the server's clock is the
/// simulation's, so a seed never depends on when it runs.
const START_MS: u64 = 1_795_000_000_000;

pub struct SimDevice {
    pub id: Uuid,
    pub store: Uuid,
    pub role: Role,
    pub engine: Option<SyncEngine<MemoryStorage, SimTransport>>,
    /// The author's signing key on this device, registered with the server at set-up.
    pub signer: KeySigner,
    /// How far this device's clock is off the world's (−1 h … +1 day on some devices): the
    /// server must bound what runs ahead and still converge.
    pub skew_ms: i64,
    pub online: Rc<RefCell<bool>>,
    pub offline_until: u64,
    pub restarts: u64,
    /// Of the restarts, those that lost the device's database (`lose_storage`).
    pub storage_losses: u64,
    /// Every sale, return and void this device rang up (entity ids).
    pub sales: Vec<Uuid>,
    /// Pairs of this device's sales not returned yet: (sale, product).
    pub returnable: Vec<(Uuid, Uuid)>,
    pub returns: u64,
}

pub struct Sim {
    pub seed: u64,
    pub rng: ChaCha8Rng,
    pub net: Rc<RefCell<Net>>,
    pub state: AppState,
    pub devices: Vec<SimDevice>,
    pub stores: Vec<Uuid>,
    pub products: Vec<Uuid>,
    pub strategies: (Strategy, Strategy),
    pub now_ms: u64,
    /// The server's clock, moved with `now_ms`.
    pub clock: Arc<ManualClock>,
    steps: usize,
    ops: u64,
    /// Answered ops the server compacted away.
    pub compacted: u64,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub devices: u64,
    pub ops: u64,
    pub sales: u64,
    pub returns: u64,
    pub conflicts: u64,
    pub dead_letters: u64,
    pub restarts: u64,
    pub storage_losses: u64,
    pub compacted: u64,
    pub net: NetStats,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.devices += other.devices;
        self.ops += other.ops;
        self.sales += other.sales;
        self.returns += other.returns;
        self.conflicts += other.conflicts;
        self.dead_letters += other.dead_letters;
        self.restarts += other.restarts;
        self.storage_losses += other.storage_losses;
        self.compacted += other.compacted;
        self.net.lost += other.net.lost;
        self.net.duplicated += other.net.duplicated;
        self.net.delayed += other.net.delayed;
        self.net.cut += other.net.cut;
        self.net.cut_after_commit += other.net.cut_after_commit;
        self.net.dropped += other.net.dropped;
        self.net.ahead += other.net.ahead;
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} devices, {} ops ({} compacted), {} sales (of them {} returns), {} conflicts, {} dead letters, {} device restarts ({} lost their storage); \
             faults: {} lost, {} duplicated, {} delayed, {} cut, {} connections cut after commit, \
             {} requests dropped by their client; {} pushes sent ahead of an answer",
            self.devices,
            self.ops,
            self.compacted,
            self.sales,
            self.returns,
            self.conflicts,
            self.dead_letters,
            self.restarts,
            self.storage_losses,
            self.net.lost,
            self.net.duplicated,
            self.net.delayed,
            self.net.cut,
            self.net.cut_after_commit,
            self.net.dropped,
            self.net.ahead
        )
    }
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    let mut bytes = [0_u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

const STRATEGIES: [Strategy; 4] = Strategy::ALL;

impl Sim {
    pub async fn new(seed: u64, size: Size) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dir = scratch_dir();
        let db = Database::connect(&format!("sqlite://{}", dir.path().join("sim.db").display()))
            .await
            .expect("db");
        db.migrate().await.expect("migrate");
        let clock = Arc::new(ManualClock::new(START_MS as i64));
        let state = AppState::new(db.clone(), dir.path().join("dist"))
            .with_clock(clock.clone())
            .with_hlc_node("srv-sim");
        let now = "2026-11-28T00:00:00.000Z";
        let hlc = Hlc::zero("seed");
        let mut tx = db.begin_write().await.expect("tx");

        let strategies = (
            STRATEGIES[rng.gen_range(0..4)],
            STRATEGIES[rng.gen_range(0..4)],
        );
        for (model, strategy) in [(PRODUCTO, strategies.0), (CLIENTE, strategies.1)] {
            let mut c = config::defaults()
                .into_iter()
                .find(|c| c.model == model)
                .expect("config");
            c.estrategia = strategy;
            config_store::put(&mut tx, &c, "sim", now)
                .await
                .expect("config");
        }

        let mut store_refs = Vec::new();
        for i in 0..3 {
            let store = StoreRef {
                id: uuid(&mut rng),
                codigo: format!("T{i}"),
                nombre: format!("Tienda {i}"),
                zona_horaria: pronto_shared::api::auth::DEFAULT_ZONE.into(),
            };
            stores::insert(&mut tx, &store, now).await.expect("store");
            store_refs.push(store);
        }
        // Each person is signed in once, with a session token drawn from the seed.
        let mut people = Vec::new();
        for store in &store_refs {
            for role in [Role::Gerente, Role::Cajero] {
                let id = uuid(&mut rng);
                let name = format!("{}-{}", role.as_str(), store.codigo);
                let user = users::NewUser {
                    id,
                    username: &name,
                    display_name: &name,
                    password_hash: "x",
                    role,
                    store_id: store.id,
                };
                users::insert(&mut tx, &user, now).await.expect("user");
                let mut token = [0_u8; 32];
                rng.fill(&mut token);
                let token = hex::encode(token);
                session::insert(
                    &mut tx,
                    &session::token_hash(&token),
                    &id.to_string(),
                    START_MS as i64,
                )
                .await
                .expect("session");
                people.push((
                    format!("{}={token}", session::COOKIE_NAME),
                    CurrentUser {
                        profile: Profile {
                            id,
                            usuario: name.clone(),
                            nombre: name,
                            rol: role,
                            tienda: store.clone(),
                        },
                        token_hash: String::new(),
                    },
                ));
            }
        }
        let product_count = if size == Size::Full { 40 } else { 10 };
        let mut product_ids = Vec::new();
        for n in 0..product_count {
            let input = ProductInput {
                id: None,
                sku: format!("SIM-{n:03}"),
                codigo_barras: Ean13::from_first_12(750_000_000_000 + n)
                    .expect("ean")
                    .to_string(),
                nombre: format!("Zapato {n}"),
                marca: "Pronto".into(),
                modelo: "Sim".into(),
                color: "Negro".into(),
                talla: 26.0,
                precio: 50_000 + 1_000 * n as i64,
                imagen: None,
                activo: true,
                version: None,
            };
            let id = uuid(&mut rng);
            let seq = db::next_change_seq(&mut tx).await.expect("seq");
            products::insert(
                &mut tx,
                id,
                &input.validate().expect("valid"),
                WriteAt {
                    seq,
                    at: now,
                    hlc: &hlc,
                },
            )
            .await
            .expect("product");
            for store in &store_refs {
                let seq = db::next_change_seq(&mut tx).await.expect("seq");
                stock::seed(&mut tx, store.id, id, INITIAL_STOCK, seq, now)
                    .await
                    .expect("stock");
            }
            product_ids.push(id);
        }
        for n in 0..5 {
            let input = CustomerInput {
                id: None,
                nombre: format!("Cliente {n}"),
                telefono: Some(format!("55000000{n:02}")),
                email: None,
                rfc: None,
                notas: None,
                version: None,
            };
            let seq = db::next_change_seq(&mut tx).await.expect("seq");
            customers::insert(
                &mut tx,
                uuid(&mut rng),
                &input.validate().expect("valid"),
                0,
                WriteAt {
                    seq,
                    at: now,
                    hlc: &hlc,
                },
            )
            .await
            .expect("customer");
        }

        let device_count = match size {
            Size::Small => rng.gen_range(5..=20),
            Size::Full => rng.gen_range(50..=60),
        };
        let mut device_rows = Vec::new();
        for i in 0..device_count {
            let (cookie, person) = people[rng.gen_range(0..people.len())].clone();
            let device = devices::register(
                &mut tx,
                uuid(&mut rng),
                person.store_id(),
                &format!("Caja {i}"),
                person.id(),
                now,
            )
            .await
            .expect("device");
            let mut secret = [0_u8; 32];
            rng.fill(&mut secret);
            let signer = KeySigner::from_secret(uuid(&mut rng), secret);
            keys::register(
                &mut tx,
                signer.key_id,
                device.id,
                person.id(),
                &signer.public_key(),
                now,
            )
            .await
            .expect("key");
            let skew_ms = if rng.gen_ratio(1, 3) {
                rng.gen_range(-3_600_000..=86_400_000)
            } else {
                rng.gen_range(-5_000..=5_000)
            };
            device_rows.push((device.id, cookie, person, signer, skew_ms));
        }
        tx.commit().await.expect("commit");

        let faults = Faults {
            loss: rng.gen_range(0.0..0.30),
            duplication: rng.gen_range(0.0..0.50),
            delay: rng.gen_range(0.0..0.15),
            cut: rng.gen_range(0.0..0.20),
            cut_after_commit: rng.gen_range(0.0..0.20),
            dropped: rng.gen_range(0.0..0.15),
        };
        let net_rng = ChaCha8Rng::seed_from_u64(rng.gen());
        let net = Rc::new(RefCell::new(Net {
            router: pronto_backend::router(state.clone()),
            state: state.clone(),
            rng: net_rng,
            faults,
            faults_on: false,
            delayed: Vec::new(),
            stats: NetStats::default(),
        }));
        let mut devices = Vec::new();
        for (id, cookie, person, signer, skew_ms) in device_rows {
            let online = Rc::new(RefCell::new(true));
            let transport = SimTransport {
                net: net.clone(),
                cookie,
                device: id,
                online: online.clone(),
                in_flight: Default::default(),
                line: Default::default(),
            };
            let identity = Identity {
                device_id: id,
                author_id: person.id(),
            };
            let mut engine =
                SyncEngine::open(MemoryStorage::default(), transport, identity, rng.gen())
                    .await
                    .expect("engine");
            // Small pushes, so that a backlog goes out in several, two in flight at once.
            engine.batch_size = rng.gen_range(2..=16);
            devices.push(SimDevice {
                id,
                store: person.store_id(),
                role: person.profile.rol,
                engine: Some(engine),
                signer,
                skew_ms,
                online,
                offline_until: 0,
                restarts: 0,
                storage_losses: 0,
                sales: Vec::new(),
                returnable: Vec::new(),
                returns: 0,
            });
        }
        let steps = match size {
            Size::Small => rng.gen_range(300..=600),
            Size::Full => rng.gen_range(3_000..=5_000),
        };
        let mut sim = Self {
            seed,
            rng,
            net,
            state,
            devices,
            stores: store_refs.iter().map(|s| s.id).collect(),
            products: product_ids,
            strategies,
            now_ms: START_MS,
            clock,
            steps,
            ops: 0,
            compacted: 0,
            _dir: dir,
        };
        // Every device starts with the catalog, before the faults begin.
        for i in 0..sim.devices.len() {
            sim.sync(i).await;
        }
        sim.net.borrow_mut().faults_on = true;
        sim
    }

    fn engine(&mut self, i: usize) -> &mut SyncEngine<MemoryStorage, SimTransport> {
        self.devices[i].engine.as_mut().expect("engine present")
    }

    /// Moves the world's time, and the server's clock with it.
    fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        self.clock.advance_ms(ms as i64);
    }

    /// What device `i`'s own clock reads now.
    fn device_now(&self, i: usize) -> u64 {
        self.now_ms.saturating_add_signed(self.devices[i].skew_ms)
    }

    /// A sync, then what the till does after one: re-seal the ops the server refused for a
    /// seq or id this device had used already.
    async fn sync(&mut self, i: usize) -> SyncReport {
        let now = self.device_now(i);
        let signer = self.devices[i].signer.clone();
        let engine = self.engine(i);
        let report = engine
            .sync(now)
            .await
            .expect("storage never fails in memory");
        engine.reseal(now, &signer).await.expect("reseal");
        report
    }

    pub async fn run(&mut self) {
        for _ in 0..self.steps {
            let step = self.rng.gen_range(10..2_000);
            self.advance(step);
            let i = self.rng.gen_range(0..self.devices.len());
            let now = self.now_ms;
            if self.devices[i].offline_until <= now {
                *self.devices[i].online.borrow_mut() = true;
            }
            match self.rng.gen_range(0..100) {
                0..=3 => {
                    self.devices[i].offline_until = now + self.rng.gen_range(1_000..120_000);
                    *self.devices[i].online.borrow_mut() = false;
                }
                4 => self.restart(i).await,
                5 => self.lose_storage(i).await,
                6..=65 => self.make_op(i).await,
                66..=94 => {
                    self.sync(i).await;
                }
                95..=97 => deliver_delayed(&self.net, false).await,
                _ => self.compact().await,
            }
        }
    }

    /// The server compacts the answers of settled ops older than a minute of world time (the
    /// real retention is 30 days; here held-back requests and restarts meet compacted ops).
    async fn compact(&mut self) {
        let before =
            pronto_backend::clock::Clock::now(self.clock.as_ref()) - time::Duration::minutes(1);
        self.compacted += pronto_backend::sync::retention::compact(&self.state.db, before)
            .await
            .expect("compaction");
    }

    /// The browser resets the device's database (a full disk, a corrupted file, eviction):
    /// cache, cursor, clock and dead letters are gone. What survives is the second copy
    /// (`outbox_copy` in the browser): every unanswered op, the ops refused for their place
    /// (still to be re-sealed), and — unless that was cleared too (one time in two here) — the
    /// highest seq the device used. Without it the device knows it does not know its seq and
    /// records nothing until a pull tells it the server's (`Storage::seq_unknown`): a device
    /// that recorded anyway took seqs the server had, and one of its sales, placed right after
    /// a customer create that was refused for its place, was refused itself (seed 31544).
    async fn lose_storage(&mut self, i: usize) {
        let engine = self.devices[i].engine.take().expect("engine");
        let old = engine.storage;
        let mark_survived = self.rng.gen_bool(0.5);
        let highest_kept = old.outbox.keys().next_back().copied().unwrap_or(0);
        let misplaced = old
            .dead
            .into_iter()
            .filter(|letter| RESEALABLE.contains(&letter.code.as_str()))
            .collect();
        let storage = MemoryStorage {
            seq: if mark_survived { old.seq } else { highest_kept },
            seq_unknown: !mark_survived,
            outbox: old.outbox,
            dead: misplaced,
            ..MemoryStorage::default()
        };
        let seed = self.rng.gen();
        let batch_size = engine.batch_size;
        let mut reopened = SyncEngine::open(storage, engine.transport, engine.identity, seed)
            .await
            .expect("reopen");
        reopened.batch_size = batch_size;
        self.devices[i].engine = Some(reopened);
        self.devices[i].restarts += 1;
        self.devices[i].storage_losses += 1;
    }

    /// A crash: everything in memory is gone; the engine reopens from what storage persisted.
    async fn restart(&mut self, i: usize) {
        let engine = self.devices[i].engine.take().expect("engine");
        let storage = engine.storage;
        let transport = engine.transport;
        let identity = engine.identity;
        let batch_size = engine.batch_size;
        let seed = self.rng.gen();
        let mut reopened = SyncEngine::open(storage, transport, identity, seed)
            .await
            .expect("reopen");
        reopened.batch_size = batch_size;
        self.devices[i].engine = Some(reopened);
        self.devices[i].restarts += 1;
    }

    fn cached(&mut self, i: usize, model: &str) -> Vec<(Uuid, i64, Value)> {
        self.engine(i)
            .storage
            .cache
            .iter()
            .filter(|((m, _), _)| m == model)
            .map(|((_, id), (version, data))| (*id, *version, data.clone()))
            .collect()
    }

    async fn make_op(&mut self, i: usize) {
        if self.engine(i).storage.seq_unknown {
            // The till says to connect first (`SEQ_UNKNOWN`): no sale until a pull.
            return;
        }
        let manager = self.devices[i].role == Role::Gerente;
        let roll = self.rng.gen_range(0..100);
        let change = if roll < 8 && !self.devices[i].returnable.is_empty() {
            self.sale_return(i)
        } else if !manager || roll < 40 {
            self.sale(i)
        } else if roll < 55 {
            self.stock_delta(i)
        } else if roll < 80 {
            self.edit(i, PRODUCTO)
        } else if roll < 95 {
            self.edit(i, CLIENTE)
        } else {
            self.delete(i)
        };
        let Some(mut change) = change else { return };
        let now = self.device_now(i);
        let signer = self.devices[i].signer.clone();
        if change.kind == OpKind::Sale && self.rng.gen_ratio(1, 10) {
            // A new customer created at the till and named by the sale right after it: the
            // server must apply the create first although sales are pushed first.
            let customer = uuid(&mut self.rng);
            let create = LocalChange {
                model: CLIENTE.into(),
                entity_id: customer,
                kind: OpKind::Create,
                base_version: None,
                fields: Self::fields(json!({"nombre": format!("Cliente {}", self.ops)})),
                priority: 50,
            };
            self.engine(i)
                .record(create, now, &signer)
                .await
                .expect("record");
            self.ops += 1;
            change.fields.insert("cliente_id".into(), json!(customer));
        }
        if matches!(change.kind, OpKind::Sale | OpKind::Return) {
            self.devices[i].sales.push(change.entity_id);
        }
        if change.kind == OpKind::Return {
            self.devices[i].returns += 1;
        }
        if change.kind == OpKind::Sale {
            let lines = change.fields.get("lineas").and_then(|l| l.as_array());
            for line in lines.into_iter().flatten() {
                if let Some(product) = line["producto_id"].as_str() {
                    let product = Uuid::parse_str(product).expect("uuid");
                    self.devices[i].returnable.push((change.entity_id, product));
                }
            }
        }
        self.engine(i)
            .record(change, now, &signer)
            .await
            .expect("record");
        self.ops += 1;
    }

    fn fields(value: Value) -> BTreeMap<String, Value> {
        match value {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }

    fn sale(&mut self, i: usize) -> Option<LocalChange> {
        let products = self.cached(i, PRODUCTO);
        let picks: Vec<_> = products
            .choose_multiple(&mut self.rng, 2)
            .cloned()
            .collect();
        if picks.is_empty() {
            return None;
        }
        let lines: Vec<Value> = picks
            .iter()
            .map(|(id, _, data)| json!({"producto_id": id, "cantidad": 1, "precio_unitario": data["precio"]}))
            .collect();
        let total: i64 = picks
            .iter()
            .map(|(_, _, d)| d["precio"].as_i64().unwrap_or(0))
            .sum();
        let id = uuid(&mut self.rng);
        let pay = if self.rng.gen_bool(0.5) {
            json!([{"metodo": "efectivo", "monto": total + 5_000}])
        } else {
            json!([{"metodo": "tarjeta", "monto": total}])
        };
        Some(LocalChange {
            model: VENTA.into(),
            entity_id: id,
            kind: OpKind::Sale,
            base_version: None,
            fields: Self::fields(json!({"id": id, "lineas": lines, "pagos": pay})),
            priority: 100,
        })
    }

    /// A pair of one of this device's own sales comes back (never more than was sold, so an
    /// honest return is never refused).
    fn sale_return(&mut self, i: usize) -> Option<LocalChange> {
        let left = &mut self.devices[i].returnable;
        let k = self.rng.gen_range(0..left.len());
        let (sale, product) = left.swap_remove(k);
        let id = uuid(&mut self.rng);
        let refund = if self.rng.gen_bool(0.5) {
            "efectivo"
        } else {
            "tarjeta"
        };
        Some(LocalChange {
            model: VENTA.into(),
            entity_id: id,
            kind: OpKind::Return,
            base_version: None,
            fields: Self::fields(json!({
                "id": id,
                "venta_id": sale,
                "lineas": [{"producto_id": product, "cantidad": 1}],
                "reembolso": refund,
                "motivo": "No le quedó",
            })),
            priority: 100,
        })
    }

    fn stock_delta(&mut self, i: usize) -> Option<LocalChange> {
        let product = *self.products.choose(&mut self.rng)?;
        let delta = *[-3_i64, -1, 1, 2, 5].choose(&mut self.rng)?;
        let motivo = if delta > 0 && self.rng.gen_bool(0.5) {
            "recepcion"
        } else {
            "ajuste"
        };
        Some(LocalChange {
            model: EXISTENCIA.into(),
            entity_id: product,
            kind: OpKind::StockDelta,
            base_version: None,
            fields: Self::fields(
                json!({"producto_id": product, "delta": delta, "motivo": motivo, "tienda_id": self.devices[i].store}),
            ),
            priority: 90,
        })
    }

    fn edit(&mut self, i: usize, model: &str) -> Option<LocalChange> {
        let rows = self.cached(i, model);
        let (id, version, _) = rows.choose(&mut self.rng)?.clone();
        let fields = match (model, self.rng.gen_range(0..10)) {
            // Now and then a value the rules refuse: it must end in the dead letters.
            (PRODUCTO, 0) => json!({"precio": -1}),
            (PRODUCTO, n) if n < 6 => json!({"precio": self.rng.gen_range(100..200_000) * 10}),
            (PRODUCTO, _) => json!({"nombre": format!("Zapato {}", self.rng.gen_range(0..1_000))}),
            (_, n) if n < 5 => {
                json!({"telefono": format!("55{:08}", self.rng.gen_range(0..100_000_000))})
            }
            _ => json!({"notas": format!("nota {}", self.rng.gen_range(0..1_000))}),
        };
        let priority = if model == PRODUCTO { 40 } else { 50 };
        Some(LocalChange {
            model: model.into(),
            entity_id: id,
            kind: OpKind::Update,
            base_version: Some(version),
            fields: Self::fields(fields),
            priority,
        })
    }

    fn delete(&mut self, i: usize) -> Option<LocalChange> {
        let model = if self.rng.gen_bool(0.5) {
            PRODUCTO
        } else {
            CLIENTE
        };
        let rows = self.cached(i, model);
        let (id, version, _) = rows.choose(&mut self.rng)?.clone();
        Some(LocalChange {
            model: model.into(),
            entity_id: id,
            kind: OpKind::Delete,
            base_version: Some(version),
            fields: BTreeMap::new(),
            priority: 40,
        })
    }

    /// Faults stop, held requests arrive, every device comes online and syncs until its
    /// outbox is empty and a pull brings nothing new.
    pub async fn drain(&mut self) {
        self.net.borrow_mut().faults_on = false;
        deliver_delayed(&self.net, true).await;
        for d in &mut self.devices {
            *d.online.borrow_mut() = true;
            d.offline_until = 0;
        }
        for _round in 0..30 {
            let mut quiet = true;
            for i in 0..self.devices.len() {
                self.advance(1_000);
                let report = self.sync(i).await;
                let pending = self.engine(i).storage.outbox.len();
                if report.pushed > 0 || report.pulled > 0 || pending > 0 {
                    quiet = false;
                }
            }
            if quiet {
                return;
            }
        }
        panic!(
            "seed {}: devices did not settle after faults stopped",
            self.seed
        );
    }

    /// Conflicts the server recorded (read after the run).
    pub async fn conflicts(&self) -> u64 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_conflicts")
            .fetch_one(self.state.db.pool())
            .await
            .expect("count");
        n as u64
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            devices: self.devices.len() as u64,
            ops: self.ops,
            sales: self.devices.iter().map(|d| d.sales.len() as u64).sum(),
            returns: self.devices.iter().map(|d| d.returns).sum(),
            restarts: self.devices.iter().map(|d| d.restarts).sum(),
            storage_losses: self.devices.iter().map(|d| d.storage_losses).sum(),
            compacted: self.compacted,
            net: self.net.borrow().stats,
            ..Totals::default()
        };
        t.dead_letters = self
            .devices
            .iter()
            .map(|d| d.engine.as_ref().map_or(0, |e| e.storage.dead.len() as u64))
            .sum();
        t
    }
}

/// The database goes to a RAM-backed directory when the machine has one: the simulation
/// checks logic, not disks, and fsyncs at WAL checkpoints were much of a seed's time.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}
