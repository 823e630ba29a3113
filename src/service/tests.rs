//! In-process tests of the service: the admin routes, readiness, the moment shutdown begins
//! (new requests refused, `/ready` 503) and the shutdown report. Every listener is on port 0.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use http::Method;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "otlp-arrow-service-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path) -> Config {
    let mut c = Config {
        output_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let any = "127.0.0.1:0".parse().unwrap();
    c.receiver.grpc_addr = any;
    c.receiver.http_addr = any;
    c.admin.addr = any;
    // Small rings: the tests send little.
    c.ring.traces = 1 << 16;
    c.ring.metrics = 1 << 16;
    c.ring.logs = 1 << 16;
    c
}

fn logs(n: usize) -> Vec<u8> {
    let records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: i as u64 + 1,
            severity_number: 9,
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("line {i}"))),
            }),
            ..LogRecord::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

/// One `connection: close` request; (status, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-type: \
         {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, "text/plain", b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_answers_health_ready_metrics_404_and_405() {
    let dir = TempDir::new("admin");
    let service = Service::start(config(&dir.0)).await.unwrap();
    let admin = service.addrs().admin.unwrap();
    assert_eq!(get(admin, "/health").await, (200, "ok\n".to_owned()));
    assert_eq!(get(admin, "/ready").await, (200, "ready\n".to_owned()));
    let (status, page) = get(admin, "/metrics").await;
    assert_eq!(status, 200);
    assert!(page.contains("# TYPE otlp_arrow_receiver_requests_total counter"));
    assert!(page.contains("otlp_arrow_ready 1"));
    assert_eq!(get(admin, "/").await.0, 404);
    assert_eq!(get(admin, "/metricsx").await.0, 404);
    assert_eq!(
        request(admin, "POST", "/health", "text/plain", b"").await.0,
        405
    );
    assert_eq!(
        request(admin, "DELETE", "/ready", "text/plain", b"")
            .await
            .0,
        405
    );
    let summary = service.shutdown().await;
    assert!(summary.is_clean());
    assert_eq!(summary.exit_code(), 0);
}

#[test]
fn routes_are_plain_functions_of_the_shared_state() {
    // `route` needs no socket: the same answers without I/O.
    let dir = TempDir::new("route");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let service = rt.block_on(Service::start(config(&dir.0))).unwrap();
    let now = Instant::now();
    let r = admin::route(&service.shared, &Method::GET, "/metrics", now);
    assert_eq!(
        r.headers().get(http::header::CONTENT_TYPE).unwrap(),
        metrics::CONTENT_TYPE
    );
    let r = admin::route(&service.shared, &Method::PUT, "/metrics", now);
    assert_eq!(r.headers().get(http::header::ALLOW).unwrap(), "GET");
    // A receiver whose task ended makes the service unready.
    service.shared.mark_stopped(Transport::Grpc);
    let problems = service.shared.problems(now);
    assert_eq!(problems, ["grpc receiver is not running"]);
    let r = admin::route(&service.shared, &Method::GET, "/ready", now);
    assert_eq!(r.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    rt.block_on(service.shutdown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_shutdown_begins_requests_are_refused_and_ready_says_why() {
    let dir = TempDir::new("begin");
    let service = Service::start(config(&dir.0)).await.unwrap();
    let addrs = service.addrs();
    let (status, _) = request(
        addrs.http.unwrap(),
        "POST",
        "/v1/logs",
        "application/x-protobuf",
        &logs(3),
    )
    .await;
    assert_eq!(status, 200);

    // Step 1 of the shutdown sequence alone, so the listeners are still up.
    service.receiver_context().begin_shutdown();
    let (status, _) = request(
        addrs.http.unwrap(),
        "POST",
        "/v1/logs",
        "application/x-protobuf",
        &logs(2),
    )
    .await;
    assert_eq!(status, 503);
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", addrs.grpc.unwrap()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = ExportLogsServiceRequest::decode(&logs(2)[..]).unwrap();
    let err = LogsServiceClient::new(channel)
        .export(request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let (status, body) = get(addrs.admin.unwrap(), "/ready").await;
    assert_eq!((status, body.as_str()), (503, "not ready: shutting down\n"));
    let (_, page) = get(addrs.admin.unwrap(), "/metrics").await;
    assert!(page.contains("otlp_arrow_ready 0"), "{page}");
    assert!(
        page.contains(
            "otlp_arrow_receiver_requests_refused_total{signal=\"logs\",transport=\"http\"} 1"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "otlp_arrow_receiver_requests_refused_total{signal=\"logs\",transport=\"grpc\"} 1"
        ),
        "{page}"
    );
    let (status, _) = get(addrs.admin.unwrap(), "/health").await;
    assert_eq!(status, 200, "alive while stopping");

    let summary = service.shutdown().await;
    assert!(summary.is_clean(), "{summary:?}");
    let logs_stats = &summary.report.signals[2].1;
    assert_eq!(logs_stats.storage.rows_written, 3, "only what was accepted");
    assert!(summary.servers_aborted.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_everything_accepted_and_finalizes_every_file() {
    let dir = TempDir::new("drain");
    let service = Service::start(config(&dir.0)).await.unwrap();
    for _ in 0..10 {
        service
            .receiver_context()
            .ingest(Signal::Logs, Transport::Grpc, &logs(7))
            .unwrap();
    }
    let summary = service.shutdown().await;
    assert_eq!(summary.lost(), 0);
    assert_eq!(summary.report.signals[2].1.storage.rows_written, 70);
    let logs_dir = dir.0.join("logs");
    let names: Vec<String> = std::fs::read_dir(&logs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n.ends_with(".arrow")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_bind_error_naming_the_key_and_nothing_starts() {
    let dir = TempDir::new("bind");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = config(&dir.0);
    c.receiver.http_addr = taken.local_addr().unwrap();
    let err = Service::start(c).await.unwrap_err();
    assert_eq!(err.exit_code(), EXIT_FAILURE);
    let text = err.to_string();
    assert!(
        text.starts_with("cannot listen on receiver.http_addr = 127.0.0.1:"),
        "{text}"
    );
    assert!(
        !dir.0.exists(),
        "storage must not start when a listener cannot bind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_listeners_are_off_in_the_startup_line() {
    let dir = TempDir::new("off");
    let mut c = config(&dir.0);
    c.receiver.grpc_enabled = false;
    c.admin.enabled = false;
    let service = Service::start(c).await.unwrap();
    let addrs = service.addrs();
    assert_eq!((addrs.grpc, addrs.admin), (None, None));
    let line = service.startup_line();
    let http = addrs.http.unwrap();
    assert_eq!(
        line,
        format!(
            "otlp-arrow {} listening grpc=off http={http} admin=off, writing {} (traces/, \
             metrics/, logs/)",
            env!("CARGO_PKG_VERSION"),
            dir.0.display()
        )
    );
    // Readiness does not ask for a receiver that is not configured.
    assert!(service.shared.problems(Instant::now()).is_empty());
    service.shutdown().await;
}

#[test]
fn the_deadline_is_split_between_servers_and_storage() {
    let d = Duration::from_secs(10);
    assert_eq!(server_grace(d), Duration::from_millis(2500));
    assert!(server_grace(d) < d);
}
