//! End to end through the storage path: records encoded into the rings -> drain threads ->
//! Arrow IPC files, with flush, batch cutting by time, shutdown, and write failures.

#[path = "arrow_support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch, StringArray};
use otlp_arrow::arrow::schema;
use otlp_arrow::config::Config;
use otlp_arrow::pipeline::Pipeline;
use otlp_arrow::ring::{Ring, WriteError};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::encode::{
    AnyValue, Encode, KeyValue, LogRecord, Metric, MetricData, NumberDataPoint, NumberValue, Part,
    Resource, ResourceLogs, ResourceMetrics, ResourceSpans, Scope, SeverityNumber, Span, SpanKind,
};
use support::TempDir;

fn config(dir: &Path) -> Config {
    let mut c = Config {
        output_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.ring.traces = 1 << 20;
    c.ring.metrics = 1 << 20;
    c.ring.logs = 1 << 20;
    c.storage.max_batch_rows = 100;
    c.storage.flush_interval = Duration::from_millis(20);
    c
}

const RES: [KeyValue<'static>; 1] = [KeyValue::new("service.name", AnyValue::String("e2e"))];

/// Writes spans `first..first + n` (span id = index + 1, big endian), 5 per record.
fn write_spans(ring: &Ring, first: u64, n: u64) -> Result<(), WriteError> {
    let attrs = [KeyValue::new("http.method", AnyValue::String("GET"))];
    let mut i = first;
    while i < first + n {
        let spans: Vec<Span<'_>> = (i..(i + 5).min(first + n))
            .map(|k| Span {
                trace_id: [7; 16],
                span_id: (k + 1).to_be_bytes(),
                name: "op",
                kind: SpanKind::Internal,
                start_time_unix_nano: k,
                end_time_unix_nano: k + 1,
                attributes: &attrs[..],
                ..Span::default()
            })
            .collect();
        let record = ResourceSpans {
            resource: Part::View(Resource {
                attributes: &RES[..],
                dropped_attributes_count: 0,
            }),
            scope: Part::View(Scope {
                name: "e2e",
                ..Scope::default()
            }),
            spans: &spans,
            ..ResourceSpans::default()
        };
        let mut claim = ring
            .producer()
            .try_claim(Signal::Traces.record_kind(), record.encoded_len())?;
        record.encode_exact(claim.payload_mut()).unwrap();
        claim.commit();
        i += spans.len() as u64;
    }
    Ok(())
}

fn write_gauge(ring: &Ring, points: usize) {
    let pts: Vec<NumberDataPoint<'_>> = (0..points)
        .map(|i| NumberDataPoint {
            time_unix_nano: i as u64 + 1,
            value: Some(NumberValue::Int(i as i64)),
            ..NumberDataPoint::default()
        })
        .collect();
    let metric = Metric {
        name: "queue.depth",
        description: "",
        unit: "1",
        data: MetricData::Gauge { data_points: &pts },
        metadata: &[],
    };
    let record = ResourceMetrics {
        resource: Part::View(Resource {
            attributes: &RES[..],
            dropped_attributes_count: 0,
        }),
        scope: Part::View(Scope::default()),
        metrics: core::slice::from_ref(&metric),
        ..ResourceMetrics::default()
    };
    let mut claim = ring
        .producer()
        .try_claim(Signal::Metrics.record_kind(), record.encoded_len())
        .unwrap();
    record.encode_exact(claim.payload_mut()).unwrap();
    claim.commit();
}

fn write_logs(ring: &Ring, n: usize) {
    let body = AnyValue::String("hello");
    let logs: Vec<LogRecord<'_>> = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: i as u64,
            severity_number: SeverityNumber::Info,
            severity_text: "INFO",
            body: Some(&body),
            ..LogRecord::default()
        })
        .collect();
    let record = ResourceLogs {
        resource: Part::View(Resource {
            attributes: &RES[..],
            dropped_attributes_count: 0,
        }),
        scope: Part::View(Scope::default()),
        log_records: &logs,
        ..ResourceLogs::default()
    };
    let mut claim = ring
        .producer()
        .try_claim(Signal::Logs.record_kind(), record.encoded_len())
        .unwrap();
    record.encode_exact(claim.payload_mut()).unwrap();
    claim.commit();
}

/// Every batch of every finalized file of `signal`; asserts that no file is in progress.
fn finalized_batches(dir: &Path, signal: Signal) -> Vec<RecordBatch> {
    let sub = dir.join(signal.as_str());
    let mut out = Vec::new();
    for name in support::names(&sub) {
        assert!(
            name.ends_with(".arrow"),
            "{signal}: {name} is not finalized"
        );
        out.extend(support::read_stream(&sub.join(name)));
    }
    out
}

fn span_ids(batches: &[RecordBatch]) -> Vec<u64> {
    let mut ids: Vec<u64> = batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name("span_id").unwrap();
            let a = col.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
            (0..a.len())
                .map(|i| u64::from_be_bytes(a.value(i).try_into().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Waits (polling, bounded) until `cond` holds; there is no event to wait on from outside.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn flush_makes_everything_committed_durable_in_finalized_files() {
    let dir = TempDir::new("pipe-flush");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    write_spans(p.ring(Signal::Traces), 0, 1000).unwrap();
    write_gauge(p.ring(Signal::Metrics), 250);
    write_logs(p.ring(Signal::Logs), 30);
    p.flush(Duration::from_secs(20)).unwrap();

    let traces = finalized_batches(dir.path(), Signal::Traces);
    assert_eq!(
        span_ids(&traces),
        (1..=1000).collect::<Vec<_>>(),
        "each span exactly once"
    );
    assert!(
        traces.iter().all(|b| b.num_rows() <= 100 + 5),
        "batches are cut at max_batch_rows"
    );
    assert_eq!(traces[0].schema(), schema::traces());
    let metrics = finalized_batches(dir.path(), Signal::Metrics);
    assert_eq!(rows(&metrics), 250);
    let names = metrics[0].column_by_name("metric_name").unwrap();
    assert_eq!(
        names
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0),
        "queue.depth"
    );
    assert_eq!(rows(&finalized_batches(dir.path(), Signal::Logs)), 30);

    let s = p.stats(Signal::Traces);
    assert_eq!(s.storage.rows_written, 1000);
    assert_eq!(s.ring.records_read, 200);
    assert_eq!(s.drain.decode_errors, 0);
    let report = p.shutdown();
    assert_eq!(report.lost(), 0);
}

#[test]
fn flush_interval_writes_a_partial_batch_without_a_flush() {
    let dir = TempDir::new("pipe-interval");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    write_spans(p.ring(Signal::Traces), 0, 7).unwrap();
    // 7 rows never reach max_batch_rows (100): only the 20 ms flush interval can cut them.
    eventually("the interval batch", || {
        p.stats(Signal::Traces).storage.rows_written == 7
    });
    assert_eq!(p.stats(Signal::Traces).storage.batches_written, 1);
    drop(p);
}

#[test]
fn shutdown_writes_what_is_left_and_finalizes_every_file() {
    let dir = TempDir::new("pipe-shutdown");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    write_spans(p.ring(Signal::Traces), 0, 333).unwrap();
    write_logs(p.ring(Signal::Logs), 3);
    let report = p.shutdown();
    assert_eq!(report.lost(), 0);
    assert_eq!(
        span_ids(&finalized_batches(dir.path(), Signal::Traces)).len(),
        333
    );
    assert_eq!(rows(&finalized_batches(dir.path(), Signal::Logs)), 3);
    assert!(
        finalized_batches(dir.path(), Signal::Metrics).is_empty(),
        "no empty files"
    );
}

#[test]
fn failing_writes_keep_records_in_the_ring_and_lose_nothing() {
    let dir = TempDir::new("pipe-fail");
    let mut c = config(dir.path());
    c.ring.traces = 64 << 10; // small, so it fills while the disk "fails"
    let p = Pipeline::start(&c).unwrap();
    // Make the traces directory unusable: a regular file where the directory must be.
    let traces_dir = dir.path().join("traces");
    std::fs::remove_dir_all(&traces_dir).unwrap();
    std::fs::write(&traces_dir, b"not a directory").unwrap();

    let mut accepted = 0u64;
    let mut refused = 0u64;
    let mut next = 0u64;
    // Write until the ring refuses: records pile up because no batch can be stored.
    while refused < 10 {
        match write_spans(p.ring(Signal::Traces), next, 5) {
            Ok(()) => {
                accepted += 5;
                next += 5;
            }
            Err(WriteError::Full) => {
                refused += 1;
                eventually("a write error", || {
                    p.stats(Signal::Traces).storage.write_errors > 0
                });
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(p.stats(Signal::Traces).ring.rejected_full >= 10);
    assert!(p.stats(Signal::Traces).drain.write_retries > 0);
    // The disk "recovers": everything accepted is stored, exactly once.
    std::fs::remove_file(&traces_dir).unwrap();
    p.flush(Duration::from_secs(30)).unwrap();
    let ids = span_ids(&finalized_batches(dir.path(), Signal::Traces));
    assert_eq!(ids, (1..=accepted).collect::<Vec<_>>());
    assert_eq!(p.shutdown().lost(), 0);
}

#[test]
fn restart_recovers_and_keeps_previous_files() {
    let dir = TempDir::new("pipe-restart");
    {
        let p = Pipeline::start(&config(dir.path())).unwrap();
        write_spans(p.ring(Signal::Traces), 0, 50).unwrap();
        p.flush(Duration::from_secs(20)).unwrap();
        p.shutdown();
    }
    let p = Pipeline::start(&config(dir.path())).unwrap();
    write_spans(p.ring(Signal::Traces), 50, 50).unwrap();
    p.shutdown();
    assert_eq!(
        span_ids(&finalized_batches(dir.path(), Signal::Traces)),
        (1..=100).collect::<Vec<_>>()
    );
}

#[test]
fn flush_reports_a_failing_disk_and_shutdown_counts_what_is_lost() {
    let dir = TempDir::new("pipe-lost");
    let mut c = config(dir.path());
    c.shutdown.deadline = Duration::from_millis(300);
    let p = Pipeline::start(&c).unwrap();
    let traces_dir = dir.path().join("traces");
    std::fs::remove_dir_all(&traces_dir).unwrap();
    std::fs::write(&traces_dir, b"not a directory").unwrap();
    write_spans(p.ring(Signal::Traces), 0, 40).unwrap();
    let err = p.flush(Duration::from_secs(20)).unwrap_err();
    assert!(
        err.to_string().contains("traces"),
        "the error names the path: {err}"
    );
    // The disk never recovers: at the deadline every accepted span is reported lost, none
    // silently dropped.
    let report = p.shutdown();
    let (_, traces, _) = report
        .signals
        .iter()
        .find(|(s, _, _)| *s == Signal::Traces)
        .unwrap();
    assert_eq!(traces.drain.lost_rows + traces.drain.lost_records * 5, 40);
    assert_eq!(
        report.lost(),
        traces.drain.lost_rows + traces.drain.lost_records
    );
    assert_eq!(traces.storage.rows_written, 0);
}
