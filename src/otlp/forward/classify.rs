//! Which answers are retried: the OTLP specification's table, as pure functions.
//!
//! Both functions are exhaustive `match`es without a catch-all arm, so a new gRPC code (tonic
//! adding one) is a compile error here rather than a silent default, and every HTTP status
//! falls in exactly one range. Transport errors and timeouts never reach these functions: they
//! are always retryable.
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime};

use tonic::Code;

use super::DropReason;

/// What to do about one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Acknowledged (maybe partially).
    Success,
    /// Try again after a delay.
    Retryable,
    /// Give up on this request: the answer will not change.
    Drop(DropReason),
}

/// The class of a gRPC status `code`; `has_retry_info` says whether the status carried a
/// `google.rpc.RetryInfo` detail (which is what makes `RESOURCE_EXHAUSTED` retryable).
pub const fn classify_grpc(code: Code, has_retry_info: bool) -> Class {
    match code {
        Code::Ok => Class::Success,
        Code::Unavailable
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::DataLoss => Class::Retryable,
        Code::ResourceExhausted => {
            if has_retry_info {
                Class::Retryable
            } else {
                Class::Drop(DropReason::TooLarge)
            }
        }
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists => {
            Class::Drop(DropReason::BadRequest)
        }
        Code::Unauthenticated | Code::PermissionDenied => Class::Drop(DropReason::Unauthorized),
        Code::NotFound | Code::Unimplemented => Class::Drop(DropReason::NotFound),
        Code::Internal | Code::Unknown => Class::Drop(DropReason::ServerError),
    }
}

/// The class of an HTTP status code (any `u16`, so a nonsense status is classified too).
pub const fn classify_http(status: u16) -> Class {
    match status {
        200..=299 => Class::Success,
        429 | 502 | 503 | 504 => Class::Retryable,
        401 | 403 => Class::Drop(DropReason::Unauthorized),
        404 | 405 => Class::Drop(DropReason::NotFound),
        413 => Class::Drop(DropReason::TooLarge),
        400..=428 | 430..=499 => Class::Drop(DropReason::BadRequest),
        500 | 501 | 505..=599 => Class::Drop(DropReason::ServerError),
        0..=199 | 300..=399 | 600..=u16::MAX => Class::Drop(DropReason::BadResponse),
    }
}

/// A `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, relative to `now`; a date in the past is zero).
/// `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Huge values saturate; the caller caps them anyway.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole gRPC table, spelled out (OTLP specification, "Failures").
    #[test]
    fn grpc_table() {
        use Class::{Drop, Retryable, Success};
        use DropReason::*;
        let table = [
            (Code::Ok, Success, Success),
            (Code::Cancelled, Retryable, Retryable),
            (Code::Unknown, Drop(ServerError), Drop(ServerError)),
            (Code::InvalidArgument, Drop(BadRequest), Drop(BadRequest)),
            (Code::DeadlineExceeded, Retryable, Retryable),
            (Code::NotFound, Drop(NotFound), Drop(NotFound)),
            (Code::AlreadyExists, Drop(BadRequest), Drop(BadRequest)),
            (
                Code::PermissionDenied,
                Drop(Unauthorized),
                Drop(Unauthorized),
            ),
            (Code::ResourceExhausted, Drop(TooLarge), Retryable),
            (Code::FailedPrecondition, Drop(BadRequest), Drop(BadRequest)),
            (Code::Aborted, Retryable, Retryable),
            (Code::OutOfRange, Retryable, Retryable),
            (Code::Unimplemented, Drop(NotFound), Drop(NotFound)),
            (Code::Internal, Drop(ServerError), Drop(ServerError)),
            (Code::Unavailable, Retryable, Retryable),
            (Code::DataLoss, Retryable, Retryable),
            (
                Code::Unauthenticated,
                Drop(Unauthorized),
                Drop(Unauthorized),
            ),
        ];
        assert_eq!(table.len(), 17, "every gRPC code");
        for (code, without, with) in table {
            assert_eq!(classify_grpc(code, false), without, "{code:?}");
            assert_eq!(classify_grpc(code, true), with, "{code:?} with RetryInfo");
        }
        // Numbers outside the table decode to Unknown: not retried.
        assert_eq!(classify_grpc(Code::from_i32(99), false), Drop(ServerError));
    }

    #[test]
    fn http_table() {
        use Class::{Drop, Retryable, Success};
        use DropReason::*;
        for s in 0..=u16::MAX {
            let expected = match s {
                200..=299 => Success,
                429 | 502 | 503 | 504 => Retryable,
                401 | 403 => Drop(Unauthorized),
                404 | 405 => Drop(NotFound),
                413 => Drop(TooLarge),
                400..=499 => Drop(BadRequest),
                500..=599 => Drop(ServerError),
                _ => Drop(BadResponse),
            };
            assert_eq!(classify_http(s), expected, "{s}");
        }
        assert_eq!(classify_http(408), Drop(BadRequest), "not in the OTLP list");
        assert_eq!(classify_http(500), Drop(ServerError));
        assert_eq!(classify_http(302), Drop(BadResponse));
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past"
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
