//! Status codes returned by every fallible export, and the crate's internal error type that
//! maps onto them.
//!
//! Codes are `u32` constants (`OTLP_ARROW_OK`, ...), never reused: a code, once published,
//! keeps its number and meaning forever; new failure kinds get new numbers at the end.
#![forbid(unsafe_code)]

use core::fmt;

use core_crate::signal::Signal;

/// The result of a fallible call: one of the `OTLP_ARROW_*` status constants.
#[allow(non_camel_case_types)]
pub type otlp_arrow_status = u32;

/// Success.
pub const OTLP_ARROW_OK: otlp_arrow_status = 0;
/// An argument is invalid: a NULL pointer where one is required (or with a non-zero length), a
/// string that is not UTF-8 (with `[ffi] invalid_utf8 = "reject"`), an unknown enum number, an
/// unknown resource or scope id, a nesting deeper than `OTLP_ARROW_MAX_DEPTH`, more than
/// `OTLP_ARROW_MAX_POINTS` data points. Nothing was recorded.
pub const OTLP_ARROW_INVALID_ARGUMENT: otlp_arrow_status = 1;
/// The signal's ring is full right now (with `ring.full_policy = "wait"`: still full after
/// `ring.wait_timeout`). Nothing was recorded; the drop is counted (`rejected_full`). Retry
/// later or drop the item.
pub const OTLP_ARROW_FULL: otlp_arrow_status = 2;
/// The encoded record is larger than the ring's largest record (ring size / 8) and can never
/// be recorded. Counted (`rejected_too_large`).
pub const OTLP_ARROW_TOO_LARGE: otlp_arrow_status = 3;
/// The handle was closed (detected while its memory has not been reused by a later open).
pub const OTLP_ARROW_CLOSED: otlp_arrow_status = 4;
/// Storage failed: the output directory could not be prepared, a flush could not write or
/// finalize a file, or a close lost data (the message says how much).
pub const OTLP_ARROW_IO: otlp_arrow_status = 5;
/// The configuration text is not valid TOML, has an unknown key or an invalid value.
pub const OTLP_ARROW_CONFIG: otlp_arrow_status = 6;
/// A bug: the library panicked inside this call. The panic was caught at the boundary; the
/// handle may be left in an unspecified (but memory-safe) state.
pub const OTLP_ARROW_PANIC: otlp_arrow_status = 7;
/// `otlp_arrow_flush` did not finish within its timeout (the drain keeps going).
pub const OTLP_ARROW_TIMED_OUT: otlp_arrow_status = 8;
/// A fixed-size table is full: too many resources or scopes registered on this handle.
pub const OTLP_ARROW_LIMIT: otlp_arrow_status = 9;

/// Why a call failed: a status code plus what the thread's last-error message says. Building
/// one never allocates except for the variants that carry a `String` (open and close only).
#[derive(Debug)]
pub(crate) enum Error {
    /// `OTLP_ARROW_INVALID_ARGUMENT` with a fixed message.
    Invalid(&'static str),
    /// `OTLP_ARROW_INVALID_ARGUMENT`: `what` has an unknown enum number.
    UnknownEnum { what: &'static str, value: u64 },
    /// `OTLP_ARROW_INVALID_ARGUMENT`: a string argument is not UTF-8.
    InvalidUtf8(&'static str),
    /// `OTLP_ARROW_FULL`.
    Full(Signal),
    /// `OTLP_ARROW_TOO_LARGE`: encoded length and the ring's limit.
    TooLarge { len: usize, max: usize },
    /// `OTLP_ARROW_CLOSED`.
    Closed,
    /// `OTLP_ARROW_IO`.
    Io(String),
    /// `OTLP_ARROW_CONFIG`.
    Config(String),
    /// `OTLP_ARROW_PANIC`.
    Panic(String),
    /// `OTLP_ARROW_TIMED_OUT`.
    TimedOut,
    /// `OTLP_ARROW_LIMIT`.
    Limit(&'static str),
}

impl Error {
    /// The status code this error is reported as.
    pub(crate) fn status(&self) -> otlp_arrow_status {
        match self {
            Error::Invalid(_) | Error::UnknownEnum { .. } | Error::InvalidUtf8(_) => {
                OTLP_ARROW_INVALID_ARGUMENT
            }
            Error::Full(_) => OTLP_ARROW_FULL,
            Error::TooLarge { .. } => OTLP_ARROW_TOO_LARGE,
            Error::Closed => OTLP_ARROW_CLOSED,
            Error::Io(_) => OTLP_ARROW_IO,
            Error::Config(_) => OTLP_ARROW_CONFIG,
            Error::Panic(_) => OTLP_ARROW_PANIC,
            Error::TimedOut => OTLP_ARROW_TIMED_OUT,
            Error::Limit(_) => OTLP_ARROW_LIMIT,
        }
    }
}

impl Error {
    /// The message when it is a fixed string (no formatting needed): the hot refusals.
    pub(crate) fn fixed_message(&self) -> Option<&'static str> {
        match self {
            Error::Full(Signal::Traces) => Some("the traces ring is full"),
            Error::Full(Signal::Metrics) => Some("the metrics ring is full"),
            Error::Full(Signal::Logs) => Some("the logs ring is full"),
            Error::Closed => Some("the handle is closed"),
            Error::TimedOut => Some("flush timed out"),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => write!(f, "invalid argument: {m}"),
            Error::UnknownEnum { what, value } => {
                write!(f, "invalid argument: unknown {what} {value}")
            }
            Error::InvalidUtf8(what) => write!(f, "invalid argument: {what} is not UTF-8"),
            Error::Full(s) => write!(f, "the {s} ring is full"),
            Error::TooLarge { len, max } => write!(
                f,
                "record of {len} bytes is larger than the ring's largest record ({max} bytes)"
            ),
            Error::Closed => f.write_str("the handle is closed"),
            Error::Io(m) => write!(f, "storage: {m}"),
            Error::Config(m) => write!(f, "configuration: {m}"),
            Error::Panic(m) => write!(f, "internal error (panic): {m}"),
            Error::TimedOut => f.write_str("flush timed out"),
            Error::Limit(m) => write!(f, "limit reached: {m}"),
        }
    }
}

/// All status codes with their names, for tests and the docs.
#[cfg(test)]
pub(crate) const ALL: [(otlp_arrow_status, &str); 10] = [
    (OTLP_ARROW_OK, "OK"),
    (OTLP_ARROW_INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    (OTLP_ARROW_FULL, "FULL"),
    (OTLP_ARROW_TOO_LARGE, "TOO_LARGE"),
    (OTLP_ARROW_CLOSED, "CLOSED"),
    (OTLP_ARROW_IO, "IO"),
    (OTLP_ARROW_CONFIG, "CONFIG"),
    (OTLP_ARROW_PANIC, "PANIC"),
    (OTLP_ARROW_TIMED_OUT, "TIMED_OUT"),
    (OTLP_ARROW_LIMIT, "LIMIT"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_dense() {
        for (i, (code, _)) in ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "codes are never reused or skipped");
        }
    }

    #[test]
    fn every_error_has_its_code_and_a_message_naming_the_cause() {
        let cases: Vec<(Error, otlp_arrow_status, &str)> = vec![
            (
                Error::Invalid("span is NULL"),
                OTLP_ARROW_INVALID_ARGUMENT,
                "span is NULL",
            ),
            (
                Error::UnknownEnum {
                    what: "span kind",
                    value: 9,
                },
                OTLP_ARROW_INVALID_ARGUMENT,
                "unknown span kind 9",
            ),
            (
                Error::InvalidUtf8("name"),
                OTLP_ARROW_INVALID_ARGUMENT,
                "name is not UTF-8",
            ),
            (
                Error::Full(Signal::Metrics),
                OTLP_ARROW_FULL,
                "the metrics ring is full",
            ),
            (
                Error::TooLarge { len: 10, max: 5 },
                OTLP_ARROW_TOO_LARGE,
                "record of 10 bytes is larger than the ring's largest record (5 bytes)",
            ),
            (Error::Closed, OTLP_ARROW_CLOSED, "the handle is closed"),
            (
                Error::Io("disk full".into()),
                OTLP_ARROW_IO,
                "storage: disk full",
            ),
            (
                Error::Config("bad key".into()),
                OTLP_ARROW_CONFIG,
                "configuration: bad key",
            ),
            (
                Error::Panic("boom".into()),
                OTLP_ARROW_PANIC,
                "internal error (panic): boom",
            ),
            (Error::TimedOut, OTLP_ARROW_TIMED_OUT, "flush timed out"),
            (
                Error::Limit("resources"),
                OTLP_ARROW_LIMIT,
                "limit reached: resources",
            ),
        ];
        for (error, code, message) in cases {
            assert_eq!(error.status(), code, "{error:?}");
            let shown = error.to_string();
            assert!(
                shown.contains(message),
                "{shown:?} should contain {message:?}"
            );
            if let Some(fixed) = error.fixed_message() {
                assert_eq!(fixed, shown, "the fixed message is the Display text");
            }
        }
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            let e = Error::Full(signal);
            assert_eq!(e.fixed_message(), Some(e.to_string().as_str()));
        }
    }
}
