//! The demo customers: Mexican names, phones of three cities, some with e-mail and RFC.

use pronto_shared::api::customers::CustomerInput;
use rand::Rng;
use sqlx::AnyConnection;

use super::{
    ascii,
    names::{AREA_CODES, FIRST_NAMES, LAST_NAMES},
    Loader,
};
use crate::{model::customers, AppError};

/// `customer_count` customers written; how many.
pub(super) async fn customers(
    conn: &mut AnyConnection,
    l: &mut Loader,
    customer_count: usize,
) -> Result<usize, AppError> {
    for _ in 0..customer_count {
        let first = FIRST_NAMES[l.rng.gen_range(0..FIRST_NAMES.len())];
        let last1 = LAST_NAMES[l.rng.gen_range(0..LAST_NAMES.len())];
        let last2 = LAST_NAMES[l.rng.gen_range(0..LAST_NAMES.len())];
        let phone = format!(
            "{}{:08}",
            AREA_CODES[l.rng.gen_range(0..AREA_CODES.len())],
            l.rng.gen_range(0..100_000_000)
        );
        let email = l.rng.gen_bool(0.6).then(|| {
            format!(
                "{}.{}{}@correo.mx",
                ascii(first),
                ascii(last1),
                l.rng.gen_range(1..100)
            )
        });
        let rfc = l.rng.gen_bool(0.2).then(|| {
            let letters: String = [last1, last2, first]
                .iter()
                .flat_map(|w| ascii(w).to_uppercase().chars().take(2).collect::<Vec<_>>())
                .take(4)
                .collect();
            format!(
                "{letters}{:02}{:02}{:02}{}{}{}",
                l.rng.gen_range(50..=99),
                l.rng.gen_range(1..=12),
                l.rng.gen_range(1..=28),
                char::from(b'A' + l.rng.gen_range(0..26)),
                char::from(b'A' + l.rng.gen_range(0..26)),
                l.rng.gen_range(0..10)
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
        let points = l.rng.gen_range(0..2_000);
        let id = l.id();
        customers::insert(conn, id, &valid, points, l.write_at()).await?;
    }
    Ok(customer_count)
}
