//! OTLP in: the ingest path from request bytes to ring records, and the gRPC and HTTP
//! receivers in front of it (transport layer; feature `std`).
//!
//! | module | owns |
//! |---|---|
//! | [`ingest`](mod@ingest) | sync, no tokio: validate a request, split it into `Resource*` records (re-framed when too large), claim them all or none, fill and commit; partial success on invalid parts |
//! | [`context`] | [`ReceiverContext`]: the rings, limits, the shutting-down flag and the per signal x transport counters both receivers share |
//! | [`grpc`] | OTLP/gRPC (tonic): the three `Export` methods, raw bytes to [`ingest()`], RetryInfo on overload |
//! | [`http`] | OTLP/HTTP (hyper): `/v1/{traces,metrics,logs}`, protobuf and JSON, gzip with a size cap |
//! | [`tls`] | [`TlsIdentity`]: the rustls certificate and key both receivers serve with |
//! | [`forward`] | OTLP out: [`forward::Exporter`] per collector endpoint, [`forward::RequestBuilder`], retry, breaker, auth, TLS |
//!
//! What every receiver promises (DESIGN.md principles 1, 3 and 5):
//!
//! - Protobuf bodies are never decoded into objects: they are validated by
//!   [`wire::scan`](crate::wire::scan) and their `Resource*` messages copied into the ring as
//!   they are. JSON bodies are the one exception (they must be parsed).
//! - A request is accepted whole or refused whole (ring full -> `RESOURCE_EXHAUSTED` with
//!   `RetryInfo` / HTTP 429 with `Retry-After`), so a client that retries never duplicates
//!   anything. The only partial outcome is the OTLP partial success: invalid items (or items
//!   that cannot fit any ring record) are rejected, counted and reported; the rest is stored.
//! - A `Resource*` message larger than the ring's largest record is re-framed along scope and
//!   item boundaries ([`ingest`](mod@ingest) module docs).
#![forbid(unsafe_code)]

pub mod context;
pub mod forward;
pub mod grpc;
pub mod http;
pub mod ingest;
mod raw;
mod reframe;
mod response;
mod salvage;
pub mod tls;

pub use context::{CounterSnapshot, ReceiverContext, ReceiverLimits, ReceiverSnapshot, Transport};
pub use grpc::serve_grpc;
pub use http::serve_http;
pub use ingest::{Accepted, IngestError, IngestOptions, ingest};
pub use tls::{TlsError, TlsIdentity};
