//! The sync service (DESIGN §4–5, §8): push apply with exactly-once, pull from the global
//! change sequence, conflicts, the live configuration, and the hash-chained audit log. The
//! rules themselves live in `pronto_shared::sync`; this module loads, decides and writes.

pub mod audit;
pub mod config_store;
pub mod entities;
pub mod movements;
pub mod pull;
pub mod push;
pub mod queue;
pub mod resolve;
pub mod retention;
pub mod sessions;
pub mod signatures;
