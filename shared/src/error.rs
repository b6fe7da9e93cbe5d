//! The wire shape of every error the API returns.
//!
//! The backend maps its own error enum to a status code and this body at the edge; the
//! frontend decodes it to show the person a readable message, and per-field messages next to
//! form inputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// JSON body of any non-2xx API answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `validation`.
    pub code: String,
    /// A sentence a cashier or manager can read (Spanish, es-MX).
    pub message: String,
    /// Per-field messages for form validation; empty when the error is not about a field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ErrorBody {
    /// An error that is not about any particular field.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_without_fields_omits_the_fields_key() {
        let json = serde_json::to_value(ErrorBody::new("not_found", "No encontrado")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "not_found", "message": "No encontrado"})
        );
    }

    #[test]
    fn error_body_decodes_when_fields_are_absent_or_present() {
        let bare: ErrorBody = serde_json::from_str(r#"{"code":"x","message":"y"}"#).unwrap();
        assert!(bare.fields.is_empty());
        let with: ErrorBody =
            serde_json::from_str(r#"{"code":"x","message":"y","fields":{"sku":"vacío"}}"#).unwrap();
        assert_eq!(with.fields.get("sku").map(String::as_str), Some("vacío"));
    }
}
