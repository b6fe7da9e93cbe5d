//! Merge, then validate: a synced record (product or customer) as the conflict rule sees it —
//! a map of wire fields — turned back into the domain record the REST API validates. The server
//! writes what [`settle`] returns for a device's op, a REST edit and a manager's resolution
//! alike, so a synced record obeys exactly the rules a typed-in one does.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

use super::{
    config::{CLIENTE, PRODUCTO},
    conflict::{self, Decision, RowState},
    hlc::Hlc,
};
use crate::{
    api::{
        customers::{CustomerInput, ValidCustomer},
        products::{ProductInput, ValidProduct},
    },
    domain::FieldErrors,
};

/// Fields the server computes; no op or edit writes them.
pub const COMPUTED: &[&str] = &["puntos"];

/// A synced record that passed the REST rules.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidRecord {
    Product(ValidProduct),
    Customer(ValidCustomer),
}

impl ValidRecord {
    /// The record's field map as an edit writes it (computed fields left out).
    pub fn fields(&self) -> BTreeMap<String, Value> {
        let nil = uuid::Uuid::nil();
        let mut fields = match self {
            Self::Product(p) => fields_of(&p.record(nil, 0)),
            Self::Customer(c) => fields_of(&c.record(nil, 0, 0)),
        };
        fields.retain(|k, _| !COMPUTED.contains(&k.as_str()));
        fields
    }
}

/// What a decision writes: the row after it and, when its fields changed, the record validated
/// (a delete or undelete alone changes only the flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub row: RowState,
    pub valid: Option<ValidRecord>,
}

/// A record's field map: its wire JSON without `id` and `version`, the keys the field stamps
/// use.
pub fn fields_of<T: Serialize>(record: &T) -> BTreeMap<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter(|(k, _)| k != "id" && k != "version")
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn input<T: DeserializeOwned>(fields: &BTreeMap<String, Value>) -> Result<T, FieldErrors> {
    let map: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !COMPUTED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        let mut errors = FieldErrors::new();
        errors.add("registro", format!("Datos no válidos: {e}"));
        errors
    })
}

/// A full field map of `model` validated by the REST input's rules.
pub fn validate(model: &str, fields: &BTreeMap<String, Value>) -> Result<ValidRecord, FieldErrors> {
    match model {
        PRODUCTO => Ok(ValidRecord::Product(
            input::<ProductInput>(fields)?.validate()?,
        )),
        CLIENTE => Ok(ValidRecord::Customer(
            input::<CustomerInput>(fields)?.validate()?,
        )),
        other => {
            let mut errors = FieldErrors::new();
            errors.add("modelo", format!("{other} no es un registro sincronizado."));
            Err(errors)
        }
    }
}

/// The row after `decision` (the conflict rule's [`conflict::apply`]) with its record
/// validated; `Ok(None)` when the decision writes nothing.
pub fn settle(
    model: &str,
    row: &RowState,
    decision: &Decision,
    hlc: &Hlc,
) -> Result<Option<Settled>, FieldErrors> {
    let Some(next) = conflict::apply(row, decision, hlc) else {
        return Ok(None);
    };
    let valid = if next.fields == row.fields {
        None
    } else {
        Some(validate(model, &next.fields)?)
    };
    Ok(Some(Settled { row: next, valid }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::conflict::{create, Change};
    use crate::sync::Strategy;
    use serde_json::json;

    fn hlc(ms: u64) -> Hlc {
        Hlc {
            wall_ms: ms,
            counter: 0,
            node: "n".into(),
        }
    }

    fn customer() -> BTreeMap<String, Value> {
        [
            ("nombre", json!("Ana López")),
            ("telefono", json!("5512345678")),
            ("email", Value::Null),
            ("rfc", Value::Null),
            ("puntos", json!(40)),
            ("notas", json!("")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[test]
    fn an_edit_merges_into_the_row_and_is_validated_as_a_whole() {
        let row = create(&customer(), &hlc(1));
        let edit: BTreeMap<String, Value> = [("nombre".to_owned(), json!("  "))].into();
        let decision = conflict::decide(&row, Change::Update(&edit), 1, &hlc(2), Strategy::Manual);
        let refused = settle(CLIENTE, &row, &decision, &hlc(2)).unwrap_err();
        assert!(refused.get("nombre").is_some(), "{refused}");

        let edit: BTreeMap<String, Value> = [("notas".to_owned(), json!("Talla 26"))].into();
        let decision = conflict::decide(&row, Change::Update(&edit), 1, &hlc(2), Strategy::Manual);
        let settled = settle(CLIENTE, &row, &decision, &hlc(2)).unwrap().unwrap();
        assert_eq!(settled.row.version, 2);
        assert_eq!(settled.row.fields["nombre"], json!("Ana López"));
        let Some(ValidRecord::Customer(valid)) = settled.valid else {
            panic!("a customer");
        };
        assert_eq!(valid.notes, "Talla 26");
    }

    #[test]
    fn a_delete_is_written_without_validating_the_untouched_fields() {
        let mut fields = customer();
        // A value an older rule allowed: a delete must not be refused for it.
        fields.insert("telefono".into(), json!("12"));
        let row = create(&fields, &hlc(1));
        let decision = conflict::decide(&row, Change::Delete, 1, &hlc(2), Strategy::Manual);
        let settled = settle(CLIENTE, &row, &decision, &hlc(2)).unwrap().unwrap();
        assert!(settled.row.deleted);
        assert_eq!(settled.valid, None);
    }

    #[test]
    fn computed_and_unknown_fields_are_told_apart() {
        assert!(validate(CLIENTE, &customer()).is_ok());
        let mut odd = customer();
        odd.insert("color".into(), json!("rojo"));
        assert!(validate(CLIENTE, &odd)
            .unwrap_err()
            .get("registro")
            .is_some());
    }
}
