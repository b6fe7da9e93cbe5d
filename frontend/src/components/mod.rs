//! Reusable pieces of the screen.

pub mod connection_indicator;
pub mod device_card;
pub mod modal;
pub mod pin_card;
pub mod sync_bar;
pub mod update_banner;
pub mod user_badge;
