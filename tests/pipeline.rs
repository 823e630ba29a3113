//! End to end through the storage path: records encoded into the rings -> drain threads ->
//! Arrow IPC files, with flush, batch cutting by time, shutdown, and write failures.

#[path = "ring_support/mod.rs"]
mod ring_support;
#[path = "arrow_support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch, StringArray};
use otlp_arrow::arrow::decode::decoder_for;
use otlp_arrow::arrow::drain::{self, DrainOptions};
use otlp_arrow::arrow::files;
use otlp_arrow::arrow::schema;
use otlp_arrow::arrow::stats::StorageStats;
use otlp_arrow::arrow::writer::{SignalWriter, WriterOptions};
use otlp_arrow::arrow::{RecordTap, RowWatermarks};
use otlp_arrow::config::Config;
use otlp_arrow::pipeline::Pipeline;
use otlp_arrow::ring::{Ring, WriteError};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::encode::{
    AnyValue, Encode, KeyValue, LogRecord, Metric, MetricData, NumberDataPoint, NumberValue, Part,
    Resource, ResourceLogs, ResourceMetrics, Scope, SeverityNumber,
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

const ATTRS: [KeyValue<'static>; 1] = [KeyValue::new("http.method", AnyValue::String("GET"))];

/// Writes spans `first..first + n` (span id = index + 1, big endian), 5 per record.
fn write_spans(ring: &Ring, first: u64, n: u64) -> Result<(), WriteError> {
    write_spans_per(ring, first, n, 5, |_| {})
}

/// Writes spans `first..first + n` (span id = index + 1), `per` per record (0: one record
/// without spans), and hands each committed record's bytes to `seen`.
fn write_spans_per(
    ring: &Ring,
    first: u64,
    n: u64,
    per: u64,
    seen: impl FnMut(&[u8]),
) -> Result<(), WriteError> {
    ring_support::write_spans(ring, first, n, per, "e2e", &ATTRS, seen)
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
    assert_eq!(traces[0].schema().fields(), schema::traces().fields());
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
fn a_second_pipeline_on_the_same_directory_is_refused_and_leaves_the_first_intact() {
    let dir = TempDir::new("pipe-lock");
    let first = Pipeline::start(&config(dir.path())).unwrap();
    write_spans(first.ring(Signal::Traces), 0, 20).unwrap();
    let err = Pipeline::start(&config(dir.path())).unwrap_err();
    assert!(
        matches!(err, otlp_arrow::pipeline::PipelineError::Lock(_)),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("in use by another otlp-arrow pipeline"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    // The refused start touched nothing: the first pipeline's in-progress file was not
    // "recovered" under it, and everything it was given is stored.
    write_spans(first.ring(Signal::Traces), 20, 20).unwrap();
    first.shutdown();
    assert_eq!(
        span_ids(&finalized_batches(dir.path(), Signal::Traces)),
        (1..=40).collect::<Vec<_>>()
    );
    // Released at shutdown: the directory can be used again.
    Pipeline::start(&config(dir.path())).unwrap().shutdown();
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

/// One offer: the record's bytes, its first row's number and its row count.
type Offer = (Vec<u8>, u64, u32);

/// What a tap was offered.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Offer>>>);

impl RecordTap for Recorder {
    fn offer(&mut self, record: &[u8], first_row: u64, rows: u32) {
        self.0
            .lock()
            .unwrap()
            .push((record.to_vec(), first_row, rows));
    }
}

/// A traces drain on its own (no pipeline), so a test can pass a tap and options.
fn traces_drain(
    dir: &Path,
    options: DrainOptions,
    tap: Option<Box<dyn RecordTap>>,
) -> (Arc<Ring>, drain::DrainHandle) {
    let ring = Arc::new(Ring::with_capacity(1 << 20).unwrap());
    let writer = SignalWriter::open(
        dir,
        Signal::Traces,
        WriterOptions {
            max_file_bytes: 16 << 10,
            ..WriterOptions::default()
        },
        Arc::new(StorageStats::default()),
    )
    .unwrap();
    let options = DrainOptions {
        max_batch_rows: 40,
        flush_interval: Duration::from_millis(20),
        ..options
    };
    let handle = drain::spawn_with_tap(
        ring.clone(),
        decoder_for(Signal::Traces),
        writer,
        options,
        tap,
    )
    .unwrap();
    (ring, handle)
}

/// Asserts that `signal`'s files hold exactly the rows `start..end`, each file the range its
/// metadata names, contiguous and in name order, and (for traces written by `write_spans*`)
/// row `r` is the span with id `r + 1 - id_offset`.
fn assert_numbered(dir: &Path, signal: Signal, start: u64, end: u64, id_offset: u64) {
    let sub = dir.join(signal.as_str());
    let mut next = start;
    let all = support::names(&sub);
    assert!(!all.is_empty() || start == end);
    for name in all {
        let path = sub.join(&name);
        let range = files::row_range(&path).unwrap().unwrap();
        assert_eq!(range.start, next, "{signal} {name}: contiguous");
        let batches = support::read_stream(&path);
        assert_eq!(rows(&batches) as u64, range.end - range.start, "{name}");
        if signal == Signal::Traces {
            let ids: Vec<u64> = batches.iter().flat_map(support::span_ids).collect();
            let want: Vec<u64> = range.clone().map(|r| r + 1 - id_offset).collect();
            assert_eq!(ids, want, "{name}: rows in number order");
        }
        next = range.end;
    }
    assert_eq!(next, end, "{signal}: every row numbered once");
}

#[test]
fn rows_are_numbered_contiguously_across_batches_rotations_and_restarts() {
    let dir = TempDir::new("pipe-rownum");
    let mut c = config(dir.path());
    c.storage.max_file_bytes = 16 << 10;
    let p = Pipeline::start(&c).unwrap();
    let marks: Arc<RowWatermarks> = p.watermarks(Signal::Traces).clone();
    assert_eq!((marks.decoded(), marks.written()), (0, 0));
    write_spans(p.ring(Signal::Traces), 0, 1000).unwrap();
    write_logs(p.ring(Signal::Logs), 30);
    p.flush(Duration::from_secs(20)).unwrap();
    assert_eq!((marks.decoded(), marks.written()), (1000, 1000));
    assert_eq!(p.watermarks(Signal::Logs).written(), 30);
    assert_eq!(p.watermarks(Signal::Metrics).written(), 0);
    assert_eq!(p.shutdown().lost(), 0);
    let sub = dir.path().join("traces");
    assert!(support::names(&sub).len() >= 3, "rotated by size");
    assert_numbered(dir.path(), Signal::Traces, 0, 1000, 0);

    // A new pipeline on the same directory continues where the files end.
    let p = Pipeline::start(&c).unwrap();
    assert_eq!(p.watermarks(Signal::Traces).decoded(), 1000);
    assert_eq!(p.watermarks(Signal::Logs).written(), 30);
    write_spans(p.ring(Signal::Traces), 1000, 333).unwrap();
    write_logs(p.ring(Signal::Logs), 3);
    let marks = p.watermarks(Signal::Traces).clone();
    assert_eq!(p.shutdown().lost(), 0);
    assert_eq!((marks.decoded(), marks.written()), (1333, 1333));
    assert_numbered(dir.path(), Signal::Traces, 0, 1333, 0);
    assert_numbered(dir.path(), Signal::Logs, 0, 33, 0);
}

#[test]
fn the_tap_sees_every_decoded_record_in_order_with_its_row_range() {
    let dir = TempDir::new("pipe-tap");
    let tap = Recorder::default();
    let (ring, handle) = traces_drain(
        dir.path(),
        DrainOptions::default(),
        Some(Box::new(tap.clone())),
    );
    let mut committed: Vec<(Vec<u8>, u32)> = Vec::new();
    let mut next = 0;
    for (k, per) in [3u64, 0, 7, 1, 0, 0, 40, 13, 5, 5, 2, 0, 11]
        .iter()
        .cycle()
        .take(60)
        .enumerate()
    {
        let n = if *per == 0 { 0 } else { per + k as u64 % 3 };
        write_spans_per(&ring, next, n, n, |r| {
            committed.push((r.to_vec(), n as u32))
        })
        .unwrap();
        next += n;
        if k == 20 {
            // A record that does not decode: not offered, and it takes no numbers.
            let mut claim = ring
                .producer()
                .try_claim(Signal::Traces.record_kind(), 3)
                .unwrap();
            claim.payload_mut().copy_from_slice(&[0x0A, 0x05, 0x01]);
            claim.commit();
        }
    }
    let marks = handle.watermarks();
    let report = handle.stop(Duration::from_secs(20));
    assert_eq!(report.stats.decode_errors, 1);
    assert_eq!(report.stats.lost_rows + report.stats.lost_records, 0);

    let offered = tap.0.lock().unwrap().clone();
    assert_eq!(offered.len(), committed.len(), "every decoded record, once");
    let mut row = 0;
    for (i, ((bytes, first, rows), (want, want_rows))) in offered.iter().zip(&committed).enumerate()
    {
        assert_eq!(
            bytes, want,
            "record {i}: the ring record's bytes, in ring order"
        );
        assert_eq!((*first, *rows), (row, *want_rows), "record {i}");
        row += u64::from(*rows);
    }
    assert!(
        offered.iter().any(|o| o.2 == 0),
        "records without rows are offered too"
    );
    assert_eq!(row, next);
    assert_eq!((marks.decoded(), marks.written()), (next, next));
    assert_numbered(dir.path(), Signal::Traces, 0, next, 0);
}

#[test]
fn the_first_row_floor_raises_numbering_and_a_lower_one_is_ignored() {
    let dir = TempDir::new("pipe-floor");
    let tap = Recorder::default();
    let floor = DrainOptions {
        first_row_floor: 5000,
        ..DrainOptions::default()
    };
    let (ring, handle) = traces_drain(dir.path(), floor, Some(Box::new(tap.clone())));
    assert_eq!(handle.watermarks().decoded(), 5000);
    write_spans(&ring, 5000, 100).unwrap();
    handle.stop(Duration::from_secs(20));
    assert_eq!(tap.0.lock().unwrap()[0].1, 5000);
    assert_numbered(dir.path(), Signal::Traces, 5000, 5100, 0);

    let low = DrainOptions {
        first_row_floor: 10,
        ..DrainOptions::default()
    };
    let (ring, handle) = traces_drain(dir.path(), low, None);
    let marks = handle.watermarks();
    assert_eq!(marks.decoded(), 5100, "the files are ahead of the floor");
    write_spans(&ring, 5100, 50).unwrap();
    handle.stop(Duration::from_secs(20));
    assert_eq!(marks.written(), 5150);
    assert_numbered(dir.path(), Signal::Traces, 5000, 5150, 0);
}

/// Span ids a reader can read now from every file of `dir` (finalized or in progress; a torn
/// or not yet written tail is where a file's readable rows end), sorted.
fn readable_ids(dir: &Path) -> Vec<u64> {
    'again: loop {
        let mut ids = Vec::new();
        for name in support::names(dir) {
            let file = match std::fs::File::open(dir.join(&name)) {
                Ok(f) => f,
                // Renamed from `.partial` to `.arrow` since the listing: list again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue 'again,
                Err(e) => panic!("{name}: {e}"),
            };
            let Ok(reader) = arrow_ipc::reader::StreamReader::try_new_buffered(file, None) else {
                continue; // created, schema not yet written: no rows in it
            };
            for batch in reader {
                match batch {
                    Ok(b) => ids.extend(support::span_ids(&b)),
                    Err(_) => break,
                }
            }
        }
        ids.sort_unstable();
        return ids;
    }
}

#[test]
fn written_advances_only_after_the_rows_are_readable() {
    let dir = TempDir::new("pipe-written");
    let mut c = config(dir.path());
    c.storage.max_batch_rows = 50;
    c.storage.max_file_bytes = 32 << 10;
    // A disk flush per batch makes each write slow, so a watermark moved too early is seen.
    c.storage.fsync = otlp_arrow::config::Fsync::EveryBatch;
    let p = Pipeline::start(&c).unwrap();
    let marks = p.watermarks(Signal::Traces).clone();
    let sub = dir.path().join("traces");
    const TOTAL: u64 = 3000;
    std::thread::scope(|s| {
        let ring = p.ring(Signal::Traces).clone();
        s.spawn(move || {
            for k in 0..TOTAL / 5 {
                while write_spans(&ring, k * 5, 5).is_err() {
                    std::thread::yield_now();
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut checks = 0;
        loop {
            // `written` first: every row below it must then be readable.
            let w = marks.written();
            assert!(w <= marks.decoded());
            let ids = readable_ids(&sub);
            assert!(
                ids.len() as u64 >= w,
                "{} readable rows, written says {w}",
                ids.len()
            );
            assert_eq!(
                ids[..w as usize],
                (1..=w).collect::<Vec<_>>()[..],
                "rows below written() are readable"
            );
            checks += 1;
            if w == TOTAL {
                break;
            }
            assert!(Instant::now() < deadline, "written stuck at {w}");
        }
        assert!(checks > 1);
    });
    assert_eq!(p.shutdown().lost(), 0);
}

#[test]
fn written_does_not_advance_while_writes_fail() {
    let dir = TempDir::new("pipe-written-fail");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    let marks = p.watermarks(Signal::Traces).clone();
    let traces_dir = dir.path().join("traces");
    std::fs::remove_dir_all(&traces_dir).unwrap();
    std::fs::write(&traces_dir, b"not a directory").unwrap();
    write_spans(p.ring(Signal::Traces), 0, 40).unwrap();
    eventually("a failed write", || {
        p.stats(Signal::Traces).storage.write_errors > 0
    });
    assert!(marks.decoded() > 0, "rows were decoded and numbered");
    assert_eq!(marks.written(), 0, "but none is in a file");
    std::fs::remove_file(&traces_dir).unwrap();
    p.flush(Duration::from_secs(30)).unwrap();
    assert_eq!((marks.decoded(), marks.written()), (40, 40));
    assert_eq!(p.shutdown().lost(), 0);
    assert_numbered(dir.path(), Signal::Traces, 0, 40, 0);
}

#[test]
fn concurrent_flushes_all_complete_and_each_covers_what_was_committed_before_it() {
    let dir = TempDir::new("pipe-flushes");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    let marks = p.watermarks(Signal::Traces).clone();
    let sub = dir.path().join("traces");
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (p, marks, sub) = (&p, &marks, &sub);
            s.spawn(move || {
                for k in 0..10u64 {
                    let first = (t * 10 + k) * 20;
                    write_spans(p.ring(Signal::Traces), first, 20).unwrap();
                    p.flush(Duration::from_secs(30)).unwrap();
                    // This thread's spans were committed before its flush: they are stored.
                    assert!(marks.written() >= 20);
                    let ids = readable_ids(sub);
                    for id in first + 1..=first + 20 {
                        assert!(ids.binary_search(&id).is_ok(), "span {id} not stored");
                    }
                }
            });
        }
    });
    assert_eq!(marks.written(), 800);
    assert_eq!(
        span_ids(&finalized_batches(dir.path(), Signal::Traces)),
        (1..=800).collect::<Vec<_>>()
    );
    assert_eq!(p.shutdown().lost(), 0);
}

#[test]
fn flush_waits_for_a_claim_made_before_it_and_reports_a_stalled_producer() {
    let dir = TempDir::new("pipe-held-claim");
    let p = Pipeline::start(&config(dir.path())).unwrap();
    let ring = p.ring(Signal::Traces);
    let producer = ring.producer();
    // A producer claims first and stalls; spans committed after it sit behind its claim.
    let held = producer
        .try_claim(Signal::Traces.record_kind(), 64)
        .unwrap();
    write_spans(ring, 0, 10).unwrap();
    // The flush cannot see those spans yet, so it must not claim success.
    assert_eq!(
        p.flush(Duration::from_millis(300)),
        Err(drain::FlushError::TimedOut)
    );
    match p.flush(Duration::from_secs(10)) {
        Err(drain::FlushError::Storage(m)) => {
            assert!(m.contains("uncommitted traces record"), "{m}")
        }
        other => panic!("expected the stalled producer to be reported, got {other:?}"),
    }
    // Once the claim is given up (aborted), everything committed is flushed.
    held.abort();
    p.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(
        readable_ids(&dir.path().join("traces")),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(p.shutdown().lost(), 0);
}

#[test]
fn a_second_drain_on_a_ring_ends_at_once_and_a_dropped_handle_still_stores_everything() {
    let dir = TempDir::new("drain-second");
    let ring = Arc::new(Ring::with_capacity(1 << 20).unwrap());
    let open = |sub: &str| {
        SignalWriter::open(
            &dir.path().join(sub),
            Signal::Traces,
            WriterOptions::default(),
            Arc::new(StorageStats::default()),
        )
        .unwrap()
    };
    let first = drain::spawn(
        ring.clone(),
        decoder_for(Signal::Traces),
        open("a"),
        DrainOptions::default(),
    )
    .unwrap();
    assert_eq!(first.signal(), Signal::Traces);
    // A completed flush means the first drain thread holds the ring's consumer.
    write_spans(&ring, 0, 30).unwrap();
    first.flush(Duration::from_secs(20)).unwrap();
    let second = drain::spawn(
        ring.clone(),
        decoder_for(Signal::Traces),
        open("b"),
        DrainOptions::default(),
    )
    .unwrap();
    let report = second.stop(Duration::from_secs(5));
    assert_eq!(
        report.close_error.as_deref(),
        Some("another consumer holds the ring")
    );
    write_spans(&ring, 30, 30).unwrap();
    // Dropped without `stop`: the drop stops the drain, which writes what the ring holds.
    drop(first);
    assert_eq!(
        span_ids(&finalized_batches(
            dir.path().join("a").as_path(),
            Signal::Traces
        )),
        (1..=60).collect::<Vec<_>>()
    );
    assert!(finalized_batches(dir.path().join("b").as_path(), Signal::Traces).is_empty());
}

#[test]
fn flush_errors_say_what_happened() {
    use otlp_arrow::arrow::drain::FlushError;
    assert_eq!(FlushError::TimedOut.to_string(), "flush timed out");
    assert_eq!(
        FlushError::Stopped.to_string(),
        "the drain thread has stopped"
    );
    assert_eq!(
        FlushError::Storage("disk full".into()).to_string(),
        "flush failed: disk full"
    );
}
