//! Readiness: is the service taking and storing telemetry right now?
//!
//! `/ready` answers 200 only when all of these hold, else 503 naming each that does not:
//!
//! 1. the receivers that are enabled are bound and their server tasks still run;
//! 2. the service is not shutting down;
//! 3. no signal's writer failed a storage operation (its `write_errors` counter moved) in the
//!    last [`WRITE_ERROR_WINDOW`];
//! 4. no signal's drain is stuck: its ring has held data for [`STUCK_AFTER`] while the drain
//!    read nothing from it (a drain retrying a failing write stops reading, so a full disk shows
//!    here too even before the ring fills).
//!
//! [`Health`] only compares successive samples of the pipeline counters; the caller passes the
//! time in (a ticker samples once a second, and `/ready` samples before it answers), so the
//! rules are tested without clocks or sleeps.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use crate::pipeline::SignalStats;
use crate::signal::Signal;

/// A write error makes the service unready for this long.
pub const WRITE_ERROR_WINDOW: Duration = Duration::from_secs(30);
/// A ring that holds data while its drain reads nothing for this long is stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, Default)]
struct Lane {
    write_errors: u64,
    records_read: u64,
    /// When `write_errors` was last seen to move.
    last_error_at: Option<Instant>,
    /// Since when the ring has held data with no read in between.
    waiting_since: Option<Instant>,
}

/// Readiness state of the three signals' storage paths.
#[derive(Debug, Clone, Default)]
pub struct Health {
    lanes: [Lane; 3],
}

impl Health {
    /// A tracker that has seen no sample: counters start at zero, so errors already counted
    /// when the first sample is taken count as recent.
    pub fn new() -> Health {
        Health::default()
    }

    /// Takes one sample of every signal's counters (in [`Signal::ALL`] order) at `now`.
    pub fn observe(&mut self, now: Instant, stats: &[SignalStats; 3]) {
        for (lane, s) in self.lanes.iter_mut().zip(stats) {
            if s.storage.write_errors != lane.write_errors {
                lane.write_errors = s.storage.write_errors;
                lane.last_error_at = Some(now);
            }
            let progressed = s.ring.records_read != lane.records_read;
            lane.records_read = s.ring.records_read;
            lane.waiting_since = if s.ring.in_use_bytes == 0 || progressed {
                // Empty, or read since the last sample: the wait (if any) starts over now.
                (s.ring.in_use_bytes != 0).then_some(now)
            } else {
                lane.waiting_since.or(Some(now))
            };
        }
    }

    /// Why storage is not ready at `now`, one message per problem; empty when ready.
    pub fn problems(&self, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        for (lane, signal) in self.lanes.iter().zip(Signal::ALL) {
            if let Some(at) = lane.last_error_at {
                let ago = now.saturating_duration_since(at);
                if ago < WRITE_ERROR_WINDOW {
                    out.push(format!(
                        "{signal}: storage write error {}s ago ({} in all)",
                        ago.as_secs(),
                        lane.write_errors
                    ));
                }
            }
            if let Some(since) = lane.waiting_since {
                let waited = now.saturating_duration_since(since);
                if waited >= STUCK_AFTER {
                    out.push(format!(
                        "{signal}: drain stuck, nothing read from a non-empty ring for {}s",
                        waited.as_secs()
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(write_errors: u64, records_read: u64, in_use: u64) -> [SignalStats; 3] {
        let mut s = [SignalStats::default(); 3];
        s[1].storage.write_errors = write_errors;
        s[1].ring.records_read = records_read;
        s[1].ring.in_use_bytes = in_use;
        s
    }

    #[test]
    fn a_write_error_makes_it_unready_for_the_window() {
        let t0 = Instant::now();
        let mut h = Health::new();
        h.observe(t0, &stats(0, 0, 0));
        assert!(h.problems(t0).is_empty());
        h.observe(t0 + Duration::from_secs(1), &stats(1, 0, 0));
        let p = h.problems(t0 + Duration::from_secs(2));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("metrics: storage write error 1s ago"),
            "{p:?}"
        );
        // The counter stays put: ready again once the window has passed.
        h.observe(t0 + Duration::from_secs(20), &stats(1, 0, 0));
        assert!(!h.problems(t0 + Duration::from_secs(30)).is_empty());
        assert!(h.problems(t0 + Duration::from_secs(31)).is_empty());
    }

    #[test]
    fn errors_counted_before_the_first_sample_are_recent() {
        let t0 = Instant::now();
        let mut h = Health::new();
        h.observe(t0, &stats(3, 0, 0));
        assert_eq!(h.problems(t0).len(), 1);
    }

    #[test]
    fn a_ring_holding_data_with_no_reads_is_stuck_after_the_limit() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut h = Health::new();
        h.observe(s(0), &stats(0, 5, 100));
        h.observe(s(10), &stats(0, 5, 100));
        assert!(h.problems(s(29)).is_empty());
        let p = h.problems(s(30));
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("metrics: drain stuck"), "{p:?}");
        // A read resets the wait; so does an empty ring.
        h.observe(s(31), &stats(0, 6, 100));
        assert!(h.problems(s(60)).is_empty());
        assert!(!h.problems(s(61)).is_empty());
        h.observe(s(62), &stats(0, 6, 0));
        assert!(h.problems(s(1000)).is_empty());
    }

    #[test]
    fn a_busy_ring_that_keeps_being_read_is_not_stuck() {
        let t0 = Instant::now();
        let mut h = Health::new();
        for i in 0..100 {
            h.observe(t0 + Duration::from_secs(i), &stats(0, i, 4096));
        }
        assert!(h.problems(t0 + Duration::from_secs(100)).is_empty());
    }
}
