//! `/api/sales`: `venta`, insert-only. The totals rule lives here, once: the cashier's screen
//! shows what the server will compute, and the server refuses anything else.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{FieldErrors, Money, Price, Quantity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Efectivo,
    Tarjeta,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Efectivo => "efectivo",
            Self::Tarjeta => "tarjeta",
        }
    }
}

/// What a sales record is: a sale, or a return or void of one (DESIGN §3: new records, never
/// edits of the old).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SaleKind {
    #[default]
    Venta,
    Devolucion,
    Cancelacion,
}

impl SaleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Venta => "venta",
            Self::Devolucion => "devolucion",
            Self::Cancelacion => "cancelacion",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Venta, Self::Devolucion, Self::Cancelacion]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// How a sale was paid, derived from its payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PaymentKind {
    Efectivo,
    Tarjeta,
    Mixto,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Efectivo => "efectivo",
            Self::Tarjeta => "tarjeta",
            Self::Mixto => "mixto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaleLineInput {
    pub producto_id: Uuid,
    pub cantidad: i64,
    /// Price charged per pair, centavos (the price the cashier saw, even offline).
    pub precio_unitario: i64,
    /// Discount on this line, centavos (taken before the ticket discount).
    #[serde(default)]
    pub descuento: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    pub metodo: PaymentMethod,
    pub monto: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaleInput {
    /// Born on the device (UUIDv7): sending the same sale twice creates it once.
    pub id: Uuid,
    pub lineas: Vec<SaleLineInput>,
    pub pagos: Vec<PaymentInput>,
    #[serde(default)]
    pub cliente_id: Option<Uuid>,
    /// Discount on the whole sale, centavos.
    #[serde(default)]
    pub descuento: i64,
    /// A manager's approval, when the discounts are above the store's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autorizacion: Option<super::approval::Approval>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLine {
    pub product_id: Uuid,
    pub quantity: Quantity,
    pub unit_price: Price,
    /// The line's own discount.
    pub discount: Money,
    /// Quantity × unit price − the line's discount.
    pub amount: Money,
}

impl ValidLine {
    /// The line as a stored sale shows it, with the product's SKU and name at the time.
    pub fn line(&self, sku: String, nombre: String) -> SaleLine {
        SaleLine {
            producto_id: self.product_id,
            sku,
            nombre,
            cantidad: self.quantity.get(),
            precio_unitario: self.unit_price.centavos(),
            descuento: self.discount.centavos(),
            importe: self.amount.centavos(),
        }
    }
}

/// A sale whose arithmetic holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSale {
    pub lines: Vec<ValidLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
    pub paid: Money,
    pub change: Money,
    pub kind: PaymentKind,
}

impl SaleInput {
    pub const MAX_LINES: usize = 200;

    /// Totals and payments: at least one line; each line's discount between zero and its
    /// amount, the ticket discount between zero and the subtotal (of the discounted lines);
    /// payments positive; cards never pay more than the total (no change on a card); the
    /// payments cover the total; change comes out of cash only.
    pub fn validate(&self) -> Result<ValidSale, FieldErrors> {
        let mut e = FieldErrors::new();
        if self.lineas.is_empty() {
            e.add("lineas", "La venta no tiene productos.");
        }
        if self.lineas.len() > Self::MAX_LINES {
            e.add("lineas", "La venta tiene demasiadas líneas.");
        }
        let lines: Vec<ValidLine> = self
            .lineas
            .iter()
            .enumerate()
            .filter_map(|(i, line)| line.validate(i, &mut e))
            .collect();
        let subtotal = Money::from_centavos(lines.iter().map(|l| l.amount.centavos()).sum());
        if !(0..=subtotal.centavos()).contains(&self.descuento) {
            e.add("descuento", "El descuento debe ir de cero al subtotal.");
        }
        let discount = Money::from_centavos(self.descuento.clamp(0, subtotal.centavos().max(0)));
        let total = Money::from_centavos(subtotal.centavos() - discount.centavos());

        let (cash, card) = self.paid(&mut e);
        let paid = cash + card;
        if e.is_empty() {
            if card > total.centavos() {
                e.add(
                    "pagos",
                    "El pago con tarjeta no puede ser mayor que el total.",
                );
            } else if paid < total.centavos() {
                e.add(
                    "pagos",
                    format!(
                        "Faltan {} por pagar.",
                        Money::from_centavos(total.centavos() - paid).format_mxn()
                    ),
                );
            }
        }
        e.into_result()?;
        let kind = match (cash > 0, card > 0) {
            (true, true) => PaymentKind::Mixto,
            (false, true) => PaymentKind::Tarjeta,
            _ => PaymentKind::Efectivo,
        };
        Ok(ValidSale {
            lines,
            subtotal,
            discount,
            total,
            paid: Money::from_centavos(paid),
            change: Money::from_centavos(paid - total.centavos()),
            kind,
        })
    }
}

impl SaleInput {
    /// What was paid in cash and by card; a payment that is not positive is recorded.
    fn paid(&self, e: &mut FieldErrors) -> (i64, i64) {
        let (mut cash, mut card) = (0_i64, 0_i64);
        if self.pagos.is_empty() {
            e.add("pagos", "Falta registrar el pago.");
        }
        for (i, payment) in self.pagos.iter().enumerate() {
            if !(1..=Price::MAX_CENTAVOS * 10).contains(&payment.monto) {
                e.add(
                    format!("pagos[{i}].monto"),
                    "El importe del pago debe ser mayor que cero.",
                );
                continue;
            }
            match payment.metodo {
                PaymentMethod::Efectivo => cash += payment.monto,
                PaymentMethod::Tarjeta => card += payment.monto,
            }
        }
        (cash, card)
    }
}

impl SaleLineInput {
    /// Line `i` checked: quantity, price, and a discount between zero and its amount.
    fn validate(&self, i: usize, e: &mut FieldErrors) -> Option<ValidLine> {
        let qty = e.check(
            &format!("lineas[{i}].cantidad"),
            Quantity::new(self.cantidad),
        );
        let price = e.check(
            &format!("lineas[{i}].precio_unitario"),
            Price::new(self.precio_unitario),
        );
        let (quantity, unit_price) = (qty?, price?);
        // Bounded: 999 × $999,999.99 × 200 lines fits easily in i64.
        let gross = unit_price.centavos() * quantity.get();
        if !(0..=gross).contains(&self.descuento) {
            e.add(
                format!("lineas[{i}].descuento"),
                "El descuento de la línea debe ir de cero a su importe.",
            );
            return None;
        }
        Some(ValidLine {
            product_id: self.producto_id,
            quantity,
            unit_price,
            discount: Money::from_centavos(self.descuento),
            amount: Money::from_centavos(gross - self.descuento),
        })
    }
}

/// A sale's folio, `STORE-DEVICE-NUMBER`. A device's sales are numbered by their op's seq,
/// which the device knows when it records the sale: the receipt printed offline already
/// carries the folio the server will store (seqs are unique per device and never reused).
/// Sales through the REST API, without a device, are numbered by a per-store counter.
pub fn folio(store_code: &str, device_code: &str, number: u64) -> String {
    format!("{store_code}-{device_code}-{number:06}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleLine {
    pub producto_id: Uuid,
    pub sku: String,
    pub nombre: String,
    pub cantidad: i64,
    pub precio_unitario: i64,
    /// The line's discount; `importe` is net of it.
    #[serde(default)]
    pub descuento: i64,
    pub importe: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub metodo: PaymentMethod,
    pub monto: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sale {
    pub id: Uuid,
    /// `STORE-DEVICE-SEQ`.
    pub folio: String,
    pub tienda_id: Uuid,
    pub dispositivo_id: Option<Uuid>,
    pub cajero_id: Uuid,
    pub cliente_id: Option<Uuid>,
    pub lineas: Vec<SaleLine>,
    pub pagos: Vec<Payment>,
    pub forma_pago: PaymentKind,
    pub subtotal: i64,
    pub descuento: i64,
    pub total: i64,
    pub cambio: i64,
    /// RFC 3339, UTC.
    pub creada: String,
    /// A return or a void has positive quantities and amounts: the pairs that came back and
    /// the money handed back (`total`), and names the sale in `venta_original_id`.
    #[serde(default)]
    pub tipo: SaleKind,
    #[serde(default)]
    pub venta_original_id: Option<Uuid>,
    /// Why it was returned or voided.
    #[serde(default)]
    pub motivo: String,
    /// Whether its discounts needed a manager's approval and got a valid one.
    #[serde(default)]
    pub autorizacion: super::approval::ApprovalStatus,
    #[serde(default)]
    pub autorizo_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct SaleQuery {
    /// `YYYY-MM-DD` (UTC day); defaults to today.
    #[serde(default)]
    pub fecha: Option<String>,
    /// Defaults to the session's store.
    #[serde(default)]
    pub tienda_id: Option<Uuid>,
    /// At most this many sales per answer (default and maximum [`SALES_PAGE_MAX`]).
    #[serde(default)]
    pub limite: Option<i64>,
    /// The next page: the sales after this one (the last of the previous page), in the list's
    /// order (time, then folio).
    #[serde(default)]
    pub despues: Option<Uuid>,
}

/// Most sales one page of `GET /api/sales` holds: a busy store's day is 30,000 sales, which
/// whole took 1.4 s of SQL and tens of megabytes.
pub const SALES_PAGE_MAX: i64 = 500;

#[cfg(test)]
mod tests;
