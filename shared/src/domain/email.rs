//! E-mail addresses of customers, for receipts and loyalty messages.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A plausible address: `local@domain.tld`, no spaces, at most 254 characters, stored
/// lower-case. Deliverability is not checked (that needs the network); typos mostly are.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let email = text.trim().to_lowercase();
        let err = || ValidationError::new("Escribe un correo como nombre@dominio.com.");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        let (local, domain) = email.split_once('@').ok_or_else(err)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(err());
        }
        let tld = domain
            .rsplit_once('.')
            .map(|(_, tld)| tld)
            .ok_or_else(err)?;
        if tld.len() < 2 || !tld.chars().all(char::is_alphabetic) {
            return Err(err());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases_ordinary_addresses() {
        assert_eq!(
            Email::parse(" Ana.Lopez@Correo.MX ").unwrap().as_str(),
            "ana.lopez@correo.mx"
        );
        assert!(Email::parse("a+b@sub.dominio.com").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@correo.mx",
            "ana@correo",
            "ana@@correo.mx",
            "ana lopez@correo.mx",
            "ana@correo..mx",
            "ana@correo.m",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
