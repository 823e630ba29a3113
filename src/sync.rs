//! The one place that names the atomics and cells the core uses.
//!
//! Under `--cfg otlp_arrow_loom` these are loom's model-checked types; otherwise `core`'s. No
//! other module imports `core::sync::atomic` directly, so every atomic protocol in the crate is
//! checked by the loom models (`tests/loom_*.rs`). The cfg is crate-specific so that building
//! our models does not switch on loom code inside dependencies.
#![forbid(unsafe_code)]
#![allow(unused_imports, unreachable_pub)]

#[cfg(not(otlp_arrow_loom))]
pub(crate) use core::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(otlp_arrow_loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

/// Spin-loop hint for a thread waiting on another (a CPU pause instruction).
#[cfg(not(otlp_arrow_loom))]
pub(crate) use core::hint::spin_loop as spin_hint;

/// Under loom a waiting thread must yield explicitly, or the model never schedules the other.
#[cfg(otlp_arrow_loom)]
pub(crate) use loom::thread::yield_now as spin_hint;

#[cfg(all(test, feature = "std", not(otlp_arrow_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The pattern the ring uses `spin_hint` in: a thread spins on a flag another thread sets
    /// with `Release`, and then sees the data written before it.
    #[test]
    fn a_spin_wait_with_the_hint_sees_the_other_threads_store() {
        let data = Arc::new(AtomicU64::new(0));
        let ready = Arc::new(AtomicBool::new(false));
        let writer = {
            let (data, ready) = (data.clone(), ready.clone());
            std::thread::spawn(move || {
                data.store(42, Ordering::Relaxed);
                ready.store(true, Ordering::Release);
            })
        };
        while !ready.load(Ordering::Acquire) {
            spin_hint();
        }
        assert_eq!(data.load(Ordering::Relaxed), 42);
        writer.join().unwrap();
        // Also called when the flag was already set (the loop may not have spun at all).
        spin_hint();
        assert!(ready.load(Ordering::Relaxed));
    }
}
