//! RFC (Registro Federal de Contribuyentes), the Mexican tax id a customer may give for an
//! invoice. Only the format is checked: 3 (company) or 4 (person) letters, a YYMMDD date, and
//! a 3-character homoclave. Whether SAT knows it needs the network.

use serde::{Deserialize, Serialize};

use super::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Rfc(String);

impl Rfc {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let rfc = text.trim().to_uppercase();
        let err =
            || ValidationError::new("El RFC no tiene un formato válido (p. ej. GODE561231GR8).");
        let chars: Vec<char> = rfc.chars().collect();
        let letters = match chars.len() {
            12 => 3,
            13 => 4,
            _ => return Err(err()),
        };
        let is_letter = |c: &char| c.is_ascii_uppercase() || *c == 'Ñ' || *c == '&';
        if !chars[..letters].iter().all(is_letter) {
            return Err(err());
        }
        let date: String = chars[letters..letters + 6].iter().collect();
        if !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let month: u8 = date[2..4].parse().map_err(|_| err())?;
        let day: u8 = date[4..6].parse().map_err(|_| err())?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(err());
        }
        if !chars[letters + 6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(err());
        }
        Ok(Self(rfc))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Rfc {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Rfc::parse(&value)
    }
}

impl From<Rfc> for String {
    fn from(rfc: Rfc) -> String {
        rfc.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_person_and_company_formats() {
        assert_eq!(
            Rfc::parse("gode561231gr8").unwrap().as_str(),
            "GODE561231GR8"
        );
        assert!(Rfc::parse("ABC010203XY9").is_ok());
        assert!(Rfc::parse("ÑAÑO800101AB1").is_ok());
        assert!(Rfc::parse("A&B010203XY9").is_ok());
    }

    #[test]
    fn rejects_bad_lengths_dates_and_characters() {
        for bad in [
            "",
            "GODE561231GR",
            "GODE561331GR8",
            "GODE561200GR8",
            "G0DE561231GR8",
            "GODE561231GR-",
            "GODE5612311R8X",
        ] {
            assert!(Rfc::parse(bad).is_err(), "{bad:?}");
        }
    }
}
