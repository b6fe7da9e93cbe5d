//! The demo data set: three stores, ten people, ~3,900 shoe variants with valid EAN-13 codes,
//! 500 customers and stock everywhere. Deterministic — a ChaCha8 generator with a fixed seed —
//! so every machine gets the same catalog, and tests and benchmarks can name records.
//!
//! Demo passwords (for the demo only; printed in the README): `admin2026`, `gerente2026`,
//! `cajero2026`.

//!
//! `names.rs` holds the words, `catalog.rs` makes the shoes, `people.rs` the customers.

use pronto_shared::{api::auth::StoreRef, sync::Hlc, sync::HlcClock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{
    auth::password,
    clock::{Clock, SystemClock},
    db::Database,
    model::{stock, stores, users, WriteAt},
    AppError,
};

mod catalog;
mod names;
mod people;

pub use names::{STORES, USERS};

const SEED: u64 = 0x5052_4F4E_544F; // "PRONTO"

/// Counts of what was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub stores: usize,
    pub users: usize,
    pub models: usize,
    pub products: usize,
    pub customers: usize,
    pub stock_rows: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} stores, {} users, {} models, {} variants, {} customers, {} stock rows",
            self.stores, self.users, self.models, self.products, self.customers, self.stock_rows
        )
    }
}

/// Loads the demo set in one transaction if the database has no stores yet; `None` if it had.
pub async fn load_if_empty(db: &Database) -> Result<Option<Summary>, AppError> {
    load_if_empty_with(db, None).await
}

/// [`load_if_empty`] with a catalog of exactly `variants` variants, for measuring at chain
/// scale (`pronto serve --demo --demo-variants 20000`): the models are made again in further
/// editions (SKUs numbered on) until there are that many. `None`: the one edition.
pub async fn load_if_empty_with(
    db: &Database,
    variants: Option<usize>,
) -> Result<Option<Summary>, AppError> {
    let mut tx = db.begin_write().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stores")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        return Ok(None);
    }
    // Hash outside the transaction's hot path: ten argon2id hashes are most of the time.
    let mut hashes = Vec::with_capacity(USERS.len());
    for (_, _, _, _, pw) in USERS {
        hashes.push(password::hash(pw.to_owned()).await?);
    }
    let summary = load(&mut tx, &hashes, &SystemClock, variants).await?;
    tx.commit().await?;
    // Fresh statistics after a bulk load: without them PostgreSQL plans the word-prefix search
    // as if the tables were empty (tens of ms instead of under one) until autovacuum runs.
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(Some(summary))
}

/// Hands out change-sequence positions for a bulk load inside one write transaction, then
/// stores the last one: one counter write instead of one per row.
struct Seq {
    next: i64,
}

impl Seq {
    async fn start(conn: &mut AnyConnection) -> Result<Self, AppError> {
        let value: i64 = sqlx::query_scalar("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(conn)
            .await?;
        Ok(Self { next: value + 1 })
    }

    fn take(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }

    async fn finish(self, conn: &mut AnyConnection) -> Result<(), AppError> {
        sqlx::query("UPDATE change_counter SET value = $1 WHERE id = 1")
            .bind(self.next - 1)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// What every step of the load shares: one generator (so the data set replays exactly), the
/// load's time and HLC stamp, and the change positions.
struct Loader {
    rng: ChaCha8Rng,
    now: String,
    stamp: Hlc,
    seq: Seq,
}

impl Loader {
    fn id(&mut self) -> Uuid {
        let mut bytes = [0_u8; 16];
        self.rng.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// When the next row is written: its own change position, the load's time and stamp.
    fn write_at(&mut self) -> WriteAt<'_> {
        WriteAt {
            seq: self.seq.take(),
            at: &self.now,
            hlc: &self.stamp,
        }
    }
}

async fn load(
    conn: &mut AnyConnection,
    hashes: &[String],
    clock: &dyn Clock,
    variants: Option<usize>,
) -> Result<Summary, AppError> {
    let mut l = Loader {
        rng: ChaCha8Rng::seed_from_u64(SEED),
        now: clock.now_rfc3339(),
        stamp: HlcClock::new("demo").tick(u64::try_from(clock.now_ms()).unwrap_or(0)),
        seq: Seq::start(conn).await?,
    };
    let store_ids = stores_and_people(conn, &mut l, hashes).await?;
    let (models, product_ids) = catalog::products(conn, &mut l, variants).await?;
    let mut stock_rows = 0;
    for store in &store_ids {
        for product in &product_ids {
            let quantity = l.rng.gen_range(0..=12);
            stock::seed(conn, *store, *product, quantity, l.seq.take(), &l.now).await?;
            stock_rows += 1;
        }
    }
    let customers = people::customers(conn, &mut l, 500).await?;
    l.seq.finish(conn).await?;
    Ok(Summary {
        stores: store_ids.len(),
        users: USERS.len(),
        models,
        products: product_ids.len(),
        customers,
        stock_rows,
    })
}

/// The stores and the people who work in them; the stores' ids.
async fn stores_and_people(
    conn: &mut AnyConnection,
    l: &mut Loader,
    hashes: &[String],
) -> Result<Vec<Uuid>, AppError> {
    let mut store_ids = Vec::new();
    for (code, name, zone) in STORES {
        let store = StoreRef {
            id: l.id(),
            codigo: code.into(),
            nombre: name.into(),
            zona_horaria: zone.into(),
        };
        stores::insert(conn, &store, &l.now).await?;
        store_ids.push(store.id);
    }
    for ((username, name, role, store, _), hash) in USERS.iter().zip(hashes) {
        let user = users::NewUser {
            id: l.id(),
            username,
            display_name: name,
            password_hash: hash,
            role: *role,
            store_id: store_ids[*store],
        };
        users::insert(conn, &user, &l.now).await?;
    }
    Ok(store_ids)
}

/// First three letters, upper-case, accents removed (`Mocasín` → `MOC`).
fn code3(word: &str) -> String {
    ascii(word)
        .replace(' ', "")
        .to_uppercase()
        .chars()
        .take(3)
        .collect()
}

fn ascii(word: &str) -> String {
    pronto_shared::search::fold(word)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect()
}
