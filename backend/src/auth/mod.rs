//! Who is calling: passwords, sessions, sign-in rate limits, and the [`CurrentUser`] extractor
//! every protected route takes.

pub mod client_ip;
pub mod current_user;
pub mod password;
pub mod rate_limit;
pub mod session;

pub use current_user::CurrentUser;

use std::time::Duration;

/// Session lifetimes and cookie flags.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session unused this long is dead (a shift plus margin).
    pub idle_timeout: Duration,
    /// A session this old is dead however busy (sign in every day).
    pub absolute_timeout: Duration,
    /// Mark the cookie `Secure` even when the request did not come over https (behind a
    /// TLS-terminating proxy that does not send `X-Forwarded-Proto`).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `client_ip`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How far ahead of the server's clock a device's op stamp may be before it is clamped
    /// and the device flagged "reloj adelantado" (DESIGN §8).
    pub clock_margin: Duration,
}

impl AuthConfig {
    pub fn clock_margin_ms(&self) -> u64 {
        u64::try_from(self.clock_margin.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(8 * 3600),
            absolute_timeout: Duration::from_secs(24 * 3600),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            clock_margin: Duration::from_secs(120),
        }
    }
}
