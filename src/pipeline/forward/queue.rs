//! The live path's queue: records a drain decoded, waiting to be sent to one endpoint.
//!
//! A [`Tap`] (the drain's [`RecordTap`]) copies each offered record into a [`LiveQueue`]
//! bounded in bytes. It never blocks the drain: a record that does not fit is not queued and
//! its rows become a **gap**, which catch-up later reads back from the files. Rows the drain
//! numbered but never offered (a jump in `first_row`) are gaps too. The drain thread and the
//! forwarder share the queue through one short-held mutex (a push or a pop per record; the
//! producers' hot path into the rings is not involved).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::ranges::RangeSet;
use super::seam::RecordTap;

/// One queued record.
#[derive(Debug, Clone)]
pub(crate) struct LiveRecord {
    /// The `Resource*` message body.
    pub(crate) bytes: Bytes,
    /// Global number of its first row.
    pub(crate) first_row: u64,
    /// Its rows (items).
    pub(crate) rows: u32,
}

impl LiveRecord {
    /// Its global rows.
    pub(crate) fn range(&self) -> Range<u64> {
        self.first_row..self.first_row + u64::from(self.rows)
    }
}

#[derive(Debug, Default)]
struct State {
    records: VecDeque<LiveRecord>,
    bytes: usize,
    /// `first_row` of the first record offered since start (with or without rows).
    first_seen: Option<u64>,
    /// Next row the drain should offer (detects rows that were never offered).
    next: Option<u64>,
    /// Rows not queued (overflow or never offered), waiting for the forwarder to take them.
    gaps: RangeSet,
    /// Records and rows not queued because the queue was full.
    overflow_records: u64,
    overflow_rows: u64,
    /// Records offered.
    offered: u64,
}

/// A bytes-bounded queue of live records for one (endpoint, signal).
#[derive(Debug)]
pub(crate) struct LiveQueue {
    state: Mutex<State>,
    max_bytes: usize,
    /// Wakes the forwarder when the queue becomes non-empty.
    wake: tokio::sync::Notify,
}

/// Counters of a [`LiveQueue`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueStats {
    pub(crate) offered: u64,
    pub(crate) overflow_records: u64,
    pub(crate) overflow_rows: u64,
    pub(crate) queued_bytes: usize,
}

impl LiveQueue {
    /// A queue that holds at most `max_bytes` of record bytes (one record larger than that is
    /// never queued: catch-up sends it).
    pub(crate) fn new(max_bytes: usize) -> Arc<LiveQueue> {
        Arc::new(LiveQueue {
            state: Mutex::new(State::default()),
            max_bytes,
            wake: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoning means a panic elsewhere while holding the lock; the state (a queue and
        // counters) is still consistent, so carry on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `record` (called on the drain thread). Never blocks on the forwarder.
    pub(crate) fn offer(&self, record: &[u8], first_row: u64, rows: u32) {
        let mut s = self.lock();
        s.offered += 1;
        s.first_seen.get_or_insert(first_row);
        if let Some(next) = s.next
            && first_row > next
        {
            s.gaps.insert(next..first_row);
        }
        let end = first_row + u64::from(rows);
        s.next = Some(end.max(s.next.unwrap_or(0)));
        if rows == 0 {
            return;
        }
        if s.bytes + record.len() > self.max_bytes {
            s.overflow_records += 1;
            s.overflow_rows += u64::from(rows);
            s.gaps.insert(first_row..end);
            return;
        }
        let was_empty = s.records.is_empty();
        s.bytes += record.len();
        s.records.push_back(LiveRecord {
            bytes: Bytes::copy_from_slice(record),
            first_row,
            rows,
        });
        drop(s);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Takes records from the front while `accept` takes them and they are contiguous in row
    /// numbers; returns the rows taken (empty when nothing was).
    pub(crate) fn take_while(&self, mut accept: impl FnMut(&LiveRecord) -> bool) -> Range<u64> {
        let mut s = self.lock();
        let mut taken: Option<Range<u64>> = None;
        while let Some(front) = s.records.front() {
            if let Some(t) = &taken
                && front.first_row != t.end
            {
                break;
            }
            if !accept(front) {
                break;
            }
            let r = front.range();
            s.bytes -= front.bytes.len();
            s.records.pop_front();
            taken = Some(match taken {
                None => r,
                Some(t) => t.start..r.end,
            });
        }
        taken.unwrap_or(0..0)
    }

    /// Whether records are queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// The first row offered since start, if any record was.
    pub(crate) fn first_seen(&self) -> Option<u64> {
        self.lock().first_seen
    }

    /// Moves the rows that could not be queued into `into`.
    pub(crate) fn take_gaps(&self, into: &mut RangeSet) {
        let mut s = self.lock();
        for r in s.gaps.iter() {
            into.insert(r);
        }
        s.gaps = RangeSet::new();
    }

    /// Waits until a record is queued (or returns at once if one is, or a wake-up is pending).
    pub(crate) async fn wait(&self) {
        if !self.is_empty() {
            return;
        }
        self.wake.notified().await;
    }

    /// Counters.
    pub(crate) fn stats(&self) -> QueueStats {
        let s = self.lock();
        QueueStats {
            offered: s.offered,
            overflow_records: s.overflow_records,
            overflow_rows: s.overflow_rows,
            queued_bytes: s.bytes,
        }
    }
}

/// The [`RecordTap`] of one signal: offers each record to the queue of every endpoint that
/// forwards the signal.
#[derive(Debug)]
pub(crate) struct Tap {
    queues: Vec<Arc<LiveQueue>>,
}

impl Tap {
    /// A tap feeding `queues`.
    pub(crate) fn new(queues: Vec<Arc<LiveQueue>>) -> Tap {
        Tap { queues }
    }
}

impl RecordTap for Tap {
    fn offer(&mut self, record: &[u8], first_row: u64, rows: u32) {
        for q in &self.queues {
            q.offer(record, first_row, rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_taken_in_contiguous_runs() {
        let q = LiveQueue::new(1 << 20);
        q.offer(b"aaaa", 0, 2);
        q.offer(b"bb", 2, 3);
        q.offer(b"", 5, 0); // no rows: not queued, keeps continuity
        q.offer(b"ccc", 5, 1);
        assert_eq!(q.first_seen(), Some(0));
        let mut bytes = Vec::new();
        let r = q.take_while(|rec| {
            bytes.extend_from_slice(&rec.bytes);
            true
        });
        assert_eq!(r, 0..6);
        assert_eq!(bytes, b"aaaabbccc");
        assert!(q.is_empty());
        assert_eq!(q.stats().queued_bytes, 0);
        assert_eq!(q.stats().offered, 4);
    }

    #[test]
    fn the_caller_limits_a_take() {
        let q = LiveQueue::new(1 << 20);
        for i in 0..5 {
            q.offer(b"xx", i * 2, 2);
        }
        let mut n = 0;
        assert_eq!(
            q.take_while(|_| {
                n += 1;
                n <= 2
            }),
            0..4
        );
        assert_eq!(q.take_while(|_| true), 4..10);
        assert_eq!(q.take_while(|_| true), 0..0);
    }

    #[test]
    fn overflow_and_jumps_become_gaps() {
        let q = LiveQueue::new(11);
        q.offer(&[0; 6], 0, 3);
        q.offer(&[0; 6], 3, 4); // does not fit: a gap
        q.offer(&[0; 4], 7, 1); // fits
        q.offer(&[0; 1], 20, 1); // rows 8..20 never offered: a gap
        let s = q.stats();
        assert_eq!((s.overflow_records, s.overflow_rows), (1, 4));
        let mut gaps = RangeSet::new();
        q.take_gaps(&mut gaps);
        assert_eq!(gaps.iter().collect::<Vec<_>>(), [3..7, 8..20]);
        // A take stops at a discontinuity, so a request covers one contiguous range.
        assert_eq!(q.take_while(|_| true), 0..3);
        assert_eq!(q.take_while(|_| true), 7..8);
        assert_eq!(q.take_while(|_| true), 20..21);
        let mut again = RangeSet::new();
        q.take_gaps(&mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn a_tap_feeds_every_endpoint() {
        let (a, b) = (LiveQueue::new(100), LiveQueue::new(3));
        let mut tap = Tap::new(vec![a.clone(), b.clone()]);
        tap.offer(b"abcd", 0, 1);
        assert_eq!(a.take_while(|_| true), 0..1);
        assert!(b.is_empty(), "too big for b's queue");
        assert_eq!(b.stats().overflow_rows, 1);
    }
}
