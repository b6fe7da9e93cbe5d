//! Time as the server sees it, behind a trait so tests can move it forward (session expiry)
//! instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_ms(&self) -> i64;

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.now_ms()) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 with milliseconds, e.g. `2026-11-28T04:15:52.123Z`.
    fn now_rfc3339(&self) -> String {
        rfc3339(self.now())
    }

    /// `YYYY-MM-DD` of the current UTC day.
    fn today(&self) -> String {
        let now = self.now();
        format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        )
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(AtomicI64::new(start_ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds_and_day() {
        let clock = ManualClock::new(1_795_000_000_123);
        assert_eq!(clock.now_rfc3339(), "2026-11-18T11:06:40.123Z");
        assert_eq!(clock.today(), "2026-11-18");
        clock.advance_ms(86_400_000);
        assert_eq!(clock.today(), "2026-11-19");
    }
}
