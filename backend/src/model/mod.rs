//! Reads and writes of each kind of record, taking a connection or transaction from the
//! caller. The REST routes call these, and so will the sync apply path: the validation and the
//! bookkeeping (versions, field versions, change sequence) are written once, here and in
//! `pronto_shared`.

pub mod customers;
pub mod devices;
pub mod field_versions;
pub mod products;
pub mod sales;
pub mod stock;
pub mod stores;
pub mod users;
