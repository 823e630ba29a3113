//! The pipeline forwarding to a controllable upstream on loopback (`tests/forward_support`):
//! an upstream that is stopped for a while and restarted (the breaker opens and closes, the
//! rows written meanwhile come from the files, every accepted span arrives, duplicates are
//! counted and bounded), and a non-retryable answer that drops exactly the request it concerns.
//!
//! Nothing waits for a fixed time: conditions are polled with a deadline.

#[path = "arrow_support/mod.rs"]
mod arrow_support;
#[path = "forward_support/mod.rs"]
mod forward_support;
#[path = "ring_support/mod.rs"]
mod ring_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_support::TempDir;
use forward_support::{Reply, Upstream};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::arrow::schema;
use otlp_arrow::config::{Config, ForwardEndpoint, ForwardProtocol};
use otlp_arrow::otlp::forward::{BreakerEvent, BreakerState, DropReason};
use otlp_arrow::pipeline::{Pipeline, PipelineHooks};
use otlp_arrow::ring::Ring;
use otlp_arrow::signal::Signal;
use prost::Message;

const MAX_ITEMS: u32 = 50;
const MAX_IN_FLIGHT: u32 = 2;

fn config(dir: &Path, url: &str) -> Config {
    let mut c = Config {
        output_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.ring.traces = 1 << 20;
    c.storage.max_batch_rows = 100;
    c.storage.flush_interval = Duration::from_millis(20);
    c.forward.retry.initial_backoff = Duration::from_millis(10);
    c.forward.retry.max_backoff = Duration::from_millis(50);
    c.forward.retry.max_elapsed = Duration::from_millis(300);
    c.forward.breaker.failure_threshold = 2;
    c.forward.breaker.open_duration = Duration::from_millis(100);
    // Small, so that an outage overflows it and catch-up from the files is exercised.
    c.forward.queue_bytes = 64 << 10;
    let mut e = ForwardEndpoint::new(url);
    e.protocol = ForwardProtocol::Grpc;
    e.signals = vec![Signal::Traces];
    e.timeout = Duration::from_secs(2);
    e.max_request_items = MAX_ITEMS;
    e.max_in_flight = MAX_IN_FLIGHT;
    c.forward.endpoints.push(e);
    c
}

/// Writes spans `first..first + n` (span id = index + 1, big endian), 5 per record.
fn write_spans(ring: &Ring, first: u64, n: u64) {
    ring_support::write_spans(ring, first, n, 5, "fwd", &[], |_| {})
        .expect("the ring has room (the test writes little)");
}

/// Span ids (as indexes) of every trace request the upstream received, in arrival order.
fn received_ids(up: &Upstream) -> Vec<Vec<u64>> {
    up.received()
        .iter()
        .filter(|r| r.path.contains("trace"))
        .map(|r| {
            let req = ExportTraceServiceRequest::decode(&r.body[..]).unwrap();
            req.resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .map(|s| u64::from_be_bytes(s.span_id[..].try_into().unwrap()) - 1)
                .collect()
        })
        .collect()
}

/// How often each span id arrived.
fn counts(up: &Upstream) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for id in received_ids(up).concat() {
        *m.entry(id).or_default() += 1;
    }
    m
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_upstream_outage_loses_nothing_and_duplicates_stay_bounded() {
    let rt = runtime();
    let mut up = rt.block_on(Upstream::start());
    let dir = TempDir::new("outage");
    let events: Arc<Mutex<Vec<BreakerEvent>>> = Arc::default();
    let hooks = PipelineHooks {
        on_breaker: Some({
            let events = events.clone();
            Arc::new(move |e| events.lock().unwrap().push(e))
        }),
    };
    let p = Pipeline::start_with(&config(dir.path(), &up.url()), hooks).unwrap();
    let ring = p.ring(Signal::Traces).clone();

    // Healthy: live forwarding.
    write_spans(&ring, 0, 1000);
    eventually("the first 1000 spans upstream", || {
        counts(&up).len() == 1000
    });

    // Down: ingestion goes on, nothing is refused, the breaker opens.
    rt.block_on(up.stop());
    write_spans(&ring, 1000, 5000);
    eventually("the rows written while down are stored", || {
        p.stats(Signal::Traces).storage.rows_written >= 6000
    });
    eventually("the breaker opens", || {
        p.exporter_stats()[0].breaker_opened() >= 1
    });
    assert_eq!(p.stats(Signal::Traces).ring.rejected_full, 0);

    // Back: everything arrives, from the live queue and from the files.
    rt.block_on(up.restart());
    eventually("every span upstream", || counts(&up).len() == 6000);
    eventually("the cursor reaches the end", || {
        p.forward_stats()[0].cursor == 6000
    });
    let c = counts(&up);
    assert_eq!(
        c.keys().copied().collect::<Vec<_>>(),
        (0..6000).collect::<Vec<_>>()
    );
    let duplicates: usize = c.values().map(|n| n - 1).sum();
    let st = p.forward_stats()[0].clone();
    println!("duplicates: {duplicates}; stats: {st:#?}");
    // Requests in flight when the upstream went away may have been stored before the
    // connection was cut (and are sent again): at most the in-flight bound, per outage.
    assert!(
        duplicates <= (MAX_IN_FLIGHT * MAX_ITEMS) as usize,
        "{duplicates} duplicates"
    );
    assert_eq!(
        (st.items_dropped, st.rows_missing, st.rows_retention_lost),
        (0, 0, 0)
    );
    assert!(
        st.queue_overflow_rows > 0,
        "the queue overflowed during the outage"
    );
    assert!(
        st.catchup_items_accepted >= st.queue_overflow_rows,
        "{st:?}"
    );
    let ev = events.lock().unwrap().clone();
    assert!(ev.iter().any(|e| e.state == BreakerState::Open), "{ev:?}");
    assert_eq!(
        ev.last().map(|e| e.state),
        Some(BreakerState::Closed),
        "{ev:?}"
    );

    let report = p.shutdown();
    assert_eq!(report.lost(), 0);
    assert_eq!(report.forward[0].cursor, 6000);
}

#[test]
fn a_non_retryable_answer_drops_only_the_request_it_concerns() {
    let rt = runtime();
    let up = rt.block_on(Upstream::start());
    up.push(Reply::grpc(tonic::Code::InvalidArgument, "no thanks"));
    let dir = TempDir::new("drop");
    let p = Pipeline::start(&config(dir.path(), &up.url())).unwrap();
    let ring = p.ring(Signal::Traces).clone();
    write_spans(&ring, 0, 500);
    eventually("the cursor reaches the end", || {
        p.forward_stats()[0].cursor == 500
    });
    let requests = received_ids(&up);
    let refused: Vec<u64> = requests[0].clone();
    assert!(!refused.is_empty());
    let c = counts(&up);
    // Every span arrived; the refused request's spans only in that request.
    assert_eq!(c.len(), 500);
    for id in &refused {
        assert_eq!(c[id], 1, "span {id} was not resent");
    }
    let st = p.forward_stats()[0].clone();
    assert_eq!(st.items_dropped, refused.len() as u64);
    assert_eq!(st.items_accepted, 500 - refused.len() as u64);
    let ex = p.exporter_stats()[0].clone();
    assert_eq!(ex.dropped(DropReason::BadRequest), 1);
    assert_eq!(ex.dropped_total(), 1);
    assert_eq!(
        ex.dropped_items[DropReason::BadRequest.index()],
        refused.len() as u64
    );
    drop(p);
}

#[test]
fn a_restarted_pipeline_resumes_at_its_cursor() {
    let rt = runtime();
    let mut up = rt.block_on(Upstream::start());
    let dir = TempDir::new("resume");
    {
        let p = Pipeline::start(&config(dir.path(), &up.url())).unwrap();
        write_spans(p.ring(Signal::Traces), 0, 300);
        eventually("300 spans upstream", || counts(&up).len() == 300);
        // Down before the rest is written: the pipeline stops with it unsent.
        rt.block_on(up.stop());
        write_spans(p.ring(Signal::Traces), 300, 400);
        let report = p.shutdown();
        assert_eq!(report.lost(), 0);
        assert!(report.forward[0].cursor < 700);
    }
    rt.block_on(up.restart());
    let p = Pipeline::start(&config(dir.path(), &up.url())).unwrap();
    eventually("every span upstream after the restart", || {
        counts(&up).len() == 700
    });
    eventually("the cursor reaches the end", || {
        p.forward_stats()[0].cursor == 700
    });
    let duplicates: usize = counts(&up).values().map(|n| n - 1).sum();
    assert!(
        duplicates <= (MAX_IN_FLIGHT * MAX_ITEMS) as usize,
        "{duplicates}"
    );
    // New rows are numbered after the old ones and forwarded live.
    write_spans(p.ring(Signal::Traces), 700, 100);
    eventually("the new spans upstream", || counts(&up).len() == 800);
    eventually("the cursor reaches the end", || {
        p.forward_stats()[0].cursor == 800
    });
    drop(p);
}

#[test]
fn files_deleted_for_max_total_bytes_before_forwarding_are_counted_as_lost() {
    let rt = runtime();
    let mut up = rt.block_on(Upstream::start());
    let url = up.url();
    rt.block_on(up.stop());
    let dir = TempDir::new("retention");
    let mut c = config(dir.path(), &url);
    // Tiny files and a tiny disk budget: retention must delete files nobody forwarded yet.
    c.storage.max_file_bytes = 16 << 10;
    c.storage.max_total_bytes = 64 << 10;
    let p = Pipeline::start(&c).unwrap();
    const TOTAL: u64 = 20_000;
    for i in 0..TOTAL / 500 {
        write_spans(p.ring(Signal::Traces), i * 500, 500);
        eventually("the chunk is stored", || {
            p.stats(Signal::Traces).storage.rows_written >= (i + 1) * 500
        });
    }
    eventually("retention deleted files", || {
        p.stats(Signal::Traces).storage.retention_deleted_files > 0
    });
    rt.block_on(up.restart());
    eventually("the cursor reaches the end", || {
        p.forward_stats()[0].cursor == TOTAL
    });
    let st = p.forward_stats()[0].clone();
    let arrived = counts(&up).len() as u64;
    println!("arrived {arrived}, stats {st:#?}");
    assert!(st.rows_retention_lost > 0, "{st:?}");
    // Every row either arrived or is counted as lost; nothing is silently skipped.
    assert_eq!(
        arrived + st.rows_retention_lost + st.rows_missing,
        TOTAL,
        "{st:?}"
    );
    assert_eq!(st.items_dropped, 0);
    drop(p);
}
