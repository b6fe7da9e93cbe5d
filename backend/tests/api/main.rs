//! Integration tests: the real application bound to port 0, driven over HTTP. Run once on
//! SQLite, and once more on PostgreSQL when `PRONTO_TEST_POSTGRES_URL` is set.

mod access;
mod approvals;
mod auth;
mod backup;
mod bad_input;
mod cancellation;
mod conflict_rule;
mod demo;
mod durability;
mod edges;
mod fixtures;
mod health;
mod helpers;
mod prices;
mod queue_order;
mod realtime;
mod retention;
mod rush;
mod sales;
mod server;
mod signatures;
mod sincronizacion;
mod static_files;
mod stranded;
mod sync;
