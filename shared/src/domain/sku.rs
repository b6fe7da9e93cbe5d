//! SKU: the store's own code for one variant, e.g. `PR-OXF-NEG-265`.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Upper-case letters, digits and dashes, 3 to 32 characters, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Trims and upper-cases before checking, so `pr-oxf-1` and `PR-OXF-1` are one SKU.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let sku = text.trim().to_uppercase();
        if !(3..=32).contains(&sku.len()) {
            return Err(ValidationError::new(
                "El SKU debe tener de 3 a 32 caracteres.",
            ));
        }
        if !sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            || sku.starts_with('-')
        {
            return Err(ValidationError::new(
                "El SKU solo admite letras sin acento, números y guiones.",
            ));
        }
        Ok(Self(sku))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> String {
        sku.0
    }
}

impl std::fmt::Display for Sku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(Sku::parse("  pr-oxf-265 ").unwrap().as_str(), "PR-OXF-265");
    }

    #[test]
    fn rejects_short_long_and_odd_characters() {
        for bad in [
            "",
            "AB",
            "-ABC",
            "ZAP ATO",
            "ZAPATO_1",
            "NIÑO-1",
            &"X".repeat(33),
            "A'; DROP",
        ] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
    }
}
