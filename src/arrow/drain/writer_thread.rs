//! The writer thread: takes the batches a drain thread cut, in order, finishes each into a
//! `RecordBatch` (the decoder's `finish`, whose emptied decoder goes back to the drain) and
//! stores it with the signal's [`SignalWriter`] (IPC encoding, compression, `write(2)`,
//! rotation, retention), so that decoding the next batch and writing this one run on two cores.
//!
//! It promises what the drain's module docs promise for storage: a batch that cannot be stored
//! is kept and retried with backoff (and at once when a flush asks) while the drain stops
//! handing it more, so records wait in the ring; a finalize marker is carried out only after
//! every batch queued before it is stored; at close it stores what is queued until the
//! deadline and counts the rest in `lost_rows`. When it ends, for whatever reason (even a
//! panic), it says so in the shared state, so the drain never waits for it forever.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use arrow_array::RecordBatch;

use super::shared::{Item, Shared, wait_timeout};
use super::{DrainOptions, DrainStats, log_storage_error};
use crate::arrow::tap::RowWatermarks;
use crate::arrow::writer::{Backoff, SignalWriter};
use crate::sync::Ordering;

/// What the writer thread reports when it ends.
#[derive(Debug, Default)]
pub(super) struct WriterReport {
    pub(super) last_file: Option<std::path::PathBuf>,
    pub(super) close_error: Option<String>,
}

struct WriterThread {
    writer: Option<SignalWriter>,
    shared: Arc<Shared>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    retry_initial: Duration,
    retry_max: Duration,
    tick_interval: Duration,
    /// The batch that could not be stored (and its first row's number), retried before
    /// anything else is taken from the queue.
    failed: Option<(RecordBatch, u64)>,
    retry_at: Option<Instant>,
    backoff: Option<Backoff>,
    last_tick: Instant,
}

/// Marks the writer gone when the thread ends, however it ends.
struct GoneGuard(Arc<Shared>);

impl Drop for GoneGuard {
    fn drop(&mut self) {
        self.0.lock().writer_gone = true;
        self.0.drain_wake.notify_all();
    }
}

pub(super) fn spawn(
    writer: SignalWriter,
    shared: Arc<Shared>,
    stats: Arc<DrainStats>,
    marks: Arc<RowWatermarks>,
    options: &DrainOptions,
) -> std::io::Result<JoinHandle<WriterReport>> {
    let signal = writer.signal();
    let t = WriterThread {
        writer: Some(writer),
        shared,
        stats,
        marks,
        retry_initial: options.retry_initial,
        retry_max: options.retry_max,
        tick_interval: options.tick_interval,
        failed: None,
        retry_at: None,
        backoff: None,
        last_tick: Instant::now(),
    };
    std::thread::Builder::new()
        .name(format!("otlp-arrow-write-{signal}"))
        .spawn(move || t.run())
}

/// Longest wait without looking at the state again (a safety net: every change notifies).
const MAX_WAIT: Duration = Duration::from_millis(100);

impl WriterThread {
    fn run(mut self) -> WriterReport {
        let _gone = GoneGuard(self.shared.clone());
        loop {
            let mut st = self.shared.lock();
            let now = Instant::now();
            if st.close && st.stop_by.is_some_and(|by| now >= by) {
                break; // the deadline passed: what is left is counted below
            }
            if self.failed.is_some() {
                let due = st.retry_now || self.retry_at.is_none_or(|at| now >= at);
                if !due {
                    let mut until = self.retry_at.unwrap_or(now);
                    if st.close {
                        until = st.stop_by.map_or(until, |by| until.min(by));
                    }
                    let pause = until.saturating_duration_since(now).min(MAX_WAIT);
                    drop(wait_timeout(&self.shared.writer_wake, st, pause));
                    continue;
                }
                st.retry_now = false;
                drop(st);
                if let Some((batch, first_row)) = self.failed.take() {
                    self.store(batch, first_row);
                }
                continue;
            }
            if let Some(item) = st.queue.pop_front() {
                if matches!(item, Item::Batch(..)) {
                    st.queued_batches -= 1;
                }
                drop(st);
                // Room in the queue: the drain may hand over its next batch while this one is
                // written.
                self.shared.drain_wake.notify_all();
                match item {
                    Item::Batch(mut decoder, first_row) => {
                        let batch = decoder.finish();
                        // Back to the drain before the write: it may be waiting for it.
                        self.shared.lock().spare.push(decoder);
                        self.shared.drain_wake.notify_all();
                        self.store(batch, first_row);
                    }
                    Item::Finalize(seq) => self.finalize(seq),
                }
                self.tick_if_due();
                continue;
            }
            if st.close {
                break;
            }
            let until_tick = (self.last_tick + self.tick_interval).saturating_duration_since(now);
            if until_tick.is_zero() {
                drop(st);
                self.tick_if_due();
                continue;
            }
            drop(wait_timeout(
                &self.shared.writer_wake,
                st,
                until_tick.min(MAX_WAIT),
            ));
        }
        self.close()
    }

    /// Stores one batch; on failure keeps it for a retry with backoff and tells the drain.
    fn store(&mut self, batch: RecordBatch, first_row: u64) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        match writer.write_at(&batch, first_row, SystemTime::now()) {
            Ok(()) => {
                // The rows are in the file and handed to the OS: readers may read them now.
                self.marks.set_written(writer.next_row());
                self.backoff = None;
                self.retry_at = None;
                if self.shared.lock().writer_error.take().is_some() {
                    self.shared.drain_wake.notify_all();
                }
            }
            Err(e) => {
                log_storage_error(writer.signal(), "write", &e);
                self.stats.write_retries.fetch_add(1, Ordering::Relaxed);
                let (initial, max) = (self.retry_initial, self.retry_max);
                let backoff = self
                    .backoff
                    .get_or_insert_with(|| Backoff::new(initial, max));
                self.retry_at = Some(Instant::now() + backoff.next_delay());
                self.failed = Some((batch, first_row));
                let mut st = self.shared.lock();
                st.writer_error = Some(e.to_string());
                st.failed_attempts += 1;
                drop(st);
                self.shared.drain_wake.notify_all();
            }
        }
    }

    fn finalize(&mut self, seq: u64) {
        let result = match self.writer.as_mut() {
            Some(w) => w.finalize(SystemTime::now()).map(|_| ()).map_err(|e| {
                log_storage_error(w.signal(), "finalize", &e);
                e.to_string()
            }),
            None => Err("writer closed".into()),
        };
        let mut st = self.shared.lock();
        st.finalized = seq;
        st.finalize_error = result.err();
        drop(st);
        self.shared.drain_wake.notify_all();
    }

    fn tick_if_due(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_tick) < self.tick_interval {
            return;
        }
        self.last_tick = now;
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.tick(SystemTime::now())
        {
            log_storage_error(w.signal(), "tick", &e);
        }
    }

    /// Counts what was not stored before the deadline, then finalizes and closes the writer.
    fn close(mut self) -> WriterReport {
        let mut lost = self.failed.take().map_or(0, |(b, _)| b.num_rows() as u64);
        {
            let mut st = self.shared.lock();
            lost += st.queued_rows();
            st.queue.clear();
            st.queued_batches = 0;
        }
        self.stats.lost_rows.fetch_add(lost, Ordering::Relaxed);
        let mut report = WriterReport::default();
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
        report
    }
}
