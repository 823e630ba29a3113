//! [`Backoff`]: how long the drain thread waits before retrying a failed write.
#![forbid(unsafe_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff with a cap and jitter, for retrying storage writes that failed with a
/// retryable [`StorageError`](crate::arrow::files::StorageError) (full disk, permissions, a
/// removed directory) while the records wait in the ring.
///
/// Attempt `n` (from 0) waits a delay drawn uniformly from `[d/2, d]`, where
/// `d = min(max, initial * 2^n)` ("equal jitter": never less than half the nominal delay, so
/// retries do not collapse onto each other, and never more than the cap). [`reset`] after a
/// success. It only computes durations; the caller sleeps or parks, so tests need no clock.
///
/// [`reset`]: Backoff::reset
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Delays starting near `initial`, capped at `max`, jittered from a random seed.
    pub fn new(initial: Duration, max: Duration) -> Self {
        // A random seed without a rand dependency: std seeds `RandomState` from the OS.
        let seed = RandomState::new().build_hasher().finish();
        Self::with_seed(initial, max, seed)
    }

    /// As [`new`](Self::new) with a fixed jitter seed (deterministic sequences for tests).
    pub fn with_seed(initial: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            initial: initial.min(max),
            max,
            attempt: 0,
            rng: seed,
        }
    }

    /// The delay before the next retry; advances the attempt count.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        let nominal = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = nominal / 2;
        let span = u64::try_from((nominal - half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = match span.checked_add(1) {
            Some(modulus) => self.next_random() % modulus,
            None => self.next_random(),
        };
        half.saturating_add(Duration::from_nanos(jitter))
    }

    /// Retries so far since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Back to the initial delay (call after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// splitmix64: small, fast, good enough for jitter.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Default for Backoff {
    /// 50 ms doubling up to 5 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(50), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_bounds_then_caps() {
        let initial = Duration::from_millis(10);
        let max = Duration::from_millis(1000);
        let mut b = Backoff::with_seed(initial, max, 7);
        let mut nominal = initial;
        for _ in 0..40 {
            let d = b.next_delay();
            assert!(d >= nominal / 2 && d <= nominal, "{d:?} vs {nominal:?}");
            nominal = (nominal * 2).min(max);
        }
        assert_eq!(b.attempts(), 40);
        b.reset();
        assert!(b.next_delay() <= initial);
    }

    #[test]
    fn jitter_varies_and_is_deterministic_per_seed() {
        let mk = |seed| {
            let mut b = Backoff::with_seed(Duration::from_secs(1), Duration::from_secs(1), seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(mk(1), mk(1));
        assert_ne!(mk(1), mk(2));
        let distinct: std::collections::HashSet<_> = mk(3).into_iter().collect();
        assert!(distinct.len() > 1);
    }

    #[test]
    fn zero_and_huge_durations_do_not_overflow() {
        let mut b = Backoff::with_seed(Duration::ZERO, Duration::ZERO, 1);
        assert_eq!(b.next_delay(), Duration::ZERO);
        let mut b = Backoff::with_seed(Duration::MAX, Duration::MAX, 1);
        for _ in 0..70 {
            assert!(b.next_delay() >= Duration::MAX / 2);
        }
    }
}
