//! Shoe sizes, Mexican scale: 22 to 30 in half sizes (22, 22.5, … 30). Kept as tenths so no
//! float ever reaches the database or a comparison; shown and sent as `22.5`.

use serde::{Deserialize, Serialize};

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = f64))]
#[serde(try_from = "f64", into = "f64")]
pub struct ShoeSize(u16);

impl ShoeSize {
    pub const MIN_TENTHS: u16 = 220;
    pub const MAX_TENTHS: u16 = 300;

    /// From tenths of a size (`225` = 22.5), as stored in the database.
    pub fn from_tenths(tenths: i64) -> Result<Self, ValidationError> {
        let err = || ValidationError::new("La talla debe ir de 22 a 30, en medios números.");
        let tenths = u16::try_from(tenths).map_err(|_| err())?;
        if !(Self::MIN_TENTHS..=Self::MAX_TENTHS).contains(&tenths) || tenths % 5 != 0 {
            return Err(err());
        }
        Ok(Self(tenths))
    }

    /// Every valid size, smallest first.
    pub fn all() -> impl Iterator<Item = ShoeSize> {
        (Self::MIN_TENTHS..=Self::MAX_TENTHS)
            .step_by(5)
            .map(ShoeSize)
    }

    pub fn tenths(self) -> i64 {
        i64::from(self.0)
    }

    /// How a size sent as a number reads (`26.5` → `26.5`, `26.0` → `26`); a number that is
    /// no size is shown as it came.
    pub fn label_of(size: f64) -> String {
        Self::try_from(size).map_or_else(|_| size.to_string(), Self::label)
    }

    /// `22.5`, `26` (no trailing `.0`).
    pub fn label(self) -> String {
        if self.0.is_multiple_of(10) {
            format!("{}", self.0 / 10)
        } else {
            format!("{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

impl TryFrom<f64> for ShoeSize {
    type Error = ValidationError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        let tenths = (value * 10.0).round();
        if !value.is_finite() || (tenths - value * 10.0).abs() > 1e-6 {
            return Err(ValidationError::new(
                "La talla debe ir de 22 a 30, en medios números.",
            ));
        }
        ShoeSize::from_tenths(tenths as i64)
    }
}

impl From<ShoeSize> for f64 {
    fn from(size: ShoeSize) -> f64 {
        f64::from(size.0) / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_sizes_from_22_to_30_are_the_17_valid_sizes() {
        let all: Vec<String> = ShoeSize::all().map(ShoeSize::label).collect();
        assert_eq!(all.len(), 17);
        assert_eq!(all.first().map(String::as_str), Some("22"));
        assert_eq!(all[1], "22.5");
        assert_eq!(all.last().map(String::as_str), Some("30"));
    }

    #[test]
    fn rejects_out_of_range_and_quarter_sizes() {
        for bad in [21.5, 30.5, 25.25, 25.3, f64::NAN, -1.0] {
            assert!(ShoeSize::try_from(bad).is_err(), "{bad}");
        }
        assert!(ShoeSize::from_tenths(223).is_err());
    }

    #[test]
    fn json_is_a_plain_number() {
        let size: ShoeSize = serde_json::from_str("26.5").unwrap();
        assert_eq!(size.tenths(), 265);
        assert_eq!(serde_json::to_string(&size).unwrap(), "26.5");
    }
}
