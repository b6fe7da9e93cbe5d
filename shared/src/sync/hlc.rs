//! Hybrid logical clock (Kulkarni et al.): a timestamp that follows wall time when clocks
//! agree, never goes backwards on one node, and always orders a received event before what the
//! receiver does next — even when a tablet's clock is minutes off. `ultima_modificacion`
//! compares these stamps, never raw wall clocks.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// One stamp: wall milliseconds, a counter for events within the same millisecond, and the
/// node (device or server) that made it, which breaks exact ties deterministically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub node: String,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, &self.node).cmp(&(other.wall_ms, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hlc {
    /// The stamp before every real one.
    pub fn zero(node: impl Into<String>) -> Self {
        Self {
            wall_ms: 0,
            counter: 0,
            node: node.into(),
        }
    }

    /// Fixed-width text that sorts like the stamp (for storage and logs):
    /// `0001795000000123-00000-node`.
    pub fn encode(&self) -> String {
        format!("{:016}-{:05}-{}", self.wall_ms, self.counter, self.node)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        let wall_ms = parts.next()?.parse().ok()?;
        let counter = parts.next()?.parse().ok()?;
        let node = parts.next()?.to_owned();
        Some(Self {
            wall_ms,
            counter,
            node,
        })
    }
}

/// A device's stamp as the server orders it (DESIGN §8, bounded clocks): never more than
/// `margin_ms` ahead of the server's wall clock. A stamp beyond that is pulled back to
/// `now + margin` (counter and node kept, so it still orders deterministically); the second
/// value is how far ahead the device's stamp was (0 within the margin). A clock that is behind
/// needs nothing: the HLC already orders what it does after what it saw.
pub fn bound(stamp: &Hlc, now_ms: u64, margin_ms: u64) -> (Hlc, u64) {
    let limit = now_ms.saturating_add(margin_ms);
    if stamp.wall_ms <= limit {
        return (stamp.clone(), 0);
    }
    let ahead = stamp.wall_ms - now_ms;
    let bounded = Hlc {
        wall_ms: limit,
        counter: stamp.counter,
        node: stamp.node.clone(),
    };
    (bounded, ahead)
}

/// A node's clock: the last stamp it issued or saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            last: Hlc::zero(node),
        }
    }

    /// Restores a clock from its last persisted stamp (after a restart).
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    pub fn last(&self) -> &Hlc {
        &self.last
    }

    /// A stamp for a local event at wall time `now_ms`: later than everything before.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.last.wall_ms {
            self.last.wall_ms = now_ms;
            self.last.counter = 0;
        } else {
            self.bump_counter();
        }
        self.last.clone()
    }

    /// Takes in a stamp from elsewhere, so that the next local stamp is later than it.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) -> Hlc {
        let wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let counter = if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.last.counter.max(remote.counter).saturating_add(1)
        } else if wall == self.last.wall_ms {
            self.last.counter.saturating_add(1)
        } else if wall == remote.wall_ms {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        self.last.wall_ms = wall;
        self.last.counter = counter;
        self.last.clone()
    }

    fn bump_counter(&mut self) {
        match self.last.counter.checked_add(1) {
            Some(c) => self.last.counter = c,
            // 4 billion events in one millisecond: borrow the next millisecond instead.
            None => {
                self.last.wall_ms += 1;
                self.last.counter = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_ahead_of_the_margin_is_pulled_back_and_says_by_how_much() {
        let now = 1_795_000_000_000;
        let fine = Hlc {
            wall_ms: now + 60_000,
            counter: 3,
            node: "d".into(),
        };
        assert_eq!(bound(&fine, now, 120_000), (fine.clone(), 0));
        let fast = Hlc {
            wall_ms: now + 600_000,
            counter: 3,
            node: "d".into(),
        };
        let (b, ahead) = bound(&fast, now, 120_000);
        assert_eq!(b.wall_ms, now + 120_000);
        assert_eq!(ahead, 600_000);
        let absurd = Hlc {
            wall_ms: u64::MAX,
            counter: 0,
            node: "d".into(),
        };
        assert_eq!(bound(&absurd, now, 120_000).0.wall_ms, now + 120_000);
        let behind = Hlc {
            wall_ms: now - 3_600_000,
            counter: 0,
            node: "d".into(),
        };
        assert_eq!(bound(&behind, now, 120_000), (behind.clone(), 0));
    }
    use proptest::prelude::*;

    #[test]
    fn follows_wall_time_and_never_goes_back_when_the_clock_does() {
        let mut clock = HlcClock::new("a");
        let first = clock.tick(1_000);
        let second = clock.tick(900); // the tablet's clock jumped back
        let third = clock.tick(1_000);
        assert!(first < second && second < third);
        assert_eq!(clock.tick(2_000).wall_ms, 2_000);
    }

    #[test]
    fn a_received_stamp_orders_before_the_next_local_event() {
        let mut slow = HlcClock::new("slow");
        let remote = Hlc {
            wall_ms: 50_000,
            counter: 7,
            node: "fast".into(),
        };
        slow.observe(&remote, 1_000);
        let next = slow.tick(1_001);
        assert!(next > remote, "{next:?} vs {remote:?}");
    }

    #[test]
    fn encoding_round_trips_and_sorts_like_the_stamp() {
        let a = Hlc {
            wall_ms: 5,
            counter: 2,
            node: "dev-1".into(),
        };
        let b = Hlc {
            wall_ms: 10,
            counter: 0,
            node: "a".into(),
        };
        assert_eq!(Hlc::decode(&a.encode()), Some(a.clone()));
        assert!(a.encode() < b.encode());
        assert_eq!(Hlc::decode("nope"), None);
    }

    proptest! {
        #[test]
        fn stamps_strictly_increase_whatever_the_clock_and_messages_do(
            events in proptest::collection::vec((any::<bool>(), 0_u64..10_000, 0_u64..10_000, 0_u32..5), 1..200)
        ) {
            let mut clock = HlcClock::new("n");
            let mut previous = clock.last().clone();
            for (receive, now, remote_wall, remote_counter) in events {
                let stamp = if receive {
                    let remote = Hlc { wall_ms: remote_wall, counter: remote_counter, node: "r".into() };
                    let stamp = clock.observe(&remote, now);
                    prop_assert!(stamp > remote);
                    stamp
                } else {
                    clock.tick(now)
                };
                prop_assert!(stamp > previous);
                previous = stamp;
            }
        }
    }
}
