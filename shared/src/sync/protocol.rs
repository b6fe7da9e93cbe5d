//! Push and pull messages between a device and the server (DESIGN §4).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{conflict::ConflictRecord, hlc::Hlc, op::Op};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: Uuid,
    pub ops: Vec<Op>,
    /// The app's protocol ([`super::op::PROTOCOL`]). Absent from apps of the first release,
    /// which the server tells to update (HTTP 426) while they keep their outbox.
    #[serde(default)]
    pub protocolo: Option<u32>,
}

/// Most ops one push may carry; a bigger batch is refused with 413 and the limit, and the
/// client sends smaller ones.
pub const MAX_PUSH_OPS: usize = 1_000;

/// What happened to one op. A replayed op gets the stored result of its first time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpResult {
    /// Applied; the entity is now at `version`.
    Applied { op_id: Uuid, version: i64 },
    /// Seen before: the answer of the first time.
    Duplicate {
        op_id: Uuid,
        #[cfg_attr(feature = "openapi", schema(no_recursion))]
        first: Box<OpResult>,
    },
    /// The op collided with newer server changes; `conflict` says what the strategy did.
    Conflict {
        op_id: Uuid,
        conflict: ConflictRecord,
    },
    /// Refused (validation, permission, malformed); never applied. `status` is the HTTP status
    /// the same refusal would have on its own (403 wrong store, 422 invalid, 409 reused id or
    /// seq gap, 400 bad checksum); `reason` is for a person.
    Rejected {
        op_id: Uuid,
        status: u16,
        code: String,
        reason: String,
    },
    /// Kept by the server, neither applied nor refused, until a manager accepts or discards
    /// it (an unsigned op of an earlier release pushed by someone other than its author). The
    /// device is done with it: it waits on the server, not in the outbox.
    Held { op_id: Uuid, reason: String },
}

impl OpResult {
    pub fn op_id(&self) -> Uuid {
        match self {
            Self::Applied { op_id, .. }
            | Self::Duplicate { op_id, .. }
            | Self::Conflict { op_id, .. }
            | Self::Rejected { op_id, .. }
            | Self::Held { op_id, .. } => *op_id,
        }
    }

    /// The result as it was first decided (unwraps `Duplicate`).
    pub fn original(&self) -> &OpResult {
        match self {
            Self::Duplicate { first, .. } => first.original(),
            other => other,
        }
    }
}

impl OpResult {
    pub fn rejected(op_id: Uuid, status: u16, code: &str, reason: impl Into<String>) -> Self {
        Self::Rejected {
            op_id,
            status,
            code: code.to_owned(),
            reason: reason.into(),
        }
    }

    /// Whether the device may drop the op from its outbox (every answer except a retryable
    /// refusal: a gap in seq means earlier ops must be sent first).
    pub fn is_final(&self) -> bool {
        !matches!(self.original(), Self::Rejected { code, .. } if code == "seq_gap")
    }

    /// Whether the op took its seq at the server: everything but the refusals decided before
    /// an op gets its place ([`super::admission::UNPLACED`]). The device keeps such ops for a
    /// while after the answer, in case the server is restored to a backup that lacks them.
    pub fn took_place(&self) -> bool {
        !matches!(self.original(), Self::Rejected { code, .. }
            if super::admission::UNPLACED.contains(&code.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushReply {
    /// One per op, in the order sent.
    pub results: Vec<OpResult>,
    /// The server's clock after the batch, for the device to observe.
    pub server_hlc: Hlc,
    /// Set when the batch's ops were stamped further ahead of the server's clock than it
    /// allows: by how many milliseconds (the till warns "reloj adelantado").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_ahead_ms: Option<u64>,
}

/// One committed change a device may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// Position in the global change sequence.
    pub seq: i64,
    pub model: String,
    pub entity_id: Uuid,
    pub version: i64,
    pub deleted: bool,
    /// The entity's synced fields (excluded fields left out); `Null` when deleted.
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullReply {
    pub changes: Vec<Change>,
    /// Pass this back as `cursor` for the next page.
    pub cursor: i64,
    pub has_more: bool,
    /// On the last page: how many of this device's ops the server holds for a manager
    /// (`manual` conflicts not settled yet). The till shows it until a manager decides, so it
    /// comes from the server each time rather than being counted on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_for_manager: Option<u32>,
    /// On the last page: the highest seq the server has seen from this device. A device whose
    /// storage was reset (and so counts from 0 again) raises its own to this, so it never
    /// takes a seq — and a folio — a second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_seq: Option<u64>,
    /// While more pages follow: the newest position of the change sequence, so a device
    /// downloading the catalog can say how far along it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<i64>,
    /// The identity of the server's database, new after every restore from a backup. A
    /// device that pulled from another one starts its pull again from the beginning: positions
    /// it saw past the backup were lost and are handed out again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}
