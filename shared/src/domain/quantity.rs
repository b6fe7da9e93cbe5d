//! Counts of shoes: how many a sale line takes, and how stock moves.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Pairs on one sale line: 1 to 999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u16);

impl Quantity {
    pub const MAX: i64 = 999;

    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value as u16))
        } else {
            Err(ValidationError::new("La cantidad debe ir de 1 a 999."))
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Quantity::new(value)
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        q.get()
    }
}

/// A stock movement: non-zero, at most 100,000 pairs either way. Deltas commute, which is
/// why stock never conflicts (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
#[serde(try_from = "i64", into = "i64")]
pub struct StockDelta(i32);

impl StockDelta {
    pub const LIMIT: i64 = 100_000;

    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if value == 0 {
            Err(ValidationError::new(
                "El movimiento de inventario no puede ser cero.",
            ))
        } else if value.unsigned_abs() > Self::LIMIT.unsigned_abs() {
            // `unsigned_abs`: `i64::MIN.abs()` overflows (a panic in debug builds).
            Err(ValidationError::new(
                "El movimiento de inventario es demasiado grande.",
            ))
        } else {
            Ok(Self(value as i32))
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl TryFrom<i64> for StockDelta {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        StockDelta::new(value)
    }
}

impl From<StockDelta> for i64 {
    fn from(d: StockDelta) -> i64 {
        d.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_is_between_one_and_999() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-1).is_err());
        assert!(Quantity::new(1000).is_err());
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
        assert!(serde_json::from_str::<Quantity>("1.5").is_err());
    }

    #[test]
    fn stock_delta_is_non_zero_and_bounded_both_ways() {
        assert!(
            StockDelta::new(i64::MIN).is_err(),
            "no overflow on negation"
        );
        assert!(StockDelta::new(i64::MAX).is_err());
        assert!(StockDelta::new(0).is_err());
        assert!(StockDelta::new(100_001).is_err());
        assert!(StockDelta::new(-100_001).is_err());
        assert_eq!(StockDelta::new(-5).unwrap().get(), -5);
    }
}
