//! What a sale is checked against: its products (with their price history), its customer,
//! the sale id stored or collected before, and for a return the sale and its earlier returns.
//! Each is read once per batch and remembered.

use std::collections::{BTreeSet, HashMap};

use pronto_shared::api::{
    returns::{ReturnInput, ValidReturn},
    sales::Sale,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{get, get_many, SaleContext, SaleWriter, SoldProduct};
use crate::{db, model::stores, AppError};

impl SaleWriter {
    /// Reads, in two queries, the products and the sale ids a batch refers to (stored or not).
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
            // Absent ids are remembered too: a batch of new sales then reads none of them
            // again one by one (`existing`).
            for id in chunk {
                self.stored.entry(*id).or_insert(None);
            }
            for (id, store, cashier) in rows {
                self.stored.insert(
                    db::uuid(&id)?,
                    Some((db::uuid(&store)?, db::uuid(&cashier)?)),
                );
            }
        }
        Ok(())
    }

    pub(super) async fn product(
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

    /// A customer this batch created (collected, written before the sales): a sale may name
    /// them.
    pub fn customer_created(&mut self, id: Uuid) {
        self.customers.insert(id);
    }

    pub(super) async fn customer_exists(
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

    pub(super) async fn store_code(
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
    pub(super) async fn next_folio(
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
    pub(super) async fn existing(
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
            Some(known) => *known,
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
