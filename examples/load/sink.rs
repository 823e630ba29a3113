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
    pub(crate) fn start(grpc: TcpListener, http: TcpListener) -> std::io::Result<Sink> {
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
            let result = tonic::transport::Server::builder()
                .add_service(
                    TraceServiceServer::new(d.clone()).max_decoding_message_size(MAX_MESSAGE),
                )
                .add_service(
                    MetricsServiceServer::new(d.clone()).max_decoding_message_size(MAX_MESSAGE),
                )
                .add_service(LogsServiceServer::new(d).max_decoding_message_size(MAX_MESSAGE))
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
        let http_task = tokio::spawn(serve_http(http, discard, http_stopped));
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

async fn serve_http(listener: TcpListener, discard: Discard, mut stopped: oneshot::Receiver<()>) {
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
                async move { Ok::<_, Infallible>(handle(&discard, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    discard: &Discard,
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
