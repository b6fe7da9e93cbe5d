//! The operation: the unit that is queued on a device, sent, applied once, and audited
//! (DESIGN §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{canonical, hlc::Hlc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Create,
    Update,
    Delete,
    /// A whole sale (insert-only).
    Sale,
    /// A stock movement: `{"delta": n, "motivo": …}` on the stock row of (store, product).
    StockDelta,
    /// A return or void of a sale (insert-only, `api::returns::ReturnInput`).
    Return,
}

/// Everything the checksum covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpBody {
    pub op_id: Uuid,
    pub device_id: Uuid,
    /// The person who made the change on the device; their rights are checked again when the
    /// op is applied (it may have waited offline while those rights changed).
    pub author_id: Uuid,
    /// Per device, gap-free, from 1.
    pub seq: u64,
    pub model: String,
    pub entity_id: Uuid,
    pub kind: OpKind,
    /// The server version the edit started from; `None` for creates, sales and deltas.
    #[serde(default)]
    pub base_version: Option<i64>,
    /// The changed fields with their new values (wire names).
    pub fields: BTreeMap<String, Value>,
    pub hlc: Hlc,
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    #[serde(flatten)]
    pub body: OpBody,
    /// Hex SHA-256 of the canonical JSON of `body`.
    pub checksum: String,
}

impl Op {
    /// Seals `body` with its checksum.
    pub fn seal(body: OpBody) -> Self {
        let checksum = body_checksum(&body);
        Self { body, checksum }
    }

    /// Whether the checksum matches the body (a tampered or corrupted op does not).
    pub fn checksum_ok(&self) -> bool {
        body_checksum(&self.body) == self.checksum
    }

    /// Hash of the whole op as sent, to tell "same op_id, same payload" (a replay) from "same
    /// op_id, different payload" (an error).
    pub fn payload_hash(&self) -> String {
        self.checksum.clone()
    }
}

fn body_checksum(body: &OpBody) -> String {
    // Serialising our own struct cannot fail (no maps with non-string keys, no NaN in Value).
    canonical::checksum(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub fn body() -> OpBody {
        OpBody {
            op_id: Uuid::from_u128(1),
            device_id: Uuid::from_u128(2),
            author_id: Uuid::from_u128(5),
            seq: 1,
            model: "productos.Producto".into(),
            entity_id: Uuid::from_u128(3),
            kind: OpKind::Update,
            base_version: Some(4),
            fields: [("precio".to_owned(), json!(129_900))].into(),
            hlc: Hlc {
                wall_ms: 10,
                counter: 0,
                node: "d".into(),
            },
            priority: 40,
        }
    }

    #[test]
    fn a_sealed_op_verifies_and_survives_the_wire() {
        let op = Op::seal(body());
        assert!(op.checksum_ok());
        let wire = serde_json::to_string(&op).unwrap();
        let back: Op = serde_json::from_str(&wire).unwrap();
        assert_eq!(back, op);
        assert!(back.checksum_ok());
    }

    #[test]
    fn tampering_with_any_field_breaks_the_checksum() {
        let mut op = Op::seal(body());
        op.body.fields.insert("precio".into(), json!(1));
        assert!(!op.checksum_ok());
        let mut op = Op::seal(body());
        op.body.seq = 2;
        assert!(!op.checksum_ok());
    }
}
