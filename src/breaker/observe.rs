//! What the outside world sees of a breaker: transitions, counters and the [`Observer`] hook.
//!
//! Everything here runs *after* a transition has been published by the CAS loop, on the thread
//! whose call caused it, and never inside the loop: a retried CAS can therefore never count
//! or announce a transition twice, and a slow observer never holds the state word.
#![forbid(unsafe_code)]

use crate::sync::{AtomicU64, Ordering};

use super::snapshot::{Snapshot, State};

/// A change of breaker state, as counted and announced.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Consecutive failures reached the threshold.
    ClosedToOpen,
    /// The open duration passed and the first probe was admitted.
    OpenToHalfOpen,
    /// Enough probes succeeded.
    HalfOpenToClosed,
    /// A probe failed.
    HalfOpenToOpen,
    /// Every probe slot was taken and no probe outcome arrived for a whole open duration: the
    /// outstanding probes were abandoned (their reports will be ignored) and a fresh half-open
    /// period began with the probe that was admitted.
    HalfOpenExpired,
}

impl Transition {
    /// The transition from `prev` to `next`, if the words differ in state or generation.
    #[inline]
    pub(crate) fn between(prev: Snapshot, next: Snapshot) -> Option<Transition> {
        match (prev.state(), next.state()) {
            (State::Closed, State::Open) => Some(Transition::ClosedToOpen),
            (State::Open, State::HalfOpen) => Some(Transition::OpenToHalfOpen),
            (State::HalfOpen, State::Closed) => Some(Transition::HalfOpenToClosed),
            (State::HalfOpen, State::Open) => Some(Transition::HalfOpenToOpen),
            (State::HalfOpen, State::HalfOpen) if prev.generation() != next.generation() => {
                Some(Transition::HalfOpenExpired)
            }
            _ => None,
        }
    }
}

/// A hook told of every transition, after it happened.
///
/// Called synchronously on the thread whose `allow` or report caused the transition, after the
/// new state is visible to every other thread and after the counter was bumped. Keep it short and
/// non-blocking; it may call the breaker again (there is no lock to deadlock on). The breaker is
/// generic over it so the default [`NoopObserver`] costs nothing; plain
/// `fn(Transition, u64)` pointers are observers too, which suits `static` breakers.
pub trait Observer {
    /// `transition` has just happened; `now` is the time the causing call passed in.
    #[inline]
    fn on_transition(&self, transition: Transition, now: u64) {
        let _ = (transition, now);
    }
}

/// The observer that does nothing (the default).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NoopObserver;

impl Observer for NoopObserver {}

impl Observer for fn(Transition, u64) {
    #[inline]
    fn on_transition(&self, transition: Transition, now: u64) {
        self(transition, now)
    }
}

impl<T: Observer + ?Sized> Observer for &T {
    #[inline]
    fn on_transition(&self, transition: Transition, now: u64) {
        (**self).on_transition(transition, now)
    }
}

/// Counter values read from a breaker (each read separately, so a set read during traffic may
/// be mutually inconsistent by the transitions in progress).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// [`Transition::ClosedToOpen`] count.
    pub closed_to_open: u64,
    /// [`Transition::OpenToHalfOpen`] count.
    pub open_to_half_open: u64,
    /// [`Transition::HalfOpenToClosed`] count.
    pub half_open_to_closed: u64,
    /// [`Transition::HalfOpenToOpen`] count.
    pub half_open_to_open: u64,
    /// [`Transition::HalfOpenExpired`] count.
    pub half_open_expired: u64,
    /// Calls that `allow` rejected.
    pub rejected: u64,
}

/// The atomic cells behind [`Counters`]. Relaxed: they are statistics, ordered with nothing.
pub(crate) struct CounterCells {
    closed_to_open: AtomicU64,
    open_to_half_open: AtomicU64,
    half_open_to_closed: AtomicU64,
    half_open_to_open: AtomicU64,
    half_open_expired: AtomicU64,
    rejected: AtomicU64,
}

loom_const_fn! {
    /// All zero.
    pub(crate) fn counter_cells_new() -> CounterCells {
        CounterCells {
            closed_to_open: AtomicU64::new(0),
            open_to_half_open: AtomicU64::new(0),
            half_open_to_closed: AtomicU64::new(0),
            half_open_to_open: AtomicU64::new(0),
            half_open_expired: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }
}

impl CounterCells {
    #[inline]
    pub(crate) fn count(&self, transition: Transition) {
        let cell = match transition {
            Transition::ClosedToOpen => &self.closed_to_open,
            Transition::OpenToHalfOpen => &self.open_to_half_open,
            Transition::HalfOpenToClosed => &self.half_open_to_closed,
            Transition::HalfOpenToOpen => &self.half_open_to_open,
            Transition::HalfOpenExpired => &self.half_open_expired,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> Counters {
        Counters {
            closed_to_open: self.closed_to_open.load(Ordering::Relaxed),
            open_to_half_open: self.open_to_half_open.load(Ordering::Relaxed),
            half_open_to_closed: self.half_open_to_closed.load(Ordering::Relaxed),
            half_open_to_open: self.half_open_to_open.load(Ordering::Relaxed),
            half_open_expired: self.half_open_expired.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}
