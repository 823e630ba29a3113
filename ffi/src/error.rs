//! The panic boundary around every export, and the per-thread last-error message.
//!
//! Every `extern "C"` function body runs inside [`boundary!`]: a `catch_unwind` that turns a
//! panic into `OTLP_ARROW_PANIC` (or the function's neutral value), so no unwind ever crosses
//! into C. A failed call stores its message in a thread-local buffer that
//! [`otlp_arrow_last_error`] copies out; a successful call leaves it alone (like `errno`).
//!
//! The buffer is a `String` reused across failures, so after the first failure on a thread
//! storing a message allocates only if a longer one comes along: a producer that meets a full
//! ring again and again does not allocate for it.

use core::fmt::Write as _;
use std::cell::RefCell;

use crate::status::{Error, OTLP_ARROW_OK, otlp_arrow_status};

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Replaces this thread's last-error message with `err`'s.
pub(crate) fn set_last_error(err: &Error) {
    // `try_with`: during thread teardown the slot may be gone; the status still tells.
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut s) = cell.try_borrow_mut() {
            s.clear();
            match err.fixed_message() {
                Some(m) => s.push_str(m),
                None => {
                    let _ = write!(s, "{err}");
                }
            }
        }
    });
}

/// The status of `r`, storing the error's message for [`otlp_arrow_last_error`].
///
/// In line, with the failure out of line: a successful record call then costs one test here,
/// not a call that moves the whole `Result` through memory.
#[inline(always)]
pub(crate) fn report(r: Result<(), Error>) -> otlp_arrow_status {
    match r {
        Ok(()) => OTLP_ARROW_OK,
        Err(e) => report_error(e),
    }
}

/// [`report`]'s failure path.
#[cold]
#[inline(never)]
fn report_error(e: Error) -> otlp_arrow_status {
    set_last_error(&e);
    e.status()
}

/// The text of a caught panic payload.
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs the body of an export inside `catch_unwind`.
///
/// `boundary!(status => { body })`: the body evaluates to `Result<(), Error>`; the export
/// returns its status (message stored on failure), or `OTLP_ARROW_PANIC` if it panicked.
/// `boundary!(value: V => { body })`: the body evaluates to `V`; a panic returns `V`'s
/// neutral value given after `value:` (for the infallible exports).
macro_rules! boundary {
    (status => $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(
            || -> ::core::result::Result<(), $crate::status::Error> { $body },
        )) {
            Ok(r) => $crate::error::report(r),
            Err(payload) => $crate::error::report(Err($crate::status::Error::Panic(
                $crate::error::panic_message(&*payload),
            ))),
        }
    }};
    (value: $neutral:expr => $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(payload) => {
                $crate::error::set_last_error(&$crate::status::Error::Panic(
                    $crate::error::panic_message(&*payload),
                ));
                $neutral
            }
        }
    }};
}
pub(crate) use boundary;

/// Copies this thread's last-error message into `buf` and returns its full length in bytes
/// (without the terminating NUL), like `snprintf`.
///
/// The message describes the most recent failed call made **on this thread** (any handle);
/// successful calls do not clear it; it is empty if no call has failed on this thread. At most
/// `buf_len - 1` bytes are copied, always followed by a NUL when `buf_len > 0`; a message cut
/// short is cut at a UTF-8 character boundary. Call with `buf = NULL, buf_len = 0` to learn the
/// length. Never fails. Thread-safe (each thread has its own message).
///
/// # Safety
/// `buf` must be NULL (then `buf_len` must be 0) or point to `buf_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_last_error(
    buf: *mut core::ffi::c_char,
    buf_len: usize,
) -> usize {
    boundary!(value: 0 => {
        LAST_ERROR
            .try_with(|cell| {
                let Ok(s) = cell.try_borrow() else { return 0 };
                if !buf.is_null() && buf_len > 0 {
                    let mut n = s.len().min(buf_len - 1);
                    while !s.is_char_boundary(n) {
                        n -= 1;
                    }
                    // SAFETY: the caller guarantees `buf` points to `buf_len` writable bytes;
                    // `n + 1 <= buf_len`, and the message (Rust memory) cannot overlap it.
                    unsafe {
                        core::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n);
                        *buf.add(n) = 0;
                    }
                }
                s.len()
            })
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: NULL with length 0 is allowed.
        let n = unsafe { otlp_arrow_last_error(core::ptr::null_mut(), 0) };
        let mut buf = vec![0 as core::ffi::c_char; n + 1];
        // SAFETY: `buf` has `n + 1` writable bytes.
        let m = unsafe { otlp_arrow_last_error(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(m, n);
        let bytes: Vec<u8> = buf[..n].iter().map(|&c| c as u8).collect();
        assert_eq!(buf[n], 0);
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn messages_are_per_thread_and_truncated_on_char_boundaries() {
        set_last_error(&Error::Invalid("héllo"));
        assert_eq!(last(), "invalid argument: héllo");
        std::thread::spawn(|| assert_eq!(last(), ""))
            .join()
            .unwrap();
        // "invalid argument: h" + the first byte of 'é' would split the character.
        let mut buf = [0x7f as core::ffi::c_char; 21];
        // SAFETY: 21 writable bytes.
        let n = unsafe { otlp_arrow_last_error(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, "invalid argument: héllo".len());
        assert_eq!(buf[19], 0, "cut before the two-byte character");
    }

    #[test]
    fn panics_become_the_panic_status() {
        let status = boundary!(status => {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(())
        });
        assert_eq!(status, crate::status::OTLP_ARROW_PANIC);
        assert!(last().contains("boom"), "{}", last());
    }
}
