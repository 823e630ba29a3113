//! Validating, zero-allocation scanner over OTLP `Export{Trace,Metrics,Logs}ServiceRequest`
//! bytes.
//!
//! An OTLP receiver gets a request as bytes. Without decoding it into objects, it must refuse
//! it if it is malformed (with an error that says where: gRPC `InvalidArgument`, HTTP 400) and
//! otherwise split it into its `Resource*` sub-messages (field 1, repeated), each of which
//! becomes one ring record. This module does both:
//!
//! - [`scan`] (or [`scan_traces`], [`scan_metrics`], [`scan_logs`]) validates a whole request
//!   in one pass and returns a [`ScannedRequest`] with the totals; its
//!   [`chunks`](ScannedRequest::chunks) then yields every [`ResourceChunk`] (body bytes,
//!   offset, item count) without validating again. Validate-first lets a receiver refuse a
//!   request before it has copied any part of it into a ring.
//! - [`Scanner`] is the same validation as an iterator of `Result<ResourceChunk, ScanError>`,
//!   for callers that stream.
//! - [`ResourceChunk::scopes`], [`ScopeChunk::items`] and the raw [`Fields`] walk an
//!   already-validated chunk cheaply: enough to re-frame a `Resource*` message larger than a
//!   ring record along scope and item boundaries (DESIGN.md principle 5).
//! - [`scan_resource`] validates one `Resource*` message alone (a ring record read back).
//!
//! Items are spans, metric **data points** (the OTLP partial-success unit for metrics) and log
//! records.
//!
//! # What is refused
//!
//! The scanner is at least as strict as a protobuf decoder (prost): whatever it accepts
//! decodes. On top, it enforces OTLP rules a decoder does not. Every [`ErrorKind`]:
//!
//! - framing: varints longer than 10 bytes or overflowing 64 bits, truncated varints and
//!   fixed-width values, lengths past the end of the enclosing message, tags wider than 32
//!   bits, field number 0, wire types 6 and 7;
//! - group wire types (3, 4) anywhere, unknown fields included (deprecated, unused by OTLP);
//! - a known field with a wire type its proto type does not allow; repeated scalars accept
//!   both packed and unpacked encodings; packed `fixed64`/`double` must be a multiple of 8;
//! - invalid UTF-8 in any `string` field (names, keys, string values, `trace_state`,
//!   `severity_text`, `schema_url`, units, descriptions, `event_name`, status message, entity
//!   refs...);
//! - ids: a span's own `trace_id` / `span_id` must be present, exactly 16 / 8 bytes and not all
//!   zero; every other id (`parent_span_id`, links, log records, exemplars) must be empty or
//!   exactly 16 / 8 bytes, and may be all zero (see the `trace` module for why);
//! - nesting deeper than [`MAX_NESTING`] message levels (through `AnyValue` arrays and key-value
//!   lists): prost's limit, so recursion is bounded;
//! - more than `u32::MAX` items in one `Resource*` message (needs > 8 GB of input).
//!
//! Accepted as protobuf requires: unknown fields (skipped, but they must be well-formed),
//! fields in any order, repeated occurrences of singular fields (last wins; messages merge),
//! enum values outside the known range (proto3 enums are open), non-canonical varints.
//!
//! # Cost
//!
//! One linear pass over the bytes; each byte is looked at once, except strings, which
//! `core::str::from_utf8` checks (word-at-a-time ASCII fast path first). No allocation, no
//! `unsafe`, no panic on any input (fuzz target `fuzz/fuzz_targets/scan_request.rs`; mutation tests in
//! `tests/wire_scan.rs`). Recursion is
//! limited to `AnyValue` nesting, at most [`MAX_NESTING`] levels of small frames (about 12 KiB
//! of stack at the deepest in an x86-64 release build). Internally a failure is a zero-sized
//! marker and the [`ScanError`] waits in a slot on the caller's stack; its path is built only
//! while a failure propagates, so the happy path keeps no breadcrumb stack and moves no large
//! `Result`s.
//!
//! Throughput on typical requests, against prost decoding the same bytes: `cargo bench --bench
//! scan`.
//!
//! # Example
//!
//! ```
//! use otlp_arrow::wire::scan::scan_traces;
//!
//! // An ExportTraceServiceRequest with one empty ResourceSpans: field 1, length 0.
//! let request = [0x0a, 0x00];
//! let scanned = scan_traces(&request)?;
//! assert_eq!((scanned.resources(), scanned.items()), (1, 0));
//! for chunk in scanned.chunks() {
//!     // claim a ring record of chunk.bytes().len() and copy chunk.bytes() into it
//!     assert_eq!(chunk.bytes(), &[] as &[u8]);
//! }
//!
//! // A ResourceSpans whose length runs past the end of the request.
//! let error = scan_traces(&[0x0a, 0x05, 0x00]).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "at byte 1, resource_spans[0]: length 5 runs past the end of its message (1 bytes left)"
//! );
//! # Ok::<(), otlp_arrow::wire::scan::ScanError>(())
//! ```
#![forbid(unsafe_code)]

mod common;
mod error;
mod logs;
mod metrics;
mod reader;
mod trace;
mod view;

pub use error::{ErrorKind, Expected, Path, PathSegment, ScanError, WireType};
pub use view::{Chunks, Field, Fields, Item, Items, ResourceChunk, ScopeChunk, Scopes};

use crate::wire::fields::{request, resource_items, scope_items};
use error::{At, Failed, FieldName, Scan, Slot};
use reader::Reader;

/// Deepest nesting level a message may have; the scanned request is level 0, its
/// `Resource*` messages level 1, and so on.
///
/// prost (like protobuf C++) stops at 100 levels and refuses even unknown fields at level 100,
/// so everything the scanner accepts decodes there. In practice this allows about 30 levels
/// of `AnyValue` key-value-list nesting (3 message levels each) or 45 of arrays (2 each).
pub const MAX_NESTING: u32 = 99;

pub use crate::signal::Signal;

/// Scanner-only naming of each signal's message levels.
trait Levels {
    fn resource_name(self) -> FieldName;
    fn scope_name(self) -> FieldName;
    fn item_name(self) -> FieldName;
}

impl Levels for Signal {
    fn resource_name(self) -> FieldName {
        match self {
            Self::Traces => FieldName::ResourceSpans,
            Self::Metrics => FieldName::ResourceMetrics,
            Self::Logs => FieldName::ResourceLogs,
        }
    }

    fn scope_name(self) -> FieldName {
        match self {
            Self::Traces => FieldName::ScopeSpans,
            Self::Metrics => FieldName::ScopeMetrics,
            Self::Logs => FieldName::ScopeLogs,
        }
    }

    fn item_name(self) -> FieldName {
        match self {
            Self::Traces => FieldName::Spans,
            Self::Metrics => FieldName::Metrics,
            Self::Logs => FieldName::LogRecords,
        }
    }
}

/// Validates a whole `Export*ServiceRequest` of `signal`.
pub fn scan(signal: Signal, bytes: &[u8]) -> Result<ScannedRequest<'_>, ScanError> {
    let mut resources = 0usize;
    let mut items = 0u64;
    for chunk in Scanner::new(signal, bytes) {
        let chunk = chunk?;
        resources += 1;
        items += u64::from(chunk.items());
    }
    Ok(ScannedRequest {
        signal,
        bytes,
        resources,
        items,
    })
}

/// Validates an `ExportTraceServiceRequest`.
pub fn scan_traces(bytes: &[u8]) -> Result<ScannedRequest<'_>, ScanError> {
    scan(Signal::Traces, bytes)
}

/// Validates an `ExportMetricsServiceRequest`.
pub fn scan_metrics(bytes: &[u8]) -> Result<ScannedRequest<'_>, ScanError> {
    scan(Signal::Metrics, bytes)
}

/// Validates an `ExportLogsServiceRequest`.
pub fn scan_logs(bytes: &[u8]) -> Result<ScannedRequest<'_>, ScanError> {
    scan(Signal::Logs, bytes)
}

/// Validates one `Resource*` message body of `signal` on its own (e.g. a ring record read
/// back), with the same rules and nesting levels as inside a request, so that whatever it
/// accepts can be forwarded in one. Offsets and paths are relative to `bytes`.
pub fn scan_resource(signal: Signal, bytes: &[u8]) -> Result<ResourceChunk<'_>, ScanError> {
    let slot = Slot::new();
    match resource(Reader::new(bytes, 0, 0, &slot), signal, 1) {
        Ok(items) => Ok(ResourceChunk::new(signal, bytes, 0, items)),
        Err(Failed) => Err(slot.error()),
    }
}

/// A request that passed validation, with its totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScannedRequest<'a> {
    signal: Signal,
    bytes: &'a [u8],
    resources: usize,
    items: u64,
}

impl<'a> ScannedRequest<'a> {
    /// The request's signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The request bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of `Resource*` messages (chunks).
    pub fn resources(&self) -> usize {
        self.resources
    }

    /// Spans, metric data points or log records in the whole request.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The `Resource*` chunks, in order. Walks tags and lengths only (plus the item levels to
    /// count items); no validation is repeated.
    pub fn chunks(&self) -> Chunks<'a> {
        Chunks::new(self.signal, self.bytes)
    }
}

/// Validates a request chunk by chunk: yields each `Resource*` message once it is validated,
/// then `None`; after an error, yields nothing more. Unknown request-level fields are checked
/// and skipped.
#[derive(Clone, Debug)]
pub struct Scanner<'a> {
    signal: Signal,
    bytes: &'a [u8],
    /// Where the next request-level field starts.
    pos: usize,
    index: u32,
    failed: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner over the `Export*ServiceRequest` of `signal` in `bytes`.
    pub const fn new(signal: Signal, bytes: &'a [u8]) -> Self {
        Self {
            signal,
            bytes,
            pos: 0,
            index: 0,
            failed: false,
        }
    }

    fn next_chunk(&mut self, slot: &Slot) -> Scan<Option<ResourceChunk<'a>>> {
        let signal = self.signal;
        let mut r = Reader::new(self.bytes, self.pos, 0, slot);
        while !r.at_end() {
            let tag = r.tag()?;
            if tag.field != request::RESOURCE_ITEMS {
                r.skip_unknown(tag)?;
                continue;
            }
            let index = self.index;
            let chunk = r
                .message(tag, |m| {
                    let items = resource(m, signal, 1)?;
                    Ok(ResourceChunk::new(signal, m.body(), m.start(), items))
                })
                .at_index(slot, signal.resource_name(), index)?;
            self.index = index.saturating_add(1);
            self.pos = r.pos();
            return Ok(Some(chunk));
        }
        self.pos = r.pos();
        Ok(None)
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Result<ResourceChunk<'a>, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let slot = Slot::new();
        match self.next_chunk(&slot) {
            Ok(chunk) => chunk.map(Ok),
            Err(Failed) => {
                self.failed = true;
                Some(Err(slot.error()))
            }
        }
    }
}

impl core::iter::FusedIterator for Scanner<'_> {}

/// A `Resource*` message at `level`; returns its item count.
fn resource(mut r: Reader<'_, '_>, signal: Signal, level: u32) -> Scan<u32> {
    let s = r.slot();
    let mut items = 0u32;
    let mut scopes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            resource_items::RESOURCE => r
                .message(tag, |m| common::resource(m, level + 1))
                .at(s, FieldName::Resource)?,
            resource_items::SCOPE_ITEMS => {
                let n = r.message(tag, |m| scope(m, signal, level + 1)).at_index(
                    s,
                    signal.scope_name(),
                    scopes,
                )?;
                scopes = scopes.saturating_add(1);
                items = items
                    .checked_add(n)
                    .ok_or_else(|| r.fail(tag.at, ErrorKind::TooManyItems))?;
            }
            resource_items::SCHEMA_URL => r.string(tag).at(s, FieldName::SchemaUrl)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(items)
}

/// A `Scope*` message at `level`; returns its item count.
fn scope(mut r: Reader<'_, '_>, signal: Signal, level: u32) -> Scan<u32> {
    let s = r.slot();
    let mut items = 0u32;
    let mut index = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            scope_items::SCOPE => r
                .message(tag, |m| common::scope(m, level + 1))
                .at(s, FieldName::Scope)?,
            scope_items::ITEMS => {
                let item_level = level + 1;
                let n = match signal {
                    Signal::Traces => r.message(tag, |m| trace::span(m, item_level).map(|()| 1)),
                    Signal::Metrics => r.message(tag, |m| metrics::metric(m, item_level)),
                    Signal::Logs => r.message(tag, |m| logs::log_record(m, item_level).map(|()| 1)),
                }
                .at_index(s, signal.item_name(), index)?;
                index = index.saturating_add(1);
                items = items
                    .checked_add(n)
                    .ok_or_else(|| r.fail(tag.at, ErrorKind::TooManyItems))?;
            }
            scope_items::SCHEMA_URL => r.string(tag).at(s, FieldName::SchemaUrl)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(items)
}
