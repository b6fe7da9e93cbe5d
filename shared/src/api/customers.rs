//! `/api/customers`: `clientes.Cliente`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Email, FieldErrors, Phone, Rfc};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: Uuid,
    pub nombre: String,
    /// Optional ones may be missing from a synced record whose field an admin excluded.
    #[serde(default)]
    pub telefono: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub rfc: Option<String>,
    #[serde(default)]
    pub puntos: i64,
    #[serde(default)]
    pub notas: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// A client may choose the id (records born offline); the server makes one otherwise.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub nombre: String,
    #[serde(default)]
    pub telefono: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub rfc: Option<String>,
    #[serde(default)]
    pub notas: Option<String>,
    /// For edits: the version the person started from; a newer server version answers 409
    /// instead of silently overwriting someone else's change.
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCustomer {
    pub name: String,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub rfc: Option<Rfc>,
    pub notes: String,
}

fn optional<T, E: std::fmt::Display>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(text) => errors.check(field, parse(text)),
    }
}

impl CustomerInput {
    pub fn validate(&self) -> Result<ValidCustomer, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check("nombre", super::text(&self.nombre, 120, "El nombre"));
        let phone = optional(&mut e, "telefono", self.telefono.as_deref(), Phone::parse);
        let email = optional(&mut e, "email", self.email.as_deref(), Email::parse);
        let rfc = optional(&mut e, "rfc", self.rfc.as_deref(), Rfc::parse);
        let notes = match self.notas.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(text) => e
                .check("notas", super::text(text, 1000, "Las notas"))
                .unwrap_or_default(),
        };
        match name {
            Some(name) if e.is_empty() => Ok(ValidCustomer {
                name,
                phone,
                email,
                rfc,
                notes,
            }),
            _ => Err(e),
        }
    }
}

impl ValidCustomer {
    /// The customer as the API shows it, with this id, points and version.
    pub fn record(&self, id: Uuid, puntos: i64, version: i64) -> Customer {
        Customer {
            id,
            nombre: self.name.clone(),
            telefono: self.phone.as_ref().map(|p| p.as_str().to_owned()),
            email: self.email.as_ref().map(|e| e.as_str().to_owned()),
            rfc: self.rfc.as_ref().map(|r| r.as_str().to_owned()),
            puntos,
            notas: self.notes.clone(),
            version,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct CustomerQuery {
    /// Name prefix (any word), phone digits, or e-mail prefix.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
}

impl CustomerQuery {
    pub fn paging(&self) -> super::Paging {
        super::Paging::from_query(self.page, self.per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_may_be_absent_or_blank_but_not_wrong() {
        let mut c = CustomerInput {
            id: None,
            nombre: "Ana López".into(),
            telefono: Some(" ".into()),
            email: None,
            rfc: None,
            notas: None,
            version: None,
        };
        let valid = c.validate().unwrap();
        assert!(valid.phone.is_none());
        c.telefono = Some("12".into());
        c.rfc = Some("XX".into());
        let errors = c.validate().unwrap_err();
        assert!(errors.get("telefono").is_some());
        assert!(errors.get("rfc").is_some());
    }
}
