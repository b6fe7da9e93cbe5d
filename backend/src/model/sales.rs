//! Sales (`venta`): insert-only. A sale, its lines, its payments and the stock it takes are
//! written in one transaction; sending the same sale id again returns the first one.

use pronto_shared::api::{
    approval::{self, Approval, ApprovalStatus},
    returns::{ReturnInput, ValidReturn},
    sales::{folio, Payment, PaymentKind, PaymentMethod, Sale, SaleKind, SaleLine, ValidSale},
    stock::StockReason,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{
    db,
    model::{approvals, stores},
    rows::{Cell, Rows},
    AppError,
};

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

const SALE_COLUMNS: &[&str] = &[
    "id",
    "folio",
    "store_id",
    "device_id",
    "cashier_id",
    "customer_id",
    "payment_kind",
    "subtotal",
    "discount",
    "total",
    "paid",
    "change_due",
    "created_at",
    "day",
    "version",
    "change_seq",
    "kind",
    "original_sale_id",
    "reason",
    "approval",
    "approved_by",
];
const LINE_COLUMNS: &[&str] = &[
    "sale_id",
    "line_no",
    "product_id",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "amount",
    "discount",
];
const PAYMENT_COLUMNS: &[&str] = &["sale_id", "line_no", "method", "amount"];
const MOVEMENT_COLUMNS: &[&str] = &[
    "id",
    "store_id",
    "product_id",
    "delta",
    "reason",
    "note",
    "sale_id",
    "user_id",
    "created_at",
];
const STOCK_COLUMNS: &[&str] = &[
    "store_id",
    "product_id",
    "quantity",
    "version",
    "change_seq",
    "updated_at",
];
const STOCK_UPSERT: &str = "ON CONFLICT (store_id, product_id) DO UPDATE SET \
     quantity = stock.quantity + excluded.quantity, version = stock.version + 1, \
     change_seq = excluded.change_seq, updated_at = excluded.updated_at";

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
    /// Sale ids already stored: (store, cashier).
    stored: HashMap<Uuid, (Uuid, Uuid)>,
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
            sales: Rows::new("sales", SALE_COLUMNS),
            lines: Rows::new("sale_lines", LINE_COLUMNS),
            payments: Rows::new("sale_payments", PAYMENT_COLUMNS),
            movements: Rows::new("stock_movements", MOVEMENT_COLUMNS),
        }
    }

    /// Reads, in two queries, the products and the already stored sale ids a batch refers to.
    pub async fn prefetch(
        &mut self,
        conn: &mut AnyConnection,
        product_ids: &[Uuid],
        sale_ids: &[Uuid],
    ) -> Result<(), AppError> {
        let wanted: Vec<Uuid> = product_ids
            .iter()
            .filter(|id| !self.products.contains_key(id))
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in wanted.chunks(500) {
            let rows: Vec<(String, String, String)> = db::in_query(
                conn,
                "SELECT id, sku, name FROM products WHERE id IN",
                chunk,
            )
            .await?;
            for id in chunk {
                self.products.insert(*id, None);
            }
            let mut prices = price_history(conn, chunk).await?;
            for (id, sku, name) in rows {
                let id = db::uuid(&id)?;
                let prices = prices.remove(&id).unwrap_or_default();
                self.products
                    .insert(id, Some(SoldProduct { sku, name, prices }));
            }
        }
        for chunk in sale_ids.chunks(500) {
            let rows: Vec<(String, String, String)> = db::in_query(
                conn,
                "SELECT id, store_id, cashier_id FROM sales WHERE id IN",
                chunk,
            )
            .await?;
            for (id, store, cashier) in rows {
                self.stored
                    .insert(db::uuid(&id)?, (db::uuid(&store)?, db::uuid(&cashier)?));
            }
        }
        Ok(())
    }

    async fn product(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
    ) -> Result<Option<SoldProduct>, AppError> {
        if let Some(known) = self.products.get(&id) {
            return Ok(known.clone());
        }
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT sku, name FROM products WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        let mut prices = price_history(conn, &[id]).await?;
        let product = row.map(|(sku, name)| SoldProduct {
            sku,
            name,
            prices: prices.remove(&id).unwrap_or_default(),
        });
        self.products.insert(id, product.clone());
        Ok(product)
    }

    async fn customer_exists(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
    ) -> Result<bool, AppError> {
        if self.customers.contains(&id) {
            return Ok(true);
        }
        // Only a found customer is remembered: one created later in the batch must be seen.
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        if found.is_some() {
            self.customers.insert(id);
        }
        Ok(found.is_some())
    }

    async fn store_code(
        &mut self,
        conn: &mut AnyConnection,
        store: Uuid,
    ) -> Result<String, AppError> {
        if let Some(code) = self.store_codes.get(&store) {
            return Ok(code.clone());
        }
        let code = stores::code(conn, store).await?;
        self.store_codes.insert(store, code.clone());
        Ok(code)
    }

    /// The next folio number of (store, device): the counter row is read on first use with a
    /// no-op upsert, which locks it on PostgreSQL until commit, so concurrent writers queue
    /// instead of taking the same number.
    async fn next_folio(
        &mut self,
        conn: &mut AnyConnection,
        store: Uuid,
        device_code: &str,
    ) -> Result<i64, AppError> {
        let key = (store, device_code.to_owned());
        let last = match self.folios.get(&key) {
            Some(last) => *last,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO folio_counters (store_id, device_code, value) VALUES ($1, $2, 0) \
                     ON CONFLICT (store_id, device_code) DO UPDATE SET value = folio_counters.value \
                     RETURNING value",
                )
                .bind(store.to_string())
                .bind(device_code)
                .fetch_one(&mut *conn)
                .await?
            }
        };
        Ok(last + 1)
    }

    /// The record already stored or collected under `id` when the same cashier of the same
    /// store sent it before (a retried request); someone else's is a conflict.
    async fn existing(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
        ctx: &SaleContext,
    ) -> Result<Option<Sale>, AppError> {
        let same_seller =
            |store: Uuid, cashier: Uuid| store == ctx.store_id && cashier == ctx.cashier_id;
        let taken = Err(AppError::Conflict(
            "Ya existe otra venta con ese id.".into(),
        ));
        if let Some(first) = self.collected.get(&id) {
            return if same_seller(first.tienda_id, first.cajero_id) {
                Ok(Some(first.clone()))
            } else {
                taken
            };
        }
        let stored = match self.stored.get(&id) {
            Some(seller) => Some(*seller),
            None => {
                let row: Option<(String, String)> =
                    sqlx::query_as("SELECT store_id, cashier_id FROM sales WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                row.map(|(s, c)| Ok::<_, AppError>((db::uuid(&s)?, db::uuid(&c)?)))
                    .transpose()?
            }
        };
        let Some((store, cashier)) = stored else {
            return Ok(None);
        };
        if !same_seller(store, cashier) {
            return taken;
        }
        let first = get(conn, id)
            .await?
            .ok_or_else(|| AppError::Internal("stored sale vanished".into()))?;
        Ok(Some(first))
    }

    /// Checks a return or void against its sale and the returns of it stored or collected
    /// before (shared `ReturnInput::validate`): `Ok(Err(record))` when this return id was
    /// recorded before by the same cashier (a retried request), `Ok(Ok(valid))` otherwise.
    pub async fn check_return(
        &mut self,
        conn: &mut AnyConnection,
        input: &ReturnInput,
        ctx: &SaleContext,
    ) -> Result<Result<(ValidReturn, Sale), Sale>, AppError> {
        if let Some(first) = self.existing(conn, input.id, ctx).await? {
            return Ok(Err(first));
        }
        let sale = match self.collected.get(&input.venta_id) {
            Some(sale) => Some(sale.clone()),
            None => get(conn, input.venta_id).await?,
        };
        let mut fields = pronto_shared::domain::FieldErrors::new();
        let Some(sale) = sale else {
            fields.add("venta_id", "La venta no existe.");
            return Err(fields.into());
        };
        if sale.tienda_id != ctx.store_id {
            fields.add("venta_id", "La venta es de otra tienda.");
            return Err(fields.into());
        }
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM sales WHERE original_sale_id = $1")
                .bind(sale.id.to_string())
                .fetch_all(&mut *conn)
                .await?;
        // The earlier returns with their lines in three queries, however many there are.
        let ids = ids
            .iter()
            .map(|id| db::uuid(id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut earlier = get_many(conn, &ids).await?;
        earlier.extend(
            self.collected
                .values()
                .filter(|r| r.venta_original_id == Some(sale.id))
                .cloned(),
        );
        let valid = input.validate(&sale, &earlier)?;
        Ok(Ok((valid, sale)))
    }

    /// Checks and collects a sale. `Ok((sale, created))`: `created` is false when the same
    /// cashier of the same store sent this sale id before (a retried request), and the first
    /// one is returned.
    pub async fn add(
        &mut self,
        conn: &mut AnyConnection,
        seqs: &mut db::ChangeSeqs,
        new: NewSale<'_>,
    ) -> Result<(Sale, bool), AppError> {
        let NewSale {
            id,
            number,
            ctx,
            sale,
            payments,
            customer_id,
            now,
            day,
            kind,
            original,
            reason,
            approval,
        } = new;
        if let Some(first) = self.existing(conn, id, ctx).await? {
            return Ok((first, false));
        }
        if let Some(customer) = customer_id {
            if !self.customer_exists(conn, customer).await? {
                let mut fields = pronto_shared::domain::FieldErrors::new();
                fields.add("cliente_id", "El cliente no existe.");
                return Err(fields.into());
            }
        }
        let mut sold = Vec::with_capacity(sale.lines.len());
        for (i, line) in sale.lines.iter().enumerate() {
            let Some(product) = self.product(conn, line.product_id).await? else {
                let mut fields = pronto_shared::domain::FieldErrors::new();
                fields.add(format!("lineas[{i}].producto_id"), "El producto no existe.");
                return Err(fields.into());
            };
            sold.push((line, product));
        }

        // An approval never refuses a sale (the shoes left): a missing or bad one flags it.
        let (approval, approved_by) = if kind == SaleKind::Venta {
            let limit = match self.limits.get(&ctx.store_id) {
                Some(limit) => *limit,
                None => {
                    let limit = approvals::limit(conn, ctx.store_id).await?;
                    self.limits.insert(ctx.store_id, limit);
                    limit
                }
            };
            let shortfall = approval::price_shortfall(sale, |product| {
                let sold = sold.iter().find(|(line, _)| line.product_id == product)?;
                approval::lowest_known(&sold.1.prices, ctx.price_floor)
            });
            approvals::judge(conn, ctx.store_id, limit, id, sale, shortfall, approval).await?
        } else {
            (ApprovalStatus::NoRequerida, None)
        };

        // Checked: from here on nothing refuses the sale.
        // Stock leaves with a sale and comes back with a return or void.
        let (sign, reason_moved) = match kind {
            SaleKind::Venta => (-1, StockReason::Venta),
            SaleKind::Devolucion | SaleKind::Cancelacion => (1, StockReason::Devolucion),
        };
        let delta = |quantity: i64| sign * quantity;
        let store_code = self.store_code(conn, ctx.store_id).await?;
        let device_code = ctx
            .device
            .as_ref()
            .map_or(API_DEVICE_CODE, |(_, code)| code.as_str())
            .to_owned();
        let number = match number {
            Some(seq) => seq,
            None => {
                let next = self.next_folio(conn, ctx.store_id, &device_code).await?;
                self.folios
                    .insert((ctx.store_id, device_code.clone()), next);
                u64::try_from(next).unwrap_or_default()
            }
        };
        let folio = folio(&store_code, &device_code, number);
        let seq = seqs.next(conn).await?;
        self.sales.push(vec![
            Cell::from(id.to_string()),
            Cell::from(folio.as_str()),
            Cell::from(ctx.store_id.to_string()),
            Cell::from(ctx.device.as_ref().map(|(d, _)| d.to_string())),
            Cell::from(ctx.cashier_id.to_string()),
            Cell::from(customer_id.map(|c| c.to_string())),
            Cell::from(sale.kind.as_str()),
            Cell::from(sale.subtotal.centavos()),
            Cell::from(sale.discount.centavos()),
            Cell::from(sale.total.centavos()),
            Cell::from(sale.paid.centavos()),
            Cell::from(sale.change.centavos()),
            Cell::from(now),
            Cell::from(day),
            Cell::from(1),
            Cell::from(seq),
            Cell::from(kind.as_str()),
            Cell::from(original.map(|o| o.to_string())),
            Cell::from(reason),
            Cell::from(approval.as_str()),
            Cell::from(approved_by.map(|a| a.to_string())),
        ]);
        let mut lines = Vec::with_capacity(sold.len());
        for (no, (line, product)) in sold.into_iter().enumerate() {
            self.lines.push(vec![
                Cell::from(id.to_string()),
                Cell::from(no as i64),
                Cell::from(line.product_id.to_string()),
                Cell::from(product.sku.as_str()),
                Cell::from(product.name.as_str()),
                Cell::from(line.quantity.get()),
                Cell::from(line.unit_price.centavos()),
                Cell::from(line.amount.centavos()),
                Cell::from(line.discount.centavos()),
            ]);
            self.movements.push(vec![
                Cell::from(super::stock::line_movement_id(id, no).to_string()),
                Cell::from(ctx.store_id.to_string()),
                Cell::from(line.product_id.to_string()),
                Cell::from(delta(line.quantity.get())),
                Cell::from(reason_moved.as_str()),
                Cell::from(""),
                Cell::from(id.to_string()),
                Cell::from(ctx.cashier_id.to_string()),
                Cell::from(now),
            ]);
            // Each stock row gets a change position of its own (pulls page by position); rows
            // touched again in the batch keep theirs, the whole batch commits at once.
            let key = (ctx.store_id, line.product_id);
            match self.stock.get_mut(&key) {
                Some(take) => {
                    take.delta += delta(line.quantity.get());
                    take.at = now.to_owned();
                }
                None => {
                    let seq = seqs.next(conn).await?;
                    self.stock.insert(
                        key,
                        StockTake {
                            delta: delta(line.quantity.get()),
                            seq,
                            at: now.to_owned(),
                        },
                    );
                }
            }
            lines.push(line.line(product.sku, product.name));
        }
        for (no, (method, amount)) in payments.iter().enumerate() {
            self.payments.push(vec![
                Cell::from(id.to_string()),
                Cell::from(no as i64),
                Cell::from(method.as_str()),
                Cell::from(*amount),
            ]);
        }
        let stored = Sale {
            id,
            folio,
            tienda_id: ctx.store_id,
            dispositivo_id: ctx.device.as_ref().map(|(d, _)| *d),
            cajero_id: ctx.cashier_id,
            cliente_id: customer_id,
            lineas: lines,
            pagos: payments
                .iter()
                .map(|(metodo, monto)| Payment {
                    metodo: *metodo,
                    monto: *monto,
                })
                .collect(),
            forma_pago: sale.kind,
            subtotal: sale.subtotal.centavos(),
            descuento: sale.discount.centavos(),
            total: sale.total.centavos(),
            cambio: sale.change.centavos(),
            creada: now.to_owned(),
            tipo: kind,
            venta_original_id: original,
            motivo: reason.to_owned(),
            autorizacion: approval,
            autorizo_id: approved_by,
        };
        self.collected.insert(id, stored.clone());
        Ok((stored, true))
    }

    /// Adds the collected sales' stock takes to the stock rows now (before a stock op of the
    /// same batch reads a quantity).
    pub async fn flush_stock(&mut self, conn: &mut AnyConnection) -> Result<(), AppError> {
        if self.stock.is_empty() {
            return Ok(());
        }
        let mut rows = Rows::with_suffix("stock", STOCK_COLUMNS, STOCK_UPSERT);
        for ((store, product), take) in std::mem::take(&mut self.stock) {
            rows.push(vec![
                Cell::from(store.to_string()),
                Cell::from(product.to_string()),
                Cell::from(take.delta),
                Cell::from(1),
                Cell::from(take.seq),
                Cell::from(take.at),
            ]);
        }
        rows.flush(conn).await
    }

    /// Writes everything collected; call before committing.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), AppError> {
        if !self.folios.is_empty() {
            let mut counters = Rows::with_suffix(
                "folio_counters",
                &["store_id", "device_code", "value"],
                "ON CONFLICT (store_id, device_code) DO UPDATE SET value = excluded.value",
            );
            for ((store, code), last) in std::mem::take(&mut self.folios) {
                counters.push(vec![
                    Cell::from(store.to_string()),
                    Cell::from(code),
                    Cell::from(last),
                ]);
            }
            counters.flush(conn).await?;
        }
        self.sales.flush(conn).await?;
        self.lines.flush(conn).await?;
        self.payments.flush(conn).await?;
        self.movements.flush(conn).await?;
        self.flush_stock(conn).await?;
        self.collected.clear();
        Ok(())
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

const COLUMNS: &str =
    "id, folio, store_id, device_id, cashier_id, customer_id, payment_kind, subtotal, \
     discount, total, change_due, created_at, kind, original_sale_id, reason, approval, \
     approved_by";

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Sale>, AppError> {
    Ok(get_many(conn, &[id]).await?.pop())
}

/// Sales by id with their lines and payments: three queries for a whole pull page instead of
/// three per sale. Ids not stored are left out; order is the database's.
pub async fn get_many(conn: &mut AnyConnection, ids: &[Uuid]) -> Result<Vec<Sale>, AppError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(DETAIL_CHUNK) {
        let head = format!("SELECT {COLUMNS} FROM sales WHERE id IN");
        rows.extend(db::rows_in(conn, &head, chunk).await?);
    }
    with_details(conn, &rows).await
}

/// A store's sales of one UTC day, oldest first.
/// One page of a store's sales of `day`, in time then folio order: at most `limit`, after the
/// sale `after` (keyset paging: a page costs the same however deep it is). A sale `after` of
/// another store or day starts from the beginning.
pub async fn list_by_day(
    conn: &mut AnyConnection,
    store_id: Uuid,
    day: &str,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<Sale>, AppError> {
    let mark: Option<(String, String)> =
        match after {
            Some(id) => sqlx::query_as(
                "SELECT created_at, folio FROM sales WHERE id = $1 AND store_id = $2 AND day = $3",
            )
            .bind(id.to_string())
            .bind(store_id.to_string())
            .bind(day)
            .fetch_optional(&mut *conn)
            .await?,
            None => None,
        };
    let (at, folio) = mark.unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sales WHERE store_id = $1 AND day = $2 \
         AND (created_at > $3 OR (created_at = $3 AND folio > $4)) \
         ORDER BY created_at, folio LIMIT $5"
    ))
    .bind(store_id.to_string())
    .bind(day)
    .bind(at)
    .bind(folio)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    with_details(conn, &rows).await
}

/// Ids per `IN (…)` list when loading details.
const DETAIL_CHUNK: usize = 500;

type LineRow = (String, i64, String, String, String, i64, i64, i64, i64);

/// The sales of `rows` with their lines and payments, loaded for all of them at once.
async fn with_details(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<Sale>, AppError> {
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(db::uuid(&row.try_get::<String, _>("id")?)?);
    }
    let mut lines: HashMap<String, Vec<(i64, SaleLine)>> = HashMap::new();
    let mut payments: HashMap<String, Vec<(i64, String, i64)>> = HashMap::new();
    for chunk in ids.chunks(DETAIL_CHUNK) {
        let found: Vec<LineRow> = db::in_query(
            conn,
            "SELECT sale_id, line_no, product_id, sku, name, quantity, unit_price, amount, discount \
             FROM sale_lines WHERE sale_id IN",
            chunk,
        )
        .await?;
        for (sale, line_no, product, sku, nombre, cantidad, precio_unitario, importe, descuento) in
            found
        {
            let line = SaleLine {
                producto_id: db::uuid(&product)?,
                sku,
                nombre,
                cantidad,
                precio_unitario,
                descuento,
                importe,
            };
            lines.entry(sale).or_default().push((line_no, line));
        }
        let found: Vec<(String, i64, String, i64)> = db::in_query(
            conn,
            "SELECT sale_id, line_no, method, amount FROM sale_payments WHERE sale_id IN",
            chunk,
        )
        .await?;
        for (sale, line_no, method, amount) in found {
            payments
                .entry(sale)
                .or_default()
                .push((line_no, method, amount));
        }
    }
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let mut sale_lines = lines.remove(&id).unwrap_or_default();
            sale_lines.sort_by_key(|(no, _)| *no);
            let mut sale_payments = payments.remove(&id).unwrap_or_default();
            sale_payments.sort_by_key(|(no, _, _)| *no);
            from_row(
                row,
                sale_lines.into_iter().map(|(_, line)| line).collect(),
                sale_payments
                    .into_iter()
                    .map(|(_, method, amount)| (method, amount))
                    .collect(),
            )
        })
        .collect()
}

fn from_row(
    row: &AnyRow,
    lines: Vec<SaleLine>,
    payments: Vec<(String, i64)>,
) -> Result<Sale, AppError> {
    let id: String = row.try_get("id")?;
    let opt_uuid = |value: Option<String>| value.as_deref().map(db::uuid).transpose();
    let kind: String = row.try_get("payment_kind")?;
    Ok(Sale {
        id: db::uuid(&id)?,
        folio: row.try_get("folio")?,
        tienda_id: db::uuid(&row.try_get::<String, _>("store_id")?)?,
        dispositivo_id: opt_uuid(row.try_get("device_id")?)?,
        cajero_id: db::uuid(&row.try_get::<String, _>("cashier_id")?)?,
        cliente_id: opt_uuid(row.try_get("customer_id")?)?,
        lineas: lines,
        pagos: payments
            .into_iter()
            .map(|(method, monto)| {
                let metodo = match method.as_str() {
                    "efectivo" => PaymentMethod::Efectivo,
                    "tarjeta" => PaymentMethod::Tarjeta,
                    other => {
                        return Err(AppError::Internal(format!(
                            "stored payment method {other:?}"
                        )))
                    }
                };
                Ok(Payment { metodo, monto })
            })
            .collect::<Result<_, AppError>>()?,
        forma_pago: match kind.as_str() {
            "efectivo" => PaymentKind::Efectivo,
            "tarjeta" => PaymentKind::Tarjeta,
            "mixto" => PaymentKind::Mixto,
            other => return Err(AppError::Internal(format!("stored payment kind {other:?}"))),
        },
        subtotal: row.try_get("subtotal")?,
        descuento: row.try_get("discount")?,
        total: row.try_get("total")?,
        cambio: row.try_get("change_due")?,
        creada: row.try_get("created_at")?,
        tipo: {
            let kind: String = row.try_get("kind")?;
            SaleKind::parse(&kind)
                .ok_or_else(|| AppError::Internal(format!("stored sale kind {kind:?}")))?
        },
        venta_original_id: opt_uuid(row.try_get("original_sale_id")?)?,
        motivo: row.try_get("reason")?,
        autorizacion: {
            let status: String = row.try_get("approval")?;
            ApprovalStatus::parse(&status)
                .ok_or_else(|| AppError::Internal(format!("stored approval {status:?}")))?
        },
        autorizo_id: opt_uuid(row.try_get("approved_by")?)?,
    })
}

/// Every price of these products, oldest first, in one query.
async fn price_history(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(i64, i64)>>, AppError> {
    let rows: Vec<(String, i64, i64)> = db::in_query(
        conn,
        "SELECT product_id, from_seq, price_centavos FROM product_prices WHERE product_id IN",
        ids,
    )
    .await?;
    let mut history: HashMap<Uuid, Vec<(i64, i64)>> = HashMap::new();
    for (id, from, price) in rows {
        history
            .entry(db::uuid(&id)?)
            .or_default()
            .push((from, price));
    }
    for prices in history.values_mut() {
        prices.sort_unstable();
    }
    Ok(history)
}
