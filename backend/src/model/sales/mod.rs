//! Sales (`venta`): insert-only. A sale, its lines, its payments and the stock it takes are
//! written in one transaction; sending the same sale id again returns the first one.

//!
//! - `writer.rs`: what a sale is checked against (products, customers, earlier sales, returns);
//! - `collect.rs`: a checked sale collected as rows; `flush.rs`: the rows written;
//! - `read.rs`: sales read back (by id, by day).

use std::collections::{BTreeMap, HashMap, HashSet};

use pronto_shared::api::{
    approval::Approval,
    sales::{PaymentMethod, Sale, SaleKind, ValidSale},
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, rows::Rows, AppError};

mod collect;
mod flush;
mod read;
mod writer;

pub use read::{get, get_many, list_by_day};

/// Who sold, where, and on which device (`None`: straight through the REST API).
pub struct SaleContext {
    pub store_id: Uuid,
    pub cashier_id: Uuid,
    pub device: Option<(Uuid, String)>,
    /// The catalog position the device had surely pulled when it made the sale (its prices
    /// and every later one are prices it could have known); `None` for REST, which sells at
    /// today's prices.
    pub price_floor: Option<i64>,
}

/// Device code used in folios of sales made through the REST API without a device.
pub const API_DEVICE_CODE: &str = "API";

/// A sale to write: who, where, what was validated, how it was paid.
pub struct NewSale<'a> {
    pub id: Uuid,
    /// The folio number: the op's seq for a device's sale (see [`folio`]); `None` takes the
    /// next of the store's counter (sales through the REST API).
    pub number: Option<u64>,
    pub ctx: &'a SaleContext,
    pub sale: &'a ValidSale,
    pub payments: &'a [(PaymentMethod, i64)],
    pub customer_id: Option<Uuid>,
    pub now: &'a str,
    pub day: &'a str,
    /// A sale, or a return or void of `original` (pairs come back, money goes out).
    pub kind: SaleKind,
    pub original: Option<Uuid>,
    pub reason: &'a str,
    /// A manager's signed approval of the discounts (sales above the store's limit).
    pub approval: Option<&'a Approval>,
}

/// What a sale needs to know of a product: its SKU and name at the time of sale.
#[derive(Debug, Clone)]
struct SoldProduct {
    sku: String,
    name: String,
    /// Every price it had: (change position, price), oldest first.
    prices: Vec<(i64, i64)>,
}

/// The stock a batch's sales take from one row, added up.
#[derive(Debug, Clone)]
struct StockTake {
    delta: i64,
    seq: i64,
    at: String,
}

/// Sales of one write transaction, checked one by one as they come and written together by
/// [`SaleWriter::flush`] — sale rows, lines, payments, stock movements and one upsert per
/// stock row — as multi-row statements. A sale is refused only before anything of it is
/// collected (unknown product or customer, an id sold by someone else), so a refused sale
/// needs no savepoint, and a batch of sales costs a handful of statements instead of fifteen
/// per sale. Deleted products and customers still count as existing: a sale made offline
/// before they were deleted is recorded, never lost.
#[derive(Debug)]
pub struct SaleWriter {
    store_codes: HashMap<Uuid, String>,
    /// Discount limit per store, percent.
    limits: HashMap<Uuid, i64>,
    products: HashMap<Uuid, Option<SoldProduct>>,
    customers: HashSet<Uuid>,
    /// Sale ids looked up: (store, cashier) when stored, `None` when not (as of the lookup,
    /// in this transaction).
    stored: HashMap<Uuid, Option<(Uuid, Uuid)>>,
    /// Sales collected here, by id.
    collected: HashMap<Uuid, Sale>,
    /// Last folio number per (store, device code); the counter rows are locked on first use.
    folios: BTreeMap<(Uuid, String), i64>,
    stock: BTreeMap<(Uuid, Uuid), StockTake>,
    sales: Rows,
    lines: Rows,
    payments: Rows,
    movements: Rows,
}

impl Default for SaleWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl SaleWriter {
    pub fn new() -> Self {
        Self {
            store_codes: HashMap::new(),
            limits: HashMap::new(),
            products: HashMap::new(),
            customers: HashSet::new(),
            stored: HashMap::new(),
            collected: HashMap::new(),
            folios: BTreeMap::new(),
            stock: BTreeMap::new(),
            sales: Rows::new("sales", flush::SALE_COLUMNS),
            lines: Rows::new("sale_lines", flush::LINE_COLUMNS),
            payments: Rows::new("sale_payments", flush::PAYMENT_COLUMNS),
            movements: Rows::new("stock_movements", flush::MOVEMENT_COLUMNS),
        }
    }
}

/// Creates one sale in the caller's transaction (the REST API): a writer of one.
pub async fn create(conn: &mut AnyConnection, new: NewSale<'_>) -> Result<(Sale, bool), AppError> {
    let mut writer = SaleWriter::new();
    let mut seqs = db::ChangeSeqs::default();
    let outcome = writer.add(conn, &mut seqs, new).await?;
    writer.flush(conn).await?;
    Ok(outcome)
}
