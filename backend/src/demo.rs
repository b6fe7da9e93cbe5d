//! The demo data set: three stores, ten people, ~3,900 shoe variants with valid EAN-13 codes,
//! 500 customers and stock everywhere. Deterministic — a ChaCha8 generator with a fixed seed —
//! so every machine gets the same catalog, and tests and benchmarks can name records.
//!
//! Demo passwords (for the demo only; printed in the README): `admin2026`, `gerente2026`,
//! `cajero2026`.

use pronto_shared::{
    api::{auth::StoreRef, customers::CustomerInput, products::ProductInput},
    domain::{Ean13, ShoeSize},
    sync::HlcClock,
    Role,
};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{
    auth::password,
    clock::{Clock, SystemClock},
    db::Database,
    model::{customers, products, stock, stores, users, WriteAt},
    AppError,
};

const SEED: u64 = 0x5052_4F4E_544F; // "PRONTO"

/// GS1 Mexico prefix 750, a made-up company number 1234, then a 5-digit item number.
const BARCODE_BASE: u64 = 750_123_400_000;

pub const STORES: [(&str, &str); 3] = [
    ("CEN", "Pronto Centro Histórico"),
    ("POL", "Pronto Polanco"),
    ("GDL", "Pronto Guadalajara Chapultepec"),
];

/// (user name, display name, role, store index, password)
pub const USERS: [(&str, &str, Role, usize, &str); 10] = [
    ("admin", "Adriana Salgado", Role::Admin, 0, "admin2026"),
    (
        "gerente.centro",
        "Roberto Méndez",
        Role::Gerente,
        0,
        "gerente2026",
    ),
    (
        "cajero1.centro",
        "Lucía Hernández",
        Role::Cajero,
        0,
        "cajero2026",
    ),
    (
        "cajero2.centro",
        "Jorge Ramírez",
        Role::Cajero,
        0,
        "cajero2026",
    ),
    (
        "gerente.polanco",
        "Mariana Ortiz",
        Role::Gerente,
        1,
        "gerente2026",
    ),
    (
        "cajero1.polanco",
        "Diego Castillo",
        Role::Cajero,
        1,
        "cajero2026",
    ),
    (
        "cajero2.polanco",
        "Fernanda Ruiz",
        Role::Cajero,
        1,
        "cajero2026",
    ),
    (
        "gerente.gdl",
        "Alejandro Navarro",
        Role::Gerente,
        2,
        "gerente2026",
    ),
    (
        "cajero1.gdl",
        "Valeria Gómez",
        Role::Cajero,
        2,
        "cajero2026",
    ),
    (
        "cajero2.gdl",
        "Emilio Torres",
        Role::Cajero,
        2,
        "cajero2026",
    ),
];

const TYPES: [&str; 15] = [
    "Oxford",
    "Derby",
    "Mocasín",
    "Bota",
    "Botín",
    "Tenis",
    "Sandalia",
    "Zapatilla",
    "Loafer",
    "Chelsea",
    "Balerina",
    "Huarache",
    "Alpargata",
    "Pantufla",
    "Choclo",
];
const BRANDS: [&str; 10] = [
    "Pronto",
    "Andaluz",
    "Flexi Andante",
    "Calzado Roma",
    "Pie Feliz",
    "Tacón de Oro",
    "Sendero",
    "Camino Real",
    "Norte Bravo",
    "Brisa",
];
const LINES: [&str; 10] = [
    "Clásico",
    "Urbano",
    "Confort",
    "Ejecutivo",
    "Casual",
    "Sport",
    "Elegance",
    "Trail",
    "Premium",
    "Básico",
];
const COLORS: [(&str, &str); 10] = [
    ("Negro", "NE"),
    ("Café", "CA"),
    ("Miel", "MI"),
    ("Blanco", "BL"),
    ("Azul marino", "AZ"),
    ("Gris", "GR"),
    ("Rojo", "RO"),
    ("Vino", "VI"),
    ("Beige", "BE"),
    ("Verde olivo", "VE"),
];
const FIRST_NAMES: [&str; 24] = [
    "María",
    "José",
    "Guadalupe",
    "Juan",
    "Ana",
    "Luis",
    "Sofía",
    "Carlos",
    "Camila",
    "Miguel",
    "Valentina",
    "Jesús",
    "Daniela",
    "Pedro",
    "Regina",
    "Francisco",
    "Ximena",
    "Javier",
    "Renata",
    "Ricardo",
    "Paola",
    "Andrés",
    "Natalia",
    "Héctor",
];
const LAST_NAMES: [&str; 24] = [
    "García",
    "Martínez",
    "López",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Jiménez",
    "Reyes",
    "Díaz",
    "Torres",
    "Gutiérrez",
    "Ruiz",
    "Mendoza",
    "Aguilar",
    "Ortiz",
    "Castillo",
    "Núñez",
];
const AREA_CODES: [&str; 3] = ["55", "33", "81"];

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
    let summary = load(&mut tx, &hashes, &SystemClock).await?;
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

fn uuid_from(rng: &mut ChaCha8Rng) -> Uuid {
    let mut bytes = [0_u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

async fn load(
    conn: &mut AnyConnection,
    hashes: &[String],
    clock: &dyn Clock,
) -> Result<Summary, AppError> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let now = clock.now_rfc3339();
    let stamp = HlcClock::new("demo").tick(u64::try_from(clock.now_ms()).unwrap_or(0));
    let mut seq = Seq::start(conn).await?;

    let mut store_ids = Vec::new();
    for (code, name) in STORES {
        let store = StoreRef {
            id: uuid_from(&mut rng),
            codigo: code.into(),
            nombre: name.into(),
        };
        stores::insert(conn, &store, &now).await?;
        store_ids.push(store.id);
    }

    for ((username, name, role, store, _), hash) in USERS.iter().zip(hashes) {
        let user = users::NewUser {
            id: uuid_from(&mut rng),
            username,
            display_name: name,
            password_hash: hash,
            role: *role,
            store_id: store_ids[*store],
        };
        users::insert(conn, &user, &now).await?;
    }

    let sizes: Vec<ShoeSize> = ShoeSize::all().collect();
    let mut product_ids = Vec::new();
    let mut models = 0;
    for (t, kind) in TYPES.iter().enumerate() {
        for (b, brand) in BRANDS.iter().enumerate() {
            models += 1;
            let line = LINES[rng.gen_range(0..LINES.len())];
            let price = rng.gen_range(499..=2899) * 100 - 10; // $498.90 … $2,898.90
            let mut palette = COLORS.to_vec();
            palette.shuffle(&mut rng);
            let colors = rng.gen_range(1..=3);
            let first = rng.gen_range(0..=8);
            let last = rng.gen_range((first + 8).min(16)..=16);
            for (color, color_code) in palette.into_iter().take(colors) {
                for size in &sizes[first..=last] {
                    let index = product_ids.len() as u64;
                    let input = ProductInput {
                        id: None,
                        sku: format!(
                            "{}-{}-{:03}-{color_code}-{}",
                            code3(brand),
                            code3(kind),
                            t * BRANDS.len() + b + 1,
                            size.tenths()
                        ),
                        codigo_barras: Ean13::from_first_12(BARCODE_BASE + index)
                            .map_err(|e| AppError::Internal(format!("demo barcode: {e}")))?
                            .to_string(),
                        nombre: format!("{kind} {brand} {line}"),
                        marca: (*brand).into(),
                        modelo: format!("{kind} {line}"),
                        color: color.into(),
                        talla: f64::from(*size),
                        precio: price,
                        imagen: None,
                        activo: true,
                        version: None,
                    };
                    let valid = input
                        .validate()
                        .map_err(|e| AppError::Internal(format!("demo product invalid: {e}")))?;
                    let id = uuid_from(&mut rng);
                    let at = WriteAt {
                        seq: seq.take(),
                        at: &now,
                        hlc: &stamp,
                    };
                    products::insert(conn, id, &valid, at).await?;
                    product_ids.push(id);
                }
            }
        }
    }

    let mut stock_rows = 0;
    for store in &store_ids {
        for product in &product_ids {
            let quantity = rng.gen_range(0..=12);
            stock::seed(conn, *store, *product, quantity, seq.take(), &now).await?;
            stock_rows += 1;
        }
    }

    let customer_count = 500;
    for _ in 0..customer_count {
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last1 = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let last2 = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let phone = format!(
            "{}{:08}",
            AREA_CODES[rng.gen_range(0..AREA_CODES.len())],
            rng.gen_range(0..100_000_000)
        );
        let email = rng.gen_bool(0.6).then(|| {
            format!(
                "{}.{}{}@correo.mx",
                ascii(first),
                ascii(last1),
                rng.gen_range(1..100)
            )
        });
        let rfc = rng.gen_bool(0.2).then(|| {
            let letters: String = [last1, last2, first]
                .iter()
                .flat_map(|w| ascii(w).to_uppercase().chars().take(2).collect::<Vec<_>>())
                .take(4)
                .collect();
            format!(
                "{letters}{:02}{:02}{:02}{}{}{}",
                rng.gen_range(50..=99),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28),
                char::from(b'A' + rng.gen_range(0..26)),
                char::from(b'A' + rng.gen_range(0..26)),
                rng.gen_range(0..10)
            )
        });
        let input = CustomerInput {
            id: None,
            nombre: format!("{first} {last1} {last2}"),
            telefono: Some(phone),
            email,
            rfc,
            notas: None,
            version: None,
        };
        let valid = input
            .validate()
            .map_err(|e| AppError::Internal(format!("demo customer invalid: {e}")))?;
        let points = rng.gen_range(0..2_000);
        let at = WriteAt {
            seq: seq.take(),
            at: &now,
            hlc: &stamp,
        };
        customers::insert(conn, uuid_from(&mut rng), &valid, points, at).await?;
    }
    seq.finish(conn).await?;

    Ok(Summary {
        stores: store_ids.len(),
        users: USERS.len(),
        models,
        products: product_ids.len(),
        customers: customer_count,
        stock_rows,
    })
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
