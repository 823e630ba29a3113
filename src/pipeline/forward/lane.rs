//! The scheduler of one (endpoint, signal): live records and catch-up from the files, sharing
//! the endpoint's `max_in_flight` requests fairly, with the ledger advanced after each outcome.
//!
//! Every global row at or above the cursor is in exactly one place: acknowledged above the
//! cursor (ledger), in flight, in the live queue, or in the **gaps** (to be read from the
//! files). Gaps come from: rows at or above the cursor that were stored before this run's first
//! live record (restart), live records the queue could not take, and requests the transport
//! deferred (retries exhausted, breaker open). The loop:
//!
//! 1. fills free request slots: when both live records and a catch-up request are waiting,
//!    the kind with fewer requests in flight goes next (ties alternate), so each kind gets at
//!    least half the slots (live is never starved, catch-up always progresses); alone, a kind
//!    may use all of them;
//! 2. waits for an outcome, a new live record, the next catch-up request, the stop signal, or
//!    a poll tick (new rows written, the breaker closing).
//!
//! Catch-up requests are read and encoded **off the loop's thread** (tokio's blocking pool),
//! one request ahead: while a gap below `written()` is waiting, the reader is working on the
//! next request or that request is ready. So reading the files (IPC decode, decompression) and
//! the reverse path's encoding overlap with the HTTP/2 connection, which runs on the loop's
//! thread, and with the endpoint's work, instead of stalling both. The rows of a request the
//! reader produced leave the gaps at once; if the lane stops before sending it, they stay on
//! disk (not acknowledged) and are sent after the next start.
//! 3. on an outcome: `Accepted` acknowledges the rows (partial-success rejections counted);
//!    `Dropped` (non-retryable) acknowledges them too and counts them as dropped, so one bad
//!    batch does not stall forwarding; `Deferred` turns them into a gap and pauses sending for a
//!    growing backoff. While the transport is unavailable nothing is sent and nothing is
//!    dropped: live records that do not fit the queue become gaps, read later from the files.
#![forbid(unsafe_code)]

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::catchup::{CatchupReader, Step};
use super::ledger::Ledger;
use super::queue::LiveQueue;
use super::ranges::RangeSet;
use super::seam::{ExportOutcome, ExportRequest, RequestBuilder, RowWatermarks, Transport};
use super::stats::LaneStats;
use crate::signal::Signal;
use crate::sync::{AtomicU64, Ordering};

/// How a lane paces itself.
#[derive(Debug, Clone)]
pub(crate) struct LaneOptions {
    /// Requests outstanding at once (at least 1).
    pub(crate) max_in_flight: usize,
    /// Request limits (bytes before compression, items).
    pub(crate) max_request_bytes: usize,
    /// Most items per request.
    pub(crate) max_request_items: u64,
    /// How often to look for newly written rows and for the transport becoming available.
    pub(crate) poll: Duration,
    /// First and longest pause after a deferred request.
    pub(crate) backoff_initial: Duration,
    /// Longest pause after deferred requests.
    pub(crate) backoff_max: Duration,
    /// After a stop request, how long the lane keeps sending what is queued, waiting to be
    /// caught up and in flight (within the shutdown deadline); then it leaves the rest on disk.
    pub(crate) stop_grace: Duration,
}

impl Default for LaneOptions {
    fn default() -> Self {
        LaneOptions {
            max_in_flight: 4,
            max_request_bytes: 4 << 20,
            max_request_items: 8192,
            poll: Duration::from_millis(50),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            stop_grace: Duration::from_secs(2),
        }
    }
}

/// Which path a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Records from the live queue.
    Live,
    /// Rows read back from the files.
    Catchup,
}

/// When a stopping lane gives up.
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    /// Set once to ask the lane to finish.
    pub(crate) requested: Arc<tokio::sync::Notify>,
    /// Set with the stop request: `true` once a stop was asked for.
    pub(crate) flag: Arc<crate::sync::AtomicBool>,
    /// Set when the stop deadline passed: finish now, abandoning requests in flight.
    pub(crate) abort: Arc<crate::sync::AtomicBool>,
}

impl Stop {
    /// A stop signal not yet given.
    pub(crate) fn new() -> Stop {
        Stop {
            requested: Arc::new(tokio::sync::Notify::new()),
            flag: Arc::new(crate::sync::AtomicBool::new(false)),
            abort: Arc::new(crate::sync::AtomicBool::new(false)),
        }
    }

    /// Asks every lane to finish at once.
    pub(crate) fn abort(&self) {
        self.abort.store(true, Ordering::Release);
        self.request();
    }

    fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    /// Asks every lane holding a clone to finish.
    pub(crate) fn request(&self) {
        self.flag.store(true, Ordering::Release);
        self.requested.notify_waiters();
    }

    fn is_requested(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

/// One (endpoint, signal) forwarding loop.
#[derive(Debug)]
pub(crate) struct Lane<T> {
    pub(crate) signal: Signal,
    pub(crate) transport: T,
    pub(crate) queue: Arc<LiveQueue>,
    pub(crate) ledger: Ledger,
    /// `None` only while it works on the blocking pool (inside [`Lane::run`]).
    pub(crate) catchup: Option<CatchupReader>,
    pub(crate) marks: Arc<RowWatermarks>,
    /// Raised by the deletion gate when retention deleted files by total size: rows below it
    /// are gone from disk.
    pub(crate) floor: Arc<AtomicU64>,
    pub(crate) stats: Arc<LaneStats>,
    pub(crate) options: LaneOptions,
    /// Reused for every live request (it keeps its buffer's spare capacity).
    pub(crate) builder: Option<RequestBuilder>,
}

/// The loop's working state.
struct Run {
    gaps: RangeSet,
    /// Start of the rows stored before the first live record, not yet added to `gaps`.
    initial_from: Option<u64>,
    in_flight: [usize; 2],
    last: Kind,
    paused_until: Option<Instant>,
    backoff: Duration,
    /// The next catch-up request, read and encoded ahead (its rows are out of `gaps`).
    ahead: Option<(Range<u64>, ExportRequest)>,
    /// No catch-up read before this (the last one found nothing readable yet).
    read_after: Option<Instant>,
}

/// A catch-up read on the blocking pool: the reader comes back with its step.
type Reading = tokio::task::JoinHandle<(CatchupReader, Step)>;

impl<T: Transport> Lane<T> {
    /// Runs until `stop` is requested and then until nothing is left to send (or the
    /// transport is unavailable); returns the ledger (persisted).
    pub(crate) async fn run(mut self, stop: Stop) -> Ledger {
        let mut run = Run {
            gaps: RangeSet::new(),
            initial_from: Some(self.ledger.cursor()),
            in_flight: [0, 0],
            last: Kind::Catchup,
            paused_until: None,
            backoff: self.options.backoff_initial,
            ahead: None,
            read_after: None,
        };
        let mut reading: Option<Reading> = None;
        let mut tasks: JoinSet<(Kind, Range<u64>, u64, ExportOutcome)> = JoinSet::new();
        let max = self.options.max_in_flight.max(1);
        let mut stop_seen: Option<Instant> = None;
        loop {
            if stop.is_aborted() {
                break;
            }
            // Batched cursor writes (see the ledger): the time bound is checked here.
            self.ledger.persist_if_due();
            let written = self.marks.written();
            self.collect_gaps(&mut run, written);
            self.apply_floor(&mut run);
            self.publish(&run, tasks.len());

            let now = Instant::now();
            if reading.is_none() {
                reading = self.read_ahead(&mut run, written, now);
            }
            if run.paused_until.is_some_and(|t| t <= now) && self.transport.is_available() {
                run.paused_until = None;
            }
            let can_send = run.paused_until.is_none() && self.transport.is_available();
            if can_send {
                while tasks.len() < max {
                    let reading_now = reading.is_some();
                    let Some((kind, rows, request)) = self.next_request(&mut run, reading_now)
                    else {
                        break;
                    };
                    if reading.is_none() {
                        reading = self.read_ahead(&mut run, written, now);
                    }
                    run.in_flight[kind as usize] += 1;
                    run.last = kind;
                    let items = request.items;
                    self.stats.requests(kind, items);
                    let t = self.transport.clone();
                    tasks.spawn_local(async move { (kind, rows, items, t.export(request).await) });
                }
            }
            if stop.is_requested() {
                let since = *stop_seen.get_or_insert(now);
                let idle = tasks.is_empty()
                    && self.queue.is_empty()
                    && run.ahead.is_none()
                    && reading.is_none()
                    && run.initial_from.is_none_or(|c| c >= written)
                    && run.gaps.first_below(written).is_none();
                // An unavailable endpoint is not waited for; an available one gets the grace.
                if idle || !self.transport.is_available() || now >= since + self.options.stop_grace
                {
                    break;
                }
            }
            // With records queued and a free slot, the slot is kept for the catch-up request
            // being read: its completion (a branch below) wakes the loop, not the queue.
            let room =
                can_send && tasks.len() < max && (reading.is_none() || self.queue.is_empty());
            tokio::select! {
                done = tasks.join_next(), if !tasks.is_empty() => {
                    if let Some(Ok((kind, rows, items, outcome))) = done {
                        run.in_flight[kind as usize] -= 1;
                        self.outcome(&mut run, kind, rows, items, outcome);
                    }
                }
                step = async {
                    match reading.as_mut() {
                        Some(r) => r.await,
                        None => std::future::pending().await,
                    }
                }, if reading.is_some() => {
                    reading = None;
                    match step {
                        Ok((reader, step)) => {
                            self.catchup = Some(reader);
                            self.step(&mut run, step);
                        }
                        // The read panicked (a bug): the reader is gone; rows stay gaps, and
                        // are sent after the next start.
                        Err(e) => tracing::error!(signal = %self.signal, error = %e,
                            "the catch-up reader failed; catch-up stops until the next start"),
                    }
                }
                () = self.queue.wait(), if room => {}
                () = stop.requested.notified(), if !stop.is_requested() => {}
                () = tokio::time::sleep(self.options.poll) => {}
            }
        }
        // Requests still in flight are abandoned (their rows stay on disk and are resent after
        // a restart).
        tasks.abort_all();
        self.ledger.persist();
        self.publish(&run, 0);
        self.ledger
    }

    /// Moves queue gaps and newly stored pre-start rows into `run.gaps` (minus rows the
    /// ledger has acknowledged already: ranges acknowledged out of order before a restart).
    fn collect_gaps(&self, run: &mut Run, written: u64) {
        self.queue.take_gaps(&mut run.gaps);
        if run.initial_from.is_some() {
            self.collect_initial(run, written);
            for r in self.ledger.acked_above().iter() {
                run.gaps.remove(r);
            }
        }
    }

    fn collect_initial(&self, run: &mut Run, written: u64) {
        if let Some(from) = run.initial_from {
            // `written` was loaded before `first_seen`: the drain offers a record before its
            // rows can be written, so rows below `written` that are not at or after the first
            // live record were stored before it.
            match self.queue.first_seen() {
                Some(first) => {
                    run.gaps.insert(from..first.max(from));
                    run.initial_from = None;
                }
                None if written > from => {
                    run.gaps.insert(from..written);
                    run.initial_from = Some(written);
                }
                None => {}
            }
        }
    }

    /// Rows below the floor were deleted from disk: those still waiting in `gaps` are lost.
    fn apply_floor(&mut self, run: &mut Run) {
        let floor = self.floor.load(Ordering::Acquire);
        if floor <= self.ledger.cursor() {
            return;
        }
        let mut lost = RangeSet::new();
        for r in run.gaps.iter() {
            if r.start >= floor {
                break;
            }
            lost.insert(r.start..r.end.min(floor));
        }
        if let Some(from) = run.initial_from
            && from < floor
        {
            lost.insert(from..floor);
            run.initial_from = Some(floor);
        }
        if lost.is_empty() {
            return;
        }
        run.gaps.remove_below(floor);
        for r in lost.iter() {
            self.stats.retention_lost(r.end - r.start);
            self.ledger.ack(r);
        }
        tracing::warn!(signal = %self.signal, rows = lost.rows(),
            "retention deleted files (max_total_bytes) before they were forwarded; rows lost for forwarding");
    }

    /// Starts reading the next catch-up request on the blocking pool, when there is a gap
    /// below `written`, no request is ready ahead and the reader is here.
    fn read_ahead(&mut self, run: &mut Run, written: u64, now: Instant) -> Option<Reading> {
        if run.ahead.is_some() || run.read_after.is_some_and(|t| now < t) {
            return None;
        }
        let gap = run.gaps.first_below(written)?;
        let mut reader = self.catchup.take()?;
        Some(tokio::task::spawn_blocking(move || {
            let step = reader.next_request(gap, written);
            (reader, step)
        }))
    }

    /// What the reader found for the first gap.
    fn step(&mut self, run: &mut Run, step: Step) {
        match step {
            Step::Request { request, rows } => {
                run.gaps.remove(rows.clone());
                run.ahead = Some((rows, request));
            }
            Step::Missing { rows, why } => {
                run.gaps.remove(rows.clone());
                self.stats.missing(rows.end - rows.start);
                tracing::warn!(signal = %self.signal, rows = rows.end - rows.start,
                    first = rows.start, why, "rows cannot be forwarded");
                self.ledger.ack(rows);
            }
            // Catch-up tries again after the next poll interval.
            Step::NotYet => run.read_after = Some(Instant::now() + self.options.poll),
        }
    }

    /// The next request, from the kind whose turn it is. `reading`: a catch-up request is
    /// being read; catch-up counts as waiting then (its turn is kept for it: `None`).
    fn next_request(
        &mut self,
        run: &mut Run,
        reading: bool,
    ) -> Option<(Kind, Range<u64>, ExportRequest)> {
        let live = !self.queue.is_empty();
        let catchup = run.ahead.is_some() || reading;
        let kind = match (live, catchup) {
            (false, false) => return None,
            (true, false) => Kind::Live,
            (false, true) => Kind::Catchup,
            (true, true) => {
                let (l, c) = (run.in_flight[0], run.in_flight[1]);
                if l != c {
                    if l < c { Kind::Live } else { Kind::Catchup }
                } else if run.last == Kind::Live {
                    Kind::Catchup
                } else {
                    Kind::Live
                }
            }
        };
        match kind {
            Kind::Live => self.live_request(),
            // `None` while the request is still being read: the slot waits for it.
            Kind::Catchup => {
                let (rows, request) = run.ahead.take()?;
                Some((Kind::Catchup, rows, request))
            }
        }
    }

    /// A request of the queued live records (whole records, contiguous rows, within the
    /// limits); `None` when nothing is queued.
    fn live_request(&mut self) -> Option<(Kind, Range<u64>, ExportRequest)> {
        let b = self.builder.get_or_insert_with(|| {
            RequestBuilder::new(
                self.signal,
                self.options.max_request_bytes,
                self.options.max_request_items,
            )
        });
        let rows = self
            .queue
            .take_while(|rec| b.try_push(&rec.bytes, u64::from(rec.rows)));
        if b.is_empty() {
            return None;
        }
        Some((Kind::Live, rows, b.take()))
    }

    fn outcome(
        &mut self,
        run: &mut Run,
        kind: Kind,
        rows: Range<u64>,
        items: u64,
        outcome: ExportOutcome,
    ) {
        match outcome {
            ExportOutcome::Accepted { rejected, .. } => {
                self.stats.accepted(kind, items, rejected);
                self.ledger.ack(rows);
                run.backoff = self.options.backoff_initial;
            }
            ExportOutcome::Dropped { .. } => {
                // The transport logged it with its reason; the rows are done (counted).
                self.stats.dropped(items);
                self.ledger.ack(rows);
            }
            ExportOutcome::Deferred { last_error } => {
                self.stats.deferred(items);
                tracing::debug!(signal = %self.signal, error = %last_error,
                    "request deferred; its rows will be read back from the files");
                run.gaps.insert(rows);
                run.paused_until = Some(Instant::now() + run.backoff);
                run.backoff = (run.backoff * 2).min(self.options.backoff_max);
            }
        }
        self.stats.set_persist_errors(self.ledger.persist_errors());
    }

    fn publish(&self, run: &Run, in_flight: usize) {
        let decoded = self.marks.decoded();
        self.stats.publish(
            self.ledger.cursor(),
            decoded,
            in_flight as u64,
            run.gaps.rows(),
        );
    }
}
