//! The operation: the unit that is queued on a device, sent, applied once, and audited
//! (DESIGN §4).
//!
//! Since protocol 2 every op is signed by its author (DESIGN §8): Ed25519 over
//! [`signing_message`], with the key the author registered for the device (`key_id`). The
//! signature covers everything but `seq`: a device signs before its storage hands out the next
//! seq inside one atomic write (WebCrypto signs asynchronously, and an IndexedDB transaction
//! cannot wait for it). That is safe because the signed `op_id` is random and the server
//! applies an op id at most once: a signature lifted onto another seq is the same op id with a
//! different payload, which is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{canonical, hlc::Hlc};

/// The op format this build writes. 1: unsigned (releases before signed authorship);
/// 2: signed by its author.
pub const PROTOCOL: u32 = 2;
/// The op formats a server of this build accepts (1 only under the legacy rule).
pub const ACCEPTED_PROTOCOLS: [u32; 2] = [1, 2];

/// Domain tag in front of every signed message, so an op signature can never be taken for a
/// signature of anything else the same key might sign.
const SIGNING_TAG: &str = "pronto-op-v2\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl OpKind {
    /// The wire name (as serde writes it), also stored in `sync_ops.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Sale => "sale",
            Self::StockDelta => "stock_delta",
            Self::Return => "return",
        }
    }
}

/// Everything the checksum covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The op format (see [`PROTOCOL`]); absent on ops of the first release.
    #[serde(default = "protocol_one", skip_serializing_if = "is_protocol_one")]
    pub v: u32,
    /// The author's signing key for this device (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
}

fn protocol_one() -> u32 {
    1
}

fn is_protocol_one(v: &u32) -> bool {
    *v == 1
}

/// An op as it travels and is stored: the body's fields and the checksum side by side, plus
/// the author's signature. Unknown fields are refused (a flattened struct would silently
/// accept them, so the wire form is spelled out in [`OpWire`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "OpWire", into = "OpWire")]
pub struct Op {
    pub body: OpBody,
    /// Hex SHA-256 of the canonical JSON of `body`.
    pub checksum: String,
    /// Base64url (no padding) Ed25519 signature of [`signing_message`] by `body.key_id`.
    pub signature: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct OpWire {
    op_id: Uuid,
    device_id: Uuid,
    author_id: Uuid,
    seq: u64,
    model: String,
    entity_id: Uuid,
    kind: OpKind,
    #[serde(default)]
    base_version: Option<i64>,
    fields: BTreeMap<String, Value>,
    hlc: Hlc,
    priority: i32,
    #[serde(default = "protocol_one", skip_serializing_if = "is_protocol_one")]
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<Uuid>,
    checksum: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// An op's schema is its wire form's.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Op {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <OpWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Op {
    fn name() -> std::borrow::Cow<'static, str> {
        "Op".into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <OpWire as utoipa::ToSchema>::schemas(schemas);
    }
}

impl From<Op> for OpWire {
    fn from(op: Op) -> Self {
        let b = op.body;
        Self {
            op_id: b.op_id,
            device_id: b.device_id,
            author_id: b.author_id,
            seq: b.seq,
            model: b.model,
            entity_id: b.entity_id,
            kind: b.kind,
            base_version: b.base_version,
            fields: b.fields,
            hlc: b.hlc,
            priority: b.priority,
            v: b.v,
            key_id: b.key_id,
            checksum: op.checksum,
            signature: op.signature,
        }
    }
}

impl From<OpWire> for Op {
    fn from(w: OpWire) -> Self {
        Self {
            body: OpBody {
                op_id: w.op_id,
                device_id: w.device_id,
                author_id: w.author_id,
                seq: w.seq,
                model: w.model,
                entity_id: w.entity_id,
                kind: w.kind,
                base_version: w.base_version,
                fields: w.fields,
                hlc: w.hlc,
                priority: w.priority,
                v: w.v,
                key_id: w.key_id,
            },
            checksum: w.checksum,
            signature: w.signature,
        }
    }
}

/// The bytes an author signs for `body`: a domain tag and the canonical JSON of the body
/// without `seq` (see the module note).
pub fn signing_message(body: &OpBody) -> Vec<u8> {
    let mut value = serde_json::to_value(body).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("seq");
    }
    let mut message = SIGNING_TAG.as_bytes().to_vec();
    // Writing into a Vec cannot fail.
    let _ = canonical::write_canonical(&value, &mut message);
    message
}

impl Op {
    /// Seals `body` with its checksum.
    pub fn seal(body: OpBody) -> Self {
        let checksum = body_checksum(&body);
        Self {
            body,
            checksum,
            signature: None,
        }
    }

    /// Seals `body` with its checksum and the author's signature.
    pub fn seal_signed(body: OpBody, signature: String) -> Self {
        Self {
            signature: Some(signature),
            ..Self::seal(body)
        }
    }

    /// The signed message of this op (what [`Op::signature`] must verify against).
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(&self.body)
    }

    /// Whether the checksum matches the body (a tampered or corrupted op does not).
    pub fn checksum_ok(&self) -> bool {
        body_checksum(&self.body) == self.checksum
    }

    /// Hash of the whole op as sent, to tell "same op_id, same payload" (a replay) from "same
    /// op_id, different payload" (an error). The checksum covers the body; an unsigned op's
    /// hash is its checksum (as stored by the first release), a signed one's also covers the
    /// signature.
    pub fn payload_hash(&self) -> String {
        match &self.signature {
            None => self.checksum.clone(),
            Some(sig) => canonical::sha256_hex(format!("{}:{sig}", self.checksum).as_bytes()),
        }
    }
}

fn body_checksum(body: &OpBody) -> String {
    // Serialising our own struct cannot fail (no maps with non-string keys, no NaN in Value).
    canonical::checksum(body).unwrap_or_default()
}

/// A sealed, unsigned customer create of `device` at `seq` (op id 1000 + seq), for tests.
#[cfg(test)]
pub(crate) fn test_op(device: Uuid, seq: u64) -> Op {
    Op::seal(OpBody {
        op_id: Uuid::from_u128(1000 + u128::from(seq)),
        device_id: device,
        author_id: Uuid::from_u128(7),
        seq,
        model: "clientes.Cliente".into(),
        entity_id: Uuid::from_u128(8),
        kind: OpKind::Create,
        base_version: None,
        fields: BTreeMap::new(),
        hlc: Hlc::zero("d"),
        priority: 0,
        v: 2,
        key_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_names_are_the_wire_names() {
        for kind in [
            OpKind::Create,
            OpKind::Update,
            OpKind::Delete,
            OpKind::Sale,
            OpKind::StockDelta,
            OpKind::Return,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }

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
            v: 1,
            key_id: None,
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
    fn unknown_fields_of_an_op_are_refused() {
        let op = Op::seal(body());
        let mut wire = serde_json::to_value(&op).unwrap();
        wire["author_override"] = json!("x");
        assert!(serde_json::from_value::<Op>(wire).is_err());
    }

    #[test]
    fn an_op_of_the_first_release_reads_as_protocol_one_with_its_old_checksum() {
        let old = r#"{"op_id":"00000000-0000-0000-0000-000000000001","device_id":"00000000-0000-0000-0000-000000000002","author_id":"00000000-0000-0000-0000-000000000005","seq":1,"model":"productos.Producto","entity_id":"00000000-0000-0000-0000-000000000003","kind":"update","base_version":4,"fields":{"precio":129900},"hlc":{"wall_ms":10,"counter":0,"node":"d"},"priority":40,"checksum":"CHK"}"#;
        let sealed = Op::seal(body());
        let old = old.replace("CHK", &sealed.checksum);
        let op: Op = serde_json::from_str(&old).unwrap();
        assert_eq!(op.body.v, 1);
        assert!(op.signature.is_none());
        assert!(
            op.checksum_ok(),
            "the first release's checksum still verifies"
        );
        assert_eq!(op.payload_hash(), sealed.checksum);
    }

    #[test]
    fn the_signed_message_leaves_out_seq_and_nothing_else() {
        let mut a = body();
        a.v = 2;
        let mut b = a.clone();
        b.seq = 99;
        assert_eq!(signing_message(&a), signing_message(&b));
        let mut c = a.clone();
        c.fields.insert("precio".into(), json!(1));
        assert_ne!(signing_message(&a), signing_message(&c));
        let mut d = a.clone();
        d.op_id = Uuid::from_u128(77);
        assert_ne!(signing_message(&a), signing_message(&d));
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
