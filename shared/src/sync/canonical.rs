//! Canonical JSON and checksums. Two sides hash "the same op" only if they serialise it to
//! the same bytes, so the form is fixed here: object keys sorted by their UTF-8 bytes, no
//! whitespace, numbers and strings as serde_json writes them. The checksum is the lower-case
//! hex SHA-256 of those bytes.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` in canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and serde_json writes UTF-8 only.
    let _ = write_canonical(value, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Canonical JSON of any serialisable value.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(to_canonical_string(&serde_json::to_value(value)?))
}

/// Hex SHA-256 of `value`'s canonical JSON, streamed into the hasher.
pub fn checksum<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut hasher = Sha256::new();
    write_canonical(&serde_json::to_value(value)?, &mut hasher).map_err(serde_json::Error::io)?;
    Ok(hex::encode(hasher.finalize()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `value`'s canonical form into `out` as it goes (a hasher, a buffer): no copy of the
/// value and no string per key or number.
pub fn write_canonical<W: Write>(value: &Value, out: &mut W) -> io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_str(key, out)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        scalar => serde_json::to_writer(out, scalar).map_err(io::Error::from),
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it.
pub fn write_str<W: Write>(text: &str, out: &mut W) -> io::Result<()> {
    serde_json::to_writer(out, text).map_err(io::Error::from)
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

    #[test]
    fn the_streamed_form_is_serde_jsons_compact_form_of_sorted_keys() {
        let value = json!({
            "z": [1, -2.5, 1e300, null, true, "\u{7f}\u{1f}/é😀"],
            "a": {"c": {}, "b": [], "\"": "\\"},
            "M": 18_446_744_073_709_551_615_u64,
        });
        // serde_json's maps are sorted by key bytes already (no `preserve_order`).
        assert_eq!(to_canonical_string(&value), value.to_string());
    }
}
