//! A manager's approval of a discount above the store's limit, offline too.
//!
//! A manager sets an approval PIN. The server keeps `key = argon2id(PIN, salt)` and gives the
//! devices of the store only the salt and `SHA-256(key)`. At the till the manager types the
//! PIN; the device derives the key, checks it against the verifier (so a wrong PIN is refused
//! at once, without a connection) and signs the sale with `HMAC-SHA256(key, sale id, manager,
//! discount)`. The key never leaves the server or the moment of approval, so a cashier cannot
//! sign without the PIN; the server checks the signature when the sale arrives. A sale whose
//! approval does not check out is still recorded — the shoes left the store — and flagged for
//! the manager instead (DESIGN §4: money and shoes are never refused after the fact).
//!
//! Limit: the verifier on a device lets whoever copies its storage guess PINs offline, at one
//! argon2id (19 MiB, 2 passes) per guess. A PIN approves discounts; it never signs anyone in.

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::sales::ValidSale;
use crate::domain::ValidationError;

/// Discount limit (percent of the sale before discounts) when the store has not set one.
pub const DEFAULT_LIMIT_PERCENT: i64 = 15;

/// The signed approval a sale carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub gerente_id: Uuid,
    /// Hex HMAC-SHA256 (see [`sign`]).
    pub firma: String,
}

/// A manager who can approve at this store's tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approver {
    pub id: Uuid,
    pub nombre: String,
    /// Hex salt of the key derivation.
    pub sal: String,
    /// Hex SHA-256 of the derived key.
    pub verificador: String,
}

/// What a till needs to apply the discount rule offline (`GET /api/sales/policy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesPolicy {
    /// Discounts above this percent of the sale need a manager's approval.
    pub descuento_sin_autorizacion: i64,
    pub autorizadores: Vec<Approver>,
}

/// `PUT /api/sales/policy` (admin): a store's discount limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LimitInput {
    pub tienda_id: Uuid,
    pub descuento_sin_autorizacion: i64,
}

/// `GET /api/sales/policy?tienda_id=` (defaults to the session's store).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct PolicyQuery {
    #[serde(default)]
    pub tienda_id: Option<Uuid>,
}

/// How a stored sale stands with respect to the rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Within the limit.
    #[default]
    NoRequerida,
    /// Above it, signed by a manager of the store.
    Autorizada,
    /// Above it without a valid approval: recorded and flagged for the manager.
    SinAutorizacion,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRequerida => "no_requerida",
            Self::Autorizada => "autorizada",
            Self::SinAutorizacion => "sin_autorizacion",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::NoRequerida, Self::Autorizada, Self::SinAutorizacion]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// `PUT /api/auth/pin`: a manager sets their approval PIN, confirming with their password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PinInput {
    pub pin: String,
    pub contrasena: String,
}

/// 4 to 8 digits.
pub fn validate_pin(pin: &str) -> Result<(), ValidationError> {
    if (4..=8).contains(&pin.len()) && pin.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new("El PIN debe tener de 4 a 8 dígitos."))
    }
}

/// The discount of a sale (lines and ticket) as a share of its amount before discounts, and
/// whether it is above `limit_percent`.
pub fn needs_approval(sale: &ValidSale, limit_percent: i64) -> bool {
    let gross: i64 = sale
        .lines
        .iter()
        .map(|l| l.amount.centavos() + l.discount.centavos())
        .sum();
    let discount = gross - sale.total.centavos();
    discount > 0 && discount * 100 > limit_percent.clamp(0, 100) * gross
}

/// The sale's whole discount (lines and ticket), what an approval signs.
pub fn discount_of(sale: &ValidSale) -> i64 {
    let gross: i64 = sale
        .lines
        .iter()
        .map(|l| l.amount.centavos() + l.discount.centavos())
        .sum();
    gross - sale.total.centavos()
}

/// The lowest price a device could have known for a product (DESIGN §8, prices are the
/// server's to judge). `history` is every price the product had, as (change position it took
/// effect at, price), oldest first; `floor` is the catalog position the device had surely
/// reached when it made the sale (`None`: it knows the current catalog, as a REST client
/// does). The device could have known the price in effect at `floor` and every later one.
pub fn lowest_known(history: &[(i64, i64)], floor: Option<i64>) -> Option<i64> {
    let Some(floor) = floor else {
        return history.last().map(|&(_, price)| price);
    };
    let in_effect = history.iter().rev().find(|&&(from, _)| from <= floor);
    let later = history.iter().filter(|&&(from, _)| from > floor);
    in_effect
        .into_iter()
        .chain(later)
        .map(|&(_, price)| price)
        .min()
}

/// Centavos by which a sale's lines are priced below the lowest price their device could have
/// known (`lowest`, per product; `None` when the product has no price history). A till never
/// lowers a unit price itself — discounts are explicit, per line or per ticket — so this is
/// an unstated discount.
pub fn price_shortfall(sale: &ValidSale, lowest: impl Fn(Uuid) -> Option<i64>) -> i64 {
    sale.lines
        .iter()
        .map(|line| {
            let known = lowest(line.product_id).unwrap_or(0);
            (known - line.unit_price.centavos()).max(0) * line.quantity.get()
        })
        .sum()
}

/// Whether a sale needs a manager's approval: explicit discounts above `limit_percent`, or
/// any price below what the device could have known (an unstated discount is never the
/// cashier's to give).
pub fn needs_approval_priced(sale: &ValidSale, shortfall: i64, limit_percent: i64) -> bool {
    shortfall > 0 || needs_approval(sale, limit_percent)
}

/// What an approval signs: the explicit discounts plus any price shortfall.
pub fn approved_discount(sale: &ValidSale, shortfall: i64) -> i64 {
    discount_of(sale) + shortfall
}

/// argon2id (19 MiB, 2 passes, as passwords) of the PIN with `salt`.
pub fn derive_key(pin: &str, salt: &[u8]) -> Result<[u8; 32], ValidationError> {
    let params = Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| ValidationError::new(format!("argon2: {e}")))?;
    let mut key = [0_u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, &mut key)
        .map_err(|e| ValidationError::new(format!("argon2: {e}")))?;
    Ok(key)
}

pub fn verifier(key: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(key))
}

fn mac(key: &[u8; 32], sale: Uuid, manager: Uuid, discount: i64) -> Hmac<Sha256> {
    // A 32-byte key is always accepted.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("pronto-aprobacion-v1|{sale}|{manager}|{discount}").as_bytes());
    mac
}

/// The signature of an approval of `discount` centavos off `sale` by `manager`.
pub fn sign(key: &[u8; 32], sale: Uuid, manager: Uuid, discount: i64) -> String {
    hex::encode(mac(key, sale, manager, discount).finalize().into_bytes())
}

/// Whether `signature` is [`sign`]'s for these values (constant time).
pub fn check(key: &[u8; 32], sale: Uuid, manager: Uuid, discount: i64, signature: &str) -> bool {
    match hex::decode(signature) {
        Ok(bytes) => mac(key, sale, manager, discount)
            .verify_slice(&bytes)
            .is_ok(),
        Err(_) => false,
    }
}

impl Approver {
    /// The key for `pin` when it is this manager's PIN.
    pub fn unlock(&self, pin: &str) -> Option<[u8; 32]> {
        let salt = hex::decode(&self.sal).ok()?;
        let key = derive_key(pin, &salt).ok()?;
        (verifier(&key) == self.verificador).then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sales::{PaymentInput, PaymentMethod, SaleInput, SaleLineInput};

    fn valid(price: i64, line_discount: i64, ticket_discount: i64) -> ValidSale {
        SaleInput {
            id: Uuid::from_u128(1),
            lineas: vec![SaleLineInput {
                producto_id: Uuid::from_u128(2),
                cantidad: 1,
                precio_unitario: price,
                descuento: line_discount,
            }],
            pagos: vec![PaymentInput {
                metodo: PaymentMethod::Efectivo,
                monto: price,
            }],
            cliente_id: None,
            descuento: ticket_discount,
            autorizacion: None,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn the_limit_counts_line_and_ticket_discounts_together() {
        assert!(!needs_approval(&valid(100_000, 0, 0), 15));
        assert!(
            !needs_approval(&valid(100_000, 10_000, 5_000), 15),
            "exactly 15 %"
        );
        assert!(needs_approval(&valid(100_000, 10_000, 5_001), 15));
        assert_eq!(discount_of(&valid(100_000, 10_000, 5_001)), 15_001);
    }

    #[test]
    fn only_the_pin_unlocks_the_key_and_a_signature_binds_sale_manager_and_discount() {
        let salt = [7_u8; 16];
        let key = derive_key("4821", &salt).unwrap();
        let approver = Approver {
            id: Uuid::from_u128(9),
            nombre: "Roberto".into(),
            sal: hex::encode(salt),
            verificador: verifier(&key),
        };
        assert!(approver.unlock("4822").is_none());
        let unlocked = approver.unlock("4821").unwrap();
        let (sale, manager) = (Uuid::from_u128(1), approver.id);
        let signature = sign(&unlocked, sale, manager, 15_001);
        assert!(check(&key, sale, manager, 15_001, &signature));
        assert!(!check(&key, sale, manager, 20_000, &signature));
        assert!(!check(
            &key,
            Uuid::from_u128(2),
            manager,
            15_001,
            &signature
        ));
        assert!(!check(&key, sale, Uuid::from_u128(3), 15_001, &signature));
        assert!(!check(&key, sale, manager, 15_001, "zz"));
    }

    #[test]
    fn a_device_may_have_known_the_price_at_its_floor_and_every_later_one() {
        let history = [(10, 150_000), (20, 120_000), (30, 140_000)];
        assert_eq!(lowest_known(&history, None), Some(140_000), "REST: today's");
        assert_eq!(lowest_known(&history, Some(25)), Some(120_000));
        assert_eq!(lowest_known(&history, Some(30)), Some(140_000));
        assert_eq!(lowest_known(&history, Some(5)), Some(120_000));
        assert_eq!(lowest_known(&[], Some(5)), None);
    }

    #[test]
    fn a_price_below_every_known_price_is_an_unstated_discount_that_needs_approval() {
        let sale = valid(100_000, 0, 0);
        let at = |price: i64| move |_: Uuid| Some(price);
        assert_eq!(price_shortfall(&sale, at(100_000)), 0);
        assert_eq!(price_shortfall(&sale, at(90_000)), 0, "above a known price");
        let shortfall = price_shortfall(&sale, at(283_590));
        assert_eq!(shortfall, 183_590);
        assert!(needs_approval_priced(&sale, shortfall, 15));
        assert!(needs_approval_priced(&sale, 1, 100), "whatever the limit");
        assert!(!needs_approval_priced(&sale, 0, 15));
        assert_eq!(approved_discount(&valid(100_000, 5_000, 0), 7), 5_007);
    }

    #[test]
    fn pins_are_four_to_eight_digits() {
        assert!(validate_pin("1234").is_ok());
        assert!(validate_pin("12345678").is_ok());
        assert!(validate_pin("123").is_err());
        assert!(validate_pin("12a4").is_err());
        assert!(validate_pin("123456789").is_err());
    }
}
