//! Canonical JSON and checksums. Two sides hash "the same op" only if they serialise it to
//! the same bytes, so the form is fixed here: object keys sorted by their UTF-8 bytes, no
//! whitespace, numbers and strings as serde_json writes them. The checksum is the lower-case
//! hex SHA-256 of those bytes.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` in canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Canonical JSON of any serialisable value.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(to_canonical_string(&serde_json::to_value(value)?))
}

/// Hex SHA-256 of `value`'s canonical JSON.
pub fn checksum<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(canonical_json(value)?.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_form() {
        let a: Value = serde_json::from_str(r#"{ "b": 1, "a": {"z": [1, 2], "y": "ñ"} }"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"y":"ñ","z":[1,2]},"b":1}"#).unwrap();
        assert_eq!(
            to_canonical_string(&a),
            r#"{"a":{"y":"ñ","z":[1,2]},"b":1}"#
        );
        assert_eq!(checksum(&a).unwrap(), checksum(&b).unwrap());
    }

    #[test]
    fn any_change_of_a_value_changes_the_checksum() {
        let a = json!({"precio": 129900, "nombre": "Oxford"});
        let b = json!({"precio": 129901, "nombre": "Oxford"});
        assert_ne!(checksum(&a).unwrap(), checksum(&b).unwrap());
        assert_eq!(checksum(&a).unwrap().len(), 64);
    }

    #[test]
    fn strings_are_escaped_as_json() {
        assert_eq!(
            to_canonical_string(&json!({"a\"b": "x\ny"})),
            r#"{"a\"b":"x\ny"}"#
        );
    }
}
