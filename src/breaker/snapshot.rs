//! The packed breaker word and its `Copy` view, [`Snapshot`].
//!
//! The whole mutable state of a [`Breaker`](super::Breaker) is one `u64` (layout drawn in the
//! [module docs](super#the-state-word)). This module owns the bit layout: the field widths are the
//! only literals, every shift and mask is derived from them in `const`, and a `const` assertion
//! proves the fields tile the word exactly. Nothing here touches an atomic: a `Snapshot` is a
//! value, and the constructors below are the only way a new word is made.
#![forbid(unsafe_code)]

use core::fmt;

// ---- field widths: the only literals of the layout ----------------------------------------

/// Width of the state field (`Closed` / `Open` / `HalfOpen`; the fourth value is never stored).
const STATE_BITS: u32 = 2;
/// Width of the probes-in-flight field (half-open only).
const PROBES_BITS: u32 = 6;
/// Width of the count field: consecutive failures when closed, successes when half-open.
const COUNT_BITS: u32 = 12;
/// Width of the generation field, bumped (wrapping) by every transition.
const GEN_BITS: u32 = 8;
/// Width of the coarse time field: whatever is left of the 64 bits.
pub(crate) const TIME_BITS: u32 = 64 - TIME_SHIFT;

// ---- derived shifts and masks ---------------------------------------------------------------

const STATE_SHIFT: u32 = 0;
const PROBES_SHIFT: u32 = STATE_SHIFT + STATE_BITS;
const COUNT_SHIFT: u32 = PROBES_SHIFT + PROBES_BITS;
const GEN_SHIFT: u32 = COUNT_SHIFT + COUNT_BITS;
const TIME_SHIFT: u32 = GEN_SHIFT + GEN_BITS;

/// The largest value a field of `bits` bits holds (`bits < 64`).
const fn max_of(bits: u32) -> u64 {
    (1u64 << bits) - 1
}

const STATE_MASK: u64 = max_of(STATE_BITS) << STATE_SHIFT;
const PROBES_MASK: u64 = max_of(PROBES_BITS) << PROBES_SHIFT;
const COUNT_MASK: u64 = max_of(COUNT_BITS) << COUNT_SHIFT;
const GEN_MASK: u64 = max_of(GEN_BITS) << GEN_SHIFT;
const TIME_MASK: u64 = max_of(TIME_BITS) << TIME_SHIFT;

/// Largest number of probes in flight the word can count; bounds `half_open_probes`.
pub(crate) const PROBES_MAX: u64 = max_of(PROBES_BITS);
/// Largest count the word holds; bounds both thresholds.
pub(crate) const COUNT_MAX: u64 = max_of(COUNT_BITS);
/// Largest coarse time value; time arithmetic is modulo `TIME_MAX + 1`.
pub(crate) const TIME_MAX: u64 = max_of(TIME_BITS);

// The fields tile the word: disjoint, and together every bit.
const _: () = {
    let fields = [STATE_MASK, PROBES_MASK, COUNT_MASK, GEN_MASK, TIME_MASK];
    let mut union = 0u64;
    let mut i = 0;
    while i < fields.len() {
        assert!(union & fields[i] == 0, "breaker word fields overlap");
        union |= fields[i];
        i += 1;
    }
    assert!(union == u64::MAX, "breaker word fields leave bits unused");
    assert!(
        TIME_BITS == 36,
        "the documented time window assumes 36 time bits"
    );
};

/// State-field values. Closed is zero so that the all-zero word is a fresh breaker.
const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;

/// Where the breaker is in its cycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; consecutive failures are counted.
    Closed,
    /// Calls are rejected until the open duration has passed.
    Open,
    /// A bounded number of probe calls test whether the peer has recovered.
    HalfOpen,
}

/// One reading of the breaker word: a `Copy` value with named accessors.
///
/// Obtained from [`Breaker::snapshot`](super::Breaker::snapshot); it may be stale the moment it
/// is read. Fields that do not belong to the current state read as zero.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Snapshot(u64);

impl Snapshot {
    /// The word of a breaker that has never been used: closed, generation 0, no failures.
    pub(crate) const INITIAL: Snapshot = Snapshot(CLOSED);

    /// Wraps a word read from the atomic.
    #[inline]
    pub(crate) const fn from_raw(raw: u64) -> Snapshot {
        Snapshot(raw)
    }

    /// The raw 64-bit word (for logs and debugging; the layout is not a stable API).
    #[inline]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Builds a word from its fields; each value is truncated to its field width (callers keep
    /// values in range: thresholds and probes are bounded by the [`Policy`](super::Policy)).
    #[inline]
    const fn pack(state: u64, probes: u64, count: u64, generation: u8, time: u64) -> Snapshot {
        Snapshot(
            ((state << STATE_SHIFT) & STATE_MASK)
                | ((probes << PROBES_SHIFT) & PROBES_MASK)
                | ((count << COUNT_SHIFT) & COUNT_MASK)
                | (((generation as u64) << GEN_SHIFT) & GEN_MASK)
                | ((time << TIME_SHIFT) & TIME_MASK),
        )
    }

    /// A closed word with `failures` consecutive failures.
    #[inline]
    pub(crate) const fn closed(generation: u8, failures: u64, time: u64) -> Snapshot {
        Snapshot::pack(CLOSED, 0, failures, generation, time)
    }

    /// An open word, opened at coarse time `opened_at`.
    #[inline]
    pub(crate) const fn open(generation: u8, opened_at: u64) -> Snapshot {
        Snapshot::pack(OPEN, 0, 0, generation, opened_at)
    }

    /// A half-open word; `last_activity` is when the period began or last saw a success.
    #[inline]
    pub(crate) const fn half_open(
        generation: u8,
        probes_in_flight: u64,
        successes: u64,
        last_activity: u64,
    ) -> Snapshot {
        Snapshot::pack(
            HALF_OPEN,
            probes_in_flight,
            successes,
            generation,
            last_activity,
        )
    }

    /// `true` if the breaker is closed: the test the `allow` fast path makes.
    #[inline]
    pub const fn is_closed(self) -> bool {
        self.0 & STATE_MASK == CLOSED << STATE_SHIFT
    }

    /// Is a success report on `ticket` a no-op on this word? True exactly when the word is
    /// closed, of the ticket's generation, with no failures to reset (and the ticket is not a
    /// probe's, whose state value is never stored). One mask and one compare.
    #[inline]
    pub(crate) const fn success_is_noop(self, ticket: Ticket) -> bool {
        self.0 & (STATE_MASK | COUNT_MASK | GEN_MASK) == ticket.0 as u64 & (STATE_MASK | GEN_MASK)
    }

    /// The state. (The unused fourth state value is never stored; were it read, it would be
    /// reported as `Open`, the state that admits nothing.)
    #[inline]
    pub const fn state(self) -> State {
        match (self.0 & STATE_MASK) >> STATE_SHIFT {
            CLOSED => State::Closed,
            HALF_OPEN => State::HalfOpen,
            _ => State::Open,
        }
    }

    /// Generation: bumped (mod 256) by every transition. Permits remember the generation they
    /// were issued in; a report from another generation is stale and ignored.
    #[inline]
    pub const fn generation(self) -> u8 {
        // Truncation intended: the field is exactly 8 bits wide.
        ((self.0 & GEN_MASK) >> GEN_SHIFT) as u8
    }

    /// Consecutive failures counted while closed (0 in other states).
    #[inline]
    pub const fn failures(self) -> u64 {
        if self.is_closed() { self.count() } else { 0 }
    }

    /// Successful probes counted in the current half-open period (0 in other states).
    #[inline]
    pub const fn successes(self) -> u64 {
        match self.state() {
            State::HalfOpen => self.count(),
            _ => 0,
        }
    }

    /// Probes admitted in the current half-open period and not yet reported or dropped.
    #[inline]
    pub const fn probes_in_flight(self) -> u64 {
        (self.0 & PROBES_MASK) >> PROBES_SHIFT
    }

    /// The coarse time field (units of [`Policy::time_unit_ns`](super::Policy::time_unit_ns),
    /// modulo 2^36): when the breaker opened (open), when the half-open period began or last saw
    /// a success (half-open), when it last closed (closed; informational).
    #[inline]
    pub const fn time_units(self) -> u64 {
        (self.0 & TIME_MASK) >> TIME_SHIFT
    }

    #[inline]
    const fn count(self) -> u64 {
        (self.0 & COUNT_MASK) >> COUNT_SHIFT
    }
}

/// What a permit remembers of the word it was issued from: the word's low 32 bits, which hold
/// its generation in place, with the state bits `Closed` for an ordinary permit or the
/// never-stored value 3 for a probe. (So [`Snapshot::success_is_noop`] is a mask and a compare,
/// and a probe's ticket can never pass it.) 32 bits, so `allow`'s slow path returns it in a
/// register. Only the state and generation bits are meaningful.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u32);

/// The state-field value of a probe ticket: never the state of a stored word.
const PROBE_TICKET: u64 = STATE_MASK;

const _: () = assert!(
    GEN_SHIFT + GEN_BITS <= 32,
    "tickets hold the generation in 32 bits"
);

impl Ticket {
    /// An ordinary permit issued from the closed word `word`: its low 32 bits as they are
    /// (no instruction at all; the fields other than state and generation are masked off where
    /// the ticket is used).
    #[inline]
    pub(crate) const fn closed(word: Snapshot) -> Ticket {
        // Truncation intended: the state and generation fields lie below bit 32.
        Ticket(word.0 as u32)
    }

    /// A probe permit of the half-open word `word` (state bits forced to the probe value).
    #[inline]
    pub(crate) const fn probe(word: Snapshot) -> Ticket {
        // Truncation intended, as above.
        Ticket((word.0 | PROBE_TICKET) as u32)
    }

    /// The generation the permit was issued in.
    #[inline]
    pub(crate) const fn generation(self) -> u8 {
        Snapshot(self.0 as u64).generation()
    }

    /// Does the permit hold a probe slot? (Tickets only ever hold state value 0 or 3, so one
    /// bit decides: a single `test` on the `Drop` path of every permit.)
    #[inline]
    pub(crate) const fn is_probe(self) -> bool {
        self.0 as u64 & (PROBE_TICKET & !(PROBE_TICKET >> 1)) != 0
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("state", &self.state())
            .field("generation", &self.generation())
            .field("failures", &self.failures())
            .field("successes", &self.successes())
            .field("probes_in_flight", &self.probes_in_flight())
            .field("time_units", &self.time_units())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_at_their_limits() {
        let s = Snapshot::half_open(u8::MAX, PROBES_MAX, COUNT_MAX, TIME_MAX);
        assert_eq!(s.state(), State::HalfOpen);
        assert_eq!(s.generation(), u8::MAX);
        assert_eq!(s.probes_in_flight(), PROBES_MAX);
        assert_eq!(s.successes(), COUNT_MAX);
        assert_eq!(s.failures(), 0);
        assert_eq!(s.time_units(), TIME_MAX);
        assert_eq!(s.raw() & STATE_MASK, HALF_OPEN);

        let c = Snapshot::closed(7, COUNT_MAX, 0);
        assert!(c.is_closed());
        assert_eq!(c.failures(), COUNT_MAX);
        assert_eq!(c.successes(), 0);
        assert_eq!(c.generation(), 7);

        let o = Snapshot::open(0, TIME_MAX);
        assert_eq!(o.state(), State::Open);
        assert!(!o.is_closed());
        assert_eq!(o.time_units(), TIME_MAX);
    }

    #[test]
    fn out_of_range_values_do_not_spill_into_neighbours() {
        // Time is truncated modulo 2^36 and must not touch the generation.
        let o = Snapshot::open(3, TIME_MAX + 5);
        assert_eq!(o.time_units(), 4);
        assert_eq!(o.generation(), 3);
        assert_eq!(o.state(), State::Open);
    }

    #[test]
    fn success_is_noop_needs_closed_same_generation_and_zero_failures() {
        let t = Ticket::closed(Snapshot::closed(9, 2, 77));
        assert_eq!((t.generation(), t.is_probe()), (9, false));
        assert!(Snapshot::closed(9, 0, TIME_MAX).success_is_noop(t));
        assert!(!Snapshot::closed(8, 0, 0).success_is_noop(t));
        assert!(!Snapshot::closed(9, 1, 0).success_is_noop(t));
        assert!(!Snapshot::half_open(9, 0, 0, 0).success_is_noop(t));
        assert!(!Snapshot::open(9, 0).success_is_noop(t));
    }

    #[test]
    fn probe_tickets_never_pass_the_noop_test() {
        let t = Ticket::probe(Snapshot::half_open(200, 1, 0, 5));
        assert_eq!((t.generation(), t.is_probe()), (200, true));
        for word in [
            Snapshot::half_open(200, 0, 0, 0),
            Snapshot::closed(200, 0, 0),
            Snapshot::open(200, 0),
            Snapshot::from_raw(u64::MAX),
        ] {
            assert!(!word.success_is_noop(t), "{word:?}");
        }
    }

    #[test]
    fn initial_word_is_zero_and_closed() {
        assert_eq!(Snapshot::INITIAL.raw(), 0);
        assert_eq!(Snapshot::INITIAL.state(), State::Closed);
        assert_eq!(
            Snapshot::from_raw(3).state(),
            State::Open,
            "unused state reads as Open"
        );
    }
}
