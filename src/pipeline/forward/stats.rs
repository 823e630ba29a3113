//! Counters of one (endpoint, signal) lane, written by its loop and read from any thread.
#![forbid(unsafe_code)]

use super::lane::Kind;
use crate::signal::Signal;
use crate::sync::{AtomicU64, Ordering};

/// Counters of one lane (atomics; see [`ForwardLaneStats`] for their meaning).
#[derive(Debug, Default)]
pub(crate) struct LaneStats {
    live_requests: AtomicU64,
    catchup_requests: AtomicU64,
    live_items_sent: AtomicU64,
    catchup_items_sent: AtomicU64,
    items_accepted: AtomicU64,
    catchup_items_accepted: AtomicU64,
    items_rejected: AtomicU64,
    items_dropped: AtomicU64,
    items_deferred: AtomicU64,
    rows_missing: AtomicU64,
    rows_retention_lost: AtomicU64,
    cursor: AtomicU64,
    decoded: AtomicU64,
    in_flight: AtomicU64,
    gap_rows: AtomicU64,
    cursor_write_errors: AtomicU64,
}

fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

impl LaneStats {
    pub(crate) fn requests(&self, kind: Kind, items: u64) {
        match kind {
            Kind::Live => {
                add(&self.live_requests, 1);
                add(&self.live_items_sent, items);
            }
            Kind::Catchup => {
                add(&self.catchup_requests, 1);
                add(&self.catchup_items_sent, items);
            }
        }
    }

    pub(crate) fn accepted(&self, kind: Kind, items: u64, rejected: u64) {
        add(&self.items_accepted, items.saturating_sub(rejected));
        add(&self.items_rejected, rejected);
        if kind == Kind::Catchup {
            add(&self.catchup_items_accepted, items.saturating_sub(rejected));
        }
    }

    pub(crate) fn dropped(&self, items: u64) {
        add(&self.items_dropped, items);
    }

    pub(crate) fn deferred(&self, items: u64) {
        add(&self.items_deferred, items);
    }

    pub(crate) fn missing(&self, rows: u64) {
        add(&self.rows_missing, rows);
    }

    pub(crate) fn retention_lost(&self, rows: u64) {
        add(&self.rows_retention_lost, rows);
    }

    pub(crate) fn set_persist_errors(&self, n: u64) {
        self.cursor_write_errors.store(n, Ordering::Relaxed);
    }

    pub(crate) fn publish(&self, cursor: u64, decoded: u64, in_flight: u64, gap_rows: u64) {
        self.cursor.store(cursor, Ordering::Relaxed);
        self.decoded.store(decoded, Ordering::Relaxed);
        self.in_flight.store(in_flight, Ordering::Relaxed);
        self.gap_rows.store(gap_rows, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, endpoint: &str, signal: Signal) -> ForwardLaneStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cursor = l(&self.cursor);
        ForwardLaneStats {
            endpoint: endpoint.to_owned(),
            signal,
            live_requests: l(&self.live_requests),
            catchup_requests: l(&self.catchup_requests),
            live_items_sent: l(&self.live_items_sent),
            catchup_items_sent: l(&self.catchup_items_sent),
            items_accepted: l(&self.items_accepted),
            catchup_items_accepted: l(&self.catchup_items_accepted),
            items_rejected: l(&self.items_rejected),
            items_dropped: l(&self.items_dropped),
            items_deferred: l(&self.items_deferred),
            rows_missing: l(&self.rows_missing),
            rows_retention_lost: l(&self.rows_retention_lost),
            cursor,
            lag_rows: l(&self.decoded).saturating_sub(cursor),
            in_flight: l(&self.in_flight),
            gap_rows: l(&self.gap_rows),
            queue_overflow_rows: 0,
            cursor_write_errors: l(&self.cursor_write_errors),
        }
    }
}

/// Forwarding counters of one (endpoint, signal). Items are spans, metric data points or log
/// records; rows are the same things as numbered in the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardLaneStats {
    /// The endpoint's URL, credentials redacted.
    pub endpoint: String,
    /// The signal.
    pub signal: Signal,
    /// Requests built from live records.
    pub live_requests: u64,
    /// Requests built from the files (catch-up).
    pub catchup_requests: u64,
    /// Items in live requests handed to the transport.
    pub live_items_sent: u64,
    /// Items in catch-up requests handed to the transport.
    pub catchup_items_sent: u64,
    /// Items the endpoint acknowledged (without partial-success rejections).
    pub items_accepted: u64,
    /// Of those, items that came from the files.
    pub catchup_items_accepted: u64,
    /// Items the endpoint rejected in a partial success (not retried).
    pub items_rejected: u64,
    /// Items in requests dropped after a non-retryable error (not retried).
    pub items_dropped: u64,
    /// Items in requests deferred (retries exhausted, breaker open): resent from the files.
    pub items_deferred: u64,
    /// Rows at or above the cursor that no stored file holds (lost at a shutdown, in a file
    /// without row numbers or one that cannot be read): skipped, never sent.
    pub rows_missing: u64,
    /// Rows deleted by retention (`max_total_bytes`) before they were forwarded.
    pub rows_retention_lost: u64,
    /// Every row below this is done (the persisted cursor).
    pub cursor: u64,
    /// Rows decoded but not yet done (`decoded - cursor`).
    pub lag_rows: u64,
    /// Requests in flight.
    pub in_flight: u64,
    /// Rows waiting to be read from the files.
    pub gap_rows: u64,
    /// Rows the live queue could not take (sent from the files instead).
    pub queue_overflow_rows: u64,
    /// Cursor file writes that failed.
    pub cursor_write_errors: u64,
}
