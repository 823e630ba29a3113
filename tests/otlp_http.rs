//! `otlp::http`: a real server on 127.0.0.1:0 and a tiny raw HTTP/1.1 client.

mod otlp_common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use otlp_arrow::otlp::{ReceiverContext, ReceiverLimits, Transport, serve_http};
use otlp_arrow::ring::Ring;
use otlp_arrow::signal::Signal;
use otlp_common::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

struct Server {
    ctx: Arc<ReceiverContext>,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(limits: ReceiverLimits, ring_bytes: usize) -> Server {
        let ring = || Arc::new(Ring::with_capacity(ring_bytes).unwrap());
        Server::start_ctx(ReceiverContext::with_limits(limits, ring(), ring(), ring())).await
    }

    async fn start_ctx(ctx: ReceiverContext) -> Server {
        let ctx = Arc::new(ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_http(Arc::clone(&ctx), listener, async move {
            let _ = stopped.await;
        }));
        Server {
            ctx,
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }

    async fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        self.request("POST", path, &[("content-type", content_type)], body)
            .await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, method, path, headers, body).await
    }
}

/// One `connection: close` request on `stream`, and its reply.
async fn exchange<S>(
    mut stream: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading the whole body and close.
    let _ = stream.write_all(body).await;
    let _ = stream.flush().await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    Reply::parse(&raw)
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = std::str::from_utf8(&raw[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if let Some(len) = headers.iter().find(|(n, _)| n == "content-length") {
            body.truncate(len.1.parse().unwrap());
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        assert_eq!(self.header("content-type"), Some(JSON));
        serde_json::from_slice(&self.body).unwrap()
    }

    fn rpc_status(&self) -> tonic_types::Status {
        assert_eq!(self.header("content-type"), Some(PROTOBUF));
        tonic_types::Status::decode(&self.body[..]).unwrap()
    }
}

fn limits() -> ReceiverLimits {
    ReceiverLimits {
        retry_after: Duration::from_millis(1500),
        ..ReceiverLimits::default()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_signal_is_accepted_as_protobuf() {
    let server = Server::start(limits(), 1 << 20).await;

    let req = traces(2, 2, 3, 10);
    let reply = server
        .post("/v1/traces", PROTOBUF, &req.encode_to_vec())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(PROTOBUF));
    let resp = ExportTraceServiceResponse::decode(&reply.body[..]).unwrap();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));

    let req = metrics(1, 2, 3, 10);
    let reply = server
        .post("/v1/metrics", PROTOBUF, &req.encode_to_vec())
        .await;
    assert_eq!(reply.status, 200);
    let resp = ExportMetricsServiceResponse::decode(&reply.body[..]).unwrap();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Metrics));
    assert_eq!(
        records_metrics(&records),
        flat_metrics(&req.resource_metrics)
    );

    let req = logs(2, 1, 3, 10);
    let body = req.encode_to_vec();
    let reply = server
        .post("/v1/logs", "application/x-protobuf; charset=binary", &body)
        .await;
    assert_eq!(reply.status, 200);
    let resp = ExportLogsServiceResponse::decode(&reply.body[..]).unwrap();
    assert_eq!(resp.partial_success, None);
    let records = drain(server.ctx.ring(Signal::Logs));
    assert_eq!(records_logs(&records), flat_logs(&req.resource_logs));

    let snap = server.ctx.snapshot().get(Signal::Logs, Transport::Http);
    assert_eq!((snap.requests, snap.items_accepted), (1, 6));
    assert_eq!(snap.bytes_received, body.len() as u64);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bodies_are_inflated() {
    let server = Server::start(limits(), 1 << 20).await;
    let req = traces(1, 2, 10, 300);
    let body = gzip(&req.encode_to_vec());
    let reply = server
        .request(
            "POST",
            "/v1/traces",
            &[("content-type", PROTOBUF), ("content-encoding", "gzip")],
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let records = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Http);
    assert_eq!(snap.bytes_received, body.len() as u64);
    server.stop().await;
}

/// The OTLP/JSON example of the spec's shape: hex ids, int64 as strings, enums as numbers.
const TRACE_JSON: &str = r#"{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
    "schemaUrl": "https://opentelemetry.io/schemas/1.21.0",
    "scopeSpans": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "x"}}]},
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "eee19b7ec3c1b173",
        "name": "I'm a server span",
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "kind": 2,
        "attributes": [
          {"key": "my.span.attr", "value": {"stringValue": "some value"}},
          {"key": "count", "value": {"intValue": "-42"}},
          {"key": "ratio", "value": {"doubleValue": 0.5}},
          {"key": "ok", "value": {"boolValue": true}}
        ],
        "events": [{"timeUnixNano": "1544712660500000000", "name": "ev"}],
        "status": {"code": 1, "message": "fine"},
        "unknownFieldIsIgnored": 1
      }]
    }]
  }]
}"#;

fn trace_json_as_prost() -> ExportTraceServiceRequest {
    let kv = |key: &str, value: any_value::Value| KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    };
    let s = |v: &str| any_value::Value::StringValue(v.into());
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("checkout"))],
                ..Resource::default()
            }),
            schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            scope_spans: vec![ScopeSpans {
                scope: Some(
                    opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                        name: "my.library".into(),
                        version: "1.0.0".into(),
                        attributes: vec![kv("my.scope.attribute", s("x"))],
                        dropped_attributes_count: 0,
                    },
                ),
                spans: vec![Span {
                    trace_id: vec![
                        0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33,
                        0x81, 0x3f, 0xc6, 0x0c,
                    ],
                    span_id: vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74],
                    parent_span_id: vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73],
                    name: "I'm a server span".into(),
                    start_time_unix_nano: 1_544_712_660_000_000_000,
                    end_time_unix_nano: 1_544_712_661_000_000_000,
                    kind: 2,
                    attributes: vec![
                        kv("my.span.attr", s("some value")),
                        kv("count", any_value::Value::IntValue(-42)),
                        kv("ratio", any_value::Value::DoubleValue(0.5)),
                        kv("ok", any_value::Value::BoolValue(true)),
                    ],
                    events: vec![span::Event {
                        time_unix_nano: 1_544_712_660_500_000_000,
                        name: "ev".into(),
                        ..span::Event::default()
                    }],
                    status: Some(Status {
                        message: "fine".into(),
                        code: 1,
                    }),
                    ..Span::default()
                }],
                schema_url: String::new(),
            }],
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_equals_the_same_protobuf() {
    let server = Server::start(limits(), 1 << 20).await;
    let reply = server.post("/v1/traces", JSON, TRACE_JSON.as_bytes()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json(), serde_json::json!({}));
    let from_json = drain(server.ctx.ring(Signal::Traces));

    let req = trace_json_as_prost();
    let reply = server
        .post("/v1/traces", PROTOBUF, &req.encode_to_vec())
        .await;
    assert_eq!(reply.status, 200);
    let from_protobuf = drain(server.ctx.ring(Signal::Traces));
    assert_eq!(from_json, from_protobuf);
    assert_eq!(records_traces(&from_json), flat_traces(&req.resource_spans));

    // Logs and metrics: the JSON opentelemetry-proto writes reads back to the same records.
    let req = logs(1, 1, 3, 0);
    let json = serde_json::to_vec(&req).unwrap();
    let reply = server.post("/v1/logs", JSON, &json).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        records_logs(&drain(server.ctx.ring(Signal::Logs))),
        flat_logs(&req.resource_logs)
    );
    let req = metrics(1, 1, 3, 0);
    let json = serde_json::to_vec(&req).unwrap();
    let reply = server
        .request(
            "POST",
            "/v1/metrics",
            &[("content-type", JSON), ("content-encoding", "gzip")],
            &gzip(&json),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        records_metrics(&drain(server.ctx.ring(Signal::Metrics))),
        flat_metrics(&req.resource_metrics)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_success_in_protobuf_and_json() {
    let server = Server::start(limits(), 1 << 20).await;
    let mut req = traces(1, 1, 3, 0);
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1; 9];
    let reply = server
        .post("/v1/traces", PROTOBUF, &req.encode_to_vec())
        .await;
    assert_eq!(reply.status, 200);
    let partial = ExportTraceServiceResponse::decode(&reply.body[..])
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial
            .error_message
            .contains("spans[0].span_id: expected 8 bytes, got 9")
    );
    assert_eq!(drain(server.ctx.ring(Signal::Traces)).len(), 1);

    // The same in JSON: a 2-byte trace id.
    let json = TRACE_JSON.replace("5B8EFFF798038103D269B633813FC60C", "0102");
    let reply = server.post("/v1/traces", JSON, json.as_bytes()).await;
    assert_eq!(
        reply.status, 400,
        "one span only, so nothing valid: {reply:?}"
    );
    let body = reply.json();
    assert_eq!(body["code"], 3);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("trace_id: expected 16 bytes, got 2")
    );

    let mut two = trace_json_as_prost();
    let mut bad = two.resource_spans[0].scope_spans[0].spans[0].clone();
    bad.trace_id = vec![1, 2];
    two.resource_spans[0].scope_spans[0].spans.push(bad);
    let json = serde_json::to_vec(&two).unwrap();
    let reply = server.post("/v1/traces", JSON, &json).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["partialSuccess"]["rejectedSpans"], "1");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("spans[1].trace_id")
    );
    assert_eq!(drain(server.ctx.ring(Signal::Traces)).len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_400_with_a_status() {
    let server = Server::start(limits(), 1 << 16).await;
    let reply = server
        .post("/v1/traces", PROTOBUF, &[0x0a, 0x05, 0x00])
        .await;
    assert_eq!(reply.status, 400);
    let status = reply.rpc_status();
    assert_eq!(status.code, 3);
    assert!(
        status
            .message
            .contains("at byte 1, resource_spans[0]: length 5"),
        "{}",
        status.message
    );

    let reply = server.post("/v1/logs", JSON, b"{\"resourceLogs\": [").await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("invalid OTLP/JSON")
    );

    let reply = server
        .request(
            "POST",
            "/v1/logs",
            &[("content-type", PROTOBUF), ("content-encoding", "gzip")],
            b"not gzip at all",
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.rpc_status().message.contains("gzip"));
    let snap = server.ctx.snapshot();
    assert_eq!(snap.get(Signal::Logs, Transport::Http).requests_invalid, 2);
    assert_eq!(
        snap.get(Signal::Traces, Transport::Http).requests_invalid,
        1
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_bodies_and_gzip_bombs_are_413() {
    let limits = ReceiverLimits {
        max_message_bytes: 64 << 10,
        max_decompressed_bytes: 1 << 20,
        ..limits()
    };
    let server = Server::start(limits, 1 << 20).await;
    let reply = server
        .post("/v1/traces", PROTOBUF, &vec![0u8; 100 << 10])
        .await;
    assert_eq!(reply.status, 413);
    assert!(reply.rpc_status().message.contains("65536"));

    // 64 MiB of zeros in about 64 KiB of gzip... made smaller: 16 MiB in ~16 KiB.
    let bomb = gzip(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 64 << 10);
    let reply = server
        .request(
            "POST",
            "/v1/traces",
            &[("content-type", PROTOBUF), ("content-encoding", "gzip")],
            &bomb,
        )
        .await;
    assert_eq!(reply.status, 413);
    assert!(
        reply
            .rpc_status()
            .message
            .contains("max_decompressed_bytes (1048576 bytes)")
    );
    assert!(drain(server.ctx.ring(Signal::Traces)).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_type_method_or_path() {
    let server = Server::start(limits(), 1 << 16).await;
    let reply = server.post("/v1/traces", "text/plain", b"hi").await;
    assert_eq!(reply.status, 415);
    let reply = server
        .request(
            "POST",
            "/v1/traces",
            &[("content-type", PROTOBUF), ("content-encoding", "br")],
            b"",
        )
        .await;
    assert_eq!(reply.status, 415);
    let reply = server.request("POST", "/v1/traces", &[], b"").await;
    assert_eq!(reply.status, 415);
    let reply = server.request("GET", "/v1/metrics", &[], b"").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    let reply = server.post("/v1/other", PROTOBUF, b"").await;
    assert_eq!(reply.status, 404);
    let reply = server.post("/", PROTOBUF, b"").await;
    assert_eq!(reply.status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_ring_is_429_with_retry_after_and_shutdown_is_503() {
    let server = Server::start(limits(), 8192).await;
    let ring = Arc::clone(server.ctx.ring(Signal::Traces));
    let producer = ring.producer();
    let mut fillers = 0;
    while producer.try_write(9, &[7u8; 200]).is_ok() {
        fillers += 1;
    }
    let req = traces(1, 1, 2, 50).encode_to_vec();
    let reply = server.post("/v1/traces", PROTOBUF, &req).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("2"), "1.5 s rounds up");
    assert_eq!(reply.rpc_status().code, 8);
    let reply = server.post("/v1/traces", JSON, TRACE_JSON.as_bytes()).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["code"], 8);
    assert_eq!(drain(&ring).len(), fillers);

    // A client told to retry, after the consumer drained: lands exactly once.
    let reply = server.post("/v1/traces", PROTOBUF, &req).await;
    assert_eq!(reply.status, 200);
    let records = drain(&ring);
    let expected = traces(1, 1, 2, 50);
    assert_eq!(
        records_traces(&records),
        flat_traces(&expected.resource_spans)
    );
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Http);
    assert_eq!(
        (snap.requests, snap.requests_refused, snap.items_refused),
        (3, 2, 3)
    );

    server.ctx.begin_shutdown();
    let reply = server.post("/v1/traces", PROTOBUF, &req).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.rpc_status().code, 14);
    assert!(drain(&ring).is_empty());
    let snap = server.ctx.snapshot().get(Signal::Traces, Transport::Http);
    assert_eq!((snap.requests, snap.requests_refused), (4, 3));
    server.stop().await;
}

/// With `wait_for_room`, a request meeting a full ring waits and lands once a consumer
/// thread frees room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_room_succeeds_when_a_consumer_drains() {
    let limits = ReceiverLimits {
        wait_for_room: Duration::from_secs(30),
        ..limits()
    };
    let server = Server::start(limits, 8192).await;
    let ring = Arc::clone(server.ctx.ring(Signal::Logs));
    let producer = ring.producer();
    while producer.try_write(9, &[7u8; 200]).is_ok() {}
    let full_before = ring.stats().rejected_full;
    let r = Arc::clone(&ring);
    let consumer = std::thread::spawn(move || {
        while r.stats().rejected_full == full_before {
            std::thread::yield_now();
        }
        let mut c = r.consumer().unwrap();
        let mut seen = Vec::new();
        while !seen
            .iter()
            .any(|(k, _): &(u32, Vec<u8>)| *k == Signal::Logs.record_kind())
        {
            c.read(64, |kind, payload| seen.push((kind, payload.to_vec())));
            std::thread::yield_now();
        }
        seen
    });
    let req = logs(1, 1, 3, 10);
    let reply = server
        .post("/v1/logs", PROTOBUF, &req.encode_to_vec())
        .await;
    assert_eq!(reply.status, 200);
    let seen = consumer.join().unwrap();
    let mine: Vec<_> = seen
        .into_iter()
        .filter(|(k, _)| *k == Signal::Logs.record_kind())
        .collect();
    assert_eq!(records_logs(&mine), flat_logs(&req.resource_logs));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_keep_alive_connections_to_go_idle() {
    let server = Server::start(limits(), 1 << 16).await;
    // A keep-alive connection that has finished one request stays open.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = traces(1, 1, 1, 0).encode_to_vec();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: t\r\ncontent-type: {PROTOBUF}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut buf = [0u8; 12];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    // Graceful shutdown closes the idle connection and returns.
    server.stop().await;
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
}

const CA: &[u8] = include_bytes!("data/otlp_tls/ca.pem");
const CERT: &[u8] = include_bytes!("data/otlp_tls/server.pem");
const KEY: &[u8] = include_bytes!("data/otlp_tls/server.key");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_http() {
    use otlp_arrow::otlp::TlsIdentity;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let ring = || Arc::new(Ring::with_capacity(1 << 16).unwrap());
    let identity = TlsIdentity::from_pem(CERT, KEY).unwrap();
    let ctx = ReceiverContext::with_limits(limits(), ring(), ring(), ring()).with_tls(identity);
    let server = Server::start_ctx(ctx).await;

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let req = logs(1, 1, 2, 0);
    let body = req.encode_to_vec();
    let reply = exchange(
        tls,
        "POST",
        "/v1/logs",
        &[("content-type", PROTOBUF)],
        &body,
    )
    .await;
    assert_eq!(reply.status, 200);
    let records = drain(server.ctx.ring(Signal::Logs));
    assert_eq!(records_logs(&records), flat_logs(&req.resource_logs));

    // Plain HTTP to the TLS port gets no HTTP answer, and nothing lands.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head =
        "POST /v1/logs HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw).await;
    assert!(!raw.starts_with(b"HTTP/1.1"));
    assert!(drain(server.ctx.ring(Signal::Logs)).is_empty());
    server.stop().await;
}

#[test]
fn tls_identity_errors_name_the_problem() {
    use otlp_arrow::config::ServerTlsConfig;
    use otlp_arrow::otlp::{TlsError, TlsIdentity};
    let none = TlsIdentity::from_config(&ServerTlsConfig::default()).unwrap();
    assert!(none.is_none());
    let half = ServerTlsConfig {
        cert_path: Some("/nonexistent/cert.pem".into()),
        key_path: None,
    };
    assert!(matches!(
        TlsIdentity::from_config(&half),
        Err(TlsError::Incomplete)
    ));
    let missing = ServerTlsConfig {
        cert_path: Some("/nonexistent/cert.pem".into()),
        key_path: Some("/nonexistent/key.pem".into()),
    };
    let err = TlsIdentity::from_config(&missing).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    assert!(matches!(
        TlsIdentity::from_pem(KEY, KEY),
        Err(TlsError::NoCertificate)
    ));
    assert!(TlsIdentity::from_pem(CERT, CERT).is_err());
    // The key never shows in Debug.
    let shown = format!("{:?}", TlsIdentity::from_pem(CERT, KEY).unwrap());
    assert!(
        !shown.contains("PRIVATE") && !shown.contains("key_pem"),
        "{shown}"
    );
}
