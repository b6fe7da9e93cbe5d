//! Retry delays after a failed sync: exponential with jitter, replayable from a seed.

/// Exponential backoff with full jitter, from a seeded generator so tests replay exactly.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    rng: u64,
    base_ms: u64,
    cap_ms: u64,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Self {
            failures: 0,
            rng: seed | 1,
            base_ms: 500,
            cap_ms: 60_000,
        }
    }

    /// Milliseconds to wait after one more failure: uniform in `[0, min(cap, base·2^n)]`.
    pub fn next_delay_ms(&mut self) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .base_ms
            .saturating_mul(1_u64 << self.failures.min(20))
            .min(self.cap_ms);
        // xorshift64*: cheap, deterministic, good enough for jitter (not for secrets).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        random % (ceiling + 1)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_its_jittered_cap_and_resets() {
        let mut backoff = Backoff::new(42);
        let mut max_seen = 0;
        for n in 1..=12 {
            let delay = backoff.next_delay_ms();
            let ceiling = (500_u64 << n).min(60_000);
            assert!(delay <= ceiling, "{n}: {delay} > {ceiling}");
            max_seen = max_seen.max(delay);
        }
        assert!(max_seen > 500, "jitter spreads up the range: {max_seen}");
        backoff.reset();
        assert!(backoff.next_delay_ms() <= 1_000);
        let replay: Vec<u64> = {
            let mut b = Backoff::new(42);
            (0..5).map(|_| b.next_delay_ms()).collect()
        };
        let again: Vec<u64> = {
            let mut b = Backoff::new(42);
            (0..5).map(|_| b.next_delay_ms()).collect()
        };
        assert_eq!(replay, again, "the same seed gives the same delays");
    }
}
