//! Unit tests: every transition and edge, sequentially. (Races: `tests/loom_breaker.rs`;
//! random sequences against a reference model: `tests/breaker_model.rs`.)

extern crate std;

use core::cell::Cell;
use std::sync::Mutex;
use std::vec::Vec;

use super::*;

/// Open duration of most tests: 2^20 ns (~1 ms), exactly 128 coarse units of `U`.
const D: u64 = 1 << 20;
/// The coarse unit for `D` (see `Policy`'s docs).
const U: u64 = 1 << 13;
/// A base time on the last nanosecond of a unit. The breaker assumes the latest instant of a
/// stored unit (so it is never early); times `B + k·U` are therefore exact, which lets these
/// tests say "opened at B, probes at B + D". Rounding itself is tested separately.
const B: u64 = 10 * U - 1;

fn policy(failures: u32, open_ns: u64, probes: u32, successes: u32) -> Policy {
    Policy::new(failures, open_ns, probes, successes).expect("valid test policy")
}

/// Opens `b` at `now` with `failure_threshold` failures from closed-era permits.
fn trip<O: Observer>(b: &Breaker<O>, now: u64) {
    for _ in 0..b.policy().failure_threshold() {
        let p = b.allow(now).expect("closed breaker admits");
        let _ = p.failure(now);
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn closed_admits_and_success_without_failures_writes_nothing() {
    let b = Breaker::new(policy(3, D, 1, 1));
    let before = b.snapshot().raw();
    for t in 0..10 {
        let p = b.allow(t).unwrap();
        assert!(!p.is_probe());
        assert_eq!(p.success(t), None);
    }
    assert_eq!(
        b.snapshot().raw(),
        before,
        "the closed steady state never changes the word"
    );
    assert_eq!(b.counters(), Counters::default());
}

#[test]
fn failures_below_threshold_stay_closed_and_success_resets_them() {
    let b = Breaker::new(policy(3, D, 1, 1));
    for _ in 0..2 {
        assert_eq!(b.allow(B).unwrap().failure(B), None);
    }
    assert_eq!(b.snapshot().failures(), 2);
    assert_eq!(b.allow(B).unwrap().success(B), None);
    assert_eq!(
        b.snapshot().failures(),
        0,
        "success resets the consecutive count"
    );
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn failures_interleaved_with_successes_never_open() {
    let b = Breaker::new(policy(3, D, 1, 1));
    for i in 0..100u64 {
        let p = b.allow(i).unwrap();
        if i % 3 == 2 {
            let _ = p.success(i);
        } else {
            let _ = p.failure(i);
        }
        assert_eq!(b.state(), State::Closed, "at most 2 consecutive failures");
    }
    assert_eq!(b.counters().closed_to_open, 0);
    // After a success, three in a row do open.
    let _ = b.allow(100).unwrap().success(100);
    for _ in 0..3 {
        let _ = b.allow(100).unwrap().failure(100);
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn threshold_one_opens_on_first_failure() {
    let b = Breaker::new(policy(1, D, 1, 1));
    let p = b.allow(7).unwrap();
    assert_eq!(p.failure(7), Some(Transition::ClosedToOpen));
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.counters().closed_to_open, 1);
}

#[test]
fn open_rejects_until_the_open_duration_passed() {
    let b = Breaker::new(policy(1, D, 1, 1));
    assert_eq!(b.policy().time_unit_ns(), U);
    let t0 = B + 10 * D;
    trip(&b, t0);
    for t in [t0, t0 + 1, t0 + D / 2, t0 + D - 1] {
        let r = b.allow(t).unwrap_err();
        assert_eq!(r.state(), State::Open);
    }
    assert_eq!(b.counters().rejected, 4);
    let probe = b.allow(t0 + D).expect("open duration passed");
    assert!(probe.is_probe());
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.counters().open_to_half_open, 1);
    drop(probe);
}

#[test]
fn open_duration_is_never_early_and_at_most_a_unit_late() {
    let d = 1_000_003;
    for t0 in [0u64, 1, 4095, 4096, 123_456_789, u64::MAX / 3] {
        let b = Breaker::new(policy(1, d, 1, 1));
        trip(&b, t0);
        let u = b.policy().time_unit_ns();
        assert!(b.allow(t0 + d - 1).is_err(), "t0={t0}: early");
        let mut t = t0 + d;
        while b.allow(t).is_err() {
            t += 1;
        }
        assert!(t < t0 + d + u, "t0={t0}: admitted {} ns late", t - t0 - d);
    }
}

#[test]
fn probes_one_admits_exactly_one_and_success_closes() {
    let b = Breaker::new(policy(1, D, 1, 1));
    trip(&b, B);
    let probe = b.allow(B + D).unwrap();
    let r = b.allow(B + D).unwrap_err();
    assert_eq!(r.state(), State::HalfOpen);
    assert_eq!(probe.success(B + D + 1), Some(Transition::HalfOpenToClosed));
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().failures(), 0);
    let c = b.counters();
    assert_eq!(
        (
            c.closed_to_open,
            c.open_to_half_open,
            c.half_open_to_closed,
            c.rejected
        ),
        (1, 1, 1, 1)
    );
}

#[test]
fn half_open_admits_exactly_the_configured_number_of_probes() {
    let b = Breaker::new(policy(2, D, 5, 5));
    trip(&b, B);
    let probes: Vec<_> = (0..8).filter_map(|_| b.allow(B + D).ok()).collect();
    assert_eq!(probes.len(), 5);
    assert!(probes.iter().all(Permit::is_probe));
    assert_eq!(b.snapshot().probes_in_flight(), 5);
    assert_eq!(b.counters().rejected, 3);
    for p in probes {
        let _ = p.success(B + D);
    }
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn success_threshold_above_probes_recycles_slots() {
    let b = Breaker::new(policy(1, D, 1, 3));
    trip(&b, B);
    for i in 0..2 {
        let p = b.allow(B + D + i).unwrap();
        assert_eq!(p.success(B + D + i), None);
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.snapshot().successes(), i + 1);
        assert_eq!(b.snapshot().probes_in_flight(), 0);
    }
    let p = b.allow(B + D + 2).unwrap();
    assert_eq!(p.success(B + D + 2), Some(Transition::HalfOpenToClosed));
}

#[test]
fn probe_failure_reopens_and_restarts_the_open_duration() {
    let b = Breaker::new(policy(1, D, 2, 2));
    trip(&b, B);
    let a = b.allow(B + D).unwrap();
    let c = b.allow(B + D).unwrap();
    assert_eq!(a.success(B + D), None);
    assert_eq!(c.failure(B + 3 * D), Some(Transition::HalfOpenToOpen));
    assert_eq!(b.state(), State::Open);
    assert!(
        b.allow(B + 4 * D - 1).is_err(),
        "open duration restarted at the failure"
    );
    assert!(b.allow(B + 4 * D).unwrap().is_probe());
    assert_eq!(b.counters().half_open_to_open, 1);
    assert_eq!(b.counters().open_to_half_open, 2);
}

#[test]
fn dropped_probe_frees_its_slot_and_counts_nothing() {
    let b = Breaker::new(policy(1, D, 1, 1));
    trip(&b, B);
    let probe = b.allow(B + D).unwrap();
    let activity = b.snapshot().time_units();
    drop(probe);
    let s = b.snapshot();
    assert_eq!(s.state(), State::HalfOpen);
    assert_eq!(s.probes_in_flight(), 0);
    assert_eq!(s.successes(), 0);
    assert_eq!(s.time_units(), activity, "a drop is not an outcome");
    let again = b.allow(B + D + 1).expect("slot was freed");
    assert!(again.is_probe());
    assert_eq!(again.generation(), s.generation(), "same half-open period");
}

#[test]
fn leaked_probe_expires_after_an_open_duration_without_outcome() {
    let b = Breaker::new(policy(1, D, 1, 1));
    trip(&b, B);
    let leaked = b.allow(B + D).unwrap();
    let leaked_gen = leaked.generation();
    core::mem::forget(leaked);
    assert!(b.allow(B + D + D / 2).is_err(), "slot still held");
    let fresh = b
        .allow(B + 2 * D)
        .expect("no outcome for a whole open duration");
    assert!(fresh.is_probe());
    assert_ne!(fresh.generation(), leaked_gen);
    assert_eq!(b.counters().half_open_expired, 1);
    assert_eq!(b.snapshot().probes_in_flight(), 1);
    assert_eq!(fresh.success(B + 2 * D), Some(Transition::HalfOpenToClosed));
}

#[test]
fn late_report_from_an_abandoned_probe_is_ignored() {
    let b = Breaker::new(policy(1, D, 1, 2));
    trip(&b, B);
    let old = b.allow(B + D).unwrap();
    let fresh = b.allow(B + 2 * D).expect("expired");
    assert_eq!(old.failure(B + 2 * D), None, "stale probe cannot reopen");
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(
        b.snapshot().probes_in_flight(),
        1,
        "stale drop/report frees nothing"
    );
    drop(fresh);
    assert_eq!(b.snapshot().probes_in_flight(), 0);
}

#[test]
fn a_recent_success_postpones_expiry() {
    // Two slots; one leaked; the other keeps reporting successes within each open duration.
    let b = Breaker::new(policy(1, D, 2, 100));
    trip(&b, B);
    core::mem::forget(b.allow(B + D).unwrap());
    let mut t = B + D;
    for _ in 0..5 {
        t += D / 2;
        let p = b.allow(t).expect("second slot");
        let _ = p.success(t);
    }
    // Both slots taken now (one leaked, one live), less than D since the last success.
    let live = b.allow(t + D / 2).unwrap();
    assert!(b.allow(t + D / 2).is_err());
    assert_eq!(b.counters().half_open_expired, 0);
    // A full D after the last success with both slots held: expiry.
    assert!(b.allow(t + D).unwrap().is_probe());
    assert_eq!(b.counters().half_open_expired, 1);
    assert_eq!(
        live.success(t + D),
        None,
        "the live probe was abandoned too"
    );
}

#[test]
fn free_slot_is_used_before_expiry_is_considered() {
    let b = Breaker::new(policy(1, D, 2, 1));
    trip(&b, B);
    core::mem::forget(b.allow(B + D).unwrap());
    let g = b.snapshot().generation();
    let p = b.allow(B + 10 * D).unwrap();
    assert_eq!(p.generation(), g, "took the free slot, no restart");
    assert_eq!(b.counters().half_open_expired, 0);
    drop(p);
}

#[test]
fn closed_era_reports_after_opening_are_stale() {
    let b = Breaker::new(policy(2, D, 1, 1));
    let late_fail = b.allow(B).unwrap();
    let late_ok = b.allow(B).unwrap();
    trip(&b, B);
    assert_eq!(late_fail.failure(1), None);
    assert_eq!(late_ok.success(1), None);
    let probe = b.allow(B + D).unwrap();
    let late = b.allow(B);
    assert!(late.is_err());
    assert_eq!(probe.success(B + D), Some(Transition::HalfOpenToClosed));
    assert_eq!(b.counters().closed_to_open, 1);
}

#[test]
fn concurrent_threshold_crossing_opens_once() {
    // Sequential stand-in for the loom model: permits all taken while closed, then all fail.
    let b = Breaker::new(policy(2, D, 1, 1));
    let permits: Vec<_> = (0..5).map(|_| b.allow(B).unwrap()).collect();
    let transitions: Vec<_> = permits.into_iter().filter_map(|p| p.failure(B)).collect();
    assert_eq!(transitions, [Transition::ClosedToOpen]);
    assert_eq!(b.counters().closed_to_open, 1);
}

#[test]
fn large_times_and_the_36_bit_wrap() {
    // Near the end of u64: times close to u64::MAX behave like any others.
    let b = Breaker::new(policy(1, D, 1, 1));
    let t0 = u64::MAX - 3 * D;
    trip(&b, t0);
    assert!(b.allow(t0 + D / 2).is_err());
    let p = b.allow(t0 + D).unwrap();
    assert_eq!(p.success(u64::MAX), Some(Transition::HalfOpenToClosed));

    // Crossing a multiple of the 36-bit time field (2^36 units) while open.
    let wrap = (1u64 << 36) * U;
    for k in [1u64, 2, 1000] {
        let t0 = k * wrap - D / 2 - 1;
        let b = Breaker::new(policy(1, D, 1, 1));
        trip(&b, t0);
        assert!(b.allow(k * wrap).is_err(), "k={k}: wrap is not a long wait");
        assert!(b.allow(t0 + D - 1).is_err());
        assert!(b.allow(t0 + D).unwrap().is_probe(), "k={k}");
    }
}

#[test]
fn a_stale_now_from_a_racing_thread_is_not_a_long_wait() {
    let b = Breaker::new(policy(1, D, 1, 1));
    let t0 = 50 * D;
    trip(&b, t0);
    // A thread that read its clock before the opening, by up to many open durations.
    for back in [1, D, 10 * D, 40 * D] {
        assert!(b.allow(t0 - back).is_err(), "back={back}");
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn generation_wraps_without_confusion() {
    let b = Breaker::new(policy(1, D, 1, 1));
    let mut t = B;
    for _ in 0..300 {
        let stale = b.allow(t).unwrap();
        trip(&b, t);
        t += D;
        let p = b.allow(t).unwrap();
        let _ = p.success(t);
        assert_eq!(stale.failure(t), None);
    }
    let c = b.counters();
    assert_eq!(
        (c.closed_to_open, c.open_to_half_open, c.half_open_to_closed),
        (300, 300, 300)
    );
}

#[test]
fn observer_runs_after_the_transition_is_visible() {
    static SEEN: Mutex<Vec<(Transition, u64, State)>> = Mutex::new(Vec::new());
    fn record(t: Transition, now: u64) {
        SEEN.lock().unwrap().push((t, now, OBSERVED.state()));
    }
    const POLICY: Policy = match Policy::new(2, D, 1, 1) {
        Ok(p) => p,
        Err(_) => panic!(),
    };
    static OBSERVED: Breaker<fn(Transition, u64)> =
        Breaker::with_observer(POLICY, record as fn(Transition, u64));

    trip(&OBSERVED, B);
    let p = OBSERVED.allow(B + D).unwrap();
    let _ = p.failure(B + D);
    let p = OBSERVED.allow(B + 2 * D).unwrap();
    let _ = p.success(B + 2 * D + 1);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (Transition::ClosedToOpen, B, State::Open),
            (Transition::OpenToHalfOpen, B + D, State::HalfOpen),
            (Transition::HalfOpenToOpen, B + D, State::Open),
            (Transition::OpenToHalfOpen, B + 2 * D, State::HalfOpen),
            (Transition::HalfOpenToClosed, B + 2 * D + 1, State::Closed),
        ]
    );
}

#[test]
fn observer_by_reference_counts_transitions() {
    struct Count(Cell<u32>);
    impl Observer for Count {
        fn on_transition(&self, _: Transition, _: u64) {
            self.0.set(self.0.get() + 1);
        }
    }
    let count = Count(Cell::new(0));
    let b = Breaker::with_observer(policy(1, D, 1, 1), &count);
    trip(&b, B);
    drop(b.allow(B + D).unwrap());
    assert_eq!(count.0.get(), 2);
}

#[test]
fn breaker_is_send_sync_and_static() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Breaker>();
    assert_send_sync::<Breaker<fn(Transition, u64)>>();
    assert_send_sync::<Permit<'static>>();
    static STATIC_BREAKER: Breaker = Breaker::new(Policy::DEFAULT);
    assert_eq!(STATIC_BREAKER.state(), State::Closed);
    let _ = STATIC_BREAKER.allow(B).unwrap().success(B);
}

#[test]
fn debug_and_display_say_something_useful() {
    let b = Breaker::new(policy(1, D, 1, 1));
    trip(&b, B);
    let dbg = std::format!("{b:?}");
    assert!(
        dbg.contains("Open") && dbg.contains("closed_to_open: 1"),
        "{dbg}"
    );
    let r = b.allow(1).unwrap_err();
    assert_eq!(std::format!("{r}"), "circuit breaker open");
    let p = b.allow(B + D).unwrap();
    assert!(std::format!("{p:?}").contains("probe: true"));
    let r = b.allow(B + D).unwrap_err();
    assert!(std::format!("{r}").contains("half-open"));
    assert!(std::format!("{}", PolicyError::HalfOpenProbes).contains("1..=63"));
}
