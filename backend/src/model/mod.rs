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

/// When a write happens: its position in the change sequence, its wall time (RFC 3339) and
/// its HLC stamp. Every synced write carries all three.
#[derive(Debug, Clone, Copy)]
pub struct WriteAt<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub hlc: &'a pronto_shared::sync::Hlc,
}
