//! Mexican phone numbers: 10 digits (since 2019 every number, mobile or landline).

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Stored as the 10 national digits; accepts spaces, dashes, dots, parentheses and a
/// leading `+52` or `52` as people write them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let err = || ValidationError::new("El teléfono debe tener 10 dígitos.");
        let trimmed = text.trim();
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()+".contains(c))
        {
            return Err(err());
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            10 => digits,
            12 if digits.starts_with("52") => digits[2..].to_owned(),
            _ => return Err(err()),
        };
        Ok(Self(national))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `55 1234 5678` for display.
    pub fn display(&self) -> String {
        format!("{} {} {}", &self.0[..2], &self.0[2..6], &self.0[6..])
    }
}

impl TryFrom<String> for Phone {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings_and_keeps_ten_digits() {
        for ok in [
            "5512345678",
            "55 1234 5678",
            "(55) 1234-5678",
            "+52 55 1234 5678",
            "52.55.1234.5678",
        ] {
            assert_eq!(Phone::parse(ok).unwrap().as_str(), "5512345678", "{ok}");
        }
        assert_eq!(
            Phone::parse("5512345678").unwrap().display(),
            "55 1234 5678"
        );
    }

    #[test]
    fn rejects_wrong_lengths_and_letters() {
        for bad in [
            "",
            "551234567",
            "55123456789",
            "+1 555 123 4567",
            "55-CALL-NOW",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }
}
