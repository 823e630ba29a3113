//! Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS architecture
//! blog): the `n`-th delay is uniform in `[0, min(max_backoff, initial_backoff * 2^n)]`, so
//! clients that failed together do not retry together. A server-requested delay replaces the
//! computed one, capped by `max_server_delay`.
//!
//! The random numbers are a SplitMix64 stream seeded from std's per-process random hash keys:
//! jitter needs spread, not cryptographic quality, and this needs no dependency.
#![forbid(unsafe_code)]

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::config::RetryConfig;

/// The delays of one request's retries.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    max_server_delay: Duration,
    /// Retries so far.
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(super) fn new(retry: &RetryConfig) -> Backoff {
        Backoff {
            initial: retry.initial_backoff,
            max: retry.max_backoff.max(retry.initial_backoff),
            max_server_delay: retry.max_server_delay,
            attempt: 0,
            rng: RandomState::new().hash_one(0x6f74_6c70_u64),
        }
    }

    /// The ceiling of the next delay before jitter: `min(max, initial * 2^attempt)`.
    pub(super) fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay: the server's (capped) when it asked for one, else full jitter.
    pub(super) fn next(&mut self, server_delay: Option<Duration>) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        if let Some(asked) = server_delay {
            return asked.min(self.max_server_delay);
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        // Uniform in [0, nanos] (the modulo bias is negligible for delays far below 2^64 ns).
        Duration::from_nanos(self.random() % nanos.saturating_add(1))
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(initial_ms: u64, max_ms: u64, server_ms: u64) -> RetryConfig {
        RetryConfig {
            initial_backoff: Duration::from_millis(initial_ms),
            max_backoff: Duration::from_millis(max_ms),
            max_elapsed: Duration::from_secs(60),
            max_server_delay: Duration::from_millis(server_ms),
        }
    }

    #[test]
    fn ceilings_double_up_to_the_max() {
        let mut b = Backoff::new(&config(100, 1000, 0));
        let mut ceilings = Vec::new();
        for _ in 0..6 {
            ceilings.push(b.ceiling().as_millis());
            let _ = b.next(None);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        for _ in 0..100 {
            let _ = b.next(None);
        }
        assert_eq!(b.ceiling(), Duration::from_millis(1000), "no overflow");
    }

    #[test]
    fn full_jitter_stays_in_range_and_spreads() {
        let mut b = Backoff::new(&config(1000, 1000, 0));
        let delays: Vec<Duration> = (0..1000).map(|_| b.next(None)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(1000)));
        let low = delays
            .iter()
            .filter(|d| **d < Duration::from_millis(500))
            .count();
        // Uniform: about half below the middle (binomial, 1000 draws: far inside 350..650).
        assert!((350..650).contains(&low), "{low}");
    }

    #[test]
    fn server_delay_wins_but_is_capped() {
        let mut b = Backoff::new(&config(10, 20, 300));
        assert_eq!(
            b.next(Some(Duration::from_millis(200))),
            Duration::from_millis(200)
        );
        assert_eq!(
            b.next(Some(Duration::from_secs(3600))),
            Duration::from_millis(300)
        );
        assert_eq!(b.next(Some(Duration::ZERO)), Duration::ZERO);
    }
}
