//! Per-field change stamps of a synced row: `{field: version at which it last changed}`,
//! stored as JSON text. The sync protocol detects a conflict on field `f` when
//! `field_versions[f] > base_version` (DESIGN §5).

use serde_json::{Map, Value};

use crate::AppError;

/// Every field stamped with `version` (a new row).
pub fn all(fields: &[&str], version: i64) -> String {
    let map: Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_owned(), Value::from(version)))
        .collect();
    Value::Object(map).to_string()
}

/// `stored` with each of `changed` re-stamped at `version`.
pub fn bump(stored: &str, changed: &[&str], version: i64) -> Result<String, AppError> {
    let mut map: Map<String, Value> = serde_json::from_str(stored)
        .map_err(|err| AppError::Internal(format!("field_versions does not parse: {err}")))?;
    for field in changed {
        map.insert((*field).to_owned(), Value::from(version));
    }
    Ok(Value::Object(map).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_restamps_only_the_changed_fields() {
        let start = all(&["precio", "nombre"], 1);
        let next = bump(&start, &["precio"], 2).unwrap();
        let map: Map<String, Value> = serde_json::from_str(&next).unwrap();
        assert_eq!(map["precio"], 2);
        assert_eq!(map["nombre"], 1);
    }
}
