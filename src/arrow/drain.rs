//! The drain thread: moves one signal's records from its ring into Arrow files.
//!
//! One drain thread per signal is the ring's one consumer. It reads committed records, decodes
//! each straight into the decoder's Arrow builders, cuts a batch when `max_batch_rows` rows are
//! buffered or the oldest buffered row is `flush_interval` old (whichever comes first), and hands
//! the batch to its [`SignalWriter`]. It promises:
//!
//! - **Nothing accepted disappears silently.** A batch the writer could not store (full disk,
//!   directory removed, ...) is kept and retried with backoff; while it waits, the thread reads
//!   nothing more, so records wait in the ring and what the ring cannot hold is refused to
//!   producers (`Full`, counted there). A record that does not decode is counted in
//!   `decode_errors`. At shutdown, whatever could not be written before the deadline is counted in
//!   `lost_rows` / `lost_records`.
//! - **`flush` means on disk.** [`DrainHandle::flush`] returns once every record committed
//!   before the call is in a finalized `.arrow` file (or reports why not).
//! - **Bounded memory.** At most one batch of about `max_batch_rows` rows is buffered, plus the
//!   ring itself.
//! - **Every row has a global number** ([`crate::arrow::tap`]): rows are numbered in the order
//!   they decode, from the writer's [`next_row`](SignalWriter::next_row) (raised to
//!   [`DrainOptions::first_row_floor`]) on, and every file records the number of its first
//!   row. An optional [`RecordTap`] is offered each decoded record with its row range, on this
//!   thread, before the record's bytes are released in the ring; [`DrainHandle::watermarks`]
//!   says how far decoding and writing have got.
//!
//! The thread never spins: when the ring is empty it sleeps with growing pauses (capped by
//! `idle_max`), and a flush or a stop request wakes it at once through a condition variable.
//! That wake-up is outside the producers' hot path (producers never notify).
#![forbid(unsafe_code)]

use crate::sync::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use std::collections::VecDeque;

use arrow_array::RecordBatch;

use super::decode::{DecodeErrorKind, Decoder};
use super::tap::{RecordTap, RowWatermarks};
use super::writer::{Backoff, SignalWriter, StorageError};
use crate::ring::Ring;
use crate::signal::Signal;

/// How a drain thread cuts batches and paces itself.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Cut a batch once this many rows are buffered.
    pub max_batch_rows: usize,
    /// Cut a batch once its oldest row has waited this long.
    pub flush_interval: Duration,
    /// Longest pause while the ring is empty.
    pub idle_max: Duration,
    /// Records read per ring call.
    pub read_limit: usize,
    /// First and longest pause between retries of a failed write.
    pub retry_initial: Duration,
    /// Longest pause between retries of a failed write.
    pub retry_max: Duration,
    /// How often the writer's `tick` (age rotation, retention) runs.
    pub tick_interval: Duration,
    /// The first global row number is at least this (default 0): the forwarder passes its
    /// highest cursor, so rows it acknowledged before a restart are never renumbered.
    pub first_row_floor: u64,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            max_batch_rows: 8192,
            flush_interval: Duration::from_secs(1),
            idle_max: Duration::from_millis(5),
            read_limit: 256,
            retry_initial: Duration::from_millis(10),
            retry_max: Duration::from_secs(2),
            tick_interval: Duration::from_secs(1),
            first_row_floor: 0,
        }
    }
}

/// Counters of one drain thread, readable from any thread.
#[derive(Debug, Default)]
pub struct DrainStats {
    decode_errors: AtomicU64,
    write_retries: AtomicU64,
    lost_rows: AtomicU64,
    lost_records: AtomicU64,
    flushes: AtomicU64,
}

/// A plain copy of [`DrainStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainStatsSnapshot {
    /// Records that did not decode (skipped and logged).
    pub decode_errors: u64,
    /// Failed batch writes that were retried.
    pub write_retries: u64,
    /// Decoded rows never written, counted at shutdown (deadline passed, writes failing).
    pub lost_rows: u64,
    /// Records still in the ring at shutdown, never read.
    pub lost_records: u64,
    /// Completed flush requests.
    pub flushes: u64,
}

impl DrainStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> DrainStatsSnapshot {
        DrainStatsSnapshot {
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            write_retries: self.write_retries.load(Ordering::Relaxed),
            lost_rows: self.lost_rows.load(Ordering::Relaxed),
            lost_records: self.lost_records.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
        }
    }
}

/// Requests from other threads, and the drain's answers.
#[derive(Debug, Default)]
struct Requests {
    /// Flush requests made (a sequence number) and completed.
    flush_requested: u64,
    flush_done: u64,
    /// The last flush's error, if it failed.
    flush_error: Option<String>,
    /// Stop: drain everything until this instant, then close.
    stop_by: Option<Instant>,
}

#[derive(Debug, Default)]
struct Control {
    requests: Mutex<Requests>,
    wake: Condvar,
    done: Condvar,
    /// Lets the drain loop check for requests with one load instead of taking the lock.
    pending: AtomicBool,
}

impl Control {
    fn lock(&self) -> std::sync::MutexGuard<'_, Requests> {
        // A poisoned lock only means another thread panicked while holding it; the data (plain
        // counters) is still consistent, so carry on rather than propagate the panic.
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a flush did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlushError {
    /// The drain did not finish within the timeout (it keeps trying).
    TimedOut,
    /// Writing or finalizing failed; the message names the path and the error.
    Storage(String),
    /// The drain thread has stopped.
    Stopped,
}

impl core::fmt::Display for FlushError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FlushError::TimedOut => f.write_str("flush timed out"),
            FlushError::Storage(e) => write!(f, "flush failed: {e}"),
            FlushError::Stopped => f.write_str("the drain thread has stopped"),
        }
    }
}

impl std::error::Error for FlushError {}

/// What a drain thread reports when it ends.
#[derive(Debug, Clone, Default)]
pub struct DrainReport {
    /// The last file finalized at shutdown, if any.
    pub last_file: Option<std::path::PathBuf>,
    /// Counters at the end.
    pub stats: DrainStatsSnapshot,
    /// The error that ended the final close, if any.
    pub close_error: Option<String>,
}

/// The owner's handle on a running drain thread.
#[derive(Debug)]
pub struct DrainHandle {
    signal: Signal,
    control: Arc<Control>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    thread: Option<JoinHandle<DrainReport>>,
}

/// Starts the drain thread of `ring`, without a tap ([`spawn_with_tap`]).
pub fn spawn(
    ring: Arc<Ring>,
    decoder: Box<dyn Decoder>,
    writer: SignalWriter,
    options: DrainOptions,
) -> std::io::Result<DrainHandle> {
    spawn_with_tap(ring, decoder, writer, options, None)
}

/// Starts the drain thread of `ring`; `tap`, if any, is offered every decoded record. The
/// thread takes the ring's one consumer; if another consumer is alive it ends at once, and its
/// report's `close_error` says so.
pub fn spawn_with_tap(
    ring: Arc<Ring>,
    decoder: Box<dyn Decoder>,
    mut writer: SignalWriter,
    options: DrainOptions,
    tap: Option<Box<dyn RecordTap>>,
) -> std::io::Result<DrainHandle> {
    let signal = writer.signal();
    let control = Arc::new(Control::default());
    let stats = Arc::new(DrainStats::default());
    writer.set_first_row_floor(options.first_row_floor);
    let next_row = writer.next_row();
    let marks = Arc::new(RowWatermarks::starting_at(next_row));
    let (c, s, m) = (control.clone(), stats.clone(), marks.clone());
    let thread = std::thread::Builder::new()
        .name(format!("otlp-arrow-drain-{signal}"))
        .spawn(move || {
            let mut drain = Drain {
                ring: &ring,
                decoder,
                writer: Some(writer),
                options,
                control: c,
                stats: s,
                marks: m,
                tap,
                next_row,
                oldest_row: None,
                pending: VecDeque::new(),
                retry_at: None,
                backoff: None,
                last_tick: Instant::now(),
            };
            drain.run()
        })?;
    Ok(DrainHandle {
        signal,
        control,
        stats,
        marks,
        thread: Some(thread),
    })
}

impl DrainHandle {
    /// The signal this thread drains.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Its counters.
    pub fn stats(&self) -> DrainStatsSnapshot {
        self.stats.snapshot()
    }

    /// How far row numbering and writing have got (shared; stays valid after the thread ends).
    pub fn watermarks(&self) -> Arc<RowWatermarks> {
        self.marks.clone()
    }

    /// Writes every record committed before this call and finalizes the current file. Waits up
    /// to `timeout`.
    ///
    /// # Errors
    /// [`FlushError`] when the data could not be written in time or at all.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = Instant::now() + timeout;
        let mut req = self.control.lock();
        if req.stop_by.is_some() || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
            return Err(FlushError::Stopped);
        }
        req.flush_requested += 1;
        let mine = req.flush_requested;
        self.control.pending.store(true, Ordering::Release);
        self.control.wake.notify_all();
        while req.flush_done < mine {
            let now = Instant::now();
            if now >= deadline {
                return Err(FlushError::TimedOut);
            }
            req = self
                .control
                .done
                .wait_timeout(req, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if req.flush_done < mine && self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return Err(FlushError::Stopped);
            }
        }
        match &req.flush_error {
            Some(e) => Err(FlushError::Storage(e.clone())),
            None => Ok(()),
        }
    }

    /// Stops the thread: it reads and writes everything still in the ring (trying until
    /// `deadline` from now), finalizes the last file and exits. Counts what it could not write.
    /// Call after producers have stopped, or records committed meanwhile may be counted as lost.
    pub fn stop(mut self, deadline: Duration) -> DrainReport {
        self.request_stop(deadline);
        self.join()
    }

    fn request_stop(&self, deadline: Duration) {
        let mut req = self.control.lock();
        req.stop_by = Some(Instant::now() + deadline);
        self.control.pending.store(true, Ordering::Release);
        self.control.wake.notify_all();
    }

    fn join(&mut self) -> DrainReport {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(report)) => report,
            Some(Err(_)) => DrainReport {
                stats: self.stats.snapshot(),
                close_error: Some("the drain thread panicked".into()),
                ..DrainReport::default()
            },
            None => DrainReport::default(),
        }
    }
}

impl Drop for DrainHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.request_stop(Duration::from_secs(5));
            let _ = self.join();
        }
    }
}

struct Drain<'r> {
    ring: &'r Ring,
    decoder: Box<dyn Decoder>,
    writer: Option<SignalWriter>,
    options: DrainOptions,
    control: Arc<Control>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    tap: Option<Box<dyn RecordTap>>,
    /// The global number the next decoded row gets.
    next_row: u64,
    /// When the oldest buffered (decoded, unwritten) row arrived.
    oldest_row: Option<Instant>,
    /// Cut batches not yet stored with the global number of their first rows, oldest first
    /// (more than one only after a write failed or a record overflowed a batch's offsets).
    pending: VecDeque<(RecordBatch, u64)>,
    /// When the next write of `pending` may be tried (after a failure).
    retry_at: Option<Instant>,
    backoff: Option<Backoff>,
    last_tick: Instant,
}

impl Drain<'_> {
    fn run(&mut self) -> DrainReport {
        let ring = self.ring;
        let Some(mut consumer) = ring.consumer() else {
            return DrainReport {
                close_error: Some("another consumer holds the ring".into()),
                ..DrainReport::default()
            };
        };
        let mut idle = Duration::from_micros(50);
        loop {
            let now = Instant::now();
            // Requests first: one load when there are none.
            let (flush_target, stop_by) = if self.control.pending.load(Ordering::Acquire) {
                let req = self.control.lock();
                let flush = (req.flush_requested > req.flush_done).then_some(req.flush_requested);
                (flush, req.stop_by)
            } else {
                (None, None)
            };
            if let Some(stop_by) = stop_by {
                return self.shutdown(&mut consumer, stop_by);
            }
            if let Some(target) = flush_target {
                let result = self.flush_now(&mut consumer);
                let mut req = self.control.lock();
                req.flush_done = target;
                req.flush_error = result.err();
                if req.stop_by.is_none() {
                    self.control.pending.store(false, Ordering::Release);
                }
                self.stats.flushes.fetch_add(1, Ordering::Relaxed);
                self.control.done.notify_all();
                continue;
            }
            // A failed batch blocks reading until it is stored: records wait in the ring.
            if !self.pending.is_empty() {
                if let Some(at) = self.retry_at.filter(|at| now < *at) {
                    self.sleep_until_request(at - now);
                    continue;
                }
                let _ = self.write_pending();
                continue;
            }
            let read = self.read_some(&mut consumer);
            if self.should_cut(now) {
                let _ = self.cut_and_write();
            }
            if now.duration_since(self.last_tick) >= self.options.tick_interval {
                self.last_tick = now;
                if let Some(w) = self.writer.as_mut() {
                    if let Err(e) = w.tick(SystemTime::now()) {
                        log_storage_error(w.signal(), "tick", &e);
                    }
                }
            }
            if read == 0 {
                let until_cut = self
                    .oldest_row
                    .map(|t| (t + self.options.flush_interval).saturating_duration_since(now));
                let pause = until_cut.map_or(idle, |d| d.min(idle));
                self.sleep_until_request(pause);
                idle = (idle * 2).min(self.options.idle_max);
            } else {
                idle = Duration::from_micros(50);
            }
        }
    }

    /// Waits up to `pause`, or less if a flush or stop request arrives.
    fn sleep_until_request(&self, pause: Duration) {
        if pause.is_zero() {
            return;
        }
        let req = self.control.lock();
        if !self.control.pending.load(Ordering::Acquire) {
            let _ = self.control.wake.wait_timeout(req, pause);
        }
    }

    /// Reads up to `read_limit` records into the decoder, stopping as soon as a batch is full
    /// so batches stay close to `max_batch_rows`; returns records read.
    fn read_some(&mut self, consumer: &mut crate::ring::Consumer<'_>) -> usize {
        let decoder = &mut self.decoder;
        let pending = &mut self.pending;
        let stats = &self.stats;
        let tap = &mut self.tap;
        let next_row = &mut self.next_row;
        let signal = decoder.signal();
        let rows_before = decoder.rows();
        let mut n = 0;
        // One record per ring call: a record may hold many rows, and the batch must be cut
        // between records. A call costs a header load and a head store, no atomic RMW.
        while n < self.options.read_limit && decoder.rows() < self.options.max_batch_rows {
            let got = consumer.read(1, |_kind, record| {
                let mut result = decoder.append(record);
                if matches!(&result, Err(e) if e.kind() == DecodeErrorKind::BatchFull) {
                    // The record fits, only not in this batch: cut it and append again.
                    let first = *next_row - decoder.rows() as u64;
                    pending.push_back((decoder.finish(), first));
                    result = decoder.append(record);
                }
                match result {
                    Ok(rows) => {
                        let first = *next_row;
                        *next_row += rows as u64;
                        if let Some(tap) = tap {
                            // A record's items fit a u32 many times over (the ring caps a
                            // record's size far below 4 G items).
                            tap.offer(record, first, u32::try_from(rows).unwrap_or(u32::MAX));
                        }
                    }
                    Err(e) => {
                        stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                        log_decode_error(signal, &e);
                    }
                }
            });
            if got == 0 {
                break;
            }
            n += got;
        }
        self.marks.set_decoded(self.next_row);
        if decoder.rows() > rows_before && self.oldest_row.is_none() {
            self.oldest_row = Some(Instant::now());
        }
        n
    }

    fn should_cut(&self, now: Instant) -> bool {
        let rows = self.decoder.rows();
        rows > 0
            && (rows >= self.options.max_batch_rows
                || self
                    .oldest_row
                    .is_some_and(|t| now.duration_since(t) >= self.options.flush_interval))
    }

    /// Cuts the buffered rows into a batch and writes it (after any older pending batch); on
    /// failure keeps it for a retry.
    fn cut_and_write(&mut self) -> Result<(), String> {
        if self.decoder.rows() > 0 {
            let first = self.next_row - self.decoder.rows() as u64;
            self.pending.push_back((self.decoder.finish(), first));
            self.oldest_row = None;
        }
        self.write_pending()
    }

    /// Writes the pending batches in order; on a failure schedules the next attempt with
    /// backoff and keeps the batch that failed (and those after it).
    fn write_pending(&mut self) -> Result<(), String> {
        let Some(writer) = self.writer.as_mut() else {
            return Err("writer closed".into());
        };
        while let Some((batch, first_row)) = self.pending.front() {
            if let Err(e) = writer.write_at(batch, *first_row, SystemTime::now()) {
                log_storage_error(writer.signal(), "write", &e);
                self.stats.write_retries.fetch_add(1, Ordering::Relaxed);
                let options = &self.options;
                let backoff = self
                    .backoff
                    .get_or_insert_with(|| Backoff::new(options.retry_initial, options.retry_max));
                self.retry_at = Some(Instant::now() + backoff.next_delay());
                return Err(e.to_string());
            }
            // The rows are in the file and handed to the OS: readers may read them now.
            self.marks.set_written(writer.next_row());
            self.pending.pop_front();
        }
        self.backoff = None;
        self.retry_at = None;
        Ok(())
    }

    /// Reads everything committed so far, writes it, and finalizes the file.
    fn flush_now(&mut self, consumer: &mut crate::ring::Consumer<'_>) -> Result<(), String> {
        // Pending batches go first, so order is kept.
        self.write_pending()?;
        loop {
            while self.read_some(consumer) > 0 && self.decoder.rows() < self.options.max_batch_rows
            {
            }
            let more = !consumer.is_empty();
            self.cut_and_write()?;
            if !more {
                break;
            }
        }
        let Some(writer) = self.writer.as_mut() else {
            return Err("writer closed".into());
        };
        writer.finalize(SystemTime::now()).map(|_| ()).map_err(|e| {
            log_storage_error(writer.signal(), "finalize", &e);
            e.to_string()
        })
    }

    /// Drains the ring and the buffered rows until `stop_by`, then closes the writer.
    fn shutdown(
        &mut self,
        consumer: &mut crate::ring::Consumer<'_>,
        stop_by: Instant,
    ) -> DrainReport {
        let mut report = DrainReport::default();
        loop {
            let now = Instant::now();
            if now >= stop_by {
                break;
            }
            if !self.pending.is_empty() {
                if let Some(at) = self.retry_at.filter(|at| now < *at) {
                    std::thread::sleep((at - now).min(stop_by - now));
                }
                let _ = self.write_pending();
                continue;
            }
            let read = self.read_some(consumer);
            let rows = self.decoder.rows();
            if rows >= self.options.max_batch_rows || (read == 0 && rows > 0) {
                let _ = self.cut_and_write();
                continue;
            }
            if read == 0 && rows == 0 {
                break;
            }
        }
        // Whatever is left could not be written before the deadline.
        let mut lost_rows = self.decoder.rows() as u64;
        lost_rows += self
            .pending
            .drain(..)
            .map(|(b, _)| b.num_rows() as u64)
            .sum::<u64>();
        let lost_records = consumer.drain(usize::MAX, |_, _| {}) as u64;
        self.stats.lost_rows.fetch_add(lost_rows, Ordering::Relaxed);
        self.stats
            .lost_records
            .fetch_add(lost_records, Ordering::Relaxed);
        if let Some(writer) = self.writer.take() {
            let signal = writer.signal();
            match writer.close(SystemTime::now()) {
                Ok(path) => report.last_file = path,
                Err(e) => {
                    log_storage_error(signal, "close", &e);
                    report.close_error = Some(e.to_string());
                }
            }
        }
        report.stats = self.stats.snapshot();
        report
    }
}

fn log_storage_error(signal: Signal, what: &str, e: &StorageError) {
    tracing::warn!(%signal, operation = what, error = %e, "storage operation failed; will retry");
}

fn log_decode_error(signal: Signal, e: &dyn core::fmt::Display) {
    tracing::warn!(%signal, error = %e, "record skipped: it does not decode");
}
