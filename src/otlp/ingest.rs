//! From `Export*ServiceRequest` bytes to ring records: the heart of the receivers
//! (DESIGN.md principle 1). Synchronous, no tokio, usable by any transport.
//!
//! # The fast path
//!
//! [`ingest`] validates the whole request once with [`scan`](crate::wire::scan::scan), then
//! copies every `Resource*` message into one ring record of kind
//! [`Signal::record_kind`], as it is: no decode, no re-encode, no per-item allocation (one
//! small `Vec` per request holds the record plan and the claims).
//!
//! # All or nothing
//!
//! Every record is **claimed first**, with all the claims held at once; only when every claim
//! succeeded are they filled and committed. If any claim finds the ring full, the ones held
//! are dropped (aborted: they become padding the consumer skips) and the request is refused
//! with [`IngestError::Full`], nothing of it visible to the consumer. A client told to retry
//! therefore never causes duplicates, and one that gives up loses exactly that request.
//!
//! With [`IngestOptions::wait`] > 0, a full ring is retried: abort everything, sleep a few
//! milliseconds (1 ms, doubling to 8 ms), claim the whole request again, until the deadline.
//! Claims are **never held while waiting**: the consumer reads in claim order and cannot pass
//! an uncommitted claim, so a request holding half its claims while waiting for room would
//! stop the very consumer that has to make that room (a deadlock until the deadline).
//!
//! A request whose records need more than 7/8 of the ring at once
//! ([`IngestError::RequestTooLarge`]) could never be claimed whole (the wrap padding can take
//! up to one largest record), so it is refused as such, not as `Full`: a retry cannot help.
//!
//! # Re-framing (principle 5)
//!
//! A `Resource*` message larger than [`Ring::max_record_len`] is split along scope and item
//! boundaries into records that each fit, every piece repeating the resource-level and
//! scope-level fields, and written straight into its claim (no intermediate buffer). A metric
//! too large alone is split along its data points the same way. A span, log record or data
//! point too large for any record on its own is rejected and counted in
//! [`Accepted::rejected_too_large`]; the rest of the request is accepted.
//!
//! # Partial success
//!
//! When the whole-request scan fails, the error path (allocation allowed) salvages what is
//! valid, per the OTLP partial-success rules: each `Resource*` message is validated alone; in
//! one that fails, each scope and then each item is validated alone. Valid items are stored,
//! invalid ones rejected (an invalid resource- or scope-level field rejects every item under
//! it) and counted in [`Accepted::rejected_items`], with the first error's text in
//! [`Accepted::error_message`]. If the outer framing of the request itself is broken, or no
//! item at all is valid, the request is [`IngestError::Invalid`].
#![forbid(unsafe_code)]

use std::fmt;
use std::time::{Duration, Instant};

use super::reframe::Plan;
use super::salvage;
use crate::ring::{Claim, Ring, WriteError};
use crate::signal::Signal;
use crate::sync::{AtomicBool, Ordering};
use crate::wire::scan::{self, ScanError};

/// First pause after the ring said full, when waiting.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(8);

/// How [`ingest`] treats a full ring.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions<'a> {
    /// How long to keep retrying a full ring (the whole request each time); zero: refuse at
    /// once.
    pub wait: Duration,
    /// The advice carried by [`IngestError::Full`] (the receiver's `retry_after`).
    pub retry_after: Duration,
    /// Set while waiting -> stop waiting with [`IngestError::ShuttingDown`].
    pub cancel: Option<&'a AtomicBool>,
}

/// What an accepted request became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Items (spans, metric data points, log records) now in the ring.
    pub items: u64,
    /// Items rejected (OTLP partial success): invalid ones plus `rejected_too_large`.
    pub rejected_items: u64,
    /// Of `rejected_items`, those too large for any ring record even alone.
    pub rejected_too_large: u64,
    /// Ring records written.
    pub records: usize,
    /// Why items were rejected, for the partial-success `error_message`; `None` when all
    /// items were accepted.
    pub error_message: Option<String>,
}

/// Why a request was refused as a whole. Nothing of it reached the ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// Malformed: no valid item could be salvaged (or the request framing itself is broken).
    /// The first error found, with its byte offset and path (gRPC `INVALID_ARGUMENT`, HTTP 400).
    Invalid(ScanError),
    /// Every item is larger than the ring's largest record (not retryable).
    ItemsTooLarge {
        /// Items rejected.
        items: u64,
        /// The ring's largest record payload.
        max_record_len: usize,
    },
    /// The request needs more ring space at once than the ring can ever give (not retryable).
    RequestTooLarge {
        /// Ring bytes the request's records need.
        needed: u64,
        /// The most one request may take: 7/8 of the ring.
        limit: u64,
    },
    /// The ring is full (after waiting, if asked to): retry later.
    Full {
        /// Advice for the client.
        retry_after: Duration,
        /// Items refused.
        items: u64,
    },
    /// The receiver is shutting down.
    ShuttingDown,
    /// A ring error that cannot happen with a planned request (a bug); nothing was written.
    Ring(WriteError),
}

impl IngestError {
    /// Items the error refused, when known.
    pub fn items(&self) -> u64 {
        match self {
            IngestError::ItemsTooLarge { items, .. } | IngestError::Full { items, .. } => *items,
            _ => 0,
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestError::Invalid(e) => write!(f, "invalid request: {e}"),
            IngestError::ItemsTooLarge {
                items,
                max_record_len,
            } => write!(
                f,
                "all {items} items are larger than the ring's largest record ({max_record_len} bytes)"
            ),
            IngestError::RequestTooLarge { needed, limit } => write!(
                f,
                "request needs {needed} bytes of ring space at once, more than the {limit} bytes one request may take"
            ),
            IngestError::Full { retry_after, .. } => {
                write!(f, "ring full, retry after {} ms", retry_after.as_millis())
            }
            IngestError::ShuttingDown => f.write_str("receiver is shutting down"),
            IngestError::Ring(e) => write!(f, "internal ring error: {e}"),
        }
    }
}

impl std::error::Error for IngestError {}

/// Validates `request` (an `Export*ServiceRequest` of `signal`) and writes its `Resource*`
/// messages into `ring`, all or nothing. See the module docs.
///
/// # Errors
/// [`IngestError`]: nothing of the request reached the ring.
pub fn ingest(
    signal: Signal,
    request: &[u8],
    ring: &Ring,
    opts: &IngestOptions<'_>,
) -> Result<Accepted, IngestError> {
    match scan::scan(signal, request) {
        Ok(scanned) => {
            // Room for every record, re-framed pieces included (a piece is rarely under half
            // a record), so the plan does not grow.
            let hint = scanned.resources() + 2 * request.len() / ring.max_record_len().max(1);
            let mut plan = Plan::new(ring, hint);
            for chunk in scanned.chunks() {
                plan.add(chunk);
            }
            if plan.items == 0 && plan.too_large > 0 {
                return Err(IngestError::ItemsTooLarge {
                    items: plan.too_large,
                    max_record_len: ring.max_record_len(),
                });
            }
            let records = commit(signal, ring, &plan, opts)?;
            Ok(accepted(signal, &plan, records, 0, None, ring))
        }
        Err(error) => ingest_partial(signal, request, ring, opts, error),
    }
}

/// The error path: salvage the valid items of a request the whole-request scan refused.
fn ingest_partial(
    signal: Signal,
    request: &[u8],
    ring: &Ring,
    opts: &IngestOptions<'_>,
    error: ScanError,
) -> Result<Accepted, IngestError> {
    let Some(salvaged) = salvage::salvage(signal, request) else {
        return Err(IngestError::Invalid(error));
    };
    let chunks: Vec<_> = salvaged
        .records
        .iter()
        .filter_map(|record| scan::scan_resource(signal, record).ok())
        .collect();
    let mut plan = Plan::new(ring, chunks.len());
    for chunk in chunks {
        plan.add(chunk);
    }
    if plan.items == 0 {
        return Err(IngestError::Invalid(error));
    }
    let records = commit(signal, ring, &plan, opts)?;
    Ok(accepted(
        signal,
        &plan,
        records,
        salvaged.rejected,
        Some(error),
        ring,
    ))
}

fn accepted(
    signal: Signal,
    plan: &Plan<'_>,
    records: usize,
    rejected_invalid: u64,
    error: Option<ScanError>,
    ring: &Ring,
) -> Accepted {
    let rejected = rejected_invalid + plan.too_large;
    let what = item_name(signal);
    let mut message = None;
    if rejected_invalid > 0 || error.is_some() {
        let first = error.map_or_else(String::new, |e| format!("; first error: {e}"));
        message = Some(format!("{rejected_invalid} invalid {what} rejected{first}"));
    }
    if plan.too_large > 0 {
        let text = format!(
            "{} {what} rejected: each larger than the ring's largest record ({} bytes)",
            plan.too_large,
            ring.max_record_len()
        );
        message = Some(match message {
            Some(m) => format!("{m}; {text}"),
            None => text,
        });
    }
    Accepted {
        items: plan.items,
        rejected_items: rejected,
        rejected_too_large: plan.too_large,
        records,
        error_message: message,
    }
}

/// The partial-success unit of `signal`, plural.
pub(super) fn item_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "data points",
        Signal::Logs => "log records",
    }
}

/// Claims every planned record (all or none), then fills and commits them. Returns the
/// number of records written.
fn commit(
    signal: Signal,
    ring: &Ring,
    plan: &Plan<'_>,
    opts: &IngestOptions<'_>,
) -> Result<usize, IngestError> {
    if plan.records.is_empty() {
        return Ok(0);
    }
    let limit = (ring.capacity() - ring.capacity() / 8) as u64;
    if plan.ring_bytes > limit {
        return Err(IngestError::RequestTooLarge {
            needed: plan.ring_bytes,
            limit,
        });
    }
    let kind = signal.record_kind();
    let producer = ring.producer();
    let mut claims: Vec<Claim<'_>> = Vec::with_capacity(plan.records.len());
    // `Instant::now()` only once the ring said full and waiting is allowed.
    let mut deadline: Option<Instant> = None;
    let mut pause = FIRST_PAUSE;
    loop {
        match claim_all(&producer, kind, plan, &mut claims) {
            Ok(()) => break,
            Err(WriteError::Full) => {}
            Err(other) => return Err(IngestError::Ring(other)),
        }
        // Aborts every claim held: never wait while holding one (module docs).
        claims.clear();
        if opts.wait.is_zero() {
            return Err(full(opts, plan));
        }
        let now = Instant::now();
        let end = *deadline.get_or_insert_with(|| now + opts.wait);
        if opts.cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
            return Err(IngestError::ShuttingDown);
        }
        if now >= end {
            return Err(full(opts, plan));
        }
        std::thread::sleep(pause.min(end - now));
        pause = (pause * 2).min(MAX_PAUSE);
    }
    for (claim, record) in claims.iter_mut().zip(&plan.records) {
        if record.write(claim.payload_mut()).is_err() {
            // A planning bug; `claims` drop here and abort every record.
            return Err(IngestError::Ring(WriteError::TooLarge));
        }
    }
    let n = claims.len();
    for claim in claims {
        claim.commit();
    }
    Ok(n)
}

fn full(opts: &IngestOptions<'_>, plan: &Plan<'_>) -> IngestError {
    IngestError::Full {
        retry_after: opts.retry_after,
        items: plan.items,
    }
}

fn claim_all<'r>(
    producer: &crate::ring::Producer<'r>,
    kind: u32,
    plan: &Plan<'_>,
    claims: &mut Vec<Claim<'r>>,
) -> Result<(), WriteError> {
    for record in &plan.records {
        claims.push(producer.try_claim(kind, record.len)?);
    }
    Ok(())
}
