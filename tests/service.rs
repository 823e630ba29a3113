//! `otlp-arrow serve` as a process: OTLP over gRPC and HTTP for all three signals, the admin
//! endpoint (`/health`, `/ready`, `/metrics` counters matching what was sent), `cat` on the
//! files of a running service, and SIGTERM / SIGINT: exit 0, no `.partial` left, every row sent
//! in a finalized file.
//!
//! Every listener is on port 0; the test reads the bound addresses from the startup line (it
//! reads stderr until that line appears: no sleeps). Requests refused once shutdown has begun
//! (`UNAVAILABLE` / 503) are tested in-process (`service::tests`), where the moment shutdown
//! begins is known; from outside it would be a race with the listeners closing.

#[path = "bin_support/mod.rs"]
mod bin;
#[path = "otlp_common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use bin::{PATIENCE, Running, TempDir, get, http, otlp_arrow, serve_in, start};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

/// The value of one sample line of a Prometheus page.
fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{page}"))
        .parse()
        .unwrap()
}

/// Polls `/metrics` (a condition, not a timed wait) until `done` holds for the page.
fn wait_for_metrics(admin: SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let until = Instant::now() + PATIENCE;
    loop {
        let page = get(admin, "/metrics").text();
        if done(&page) {
            return page;
        }
        assert!(Instant::now() < until, "metrics never got there:\n{page}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Span ids in the finalized traces files.
fn stored_span_ids(data: &Path) -> Vec<Vec<u8>> {
    let mut ids: Vec<Vec<u8>> = bin::batches(&data.join("traces"))
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name("span_id").unwrap().as_fixed_size_binary();
            (0..col.len())
                .map(|i| col.value(i).to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

fn no_partial_left(data: &Path) {
    let files = bin::walk(data);
    assert!(!files.is_empty());
    for f in files {
        let name = f.to_string_lossy().into_owned();
        assert!(name.ends_with(".arrow"), "left behind: {name}");
    }
}

/// Counts of what one test sends: `[signal][transport]` items.
type Sent = BTreeMap<(&'static str, &'static str), u64>;

/// Sends all three signals over gRPC and over HTTP (protobuf, and JSON for traces).
fn send_everything(s: &Running) -> (Sent, Vec<Vec<u8>>) {
    let mut sent = Sent::new();
    let mut span_ids = Vec::new();

    let traces_grpc = common::traces(2, 1, 3, 0);
    let metrics_grpc = common::metrics(1, 1, 3, 0);
    let logs_grpc = common::logs(1, 2, 2, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", s.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
        TraceServiceClient::new(channel.clone())
            .export(traces_grpc.clone())
            .await
            .unwrap();
        MetricsServiceClient::new(channel.clone())
            .export(metrics_grpc.clone())
            .await
            .unwrap();
        LogsServiceClient::new(channel)
            .export(logs_grpc.clone())
            .await
            .unwrap();
    });
    sent.insert(("traces", "grpc"), 6);
    sent.insert(("metrics", "grpc"), points(&metrics_grpc));
    sent.insert(("logs", "grpc"), 4);
    span_ids.extend(
        common::flat_traces(&traces_grpc.resource_spans)
            .into_iter()
            .map(|t| t.4.span_id),
    );

    let traces_http = common::traces(1, 2, 2, 0);
    let traces_json = common::traces(1, 1, 1, 0);
    let metrics_http = common::metrics(2, 1, 2, 0);
    let logs_http = common::logs(2, 1, 3, 0);
    let proto = [("content-type", "application/x-protobuf")];
    for (path, body) in [
        ("/v1/traces", traces_http.encode_to_vec()),
        ("/v1/metrics", metrics_http.encode_to_vec()),
        ("/v1/logs", logs_http.encode_to_vec()),
    ] {
        let reply = http(s.http, "POST", path, &proto, &body);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    let json = serde_json::to_vec(&traces_json).unwrap();
    let reply = http(
        s.http,
        "POST",
        "/v1/traces",
        &[("content-type", "application/json")],
        &json,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    sent.insert(("traces", "http"), 4 + 1);
    sent.insert(("metrics", "http"), points(&metrics_http));
    sent.insert(("logs", "http"), 6);
    for req in [&traces_http, &traces_json] {
        span_ids.extend(
            common::flat_traces(&req.resource_spans)
                .into_iter()
                .map(|t| t.4.span_id),
        );
    }
    span_ids.sort();
    (sent, span_ids)
}

/// Data points in a metrics request.
fn points(req: &ExportMetricsServiceRequest) -> u64 {
    common::flat_metrics(&req.resource_metrics)
        .iter()
        .map(|m| common::points(&m.4))
        .sum()
}

fn total(sent: &Sent, signal: &str) -> u64 {
    sent.iter()
        .filter(|((s, _), _)| *s == signal)
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn serve_stores_what_it_receives_reports_it_and_finalizes_everything_on_sigterm() {
    let dir = TempDir::new("serve-term");
    let s = serve_in(dir.path(), &[]);
    let data = dir.path().join("data");

    let health = get(s.admin, "/health");
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let ready = get(s.admin, "/ready");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(get(s.admin, "/nope").status, 404);
    let post = http(s.admin, "POST", "/metrics", &[], b"");
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));

    let (sent, span_ids) = send_everything(&s);

    // The counters match what was sent, per signal and transport.
    let page = wait_for_metrics(s.admin, |page| {
        ["traces", "metrics", "logs"].iter().all(|sig| {
            sample(
                page,
                &format!("otlp_arrow_storage_rows_written_total{{signal=\"{sig}\"}}"),
            ) == total(&sent, sig)
        })
    });
    let metrics_ct = get(s.admin, "/metrics");
    assert_eq!(
        metrics_ct.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for ((signal, transport), n) in &sent {
        let labels = format!("{{signal=\"{signal}\",transport=\"{transport}\"}}");
        assert_eq!(
            sample(
                &page,
                &format!("otlp_arrow_receiver_items_accepted_total{labels}")
            ),
            *n
        );
        assert_eq!(
            sample(
                &page,
                &format!("otlp_arrow_receiver_items_received_total{labels}")
            ),
            *n
        );
        assert_eq!(
            sample(
                &page,
                &format!("otlp_arrow_receiver_items_refused_total{labels}")
            ),
            0
        );
        assert_eq!(
            sample(
                &page,
                &format!("otlp_arrow_receiver_items_rejected_total{labels}")
            ),
            0
        );
        assert!(
            sample(
                &page,
                &format!("otlp_arrow_receiver_bytes_received_total{labels}")
            ) > 0
        );
    }
    assert_eq!(
        sample(
            &page,
            "otlp_arrow_receiver_requests_total{signal=\"traces\",transport=\"http\"}"
        ),
        2
    );
    assert_eq!(
        sample(&page, "otlp_arrow_ring_capacity_bytes{signal=\"traces\"}"),
        16 << 20
    );
    assert_eq!(
        sample(
            &page,
            "otlp_arrow_dropped_total{signal=\"logs\",reason=\"ring_full\"}"
        ),
        0
    );
    assert!(page.contains(&format!(
        "otlp_arrow_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(sample(&page, "otlp_arrow_ready"), 1);

    // `cat` reads the files the running service is writing (still `.partial`).
    let files = bin::walk(&data);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".arrow.partial")),
        "{files:?}"
    );
    let o = otlp_arrow()
        .args(["cat", "--format", "jsonl"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all: u64 = sent.values().sum();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count() as u64,
        all
    );

    let (status, log) = s.stop("TERM");
    assert_eq!(status.code(), Some(0), "{log:#?}");
    no_partial_left(&data);
    for signal in ["traces", "metrics", "logs"] {
        let rows = bin::rows(&bin::batches(&data.join(signal))) as u64;
        assert_eq!(rows, total(&sent, signal), "{signal}");
    }
    assert_eq!(stored_span_ids(&data), span_ids);
    let summary = log
        .iter()
        .find(|l| l.contains("shutdown complete"))
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert!(
        summary.contains(&format!(
            "rows written traces={} metrics={} logs={}",
            total(&sent, "traces"),
            total(&sent, "metrics"),
            total(&sent, "logs")
        )),
        "{summary}"
    );
    assert!(
        log.iter().any(|l| l.contains("SIGTERM received")),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.contains("ERROR")), "{log:#?}");
}

#[test]
fn sigint_right_after_sending_still_writes_everything_accepted() {
    let dir = TempDir::new("serve-int");
    // JSON log lines, and a forward endpoint nobody listens on (forwarding starts; the
    // unreachable endpoint does not hold up the shutdown or lose anything locally).
    let s = serve_in(
        dir.path(),
        &[
            "--log-format",
            "json",
            "--forward-endpoint",
            "http://127.0.0.1:9/",
        ],
    );
    let data = dir.path().join("data");
    let logs = common::logs(3, 2, 5, 100);
    let reply = http(
        s.http,
        "POST",
        "/v1/logs",
        &[("content-type", "application/x-protobuf")],
        &logs.encode_to_vec(),
    );
    assert_eq!(reply.status, 200);
    // No waiting for the drain: shutdown must write what the ring holds.
    let (status, log) = s.stop("INT");
    assert_eq!(status.code(), Some(0), "{log:#?}");
    no_partial_left(&data);
    assert_eq!(bin::rows(&bin::batches(&data.join("logs"))), 30);
    for line in &log {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    assert!(
        log.iter().any(|l| l.contains("no forward cursor yet")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("SIGINT received")),
        "{log:#?}"
    );
}

#[test]
fn no_arguments_serve_with_the_default_addresses_and_directory() {
    let dir = TempDir::new("serve-defaults");
    let s = start(dir.path(), &[]);
    assert_eq!(s.grpc, "127.0.0.1:4317".parse().unwrap());
    assert_eq!(s.http, "127.0.0.1:4318".parse().unwrap());
    assert_eq!(s.admin, "127.0.0.1:13133".parse().unwrap());
    let line = s.log.last().unwrap().clone();
    assert!(
        line.contains("writing ./otlp-data (traces/, metrics/, logs/)"),
        "{line}"
    );
    assert_eq!(get(s.admin, "/health").status, 200);
    let (status, log) = s.stop("TERM");
    assert_eq!(status.code(), Some(0), "{log:#?}");
    for signal in ["traces", "metrics", "logs"] {
        assert!(dir.path().join("otlp-data").join(signal).is_dir());
    }
}

#[test]
fn a_second_service_on_the_same_output_directory_exits_1_and_the_first_keeps_running() {
    let dir = TempDir::new("serve-lock");
    let first = serve_in(dir.path(), &[]);
    let o = otlp_arrow()
        .current_dir(dir.path())
        .args(["serve", "--output-dir", "data"])
        .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(["--admin-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("in use by another otlp-arrow pipeline"),
        "{err}"
    );
    assert_eq!(get(first.admin, "/ready").status, 200);
    let (status, log) = first.stop("TERM");
    assert_eq!(status.code(), Some(0), "{log:#?}");
}
