//! Returns (`devolucion`) and voids (`cancelacion`): new sales-type records that name the
//! original sale, never edits of it. The refund rule lives here, once: the cashier's screen
//! shows the amount to hand back, offline too, and the server computes the same or refuses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::sales::{Payment, PaymentKind, PaymentMethod, Sale, SaleKind, ValidLine, ValidSale};
use crate::domain::{FieldErrors, Money, Price, Quantity};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    pub producto_id: Uuid,
    pub cantidad: i64,
}

/// Sent as a `ventas.Venta` op of kind `return` (the entity is the return's own id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// Born on the device, like a sale's.
    pub id: Uuid,
    /// The sale the pairs come back from.
    pub venta_id: Uuid,
    /// What comes back; ignored for a void, which takes back everything.
    #[serde(default)]
    pub lineas: Vec<ReturnLineInput>,
    /// How the money goes back.
    pub reembolso: PaymentMethod,
    pub motivo: String,
    /// A void: the whole sale, only while nothing of it was returned.
    #[serde(default)]
    pub cancelacion: bool,
}

/// A return whose arithmetic holds against its sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReturn {
    pub kind: SaleKind,
    /// Pairs coming back at the price they were sold for.
    pub lines: Vec<ValidLine>,
    /// What those pairs cost before the sale's ticket discount.
    pub subtotal: Money,
    /// Their share of the ticket discount.
    pub discount: Money,
    /// The money handed back.
    pub refund: Money,
    pub reason: String,
}

impl ValidReturn {
    /// The return as a sales record's totals, with its one refund payment by `method` (none
    /// when nothing is refunded: a sale discounted to zero).
    pub fn as_sale(&self, method: PaymentMethod) -> (ValidSale, Vec<(PaymentMethod, i64)>) {
        let sale = ValidSale {
            lines: self.lines.clone(),
            subtotal: self.subtotal,
            discount: self.discount,
            total: self.refund,
            paid: self.refund,
            change: Money::ZERO,
            kind: match method {
                PaymentMethod::Efectivo => PaymentKind::Efectivo,
                PaymentMethod::Tarjeta => PaymentKind::Tarjeta,
            },
        };
        let refund = self.refund.centavos();
        let payments = if refund > 0 {
            vec![(method, refund)]
        } else {
            Vec::new()
        };
        (sale, payments)
    }

    /// The record this return becomes (as the server stores it), for a device that must count
    /// it before the server answers: a second return of the same sale made offline.
    pub fn record(&self, sale: &Sale, id: Uuid, folio: String, method: PaymentMethod) -> Sale {
        let (totals, payments) = self.as_sale(method);
        let name_of = |product: Uuid| {
            sale.lineas
                .iter()
                .find(|l| l.producto_id == product)
                .map(|l| (l.sku.clone(), l.nombre.clone()))
                .unwrap_or_default()
        };
        Sale {
            id,
            folio,
            lineas: self
                .lines
                .iter()
                .map(|l| {
                    let (sku, nombre) = name_of(l.product_id);
                    l.line(sku, nombre)
                })
                .collect(),
            pagos: payments
                .into_iter()
                .map(|(metodo, monto)| Payment { metodo, monto })
                .collect(),
            forma_pago: totals.kind,
            subtotal: totals.subtotal.centavos(),
            descuento: totals.discount.centavos(),
            total: totals.total.centavos(),
            cambio: 0,
            tipo: self.kind,
            venta_original_id: Some(sale.id),
            motivo: self.reason.clone(),
            autorizacion: Default::default(),
            autorizo_id: None,
            ..sale.clone()
        }
    }
}

/// Pairs of each product still in `sale` after `earlier` returns of it.
pub fn returnable<'a>(
    sale: &Sale,
    earlier: impl IntoIterator<Item = &'a Sale>,
) -> BTreeMap<Uuid, i64> {
    let mut left: BTreeMap<Uuid, i64> = BTreeMap::new();
    for line in &sale.lineas {
        *left.entry(line.producto_id).or_default() += line.cantidad;
    }
    for back in earlier
        .into_iter()
        .filter(|r| r.venta_original_id == Some(sale.id))
    {
        for line in &back.lineas {
            *left.entry(line.producto_id).or_default() -= line.cantidad;
        }
    }
    left
}

/// Takes `quantity` pairs of `product` from what is `left` of the sale; records why not
/// (under line `i`) and returns false when they are not there to take.
fn take_from(
    left: &mut BTreeMap<Uuid, i64>,
    e: &mut FieldErrors,
    i: usize,
    product: Uuid,
    quantity: i64,
) -> bool {
    let field = format!("lineas[{i}].cantidad");
    if let Err(err) = Quantity::new(quantity) {
        e.add(field, err);
        return false;
    }
    match left.get_mut(&product) {
        None => {
            e.add(
                format!("lineas[{i}].producto_id"),
                "Ese producto no está en la venta.",
            );
            false
        }
        Some(n) if *n < quantity => {
            e.add(
                field,
                if *n <= 0 {
                    "Ya se devolvió todo de ese producto.".to_owned()
                } else {
                    format!("Solo quedan {n} por devolver.")
                },
            );
            false
        }
        Some(n) => {
            *n -= quantity;
            true
        }
    }
}

/// The returned pairs priced at the first sale lines of their product with pairs left
/// (`taken`: pairs already taken back per sale line), each at its share of the line's amount
/// net of the line's own discount.
fn priced(
    sale: &Sale,
    taken: &mut BTreeMap<usize, i64>,
    product: Uuid,
    quantity: i64,
) -> Vec<ValidLine> {
    let mut lines = Vec::new();
    let mut need = quantity;
    for (no, line) in sale.lineas.iter().enumerate() {
        if need == 0 {
            break;
        }
        if line.producto_id != product {
            continue;
        }
        let used = taken.entry(no).or_default();
        let here = (line.cantidad - *used).min(need);
        if here <= 0 {
            continue;
        }
        *used += here;
        need -= here;
        let sold = line.cantidad.max(1);
        let amount = (2 * line.importe * here + sold) / (2 * sold);
        let gross = line.precio_unitario * here;
        if let (Ok(quantity), Ok(unit_price)) =
            (Quantity::new(here), Price::new(line.precio_unitario))
        {
            lines.push(ValidLine {
                product_id: product,
                quantity,
                unit_price,
                discount: Money::from_centavos(gross - amount),
                amount: Money::from_centavos(amount),
            });
        }
    }
    lines
}

impl ReturnInput {
    pub const MAX_REASON: usize = 200;

    /// Checks the return against its sale and the returns already made of it (`earlier`;
    /// others are ignored) and computes the refund: the returned pairs at their sale price,
    /// less their share of the ticket discount (rounded to the centavo); the return that takes
    /// back the last pair refunds exactly what is left of the sale's total, so the refunds of
    /// a sale never add up to more than was paid.
    pub fn validate(&self, sale: &Sale, earlier: &[Sale]) -> Result<ValidReturn, FieldErrors> {
        let mut e = FieldErrors::new();
        if sale.tipo != SaleKind::Venta {
            e.add("venta_id", "Solo se devuelven ventas.");
            return Err(e);
        }
        let reason = e
            .check(
                "motivo",
                super::text(&self.motivo, Self::MAX_REASON, "El motivo"),
            )
            .unwrap_or_default();
        let earlier: Vec<&Sale> = earlier
            .iter()
            .filter(|r| r.venta_original_id == Some(sale.id))
            .collect();
        let mut left = returnable(sale, earlier.iter().copied());
        let wanted: Vec<(Uuid, i64)> = if self.cancelacion {
            if !earlier.is_empty() {
                e.add(
                    "cancelacion",
                    "La venta ya tiene devoluciones: devuelve lo que queda.",
                );
            }
            sale.lineas
                .iter()
                .map(|l| (l.producto_id, l.cantidad))
                .collect()
        } else {
            if self.lineas.is_empty() {
                e.add("lineas", "Elige qué se devuelve.");
            }
            self.lineas
                .iter()
                .map(|l| (l.producto_id, l.cantidad))
                .collect()
        };

        let mut taken: BTreeMap<usize, i64> = BTreeMap::new();
        let mut lines = Vec::new();
        for (i, (product, quantity)) in wanted.iter().enumerate() {
            if take_from(&mut left, &mut e, i, *product, *quantity) {
                lines.extend(priced(sale, &mut taken, *product, *quantity));
            }
        }
        e.into_result()?;

        let subtotal: i64 = lines.iter().map(|l| l.amount.centavos()).sum();
        let refunded: i64 = earlier.iter().map(|r| r.total).sum();
        let everything_back = left.values().all(|n| *n <= 0);
        let refund = if everything_back {
            sale.total - refunded
        } else if sale.subtotal > 0 {
            // Half-up rounding of subtotal × total / sale subtotal, in integers.
            (2 * subtotal * sale.total + sale.subtotal) / (2 * sale.subtotal)
        } else {
            0
        }
        .clamp(0, (sale.total - refunded).max(0));
        Ok(ValidReturn {
            kind: if self.cancelacion {
                SaleKind::Cancelacion
            } else {
                SaleKind::Devolucion
            },
            lines,
            subtotal: Money::from_centavos(subtotal),
            discount: Money::from_centavos(subtotal - refund),
            refund: Money::from_centavos(refund),
            reason,
        })
    }
}

#[cfg(test)]
mod tests;
