//! Model-based check of [`crate::breaker`]: a random [`Scenario`] of events is applied both to a
//! real [`Breaker`] and to [`Model`], a plain sequential reference written for clarity (an enum
//! with named fields, unbounded generation numbers, exact 128-bit time arithmetic instead of a
//! wrapping 36-bit field); every decision, returned transition, state, word field and counter
//! must agree after every event.
//!
//! Used by the cargo-fuzz target `fuzz/fuzz_targets/breaker.rs` (bytes decoded with `arbitrary`)
//! and by the proptest `tests/breaker_model.rs` (scenarios built by strategies). Scenarios are
//! capped at [`MAX_EVENTS`] events, fewer than the 256 transitions after which the breaker's
//! 8-bit generation may alias (a documented limit the model does not share).
#![forbid(unsafe_code)]

use arbitrary::{Arbitrary, Unstructured};

use crate::breaker::{Breaker, Counters, Permit, Policy, State, Transition};

/// Longest scenario (keeps generations below their 8-bit wrap; see the module docs).
pub const MAX_EVENTS: usize = 200;

/// Open durations scenarios pick from: exact (under 256 ns), just past the first rounding,
/// awkward odd values, a millisecond, a second and a very long one.
pub const OPEN_DURATIONS: [u64; 8] = [1, 100, 255, 256, 1_000_003, 1 << 20, 1_000_000_000, 1 << 40];

/// One step of a scenario. Indexes pick an outstanding permit modulo their number (no-op if
/// none). A `skew` of 224 or more moves that call's `now` back by `(skew − 224)` sixteenths of
/// the open duration: a caller whose clock reading is older than another thread's.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Arbitrary)]
pub enum Event {
    /// `allow(now)`; a granted permit joins the outstanding ones.
    Allow {
        /// Clock skew selector.
        skew: u8,
    },
    /// Report success on an outstanding permit.
    Success {
        /// Which permit.
        permit: u8,
        /// Clock skew selector.
        skew: u8,
    },
    /// Report failure on an outstanding permit.
    Failure {
        /// Which permit.
        permit: u8,
        /// Clock skew selector.
        skew: u8,
    },
    /// Drop an outstanding permit without reporting.
    Drop {
        /// Which permit.
        permit: u8,
    },
    /// Leak an outstanding permit with `mem::forget`.
    Forget {
        /// Which permit.
        permit: u8,
    },
    /// Advance the clock by `step` sixteenths of the open duration (at least `step` ns).
    Advance {
        /// How far.
        step: u8,
    },
}

/// A policy, a start time and a sequence of events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// `Policy::new` argument.
    pub failure_threshold: u32,
    /// `Policy::new` argument.
    pub open_duration_ns: u64,
    /// `Policy::new` argument.
    pub half_open_probes: u32,
    /// `Policy::new` argument.
    pub success_threshold: u32,
    /// The clock at the first event; clamped to [`Scenario::MAX_START`].
    pub start: u64,
    /// The events, at most [`MAX_EVENTS`] of them are applied.
    pub events: Vec<Event>,
}

impl Scenario {
    /// Latest start: leaves room for `MAX_EVENTS` maximal advances without overflowing `u64`.
    pub const MAX_START: u64 = u64::MAX - (1 << 56);

    /// A start time `before` ns ahead of the `k`-th wrap of the breaker's 36-bit time field for
    /// `open_duration_ns`, so that the scenario crosses it. `None` if the field never wraps
    /// within `u64` for this duration.
    pub fn start_before_wrap(open_duration_ns: u64, k: u64, before: u64) -> Option<u64> {
        let policy = Policy::new(1, open_duration_ns, 1, 1).ok()?;
        let period = policy.time_unit_ns().checked_mul(1 << 36)?;
        period.checked_mul(k.max(1))?.checked_sub(before)
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Scenario> {
        let failure_threshold = u.int_in_range(1..=6)?;
        let half_open_probes = u.int_in_range(1..=4)?;
        let success_threshold = u.int_in_range(1..=4)?;
        let open_duration_ns = *u.choose(&OPEN_DURATIONS)?;
        let raw_start = u64::arbitrary(u)?;
        let start = if u.ratio(1u8, 4)? {
            let k = u64::from(u8::arbitrary(u)?);
            let before = raw_start % (64 * open_duration_ns);
            Scenario::start_before_wrap(open_duration_ns, k, before).unwrap_or(raw_start)
        } else {
            raw_start
        };
        // Every remaining byte goes to events (rather than a length prefix or a "continue?"
        // flag per event, which would make random inputs very short).
        let mut events = Vec::new();
        while !u.is_empty() && events.len() < MAX_EVENTS {
            events.push(Event::arbitrary(u)?);
        }
        Ok(Scenario {
            failure_threshold,
            open_duration_ns,
            half_open_probes,
            success_threshold,
            start,
            events,
        })
    }
}

/// The fuzz entry point: decode a scenario from `data` and check it. Panics on a disagreement.
pub fn run(data: &[u8]) {
    if let Ok(scenario) = Scenario::arbitrary(&mut Unstructured::new(data)) {
        let _ = run_scenario(&scenario);
    }
}

/// What a scenario reached, for choosing corpus seeds that cover every path.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The counters at the end (model and breaker agreed on them).
    pub counters: Counters,
    /// Reports ignored because their permit's generation had passed.
    pub stale_reports: u64,
    /// Probe permits dropped while their slot was still live (slot freed).
    pub probe_slots_freed: u64,
    /// Permits leaked with `mem::forget`.
    pub forgotten: u64,
}

/// Applies `scenario` to a breaker and to the model; panics with the event index and both sides
/// on the first disagreement. Returns what was reached. Invalid policies are skipped (the
/// breaker must refuse exactly the policies the model considers invalid).
pub fn run_scenario(scenario: &Scenario) -> Summary {
    let policy = match Policy::new(
        scenario.failure_threshold,
        scenario.open_duration_ns,
        scenario.half_open_probes,
        scenario.success_threshold,
    ) {
        Ok(policy) => policy,
        Err(_) => {
            assert!(
                scenario.failure_threshold == 0
                    || scenario.open_duration_ns == 0
                    || scenario.half_open_probes == 0
                    || scenario.success_threshold == 0
                    || scenario.failure_threshold > crate::breaker::MAX_THRESHOLD
                    || scenario.half_open_probes > crate::breaker::MAX_PROBES
                    || scenario.success_threshold > crate::breaker::MAX_THRESHOLD,
                "valid policy refused: {scenario:?}"
            );
            return Summary::default();
        }
    };
    let breaker = Breaker::new(policy);
    let mut model = Model::new(policy);
    let mut outstanding: Vec<(Permit<'_>, ModelPermit)> = Vec::new();
    let mut summary = Summary::default();
    let mut now = scenario.start.min(Scenario::MAX_START);
    let step = (policy.open_duration_ns() / 16).max(1);
    let at = |now: u64, skew: u8| now.saturating_sub(u64::from(skew.saturating_sub(224)) * step);

    for (index, event) in scenario.events.iter().take(MAX_EVENTS).enumerate() {
        let ctx = || format!("event {index} {event:?} of {scenario:?}");
        match *event {
            Event::Allow { skew } => {
                let t = at(now, skew);
                match (breaker.allow(t), model.allow(t)) {
                    (Ok(permit), Ok(expected)) => {
                        assert_eq!(permit.is_probe(), expected.probe, "probe? {}", ctx());
                        assert_eq!(
                            permit.generation(),
                            expected.epoch as u8,
                            "generation {}",
                            ctx()
                        );
                        outstanding.push((permit, expected));
                    }
                    (Err(rejected), Err(state)) => {
                        assert_eq!(rejected.state(), state, "rejected in {}", ctx());
                    }
                    (got, want) => panic!("allow: breaker {got:?}, model {want:?}; {}", ctx()),
                }
            }
            Event::Success { permit, skew } | Event::Failure { permit, skew } => {
                if outstanding.is_empty() {
                    continue;
                }
                let (real, expected) =
                    outstanding.swap_remove(usize::from(permit) % outstanding.len());
                let ok = matches!(event, Event::Success { .. });
                let t = at(now, skew);
                if expected.epoch != model.epoch {
                    summary.stale_reports += 1;
                }
                let want = if ok {
                    model.success(expected, t)
                } else {
                    model.failure(expected, t)
                };
                let got = real.report(ok, t);
                assert_eq!(got, want, "report {}", ctx());
            }
            Event::Drop { permit } => {
                if outstanding.is_empty() {
                    continue;
                }
                let (real, expected) =
                    outstanding.swap_remove(usize::from(permit) % outstanding.len());
                if model.drop_permit(expected) {
                    summary.probe_slots_freed += 1;
                }
                drop(real);
            }
            Event::Forget { permit } => {
                if outstanding.is_empty() {
                    continue;
                }
                let (real, _) = outstanding.swap_remove(usize::from(permit) % outstanding.len());
                core::mem::forget(real);
                summary.forgotten += 1;
            }
            Event::Advance { step: n } => {
                now += (u64::from(n) * step).max(u64::from(n));
            }
        }
        model.check(&breaker, &ctx);
    }
    // Dropping the remaining permits must free exactly the model's live slots.
    for (real, expected) in outstanding.drain(..) {
        let _ = model.drop_permit(expected);
        drop(real);
    }
    model.check(&breaker, &|| format!("final drops of {scenario:?}"));
    summary.counters = model.counters;
    summary
}

/// A permit as the model sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ModelPermit {
    /// The epoch (unbounded generation) it was issued in.
    pub epoch: u64,
    /// Whether it holds a half-open probe slot.
    pub probe: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ModelState {
    Closed {
        failures: u64,
    },
    Open {
        since: u64,
    },
    HalfOpen {
        in_flight: u64,
        successes: u64,
        since: u64,
    },
}

/// The sequential reference breaker.
///
/// Times are kept as whole coarse units (`now / unit`, never wrapped) and "a duration has
/// passed since unit `since`" is evaluated exactly as the documented promise: `now` is at least
/// the open duration after the *last* nanosecond of that unit.
#[derive(Clone, Debug)]
pub struct Model {
    policy: Policy,
    state: ModelState,
    /// Transitions so far; the breaker's generation is this modulo 256.
    epoch: u64,
    counters: Counters,
}

impl Model {
    /// A closed model breaker.
    pub fn new(policy: Policy) -> Model {
        Model {
            policy,
            state: ModelState::Closed { failures: 0 },
            epoch: 0,
            counters: Counters::default(),
        }
    }

    fn units(&self, now: u64) -> u64 {
        now / self.policy.time_unit_ns()
    }

    fn elapsed(&self, now: u64, since: u64) -> bool {
        let unit = u128::from(self.policy.time_unit_ns());
        let last_ns_of_since = (u128::from(since) + 1) * unit - 1;
        u128::from(now) >= last_ns_of_since + u128::from(self.policy.open_duration_ns())
    }

    fn go(&mut self, state: ModelState, transition: Transition) -> Option<Transition> {
        self.state = state;
        self.epoch += 1;
        match transition {
            Transition::ClosedToOpen => self.counters.closed_to_open += 1,
            Transition::OpenToHalfOpen => self.counters.open_to_half_open += 1,
            Transition::HalfOpenToClosed => self.counters.half_open_to_closed += 1,
            Transition::HalfOpenToOpen => self.counters.half_open_to_open += 1,
            Transition::HalfOpenExpired => self.counters.half_open_expired += 1,
        }
        Some(transition)
    }

    fn fresh_half_open(&self, now: u64) -> ModelState {
        ModelState::HalfOpen {
            in_flight: 1,
            successes: 0,
            since: self.units(now),
        }
    }

    /// `allow(now)`: a permit, or the state that rejected.
    pub fn allow(&mut self, now: u64) -> Result<ModelPermit, State> {
        let probes = u64::from(self.policy.half_open_probes());
        match self.state {
            ModelState::Closed { .. } => {
                return Ok(ModelPermit {
                    epoch: self.epoch,
                    probe: false,
                });
            }
            ModelState::Open { since } if self.elapsed(now, since) => {
                let _ = self.go(self.fresh_half_open(now), Transition::OpenToHalfOpen);
            }
            ModelState::HalfOpen {
                in_flight,
                successes,
                since,
            } if in_flight < probes => {
                self.state = ModelState::HalfOpen {
                    in_flight: in_flight + 1,
                    successes,
                    since,
                };
            }
            ModelState::HalfOpen { since, .. } if self.elapsed(now, since) => {
                let _ = self.go(self.fresh_half_open(now), Transition::HalfOpenExpired);
            }
            ModelState::Open { .. } | ModelState::HalfOpen { .. } => {
                self.counters.rejected += 1;
                return Err(self.state());
            }
        }
        Ok(ModelPermit {
            epoch: self.epoch,
            probe: true,
        })
    }

    /// A permit reports success at `now`.
    pub fn success(&mut self, permit: ModelPermit, now: u64) -> Option<Transition> {
        if permit.epoch != self.epoch {
            return None;
        }
        match self.state {
            ModelState::Closed { .. } => {
                self.state = ModelState::Closed { failures: 0 };
                None
            }
            ModelState::HalfOpen {
                in_flight,
                successes,
                ..
            } => {
                let successes = successes + 1;
                if successes >= u64::from(self.policy.success_threshold()) {
                    self.go(
                        ModelState::Closed { failures: 0 },
                        Transition::HalfOpenToClosed,
                    )
                } else {
                    let since = self.units(now);
                    self.state = ModelState::HalfOpen {
                        in_flight: in_flight - 1,
                        successes,
                        since,
                    };
                    None
                }
            }
            ModelState::Open { .. } => unreachable!("no permit is issued in an open epoch"),
        }
    }

    /// A permit reports failure at `now`.
    pub fn failure(&mut self, permit: ModelPermit, now: u64) -> Option<Transition> {
        if permit.epoch != self.epoch {
            return None;
        }
        let opened = ModelState::Open {
            since: self.units(now),
        };
        match self.state {
            ModelState::Closed { failures } => {
                let failures = failures + 1;
                if failures >= u64::from(self.policy.failure_threshold()) {
                    self.go(opened, Transition::ClosedToOpen)
                } else {
                    self.state = ModelState::Closed { failures };
                    None
                }
            }
            ModelState::HalfOpen { .. } => self.go(opened, Transition::HalfOpenToOpen),
            ModelState::Open { .. } => unreachable!("no permit is issued in an open epoch"),
        }
    }

    /// A permit is dropped unreported; `true` if that freed a live probe slot.
    pub fn drop_permit(&mut self, permit: ModelPermit) -> bool {
        match self.state {
            ModelState::HalfOpen {
                in_flight,
                successes,
                since,
            } if permit.probe && permit.epoch == self.epoch => {
                self.state = ModelState::HalfOpen {
                    in_flight: in_flight - 1,
                    successes,
                    since,
                };
                true
            }
            _ => false,
        }
    }

    /// The model's state.
    pub fn state(&self) -> State {
        match self.state {
            ModelState::Closed { .. } => State::Closed,
            ModelState::Open { .. } => State::Open,
            ModelState::HalfOpen { .. } => State::HalfOpen,
        }
    }

    /// The model's counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Panics unless `breaker` agrees with the model on state, every word field and counters.
    pub fn check(&self, breaker: &Breaker, ctx: &dyn Fn() -> String) {
        let s = breaker.snapshot();
        assert_eq!(s.state(), self.state(), "state after {}", ctx());
        assert_eq!(
            s.generation(),
            self.epoch as u8,
            "generation after {}",
            ctx()
        );
        let time_mask = (1u64 << 36) - 1;
        match self.state {
            ModelState::Closed { failures } => {
                assert_eq!(s.failures(), failures, "failures after {}", ctx());
                assert_eq!(s.probes_in_flight(), 0, "probes after {}", ctx());
            }
            ModelState::Open { since } => {
                assert_eq!(
                    s.time_units(),
                    since & time_mask,
                    "opened at after {}",
                    ctx()
                );
                assert_eq!(
                    (s.failures(), s.successes()),
                    (0, 0),
                    "counts after {}",
                    ctx()
                );
                assert_eq!(s.probes_in_flight(), 0, "probes after {}", ctx());
            }
            ModelState::HalfOpen {
                in_flight,
                successes,
                since,
            } => {
                assert_eq!(
                    s.time_units(),
                    since & time_mask,
                    "activity after {}",
                    ctx()
                );
                assert_eq!(s.successes(), successes, "successes after {}", ctx());
                assert_eq!(s.probes_in_flight(), in_flight, "probes after {}", ctx());
            }
        }
        assert_eq!(
            breaker.counters(),
            self.counters,
            "counters after {}",
            ctx()
        );
    }
}
