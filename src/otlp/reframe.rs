//! The record plan of one request: which ring records it becomes, how long each is, and how
//! to write each one straight into its claimed slot.
//!
//! A `Resource*` chunk that fits the ring's largest record is one record, copied as it is. A
//! larger one is re-framed (DESIGN.md principle 5): every piece repeats the chunk's
//! resource-level fields except field 2 (copied raw), then holds one scope-level message
//! (field 2, `LEN`) made of that scope's own fields except field 2 plus a run of its items,
//! each re-emitted as field 2 + length + the item's bytes. Items are packed greedily in wire
//! order. An item that does not fit even alone in a piece is rejected and counted (OTLP partial
//! success), never split: a span or log record has no smaller unit. A `Metric` too large alone
//! is split one level further, along its data points: each piece repeats the metric's fields
//! (name, unit, ...) and its data message's fields (temporality, monotonicity) around a run of
//! points; only a single data point too large alone is rejected.
//!
//! Everything borrows the request bytes; the plan is one `Vec` per request, no per-item
//! allocation. Chunks and scopes without items are dropped: they carry no telemetry row.
#![forbid(unsafe_code)]

use super::raw::RawFields;
use crate::ring::{HEADER_LEN, RECORD_ALIGN, Ring};
use crate::signal::Signal;
use crate::wire::encode::{EncodeError, Writer, len_field_len};
use crate::wire::fields::{WT_LEN, data, metric, resource_items, scope_items};
use crate::wire::scan::{Item, Items, ResourceChunk, ScopeChunk};

/// What one record holds.
#[derive(Debug, Clone)]
enum Body<'a> {
    /// A whole `Resource*` message, copied as it is.
    Whole(&'a [u8]),
    /// A re-framed piece of a larger one.
    Piece {
        chunk: ResourceChunk<'a>,
        scope: ScopeChunk<'a>,
        /// Positioned at the piece's first item.
        items: Items<'a>,
        /// How many item fields from there.
        count: usize,
        /// Length of the scope-level message body this piece writes.
        scope_len: usize,
    },
    /// A piece of one metric too large alone: a run of its data points.
    MetricPiece(MetricPiece<'a>),
}

/// A run of data points of one metric, with everything around them.
#[derive(Debug, Clone)]
struct MetricPiece<'a> {
    chunk: ResourceChunk<'a>,
    scope: ScopeChunk<'a>,
    /// The `Metric` body.
    metric: &'a [u8],
    /// Field number of its data message (gauge, sum, histogram...).
    data_number: u32,
    /// The data message body.
    data: &'a [u8],
    /// The data message's fields, positioned at the piece's first data point.
    points: RawFields<'a>,
    count: usize,
    scope_len: usize,
    metric_len: usize,
    data_len: usize,
}

/// Whether `number` is one of `Metric`'s data fields (the `data` oneof).
fn is_data_field(number: u32) -> bool {
    matches!(
        number,
        metric::GAUGE
            | metric::SUM
            | metric::HISTOGRAM
            | metric::EXPONENTIAL_HISTOGRAM
            | metric::SUMMARY
    )
}

/// One planned ring record.
#[derive(Debug, Clone)]
pub(super) struct Planned<'a> {
    body: Body<'a>,
    /// Payload length.
    pub(super) len: usize,
}

/// The records of one request, in order, with their totals.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    pub(super) records: Vec<Planned<'a>>,
    /// Items (spans, data points, log records) the records carry.
    pub(super) items: u64,
    /// Items rejected because they cannot fit a record even alone.
    pub(super) too_large: u64,
    /// Ring bytes the records take: headers and alignment included, wrap padding not.
    pub(super) ring_bytes: u64,
    max_len: usize,
}

impl<'a> Plan<'a> {
    /// An empty plan for records of at most `ring.max_record_len()` bytes.
    pub(super) fn new(ring: &Ring, capacity_hint: usize) -> Self {
        Plan {
            records: Vec::with_capacity(capacity_hint),
            items: 0,
            too_large: 0,
            ring_bytes: 0,
            max_len: ring.max_record_len(),
        }
    }

    fn push(&mut self, body: Body<'a>, len: usize, items: u64) {
        self.ring_bytes += ring_footprint(len);
        self.items += items;
        self.records.push(Planned { body, len });
    }

    /// Adds one validated chunk: one record, or several when it is too large.
    pub(super) fn add(&mut self, chunk: ResourceChunk<'a>) {
        if chunk.items() == 0 {
            return;
        }
        let len = chunk.bytes().len();
        if len <= self.max_len {
            self.push(Body::Whole(chunk.bytes()), len, u64::from(chunk.items()));
            return;
        }
        let prefix: usize = chunk
            .fields()
            .filter(|f| f.number != resource_items::SCOPE_ITEMS)
            .map(|f| f.raw.len())
            .sum();
        for scope in chunk.scopes() {
            self.add_scope(chunk, prefix, scope);
        }
    }

    /// Packs the items of `scope` greedily into pieces of at most `max_len` bytes.
    fn add_scope(&mut self, chunk: ResourceChunk<'a>, prefix: usize, scope: ScopeChunk<'a>) {
        let scope_prefix: usize = scope
            .fields()
            .filter(|f| f.number != scope_items::ITEMS)
            .map(|f| f.raw.len())
            .sum();
        let record_len =
            |scope_len: usize| prefix + len_field_len(resource_items::SCOPE_ITEMS, scope_len);
        let mut items = scope.items();
        loop {
            let mut start = items.clone();
            let (mut count, mut scope_len, mut piece_items) = (0usize, scope_prefix, 0u64);
            loop {
                let before = items.clone();
                let Some(item) = items.next() else { break };
                let field = len_field_len(scope_items::ITEMS, item.bytes().len());
                if record_len(scope_len + field) <= self.max_len {
                    scope_len += field;
                    count += 1;
                    piece_items += u64::from(item.count());
                } else if count == 0 {
                    // Too large even alone: a metric is split along its data points, any
                    // other item rejected; the next piece starts after it.
                    if chunk.signal() == Signal::Metrics {
                        self.split_metric(chunk, prefix, scope, scope_prefix, item);
                    } else {
                        self.too_large += u64::from(item.count());
                    }
                    start = items.clone();
                } else {
                    // Starts the next piece.
                    items = before;
                    break;
                }
            }
            if count == 0 {
                return;
            }
            let body = Body::Piece {
                chunk,
                scope,
                items: start,
                count,
                scope_len,
            };
            self.push(body, record_len(scope_len), piece_items);
        }
    }
}

impl<'a> Plan<'a> {
    /// Packs the data points of one metric too large for a record into pieces that fit.
    fn split_metric(
        &mut self,
        chunk: ResourceChunk<'a>,
        prefix: usize,
        scope: ScopeChunk<'a>,
        scope_prefix: usize,
        item: Item<'a>,
    ) {
        let metric = item.bytes();
        let fields = || RawFields::new(metric).map_while(Result::ok);
        let mut data_fields = fields().filter(|f| is_data_field(f.number) && f.wire == WT_LEN);
        let (Some(data_field), None) = (data_fields.next(), data_fields.next()) else {
            // No data, or a oneof written more than once: nothing sensible to split.
            self.too_large += u64::from(item.count());
            return;
        };
        let data_number = data_field.number;
        let data_body = data_field.value;
        let metric_prefix: usize = fields()
            .filter(|f| f.number != data_number)
            .map(|f| f.raw.len())
            .sum();
        let data_fields = || RawFields::new(data_body).map_while(Result::ok);
        let data_prefix: usize = data_fields()
            .filter(|f| f.number != data::DATA_POINTS)
            .map(|f| f.raw.len())
            .sum();
        let lengths = |points_len: usize| {
            let data_len = data_prefix + points_len;
            let metric_len = metric_prefix + len_field_len(data_number, data_len);
            let scope_len = scope_prefix + len_field_len(scope_items::ITEMS, metric_len);
            let record = prefix + len_field_len(resource_items::SCOPE_ITEMS, scope_len);
            (record, scope_len, metric_len, data_len)
        };
        let is_point =
            |f: &super::raw::RawField<'_>| f.number == data::DATA_POINTS && f.wire == WT_LEN;
        let mut points = RawFields::new(data_body);
        loop {
            let mut start = points.clone();
            let (mut count, mut points_len) = (0usize, 0usize);
            loop {
                let before = points.clone();
                let Some(Ok(point)) = points.next() else {
                    break;
                };
                if !is_point(&point) {
                    continue;
                }
                let field = len_field_len(data::DATA_POINTS, point.value.len());
                if lengths(points_len + field).0 <= self.max_len {
                    points_len += field;
                    count += 1;
                } else if count == 0 {
                    self.too_large += 1;
                    start = points.clone();
                } else {
                    points = before;
                    break;
                }
            }
            if count == 0 {
                return;
            }
            let (len, scope_len, metric_len, data_len) = lengths(points_len);
            let piece = MetricPiece {
                chunk,
                scope,
                metric,
                data_number,
                data: data_body,
                points: start,
                count,
                scope_len,
                metric_len,
                data_len,
            };
            self.push(Body::MetricPiece(piece), len, count as u64);
        }
    }
}

/// Ring bytes a record of `len` payload bytes takes (header, alignment).
pub(super) fn ring_footprint(len: usize) -> u64 {
    let total = (len + HEADER_LEN) as u64;
    total.div_ceil(RECORD_ALIGN as u64) * RECORD_ALIGN as u64
}

impl Planned<'_> {
    /// Writes the record into `out`, which must be exactly `self.len` bytes (its claim).
    pub(super) fn write(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        match &self.body {
            Body::Whole(bytes) => {
                if bytes.len() != out.len() {
                    return Err(EncodeError::LengthMismatch);
                }
                out.copy_from_slice(bytes);
                Ok(())
            }
            Body::Piece {
                chunk,
                scope,
                items,
                count,
                scope_len,
            } => {
                let expected = out.len();
                let mut w = Writer::new(out);
                for f in chunk.fields() {
                    if f.number != resource_items::SCOPE_ITEMS {
                        w.raw(f.raw)?;
                    }
                }
                w.tag(resource_items::SCOPE_ITEMS, WT_LEN)?;
                w.varint(*scope_len as u64)?;
                for f in scope.fields() {
                    if f.number != scope_items::ITEMS {
                        w.raw(f.raw)?;
                    }
                }
                for item in items.clone().take(*count) {
                    w.tag(scope_items::ITEMS, WT_LEN)?;
                    w.varint(item.bytes().len() as u64)?;
                    w.raw(item.bytes())?;
                }
                if w.written() == expected {
                    Ok(())
                } else {
                    Err(EncodeError::LengthMismatch)
                }
            }
            Body::MetricPiece(p) => p.write(out),
        }
    }
}

impl MetricPiece<'_> {
    fn write(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        let expected = out.len();
        let mut w = Writer::new(out);
        for f in self.chunk.fields() {
            if f.number != resource_items::SCOPE_ITEMS {
                w.raw(f.raw)?;
            }
        }
        w.tag(resource_items::SCOPE_ITEMS, WT_LEN)?;
        w.varint(self.scope_len as u64)?;
        for f in self.scope.fields() {
            if f.number != scope_items::ITEMS {
                w.raw(f.raw)?;
            }
        }
        w.tag(scope_items::ITEMS, WT_LEN)?;
        w.varint(self.metric_len as u64)?;
        for f in RawFields::new(self.metric).map_while(Result::ok) {
            if f.number != self.data_number {
                w.raw(f.raw)?;
            }
        }
        w.tag(self.data_number, WT_LEN)?;
        w.varint(self.data_len as u64)?;
        for f in RawFields::new(self.data).map_while(Result::ok) {
            if f.number != data::DATA_POINTS {
                w.raw(f.raw)?;
            }
        }
        let points = self
            .points
            .clone()
            .map_while(Result::ok)
            .filter(|f| f.number == data::DATA_POINTS && f.wire == WT_LEN)
            .take(self.count);
        for point in points {
            w.tag(data::DATA_POINTS, WT_LEN)?;
            w.varint(point.value.len() as u64)?;
            w.raw(point.value)?;
        }
        if w.written() == expected {
            Ok(())
        } else {
            Err(EncodeError::LengthMismatch)
        }
    }
}
