//! Time as the server sees it, behind a trait so tests can move it forward (session expiry)
//! instead of sleeping — and the ids the server makes, which are UUIDv7 (time + random): the
//! simulation's server takes both from the seed, so a seed replays byte for byte.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use uuid::Uuid;

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

    /// A new id for a row the server creates (a device, a stock movement, a conflict …).
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }

    /// `YYYY-MM-DD` of the current day in the IANA time `zone` (a store's day); the UTC day
    /// for a zone the database does not know.
    fn today_in(&self, zone: &str) -> String {
        let local = jiff::tz::TimeZone::get(zone).ok().and_then(|tz| {
            jiff::Timestamp::from_millisecond(self.now_ms())
                .ok()
                .map(|at| at.to_zoned_datetime(tz).date())
        });
        match local {
            Some(date) => format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day()),
            None => self.today(),
        }
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

/// A clock that only moves when told to (tests), and whose ids are its time and a counter
/// (no randomness: a simulated seed replays identically).
#[derive(Debug)]
pub struct ManualClock {
    now_ms: AtomicI64,
    ids: AtomicU64,
}

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(start_ms),
            ids: AtomicU64::new(0),
        }
    }

    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn new_id(&self) -> Uuid {
        let n = self.ids.fetch_add(1, Ordering::SeqCst);
        let mut counter = [0_u8; 10];
        counter[2..].copy_from_slice(&n.to_be_bytes());
        let ms = u64::try_from(self.now_ms()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &counter).into_uuid()
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

    #[test]
    fn a_stores_day_is_its_local_day() {
        // 2026-11-19 02:30 UTC is 20:30 of the 18th in Mexico City (UTC−6, no summer time).
        let clock = ManualClock::new(1_795_055_400_000);
        assert_eq!(clock.today(), "2026-11-19");
        assert_eq!(clock.today_in("America/Mexico_City"), "2026-11-18");
        assert_eq!(clock.today_in("Asia/Tokyo"), "2026-11-19");
        assert_eq!(clock.today_in("Nowhere/Atlantis"), "2026-11-19");
    }

    #[test]
    fn manual_ids_are_distinct_time_ordered_v7_and_the_same_on_every_run() {
        let make = || {
            let clock = ManualClock::new(1_795_000_000_000);
            let a = clock.new_id();
            clock.advance_ms(1);
            (a, clock.new_id(), clock.new_id())
        };
        let (a, b, c) = make();
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(make(), (a, b, c));
    }
}
