//! One module per screen.

pub mod audit_queue;
pub mod catalog;
pub mod conflicts;
pub mod customers;
pub mod dashboard;
pub mod home;
pub mod login;
pub mod not_found;
pub mod returns;
pub mod sale;
pub mod stock;
pub mod sync_config;
