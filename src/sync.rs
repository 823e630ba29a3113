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

/// Spin-loop hint: loom needs to be told explicitly that a thread is waiting on another.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(otlp_arrow_loom)]
    loom::thread::yield_now();
    #[cfg(not(otlp_arrow_loom))]
    core::hint::spin_loop();
}
