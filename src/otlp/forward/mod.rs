//! OTLP out: the forwarding transport, one [`Exporter`] per collector endpoint.
//!
//! | module | owns |
//! |---|---|
//! | [`request`](RequestBuilder) | [`RequestBuilder`]: ring records concatenated into `Export*ServiceRequest` bodies, no decode |
//! | `classify` | the exhaustive retry classification of gRPC codes and HTTP statuses ([`classify_grpc`], [`classify_http`]), `Retry-After` |
//! | `backoff` | exponential backoff with full jitter, server delays capped |
//! | `auth` | static headers, API key, bearer, basic; the refusal of credentials over `http://` |
//! | `connector` | TCP + rustls (system roots or a CA file, optional client certificate) for both transports |
//! | `transport` | one attempt: gRPC (tonic, raw-bytes codec, one HTTP/2 channel) or HTTP/protobuf (hyper) |
//! | `exporter` | [`Exporter`]: in-flight bound, per-request timeout, retries, breaker, outcomes |
//! | `stats` | [`ExporterStatsSnapshot`] and its Prometheus text ([`render_prometheus`]) |
//!
//! What the transport promises:
//!
//! - **No decode, no re-encode of the payload.** A request body is the ring records framed as
//!   field 1 of the request, byte for byte; gRPC sends it through a codec that writes the bytes
//!   as they are, HTTP posts them (gzipped when configured). Only the small
//!   `Export*ServiceResponse` is decoded, for its `partial_success`.
//! - **Retry per the OTLP specification.** Every gRPC code and HTTP status is classified by an
//!   exhaustive `match` (no catch-all arm): retryable are `UNAVAILABLE`, `CANCELLED`,
//!   `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS`, `RESOURCE_EXHAUSTED` only with
//!   a `google.rpc.RetryInfo`, HTTP 429, 502, 503, 504, and transport errors and timeouts.
//!   Delays are exponential with full jitter; a server-requested delay (`RetryInfo`,
//!   `Retry-After` in seconds or as an HTTP-date) is honoured but capped by
//!   `retry.max_server_delay`. After `retry.max_elapsed` a request is [`ExportOutcome::Deferred`]:
//!   it stays on disk and the forwarder's catch-up sends it later. Nothing here drops a request
//!   except a non-retryable answer ([`ExportOutcome::Dropped`], counted by [`DropReason`] and
//!   logged with the server's message).
//! - **The breaker guards the endpoint.** Each attempt needs [`Breaker::allow`]; transport errors,
//!   timeouts and retryable statuses count as failures, any answer that proves the endpoint
//!   healthy (success, partial success, non-retryable refusal) as success. While the breaker is
//!   open nothing is sent: `export` waits for it to admit a probe, but only until the request's
//!   deadline, then returns `Deferred`. Transitions are logged (`info` on open and close),
//!   counted in the stats, and passed to the embedder's callback
//!   ([`Exporter::with_breaker_callback`]).
//! - **Secrets stay secret.** Credentials are only ever written into request headers; `Debug`,
//!   [`Exporter::name`], stats, logs and every error show the URL with any user info redacted
//!   and never a header value. Credentials over plain `http://` are refused at
//!   [`Exporter::new`] unless `allow_insecure = true`.
//! - **Bounded.** At most `max_in_flight` requests are on the wire per exporter (a semaphore),
//!   each attempt bounded by `timeout`; one HTTP/2 connection carries all gRPC requests, HTTP/1.1
//!   connections are kept alive and reused.
//!
//! [`Breaker::allow`]: crate::breaker::Breaker::allow
#![forbid(unsafe_code)]

mod auth;
mod backoff;
mod classify;
mod connector;
mod exporter;
mod request;
mod stats;
mod transport;

use std::fmt;
use std::sync::Arc;

pub use classify::{Class, classify_grpc, classify_http, parse_retry_after};
pub use exporter::Exporter;
pub use request::RequestBuilder;
pub use stats::{ExporterStatsSnapshot, render_prometheus};

pub use crate::breaker::{State as BreakerState, Transition as BreakerTransition};
use crate::signal::Signal;

/// An uncompressed `Export{Trace,Metrics,Logs}ServiceRequest` body and what it holds.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Which service the body is for.
    pub signal: Signal,
    /// The protobuf body: field 1 (`resource_spans` / `resource_metrics` / `resource_logs`)
    /// repeated.
    pub body: bytes::Bytes,
    /// Spans, metric data points or log records in it (for the stats; not checked).
    pub items: u64,
}

/// What happened to one request after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportOutcome {
    /// Acknowledged. `rejected` > 0 and `message` when the server sent partial_success.
    Accepted {
        /// Items the server rejected (`rejected_spans` / `rejected_data_points` /
        /// `rejected_log_records`).
        rejected: u64,
        /// The server's `error_message`, when not empty.
        message: Option<String>,
    },
    /// Non-retryable failure: this request is dropped (counted by reason, logged).
    Dropped {
        /// The class of the refusal.
        reason: DropReason,
        /// The status and the server's message (never a credential).
        message: String,
    },
    /// Retryable failures until the per-batch deadline (`retry.max_elapsed`), or the breaker
    /// opened meanwhile: not sent; it stays on disk and catch-up sends it later.
    Deferred {
        /// The last error seen (or why nothing was sent).
        last_error: String,
    },
}

/// Why a request was dropped: the class of a non-retryable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The endpoint refused the data as invalid: gRPC `INVALID_ARGUMENT`, `FAILED_PRECONDITION`,
    /// `ALREADY_EXISTS`; HTTP 400 and other 4xx not listed below.
    BadRequest,
    /// Credentials refused: gRPC `UNAUTHENTICATED`, `PERMISSION_DENIED`; HTTP 401, 403.
    Unauthorized,
    /// No such service or path: gRPC `UNIMPLEMENTED`, `NOT_FOUND`; HTTP 404, 405.
    NotFound,
    /// Too large, or over a quota without retry advice: gRPC `RESOURCE_EXHAUSTED` without
    /// `RetryInfo`; HTTP 413.
    TooLarge,
    /// A server failure not marked retryable: gRPC `INTERNAL`, `UNKNOWN`; HTTP 500, 501 and
    /// other 5xx not listed as retryable.
    ServerError,
    /// An answer that is not OTLP: a 1xx/3xx status, a status code out of range, a success
    /// whose body does not decode, gRPC `OK` reported as an error.
    BadResponse,
}

impl DropReason {
    /// Every reason, in a fixed order (stats arrays are indexed by it).
    pub const ALL: [DropReason; 6] = [
        DropReason::BadRequest,
        DropReason::Unauthorized,
        DropReason::NotFound,
        DropReason::TooLarge,
        DropReason::ServerError,
        DropReason::BadResponse,
    ];

    /// Snake-case name, the `reason` label on metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::BadRequest => "bad_request",
            DropReason::Unauthorized => "unauthorized",
            DropReason::NotFound => "not_found",
            DropReason::TooLarge => "too_large",
            DropReason::ServerError => "server_error",
            DropReason::BadResponse => "bad_response",
        }
    }

    /// Position in [`DropReason::ALL`].
    pub const fn index(self) -> usize {
        match self {
            DropReason::BadRequest => 0,
            DropReason::Unauthorized => 1,
            DropReason::NotFound => 2,
            DropReason::TooLarge => 3,
            DropReason::ServerError => 4,
            DropReason::BadResponse => 5,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A breaker transition of one exporter, as passed to
/// [`Exporter::with_breaker_callback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerEvent {
    /// The exporter's [`name`](Exporter::name) (URL, redacted).
    pub endpoint: Arc<str>,
    /// What changed.
    pub transition: BreakerTransition,
    /// The state after it.
    pub state: BreakerState,
}

/// Why an [`Exporter`] could not be built. `Display` never shows a credential.
#[derive(Debug)]
#[non_exhaustive]
pub enum ForwardError {
    /// The URL is not an `http(s)://host[:port][/path]` URL.
    InvalidUrl {
        /// The URL, user info redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// Credentials (API key, bearer token, basic auth) with an `http://` URL and
    /// `allow_insecure = false`.
    InsecureCredentials {
        /// The URL, user info redacted.
        url: String,
    },
    /// A header name or value cannot be sent (the value is never shown).
    InvalidHeader {
        /// The header name.
        name: String,
    },
    /// TLS files were set on an `http://` URL, or could not be loaded.
    Tls(String),
    /// `[forward.breaker]` is not a valid breaker policy.
    Breaker(crate::breaker::PolicyError),
    /// A limit is out of range (e.g. `max_in_flight = 0`).
    Invalid(String),
    /// Not called inside a tokio runtime (the gRPC channel needs one to spawn its worker).
    NoRuntime,
}

impl fmt::Display for ForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardError::InvalidUrl { url, reason } => {
                write!(f, "forward endpoint {url:?}: {reason}")
            }
            ForwardError::InsecureCredentials { url } => write!(
                f,
                "forward endpoint {url:?}: credentials would be sent in clear text over http://; \
                 use https:// or set allow_insecure = true"
            ),
            ForwardError::InvalidHeader { name } => write!(
                f,
                "forward endpoint header {name:?}: not a valid HTTP header (value not shown)"
            ),
            ForwardError::Tls(e) => write!(f, "forward endpoint TLS: {e}"),
            ForwardError::Breaker(e) => write!(f, "forward.breaker: {e}"),
            ForwardError::Invalid(e) => write!(f, "forward endpoint: {e}"),
            ForwardError::NoRuntime => {
                f.write_str("Exporter::new must be called inside a tokio runtime")
            }
        }
    }
}

impl std::error::Error for ForwardError {}

/// The gRPC method path of `signal`'s `Export`.
pub(crate) const fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// The OTLP/HTTP path suffix of `signal`.
pub(crate) const fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_display_their_label_and_index_their_position() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.to_string(), r.as_str());
            assert_eq!(r.index(), i);
        }
        assert_eq!(DropReason::TooLarge.to_string(), "too_large");
    }

    #[test]
    fn forward_errors_display_what_to_fix() {
        let cases = [
            (
                ForwardError::InvalidUrl {
                    url: "ftp://collector".into(),
                    reason: "scheme must be http or https".into(),
                },
                "forward endpoint \"ftp://collector\": scheme must be http or https",
            ),
            (
                ForwardError::InsecureCredentials {
                    url: "http://collector".into(),
                },
                "forward endpoint \"http://collector\": credentials would be sent in clear text \
                 over http://; use https:// or set allow_insecure = true",
            ),
            (
                ForwardError::InvalidHeader { name: "x y".into() },
                "forward endpoint header \"x y\": not a valid HTTP header (value not shown)",
            ),
            (
                ForwardError::Tls("bad CA".into()),
                "forward endpoint TLS: bad CA",
            ),
            (
                ForwardError::Invalid("max_in_flight = 0".into()),
                "forward endpoint: max_in_flight = 0",
            ),
            (
                ForwardError::NoRuntime,
                "Exporter::new must be called inside a tokio runtime",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
        let policy = crate::breaker::PolicyError::OpenDuration;
        assert_eq!(
            ForwardError::Breaker(policy).to_string(),
            format!("forward.breaker: {policy}")
        );
        let e: &dyn std::error::Error = &ForwardError::NoRuntime;
        assert!(e.source().is_none());
    }

    #[test]
    fn paths_name_each_signal_service() {
        assert_eq!(http_path(Signal::Traces), "/v1/traces");
        assert_eq!(http_path(Signal::Metrics), "/v1/metrics");
        assert_eq!(http_path(Signal::Logs), "/v1/logs");
        for s in Signal::ALL {
            assert!(grpc_path(s).ends_with("Service/Export"));
            assert!(grpc_path(s).starts_with("/opentelemetry.proto.collector."));
        }
        assert!(grpc_path(Signal::Metrics).contains(".metrics.v1.MetricsService"));
    }
}
