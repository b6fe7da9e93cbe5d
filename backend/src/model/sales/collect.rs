//! A checked sale collected as rows of the batch: the sale, its lines, payments, stock
//! movements and the stock each row takes. Nothing refuses the sale once it is collected.

use pronto_shared::api::{
    approval::{self, ApprovalStatus},
    sales::{folio, Payment, Sale, SaleKind, SaleLine, ValidLine},
    stock::StockReason,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{NewSale, SaleWriter, SoldProduct, StockTake, API_DEVICE_CODE};
use crate::{db, model::approvals, rows::Cell, AppError};

/// The approval a sale carries as judged: its status and who approved.
type Judged = (ApprovalStatus, Option<Uuid>);

impl SaleWriter {
    /// Checks and collects a sale. `Ok((sale, created))`: `created` is false when the same
    /// cashier of the same store sent this sale id before (a retried request), and the first
    /// one is returned.
    pub async fn add(
        &mut self,
        conn: &mut AnyConnection,
        seqs: &mut db::ChangeSeqs,
        new: NewSale<'_>,
    ) -> Result<(Sale, bool), AppError> {
        if let Some(first) = self.existing(conn, new.id, new.ctx).await? {
            return Ok((first, false));
        }
        let sold = self.referenced(conn, &new).await?;
        let judged = self.judge(conn, &new, &sold).await?;
        // Checked: from here on nothing refuses the sale.
        let folio = self.folio_of(conn, &new).await?;
        let seq = seqs.next(conn).await?;
        self.push_sale(&new, &folio, seq, judged);
        let lines = self.push_lines(conn, seqs, &new, sold).await?;
        for (no, (method, amount)) in new.payments.iter().enumerate() {
            self.payments.push(vec![
                Cell::from(new.id.to_string()),
                Cell::from(no as i64),
                Cell::from(method.as_str()),
                Cell::from(*amount),
            ]);
        }
        let stored = record(&new, folio, lines, judged);
        self.collected.insert(new.id, stored.clone());
        Ok((stored, true))
    }

    /// The sale's customer and products, which must exist (deleted ones count).
    async fn referenced<'s>(
        &mut self,
        conn: &mut AnyConnection,
        new: &NewSale<'s>,
    ) -> Result<Vec<(&'s ValidLine, SoldProduct)>, AppError> {
        if let Some(customer) = new.customer_id {
            if !self.customer_exists(conn, customer).await? {
                let mut fields = pronto_shared::domain::FieldErrors::new();
                fields.add("cliente_id", "El cliente no existe.");
                return Err(fields.into());
            }
        }
        let mut sold = Vec::with_capacity(new.sale.lines.len());
        for (i, line) in new.sale.lines.iter().enumerate() {
            let Some(product) = self.product(conn, line.product_id).await? else {
                let mut fields = pronto_shared::domain::FieldErrors::new();
                fields.add(format!("lineas[{i}].producto_id"), "El producto no existe.");
                return Err(fields.into());
            };
            sold.push((line, product));
        }
        Ok(sold)
    }

    /// An approval never refuses a sale (the shoes left): a missing or bad one flags it.
    /// Returns and voids need none.
    async fn judge(
        &mut self,
        conn: &mut AnyConnection,
        new: &NewSale<'_>,
        sold: &[(&ValidLine, SoldProduct)],
    ) -> Result<Judged, AppError> {
        if new.kind != SaleKind::Venta {
            return Ok((ApprovalStatus::NoRequerida, None));
        }
        let store = new.ctx.store_id;
        let limit = match self.limits.get(&store) {
            Some(limit) => *limit,
            None => {
                let limit = approvals::limit(conn, store).await?;
                self.limits.insert(store, limit);
                limit
            }
        };
        let shortfall = approval::price_shortfall(new.sale, |product| {
            let sold = sold.iter().find(|(line, _)| line.product_id == product)?;
            approval::lowest_known(&sold.1.prices, new.ctx.price_floor)
        });
        approvals::judge(
            conn,
            store,
            limit,
            new.id,
            new.sale,
            shortfall,
            new.approval,
        )
        .await
    }

    /// The sale's folio: the device's op seq, or the next of the store's REST counter.
    async fn folio_of(
        &mut self,
        conn: &mut AnyConnection,
        new: &NewSale<'_>,
    ) -> Result<String, AppError> {
        let store_code = self.store_code(conn, new.ctx.store_id).await?;
        let device_code = new
            .ctx
            .device
            .as_ref()
            .map_or(API_DEVICE_CODE, |(_, code)| code.as_str())
            .to_owned();
        let number = match new.number {
            Some(seq) => seq,
            None => {
                let next = self
                    .next_folio(conn, new.ctx.store_id, &device_code)
                    .await?;
                self.folios
                    .insert((new.ctx.store_id, device_code.clone()), next);
                u64::try_from(next).unwrap_or_default()
            }
        };
        Ok(folio(&store_code, &device_code, number))
    }

    fn push_sale(&mut self, new: &NewSale<'_>, folio: &str, seq: i64, judged: Judged) {
        let (ctx, sale) = (new.ctx, new.sale);
        self.sales.push(vec![
            Cell::from(new.id.to_string()),
            Cell::from(folio),
            Cell::from(ctx.store_id.to_string()),
            Cell::from(ctx.device.as_ref().map(|(d, _)| d.to_string())),
            Cell::from(ctx.cashier_id.to_string()),
            Cell::from(new.customer_id.map(|c| c.to_string())),
            Cell::from(sale.kind.as_str()),
            Cell::from(sale.subtotal.centavos()),
            Cell::from(sale.discount.centavos()),
            Cell::from(sale.total.centavos()),
            Cell::from(sale.paid.centavos()),
            Cell::from(sale.change.centavos()),
            Cell::from(new.now),
            Cell::from(new.day),
            Cell::from(1),
            Cell::from(seq),
            Cell::from(new.kind.as_str()),
            Cell::from(new.original.map(|o| o.to_string())),
            Cell::from(new.reason),
            Cell::from(judged.0.as_str()),
            Cell::from(judged.1.map(|a| a.to_string())),
        ]);
    }

    /// Lines, their stock movements and the stock rows they take: stock leaves with a sale
    /// and comes back with a return or void.
    async fn push_lines(
        &mut self,
        conn: &mut AnyConnection,
        seqs: &mut db::ChangeSeqs,
        new: &NewSale<'_>,
        sold: Vec<(&ValidLine, SoldProduct)>,
    ) -> Result<Vec<SaleLine>, AppError> {
        let (sign, reason_moved) = match new.kind {
            SaleKind::Venta => (-1, StockReason::Venta),
            SaleKind::Devolucion | SaleKind::Cancelacion => (1, StockReason::Devolucion),
        };
        let (id, ctx) = (new.id, new.ctx);
        let mut lines = Vec::with_capacity(sold.len());
        for (no, (line, product)) in sold.into_iter().enumerate() {
            let delta = sign * line.quantity.get();
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
                Cell::from(crate::model::stock::line_movement_id(id, no).to_string()),
                Cell::from(ctx.store_id.to_string()),
                Cell::from(line.product_id.to_string()),
                Cell::from(delta),
                Cell::from(reason_moved.as_str()),
                Cell::from(""),
                Cell::from(id.to_string()),
                Cell::from(ctx.cashier_id.to_string()),
                Cell::from(new.now),
            ]);
            // Each stock row gets a change position of its own (pulls page by position); rows
            // touched again in the batch keep theirs, the whole batch commits at once.
            let key = (ctx.store_id, line.product_id);
            match self.stock.get_mut(&key) {
                Some(take) => {
                    take.delta += delta;
                    take.at = new.now.to_owned();
                }
                None => {
                    let seq = seqs.next(conn).await?;
                    let at = new.now.to_owned();
                    self.stock.insert(key, StockTake { delta, seq, at });
                }
            }
            lines.push(line.line(product.sku, product.name));
        }
        Ok(lines)
    }
}

/// The sale as stored, as the API and the devices see it.
fn record(new: &NewSale<'_>, folio: String, lines: Vec<SaleLine>, judged: Judged) -> Sale {
    let (ctx, sale) = (new.ctx, new.sale);
    Sale {
        id: new.id,
        folio,
        tienda_id: ctx.store_id,
        dispositivo_id: ctx.device.as_ref().map(|(d, _)| *d),
        cajero_id: ctx.cashier_id,
        cliente_id: new.customer_id,
        lineas: lines,
        pagos: new
            .payments
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
        creada: new.now.to_owned(),
        tipo: new.kind,
        venta_original_id: new.original,
        motivo: new.reason.to_owned(),
        autorizacion: judged.0,
        autorizo_id: judged.1,
    }
}
