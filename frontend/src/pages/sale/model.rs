//! What the sale screen works with: cart lines, the size grid, the receipt, and the small
//! rules of what the cashier types (percent discounts, amounts).

use pronto_shared::{
    api::{
        approval::SalesPolicy,
        products::Product,
        sales::{PaymentMethod, SaleInput, ValidSale},
    },
    domain::{Money, ShoeSize},
};
use serde_json::Value;

/// Models shown at once in the search results.
pub(super) const RESULTS: usize = 12;
/// Variants read for one search, grouped into models: enough for a dozen models of a full size
/// run in three colours.
pub(super) const VARIANTS_READ: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct CartLine {
    pub(super) product: Product,
    pub(super) quantity: i64,
    /// The line's discount as typed, in percent ("" for none).
    pub(super) discount: String,
}

impl CartLine {
    pub(super) fn gross(&self) -> i64 {
        self.product.precio * self.quantity
    }

    /// The line's discount in centavos; an unreadable percentage counts as none here and is
    /// reported at the line when charging.
    pub(super) fn discount(&self) -> i64 {
        discount_of(&self.discount, self.gross()).unwrap_or(0)
    }

    pub(super) fn amount(&self) -> i64 {
        self.gross() - self.discount()
    }
}

pub(super) fn products(values: Vec<Value>) -> Vec<Product> {
    values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .filter(|p: &Product| p.activo)
        .collect()
}

/// One model in the search results: its colours and prices across the variants found.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ModelRow {
    /// The first variant found: the grid opens from it.
    pub(super) first: Product,
    pub(super) colors: Vec<String>,
    pub(super) low: i64,
    pub(super) high: i64,
}

/// `products` grouped by model (name and brand, as the grid groups them), in the order the
/// search found them, at most `limit` models.
pub(super) fn by_model(products: &[Product], limit: usize) -> Vec<ModelRow> {
    let mut rows: Vec<ModelRow> = Vec::new();
    for p in products {
        let full = rows.len() >= limit;
        match rows
            .iter_mut()
            .find(|r| r.first.nombre == p.nombre && r.first.marca == p.marca)
        {
            Some(row) => {
                if !row.colors.contains(&p.color) {
                    row.colors.push(p.color.clone());
                }
                row.low = row.low.min(p.precio);
                row.high = row.high.max(p.precio);
            }
            None if !full => rows.push(ModelRow {
                first: p.clone(),
                colors: vec![p.color.clone()],
                low: p.precio,
                high: p.precio,
            }),
            None => {}
        }
    }
    rows
}

/// What the receipt shows; built from the cart when the sale is saved.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Receipt {
    pub(super) folio: String,
    pub(super) store: String,
    pub(super) cashier: String,
    pub(super) at: String,
    pub(super) lines: Vec<CartLine>,
    pub(super) discount: i64,
    pub(super) total: i64,
    pub(super) payments: Vec<(PaymentMethod, i64)>,
    pub(super) change: i64,
    pub(super) customer: Option<String>,
}

/// A model's variants by colour and size, with this store's stock of each.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Grid {
    pub(super) name: String,
    pub(super) colors: Vec<String>,
    /// Sizes in tenths (265 = 26.5).
    pub(super) sizes: Vec<i64>,
    pub(super) cells: Vec<(String, i64, Product, i64)>,
}

impl Grid {
    pub(super) fn cell(&self, color: &str, size: i64) -> Option<(Product, i64)> {
        self.cells
            .iter()
            .find(|(c, s, _, _)| c == color && *s == size)
            .map(|(_, _, p, stock)| (p.clone(), *stock))
    }
}

pub(super) fn tenths(size: f64) -> i64 {
    (size * 10.0).round() as i64
}

/// A size as the grid's header shows it (`26.5`, `27`): the domain's label.
pub(super) fn size_label(tenths: i64) -> String {
    ShoeSize::from_tenths(tenths).map_or_else(|_| tenths.to_string(), ShoeSize::label)
}

/// A ticket discount typed as a percentage ("10", "12.5", "10 %") in centavos of `subtotal`;
/// the message for the field when it is not a percentage from 0 to 100.
pub(super) fn discount_of(text: &str, subtotal: i64) -> Result<i64, &'static str> {
    let cleaned = text.trim().trim_end_matches('%').trim().replace(',', ".");
    if cleaned.is_empty() {
        return Ok(0);
    }
    let percent: f64 = cleaned
        .parse()
        .map_err(|_| "Escribe un porcentaje, por ejemplo 10.")?;
    if !(0.0..=100.0).contains(&percent) {
        return Err("El descuento debe ir de 0 % a 100 %.");
    }
    Ok((subtotal as f64 * percent / 100.0).round() as i64)
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pay {
    Cash,
    Card,
    /// Part by card, the rest in cash.
    Mixed,
}

/// An amount the cashier typed: empty means `default`; unreadable is an error for the field.
pub(super) fn typed(text: &str, default: i64) -> Result<i64, ()> {
    if text.trim().is_empty() {
        return Ok(default);
    }
    Money::parse_mxn(text).map(Money::centavos).map_err(|_| ())
}

/// The cash a customer is likely to hand over for `due`: the exact amount, then the next round
/// amounts above it (bills of 50, 100, 200, 500 and 1,000 pesos), at most four in all.
pub(super) fn quick_cash(due: i64) -> Vec<i64> {
    let mut amounts = vec![due];
    if due <= 0 {
        return amounts;
    }
    for step in [5_000, 10_000, 20_000, 50_000, 100_000] {
        let next = (due + step - 1) / step * step;
        if next > due && !amounts.contains(&next) && amounts.len() < 4 {
            amounts.push(next);
        }
    }
    amounts
}

pub(super) fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Efectivo => "Efectivo",
        PaymentMethod::Tarjeta => "Tarjeta",
    }
}

/// A sale waiting for a manager's approval of its discounts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Approving {
    pub(super) input: SaleInput,
    pub(super) valid: ValidSale,
    pub(super) payments: Vec<(PaymentMethod, i64)>,
    pub(super) rule: SalesPolicy,
}

/// What the cashier is told after an action.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Notice {
    Saved(String),
    Problem(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_are_percentages_of_the_amount_and_anything_else_is_refused() {
        assert_eq!(discount_of("", 10_000), Ok(0));
        assert_eq!(discount_of("10", 10_000), Ok(1_000));
        assert_eq!(discount_of("12,5 %", 10_000), Ok(1_250));
        assert!(discount_of("diez", 10_000).is_err());
        assert!(discount_of("120", 10_000).is_err());
    }

    fn variant(name: &str, color: &str, talla: f64, precio: i64) -> Product {
        Product {
            id: uuid::Uuid::now_v7(),
            sku: format!("{name}-{color}-{talla}"),
            codigo_barras: String::new(),
            nombre: name.into(),
            marca: "Pronto".into(),
            modelo: name.into(),
            color: color.into(),
            talla,
            precio,
            imagen: None,
            activo: true,
            version: 1,
        }
    }

    #[test]
    fn search_results_are_one_row_per_model_with_its_colours_and_price_range() {
        let found = [
            variant("Mocasín Roma", "Negro", 25.0, 89_900),
            variant("Mocasín Roma", "Café", 26.0, 99_900),
            variant("Bota Sierra", "Negro", 27.0, 149_900),
            variant("Mocasín Roma", "Negro", 27.0, 89_900),
        ];
        let rows = by_model(&found, 12);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].first.nombre, "Mocasín Roma");
        assert_eq!(rows[0].colors, ["Negro", "Café"]);
        assert_eq!((rows[0].low, rows[0].high), (89_900, 99_900));
        assert_eq!(by_model(&found, 1).len(), 1);
    }

    #[test]
    fn quick_cash_offers_the_exact_amount_then_the_next_bills_up() {
        assert_eq!(
            quick_cash(123_450),
            vec![123_450, 125_000, 130_000, 140_000]
        );
        assert_eq!(quick_cash(50_000), vec![50_000, 60_000, 100_000]);
        assert_eq!(quick_cash(0), vec![0]);
    }

    #[test]
    fn sizes_read_as_on_the_box_and_amounts_default_when_empty() {
        assert_eq!(size_label(265), "26.5");
        assert_eq!(size_label(270), "27");
        assert_eq!(tenths(26.5), 265);
        assert_eq!(typed("  ", 4_500), Ok(4_500));
        assert_eq!(typed("1,500.00", 0), Ok(150_000));
        assert_eq!(typed("mil", 0), Err(()));
    }
}
