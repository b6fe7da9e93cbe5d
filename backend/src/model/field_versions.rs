//! Per-field change stamps of a synced row: `{field: {"version": v, "hlc": {…}}}`, stored as
//! JSON text. The conflict rules (`pronto_shared::sync::conflict`) make and compare them; this
//! module only encodes and decodes.

use std::collections::BTreeMap;

use pronto_shared::sync::{
    conflict::{self, FieldStamp},
    Hlc,
};
use serde_json::Value;

use crate::AppError;

pub type Stamps = BTreeMap<String, FieldStamp>;

/// Stamps of a new row, as the conflict rule's `create` makes them (every field at version 1).
pub fn created(fields: &[&str], hlc: &Hlc) -> String {
    let names = fields
        .iter()
        .map(|f| ((*f).to_owned(), Value::Null))
        .collect();
    encode(&conflict::create(&names, hlc).stamps)
}

pub fn parse(stored: &str) -> Result<Stamps, AppError> {
    serde_json::from_str(stored)
        .map_err(|err| AppError::Internal(format!("field_versions does not parse: {err}")))
}

pub fn encode(stamps: &Stamps) -> String {
    serde_json::to_string(stamps).unwrap_or_else(|_| "{}".into())
}

/// A deleted stamp as stored (`deleted_stamp`, JSON text or NULL).
pub fn parse_deleted(stored: Option<&str>) -> Result<Option<FieldStamp>, AppError> {
    stored
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| AppError::Internal(format!("deleted_stamp does not parse: {e}")))
}

pub fn encode_deleted(stamp: Option<&FieldStamp>) -> Option<String> {
    stamp.and_then(|s| serde_json::to_string(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_stamps_every_field_at_version_one_and_round_trips() {
        let hlc = Hlc {
            wall_ms: 7,
            counter: 1,
            node: "s".into(),
        };
        let stamps = parse(&created(&["precio", "nombre"], &hlc)).unwrap();
        assert_eq!(stamps.len(), 2);
        assert_eq!(stamps["precio"], FieldStamp { version: 1, hlc });
        let deleted = Some(stamps["nombre"].clone());
        let text = encode_deleted(deleted.as_ref());
        assert_eq!(parse_deleted(text.as_deref()).unwrap(), deleted);
    }
}
