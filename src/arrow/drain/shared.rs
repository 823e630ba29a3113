//! The state the owner's handle, the drain (decode) thread and the writer thread share.
//!
//! One mutex guards all of it: requests from the handle (flush, stop), the hand-off queue from
//! the drain to the writer, and the writer's answers (finalize results, a batch it cannot
//! store). It is taken a few times per batch and per request, never per record, so it is far
//! from any hot path. Three condition variables say who should look again:
//!
//! - `drain_wake`: a request arrived, the queue has room, the writer answered or changed state;
//! - `writer_wake`: an item was queued, a close or an immediate retry was asked for;
//! - `done`: a flush completed (the callers of `DrainHandle::flush` wait on it).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::arrow::decode::Decoder;
use crate::sync::{AtomicBool, Ordering};

/// Cut batches the queue holds at most: with one being decoded and one being written, decode
/// and write overlap and memory stays at about three batches.
pub(super) const QUEUE_BATCHES: usize = 1;

/// What the drain hands the writer, in order.
pub(super) enum Item {
    /// A cut batch, still in the decoder that decoded it, and the global number of its first
    /// row. The writer thread finishes it into a `RecordBatch` (building the Arrow arrays is a
    /// pass over every column, which the drain thread then need not make) and hands the empty
    /// decoder back through [`State::spare`].
    Batch(Box<dyn Decoder>, u64),
    /// Finalize the file in progress once every batch queued before this is stored, and
    /// answer with this sequence number (a flush).
    Finalize(u64),
}

impl core::fmt::Debug for Item {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Item::Batch(d, first) => write!(f, "Batch({} rows from {first})", d.rows()),
            Item::Finalize(seq) => write!(f, "Finalize({seq})"),
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    // Requests from the handle.
    /// Flush requests made (a sequence number) and completed.
    pub(super) flush_requested: u64,
    pub(super) flush_done: u64,
    /// The last flush's error, if it failed.
    pub(super) flush_error: Option<String>,
    /// Stop: drain everything until this instant, then close.
    pub(super) stop_by: Option<Instant>,

    // Drain -> writer.
    pub(super) queue: VecDeque<Item>,
    /// `Item::Batch`es in `queue`.
    pub(super) queued_batches: usize,
    /// The drain has queued its last item: store what is queued (until `stop_by`), then close.
    pub(super) close: bool,
    /// A flush wants the batch the writer could not store retried now, not after its backoff.
    pub(super) retry_now: bool,

    // Writer -> drain.
    /// The last `Item::Finalize` the writer carried out, and its error.
    pub(super) finalized: u64,
    pub(super) finalize_error: Option<String>,
    /// Set while the writer holds a batch it could not store (the last error); cleared once
    /// that batch is stored.
    pub(super) writer_error: Option<String>,
    /// Failed attempts to store a batch, ever (so a waiter can tell a new failure from an old).
    pub(super) failed_attempts: u64,
    /// The writer thread has ended (closed, or panicked).
    pub(super) writer_gone: bool,
    /// Decoders the writer has emptied (finished), for the drain to decode into again: their
    /// buffers keep the last batch's capacity. At most one normally (the drain uses two).
    pub(super) spare: Vec<Box<dyn Decoder>>,
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State")
            .field("flush_requested", &self.flush_requested)
            .field("flush_done", &self.flush_done)
            .field("stop_by", &self.stop_by)
            .field("queue", &self.queue)
            .field("close", &self.close)
            .field("finalized", &self.finalized)
            .field("writer_error", &self.writer_error)
            .field("writer_gone", &self.writer_gone)
            .field("spare", &self.spare.len())
            .finish_non_exhaustive()
    }
}

impl State {
    /// Rows in the queued batches.
    pub(super) fn queued_rows(&self) -> u64 {
        self.queue
            .iter()
            .map(|i| match i {
                Item::Batch(d, _) => d.rows() as u64,
                Item::Finalize(_) => 0,
            })
            .sum()
    }
}

#[derive(Debug, Default)]
pub(super) struct Shared {
    state: Mutex<State>,
    pub(super) drain_wake: Condvar,
    pub(super) writer_wake: Condvar,
    pub(super) done: Condvar,
    /// A flush or stop request waits: lets the drain loop check with one load, no lock.
    pub(super) pending: AtomicBool,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding it; the state
        // (counters, a queue of owned batches) is still consistent, so carry on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn has_request(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    pub(super) fn set_request(&self) {
        self.pending.store(true, Ordering::Release);
    }

    pub(super) fn clear_request(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// Waits on `cv` for at most `timeout` (a poisoned lock is carried on, as in [`Shared::lock`]).
pub(super) fn wait_timeout<'a>(
    cv: &Condvar,
    guard: MutexGuard<'a, State>,
    timeout: std::time::Duration,
) -> MutexGuard<'a, State> {
    cv.wait_timeout(guard, timeout)
        .unwrap_or_else(|e| e.into_inner())
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::decode::decoder_for;
    use crate::signal::Signal;

    /// `ResourceSpans { scope_spans: [ScopeSpans { spans: [Span {}, Span {}] }] }`.
    const TWO_SPANS: &[u8] = &[0x12, 0x04, 0x12, 0x00, 0x12, 0x00];

    #[test]
    fn queued_rows_counts_the_rows_of_queued_batches_only_and_debug_shows_the_queue() {
        let mut full = decoder_for(Signal::Traces);
        assert_eq!(full.append(TWO_SPANS).unwrap(), 2);
        let mut st = State::default();
        assert_eq!(st.queued_rows(), 0);
        st.queue.push_back(Item::Batch(full, 7));
        st.queue.push_back(Item::Finalize(3));
        st.queue
            .push_back(Item::Batch(decoder_for(Signal::Traces), 9));
        st.spare.push(decoder_for(Signal::Traces));
        assert_eq!(st.queued_rows(), 2);
        let shown = format!("{st:?}");
        assert!(shown.contains("Batch(2 rows from 7)"), "{shown}");
        assert!(shown.contains("Finalize(3)"), "{shown}");
        assert!(shown.contains("Batch(0 rows from 9)"), "{shown}");
        assert!(shown.contains("spare: 1"), "{shown}");
    }

    #[test]
    fn a_poisoned_lock_is_carried_on_and_wait_timeout_returns_after_the_timeout() {
        let shared = std::sync::Arc::new(Shared::default());
        let s = shared.clone();
        let _ = std::thread::spawn(move || {
            let _guard = s.lock();
            panic!("poison the lock");
        })
        .join();
        let mut st = shared.lock();
        st.flush_requested = 5;
        let st = wait_timeout(&shared.done, st, std::time::Duration::from_millis(1));
        assert_eq!(st.flush_requested, 5);
    }
}
