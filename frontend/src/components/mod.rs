//! Reusable pieces of the screen.

pub mod connection_indicator;
pub mod device_card;
pub mod update_banner;
pub mod user_badge;
