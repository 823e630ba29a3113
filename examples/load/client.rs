//! The load generator: N connections, each sending one pre-encoded request at a time (closed
//! loop), over OTLP/gRPC (tonic client, raw-bytes codec: the body is sent as encoded) or
//! OTLP/HTTP protobuf (hyper HTTP/1.1 client, keep-alive).
//!
//! Each attempt ends in one of three outcomes: accepted (OK / 200, with the partial-success
//! rejected count read from the response), refused for overload (`RESOURCE_EXHAUSTED` with
//! `RetryInfo`, `UNAVAILABLE`, HTTP 429 / 503: retried with the same body after
//! `retry_delay`, so nothing is sent twice into the store), or failed (anything else: counted,
//! the connection stops). Latencies are those of accepted attempts, measured from the send to
//! the end of the response body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_arrow::otlp::Transport;
use otlp_arrow::signal::Signal;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_types::StatusExt;

use crate::requests::Requests;

/// A tonic trace-service client connected to `addr` (plain HTTP/2), errors as text.
pub(crate) async fn trace_client(
    addr: SocketAddr,
) -> Result<TraceServiceClient<tonic::transport::Channel>, String> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(TraceServiceClient::new(channel))
}

/// The gRPC method path of `signal`'s `Export`.
pub(crate) fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// The OTLP/HTTP path of `signal`.
pub(crate) fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
    }
}

/// How long a load runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// `warmup` (sent, counted as accepted, not measured), then `measure`.
    Time {
        /// Not measured.
        warmup: Duration,
        /// Measured.
        measure: Duration,
    },
    /// This many accepted requests in all, every one measured.
    Count(u64),
}

/// One load: where, how, what.
#[derive(Debug, Clone)]
pub(crate) struct LoadSpec {
    /// The gRPC or HTTP listener, per `transport`.
    pub(crate) addr: SocketAddr,
    /// gRPC or HTTP.
    pub(crate) transport: Transport,
    /// Concurrent connections, one request in flight each.
    pub(crate) conns: usize,
    /// The bodies, sent round robin.
    pub(crate) requests: Arc<Requests>,
    /// Duration or count.
    pub(crate) limit: Limit,
    /// Wait before resending a refused request.
    pub(crate) retry_delay: Duration,
}

/// What a load did.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadReport {
    /// Requests accepted (warm-up included).
    pub(crate) accepted_requests: u64,
    /// Items in accepted requests minus the ones reported rejected (warm-up included): what
    /// the server said it took.
    pub(crate) accepted_items: u64,
    /// Items the server reported rejected (partial success).
    pub(crate) rejected_items: u64,
    /// Attempts refused for overload (each was retried or abandoned at the end).
    pub(crate) refused: u64,
    /// Attempts that failed otherwise.
    pub(crate) errors: u64,
    /// The first failure's text.
    pub(crate) first_error: Option<String>,
    /// Length of the measured window.
    pub(crate) window: Duration,
    /// Items accepted in the measured window.
    pub(crate) window_items: u64,
    /// Latencies of accepted attempts in the window, sorted.
    pub(crate) latencies: Vec<Duration>,
}

impl LoadReport {
    /// Items accepted per second in the measured window.
    pub(crate) fn items_per_sec(&self) -> f64 {
        self.window_items as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of the latencies (nearest rank), zero without samples.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    fn merge(&mut self, other: ConnReport) {
        self.accepted_requests += other.accepted_requests;
        self.accepted_items += other.accepted_items;
        self.rejected_items += other.rejected_items;
        self.refused += other.refused;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.window_items += other.window_items;
        self.latencies.extend(other.latencies);
    }
}

#[derive(Debug, Default)]
struct ConnReport {
    accepted_requests: u64,
    accepted_items: u64,
    rejected_items: u64,
    refused: u64,
    errors: u64,
    first_error: Option<String>,
    window_items: u64,
    latencies: Vec<Duration>,
}

enum Outcome {
    Accepted { rejected: u64 },
    Refused,
    Failed(String),
}

/// When the connections stop, shared by all of them.
struct Plan {
    start: Instant,
    window_start: Instant,
    end: Option<Instant>,
    tickets: Option<(AtomicU64, u64)>,
}

impl Plan {
    fn new(limit: Limit) -> Plan {
        let start = Instant::now();
        match limit {
            Limit::Time { warmup, measure } => Plan {
                start,
                window_start: start + warmup,
                end: Some(start + warmup + measure),
                tickets: None,
            },
            Limit::Count(n) => Plan {
                start,
                window_start: start,
                end: None,
                tickets: Some((AtomicU64::new(0), n)),
            },
        }
    }

    /// Whether another request may be started; takes a ticket in count mode.
    fn next(&self) -> bool {
        if let Some(end) = self.end {
            return Instant::now() < end;
        }
        let (taken, n) = self.tickets.as_ref().expect("count mode");
        taken.fetch_add(1, Ordering::Relaxed) < *n
    }

    /// Whether a refused request is still worth retrying.
    fn retry_allowed(&self) -> bool {
        // In count mode every ticket must end accepted (bounded by the overall timeout of the
        // caller); in time mode, retries stop with the run.
        self.end.is_none_or(|end| Instant::now() < end)
    }
}

/// Runs the load to its end. Call inside a tokio runtime.
pub(crate) async fn drive(spec: &LoadSpec) -> LoadReport {
    let plan = Arc::new(Plan::new(spec.limit));
    let mut tasks = Vec::with_capacity(spec.conns);
    for conn in 0..spec.conns.max(1) {
        let spec = spec.clone();
        let plan = Arc::clone(&plan);
        tasks.push(tokio::spawn(
            async move { connection(conn, &spec, &plan).await },
        ));
    }
    let mut report = LoadReport::default();
    for task in tasks {
        match task.await {
            Ok(r) => report.merge(r),
            Err(e) => {
                report.errors += 1;
                report
                    .first_error
                    .get_or_insert(format!("connection task: {e}"));
            }
        }
    }
    report.window = match plan.end {
        Some(end) => end.saturating_duration_since(plan.window_start),
        None => plan.start.elapsed(),
    };
    report.latencies.sort_unstable();
    report
}

async fn connection(conn: usize, spec: &LoadSpec, plan: &Plan) -> ConnReport {
    let mut report = ConnReport::default();
    let mut sender = match Sender::connect(spec).await {
        Ok(s) => s,
        Err(e) => {
            report.errors += 1;
            report.first_error = Some(e);
            return report;
        }
    };
    let bodies = &spec.requests.bodies;
    let items = spec.requests.items_per_request;
    let mut next = conn % bodies.len();
    while plan.next() {
        let body = &bodies[next];
        next = (next + spec.conns.max(1)) % bodies.len();
        loop {
            let sent = Instant::now();
            match sender.send(body.clone()).await {
                Outcome::Accepted { rejected } => {
                    let done = Instant::now();
                    let took = rejected.min(items);
                    report.accepted_requests += 1;
                    report.accepted_items += items - took;
                    report.rejected_items += took;
                    if done >= plan.window_start && plan.end.is_none_or(|end| done <= end) {
                        report.window_items += items - took;
                        report.latencies.push(done - sent);
                    }
                    break;
                }
                Outcome::Refused => {
                    report.refused += 1;
                    if !plan.retry_allowed() {
                        break;
                    }
                    tokio::time::sleep(spec.retry_delay).await;
                }
                Outcome::Failed(e) => {
                    report.errors += 1;
                    report.first_error.get_or_insert(e);
                    return report;
                }
            }
        }
    }
    report
}

/// One connection's client.
enum Sender {
    Grpc {
        client: tonic::client::Grpc<tonic::transport::Channel>,
        path: http::uri::PathAndQuery,
    },
    Http {
        sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
        uri: http::Uri,
    },
}

impl Sender {
    async fn connect(spec: &LoadSpec) -> Result<Sender, String> {
        let signal = spec.requests.signal;
        match spec.transport {
            Transport::Grpc => {
                let channel =
                    tonic::transport::Endpoint::from_shared(format!("http://{}", spec.addr))
                        .map_err(|e| e.to_string())?
                        .tcp_nodelay(true)
                        .connect()
                        .await
                        .map_err(|e| format!("connecting gRPC to {}: {e}", spec.addr))?;
                Ok(Sender::Grpc {
                    client: tonic::client::Grpc::new(channel),
                    path: http::uri::PathAndQuery::from_static(grpc_path(signal)),
                })
            }
            Transport::Http => {
                let stream = tokio::net::TcpStream::connect(spec.addr)
                    .await
                    .map_err(|e| format!("connecting HTTP to {}: {e}", spec.addr))?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| format!("HTTP handshake: {e}"))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let uri = format!("http://{}{}", spec.addr, http_path(signal))
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                Ok(Sender::Http { sender, uri })
            }
        }
    }

    async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Sender::Grpc { client, path } => {
                if let Err(e) = client.ready().await {
                    return Outcome::Failed(format!("gRPC channel: {e}"));
                }
                let result = client
                    .unary(tonic::Request::new(body), path.clone(), RawCodec)
                    .await;
                match result {
                    Ok(response) => Outcome::Accepted {
                        rejected: response.into_inner(),
                    },
                    Err(status) => match status.code() {
                        tonic::Code::ResourceExhausted
                            if status.get_details_retry_info().is_some() =>
                        {
                            Outcome::Refused
                        }
                        tonic::Code::Unavailable => Outcome::Refused,
                        code => Outcome::Failed(format!("gRPC {code:?}: {}", status.message())),
                    },
                }
            }
            Sender::Http { sender, uri } => {
                if let Err(e) = sender.ready().await {
                    return Outcome::Failed(format!("HTTP connection: {e}"));
                }
                let request = http::Request::post(uri.clone())
                    .header(http::header::HOST, "127.0.0.1")
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(Full::new(body));
                let request = match request {
                    Ok(r) => r,
                    Err(e) => return Outcome::Failed(e.to_string()),
                };
                let response = match sender.send_request(request).await {
                    Ok(r) => r,
                    Err(e) => return Outcome::Failed(format!("HTTP request: {e}")),
                };
                let status = response.status();
                let body = match response.into_body().collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) => return Outcome::Failed(format!("HTTP body: {e}")),
                };
                match status.as_u16() {
                    200 => match rejected_in(body) {
                        Ok(rejected) => Outcome::Accepted { rejected },
                        Err(e) => Outcome::Failed(e),
                    },
                    429 | 503 => Outcome::Refused,
                    _ => Outcome::Failed(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                    )),
                }
            }
        }
    }
}

/// The partial-success rejected count of an `Export*ServiceResponse` (field 1 / field 1 in
/// all three signals, so the trace message decodes any of them).
fn rejected_in(body: Bytes) -> Result<u64, String> {
    let response = ExportTraceServiceResponse::decode(body).map_err(|e| e.to_string())?;
    Ok(response
        .partial_success
        .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0)))
}

/// Sends `Bytes` as the request message as they are; decodes the rejected count of the
/// response.
#[derive(Debug, Default, Clone, Copy)]
struct RawCodec;
#[derive(Debug)]
struct RawEncoder;
#[derive(Debug)]
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = u64;
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
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = u64;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<u64>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        rejected_in(bytes)
            .map(Some)
            .map_err(tonic::Status::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let report = LoadReport {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..LoadReport::default()
        };
        assert_eq!(report.quantile(0.5), Duration::from_millis(50));
        assert_eq!(report.quantile(0.99), Duration::from_millis(99));
        assert_eq!(report.quantile(1.0), Duration::from_millis(100));
        assert_eq!(LoadReport::default().quantile(0.5), Duration::ZERO);
    }
}
