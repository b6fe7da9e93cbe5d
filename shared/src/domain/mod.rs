//! Validated domain values. Each type can only be built through its `parse`/`new`, so a value
//! that exists is valid: the REST handlers, the sync apply path and the browser all validate
//! with the same code. Messages are Spanish (es-MX): they are shown to cashiers as they are.

pub mod ean13;
pub mod email;
pub mod money;
pub mod phone;
pub mod quantity;
pub mod rfc;
pub mod size;
pub mod sku;
pub mod validation;

pub use ean13::Ean13;
pub use email::Email;
pub use money::{Money, Price};
pub use phone::Phone;
pub use quantity::{Quantity, StockDelta};
pub use rfc::Rfc;
pub use size::ShoeSize;
pub use sku::Sku;
pub use validation::{FieldErrors, ValidationError};
