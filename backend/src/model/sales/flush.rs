//! The collected rows written as multi-row statements, in the order their references need.

use sqlx::AnyConnection;

use super::SaleWriter;
use crate::{
    rows::{Cell, Rows},
    AppError,
};

pub(super) const SALE_COLUMNS: &[&str] = &[
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
pub(super) const LINE_COLUMNS: &[&str] = &[
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
pub(super) const PAYMENT_COLUMNS: &[&str] = &["sale_id", "line_no", "method", "amount"];
pub(super) const MOVEMENT_COLUMNS: &[&str] = &[
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

impl SaleWriter {
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
        rows.flush(conn).await?;
        Ok(())
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
