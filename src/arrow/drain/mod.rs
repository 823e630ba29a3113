//! The drain: moves one signal's records from its ring into Arrow files, on two threads.
//!
//! The **drain thread** is the ring's one consumer. It reads committed records, decodes each
//! straight into the decoder's Arrow builders, cuts a batch when `max_batch_rows` rows are
//! buffered or the oldest buffered row is `flush_interval` old (whichever comes first), and
//! hands the batch — the decoder holding it, swapped for an empty one — to the signal's
//! **writer thread** (`writer_thread`), which finishes it into a `RecordBatch`, owns the
//! [`SignalWriter`] and does the IPC encoding, compression and `write(2)`, and hands the emptied
//! decoder back for reuse. The hand-off queue holds one batch, so decoding the next batch and
//! finishing + writing this one overlap on two cores (the drain thread is the one serial stage
//! per signal, so it does only what must be serial: reading the ring in order, decoding, row
//! numbers and the tap). It promises:
//!
//! - **Nothing accepted disappears silently.** A batch the writer could not store (full disk,
//!   directory removed, ...) is kept and retried with backoff; while it waits, the queue stays
//!   full, the drain thread reads nothing more, so records wait in the ring and what the ring
//!   cannot hold is refused to producers (`Full`, counted there). A record that does not decode
//!   is counted in `decode_errors`. At shutdown, whatever could not be written before the
//!   deadline (decoded, queued or being retried) is counted in `lost_rows`, records never read
//!   in `lost_records`.
//! - **Order is kept.** Batches are stored in the order their rows were decoded, one at a time.
//! - **`flush` means on disk.** [`DrainHandle::flush`] returns once every record committed
//!   before the call is in a finalized `.arrow` file (or reports why not: a batch the writer
//!   cannot store is retried at once, and its error returned if it fails again).
//! - **Bounded memory.** At most about three batches of `max_batch_rows` rows are buffered (one
//!   being decoded, one queued, one being written: two decoders take turns), plus the ring
//!   itself.
//! - **Every row has a global number** ([`crate::arrow::tap`]): rows are numbered in the order
//!   they decode, from the writer's [`next_row`](SignalWriter::next_row) (raised to
//!   [`DrainOptions::first_row_floor`]) on, and every file records the number of its first
//!   row. An optional [`RecordTap`] is offered each decoded record with its row range, on the
//!   drain thread, before the record's bytes are released in the ring;
//!   [`DrainHandle::watermarks`] says how far decoding and writing have got (`written` moves
//!   on the writer thread, after each stored batch).
//!
//! Neither thread spins: when the ring is empty the drain thread sleeps with growing pauses
//! (capped by `idle_max`), and a flush or a stop request wakes it at once through a condition
//! variable; the writer thread sleeps until a batch is queued. Those wake-ups are outside the
//! producers' hot path (producers never notify).
#![forbid(unsafe_code)]

mod shared;
mod writer_thread;

use crate::sync::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use super::decode::{DecodeErrorKind, Decoder};
use super::tap::{RecordTap, RowWatermarks};
use super::writer::{SignalWriter, StorageError};
use crate::ring::Ring;
use crate::signal::Signal;
use shared::{Item, QUEUE_BATCHES, Shared, wait_timeout};
use writer_thread::WriterReport;

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

/// The owner's handle on a running drain (its drain and writer threads).
#[derive(Debug)]
pub struct DrainHandle {
    signal: Signal,
    shared: Arc<Shared>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    thread: Option<JoinHandle<DrainReport>>,
}

/// Starts the drain of `ring`, without a tap ([`spawn_with_tap`]).
pub fn spawn(
    ring: Arc<Ring>,
    decoder: Box<dyn Decoder>,
    writer: SignalWriter,
    options: DrainOptions,
) -> std::io::Result<DrainHandle> {
    spawn_with_tap(ring, decoder, writer, options, None)
}

/// Starts the drain of `ring` (a drain thread and a writer thread); `tap`, if any, is offered
/// every decoded record. The drain thread takes the ring's one consumer; if another consumer
/// is alive it ends at once, and its report's `close_error` says so.
pub fn spawn_with_tap(
    ring: Arc<Ring>,
    decoder: Box<dyn Decoder>,
    mut writer: SignalWriter,
    options: DrainOptions,
    tap: Option<Box<dyn RecordTap>>,
) -> std::io::Result<DrainHandle> {
    let signal = writer.signal();
    let shared = Arc::new(Shared::default());
    let stats = Arc::new(DrainStats::default());
    writer.set_first_row_floor(options.first_row_floor);
    let next_row = writer.next_row();
    let marks = Arc::new(RowWatermarks::starting_at(next_row));
    let writer_thread = writer_thread::spawn(
        writer,
        shared.clone(),
        stats.clone(),
        marks.clone(),
        &options,
    )?;
    let (sh, st, m) = (shared.clone(), stats.clone(), marks.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("otlp-arrow-drain-{signal}"))
        .spawn(move || {
            let mut drain = Drain {
                ring: &ring,
                decoder,
                options,
                shared: sh,
                stats: st,
                marks: m,
                tap,
                next_row,
                oldest_row: None,
                local: VecDeque::new(),
                decoders: 1,
                flush_seq: 0,
                writer_thread: Some(writer_thread),
            };
            drain.run()
        });
    match spawned {
        Ok(thread) => Ok(DrainHandle {
            signal,
            shared,
            stats,
            marks,
            thread: Some(thread),
        }),
        Err(e) => {
            // The writer thread has nothing to write: let it close (it finalizes nothing).
            shared.lock().close = true;
            shared.writer_wake.notify_all();
            Err(e)
        }
    }
}

impl DrainHandle {
    /// The signal this drain serves.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Its counters.
    pub fn stats(&self) -> DrainStatsSnapshot {
        self.stats.snapshot()
    }

    /// How far row numbering and writing have got (shared; stays valid after the threads end).
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
        let mut st = self.shared.lock();
        if st.stop_by.is_some() || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
            return Err(FlushError::Stopped);
        }
        st.flush_requested += 1;
        let mine = st.flush_requested;
        self.shared.set_request();
        self.shared.drain_wake.notify_all();
        while st.flush_done < mine {
            let now = Instant::now();
            if now >= deadline {
                return Err(FlushError::TimedOut);
            }
            st = wait_timeout(&self.shared.done, st, deadline - now);
            if st.flush_done < mine && self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return Err(FlushError::Stopped);
            }
        }
        match &st.flush_error {
            Some(e) => Err(FlushError::Storage(e.clone())),
            None => Ok(()),
        }
    }

    /// Stops the drain: it reads and writes everything still in the ring (trying until
    /// `deadline` from now), finalizes the last file and exits. Counts what it could not write.
    /// Call after producers have stopped, or records committed meanwhile may be counted as lost.
    pub fn stop(mut self, deadline: Duration) -> DrainReport {
        self.request_stop(deadline);
        self.join()
    }

    fn request_stop(&self, deadline: Duration) {
        let mut st = self.shared.lock();
        st.stop_by = Some(Instant::now() + deadline);
        self.shared.set_request();
        self.shared.drain_wake.notify_all();
        self.shared.writer_wake.notify_all();
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

/// Longest wait without looking at the shared state again (a safety net: every change
/// notifies).
const MAX_WAIT: Duration = Duration::from_millis(100);

/// Decoders a drain uses: one being decoded into while the other is queued or being finished
/// by the writer. Not more: each holds a batch's worth of buffers, and with two the memory
/// bound stays that of three batches (one decoding, one queued, one being written), as when
/// the drain thread finished batches itself. The writer hands a decoder back as soon as it has
/// finished it, before it writes the batch, so the drain waits for one only when it would have
/// waited for room in the queue anyway.
const DECODERS: usize = 2;

/// How long a flush waits for producers to commit claims made before it (they normally take
/// nanoseconds) before it reports a stalled producer.
const FLUSH_CLAIM_WAIT: Duration = Duration::from_secs(1);

struct Drain<'r> {
    ring: &'r Ring,
    decoder: Box<dyn Decoder>,
    options: DrainOptions,
    shared: Arc<Shared>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    tap: Option<Box<dyn RecordTap>>,
    /// The global number the next decoded row gets.
    next_row: u64,
    /// When the oldest buffered (decoded, not yet cut) row arrived.
    oldest_row: Option<Instant>,
    /// Cut batches (each in the decoder that holds it) the writer had no room for yet, with the
    /// global number of their first rows, oldest first (more than one only when a record
    /// overflowed a batch's offsets).
    local: VecDeque<(Box<dyn Decoder>, u64)>,
    /// Decoders made so far (this one, and those in `local`, queued, at the writer or spare):
    /// [`DECODERS`] unless a record overflowed a batch.
    decoders: usize,
    /// The last finalize marker queued (a flush).
    flush_seq: u64,
    writer_thread: Option<JoinHandle<WriterReport>>,
}

impl Drain<'_> {
    fn run(&mut self) -> DrainReport {
        let ring = self.ring;
        let Some(mut consumer) = ring.consumer() else {
            let mut report = self.close_writer();
            report.close_error = Some("another consumer holds the ring".into());
            return report;
        };
        let mut idle = Duration::from_micros(50);
        loop {
            let now = Instant::now();
            // Requests first: one load when there are none.
            if self.shared.has_request() {
                let (flush_target, stop_by) = {
                    let st = self.shared.lock();
                    let flush = (st.flush_requested > st.flush_done).then_some(st.flush_requested);
                    (flush, st.stop_by)
                };
                if let Some(stop_by) = stop_by {
                    return self.shutdown(&mut consumer, stop_by);
                }
                if let Some(target) = flush_target {
                    let result = self.flush_now(&mut consumer);
                    let mut st = self.shared.lock();
                    st.flush_done = target;
                    st.flush_error = result.err();
                    // Only when nothing else waits: a flush asked for meanwhile, or a stop.
                    if st.stop_by.is_none() && st.flush_requested == st.flush_done {
                        self.shared.clear_request();
                    }
                    self.stats.flushes.fetch_add(1, Ordering::Relaxed);
                    self.shared.done.notify_all();
                }
                continue;
            }
            // Batches the writer has no room for wait here, and nothing more is read meanwhile:
            // while the writer retries a failed batch, records wait in the ring.
            if !self.local.is_empty() {
                if !self.hand_off() {
                    self.wait_for_room(None);
                }
                continue;
            }
            let read = self.read_some(&mut consumer);
            if self.should_cut(now) {
                if self.cut() {
                    self.hand_off();
                } else if read == 0 {
                    // Full, and every other decoder is still with the writer.
                    self.wait_for_spare(None);
                    continue;
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
        let st = self.shared.lock();
        if !self.shared.has_request() {
            drop(wait_timeout(&self.shared.drain_wake, st, pause));
        }
    }

    /// Waits until the queue has room or the writer is gone; also until a request arrives
    /// (`until` is `None`: the main loop) or until `until` passes (shutdown, which is itself
    /// the request being served).
    fn wait_for_room(&self, until: Option<Instant>) {
        let st = self.shared.lock();
        let request = until.is_none() && self.shared.has_request();
        if st.queued_batches < QUEUE_BATCHES || st.writer_gone || request {
            return;
        }
        let now = Instant::now();
        let pause = until.map_or(MAX_WAIT, |u| u.saturating_duration_since(now).min(MAX_WAIT));
        drop(wait_timeout(&self.shared.drain_wake, st, pause));
    }

    /// Reads up to `read_limit` records into the decoder, stopping as soon as a batch is full
    /// so batches stay close to `max_batch_rows`; returns records read.
    fn read_some(&mut self, consumer: &mut crate::ring::Consumer<'_>) -> usize {
        let decoder = &mut self.decoder;
        let local = &mut self.local;
        let shared = &self.shared;
        let decoders = &mut self.decoders;
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
                    // A decoder is needed now: a spare one, or one more (this is rare).
                    let first = *next_row - decoder.rows() as u64;
                    let spare = shared.lock().spare.pop();
                    let fresh = spare.unwrap_or_else(|| {
                        *decoders += 1;
                        decoder.new_empty()
                    });
                    local.push_back((core::mem::replace(decoder, fresh), first));
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

    /// Cuts the buffered rows into a batch (behind any batch still waiting for the writer): the
    /// decoder holding them is swapped for an empty one. False when there is none yet (every
    /// other decoder is queued or with the writer): nothing changed, try again once the writer
    /// hands one back ([`Self::wait_for_spare`]).
    fn cut(&mut self) -> bool {
        if self.decoder.rows() == 0 {
            return true;
        }
        let fresh = match self.shared.lock().spare.pop() {
            Some(d) => d,
            None if self.decoders < DECODERS => {
                self.decoders += 1;
                self.decoder.new_empty()
            }
            None => return false,
        };
        let first = self.next_row - self.decoder.rows() as u64;
        let full = core::mem::replace(&mut self.decoder, fresh);
        self.local.push_back((full, first));
        self.oldest_row = None;
        true
    }

    /// Cuts, waiting for the writer to hand back a decoder if need be (see
    /// [`Self::wait_writer`]).
    fn cut_waiting(&mut self) -> Result<(), String> {
        while !self.cut() {
            self.wait_writer(|st| !st.spare.is_empty())?;
        }
        Ok(())
    }

    /// Waits until the writer hands back a decoder or is gone; also until a request arrives
    /// (`until` is `None`: the main loop) or until `until` passes (shutdown).
    fn wait_for_spare(&self, until: Option<Instant>) {
        let st = self.shared.lock();
        let request = until.is_none() && self.shared.has_request();
        if !st.spare.is_empty() || st.writer_gone || request {
            return;
        }
        let now = Instant::now();
        let pause = until.map_or(MAX_WAIT, |u| u.saturating_duration_since(now).min(MAX_WAIT));
        drop(wait_timeout(&self.shared.drain_wake, st, pause));
    }

    /// Moves waiting batches to the writer's queue while it has room; true if none is left.
    fn hand_off(&mut self) -> bool {
        if self.local.is_empty() {
            return true;
        }
        let mut st = self.shared.lock();
        if st.writer_gone {
            return false;
        }
        let mut moved = false;
        while st.queued_batches < QUEUE_BATCHES {
            let Some((rows, first_row)) = self.local.pop_front() else {
                break;
            };
            st.queue.push_back(Item::Batch(rows, first_row));
            st.queued_batches += 1;
            moved = true;
        }
        drop(st);
        if moved {
            self.shared.writer_wake.notify_all();
        }
        self.local.is_empty()
    }

    /// Waits until `done` holds of the shared state, for a flush: fails when the writer is
    /// gone, or when it holds a batch it cannot store and an immediate retry fails too.
    fn wait_writer(&self, mut done: impl FnMut(&shared::State) -> bool) -> Result<(), String> {
        let mut asked: Option<u64> = None;
        let mut st = self.shared.lock();
        loop {
            if done(&st) {
                return Ok(());
            }
            if st.writer_gone {
                return Err("the writer thread has stopped".into());
            }
            if let Some(e) = &st.writer_error {
                match asked {
                    None => {
                        asked = Some(st.failed_attempts);
                        st.retry_now = true;
                        self.shared.writer_wake.notify_all();
                    }
                    Some(n) if st.failed_attempts > n => return Err(e.clone()),
                    Some(_) => {}
                }
            }
            st = wait_timeout(&self.shared.drain_wake, st, MAX_WAIT);
        }
    }

    /// Hands every waiting batch to the writer, waiting for room (see [`Self::wait_writer`]).
    fn hand_off_all(&mut self) -> Result<(), String> {
        while !self.hand_off() {
            self.wait_writer(|st| st.queued_batches < QUEUE_BATCHES)?;
        }
        Ok(())
    }

    /// Reads everything committed so far, has it written, and the file finalized.
    fn flush_now(&mut self, consumer: &mut crate::ring::Consumer<'_>) -> Result<(), String> {
        // Every record committed before the flush was asked for was claimed below this
        // position. A record can be committed behind an earlier claim that another producer has
        // not committed yet; the consumer cannot pass that claim, so "nothing readable" does not
        // mean "everything read": read until the position is reached.
        let target = self.ring.claimed_position();
        let started = Instant::now();
        let mut pause = Duration::from_micros(10);
        // Waiting batches go first, so order is kept.
        self.hand_off_all()?;
        loop {
            while self.read_some(consumer) > 0 && self.decoder.rows() < self.options.max_batch_rows
            {
            }
            let more = !consumer.is_empty();
            self.cut_waiting()?;
            self.hand_off_all()?;
            if more {
                continue;
            }
            if consumer.position() >= target {
                break;
            }
            // A producer is between claim and commit (a few nanoseconds normally); a claim
            // held this long means a stalled producer, and the flush reports it.
            if started.elapsed() >= FLUSH_CLAIM_WAIT {
                return Err(format!(
                    "a producer has held an uncommitted {} record for over {FLUSH_CLAIM_WAIT:?}; \
                     records committed after it are not yet readable",
                    self.decoder.signal()
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
        self.flush_seq += 1;
        let seq = self.flush_seq;
        self.shared.lock().queue.push_back(Item::Finalize(seq));
        self.shared.writer_wake.notify_all();
        self.wait_writer(|st| st.finalized >= seq)?;
        match self.shared.lock().finalize_error.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Drains the ring and the buffered rows until `stop_by`, then has the writer store what
    /// is queued (until `stop_by` too) and close.
    fn shutdown(
        &mut self,
        consumer: &mut crate::ring::Consumer<'_>,
        stop_by: Instant,
    ) -> DrainReport {
        loop {
            let now = Instant::now();
            if now >= stop_by || self.shared.lock().writer_gone {
                break;
            }
            if !self.local.is_empty() {
                if !self.hand_off() {
                    self.wait_for_room(Some(stop_by));
                }
                continue;
            }
            let read = self.read_some(consumer);
            let rows = self.decoder.rows();
            if rows >= self.options.max_batch_rows || (read == 0 && rows > 0) {
                if self.cut() {
                    self.hand_off();
                } else {
                    self.wait_for_spare(Some(stop_by));
                }
                continue;
            }
            if read == 0 && rows == 0 {
                break;
            }
        }
        // Whatever the writer never got could not be written before the deadline.
        let mut lost_rows = self.decoder.rows() as u64;
        lost_rows += self
            .local
            .drain(..)
            .map(|(d, _)| d.rows() as u64)
            .sum::<u64>();
        let lost_records = consumer.drain(usize::MAX, |_, _| {}) as u64;
        self.stats.lost_rows.fetch_add(lost_rows, Ordering::Relaxed);
        self.stats
            .lost_records
            .fetch_add(lost_records, Ordering::Relaxed);
        self.close_writer()
    }

    /// Tells the writer thread that nothing more comes, waits for it, and reports.
    fn close_writer(&mut self) -> DrainReport {
        self.shared.lock().close = true;
        self.shared.writer_wake.notify_all();
        let mut report = DrainReport::default();
        match self.writer_thread.take().map(JoinHandle::join) {
            Some(Ok(w)) => {
                report.last_file = w.last_file;
                report.close_error = w.close_error;
            }
            Some(Err(_)) => {
                // It could not count what it held: the queued batches at least are lost.
                let lost = self.shared.lock().queued_rows();
                self.stats.lost_rows.fetch_add(lost, Ordering::Relaxed);
                report.close_error = Some("the writer thread panicked".into());
            }
            None => {}
        }
        report.stats = self.stats.snapshot();
        report
    }
}

/// Lets glibc's malloc keep the memory of per-batch buffers instead of returning it to the
/// kernel after every batch, by one allocation-and-free of a 31 MiB block that is never
/// touched (harmless with other allocators).
///
/// It changes malloc's behaviour for the whole process, so the library never calls it on its
/// own: the `otlp-arrow` service does at start. An embedder (C ABI, Rust) who wants the same
/// effect calls this, or sets `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864`.
///
/// Why: every batch allocates buffers of several MiB (the decoder's finished columns, arrow's
/// IPC body, and with lz4 a 4 MiB `FrameEncoder` per column buffer inside arrow-ipc) and frees
/// them soon after. glibc serves allocations above `M_MMAP_THRESHOLD` (128 KiB at start) with
/// fresh `mmap`s and trims a thread arena whose free top exceeds `M_TRIM_THRESHOLD`, so each
/// batch page-faults its buffers in again (zeroed pages: `clear_page`, `memset`, `munmap`):
/// measured at about half of the writer thread's time with lz4, and a fifth of the decoder's.
/// glibc raises both thresholds by itself when a `mmap`ed block is freed (`mallopt(3)`, "dynamic
/// mmap threshold": to that block's size, and trim to twice it, up to 32 MiB); freeing one
/// block of 31 MiB takes that adjustment to its end at once, for the whole process. Memory is
/// then reused from the arenas; what they keep is bounded by the batches' peak use, which the
/// drain already bounds.
pub fn raise_malloc_thresholds() {
    let block: Vec<u8> = Vec::with_capacity(31 << 20);
    // Opaque to the optimizer, or the unused allocation would be removed.
    drop(std::hint::black_box(block));
}

fn log_storage_error(signal: Signal, what: &str, e: &StorageError) {
    tracing::warn!(%signal, operation = what, error = %e, "storage operation failed; will retry");
}

fn log_decode_error(signal: Signal, e: &dyn core::fmt::Display) {
    tracing::warn!(%signal, error = %e, "record skipped: it does not decode");
}
