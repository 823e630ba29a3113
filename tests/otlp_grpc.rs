//! `otlp::grpc`: a real tonic server on 127.0.0.1:0 and real tonic clients (opentelemetry-proto's
//! generated clients, plus a raw-bytes client for malformed requests).

mod otlp_common;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_arrow::otlp::{ReceiverContext, ReceiverLimits, Transport, serve_grpc};
use otlp_arrow::ring::Ring;
use otlp_arrow::signal::Signal;
use otlp_common::*;
use prost::Message;
use tonic::Code;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic_types::StatusExt;

const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct Server {
    ctx: Arc<ReceiverContext>,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Server {
    async fn start(limits: ReceiverLimits, ring_bytes: usize) -> Server {
        let ring = || Arc::new(Ring::with_capacity(ring_bytes).unwrap());
        Server::start_ctx(ReceiverContext::with_limits(limits, ring(), ring(), ring())).await
    }

    async fn start_ctx(ctx: ReceiverContext) -> Server {
        let ctx = Arc::new(ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if ctx.tls().is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_grpc(Arc::clone(&ctx), listener, async move {
            let _ = stopped.await;
        }));
        Server {
            ctx,
            url,
            stop: Some(stop),
            task,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

fn limits() -> ReceiverLimits {
    ReceiverLimits {
        retry_after: Duration::from_millis(1500),
        ..ReceiverLimits::default()
    }
}

/// Sends raw bytes as the request message; decodes the response as prost would.
#[derive(Debug, Default)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportTraceServiceResponse>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

async fn raw_call(
    channel: Channel,
    path: &'static str,
    body: Vec<u8>,
    gzip: bool,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    if gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(body),
        http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

fn fill(ring: &Ring) -> usize {
    let producer = ring.producer();
    let mut n = 0;
    while producer.try_write(9, &[7u8; 200]).is_ok() {
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_signal_is_accepted_and_the_ring_holds_exactly_the_items() {
    let server = Server::start(limits(), 1 << 20).await;
    let channel = server.channel().await;

    let req = traces(2, 2, 3, 10);
    let resp = TraceServiceClient::new(channel.clone())
        .export(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));

    let req = metrics(2, 1, 3, 10);
    let resp = MetricsServiceClient::new(channel.clone())
        .export(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Metrics));
    assert_eq!(
        records_metrics(&records),
        flat_metrics(&req.resource_metrics)
    );

    let req = logs(1, 2, 4, 10);
    let resp = LogsServiceClient::new(channel.clone())
        .export(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Logs));
    assert_eq!(records_logs(&records), flat_logs(&req.resource_logs));

    let snap = server.ctx.snapshot();
    let t = snap.get(Signal::Traces, Transport::Grpc);
    assert_eq!(
        (t.requests, t.items_accepted, t.items_received),
        (1, 12, 12)
    );
    assert!(t.bytes_received >= req.encoded_len() as u64 / 4);
    assert_eq!(snap.get(Signal::Logs, Transport::Grpc).items_accepted, 8);
    assert_eq!(snap.get(Signal::Logs, Transport::Http).requests, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_requests_are_accepted() {
    let server = Server::start(limits(), 1 << 20).await;
    let req = traces(2, 1, 20, 200);
    let mut client = TraceServiceClient::new(server.channel().await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let resp = client.export(req.clone()).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Grpc);
    assert!(
        snap.bytes_received < req.encoded_len() as u64 / 2,
        "{snap:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_is_invalid_argument_with_the_scan_error() {
    let server = Server::start(limits(), 1 << 16).await;
    let err = raw_call(
        server.channel().await,
        TRACE_EXPORT,
        vec![0x0a, 0x05, 0x00],
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .contains("at byte 1, resource_spans[0]: length 5 runs past the end"),
        "{}",
        err.message()
    );
    assert!(drain(server.ctx.ring(Signal::Traces)).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_success_reports_rejected_spans() {
    let server = Server::start(limits(), 1 << 16).await;
    let mut req = traces(1, 1, 4, 0);
    req.resource_spans[0].scope_spans[0].spans[1].trace_id = vec![3; 15];
    req.resource_spans[0].scope_spans[0].spans[3].name = "BADNAME".into();
    let mut bytes = req.encode_to_vec();
    corrupt_utf8(&mut bytes, "BADNAME");
    let resp = raw_call(server.channel().await, TRACE_EXPORT, bytes, true)
        .await
        .unwrap();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial
            .error_message
            .contains("spans[1].trace_id: expected 16 bytes, got 15"),
        "{}",
        partial.error_message
    );
    let mut expected = req.clone();
    let spans = &mut expected.resource_spans[0].scope_spans[0].spans;
    spans.remove(3);
    spans.remove(1);
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(
        records_traces(&records),
        flat_traces(&expected.resource_spans)
    );
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Grpc);
    assert_eq!((snap.items_accepted, snap.items_rejected), (2, 2));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_messages_are_resource_exhausted_naming_the_limit() {
    let limits = ReceiverLimits {
        max_message_bytes: 4096,
        max_decompressed_bytes: 16384,
        ..limits()
    };
    let server = Server::start(limits, 1 << 20).await;
    let channel = server.channel().await;

    // Uncompressed, over max_message_bytes only: the body limit.
    let medium = traces(1, 1, 12, 400);
    assert!(medium.encoded_len() > 4096 && medium.encoded_len() < 16384);
    let err = TraceServiceClient::new(channel.clone())
        .export(medium)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("max_message_bytes (4096 bytes)"),
        "{}",
        err.message()
    );

    // Compressed small, inflating past max_decompressed_bytes: a gzip bomb.
    let mut bomb = traces(1, 1, 1, 0);
    bomb.resource_spans[0].scope_spans[0].spans[0].attributes[0] = kv("pad", &"a".repeat(1 << 20));
    let err = TraceServiceClient::new(channel.clone())
        .send_compressed(CompressionEncoding::Gzip)
        .export(bomb)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("16384"), "{}", err.message());
    assert!(drain(server.ctx.ring(Signal::Traces)).is_empty());
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Grpc);
    assert_eq!((snap.requests, snap.requests_invalid), (2, 2));
    server.stop().await;

    // A message over the decoding limit (max_decompressed_bytes): tonic's own length check,
    // whose OUT_OF_RANGE is rewritten.
    let limits = ReceiverLimits {
        max_message_bytes: 1 << 20,
        max_decompressed_bytes: 16384,
        ..self::limits()
    };
    let server = Server::start(limits, 1 << 20).await;
    let big = traces(1, 1, 60, 400);
    assert!(big.encoded_len() > 16384);
    let err = TraceServiceClient::new(server.channel().await)
        .export(big)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("the limit is: 16384 bytes"),
        "{}",
        err.message()
    );
    assert!(err.get_details_retry_info().is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_ring_is_resource_exhausted_with_retry_info() {
    let server = Server::start(limits(), 8192).await;
    let ring = Arc::clone(server.ctx.ring(Signal::Traces));
    let fillers = fill(&ring);
    let req = traces(1, 1, 3, 50);
    let err = TraceServiceClient::new(server.channel().await)
        .export(req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let retry = err.get_details_retry_info().expect("RetryInfo detail");
    assert_eq!(retry.retry_delay, Some(Duration::from_millis(1500)));
    assert_eq!(drain(&ring).len(), fillers);
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Grpc);
    assert_eq!((snap.requests_refused, snap.items_refused), (1, 3));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_is_unavailable() {
    let server = Server::start(limits(), 1 << 16).await;
    server.ctx.begin_shutdown();
    let err = TraceServiceClient::new(server.channel().await)
        .export(traces(1, 1, 1, 0))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(drain(server.ctx.ring(Signal::Traces)).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_are_unimplemented() {
    let server = Server::start(limits(), 1 << 16).await;
    let err = raw_call(
        server.channel().await,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Other",
        Vec::new(),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let err = raw_call(
        server.channel().await,
        "/some.Other/Export",
        Vec::new(),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    server.stop().await;
}

/// A client told to retry succeeds once a consumer thread has drained the ring: nothing lost,
/// nothing duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_drain_lands_exactly_once() {
    let server = Server::start(limits(), 8192).await;
    let ring = Arc::clone(server.ctx.ring(Signal::Traces));
    let fillers = fill(&ring);
    let req = traces(2, 1, 2, 100);
    let mut client = TraceServiceClient::new(server.channel().await);
    let mut drained = None;
    let mut refusals = 0;
    loop {
        match client.export(req.clone()).await {
            Ok(resp) => {
                assert_eq!(resp.into_inner().partial_success, None);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                assert!(status.get_details_retry_info().is_some());
                refusals += 1;
                assert!(refusals < 3, "still refused after the drain");
                // The consumer thread drains what is there (the fillers), then the retry.
                let r = Arc::clone(&ring);
                let n = tokio::task::spawn_blocking(move || drain(&r))
                    .await
                    .unwrap();
                drained = Some(n);
            }
        }
    }
    assert_eq!(refusals, 1);
    assert_eq!(drained.unwrap().len(), fillers);
    let records = drain(&ring);
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));
    server.stop().await;
}

/// With `wait_for_room`, a request meeting a full ring waits (on the blocking pool) and
/// lands once a consumer thread frees room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_room_succeeds_when_a_consumer_drains() {
    let limits = ReceiverLimits {
        wait_for_room: Duration::from_secs(30),
        ..limits()
    };
    let server = Server::start(limits, 8192).await;
    let ring = Arc::clone(server.ctx.ring(Signal::Traces));
    fill(&ring);
    let full_before = ring.stats().rejected_full;
    let r = Arc::clone(&ring);
    let consumer = std::thread::spawn(move || {
        while r.stats().rejected_full == full_before {
            std::thread::yield_now();
        }
        let mut c = r.consumer().unwrap();
        let mut seen = Vec::new();
        while !seen.iter().any(|(k, _): &(u32, Vec<u8>)| *k == 1) {
            c.read(64, |kind, payload| seen.push((kind, payload.to_vec())));
            std::thread::yield_now();
        }
        seen
    });
    let req = traces(1, 1, 3, 20);
    let resp = TraceServiceClient::new(server.channel().await)
        .export(req.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.partial_success, None);
    let seen = consumer.join().unwrap();
    let mine: Vec<_> = seen.into_iter().filter(|(k, _)| *k == 1).collect();
    assert_eq!(records_traces(&mine), flat_traces(&req.resource_spans));
    server.stop().await;
}

const CA: &[u8] = include_bytes!("data/otlp_tls/ca.pem");
const CERT: &[u8] = include_bytes!("data/otlp_tls/server.pem");
const KEY: &[u8] = include_bytes!("data/otlp_tls/server.key");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_grpc() {
    use otlp_arrow::otlp::TlsIdentity;
    use tonic::transport::{Certificate, ClientTlsConfig};
    let ring = || Arc::new(Ring::with_capacity(1 << 16).unwrap());
    let identity = TlsIdentity::from_pem(CERT, KEY).unwrap();
    let ctx = ReceiverContext::with_limits(limits(), ring(), ring(), ring()).with_tls(identity);
    let server = Server::start_ctx(ctx).await;
    assert!(server.url.starts_with("https://"));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(CA))
        .domain_name("localhost");
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let req = traces(1, 1, 3, 0);
    let resp = TraceServiceClient::new(channel)
        .export(req.clone())
        .await
        .unwrap();
    assert_eq!(resp.into_inner().partial_success, None);
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));

    // A plaintext client gets nowhere.
    let plain = Channel::from_shared(server.url.replace("https", "http"))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        assert!(TraceServiceClient::new(plain).export(req).await.is_err());
    }
    assert!(drain(server.ctx.ring(Signal::Traces)).is_empty());
    server.stop().await;
}
