//! The floor: an OTLP server that decodes every request with prost into opentelemetry-proto
//! structs and throws it away, answering success. Any receiver that decodes requests does at
//! least this much work per request, so its throughput is the bar the real receiver is held
//! against.
//!
//! gRPC is opentelemetry-proto's generated tonic server (tonic's prost codec decodes the
//! message); HTTP is a hyper HTTP/1.1 server that reads the body and calls
//! `Export*ServiceRequest::decode`. Both run on a default multi-thread tokio runtime, as the
//! service does. The only extra work is counting the decoded items (a few additions per
//! request), which the smoke test and the run mode check.
//!
//! [`SinkMode::Discard`] does not decode: it takes the raw request bytes (tonic's gRPC
//! framing and gzip only, through a bytes codec) and counts their items with the crate's wire
//! scanner (`otlp_arrow::wire::scan::scan`, which also validates them, ~9x cheaper than prost's
//! decode: `docs/BENCHMARKS.md`, "Request scanner"). It is the upstream for measuring a
//! sender rather than its upstream; a request the scanner refuses is answered
//! `INVALID_ARGUMENT` (HTTP 400) and not counted. With `SINK_TRACE` set in its environment
//! it prints each gRPC request's size, resources and items.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric;
use otlp_arrow::signal::Signal;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

/// Same limit as the service's default `receiver.max_message_bytes` (and tonic's default).
const MAX_MESSAGE: usize = 4 << 20;

fn spans(r: &ExportTraceServiceRequest) -> u64 {
    r.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

fn points(r: &ExportMetricsServiceRequest) -> u64 {
    r.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(metric::Data::Gauge(g)) => g.data_points.len(),
            Some(metric::Data::Sum(s)) => s.data_points.len(),
            Some(metric::Data::Histogram(h)) => h.data_points.len(),
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(metric::Data::Summary(s)) => s.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

fn records(r: &ExportLogsServiceRequest) -> u64 {
    r.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len() as u64)
        .sum()
}

#[derive(Debug, Clone)]
struct Discard {
    items: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Discard {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.items
            .fetch_add(spans(request.get_ref()), Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Discard {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.items
            .fetch_add(points(request.get_ref()), Ordering::Relaxed);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Discard {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.items
            .fetch_add(records(request.get_ref()), Ordering::Relaxed);
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

/// What the sink does with a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkMode {
    /// prost-decode it into opentelemetry-proto structs, then count.
    Decode,
    /// Count its items with the crate's wire scanner, no decode.
    Discard,
}

/// A running sink.
#[derive(Debug)]
pub(crate) struct Sink {
    /// The gRPC listener's address.
    pub(crate) grpc_addr: SocketAddr,
    /// The HTTP listener's address.
    pub(crate) http_addr: SocketAddr,
    items: Arc<AtomicU64>,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sink {
    /// Serves on the two listeners until [`Sink::stop`]. Call inside a tokio runtime.
    pub(crate) fn start(
        grpc: TcpListener,
        http: TcpListener,
        mode: SinkMode,
    ) -> std::io::Result<Sink> {
        let grpc_addr = grpc.local_addr()?;
        let http_addr = http.local_addr()?;
        let items = Arc::new(AtomicU64::new(0));
        let discard = Discard {
            items: Arc::clone(&items),
        };
        let (stop_grpc, grpc_stopped) = oneshot::channel::<()>();
        let (stop_http, http_stopped) = oneshot::channel::<()>();
        let d = discard.clone();
        let grpc_task = tokio::spawn(async move {
            let routes = match mode {
                SinkMode::Decode => tonic::service::Routes::new(
                    TraceServiceServer::new(d.clone()).max_decoding_message_size(MAX_MESSAGE),
                )
                .add_service(
                    MetricsServiceServer::new(d.clone()).max_decoding_message_size(MAX_MESSAGE),
                )
                .add_service(LogsServiceServer::new(d).max_decoding_message_size(MAX_MESSAGE)),
                SinkMode::Discard => raw::routes(&d.items),
            };
            let result = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(
                    // As `Server::serve` would (tonic's default): no Nagle delay on replies.
                    tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true)),
                    async move {
                        let _ = grpc_stopped.await;
                    },
                )
                .await;
            if let Err(e) = result {
                eprintln!("sink: gRPC server: {e}");
            }
        });
        let http_task = tokio::spawn(serve_http(http, discard, mode, http_stopped));
        Ok(Sink {
            grpc_addr,
            http_addr,
            items,
            stops: vec![stop_grpc, stop_http],
            tasks: vec![grpc_task, http_task],
        })
    }

    /// Stops both servers; returns the items decoded.
    pub(crate) async fn stop(self) -> u64 {
        for stop in self.stops {
            let _ = stop.send(());
        }
        for task in self.tasks {
            let _ = task.await;
        }
        self.items.load(Ordering::Relaxed)
    }
}

async fn serve_http(
    listener: TcpListener,
    discard: Discard,
    mode: SinkMode,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("sink: accept: {e}");
                    return;
                }
            },
            _ = &mut stopped => return,
        };
        let _ = stream.set_nodelay(true);
        let discard = discard.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let discard = discard.clone();
                async move { Ok::<_, Infallible>(handle(&discard, mode, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    discard: &Discard,
    mode: SinkMode,
    req: http::Request<hyper::body::Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(400, Bytes::from(e.to_string())),
    };
    if body.len() > MAX_MESSAGE {
        return reply(413, Bytes::from_static(b"too large"));
    }
    if mode == SinkMode::Discard {
        let (signal, response) = match path.as_str() {
            "/v1/traces" => (
                Signal::Traces,
                ExportTraceServiceResponse::default().encode_to_vec(),
            ),
            "/v1/metrics" => (
                Signal::Metrics,
                ExportMetricsServiceResponse::default().encode_to_vec(),
            ),
            "/v1/logs" => (
                Signal::Logs,
                ExportLogsServiceResponse::default().encode_to_vec(),
            ),
            _ => return reply(404, Bytes::from_static(b"not found")),
        };
        return match otlp_arrow::wire::scan::scan(signal, &body) {
            Ok(scanned) => {
                discard.items.fetch_add(scanned.items(), Ordering::Relaxed);
                reply(200, Bytes::from(response))
            }
            Err(e) => reply(400, Bytes::from(e.to_string())),
        };
    }
    let decoded = match path.as_str() {
        "/v1/traces" => ExportTraceServiceRequest::decode(body).map(|r| {
            (
                spans(&r),
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
        }),
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body).map(|r| {
            (
                points(&r),
                ExportMetricsServiceResponse::default().encode_to_vec(),
            )
        }),
        "/v1/logs" => ExportLogsServiceRequest::decode(body).map(|r| {
            (
                records(&r),
                ExportLogsServiceResponse::default().encode_to_vec(),
            )
        }),
        _ => return reply(404, Bytes::from_static(b"not found")),
    };
    match decoded {
        Ok((n, response)) => {
            discard.items.fetch_add(n, Ordering::Relaxed);
            reply(200, Bytes::from(response))
        }
        Err(e) => reply(400, Bytes::from(e.to_string())),
    }
}

fn reply(status: u16, body: Bytes) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    response
}

/// [`SinkMode::Discard`]'s gRPC services: tonic's framing and gzip, then the raw message bytes
/// to the wire scanner (the crate's receiver does the same with its own codec).
mod raw {
    use std::convert::Infallible;
    use std::future::Future;
    use std::marker::PhantomData;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    use otlp_arrow::otlp::grpc::RawCodec;
    use otlp_arrow::signal::Signal;
    use prost::Message;
    use tonic::Status;
    use tonic::codec::CompressionEncoding;
    use tonic::server::NamedService;
    use tonic::service::Routes;

    /// `SINK_TRACE` set: print every request (read once, not per request: the env lock).
    static TRACE: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("SINK_TRACE").is_some());

    /// The three services, counting into `items`.
    pub(super) fn routes(items: &Arc<AtomicU64>) -> Routes {
        Routes::new(Service::<Traces>::new(items))
            .add_service(Service::<Metrics>::new(items))
            .add_service(Service::<Logs>::new(items))
    }

    trait Kind: Send + Sync + 'static {
        const NAME: &'static str;
        const SIGNAL: Signal;
        type Response: Message + Default + Send + 'static;
    }

    struct Traces;
    struct Metrics;
    struct Logs;

    impl Kind for Traces {
        const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
        const SIGNAL: Signal = Signal::Traces;
        type Response = ExportTraceServiceResponse;
    }

    impl Kind for Metrics {
        const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
        const SIGNAL: Signal = Signal::Metrics;
        type Response = ExportMetricsServiceResponse;
    }

    impl Kind for Logs {
        const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
        const SIGNAL: Signal = Signal::Logs;
        type Response = ExportLogsServiceResponse;
    }

    struct Service<K> {
        items: Arc<AtomicU64>,
        _k: PhantomData<fn() -> K>,
    }

    impl<K> Service<K> {
        fn new(items: &Arc<AtomicU64>) -> Self {
            Service {
                items: Arc::clone(items),
                _k: PhantomData,
            }
        }
    }

    impl<K> Clone for Service<K> {
        fn clone(&self) -> Self {
            Service::new(&self.items)
        }
    }

    impl<K: Kind> NamedService for Service<K> {
        const NAME: &'static str = K::NAME;
    }

    type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

    impl<K: Kind> tower_service::Service<http::Request<tonic::body::Body>> for Service<K> {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
            let items = Arc::clone(&self.items);
            Box::pin(async move {
                if req
                    .uri()
                    .path()
                    .strip_prefix('/')
                    .and_then(|p| p.strip_prefix(K::NAME))
                    != Some("/Export")
                {
                    return Ok(Status::unimplemented("unknown method").into_http());
                }
                let mut grpc = tonic::server::Grpc::new(RawCodec::<K::Response>::default())
                    .accept_compressed(CompressionEncoding::Gzip)
                    .max_decoding_message_size(super::MAX_MESSAGE);
                Ok(grpc
                    .unary(
                        Export::<K> {
                            items,
                            _k: PhantomData,
                        },
                        req,
                    )
                    .await)
            })
        }
    }

    struct Export<K> {
        items: Arc<AtomicU64>,
        _k: PhantomData<fn() -> K>,
    }

    impl<K: Kind> tower_service::Service<tonic::Request<Bytes>> for Export<K> {
        type Response = tonic::Response<K::Response>;
        type Error = Status;
        type Future = BoxFuture<Result<Self::Response, Status>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
            let result = match otlp_arrow::wire::scan::scan(K::SIGNAL, request.get_ref()) {
                Ok(scanned) => {
                    self.items.fetch_add(scanned.items(), Ordering::Relaxed);
                    if *TRACE {
                        eprintln!(
                            "request: {} bytes, {} resources, {} items",
                            scanned.bytes().len(),
                            scanned.resources(),
                            scanned.items()
                        );
                    }
                    Ok(tonic::Response::new(K::Response::default()))
                }
                Err(e) => Err(Status::invalid_argument(e.to_string())),
            };
            Box::pin(async move { result })
        }
    }
}
