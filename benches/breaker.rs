//! The closed-path cost of the breaker: `allow` + `success` on a healthy breaker, on 1 and 2
//! threads, against its floor (one bare `AtomicU64::load(Acquire)`) and against the obvious
//! alternative (the same policy behind a `std::sync::Mutex`).
//!
//! Done-means: at 2 threads the breaker is within 1.5x of the bare load and at least 10x
//! cheaper than the mutex breaker. `allow` + `success` is two loads by contract (a success
//! report must look before it writes), so it is also shown against two bare loads, and `allow`
//! alone against one. Run with
//! `cargo bench --bench breaker -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_utils::CachePadded;
use otlp_arrow::breaker::{Breaker, Policy};

/// The time passed to the breaker: a constant, as a caller's `now` would sit in a register.
const NOW: u64 = 1_000_000;

const POLICY: Policy = match Policy::new(5, 1_000_000_000, 1, 1) {
    Ok(p) => p,
    Err(_) => panic!("bench policy is valid"),
};

/// The same policy with a lock: what the pure-atomic design is compared with.
struct MutexBreaker {
    policy: Policy,
    state: Mutex<MutexState>,
}

enum MutexState {
    Closed { failures: u32 },
    Open { since: u64 },
    HalfOpen { in_flight: u32, successes: u32 },
}

/// `true` for a probe.
struct MutexPermit(bool);

impl MutexBreaker {
    fn new(policy: Policy) -> MutexBreaker {
        MutexBreaker {
            policy,
            state: Mutex::new(MutexState::Closed { failures: 0 }),
        }
    }

    fn allow(&self, now: u64) -> Result<MutexPermit, ()> {
        let mut state = self.state.lock().unwrap();
        match *state {
            MutexState::Closed { .. } => Ok(MutexPermit(false)),
            MutexState::Open { since } if now - since >= self.policy.open_duration_ns() => {
                *state = MutexState::HalfOpen {
                    in_flight: 1,
                    successes: 0,
                };
                Ok(MutexPermit(true))
            }
            MutexState::HalfOpen {
                in_flight,
                successes,
            } if in_flight < self.policy.half_open_probes() => {
                *state = MutexState::HalfOpen {
                    in_flight: in_flight + 1,
                    successes,
                };
                Ok(MutexPermit(true))
            }
            _ => Err(()),
        }
    }

    fn success(&self, permit: MutexPermit) {
        let mut state = self.state.lock().unwrap();
        match (&mut *state, permit.0) {
            (MutexState::Closed { failures }, false) => *failures = 0,
            (
                MutexState::HalfOpen {
                    in_flight,
                    successes,
                },
                true,
            ) => {
                *in_flight -= 1;
                *successes += 1;
                if *successes >= self.policy.success_threshold() {
                    *state = MutexState::Closed { failures: 0 };
                }
            }
            _ => {}
        }
    }

    #[allow(dead_code)] // the closed path never fails; kept so the comparison is a full breaker
    fn failure(&self, permit: MutexPermit, now: u64) {
        let mut state = self.state.lock().unwrap();
        match (&mut *state, permit.0) {
            (MutexState::Closed { failures }, false) => {
                *failures += 1;
                if *failures >= self.policy.failure_threshold() {
                    *state = MutexState::Open { since: now };
                }
            }
            (MutexState::HalfOpen { .. }, true) => *state = MutexState::Open { since: now },
            _ => {}
        }
    }
}

/// Runs `op` `iters` times on each of `threads` threads started together; returns the slowest
/// thread's time (so per-iteration time is the per-call latency under that concurrency).
fn timed<F: Fn(u64) + Sync>(threads: usize, iters: u64, op: F) -> Duration {
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        op(i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

fn allow(c: &mut Criterion) {
    let mut group = c.benchmark_group("allow");
    let breaker = Breaker::new(POLICY);
    let floor = CachePadded::new(AtomicU64::new(0));
    let mutexed = MutexBreaker::new(POLICY);

    for threads in [1usize, 2] {
        let label = if threads == 1 {
            "1-thread"
        } else {
            "2-threads"
        };
        group.throughput(Throughput::Elements(threads as u64));

        // allow + success: two loads by contract (the report must look before it writes).
        group.bench_function(BenchmarkId::new("0-otlp-arrow", label), |b| {
            b.iter_custom(|iters| {
                // `NOW` need not vary: the loads are atomic and cannot be hoisted; `black_box`
                // on the result keeps the success report's load observable.
                timed(threads, iters, |_| {
                    if let Ok(permit) = breaker.allow(NOW) {
                        black_box(permit.success(NOW));
                    }
                })
            })
        });

        // allow alone (the permit dropped unreported: a no-op for a closed-era permit).
        group.bench_function(BenchmarkId::new("0-otlp-arrow-allow-only", label), |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |_| {
                    black_box(breaker.allow(NOW).is_ok());
                })
            })
        });

        // The floor for `allow`: one bare load.
        group.bench_function(BenchmarkId::new("1-atomic-load", label), |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |_| {
                    black_box(floor.load(Ordering::Acquire));
                })
            })
        });

        // The floor for allow + success: two bare loads.
        group.bench_function(BenchmarkId::new("1-atomic-load-x2", label), |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |_| {
                    black_box(floor.load(Ordering::Acquire));
                    black_box(floor.load(Ordering::Acquire));
                })
            })
        });

        group.bench_function(BenchmarkId::new("2-mutex-breaker", label), |b| {
            b.iter_custom(|iters| {
                timed(threads, iters, |_| {
                    if let Ok(permit) = mutexed.allow(black_box(NOW)) {
                        mutexed.success(permit);
                    }
                })
            })
        });
    }
    group.finish();
    assert_eq!(
        breaker.counters(),
        Default::default(),
        "the bench stays closed"
    );
}

criterion_group!(benches, allow);
criterion_main!(benches);
