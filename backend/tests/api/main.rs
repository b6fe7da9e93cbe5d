//! Integration tests: the real application bound to port 0, driven over HTTP.

mod health;
mod helpers;
mod server;
mod static_files;
