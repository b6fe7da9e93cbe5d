//! The sync protocol (DESIGN §4–5): operations, the hybrid logical clock, canonical JSON and
//! checksums, per-model configuration, push/pull messages, and the conflict rules as pure
//! functions. No I/O: the server and the client engine both build on these.

pub mod admission;
pub mod canonical;
pub mod config;
pub mod conflict;
pub mod engine;
pub mod events;
pub mod hlc;
pub mod memory;
pub mod op;
pub mod order;
pub mod protocol;
pub mod records;
#[cfg(not(target_arch = "wasm32"))]
pub mod signing;

pub use config::{ModelConfig, Strategy};
pub use conflict::{ConflictRecord, Decision, Outcome, RowState};
pub use hlc::{Hlc, HlcClock};
pub use op::{Op, OpBody, OpKind};
pub use protocol::{Change, OpResult, PullReply, PushReply, PushRequest};
