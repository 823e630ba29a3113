//! C ABI for otlp-arrow.
//!
//! Owns the `extern "C"` surface declared in `include/otlp_arrow.h`. Today it exports only
//! [`otlp_arrow_version`]; the record/flush/stats functions arrive with the C ABI issue. Every
//! export is panic-free: nothing here can unwind across the boundary.
#![forbid(unsafe_op_in_unsafe_fn)]

/// NUL-terminated version string of the library, e.g. `"0.1.0"`.
static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the library version as a static NUL-terminated UTF-8 string. Never fails, never
/// returns NULL; the pointer stays valid for the life of the process. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn otlp_arrow_version() -> *const core::ffi::c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_nul_terminated_crate_version() {
        // SAFETY: otlp_arrow_version returns a pointer to a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(otlp_arrow_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
