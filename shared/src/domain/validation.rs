//! What a failed validation says, and how several are collected per field.

use std::collections::BTreeMap;

use crate::ErrorBody;

/// One rule broken by one value; the message is for a person (es-MX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValidationError {}

/// Errors of a whole form, keyed by the wire name of the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, error: impl std::fmt::Display) {
        self.0
            .entry(field.into())
            .or_insert_with(|| error.to_string());
    }

    /// Parses `value` with `parse`, recording the error under `field`; `None` when it failed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        value: Result<T, E>,
    ) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            Err(err) => {
                self.add(field, err);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Every field with its error, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, e)| (f.as_str(), e.as_str()))
    }

    /// Forgets `field`'s error (the person changed the field).
    pub fn remove(&mut self, field: &str) {
        self.0.remove(field);
    }

    /// `Ok(())` when nothing was recorded, else the errors.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// The API's error body for these field errors.
    pub fn into_body(self) -> ErrorBody {
        ErrorBody {
            code: "validation".into(),
            message: "Revisa los datos marcados.".into(),
            fields: self.0,
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_error_per_field_is_kept_and_body_lists_fields() {
        let mut errors = FieldErrors::new();
        errors.add("sku", "vacío");
        errors.add("sku", "otro");
        let parsed: Option<i32> = errors.check("precio", Err::<i32, _>("negativo"));
        assert!(parsed.is_none());
        let body = errors.into_body();
        assert_eq!(body.code, "validation");
        assert_eq!(body.fields.get("sku").map(String::as_str), Some("vacío"));
        assert_eq!(
            body.fields.get("precio").map(String::as_str),
            Some("negativo")
        );
    }

    #[test]
    fn no_errors_is_ok() {
        assert!(FieldErrors::new().into_result().is_ok());
    }
}
