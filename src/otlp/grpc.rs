//! The OTLP/gRPC receiver (tonic): `TraceService/Export`, `MetricsService/Export` and
//! `LogsService/Export` at their standard paths.
//!
//! Request messages are **not** decoded into prost structs: a small [`Codec`] hands the raw
//! message bytes (after tonic's gRPC framing and gzip) to [`ingest`](super::ingest()), and
//! encodes only the prost response. Three marker types give each service its tonic
//! `NamedService` path; tonic's `Routes` does the routing.
//!
//! Status codes (OTLP spec):
//!
//! | outcome | status |
//! |---|---|
//! | accepted (maybe partially) | `OK`, `Export*ServiceResponse` with `partial_success` when items were rejected |
//! | malformed, nothing valid | `INVALID_ARGUMENT`, the scanner's message (offset + path) |
//! | ring full | `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail (`retry_delay` = `retry_after`): OTLP clients retry it |
//! | too large: body over `max_message_bytes`, message over `max_decompressed_bytes` (compressed or not), request larger than the ring can hold | `RESOURCE_EXHAUSTED` **without** RetryInfo (not retryable), naming the limit |
//! | shutting down | `UNAVAILABLE` |
//!
//! tonic refuses a message whose length prefix is over the decoding limit with `OUT_OF_RANGE`;
//! that status is rewritten to `RESOURCE_EXHAUSTED` (same message), which is what OTLP
//! clients expect for "too large".
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::context::{ReceiverContext, Transport};
use super::ingest::{Accepted, IngestError};
use super::response;
use crate::signal::Signal;
use crate::sync::{AtomicBool, Ordering};

/// Boxed error type of tonic's server.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The largest HTTP/2 frame the gRPC receiver accepts (`SETTINGS_MAX_FRAME_SIZE`).
const MAX_FRAME_SIZE: u32 = 256 * 1024;

/// Serves OTLP/gRPC on `listener` (over TLS when the context has a
/// [`TlsIdentity`](super::TlsIdentity)) until `shutdown` completes, then stops accepting and
/// finishes the requests in flight (graceful; bound the wait with `tokio::time::timeout`).
///
/// # Errors
/// tonic's transport error if the server fails.
pub async fn serve_grpc(
    ctx: Arc<ReceiverContext>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    // TCP_NODELAY: tonic applies its nodelay default only in `Server::serve`, not to an
    // incoming stream we hand it; without it Nagle's algorithm delays every small response
    // (measured: gRPC capped near 100k spans/s with a 45 ms p99).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // Larger HTTP/2 DATA frames than the 16 KiB default: clients split a request into frames
    // of at most this size, and each frame costs the receiving side a read, a frame header
    // and a wake-up; a typical OTLP request (tens to hundreds of KiB) then comes in one or two
    // frames. Memory is bounded as before by the flow-control windows (1 MiB per stream and
    // per connection, hyper's defaults), which cap the unread data a client may send.
    let mut server = tonic::transport::Server::builder().max_frame_size(Some(MAX_FRAME_SIZE));
    if let Some(tls) = ctx.tls() {
        server = server.tls_config(tls.tonic())?;
    }
    server
        .add_routes(routes(ctx))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// The three OTLP services as tonic [`Routes`], for callers that run their own tonic server.
pub fn routes(ctx: Arc<ReceiverContext>) -> Routes {
    Routes::new(ExportService::<TraceService>::new(Arc::clone(&ctx)))
        .add_service(ExportService::<MetricsService>::new(Arc::clone(&ctx)))
        .add_service(ExportService::<LogsService>::new(ctx))
}

/// What differs between the three services.
trait OtlpService: Send + Sync + 'static {
    const NAME: &'static str;
    const SIGNAL: Signal;
    type Response: Message + Default + Send + 'static;
    fn response(accepted: &Accepted) -> Self::Response;
}

#[derive(Debug)]
struct TraceService;
#[derive(Debug)]
struct MetricsService;
#[derive(Debug)]
struct LogsService;

impl OtlpService for TraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const SIGNAL: Signal = Signal::Traces;
    type Response = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    fn response(accepted: &Accepted) -> Self::Response {
        response::traces(accepted)
    }
}

impl OtlpService for MetricsService {
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const SIGNAL: Signal = Signal::Metrics;
    type Response =
        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
    fn response(accepted: &Accepted) -> Self::Response {
        response::metrics(accepted)
    }
}

impl OtlpService for LogsService {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const SIGNAL: Signal = Signal::Logs;
    type Response = opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    fn response(accepted: &Accepted) -> Self::Response {
        response::logs(accepted)
    }
}

/// One OTLP service: an HTTP/2 service for tonic's router.
#[derive(Debug)]
struct ExportService<S> {
    ctx: Arc<ReceiverContext>,
    _service: PhantomData<fn() -> S>,
}

impl<S> ExportService<S> {
    fn new(ctx: Arc<ReceiverContext>) -> Self {
        ExportService {
            ctx,
            _service: PhantomData,
        }
    }
}

impl<S> Clone for ExportService<S> {
    fn clone(&self) -> Self {
        ExportService::new(Arc::clone(&self.ctx))
    }
}

impl<S: OtlpService> NamedService for ExportService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S: OtlpService> tower_service::Service<http::Request<tonic::body::Body>> for ExportService<S> {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let ctx = Arc::clone(&self.ctx);
        Box::pin(async move {
            let path = req.uri().path();
            if path.strip_prefix('/').and_then(|p| p.strip_prefix(S::NAME)) != Some("/Export") {
                let status = Status::unimplemented(format!("unknown method {path}"));
                return Ok(status.into_http());
            }
            let limits = *ctx.limits();
            let body_ctx = Arc::clone(&ctx);
            let req = req.map(|body| {
                tonic::body::Body::new(LimitedBody {
                    inner: body,
                    // The gRPC frame header (flag + length) is not part of the message.
                    remaining: limits.max_message_bytes.saturating_add(5),
                    limit: limits.max_message_bytes,
                    ctx: body_ctx,
                    signal: S::SIGNAL,
                })
            });
            let mut grpc = tonic::server::Grpc::new(RawCodec::<S::Response>::default())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limits.max_decompressed_bytes);
            let reached = Arc::new(AtomicBool::new(false));
            let export = Export::<S> {
                ctx: Arc::clone(&ctx),
                reached: Arc::clone(&reached),
                _s: PhantomData,
            };
            let response = grpc.unary(export, req).await;
            // Refused by tonic before ingest (too large, bad compression): count it here.
            if !reached.load(Ordering::Relaxed) && response.headers().contains_key("grpc-status") {
                ctx.count_invalid(S::SIGNAL, Transport::Grpc);
            }
            Ok(out_of_range_to_exhausted(response))
        })
    }
}

/// Rewrites tonic's `OUT_OF_RANGE` ("decoded message length too large") to
/// `RESOURCE_EXHAUSTED`; errors before the service are "trailers-only" (status in headers).
fn out_of_range_to_exhausted(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let headers = response.headers_mut();
    if headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11")
    {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(Code::ResourceExhausted as i32),
        );
    }
    response
}

/// The unary call: raw bytes in, prost response out.
struct Export<S> {
    ctx: Arc<ReceiverContext>,
    /// Set once the request reached ingest (which counts it).
    reached: Arc<AtomicBool>,
    _s: PhantomData<fn() -> S>,
}

impl<S: OtlpService> tower_service::Service<tonic::Request<Bytes>> for Export<S> {
    type Response = tonic::Response<S::Response>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Status>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let ctx = Arc::clone(&self.ctx);
        self.reached.store(true, Ordering::Relaxed);
        Box::pin(async move {
            let bytes = request.into_inner();
            match ctx.ingest_async(S::SIGNAL, Transport::Grpc, bytes).await {
                Ok(accepted) => Ok(tonic::Response::new(S::response(&accepted))),
                Err(error) => Err(status(&error)),
            }
        })
    }
}

/// The gRPC status of a refused request.
pub(super) fn status(error: &IngestError) -> Status {
    let message = error.to_string();
    match error {
        IngestError::Invalid(_) | IngestError::ItemsTooLarge { .. } => {
            Status::invalid_argument(message)
        }
        IngestError::Full { retry_after, .. } => Status::with_error_details(
            Code::ResourceExhausted,
            message,
            ErrorDetails::with_retry_info(Some(*retry_after)),
        ),
        IngestError::RequestTooLarge { .. } => Status::resource_exhausted(message),
        IngestError::ShuttingDown => Status::unavailable(message),
        IngestError::Ring(_) => Status::internal(message),
    }
}

/// A tonic codec that hands the request message over as its raw bytes (undecoded, for the wire
/// scanner) and encodes prost responses of type `T`: the receiver's codec, public so that other
/// servers built on tonic (the load tool's sink) use the same one.
#[derive(Debug)]
pub struct RawCodec<T>(PhantomData<fn() -> T>);

impl<T> Default for RawCodec<T> {
    fn default() -> Self {
        RawCodec(PhantomData)
    }
}

impl<T: Message + Send + 'static> Codec for RawCodec<T> {
    type Encode = T;
    type Decode = Bytes;
    type Encoder = ProstEncoder<T>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> ProstEncoder<T> {
        ProstEncoder(PhantomData)
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// [`RawCodec`]'s encoder: a prost response message.
#[derive(Debug)]
pub struct ProstEncoder<T>(PhantomData<fn() -> T>);

impl<T: Message> Encoder for ProstEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }
}

/// [`RawCodec`]'s decoder: the message's bytes as they arrived.
#[derive(Debug)]
pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // Zero-copy: tonic's buffer is a `BytesMut`, split off here.
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The request body, counted (bytes received) and capped at `max_message_bytes` as sent:
/// past it the body fails with a `RESOURCE_EXHAUSTED` status that tonic returns as is.
struct LimitedBody {
    inner: tonic::body::Body,
    remaining: usize,
    limit: usize,
    ctx: Arc<ReceiverContext>,
    signal: Signal,
}

impl HttpBody for LimitedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len();
                    this.ctx.count_bytes(this.signal, Transport::Grpc, n);
                    if n > this.remaining {
                        let status = Status::resource_exhausted(format!(
                            "request larger than max_message_bytes ({} bytes)",
                            this.limit
                        ));
                        return Poll::Ready(Some(Err(Box::new(status))));
                    }
                    this.remaining -= n;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
