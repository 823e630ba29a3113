//! [`ReceiverContext`]: what the gRPC and HTTP receivers share, built once by the pipeline.
//!
//! It owns nothing but handles: the three rings (`Arc`s shared with the drain threads), the
//! limits taken from [`ReceiverConfig`], the optional TLS identity, a shutting-down flag, and
//! relaxed atomic counters per
//! signal x transport that the admin `/metrics` page reads through
//! [`ReceiverContext::snapshot`]. Counters are exact each, not a consistent set.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use super::ingest::{Accepted, IngestError, IngestOptions, ingest};
use super::tls::TlsIdentity;
use crate::config::ReceiverConfig;
use crate::ring::Ring;
use crate::signal::Signal;
use crate::sync::{AtomicBool, AtomicU64, Ordering};

/// Which receiver a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP (protobuf or JSON).
    Http,
}

impl Transport {
    /// Both transports, in a fixed order.
    pub const ALL: [Transport; 2] = [Transport::Grpc, Transport::Http];

    /// `grpc` or `http` (a metrics label value).
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }

    const fn index(self) -> usize {
        match self {
            Transport::Grpc => 0,
            Transport::Http => 1,
        }
    }
}

/// The receiver limits and options, from [`ReceiverConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverLimits {
    /// Largest request body as sent (compressed), bytes.
    pub max_message_bytes: usize,
    /// Largest request body after decompression, bytes.
    pub max_decompressed_bytes: usize,
    /// Retry advice on a full ring.
    pub retry_after: Duration,
    /// How long a request may wait for ring room.
    pub wait_for_room: Duration,
}

impl ReceiverLimits {
    /// The limits of `config`.
    pub fn from_config(config: &ReceiverConfig) -> Self {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        ReceiverLimits {
            max_message_bytes: size(config.max_message_bytes),
            max_decompressed_bytes: size(config.max_decompressed_bytes)
                .max(size(config.max_message_bytes)),
            retry_after: config.retry_after,
            wait_for_room: config.wait_for_room,
        }
    }
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        ReceiverLimits::from_config(&ReceiverConfig::default())
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    requests_refused: AtomicU64,
    requests_invalid: AtomicU64,
    items_received: AtomicU64,
    items_accepted: AtomicU64,
    items_refused: AtomicU64,
    items_rejected: AtomicU64,
    bytes_received: AtomicU64,
}

/// A copy of one signal x transport's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Requests that reached ingest (well-formed HTTP/gRPC requests for a known signal).
    pub requests: u64,
    /// Requests refused whole for overload: ring full, too large for the ring, shutting down.
    pub requests_refused: u64,
    /// Requests refused whole as malformed (nothing valid, bad JSON, bad gzip, too large).
    pub requests_invalid: u64,
    /// Items in requests that could be scanned: accepted + refused + rejected.
    pub items_received: u64,
    /// Items written to the ring.
    pub items_accepted: u64,
    /// Items refused for overload (the client was told to retry).
    pub items_refused: u64,
    /// Items rejected as invalid or too large (partial success; not to be retried).
    pub items_rejected: u64,
    /// Request body bytes as received on the wire (before decompression).
    pub bytes_received: u64,
}

/// All counters: `[signal][transport]`, in [`Signal::ALL`] x [`Transport::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverSnapshot {
    /// The counters.
    pub counters: [[CounterSnapshot; 2]; 3],
}

impl ReceiverSnapshot {
    /// The counters of one signal and transport.
    pub fn get(&self, signal: Signal, transport: Transport) -> CounterSnapshot {
        self.counters[signal_index(signal)][transport.index()]
    }
}

const fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Everything the receivers need. Build one with [`ReceiverContext::new`], wrap it in an
/// `Arc`, hand clones to [`serve_grpc`](super::serve_grpc) and
/// [`serve_http`](super::serve_http).
#[derive(Debug)]
pub struct ReceiverContext {
    rings: [Arc<Ring>; 3],
    limits: ReceiverLimits,
    shutting_down: AtomicBool,
    counters: [[Counters; 2]; 3],
    tls: Option<TlsIdentity>,
}

impl ReceiverContext {
    /// A context over the three rings with the limits of `config`.
    pub fn new(
        config: &ReceiverConfig,
        traces: Arc<Ring>,
        metrics: Arc<Ring>,
        logs: Arc<Ring>,
    ) -> Self {
        Self::with_limits(ReceiverLimits::from_config(config), traces, metrics, logs)
    }

    /// A context with explicit limits.
    pub fn with_limits(
        limits: ReceiverLimits,
        traces: Arc<Ring>,
        metrics: Arc<Ring>,
        logs: Arc<Ring>,
    ) -> Self {
        ReceiverContext {
            rings: [traces, metrics, logs],
            limits,
            shutting_down: AtomicBool::new(false),
            counters: Default::default(),
            tls: None,
        }
    }

    /// Serve both receivers over TLS with `identity` (see
    /// [`TlsIdentity::from_config`]).
    pub fn with_tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The TLS identity, when the receivers serve TLS.
    pub fn tls(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref()
    }

    /// The ring of `signal`.
    pub fn ring(&self, signal: Signal) -> &Arc<Ring> {
        &self.rings[signal_index(signal)]
    }

    /// The limits in force.
    pub fn limits(&self) -> &ReceiverLimits {
        &self.limits
    }

    /// From now on, new requests are refused (`UNAVAILABLE` / 503) and waiting ones stop
    /// waiting. Call before stopping the servers, so nothing is accepted past the drain.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// Whether [`begin_shutdown`](Self::begin_shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> ReceiverSnapshot {
        let mut out = ReceiverSnapshot::default();
        for (s, row) in self.counters.iter().enumerate() {
            for (t, c) in row.iter().enumerate() {
                let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
                out.counters[s][t] = CounterSnapshot {
                    requests: load(&c.requests),
                    requests_refused: load(&c.requests_refused),
                    requests_invalid: load(&c.requests_invalid),
                    items_received: load(&c.items_received),
                    items_accepted: load(&c.items_accepted),
                    items_refused: load(&c.items_refused),
                    items_rejected: load(&c.items_rejected),
                    bytes_received: load(&c.bytes_received),
                };
            }
        }
        out
    }

    fn counters(&self, signal: Signal, transport: Transport) -> &Counters {
        &self.counters[signal_index(signal)][transport.index()]
    }

    /// Counts `n` request body bytes received (as sent, before decompression).
    pub fn count_bytes(&self, signal: Signal, transport: Transport, n: usize) {
        self.counters(signal, transport)
            .bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a request refused before ingest as malformed (bad JSON, bad gzip, too large).
    pub fn count_invalid(&self, signal: Signal, transport: Transport) {
        let c = self.counters(signal, transport);
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.requests_invalid.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused before ingest for overload or shutdown.
    pub fn count_refused(&self, signal: Signal, transport: Transport) {
        let c = self.counters(signal, transport);
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.requests_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Ingests one request into the ring of `signal` (synchronously: may sleep up to
    /// `wait_for_room`), refusing it when shutting down, and counts the outcome.
    ///
    /// # Errors
    /// As [`ingest`]; [`IngestError::ShuttingDown`] after [`begin_shutdown`](Self::begin_shutdown).
    pub fn ingest(
        &self,
        signal: Signal,
        transport: Transport,
        request: &[u8],
    ) -> Result<Accepted, IngestError> {
        let c = self.counters(signal, transport);
        c.requests.fetch_add(1, Ordering::Relaxed);
        let result = if self.is_shutting_down() {
            Err(IngestError::ShuttingDown)
        } else {
            let opts = IngestOptions {
                wait: self.limits.wait_for_room,
                retry_after: self.limits.retry_after,
                cancel: Some(&self.shutting_down),
            };
            ingest(signal, request, self.ring(signal), &opts)
        };
        let add = |a: &AtomicU64, n: u64| {
            if n > 0 {
                a.fetch_add(n, Ordering::Relaxed);
            }
        };
        match &result {
            Ok(accepted) => {
                add(&c.items_received, accepted.items + accepted.rejected_items);
                add(&c.items_accepted, accepted.items);
                add(&c.items_rejected, accepted.rejected_items);
            }
            Err(IngestError::Invalid(_)) => add(&c.requests_invalid, 1),
            Err(IngestError::ItemsTooLarge { items, .. }) => {
                add(&c.requests_invalid, 1);
                add(&c.items_received, *items);
                add(&c.items_rejected, *items);
            }
            Err(e @ (IngestError::Full { .. } | IngestError::RequestTooLarge { .. })) => {
                add(&c.requests_refused, 1);
                add(&c.items_received, e.items());
                add(&c.items_refused, e.items());
            }
            Err(IngestError::ShuttingDown | IngestError::Ring(_)) => add(&c.requests_refused, 1),
        }
        result
    }

    /// [`ingest`](Self::ingest) from async code: inline when requests never wait for room,
    /// on tokio's blocking pool otherwise (so a waiting request never stalls a runtime
    /// thread).
    pub async fn ingest_async(
        self: &Arc<Self>,
        signal: Signal,
        transport: Transport,
        request: bytes::Bytes,
    ) -> Result<Accepted, IngestError> {
        if self.limits.wait_for_room.is_zero() {
            return self.ingest(signal, transport, &request);
        }
        let ctx = Arc::clone(self);
        tokio::task::spawn_blocking(move || ctx.ingest(signal, transport, &request))
            .await
            .unwrap_or(Err(IngestError::ShuttingDown))
    }
}
