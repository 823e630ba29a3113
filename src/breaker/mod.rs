//! A circuit breaker whose whole state is one `AtomicU64`: no lock, no allocation, `no_std`.
//!
//! The forwarder asks [`Breaker::allow`] before each export and reports the outcome on the
//! returned [`Permit`]; when the collector keeps failing the breaker opens and `allow` rejects
//! at once, so a dead collector costs a load and a branch instead of a timeout. The breaker is
//! usable from a `static` ([`Breaker::new`] is `const`), is `Send + Sync`, and takes time as a
//! parameter: `now` is nanoseconds from any monotonic epoch the caller picks (the breaker never
//! reads a clock), which makes it deterministic in tests and model-checkable with loom.
//!
//! # States
//!
//! ```text
//!            failure_threshold consecutive failures
//!   Closed ───────────────────────────────────────────▶ Open
//!     ▲                                                 │  ▲
//!     │ success_threshold             open_duration     │  │ a probe
//!     │ probe successes               passed; an allow  │  │ fails
//!     │                               wins the CAS      ▼  │
//!     └────────────────────────────────────────────── HalfOpen ──┐
//!                                                         ▲       │ all slots taken, no outcome
//!                                                         └───────┘ for open_duration (Expired)
//! ```
//!
//! - **Closed**: every call is allowed. A failure report increments the consecutive-failure
//!   count; a success report resets it. Reaching [`Policy::failure_threshold`] opens.
//! - **Open**: every call is rejected until [`Policy::open_duration_ns`] has passed since the
//!   opening. Then the first `allow` turns the breaker half-open *by a CAS* and holds the first
//!   probe slot; callers racing it re-read the word and compete for the remaining slots, so
//!   exactly [`Policy::half_open_probes`] win, and the rest are rejected.
//! - **HalfOpen**: at most `half_open_probes` probes are out at once. A probe success frees its
//!   slot and counts; [`Policy::success_threshold`] successes close. Any probe failure reopens
//!   (the open duration restarts).
//!
//! # The state word
//!
//! ```text
//!  63                               28 27        20 19               8 7         2 1     0
//! ┌───────────────────────────────────┬────────────┬──────────────────┬───────────┬───────┐
//! │ time: 36 bits, coarse units       │ generation │ count: 12 bits   │ probes in │ state │
//! │ (Policy::time_unit_ns), mod 2^36  │   8 bits   │ failures/success │ flight: 6 │ 2 bits│
//! └───────────────────────────────────┴────────────┴──────────────────┴───────────┴───────┘
//! ```
//!
//! `state` is 0 Closed, 1 Open, 2 HalfOpen (the all-zero word is a fresh breaker). `count` is
//! the consecutive failures when closed and the probe successes when half-open. `time` is when
//! the breaker opened (Open), when the half-open period began or last saw a success (HalfOpen),
//! or when it last closed (Closed, informational). The widths are the constants of the
//! `snapshot` submodule; masks and shifts are derived from them in `const` (with a `const`
//! assertion that the fields tile the word); [`Snapshot`] is the `Copy` view with accessors.
//!
//! **Why time is packed instead of kept in a second atomic:** a second atomic could be read
//! out of step with the word (the opener's store lands after its CAS), so a reader could pair
//! "open, generation g" with the opening time of generation g−1 and half-open early. Packing
//! makes every decision a function of one consistent read. The cost is a coarse, wrapping clock:
//! one unit is `2^k` ns with the open duration kept between 128 and 256 units, read so that the
//! breaker is never early and at most one unit (< 1/128 of the open duration) late, compared
//! modulo 2^36 with serial arithmetic; see [`Policy`](Policy#the-coarse-clock) for the exact
//! limits (in short: a stale `now` from a racing thread reads as "earlier" and never as a long
//! wait; only total silence for more than ~134 million open durations can confuse it).
//!
//! **The generation** is bumped (mod 256) by every transition. Permits remember theirs, so a
//! report that arrives after the breaker has moved on is ignored (a call admitted while closed
//! that fails after the breaker already opened does not count against the half-open period; a
//! probe from an abandoned half-open period neither frees a slot nor counts). A permit held
//! across 256 transitions (at least ~128 open durations) could be mistaken for a current one.
//!
//! # Costs (the contract the benches check)
//!
//! - `allow` while closed: **one** `Acquire` load of the word, no read-modify-write, no store.
//! - `success` on a closed-era permit with no failures to reset: one load, no store. So a healthy
//!   breaker's word stays in every core's cache in the shared state and threads never contend.
//! - Everything else (failures, probes, transitions) is a load plus a CAS loop.
//! - The word sits alone in its cache line (`CachePadded`), apart from the counters, so that
//!   `rejected` increments while open do not disturb readers of the word.
//!
//! Every change to the word goes through one helper, `Breaker::update`: a compare-and-swap loop
//! over the pure functions of the `rules` submodule (policy and semantics, apart from this
//! mechanism) that returns a `#[must_use]` `Update` (changed from/to, or unchanged). Counters
//! and the [`Observer`] are served from that result after the loop, never inside it. Orderings: `Acquire` loads and `AcqRel` CAS, so whoever observes a transition also observes
//! what the reporting thread wrote before reporting. (The breaker itself, being one location,
//! would be correct with `Relaxed`; loom checks it as written.)
//!
//! # Probes that never report
//!
//! - **Dropped** without `success`/`failure` (an early return, a panic unwinding, a cancelled
//!   future): `Drop` frees the probe's slot at once. The drop is *not* an outcome: it counts
//!   neither way and does not refresh the half-open activity time.
//! - **Leaked** (`mem::forget`, a stuck task): the slot stays taken. Once *every* slot is taken
//!   and no probe outcome (success) has been reported for a whole open duration since the
//!   half-open period began or since its last success, the next `allow` abandons the outstanding
//!   probes: it starts a new half-open period (new generation, no successes, one slot: its own),
//!   counted as [`Transition::HalfOpenExpired`]. Reports from the abandoned probes are ignored.
//! - Closed-era permits hold nothing: dropping or leaking one has no effect at all.
//!
//! Consecutive failures crossing the threshold at the same time open the breaker exactly once:
//! each failure is counted by a CAS on the current word, one of them makes the count reach the
//! threshold and opens (bumping the generation), and the others then find a newer generation and
//! are ignored.
//!
//! # Example
//!
//! ```
//! use otlp_arrow::breaker::{Breaker, Policy, State};
//!
//! const POLICY: Policy = match Policy::new(3, 1_000_000_000, 1, 1) {
//!     Ok(p) => p,
//!     Err(_) => panic!("invalid breaker policy"),
//! };
//! static BREAKER: Breaker = Breaker::new(POLICY);
//!
//! let t0 = 5_000_000_000;
//! for _ in 0..3 {
//!     let permit = BREAKER.allow(t0).expect("closed");
//!     let _ = permit.failure(t0);
//! }
//! assert_eq!(BREAKER.state(), State::Open);
//! assert!(BREAKER.allow(t0 + 1).is_err());
//! // Never early; at most one coarse time unit (< 1/128 of the open duration) late.
//! let later = t0 + POLICY.open_duration_ns() + POLICY.time_unit_ns();
//! let probe = BREAKER.allow(later).expect("half-open probe");
//! assert!(probe.is_probe());
//! let _ = probe.success(later);
//! assert_eq!(BREAKER.state(), State::Closed);
//! assert_eq!(BREAKER.counters().closed_to_open, 1);
//! ```
#![forbid(unsafe_code)]

use core::fmt;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// Defines a `const fn`, or a plain `fn` under loom (whose atomics have no `const` constructor).
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $($rest:tt)*) => {
        #[cfg(not(otlp_arrow_loom))]
        $(#[$meta])* $vis const fn $name $($rest)*
        #[cfg(otlp_arrow_loom)]
        $(#[$meta])* $vis fn $name $($rest)*
    };
}

mod observe;
mod policy;
mod rules;
mod snapshot;

#[cfg(test)]
mod tests;

pub use observe::{Counters, NoopObserver, Observer, Transition};
pub use policy::{MAX_PROBES, MAX_THRESHOLD, Policy, PolicyError};
pub use snapshot::{Snapshot, State};

use snapshot::Ticket;

use observe::CounterCells;

/// A pure-atomic circuit breaker. See the [module docs](self).
pub struct Breaker<O = NoopObserver> {
    /// The word and the (immutable) policy every slow path reads: one cache line of their own.
    hot: CachePadded<Hot>,
    /// Statistics, written on transitions and rejections only.
    counters: CachePadded<CounterCells>,
    observer: O,
}

struct Hot {
    word: AtomicU64,
    policy: Policy,
}

/// The result of [`Breaker::update`]: whether the CAS loop published a new word.
#[must_use = "a published transition must be counted and announced (Breaker::commit)"]
#[derive(Copy, Clone, Debug)]
enum Update {
    /// `next` replaced `prev` in the word.
    Changed { prev: Snapshot, next: Snapshot },
    /// The rule asked for no change on this (latest) word; nothing was written.
    Unchanged(Snapshot),
}

/// `allow` refused the call: the breaker is open or all half-open probe slots are taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    state: State,
}

impl Rejected {
    /// The state the breaker was in when it refused ([`State::Open`] or [`State::HalfOpen`]).
    pub const fn state(self) -> State {
        self.state
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            State::HalfOpen => f.write_str("circuit breaker half-open: all probe slots taken"),
            _ => f.write_str("circuit breaker open"),
        }
    }
}

impl core::error::Error for Rejected {}

/// Leave to make one call; report its outcome with [`success`](Permit::success) or
/// [`failure`](Permit::failure).
///
/// Dropping a *probe* permit without reporting frees its slot (and counts nothing); dropping a
/// closed-era permit does nothing. See the [module docs](self#probes-that-never-report).
#[must_use = "report the call's outcome with success() or failure(); dropping it reports nothing"]
pub struct Permit<'a, O: Observer = NoopObserver> {
    breaker: &'a Breaker<O>,
    ticket: Ticket,
}

impl Breaker<NoopObserver> {
    loom_const_fn! {
        /// A closed breaker with `policy` and no observer. `const`, so it can be a `static`.
        pub fn new(policy: Policy) -> Breaker<NoopObserver> {
            Breaker::with_observer(policy, NoopObserver)
        }
    }
}

impl<O> Breaker<O> {
    loom_const_fn! {
        /// A closed breaker with `policy` that tells `observer` of every transition.
        pub fn with_observer(policy: Policy, observer: O) -> Breaker<O> {
            Breaker {
                hot: CachePadded::new(Hot {
                    word: AtomicU64::new(Snapshot::INITIAL.raw()),
                    policy,
                }),
                counters: CachePadded::new(observe::counter_cells_new()),
                observer,
            }
        }
    }

    /// The current word (may be stale by the time it is used).
    #[inline]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_raw(self.hot.word.load(Ordering::Acquire))
    }

    /// The current state (shorthand for `snapshot().state()`).
    #[inline]
    pub fn state(&self) -> State {
        self.snapshot().state()
    }

    /// The transition and rejection counters.
    pub fn counters(&self) -> Counters {
        self.counters.read()
    }

    /// The policy this breaker decides by.
    #[inline]
    pub fn policy(&self) -> &Policy {
        &self.hot.policy
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }
}

impl<O: Observer> Breaker<O> {
    /// May a call be made at `now`? While closed this is one atomic load.
    ///
    /// `Ok` carries the permit to report the outcome on; it is a probe
    /// ([`Permit::is_probe`]) if the breaker is half-open. `Err` means reject the call now.
    #[inline]
    pub fn allow(&self, now: u64) -> Result<Permit<'_, O>, Rejected> {
        let cur = self.snapshot();
        if cur.is_closed() {
            // A separate return, so that the caller's code for this path knows the permit is
            // not a probe (its `Drop` then compiles to nothing).
            return Ok(Permit {
                breaker: self,
                ticket: Ticket::closed(cur),
            });
        }
        // Built here, in the inlined part, so that the permit lives in registers: the slow
        // path returns an 8-byte result rather than the 16-byte one through memory.
        match self.allow_slow(cur, now) {
            Ok(ticket) => Ok(Permit {
                breaker: self,
                ticket,
            }),
            Err(state) => Err(Rejected { state }),
        }
    }

    /// `allow` when the word read was not closed: the Open -> HalfOpen CAS and probe slots.
    /// Cold: the closed state is the one that must be fast; an open breaker is already saving
    /// its caller a network round trip.
    #[cold]
    #[inline(never)]
    fn allow_slow(&self, cur: Snapshot, now: u64) -> Result<Ticket, State> {
        let policy = self.policy();
        match self.update(cur, |cur| rules::on_allow(policy, cur, now)) {
            Update::Changed { prev, next } => {
                // Every change `on_allow` makes admits a probe of the new word's generation.
                let _ = self.commit(Update::Changed { prev, next }, now);
                Ok(Ticket::probe(next))
            }
            // Closed again by the time we looked: an ordinary call.
            Update::Unchanged(latest) if latest.is_closed() => Ok(Ticket::closed(latest)),
            Update::Unchanged(latest) => {
                self.counters.count_rejected();
                Err(latest.state())
            }
        }
    }

    /// A permit reported success. The closed steady state (no failures to reset) is one load
    /// and one compare, inlined; everything else goes to the CAS loop out of line.
    #[inline]
    fn report_success(&self, ticket: Ticket, now: u64) -> Option<Transition> {
        let cur = self.snapshot();
        if cur.success_is_noop(ticket) {
            return None;
        }
        self.report_success_slow(cur, ticket, now)
    }

    /// Cold: it runs only after failures (to reset them), for probes and for stale permits;
    /// marking it so keeps the no-op test's fall-through path free of taken branches.
    #[cold]
    #[inline(never)]
    fn report_success_slow(&self, cur: Snapshot, ticket: Ticket, now: u64) -> Option<Transition> {
        let policy = self.policy();
        let (generation, probe) = (ticket.generation(), ticket.is_probe());
        let update = self.update(cur, |cur| {
            rules::on_success(policy, cur, generation, probe, now)
        });
        self.commit(update, now)
    }

    /// A permit reported failure.
    #[inline(never)]
    fn report_failure(&self, ticket: Ticket, now: u64) -> Option<Transition> {
        let policy = self.policy();
        let (generation, probe) = (ticket.generation(), ticket.is_probe());
        let update = self.update(self.snapshot(), |cur| {
            rules::on_failure(policy, cur, generation, probe, now)
        });
        self.commit(update, now)
    }

    /// A probe permit was dropped without a report: free its slot.
    #[inline(never)]
    fn release_probe(&self, ticket: Ticket) {
        let generation = ticket.generation();
        let update = self.update(self.snapshot(), |cur| {
            rules::on_probe_dropped(cur, generation)
        });
        // Freeing a slot keeps state and generation: never a transition, nothing to announce.
        let _ = self.commit(update, 0);
    }

    /// The one CAS loop every change to the word goes through.
    ///
    /// Starts from `cur` (a word the caller already loaded, saving a second load), asks `rule`
    /// for the next word, and publishes it with a CAS; on a lost race it retries on the word
    /// that won. When `rule` says "no change" nothing is written at all. No side effect happens
    /// in here: `rule` is pure and the result goes to [`commit`](Self::commit).
    #[inline]
    fn update(
        &self,
        mut cur: Snapshot,
        mut rule: impl FnMut(Snapshot) -> Option<Snapshot>,
    ) -> Update {
        loop {
            let Some(next) = rule(cur) else {
                return Update::Unchanged(cur);
            };
            match self.hot.word.compare_exchange(
                cur.raw(),
                next.raw(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Update::Changed { prev: cur, next },
                Err(actual) => cur = Snapshot::from_raw(actual),
            }
        }
    }

    /// After the CAS loop: count and announce the transition `update` made, if it made one.
    #[inline]
    fn commit(&self, update: Update, now: u64) -> Option<Transition> {
        let Update::Changed { prev, next } = update else {
            return None;
        };
        let transition = Transition::between(prev, next)?;
        self.counters.count(transition);
        self.observer.on_transition(transition, now);
        Some(transition)
    }
}

impl<O> fmt::Debug for Breaker<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("snapshot", &self.snapshot())
            .field("policy", self.policy())
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

impl<'a, O: Observer> Permit<'a, O> {
    /// The call succeeded. Returns the transition this caused, if any.
    #[inline]
    pub fn success(self, now: u64) -> Option<Transition> {
        let (breaker, ticket) = self.disarm();
        breaker.report_success(ticket, now)
    }

    /// The call failed. Returns the transition this caused, if any.
    #[inline]
    pub fn failure(self, now: u64) -> Option<Transition> {
        let (breaker, ticket) = self.disarm();
        breaker.report_failure(ticket, now)
    }

    /// `success(now)` if `ok`, else `failure(now)`.
    #[inline]
    pub fn report(self, ok: bool, now: u64) -> Option<Transition> {
        if ok {
            self.success(now)
        } else {
            self.failure(now)
        }
    }

    /// `true` if this permit is a half-open probe (it holds one of the probe slots).
    #[inline]
    pub const fn is_probe(&self) -> bool {
        self.ticket.is_probe()
    }

    /// The generation of the word this permit was issued from.
    #[inline]
    pub const fn generation(&self) -> u8 {
        self.ticket.generation()
    }

    /// Takes the permit apart without running `Drop` (the report replaces the slot release).
    #[inline]
    fn disarm(self) -> (&'a Breaker<O>, Ticket) {
        let parts = (self.breaker, self.ticket);
        // Forgetting is sound and leaks nothing: a permit owns only a reference and an
        // integer; skipping `Drop` just skips the "release without outcome" path.
        core::mem::forget(self);
        parts
    }
}

impl<O: Observer> Drop for Permit<'_, O> {
    #[inline]
    fn drop(&mut self) {
        if self.ticket.is_probe() {
            self.breaker.release_probe(self.ticket);
        }
    }
}

impl<O: Observer> fmt::Debug for Permit<'_, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("generation", &self.generation())
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}
