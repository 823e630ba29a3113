//! The scheduler against a fake transport: live, catch-up, deferred, dropped, fairness,
//! unavailability, restart and retention loss. Files are real Arrow IPC files with row numbers.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

use super::catchup::CatchupReader;
use super::lane::{Kind, Lane, LaneOptions, Stop};
use super::ledger::Ledger;
use super::queue::LiveQueue;
use super::seam::{ExportOutcome, ExportRequest, FIRST_ROW_KEY, RowWatermarks, Transport};
use super::stats::LaneStats;
use crate::arrow::decode::decoder_for;
use crate::arrow::otlp::Limits;
use crate::otlp::forward::DropReason;
use crate::signal::Signal;
use crate::sync::{AtomicU64, Ordering};

/// One `ResourceLogs` body whose log records carry `time_unix_nano` = their global row.
fn record(rows: std::ops::Range<u64>) -> Vec<u8> {
    ResourceLogs {
        resource: None,
        scope_logs: vec![ScopeLogs {
            scope: None,
            log_records: rows
                .map(|r| LogRecord {
                    time_unix_nano: r,
                    severity_text: "INFO".into(),
                    ..Default::default()
                })
                .collect(),
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
    .encode_to_vec()
}

fn ids(body: &[u8]) -> Vec<u64> {
    let req = ExportLogsServiceRequest::decode(body).expect("a valid request");
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .map(|l| l.time_unix_nano)
        .collect()
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("otlp-arrow-fwd-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes one finalized logs file holding rows `rows` in batches of `per_batch` rows.
fn write_file(dir: &Path, seq: u32, rows: std::ops::Range<u64>, per_batch: u64) {
    let mut decoder = decoder_for(Signal::Logs);
    let mut batches = Vec::new();
    let mut at = rows.start;
    while at < rows.end {
        let end = (at + per_batch).min(rows.end);
        decoder.append(&record(at..end)).unwrap();
        batches.push(decoder.finish());
        at = end;
    }
    let schema = batches[0].schema();
    let mut meta = schema.metadata().clone();
    meta.insert(FIRST_ROW_KEY.to_owned(), rows.start.to_string());
    let schema = Arc::new(schema.as_ref().clone().with_metadata(meta));
    let name = format!("logs-20261201T000000.{:09}Z-000000.arrow", seq);
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(file, &schema).unwrap();
    for b in batches {
        w.write(&b.with_schema(schema.clone()).unwrap()).unwrap();
    }
    w.finish().unwrap();
}

#[derive(Default)]
struct FakeState {
    /// Outcomes to return, in order; `Accepted` once empty.
    script: VecDeque<ExportOutcome>,
    /// Every request, in the order the lane handed them over.
    requests: Vec<Vec<u64>>,
    /// Rows acknowledged (with repetitions).
    accepted: Vec<u64>,
    unavailable: bool,
    /// Stop the lane once this many distinct rows were accepted (abort it when `true`).
    stop_at: Option<(usize, Stop, bool)>,
    /// Completions held until released (to keep requests in flight).
    hold: bool,
    held: Vec<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone, Default)]
struct Fake(Rc<RefCell<FakeState>>);

impl Transport for Fake {
    fn export(&self, req: ExportRequest) -> impl Future<Output = ExportOutcome> + 'static {
        let mut s = self.0.borrow_mut();
        let rows = ids(&req.body);
        assert_eq!(rows.len() as u64, req.items);
        s.requests.push(rows.clone());
        let outcome = s.script.pop_front().unwrap_or(ExportOutcome::Accepted {
            rejected: 0,
            message: None,
        });
        let wait = if s.hold {
            let (tx, rx) = tokio::sync::oneshot::channel();
            s.held.push(tx);
            Some(rx)
        } else {
            None
        };
        let me = self.clone();
        async move {
            if let Some(rx) = wait {
                let _ = rx.await;
            }
            let mut s = me.0.borrow_mut();
            if matches!(outcome, ExportOutcome::Accepted { .. }) {
                s.accepted.extend(rows);
                if let Some((n, stop, abort)) = &s.stop_at {
                    let distinct: std::collections::BTreeSet<_> = s.accepted.iter().collect();
                    if distinct.len() >= *n {
                        if *abort {
                            stop.abort();
                        } else {
                            stop.request();
                        }
                    }
                }
            }
            outcome
        }
    }

    fn is_available(&self) -> bool {
        !self.0.borrow().unavailable
    }
}

struct Setup {
    dir: TempDir,
    queue: Arc<LiveQueue>,
    marks: Arc<RowWatermarks>,
    floor: Arc<AtomicU64>,
    stats: Arc<LaneStats>,
    fake: Fake,
    options: LaneOptions,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        Setup {
            dir: TempDir::new(tag),
            queue: LiveQueue::new(1 << 20),
            marks: Arc::new(RowWatermarks::starting_at(0)),
            floor: Arc::new(AtomicU64::new(0)),
            stats: Arc::new(LaneStats::default()),
            fake: Fake::default(),
            options: LaneOptions {
                poll: Duration::from_millis(2),
                backoff_initial: Duration::from_millis(1),
                backoff_max: Duration::from_millis(4),
                stop_grace: Duration::from_secs(20),
                ..LaneOptions::default()
            },
        }
    }

    fn lane(&self, ledger: Ledger) -> Lane<Fake> {
        Lane {
            signal: Signal::Logs,
            transport: self.fake.clone(),
            queue: self.queue.clone(),
            ledger,
            catchup: Some(CatchupReader::new(
                self.dir.0.clone(),
                Signal::Logs,
                Limits {
                    max_bytes: self.options.max_request_bytes,
                    max_items: self.options.max_request_items as usize,
                },
            )),
            marks: self.marks.clone(),
            floor: self.floor.clone(),
            stats: self.stats.clone(),
            options: self.options.clone(),
            builder: None,
        }
    }

    /// Marks rows below `n` decoded and written.
    fn written(&self, n: u64) {
        self.marks.set_decoded(n);
        self.marks.set_written(n);
    }

    fn offer(&self, rows: std::ops::Range<u64>) {
        self.queue.offer(
            &record(rows.clone()),
            rows.start,
            (rows.end - rows.start) as u32,
        );
    }

    /// Runs the lane until it stops (stop requested up front unless `stop_at` is set) or the
    /// test's generous deadline.
    fn run(&self, ledger: Ledger, stop: Stop, stop_now: bool) -> Ledger {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        if stop_now {
            stop.request();
        }
        let lane = self.lane(ledger);
        local.block_on(&rt, async move {
            tokio::time::timeout(Duration::from_secs(30), lane.run(stop))
                .await
                .expect("the lane finishes")
        })
    }

    fn accepted_sorted(&self) -> Vec<u64> {
        let mut v = self.fake.0.borrow().accepted.clone();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[test]
fn catch_up_sends_stored_rows_oldest_first_within_the_limits() {
    let mut s = Setup::new("catchup");
    s.options.max_request_items = 7;
    write_file(&s.dir.0, 1, 0..40, 16);
    write_file(&s.dir.0, 2, 40..100, 25);
    s.written(100);
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(ledger.cursor(), 100);
    let reqs = s.fake.0.borrow().requests.clone();
    assert!(
        reqs.iter().all(|r| !r.is_empty() && r.len() <= 7),
        "{reqs:?}"
    );
    let flat: Vec<u64> = reqs.concat();
    assert_eq!(
        flat,
        (0..100).collect::<Vec<_>>(),
        "in order, each row once"
    );
    let st = s.stats.snapshot("x", Signal::Logs);
    assert_eq!((st.catchup_items_sent, st.items_accepted), (100, 100));
    assert_eq!(st.live_requests, 0);
}

#[test]
fn catch_up_resumes_at_the_cursor_and_skips_rows_no_file_holds() {
    let s = Setup::new("resume");
    // 0..10 were deleted long ago; 60..70 were numbered but never stored.
    write_file(&s.dir.0, 1, 10..60, 50);
    write_file(&s.dir.0, 2, 70..90, 50);
    s.written(90);
    let ledger = s.run(Ledger::new(None, 5), Stop::new(), true);
    assert_eq!(ledger.cursor(), 90);
    let flat: Vec<u64> = s.fake.0.borrow().requests.concat();
    let want: Vec<u64> = (10..60).chain(70..90).collect();
    assert_eq!(flat, want);
    assert_eq!(s.stats.snapshot("x", Signal::Logs).rows_missing, 5 + 10);
}

#[test]
fn live_records_are_sent_as_concatenated_requests() {
    let mut s = Setup::new("live");
    s.options.max_request_items = 10;
    for i in 0..20 {
        s.offer(i * 3..i * 3 + 3);
    }
    s.marks.set_decoded(60);
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(ledger.cursor(), 60);
    let reqs = s.fake.0.borrow().requests.clone();
    // Whole records only: 3 records (9 items) fit under 10 items.
    assert!(
        reqs.iter()
            .all(|r| r.len() == 9 || r.len() == 6 || r.len() == 3),
        "{reqs:?}"
    );
    assert_eq!(reqs.concat(), (0..60).collect::<Vec<_>>());
    let st = s.stats.snapshot("x", Signal::Logs);
    assert_eq!((st.live_items_sent, st.catchup_requests), (60, 0));
}

#[test]
fn a_deferred_request_is_resent_from_the_files() {
    let s = Setup::new("deferred");
    write_file(&s.dir.0, 1, 0..30, 10);
    s.offer(0..10);
    s.offer(10..20);
    s.offer(20..30);
    s.written(30);
    s.fake
        .0
        .borrow_mut()
        .script
        .push_back(ExportOutcome::Deferred {
            last_error: "unavailable".into(),
        });
    let stop = Stop::new();
    s.fake.0.borrow_mut().stop_at = Some((30, stop.clone(), false));
    let ledger = s.run(Ledger::new(None, 0), stop, false);
    assert_eq!(ledger.cursor(), 30);
    assert_eq!(s.accepted_sorted(), (0..30).collect::<Vec<_>>());
    let st = s.stats.snapshot("x", Signal::Logs);
    assert!(st.items_deferred > 0);
    assert!(
        st.catchup_items_accepted > 0,
        "the deferred rows came from the files"
    );
    assert_eq!(st.items_dropped, 0);
}

#[test]
fn a_non_retryable_error_drops_only_its_request() {
    let mut s = Setup::new("dropped");
    s.options.max_in_flight = 1;
    s.offer(0..4);
    s.offer(4..8);
    s.offer(8..12);
    s.options.max_request_items = 4;
    s.marks.set_decoded(12);
    {
        let mut f = s.fake.0.borrow_mut();
        f.script.push_back(ExportOutcome::Accepted {
            rejected: 0,
            message: None,
        });
        f.script.push_back(ExportOutcome::Dropped {
            reason: DropReason::BadRequest,
            message: "invalid".into(),
        });
    }
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(
        ledger.cursor(),
        12,
        "the dropped rows do not stall the cursor"
    );
    assert_eq!(s.accepted_sorted(), [0, 1, 2, 3, 8, 9, 10, 11]);
    let st = s.stats.snapshot("x", Signal::Logs);
    assert_eq!((st.items_dropped, st.items_accepted), (4, 8));
}

#[test]
fn live_and_catch_up_share_the_slots_fairly() {
    let mut s = Setup::new("fair");
    s.options.max_in_flight = 2;
    s.options.max_request_items = 5;
    // 0..200 on disk from before the start; 200..400 arrive live.
    write_file(&s.dir.0, 1, 0..200, 50);
    s.written(200);
    for i in 0..40 {
        s.offer(200 + i * 5..205 + i * 5);
    }
    s.marks.set_decoded(400);
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(ledger.cursor(), 400);
    let kinds: Vec<Kind> = s
        .fake
        .0
        .borrow()
        .requests
        .iter()
        .map(|r| {
            if r[0] < 200 {
                Kind::Catchup
            } else {
                Kind::Live
            }
        })
        .collect();
    assert_eq!(kinds.len(), 80);
    // Both have 40 requests of work: in every prefix neither kind is ahead by more than one.
    let mut diff: i64 = 0;
    for (i, k) in kinds.iter().enumerate() {
        diff += if *k == Kind::Live { 1 } else { -1 };
        assert!(diff.abs() <= 1, "unfair at request {i}: {kinds:?}");
    }
}

#[test]
fn catch_up_keeps_its_share_of_slots_while_live_requests_are_in_flight() {
    let mut s = Setup::new("share");
    s.options.max_in_flight = 4;
    s.options.max_request_items = 5;
    write_file(&s.dir.0, 1, 0..100, 50);
    s.written(100);
    for i in 0..20 {
        s.offer(100 + i * 5..105 + i * 5);
    }
    s.marks.set_decoded(200);
    s.fake.0.borrow_mut().hold = true;
    let stop = Stop::new();
    let lane = s.lane(Ledger::new(None, 0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let fake = s.fake.clone();
    let ledger = local.block_on(&rt, async move {
        let run = tokio::task::spawn_local(lane.run(stop.clone()));
        // Wait (bounded) until the lane has filled its slots and is waiting for outcomes.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while fake.0.borrow().requests.len() < 4 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::task::yield_now().await;
        }
        {
            let f = fake.0.borrow();
            let live = f.requests.iter().filter(|r| r[0] >= 100).count();
            assert_eq!(live, 2, "two slots each: {:?}", f.requests);
        }
        stop.request();
        fake.0.borrow_mut().hold = false;
        for tx in fake.0.borrow_mut().held.drain(..) {
            let _ = tx.send(());
        }
        run.await.unwrap()
    });
    assert_eq!(ledger.cursor(), 200);
}

#[test]
fn nothing_is_sent_or_dropped_while_the_endpoint_is_unavailable() {
    let mut s = Setup::new("unavailable");
    s.queue = LiveQueue::new(100); // small: most live records overflow into gaps
    write_file(&s.dir.0, 1, 0..50, 10);
    for i in 0..10 {
        s.offer(i * 5..i * 5 + 5);
    }
    s.written(50);
    s.fake.0.borrow_mut().unavailable = true;
    // Stopping while unavailable: the lane gives up at once and keeps its cursor.
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(ledger.cursor(), 0);
    assert!(s.fake.0.borrow().requests.is_empty());
    assert!(s.queue.stats().overflow_rows > 0);
    // Available again (a restart with the same queue and ledger): everything arrives once.
    s.fake.0.borrow_mut().unavailable = false;
    s.queue = LiveQueue::new(100); // a new process: a new queue, gaps derived from the cursor
    let ledger = s.run(ledger, Stop::new(), true);
    assert_eq!(ledger.cursor(), 50);
    let all: Vec<u64> = s.fake.0.borrow().requests.concat();
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..50).collect::<Vec<_>>(), "each row exactly once");
    let st = s.stats.snapshot("x", Signal::Logs);
    assert_eq!((st.items_dropped, st.rows_missing), (0, 0));
}

#[test]
fn a_restart_resends_at_most_what_was_not_acknowledged_in_order() {
    let mut s = Setup::new("restart");
    s.options.max_request_items = 10;
    write_file(&s.dir.0, 1, 0..100, 10);
    s.written(100);
    let dir = TempDir::new("restart-cursor");
    let path = dir.0.join("logs/.forward/ep.cursor");
    s.options.max_in_flight = 3;
    // First run: the lane is aborted (a crash, as far as the ledger is concerned) once 30
    // rows were acknowledged, with requests in flight.
    let stop = Stop::new();
    s.fake.0.borrow_mut().stop_at = Some((30, stop.clone(), true));
    let ledger = s.run(Ledger::new(Some(path.clone()), 0), stop, false);
    drop(ledger);
    // Completions may be seen in any order: the cursor is wherever the contiguous prefix got.
    let cursor = super::ledger::read_cursor(&path).cursor();
    let first_run = s.fake.0.borrow().requests.concat().len();
    assert!(first_run >= 30 && cursor <= 30, "{first_run} {cursor}");
    s.fake.0.borrow_mut().stop_at = None;
    // Second run from the persisted cursor (a new process: a new queue).
    s.queue = LiveQueue::new(1 << 20);
    let ledger = s.run(Ledger::new(Some(path.clone()), cursor), Stop::new(), true);
    assert_eq!(ledger.cursor(), 100);
    let all = s.fake.0.borrow().requests.concat();
    let mut counts: HashMap<u64, usize> = HashMap::new();
    all.iter().for_each(|r| *counts.entry(*r).or_default() += 1);
    assert_eq!(counts.len(), 100);
    let dups: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        dups <= first_run - cursor as usize,
        "duplicates bounded by what was unacked"
    );
    assert!(dups <= 3 * 10, "and by max_in_flight requests: {dups}");
}

#[test]
fn rows_deleted_by_retention_are_counted_and_skipped() {
    let s = Setup::new("floor");
    write_file(&s.dir.0, 2, 40..60, 10);
    s.written(60);
    // Retention deleted 0..40 by total size before it was sent.
    s.floor.store(40, Ordering::Release);
    let ledger = s.run(Ledger::new(None, 0), Stop::new(), true);
    assert_eq!(ledger.cursor(), 60);
    let st = s.stats.snapshot("x", Signal::Logs);
    assert_eq!((st.rows_retention_lost, st.rows_missing), (40, 0));
    assert_eq!(
        s.fake.0.borrow().requests.concat(),
        (40..60).collect::<Vec<_>>()
    );
}

#[test]
fn the_gate_keeps_files_the_slowest_endpoint_needs() {
    use crate::arrow::files::{DeleteReason, DeletionGate};
    let dir = TempDir::new("gate");
    write_file(&dir.0, 1, 0..10, 10);
    write_file(&dir.0, 2, 10..20, 10);
    write_file(&dir.0, 3, 20..30, 10);
    let (fast, slow) = (Arc::new(AtomicU64::new(30)), Arc::new(AtomicU64::new(10)));
    let floor = Arc::new(AtomicU64::new(0));
    let gate = super::gate::ForwardGate::new(
        dir.0.clone(),
        Signal::Logs,
        vec![fast, slow.clone()],
        floor.clone(),
    );
    let files: BTreeMap<_, _> = crate::arrow::files::list(&dir.0, Signal::Logs)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, f)| (i, f.path))
        .collect();
    assert!(
        gate.may_delete(&files[&0]),
        "rows 0..10 are below both cursors"
    );
    assert!(
        !gate.may_delete(&files[&1]),
        "the slow endpoint still needs 10..20"
    );
    slow.store(25, Ordering::Release);
    assert!(gate.may_delete(&files[&1]));
    assert!(
        !gate.may_delete(&files[&2]),
        "the newest file: its own rows end at 30"
    );
    // A forced deletion raises the floor to the oldest file left.
    std::fs::remove_file(&files[&0]).unwrap();
    std::fs::remove_file(&files[&1]).unwrap();
    gate.deleted(&files[&1], DeleteReason::TotalBytes);
    assert_eq!(floor.load(Ordering::Acquire), 20);
    gate.deleted(&files[&1], DeleteReason::Age);
    assert_eq!(floor.load(Ordering::Acquire), 20);
}

#[test]
fn endpoint_ids_are_stable_and_hide_credentials() {
    let a = super::endpoint_id("http://user:secret@collector:4317");
    assert_eq!(a, super::endpoint_id("http://user:other@collector:4317"));
    assert_ne!(a, super::endpoint_id("http://collector:4318"));
    assert_eq!(a.len(), 16);
    let p = super::cursor_path(Path::new("/data"), Signal::Traces, "http://collector:4317");
    assert!(p.starts_with("/data/traces/.forward"));
    assert!(p.to_string_lossy().ends_with(".cursor"));
}

/// An Arrow IPC logs stream of rows `rows` in batches of `per_batch`, numbered from
/// `rows.start` when `numbered`, with the end-of-stream marker when `finish`.
fn stream_bytes(
    rows: std::ops::Range<u64>,
    per_batch: u64,
    numbered: bool,
    finish: bool,
) -> Vec<u8> {
    let mut decoder = decoder_for(Signal::Logs);
    let mut batches = Vec::new();
    let mut at = rows.start;
    while at < rows.end {
        let end = (at + per_batch).min(rows.end);
        decoder.append(&record(at..end)).unwrap();
        batches.push(decoder.finish());
        at = end;
    }
    let schema = batches[0].schema();
    let mut meta = schema.metadata().clone();
    if numbered {
        meta.insert(FIRST_ROW_KEY.to_owned(), rows.start.to_string());
    } else {
        meta.remove(FIRST_ROW_KEY);
    }
    let schema = Arc::new(schema.as_ref().clone().with_metadata(meta));
    let mut w = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &schema).unwrap();
    for b in batches {
        w.write(&b.with_schema(schema.clone()).unwrap()).unwrap();
    }
    if finish {
        w.finish().unwrap();
    }
    w.into_inner().unwrap()
}

fn file_name(seq: u32, partial: bool) -> String {
    let suffix = if partial { ".partial" } else { "" };
    format!("logs-20261201T000000.{seq:09}Z-000000.arrow{suffix}")
}

fn reader(dir: &Path) -> CatchupReader {
    CatchupReader::new(dir.to_path_buf(), Signal::Logs, Limits::NONE)
}

/// The rows of a `Step::Request` (checking its body holds exactly them), or panics.
fn request_rows(step: super::catchup::Step) -> std::ops::Range<u64> {
    match step {
        super::catchup::Step::Request { request, rows } => {
            assert_eq!(ids(&request.body), rows.clone().collect::<Vec<_>>());
            assert_eq!(request.items, rows.end - rows.start);
            rows
        }
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The rows and reason of a `Step::Missing`, or panics.
fn missing_rows(step: super::catchup::Step) -> (std::ops::Range<u64>, &'static str) {
    match step {
        super::catchup::Step::Missing { rows, why } => (rows, why),
        other => panic!("expected missing rows, got {other:?}"),
    }
}

fn is_not_yet(step: &super::catchup::Step) -> bool {
    matches!(step, super::catchup::Step::NotYet)
}

#[test]
fn catch_up_of_an_empty_gap_or_a_missing_directory() {
    let dir = TempDir::new("cu-nodir");
    let mut r = reader(&dir.0.join("absent"));
    // Nothing below `written`: not yet, whatever the files.
    assert!(is_not_yet(&r.next_request(5..10, 5)));
    // No directory (nothing stored yet): the rows are in no file, cut at `written`.
    let (rows, why) = missing_rows(r.next_request(0..10, 8));
    assert_eq!(rows, 0..8);
    assert!(why.contains("not in any stored file"), "{why}");
}

#[test]
fn catch_up_retries_later_when_the_directory_cannot_be_listed() {
    let dir = TempDir::new("cu-notdir");
    let not_a_dir = dir.0.join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let mut r = reader(&not_a_dir);
    assert!(is_not_yet(&r.next_request(0..10, 10)));
    // Once it is a directory with the rows, they are read.
    std::fs::remove_file(&not_a_dir).unwrap();
    std::fs::create_dir(&not_a_dir).unwrap();
    write_file(&not_a_dir, 1, 0..10, 10);
    assert_eq!(request_rows(r.next_request(0..10, 10)), 0..10);
}

#[test]
fn catch_up_skips_unnumbered_and_unreadable_files_and_counts_them() {
    let dir = TempDir::new("cu-unnumbered");
    // An older version's file (no first row), a finalized file that is not Arrow, and a
    // `.partial` whose schema is not written yet (normal: not counted).
    std::fs::write(
        dir.0.join(file_name(1, false)),
        stream_bytes(0..10, 10, false, true),
    )
    .unwrap();
    std::fs::write(dir.0.join(file_name(2, false)), b"not an arrow stream").unwrap();
    write_file(&dir.0, 3, 20..30, 10);
    std::fs::write(dir.0.join(file_name(4, true)), b"").unwrap();
    let mut r = reader(&dir.0);
    let (rows, why) = missing_rows(r.next_request(0..30, 30));
    assert_eq!(rows, 0..20, "up to the first numbered file: {why}");
    assert_eq!(r.unnumbered_files, 2);
    assert_eq!(request_rows(r.next_request(20..30, 30)), 20..30);
}

#[test]
fn catch_up_reads_a_partial_file_only_up_to_what_it_holds() {
    let dir = TempDir::new("cu-partial");
    // In progress: two complete batches, no end marker yet.
    let path = dir.0.join(file_name(1, true));
    std::fs::write(&path, stream_bytes(0..20, 10, true, false)).unwrap();
    let mut r = reader(&dir.0);
    assert_eq!(request_rows(r.next_request(0..5, 20)), 0..5);
    assert_eq!(
        request_rows(r.next_request(5..20, 20)),
        5..20,
        "filled up from the next batch"
    );
    // Back to rows of a batch already read (a deferred request): read again.
    assert_eq!(request_rows(r.next_request(10..20, 20)), 10..20);
    assert_eq!(request_rows(r.next_request(3..20, 20)), 3..20);
    // Rows past the end of a file still being written: later, never missing.
    assert!(is_not_yet(&r.next_request(20..25, 25)));
    // A torn batch being appended: later too.
    let mut bytes = stream_bytes(0..30, 10, true, false);
    let whole = stream_bytes(0..20, 10, true, false).len();
    bytes.truncate(whole + (bytes.len() - whole) / 2);
    std::fs::write(&path, &bytes).unwrap();
    assert!(is_not_yet(&r.next_request(20..30, 30)));
    // Once the batch is complete (and the file finalized), its rows are read.
    std::fs::remove_file(&path).unwrap();
    write_file(&dir.0, 1, 0..30, 10);
    assert_eq!(request_rows(r.next_request(20..30, 30)), 20..30);
    assert_eq!(r.unnumbered_files, 0);
}

#[test]
fn catch_up_reports_the_rest_of_a_damaged_file_missing_up_to_the_next_file() {
    let dir = TempDir::new("cu-damaged");
    let mut bytes = stream_bytes(0..20, 10, true, true);
    // Keep the first batch, damage the second one's body.
    let whole = stream_bytes(0..10, 10, true, false).len();
    for b in &mut bytes[whole + 8..] {
        *b = 0xAB;
    }
    std::fs::write(dir.0.join(file_name(1, false)), &bytes).unwrap();
    write_file(&dir.0, 2, 20..30, 10);
    let mut r = reader(&dir.0);
    assert_eq!(request_rows(r.next_request(0..30, 30)), 0..10);
    let (rows, why) = missing_rows(r.next_request(10..30, 30));
    assert_eq!((rows, why), (10..20, "in a damaged file"));
    assert_eq!(request_rows(r.next_request(20..30, 30)), 20..30);
}

#[test]
fn catch_up_follows_a_gap_across_files_and_past_the_last_one() {
    let dir = TempDir::new("cu-span");
    write_file(&dir.0, 1, 0..10, 10);
    write_file(&dir.0, 2, 10..20, 4);
    let mut r = reader(&dir.0);
    assert_eq!(request_rows(r.next_request(0..5, 30)), 0..5);
    // The open file ends inside the gap: the rest comes from the next file.
    assert_eq!(request_rows(r.next_request(5..30, 30)), 5..10);
    // Its batches of 4 fill one request, up to the file's end.
    assert_eq!(request_rows(r.next_request(10..30, 30)), 10..20);
    // Numbered but in no file (and no later file): missing, after a second look.
    let (rows, why) = missing_rows(r.next_request(20..30, 30));
    assert_eq!(rows, 20..30);
    assert!(why.contains("lost before it was written"), "{why}");
}

#[test]
fn catch_up_requests_stay_within_the_limits() {
    let dir = TempDir::new("cu-limits");
    write_file(&dir.0, 1, 0..50, 50);
    let mut r = CatchupReader::new(
        dir.0.clone(),
        Signal::Logs,
        Limits {
            max_bytes: usize::MAX,
            max_items: 8,
        },
    );
    let mut at = 0;
    while at < 50 {
        let rows = request_rows(r.next_request(at..50, 50));
        assert_eq!(rows.start, at);
        assert!(rows.end - rows.start <= 8, "{rows:?}");
        at = rows.end;
    }
    assert_eq!(at, 50);
}

#[test]
fn catch_up_fills_requests_across_batches_within_the_limits_and_the_gap() {
    let dir = TempDir::new("cu-fill");
    // Batches of 3 rows.
    write_file(&dir.0, 1, 0..50, 3);
    let limited = |max_items| {
        CatchupReader::new(
            dir.0.clone(),
            Signal::Logs,
            Limits {
                max_bytes: usize::MAX,
                max_items,
            },
        )
    };
    let mut r = limited(8);
    let mut at = 0;
    let mut sizes = Vec::new();
    while at < 50 {
        let rows = request_rows(r.next_request(at..50, 50));
        assert_eq!(rows.start, at);
        sizes.push(rows.end - rows.start);
        at = rows.end;
    }
    assert_eq!(
        sizes,
        [8, 8, 8, 8, 8, 8, 2],
        "full requests whatever the batches"
    );
    // The gap's end (or `written`) stops it inside a batch.
    let mut r = limited(100);
    assert_eq!(request_rows(r.next_request(1..14, 50)), 1..14);
    assert_eq!(request_rows(r.next_request(14..50, 20)), 14..20);
    assert_eq!(request_rows(r.next_request(20..50, 50)), 20..50);
    // A byte limit: the request that holds a whole batch plus the next row's bytes is cut
    // before that row (and the row starts the next request).
    let one = {
        let mut r = limited(100);
        let super::catchup::Step::Request { request, .. } = r.next_request(0..3, 50) else {
            panic!("a request");
        };
        request.body.len()
    };
    let mut r = CatchupReader::new(
        dir.0.clone(),
        Signal::Logs,
        Limits {
            max_bytes: one + 10,
            max_items: 100,
        },
    );
    assert_eq!(request_rows(r.next_request(0..50, 50)), 0..3);
    assert_eq!(request_rows(r.next_request(3..50, 50)), 3..6);
}

#[test]
fn catch_up_fills_up_to_a_torn_batch_and_then_waits_for_it() {
    let dir = TempDir::new("cu-fill-torn");
    let path = dir.0.join(file_name(1, true));
    let mut bytes = stream_bytes(0..30, 10, true, false);
    let whole = stream_bytes(0..20, 10, true, false).len();
    bytes.truncate(whole + (bytes.len() - whole) / 2);
    std::fs::write(&path, &bytes).unwrap();
    let mut r = reader(&dir.0);
    // `written` says 25, the third batch is torn (a race with the writer): the request ends
    // before it, and the torn batch is "not yet", as without filling.
    assert_eq!(request_rows(r.next_request(0..30, 25)), 0..20);
    assert!(is_not_yet(&r.next_request(20..30, 25)));
    std::fs::write(&path, stream_bytes(0..30, 10, true, false)).unwrap();
    assert_eq!(request_rows(r.next_request(20..30, 30)), 20..30);
}

#[test]
fn catch_up_skips_a_batch_that_is_not_a_logs_batch() {
    use arrow_array::{Int32Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    let dir = TempDir::new("cu-schema");
    let schema = Arc::new(Schema::new_with_metadata(
        vec![Field::new("x", DataType::Int32, false)],
        [(FIRST_ROW_KEY.to_owned(), "0".to_owned())],
    ));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1; 6]))]).unwrap();
    let file = std::fs::File::create(dir.0.join(file_name(1, false))).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(file, &schema).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    write_file(&dir.0, 2, 6..10, 10);
    let mut r = reader(&dir.0);
    let (rows, why) = missing_rows(r.next_request(2..10, 10));
    assert_eq!((rows, why), (2..6, "in a batch that cannot be encoded"));
    assert_eq!(request_rows(r.next_request(6..10, 10)), 6..10);
}
