//! The transition rules: pure functions from (policy, current word, event) to the next word.
//!
//! These are the breaker's semantics and nothing else: no atomics, no counters, no observer.
//! The mechanism in [`super`] feeds each function the word it just read and tries to publish the
//! result with one compare-and-swap; if another thread got there first it calls the function
//! again on the newer word. `None` means "no change": nothing is written, which is what keeps the
//! closed path free of stores.
//!
//! Every change of state also bumps the generation (mod 256). A permit carries the generation it
//! was issued in, so a report that arrives after the breaker has moved on (a closed-era call
//! finishing after the breaker opened, a probe from an abandoned half-open period) matches no
//! word and is ignored. The generation only aliases after 256 transitions, i.e. for a permit held
//! across at least ~128 open durations.
//!
//! `now` is always the caller's nanoseconds; words store it as [`Policy::units`].
#![forbid(unsafe_code)]

use super::policy::Policy;
use super::snapshot::{Snapshot, State};

/// `allow` on a word that is not closed (closed admits without any change).
///
/// Open: once the open duration has passed, the first caller to publish the half-open word
/// holds the first probe slot; everyone else re-reads and competes for the remaining slots.
/// Half-open: take a free slot; if all slots are taken and no outcome arrived for a whole open
/// duration, abandon the outstanding probes and start a fresh period holding one slot.
#[inline]
pub(super) fn on_allow(policy: &Policy, cur: Snapshot, now: u64) -> Option<Snapshot> {
    let generation = cur.generation();
    match cur.state() {
        State::Closed => None,
        State::Open => policy
            .has_elapsed(now, cur.time_units())
            .then(|| Snapshot::half_open(generation.wrapping_add(1), 1, 0, policy.units(now))),
        State::HalfOpen => {
            let in_flight = cur.probes_in_flight();
            if policy.has_probe_slot(in_flight) {
                Some(Snapshot::half_open(
                    generation,
                    in_flight + 1,
                    cur.successes(),
                    cur.time_units(),
                ))
            } else if policy.has_elapsed(now, cur.time_units()) {
                Some(Snapshot::half_open(
                    generation.wrapping_add(1),
                    1,
                    0,
                    policy.units(now),
                ))
            } else {
                None
            }
        }
    }
}

/// A permit of `generation` reports success (`probe` says which kind of permit it is).
///
/// Closed: reset the consecutive-failure count, *only if it is not already zero*. Half-open:
/// count the success, free the slot and refresh the activity time; enough successes close.
#[inline]
pub(super) fn on_success(
    policy: &Policy,
    cur: Snapshot,
    generation: u8,
    probe: bool,
    now: u64,
) -> Option<Snapshot> {
    if cur.generation() != generation {
        return None;
    }
    match (cur.state(), probe) {
        (State::Closed, false) => {
            (cur.failures() != 0).then(|| Snapshot::closed(generation, 0, cur.time_units()))
        }
        (State::HalfOpen, true) => {
            let successes = cur.successes() + 1;
            Some(if policy.closes(successes) {
                Snapshot::closed(generation.wrapping_add(1), 0, policy.units(now))
            } else {
                Snapshot::half_open(
                    generation,
                    cur.probes_in_flight().saturating_sub(1),
                    successes,
                    policy.units(now),
                )
            })
        }
        // A permit's kind always matches the state of its generation (each generation has one
        // state); this arm only guards against misuse of the internals.
        _ => None,
    }
}

/// A permit of `generation` reports failure.
///
/// Closed: count it; reaching the threshold opens (exactly once, since the CAS serialises the
/// counting). Half-open: any probe failure reopens, restarting the open duration at `now`.
#[inline]
pub(super) fn on_failure(
    policy: &Policy,
    cur: Snapshot,
    generation: u8,
    probe: bool,
    now: u64,
) -> Option<Snapshot> {
    if cur.generation() != generation {
        return None;
    }
    match (cur.state(), probe) {
        (State::Closed, false) => {
            let failures = cur.failures() + 1;
            Some(if policy.trips(failures) {
                Snapshot::open(generation.wrapping_add(1), policy.units(now))
            } else {
                Snapshot::closed(generation, failures, cur.time_units())
            })
        }
        (State::HalfOpen, true) => Some(Snapshot::open(
            generation.wrapping_add(1),
            policy.units(now),
        )),
        _ => None,
    }
}

/// A probe of `generation` was dropped without a report: free its slot, count nothing and leave
/// the activity time alone (a drop is not an outcome).
#[inline]
pub(super) fn on_probe_dropped(cur: Snapshot, generation: u8) -> Option<Snapshot> {
    let live = cur.state() == State::HalfOpen
        && cur.generation() == generation
        && cur.probes_in_flight() > 0;
    live.then(|| {
        Snapshot::half_open(
            generation,
            cur.probes_in_flight() - 1,
            cur.successes(),
            cur.time_units(),
        )
    })
}
