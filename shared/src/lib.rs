//! Everything the Pronto POS server and the browser client must agree on.
//!
//! This crate compiles for native targets and for `wasm32-unknown-unknown`. It holds no I/O:
//! no tokio, no sqlx, no browser APIs. Wire types live here so that a change to the protocol is
//! one change, checked by the compiler on both sides.

pub mod access;
pub mod api;
pub mod catalog;
pub mod connection;
pub mod domain;
pub mod error;
pub mod health;
pub mod search;
pub mod sync;

pub use access::{Action, Principal, Role};
pub use connection::{ConnectionState, Heartbeat};
pub use error::ErrorBody;
pub use health::{DatabaseStatus, HealthReport, HealthStatus};
