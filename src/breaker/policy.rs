//! What the breaker decides by: thresholds, durations, and the coarse clock they are read on.
//!
//! A [`Policy`] is an immutable, validated set of numbers plus the pure arithmetic on them
//! (`has_elapsed`, `units`). It knows nothing of atomics; the mechanism in [`super`] asks it
//! questions. Construction is `const` so a breaker can live in a `static`.
//!
//! The coarse clock is described on [`Policy`].
#![forbid(unsafe_code)]

use core::fmt;

use super::snapshot::{COUNT_MAX, PROBES_MAX, TIME_BITS, TIME_MAX};

/// Largest failure or success threshold a [`Policy`] accepts (the width of the count field).
pub const MAX_THRESHOLD: u32 = COUNT_MAX as u32;
/// Largest number of concurrent half-open probes a [`Policy`] accepts.
pub const MAX_PROBES: u32 = PROBES_MAX as u32;

/// The open duration is kept under this many units (sets the unit, hence the precision).
const OPEN_UNITS_BELOW: u64 = 256;
/// Serial-arithmetic horizon: a time less than this many units ahead is "later".
const HALF_WINDOW: u64 = 1 << (TIME_BITS - 1);

/// A validated breaker policy. Build it with [`Policy::new`].
///
/// # The coarse clock
///
/// The breaker word has 36 bits for time, so `now` (nanoseconds) is stored in *units* of
/// `2^k` ns, with `k` the smallest shift that brings the open duration under 256 units
/// (`k = 0` for open durations under 256 ns, which are then exact). Hence:
///
/// - **Precision.** With `u = 2^k ≤ d / 128` ns (`u = 1` below 256 ns), the stored time is
///   `t0` rounded down to a unit. The check assumes the *latest* `t0` in that unit, so the
///   breaker never half-opens (or expires a half-open period) before `d` has really passed
///   since the call that opened it, and is at most `u − 1` ns (under 1/128 of `d`) late.
/// - **Window.** Stored times are modulo `2^36` units and compared with serial-number arithmetic
///   (RFC 1982): a time up to `2^35` units (at least 2^35 / 256 ≈ 134 million open durations)
///   ahead of the stored one is "later", anything else is "earlier". "Earlier" is what makes a
///   caller whose `now` was read a little before another thread's is safe: its stale `now` never
///   looks like a long wait. The price: if nothing at all calls the breaker for more than half
///   the window while it is open or half-open, the next `now` may read as "earlier" and the
///   breaker stays in that state until the clock passes the next half-window (as long again).
///   That is ≈ 39 hours of total silence at `d` = 1 ms, ≈ 208 days at 100 ms, ≈ 4.5 years at 1 s.
/// - `now` itself must not wrap `u64` (584 years of nanoseconds from the caller's epoch).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    failure_threshold: u16,
    success_threshold: u16,
    half_open_probes: u8,
    /// `k`: one time unit is `2^k` ns.
    unit_shift: u8,
    open_duration_ns: u64,
    /// `(open_duration_ns - 1) >> k`: whole units of the duration less one ns, `< 256`.
    open_units: u64,
    /// `(open_duration_ns - 1) & (2^k - 1)`: the rest, in ns.
    open_rest_ns: u64,
}

/// Why a [`Policy`] was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyError {
    /// `failure_threshold` was 0 or above [`MAX_THRESHOLD`].
    FailureThreshold,
    /// `open_duration_ns` was 0.
    OpenDuration,
    /// `half_open_probes` was 0 or above [`MAX_PROBES`].
    HalfOpenProbes,
    /// `success_threshold` was 0 or above [`MAX_THRESHOLD`].
    SuccessThreshold,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            PolicyError::FailureThreshold => "failure threshold must be in 1..=4095",
            PolicyError::OpenDuration => "open duration must be at least 1 ns",
            PolicyError::HalfOpenProbes => "half-open probes must be in 1..=63",
            PolicyError::SuccessThreshold => "success threshold must be in 1..=4095",
        };
        f.write_str(what)
    }
}

impl core::error::Error for PolicyError {}

impl Policy {
    /// A conventional policy: open after 5 consecutive failures, stay open 30 s, then admit one
    /// probe at a time and close after 1 success.
    pub const DEFAULT: Policy = match Policy::new(5, 30_000_000_000, 1, 1) {
        Ok(p) => p,
        Err(_) => panic!("the default policy is valid"),
    };

    /// Validates and builds a policy.
    ///
    /// - `failure_threshold`: consecutive failures (with no success between) that open a closed
    ///   breaker; `1..=`[`MAX_THRESHOLD`].
    /// - `open_duration_ns`: how long an open breaker rejects everything before it admits probes;
    ///   also how long a half-open breaker waits for *any* probe outcome before it gives up on the
    ///   outstanding probes and starts a fresh half-open period. At least 1 ns.
    /// - `half_open_probes`: probes admitted at once while half-open; `1..=`[`MAX_PROBES`].
    /// - `success_threshold`: successful probes that close a half-open breaker;
    ///   `1..=`[`MAX_THRESHOLD`]. It may exceed `half_open_probes`: a reported probe frees its
    ///   slot for the next.
    pub const fn new(
        failure_threshold: u32,
        open_duration_ns: u64,
        half_open_probes: u32,
        success_threshold: u32,
    ) -> Result<Policy, PolicyError> {
        if failure_threshold == 0 || failure_threshold > MAX_THRESHOLD {
            return Err(PolicyError::FailureThreshold);
        }
        if open_duration_ns == 0 {
            return Err(PolicyError::OpenDuration);
        }
        if half_open_probes == 0 || half_open_probes > MAX_PROBES {
            return Err(PolicyError::HalfOpenProbes);
        }
        if success_threshold == 0 || success_threshold > MAX_THRESHOLD {
            return Err(PolicyError::SuccessThreshold);
        }
        // Smallest k with open_duration >> k < 256: keep the top 8 significant bits.
        let significant = u64::BITS - open_duration_ns.leading_zeros();
        let unit_shift = significant.saturating_sub(OPEN_UNITS_BELOW.trailing_zeros());
        // `has_elapsed` asks whether `d - 1` ns passed since the last ns of the stored unit.
        let open_units = (open_duration_ns - 1) >> unit_shift;
        let open_rest_ns = (open_duration_ns - 1) & ((1u64 << unit_shift) - 1);
        Ok(Policy {
            // Casts are lossless: each value was range-checked above.
            failure_threshold: failure_threshold as u16,
            success_threshold: success_threshold as u16,
            half_open_probes: half_open_probes as u8,
            unit_shift: unit_shift as u8,
            open_duration_ns,
            open_units,
            open_rest_ns,
        })
    }

    /// Consecutive failures that open a closed breaker.
    pub const fn failure_threshold(&self) -> u32 {
        self.failure_threshold as u32
    }

    /// How long the breaker stays open, in nanoseconds (as given).
    pub const fn open_duration_ns(&self) -> u64 {
        self.open_duration_ns
    }

    /// Probes admitted at once while half-open.
    pub const fn half_open_probes(&self) -> u32 {
        self.half_open_probes as u32
    }

    /// Successful probes that close a half-open breaker.
    pub const fn success_threshold(&self) -> u32 {
        self.success_threshold as u32
    }

    /// Length of one coarse time unit in nanoseconds (a power of two; see the module docs).
    pub const fn time_unit_ns(&self) -> u64 {
        1u64 << self.unit_shift
    }

    /// `now` in coarse units, modulo the 36-bit time field.
    #[inline]
    pub(crate) const fn units(&self, now: u64) -> u64 {
        (now >> self.unit_shift) & TIME_MAX
    }

    /// Has a full open duration passed between the stored coarse time `since` and `now` (ns)?
    ///
    /// The stored time stands for any instant of its unit; taking the last one (`since·u + u − 1`)
    /// makes the answer "yes" only once `now − t0 ≥ d` for every `t0` that unit can stand for:
    /// `(ahead − 1)·u + (now mod u) ≥ d − 1`, computed without overflow on the quotient and
    /// remainder of `d − 1`. Serial arithmetic: a `now` up to half the 36-bit window "earlier"
    /// than `since` (a stale reading) is never elapsed.
    #[inline]
    pub(crate) const fn has_elapsed(&self, now: u64, since: u64) -> bool {
        let ahead = self.units(now).wrapping_sub(since) & TIME_MAX;
        if ahead == 0 || ahead >= HALF_WINDOW {
            return false;
        }
        let whole = ahead - 1;
        let rest = now & (self.time_unit_ns() - 1);
        whole > self.open_units || (whole == self.open_units && rest >= self.open_rest_ns)
    }

    /// Failure count reached: does `failures` (after counting one more) open the breaker?
    #[inline]
    pub(crate) const fn trips(&self, failures: u64) -> bool {
        failures >= self.failure_threshold as u64
    }

    /// Success count reached: does `successes` (after counting one more) close the breaker?
    #[inline]
    pub(crate) const fn closes(&self, successes: u64) -> bool {
        successes >= self.success_threshold as u64
    }

    /// Is there a free probe slot when `in_flight` probes are out?
    #[inline]
    pub(crate) const fn has_probe_slot(&self, in_flight: u64) -> bool {
        in_flight < self.half_open_probes as u64
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_nonsense() {
        assert_eq!(Policy::new(0, 1, 1, 1), Err(PolicyError::FailureThreshold));
        assert_eq!(
            Policy::new(4096, 1, 1, 1),
            Err(PolicyError::FailureThreshold)
        );
        assert_eq!(Policy::new(1, 0, 1, 1), Err(PolicyError::OpenDuration));
        assert_eq!(Policy::new(1, 1, 0, 1), Err(PolicyError::HalfOpenProbes));
        assert_eq!(Policy::new(1, 1, 64, 1), Err(PolicyError::HalfOpenProbes));
        assert_eq!(Policy::new(1, 1, 1, 0), Err(PolicyError::SuccessThreshold));
        assert_eq!(
            Policy::new(1, 1, 1, 4096),
            Err(PolicyError::SuccessThreshold)
        );
        assert!(Policy::new(MAX_THRESHOLD, u64::MAX, MAX_PROBES, MAX_THRESHOLD).is_ok());
    }

    #[test]
    fn unit_keeps_open_duration_under_256_units() {
        for d in [
            1u64,
            2,
            255,
            256,
            257,
            1000,
            1_000_000,
            1_000_000_007,
            1 << 40,
            u64::MAX,
        ] {
            let p = Policy::new(1, d, 1, 1).unwrap();
            let unit = p.time_unit_ns();
            assert!(
                unit == 1 || d / unit >= 128,
                "d={d}: unit {unit} too coarse"
            );
            assert!(d / unit < 256, "d={d}: unit {unit} too fine");
        }
        assert_eq!(Policy::new(1, 255, 1, 1).unwrap().time_unit_ns(), 1);
        assert_eq!(Policy::new(1, 256, 1, 1).unwrap().time_unit_ns(), 2);
    }

    /// `has_elapsed` for an opening at exactly `t0`, by brute force over nanoseconds.
    fn first_elapsed(p: &Policy, t0: u64) -> u64 {
        let since = p.units(t0);
        let mut now = t0;
        while !p.has_elapsed(now, since) {
            now += 1;
        }
        now
    }

    #[test]
    fn never_early_and_at_most_a_unit_late() {
        for d in [1u64, 2, 7, 255, 256, 1000, 4097, 65_537] {
            let p = Policy::new(1, d, 1, 1).unwrap();
            let u = p.time_unit_ns();
            for t0 in [0u64, 1, u - 1, u, 3 * u + 1, 1 << 40, (1 << 40) - 1] {
                let first = first_elapsed(&p, t0);
                assert!(first >= t0 + d, "d={d} t0={t0}: early at {first}");
                assert!(first < t0 + d + u, "d={d} t0={t0}: late at {first}");
                // The latest instant of a unit is exact.
                if t0 % u == u - 1 {
                    assert_eq!(first, t0 + d, "d={d} t0={t0}");
                }
            }
        }
    }

    #[test]
    fn elapsed_uses_serial_arithmetic() {
        let p = Policy::new(1, 100, 1, 1).unwrap();
        assert_eq!(p.time_unit_ns(), 1);
        assert!(!p.has_elapsed(99, 0));
        assert!(p.has_elapsed(100, 0));
        assert!(p.has_elapsed(HALF_WINDOW - 1, 0));
        // Half a window or more ahead reads as "earlier".
        assert!(!p.has_elapsed(HALF_WINDOW, 0));
        // A stale `now` just before `since` is not a long wait.
        assert!(!p.has_elapsed(5, 6));
        // Across the wrap of the 36-bit field.
        assert!(p.has_elapsed(50, TIME_MAX - 49));
        assert!(!p.has_elapsed(48, TIME_MAX - 50));
    }

    #[test]
    fn default_is_valid_and_documented() {
        let p = Policy::default();
        assert_eq!(p.failure_threshold(), 5);
        assert_eq!(p.open_duration_ns(), 30_000_000_000);
        assert_eq!(p.half_open_probes(), 1);
        assert_eq!(p.success_threshold(), 1);
    }
}
