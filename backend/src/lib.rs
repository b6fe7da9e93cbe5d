//! Pronto POS server.
//!
//! `main.rs` only parses the command line; everything else lives here so that integration tests
//! can build the real application, bind it to port 0 and drive it over HTTP:
//!
//! - [`config`]: command line and environment (`pronto serve`).
//! - [`db`]: the connection pool (SQLite by default, PostgreSQL by URL) and embedded migrations.
//! - [`routes`]: the `/api` routers, one module per feature.
//! - [`static_files`]: the built web app (`dist/`) with its caching rules and client routes.
//! - [`server`]: assembles the router and runs it until a shutdown signal.
//! - [`auth`]: passwords, sessions, sign-in limits, the `CurrentUser` extractor.
//! - [`model`]: reads and writes per kind of record, shared by REST and (later) sync.
//! - [`demo`]: the deterministic demo data set (`pronto serve --demo`).
//! - [`error`]: the one error type, mapped to HTTP status and JSON body at the edge.
//! - [`edge`]: what every `/api` and `/ws` answer obeys (JSON-only writes, JSON errors, headers).

pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod edge;
pub mod error;
pub mod events;
pub mod extract;
pub mod metrics;
pub mod model;
pub mod presence;
pub mod routes;
pub mod rows;
pub mod server;
pub mod static_files;
pub mod sync;
pub mod telemetry;
pub mod writable;
pub mod ws;

pub use error::AppError;
pub use server::{router, run, AppState};
