//! Loom models of the breaker's races (run as the common brief says:
//! `RUSTFLAGS="--cfg otlp_arrow_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom
//! cargo test --release --no-default-features --test loom_breaker`).
//!
//! The breaker is the production code unchanged; only the scenarios are tiny (2-3 threads,
//! thresholds of 1-2, one or two probe slots, an open duration of 100 ns) so that loom can
//! explore every interleaving of the word's loads and CASes in seconds.
#![cfg(otlp_arrow_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use otlp_arrow::breaker::{Breaker, Observer, Policy, State, Transition};

const D: u64 = 100;

fn policy(failures: u32, probes: u32, successes: u32) -> Policy {
    Policy::new(failures, D, probes, successes).unwrap()
}

/// Counts `ClosedToOpen` announcements, to check the hook fires exactly once too.
#[derive(Debug)]
struct CountOpens(AtomicUsize);

impl Observer for CountOpens {
    fn on_transition(&self, transition: Transition, _now: u64) {
        if transition == Transition::ClosedToOpen {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// (a) Three threads' failures cross a threshold of 2 concurrently: exactly one Closed -> Open,
/// one counter increment, one observer call.
#[test]
fn concurrent_failures_open_exactly_once() {
    loom::model(|| {
        let b = Arc::new(Breaker::with_observer(
            policy(2, 1, 1),
            CountOpens(AtomicUsize::new(0)),
        ));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || {
                    if let Ok(permit) = b.allow(0) {
                        let _ = permit.failure(0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.counters().closed_to_open, 1);
        assert_eq!(b.observer().0.load(Ordering::Relaxed), 1);
    });
}

/// (b) Three threads race for two half-open probe slots right after the open duration: exactly
/// two are admitted (as probes), one is rejected, and Open -> HalfOpen happens once.
#[test]
fn racing_probes_admit_exactly_the_configured_number() {
    loom::model(|| {
        let b = Arc::new(Breaker::new(policy(1, 2, 1)));
        let _ = b.allow(0).unwrap().failure(0);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || match b.allow(D) {
                    Ok(permit) => {
                        assert!(permit.is_probe());
                        // Keep the slot taken for the rest of the model.
                        core::mem::forget(permit);
                        true
                    }
                    Err(rejected) => {
                        assert_eq!(rejected.state(), State::HalfOpen);
                        false
                    }
                })
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&a| a)
            .count();
        assert_eq!(admitted, 2);
        let c = b.counters();
        assert_eq!((c.open_to_half_open, c.rejected), (1, 1));
        assert_eq!(b.snapshot().probes_in_flight(), 2);
    });
}

/// (c) Probes dropped without a report free their slot: whichever of two racing threads got the
/// single slot (possibly both, one after the other), afterwards it is free again and the
/// half-open period is unchanged.
#[test]
fn dropped_probe_frees_its_slot() {
    loom::model(|| {
        let b = Arc::new(Breaker::new(policy(1, 1, 1)));
        let _ = b.allow(0).unwrap().failure(0);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || b.allow(D).map(drop).is_ok())
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&a| a)
            .count();
        assert!(
            admitted >= 1,
            "the first allow after the open duration always gets the slot"
        );
        let s = b.snapshot();
        assert_eq!(s.state(), State::HalfOpen);
        assert_eq!(s.probes_in_flight(), 0);
        assert_eq!(b.counters().open_to_half_open, 1);
        assert_eq!(b.counters().half_open_expired, 0);
        let again = b.allow(D).expect("slot is free");
        assert!(again.is_probe());
        assert_eq!(again.success(D), Some(Transition::HalfOpenToClosed));
    });
}

/// (d) A closed-state success (failure reset) racing a failure loses no update: either the
/// reset came first and one failure is counted, or the failure opened and the success is stale.
#[test]
fn success_reset_racing_a_failure_loses_no_update() {
    loom::model(|| {
        let b = Arc::new(Breaker::new(policy(2, 1, 1)));
        let _ = b.allow(0).unwrap().failure(0);
        let ok = {
            let b = b.clone();
            thread::spawn(move || {
                if let Ok(p) = b.allow(0) {
                    let _ = p.success(0);
                }
            })
        };
        let fail = {
            let b = b.clone();
            thread::spawn(move || {
                if let Ok(p) = b.allow(0) {
                    let _ = p.failure(0);
                }
            })
        };
        ok.join().unwrap();
        fail.join().unwrap();
        let s = b.snapshot();
        match s.state() {
            State::Closed => assert_eq!(s.failures(), 1),
            State::Open => assert_eq!(b.counters().closed_to_open, 1),
            State::HalfOpen => panic!("no time passed"),
        }
    });
}
