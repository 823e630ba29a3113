//! Two `otlp-arrow serve` processes, the first forwarding to the second over OTLP/gRPC on
//! loopback: everything sent to the first (all three signals, gRPC client) is stored by the
//! second; and a forwarding service SIGKILLed in the middle of catching up from its files,
//! then restarted on the same output directory: nothing is lost and the duplicates stay within
//! the in-flight bound.
//!
//! Addresses are read from the startup lines; progress is polled on `/metrics` with a deadline
//! (no sleeps as synchronisation).

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
use bin::{PATIENCE, Running, TempDir, get, serve_in};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

/// The value of one sample line of a Prometheus page (0 when the series is absent).
fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.parse().unwrap())
}

fn rows_written(admin: SocketAddr, signal: &str) -> u64 {
    let page = get(admin, "/metrics").text();
    sample(
        &page,
        &format!("otlp_arrow_storage_rows_written_total{{signal=\"{signal}\"}}"),
    )
}

/// The value of the first sample of `family` whose labels contain every one of `labels`
/// (0 when there is none).
fn labelled(page: &str, family: &str, labels: &[&str]) -> u64 {
    page.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |v| v.parse().unwrap())
}

/// Polls (bounded) until `cond` holds.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `n` spans with ids `first..first + n` (span id = index + 1), `per` per request.
fn span_requests(first: u64, n: u64, per: u64) -> Vec<ExportTraceServiceRequest> {
    (first..first + n)
        .step_by(per as usize)
        .map(|start| ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![common::kv("service.name", "fwd-test")],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(common::scope(0)),
                    spans: (start..(start + per).min(first + n))
                        .map(|i| common::span(i, 8))
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        })
        .collect()
}

fn send_traces(grpc: SocketAddr, requests: &[ExportTraceServiceRequest]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = TraceServiceClient::new(channel);
        for r in requests {
            client.export(r.clone()).await.unwrap();
        }
    });
}

/// How often each span id (index) is stored in the finalized traces files under `data`.
fn stored_span_counts(data: &Path) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for b in bin::batches(&data.join("traces")) {
        let col = b.column_by_name("span_id").unwrap().as_fixed_size_binary();
        for i in 0..col.len() {
            let id = u64::from_be_bytes(col.value(i).try_into().unwrap()) - 1;
            *m.entry(id).or_default() += 1;
        }
    }
    m
}

fn stop_ok(s: Running) {
    let (status, log) = s.stop("TERM");
    assert_eq!(status.code(), Some(0), "{log:#?}");
}

#[test]
fn everything_sent_to_the_first_service_is_stored_by_the_second() {
    let up_dir = TempDir::new("fwd-upstream");
    let upstream = serve_in(up_dir.path(), &[]);
    let dir = TempDir::new("fwd-first");
    let url = format!("http://{}", upstream.grpc);
    let first = serve_in(dir.path(), &["--forward-endpoint", &url]);

    let traces = span_requests(0, 2000, 100);
    send_traces(first.grpc, &traces);
    let metrics = common::metrics(2, 2, 5, 0);
    let logs = common::logs(2, 2, 5, 16);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", first.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
        MetricsServiceClient::new(channel.clone())
            .export(metrics.clone())
            .await
            .unwrap();
        LogsServiceClient::new(channel)
            .export(logs.clone())
            .await
            .unwrap();
    });
    let points: u64 = metrics
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(common::points)
        .sum();
    eventually("the upstream stores every item", || {
        rows_written(upstream.admin, "traces") >= 2000
            && rows_written(upstream.admin, "metrics") >= points
            && rows_written(upstream.admin, "logs") >= 20
    });
    // The forwarder's counters on the first service's /metrics.
    let page = get(first.admin, "/metrics").text();
    let acked = |signal: &str| {
        labelled(
            &page,
            "otlp_arrow_forward_signal_items_acked_total",
            &[&format!("signal=\"{signal}\""), "path=\"all\""],
        )
    };
    assert_eq!(acked("traces"), 2000, "{page}");
    assert_eq!(acked("logs"), 20, "{page}");
    // Requests and items by path: every span went in some request, none is empty.
    let by_path = |family: &str, path: &str| {
        labelled(
            &page,
            family,
            &["signal=\"traces\"", &format!("path=\"{path}\"")],
        )
    };
    let requests = by_path("otlp_arrow_forward_signal_requests_total", "live")
        + by_path("otlp_arrow_forward_signal_requests_total", "catchup");
    let sent = by_path("otlp_arrow_forward_signal_items_sent_total", "live")
        + by_path("otlp_arrow_forward_signal_items_sent_total", "catchup");
    assert!(sent >= 2000 && (1..=sent).contains(&requests), "{page}");
    assert!(page.contains("otlp_arrow_forward_breaker_state"), "{page}");

    stop_ok(first);
    stop_ok(upstream);
    let up_data = up_dir.path().join("data");
    let counts = stored_span_counts(&up_data);
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (0..2000).collect::<Vec<_>>()
    );
    assert!(
        counts.values().all(|&n| n == 1),
        "no duplicates without failures"
    );
    // The same rows, column for column, as the first service stored.
    let mine = stored_span_counts(&dir.path().join("data"));
    assert_eq!(mine, counts);
    assert_eq!(
        bin::rows(&bin::batches(&up_data.join("logs"))),
        bin::rows(&bin::batches(&dir.path().join("data/logs")))
    );
    assert_eq!(
        bin::rows(&bin::batches(&up_data.join("metrics"))) as u64,
        points
    );
}

const MAX_ITEMS: u64 = 100;
const MAX_IN_FLIGHT: u64 = 2;

fn forward_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("forward.toml");
    std::fs::write(
        &path,
        format!(
            "[[forward.endpoints]]\nurl = \"{url}\"\nsignals = [\"traces\"]\n\
             max_request_items = {MAX_ITEMS}\nmax_in_flight = {MAX_IN_FLIGHT}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_service_killed_mid_catch_up_resumes_and_loses_nothing() {
    const TOTAL: u64 = 40_000;
    let dir = TempDir::new("fwd-kill");
    // 1. A service without forwarding stores TOTAL spans.
    let s = serve_in(dir.path(), &[]);
    send_traces(s.grpc, &span_requests(0, TOTAL, 500));
    stop_ok(s);

    // 2. The same directory, now forwarding: catch-up from the files starts at once.
    let up_dir = TempDir::new("fwd-kill-upstream");
    let upstream = serve_in(up_dir.path(), &[]);
    let url = format!("http://{}", upstream.grpc);
    let config = forward_config(dir.path(), &url);
    let config = config.to_str().unwrap();
    let s = serve_in(dir.path(), &["--config", config]);
    eventually("catch-up has started", || {
        let page = get(s.admin, "/metrics").text();
        labelled(
            &page,
            "otlp_arrow_forward_signal_items_acked_total",
            &["path=\"catchup\""],
        ) > 0
    });
    // SIGKILL: no shutdown, cursor file as last replaced.
    let mut s = s;
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let at_kill = rows_written(upstream.admin, "traces");
    println!("upstream rows when killed: {at_kill} of {TOTAL}");

    // 3. Restarted: it resumes at the persisted cursor.
    let s = serve_in(dir.path(), &["--config", config]);
    eventually("the upstream has every span", || {
        rows_written(upstream.admin, "traces") >= TOTAL
    });
    let page = get(s.admin, "/metrics").text();
    let cursor = labelled(
        &page,
        "otlp_arrow_forward_signal_cursor",
        &["signal=\"traces\""],
    );
    stop_ok(s);
    stop_ok(upstream);
    let counts = stored_span_counts(&up_dir.path().join("data"));
    assert_eq!(counts.len() as u64, TOTAL, "nothing lost");
    assert_eq!(*counts.keys().last().unwrap(), TOTAL - 1);
    let duplicates: u64 = counts.values().map(|&n| n as u64 - 1).sum();
    println!("duplicates after the kill: {duplicates}; cursor before stop {cursor}");
    // What was in flight, or acknowledged but not yet in the cursor file (batched writes:
    // fewer than max_in_flight requests), when killed: at most 2 * max_in_flight - 1
    // requests of max_request_items.
    assert!(
        duplicates <= (2 * MAX_IN_FLIGHT - 1) * MAX_ITEMS,
        "{duplicates} duplicates"
    );
}
