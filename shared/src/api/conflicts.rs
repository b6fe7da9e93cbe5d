//! `/api/sincronizacion/conflictos/`: conflicts as a manager sees and settles them (DESIGN §5:
//! `manual` waits for the resolution screen).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{domain::FieldErrors, sync::ConflictRecord};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictView {
    pub id: Uuid,
    pub op_id: Uuid,
    pub modelo: String,
    pub entidad_id: Uuid,
    pub tienda_id: Uuid,
    /// Both sides, the base version, the strategy and what it did.
    pub registro: ConflictRecord,
    /// `pendiente` or `resuelto`.
    pub estado: String,
    pub creado: String,
    #[serde(default)]
    pub resuelto_por: Option<Uuid>,
    #[serde(default)]
    pub resuelto_en: Option<String>,
    /// The record's current values of the conflicting fields (what the server holds now).
    #[serde(default)]
    pub actual: BTreeMap<String, Value>,
    /// The record was deleted after the conflict: resolving only closes the conflict (the
    /// delete stands; there is nothing left to write the values to).
    #[serde(default)]
    pub eliminado: bool,
    /// How the screens name the record (`directory::record_label`): the customer's name, the
    /// product's name, colour and size; `None` once it was deleted.
    #[serde(default)]
    pub registro_nombre: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ConflictQuery {
    /// `pendiente` (default) or `resuelto`.
    #[serde(default)]
    pub estado: Option<String>,
    /// Page size, 1–500 (200).
    #[serde(default)]
    pub limite: Option<i64>,
    /// The next page: the conflicts older than this one (the last of the previous page).
    #[serde(default)]
    pub antes: Option<uuid::Uuid>,
}

/// The value chosen for every conflicting field: the store's, the server's, or typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    pub valores: BTreeMap<String, Value>,
}

impl ResolveInput {
    /// Exactly the conflicting fields, each with a value.
    pub fn validate(&self, conflict: &ConflictRecord) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        for field in &conflict.fields {
            if !self.valores.contains_key(field) {
                e.add(
                    format!("valores.{field}"),
                    "Elige un valor para este campo.",
                );
            }
        }
        for field in self.valores.keys() {
            if !conflict.fields.contains(field) {
                e.add(
                    format!("valores.{field}"),
                    "Ese campo no está en conflicto.",
                );
            }
        }
        e.into_result()
    }
}
