//! EAN-13 barcodes, the ones printed on shoe boxes. The 13th digit is a checksum; a misread
//! scan almost always fails it, so we never accept a code whose checksum is wrong.

use serde::{Deserialize, Serialize};

use super::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Ean13(String);

impl Ean13 {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let code = text.trim();
        if code.len() != 13 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(
                "El código de barras debe tener 13 dígitos.",
            ));
        }
        let digits: Vec<u8> = code.bytes().map(|b| b - b'0').collect();
        if check_digit(&digits[..12]) != digits[12] {
            return Err(ValidationError::new(
                "El código de barras no es válido (dígito verificador incorrecto).",
            ));
        }
        Ok(Self(code.to_owned()))
    }

    /// Completes 12 digits with their check digit (used to generate codes, e.g. demo data).
    pub fn from_first_12(first: u64) -> Result<Self, ValidationError> {
        if first >= 1_000_000_000_000 {
            return Err(ValidationError::new("Se esperan 12 dígitos."));
        }
        let text = format!("{first:012}");
        let digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
        let check = check_digit(&digits);
        Ok(Self(format!("{text}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// GS1 rule: weights 1,3,1,3… from the left over 12 digits; check = (10 − sum mod 10) mod 10.
fn check_digit(first12: &[u8]) -> u8 {
    let sum: u32 = first12
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl TryFrom<String> for Ean13 {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ean13::parse(&value)
    }
}

impl From<Ean13> for String {
    fn from(code: Ean13) -> String {
        code.0
    }
}

impl std::fmt::Display for Ean13 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_world_codes() {
        // Published GS1 examples.
        assert!(Ean13::parse("4006381333931").is_ok());
        assert!(Ean13::parse("7501055363292").is_ok());
    }

    #[test]
    fn rejects_wrong_checksum_length_and_letters() {
        assert!(Ean13::parse("4006381333932").is_err());
        assert!(Ean13::parse("400638133393").is_err());
        assert!(Ean13::parse("40063813339311").is_err());
        assert!(Ean13::parse("40063813339A1").is_err());
    }

    #[test]
    fn generated_codes_pass_their_own_check() {
        for n in [0_u64, 1, 750_123_456_789, 999_999_999_999] {
            let code = Ean13::from_first_12(n).unwrap();
            assert_eq!(Ean13::parse(code.as_str()).unwrap(), code);
        }
        assert_eq!(
            Ean13::from_first_12(400_638_133_393).unwrap().as_str(),
            "4006381333931"
        );
        assert!(Ean13::from_first_12(1_000_000_000_000).is_err());
    }
}
