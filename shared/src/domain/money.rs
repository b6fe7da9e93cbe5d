//! Money in integer centavos (MXN). Never a float: `$1,299.00` is `129900`.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Any amount of money, possibly negative (a refund, a change due).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Money(i64);

/// `12,345`: a count or whole pesos with the thousands marked, as the till shows them.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_centavos(centavos: i64) -> Self {
        Self(centavos)
    }

    pub const fn centavos(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.0.checked_mul(factor).map(Money)
    }

    /// es-MX display: `$1,299.00`, `-$50.50`.
    pub fn format_mxn(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let pesos = abs / 100;
        let cents = abs % 100;
        format!("{sign}${}.{cents:02}", group_thousands(pesos))
    }

    /// Parses what a person types: `1299`, `1,299.5`, `$1,299.00`. At most two decimals.
    pub fn parse_mxn(text: &str) -> Result<Money, ValidationError> {
        let invalid = || ValidationError::new("Escribe un importe como 1,299.00");
        let cleaned: String = text
            .trim()
            .trim_start_matches('$')
            .chars()
            .filter(|c| *c != ',' && !c.is_whitespace())
            .collect();
        let (negative, body) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
        {
            return Err(invalid());
        }
        let pesos: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| invalid())? * 10,
            _ => frac.parse().map_err(|_| invalid())?,
        };
        let total = pesos
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents))
            .ok_or_else(invalid)?;
        Ok(Money(if negative { -total } else { total }))
    }
}

/// A product's price: strictly positive and at most $999,999.99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
#[serde(try_from = "i64", into = "i64")]
pub struct Price(Money);

impl Price {
    pub const MAX_CENTAVOS: i64 = 99_999_999;

    pub fn new(centavos: i64) -> Result<Self, ValidationError> {
        if centavos <= 0 {
            Err(ValidationError::new("El precio debe ser mayor que cero."))
        } else if centavos > Self::MAX_CENTAVOS {
            Err(ValidationError::new(
                "El precio no puede pasar de $999,999.99.",
            ))
        } else {
            Ok(Self(Money(centavos)))
        }
    }

    pub fn money(self) -> Money {
        self.0
    }

    pub fn centavos(self) -> i64 {
        self.0 .0
    }
}

impl TryFrom<i64> for Price {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Price::new(value)
    }
}

impl From<Price> for i64 {
    fn from(price: Price) -> i64 {
        price.centavos()
    }
}

/// Centavos as a person reads them (`$1,299.00`): what every screen shows.
pub fn mxn(centavos: i64) -> String {
    Money::from_centavos(centavos).format_mxn()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_thousands_separators_and_two_decimals() {
        assert_eq!(Money::from_centavos(129_900).format_mxn(), "$1,299.00");
        assert_eq!(Money::from_centavos(5).format_mxn(), "$0.05");
        assert_eq!(Money::from_centavos(-5_050).format_mxn(), "-$50.50");
        assert_eq!(
            Money::from_centavos(123_456_789).format_mxn(),
            "$1,234,567.89"
        );
        assert_eq!(Money::ZERO.format_mxn(), "$0.00");
    }

    #[test]
    fn parses_what_a_cashier_types() {
        assert_eq!(Money::parse_mxn("1299").unwrap().centavos(), 129_900);
        assert_eq!(Money::parse_mxn("$1,299.5").unwrap().centavos(), 129_950);
        assert_eq!(Money::parse_mxn(" 0.05 ").unwrap().centavos(), 5);
        assert_eq!(Money::parse_mxn(".5").unwrap().centavos(), 50);
        assert_eq!(Money::parse_mxn("-10").unwrap().centavos(), -1_000);
        for bad in [
            "",
            "abc",
            "1.234",
            "1.2.3",
            "$",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(Money::parse_mxn(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn price_must_be_positive_and_bounded() {
        assert!(Price::new(0).is_err());
        assert!(Price::new(-100).is_err());
        assert!(Price::new(Price::MAX_CENTAVOS + 1).is_err());
        assert_eq!(Price::new(129_900).unwrap().centavos(), 129_900);
    }

    #[test]
    fn price_rejects_negative_and_fractional_json() {
        assert!(serde_json::from_str::<Price>("-5").is_err());
        assert!(serde_json::from_str::<Price>("12.5").is_err());
        assert_eq!(
            serde_json::from_str::<Price>("129900").unwrap().centavos(),
            129_900
        );
        assert_eq!(
            serde_json::to_string(&Price::new(100).unwrap()).unwrap(),
            "100"
        );
    }
}
