//! Waiting for room, for callers that prefer to wait a little over dropping (feature `std`).
//!
//! Built on top of the non-blocking claim and outside the hot path: a caller only gets here
//! after the ring said `Full`. It spins briefly, then yields, then sleeps with growing pauses
//! (capped at 1 ms) until the deadline. It never parks on a signal from the consumer, so the
//! consumer's read path stays free of any wake-up cost.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use super::{Claim, Producer, WriteError};
use crate::sync::Ordering;

const SPINS: u32 = 64;
const YIELDS: u32 = 16;
const MAX_SLEEP: Duration = Duration::from_millis(1);

impl<'r> Producer<'r> {
    /// Like [`try_claim`](Producer::try_claim), but waits up to `timeout` for room.
    ///
    /// # Errors
    /// [`WriteError::TimedOut`] if the ring is still full at the deadline (counted once in
    /// `rejected_full`); otherwise as `try_claim`.
    pub fn claim_timeout(
        &self,
        kind: u32,
        len: usize,
        timeout: Duration,
    ) -> Result<Claim<'r>, WriteError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut attempt = 0u32;
        loop {
            match self.claim_uncounted(kind, len) {
                Err(WriteError::Full) => {}
                other => return other,
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                self.ring().rejections.full.fetch_add(1, Ordering::Relaxed);
                return Err(WriteError::TimedOut);
            }
            attempt = attempt.saturating_add(1);
            if attempt <= SPINS {
                std::hint::spin_loop();
            } else if attempt <= SPINS + YIELDS {
                std::thread::yield_now();
            } else {
                let exp = (attempt - SPINS - YIELDS).min(10);
                let pause = Duration::from_micros(1 << exp).min(MAX_SLEEP);
                let pause = deadline.map_or(pause, |d| pause.min(d.saturating_duration_since(now)));
                std::thread::sleep(pause);
            }
        }
    }

    /// Like [`try_write`](Producer::try_write), but waits up to `timeout` for room.
    ///
    /// # Errors
    /// As [`Producer::claim_timeout`].
    pub fn write_timeout(
        &self,
        kind: u32,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<(), WriteError> {
        let mut claim = self.claim_timeout(kind, payload.len(), timeout)?;
        claim.payload_mut().copy_from_slice(payload);
        claim.commit();
        Ok(())
    }
}
