//! The demo catalog: every shoe type × brand is a model with one to three colours in a run of
//! sizes, each variant a product with a valid EAN-13.

use pronto_shared::{
    api::products::ProductInput,
    domain::{Ean13, ShoeSize},
};
use rand::{seq::SliceRandom, Rng};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{
    code3,
    names::{BRANDS, COLORS, LINES, TYPES},
    Loader,
};
use crate::{model::products, AppError};

/// GS1 Mexico prefix 750, a made-up company number 1234, then a 5-digit item number.
const BARCODE_BASE: u64 = 750_123_400_000;

/// Every variant written: (models, product ids). With `variants`, the models are made again in
/// further editions until exactly that many variants exist (the first edition is the same
/// catalog either way).
pub(super) async fn products(
    conn: &mut AnyConnection,
    l: &mut Loader,
    variants: Option<usize>,
) -> Result<(usize, Vec<Uuid>), AppError> {
    let mut product_ids = Vec::new();
    let mut models = 0;
    let mut edition = 0;
    loop {
        models += edition_of(conn, l, edition, variants, &mut product_ids).await?;
        edition += 1;
        match variants {
            Some(wanted) if product_ids.len() < wanted => continue,
            _ => break,
        }
    }
    Ok((models, product_ids))
}

/// One edition of every model; stops early once `variants` exist. Returns the models begun.
async fn edition_of(
    conn: &mut AnyConnection,
    l: &mut Loader,
    edition: usize,
    variants: Option<usize>,
    product_ids: &mut Vec<Uuid>,
) -> Result<usize, AppError> {
    let sizes: Vec<ShoeSize> = ShoeSize::all().collect();
    let full = |ids: &Vec<Uuid>| variants.is_some_and(|wanted| ids.len() >= wanted);
    let mut models = 0;
    for (t, kind) in TYPES.iter().enumerate() {
        for (b, brand) in BRANDS.iter().enumerate() {
            if full(product_ids) {
                return Ok(models);
            }
            models += 1;
            let line = LINES[l.rng.gen_range(0..LINES.len())];
            let price = l.rng.gen_range(499..=2899) * 100 - 10; // $498.90 … $2,898.90
            let mut palette = COLORS.to_vec();
            palette.shuffle(&mut l.rng);
            let colors = l.rng.gen_range(1..=3);
            let first = l.rng.gen_range(0..=8);
            let last = l.rng.gen_range((first + 8).min(16)..=16);
            for (color, color_code) in palette.into_iter().take(colors) {
                for size in &sizes[first..=last] {
                    if full(product_ids) {
                        return Ok(models);
                    }
                    let index = product_ids.len() as u64;
                    let input = ProductInput {
                        id: None,
                        sku: format!(
                            "{}-{}-{:03}-{color_code}-{}",
                            code3(brand),
                            code3(kind),
                            edition * 1000 + t * BRANDS.len() + b + 1,
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
                    let id = l.id();
                    products::insert(conn, id, &valid, l.write_at()).await?;
                    product_ids.push(id);
                }
            }
        }
    }
    Ok(models)
}
