//! C ABI for otlp-arrow: `libotlp_arrow.a` / `libotlp_arrow.so` and `include/otlp_arrow.h`.
//!
//! Owns every `extern "C"` symbol of the header (prefix `otlp_arrow_`) and the `#[repr(C)]`
//! types they take. What it promises (the header and docs/C-API.md say it for C users):
//!
//! - **No unwinding or abort across the boundary**: every export runs inside one panic
//!   boundary ([`error`]) and returns an `otlp_arrow_status` ([`status`]) whose codes are
//!   never reused; a failed call leaves a message for `otlp_arrow_last_error` on its thread.
//! - **Nothing from C is trusted**: every pointer is null-checked, every length bounded, every
//!   enum is a `uint32_t` converted on entry (unknown: `OTLP_ARROW_INVALID_ARGUMENT`), every
//!   string checked as UTF-8 or repaired ([`check`], [`lossy`]). Out-parameters are written
//!   only on success.
//! - **The record path neither allocates nor locks**: a span, metric or log record is checked,
//!   then encoded by the core crate's wire encoder straight into a claimed ring slot, with the
//!   C attribute arrays seen through the encoder's traits without conversion ([`strict`],
//!   [`record`]). Resources and scopes are encoded once and referred to by id ([`registry`]).
//!
//! | module | C "class" |
//! |---|---|
//! | [`library`] | the `otlp_arrow` handle: open, close, flush, register resource / scope |
//! | [`record`] | `otlp_arrow_record_span` / `_metric` / `_log` |
//! | [`stats`] | `otlp_arrow_stats` and its versioned struct |
//! | [`error`], [`status`] | panic boundary, status codes, `otlp_arrow_last_error` |
//! | [`types`] | the borrowed `#[repr(C)]` views |
//!
//! The Rust names are the C names (`otlp_arrow_span`, ...), hence the lint allowance.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod check;
pub mod error;
pub mod library;
mod lossy;
pub mod receivers;
pub mod record;
pub mod registry;
mod span_fast;
pub mod stats;
pub mod status;
mod strict;
pub mod types;

pub use check::OTLP_ARROW_MAX_DEPTH;
pub use error::otlp_arrow_last_error;
pub use library::{
    otlp_arrow, otlp_arrow_close, otlp_arrow_flush, otlp_arrow_open, otlp_arrow_register_resource,
    otlp_arrow_register_scope,
};
pub use record::{
    OTLP_ARROW_MAX_EVENTS, OTLP_ARROW_MAX_LINKS, OTLP_ARROW_MAX_POINTS, OTLP_ARROW_MAX_QUANTILES,
    otlp_arrow_record_log, otlp_arrow_record_metric, otlp_arrow_record_span,
};
pub use registry::{OTLP_ARROW_MAX_RESOURCES, OTLP_ARROW_MAX_SCOPES};
pub use stats::{otlp_arrow_counters, otlp_arrow_signal_counters, otlp_arrow_stats};
pub use status::*;
pub use types::*;

/// Major version of the library (the header's `OTLP_ARROW_VERSION_MAJOR`).
pub const OTLP_ARROW_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const OTLP_ARROW_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const OTLP_ARROW_VERSION_PATCH: u32 = 0;

/// NUL-terminated version string of the library, e.g. `"0.1.0"`.
static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the library version as a static NUL-terminated UTF-8 string (`"MAJOR.MINOR.PATCH"`,
/// matching the `OTLP_ARROW_VERSION_*` macros of the header it was built with). Never fails,
/// never returns NULL; the string is owned by the library and valid for the life of the
/// process (do not free it). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn otlp_arrow_version() -> *const core::ffi::c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_nul_terminated_crate_version_and_matches_the_macros() {
        // SAFETY: otlp_arrow_version returns a pointer to a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(otlp_arrow_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        let macros = format!(
            "{OTLP_ARROW_VERSION_MAJOR}.{OTLP_ARROW_VERSION_MINOR}.{OTLP_ARROW_VERSION_PATCH}"
        );
        assert_eq!(macros, env!("CARGO_PKG_VERSION"));
    }
}
