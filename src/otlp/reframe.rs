//! The record plan of one request: which ring records it becomes, how long each is, and how
//! to write each one straight into its claimed slot.
//!
//! A `Resource*` chunk that fits the ring's largest record is one record, copied as it is. A
//! larger one is re-framed (DESIGN.md principle 5): every piece repeats the chunk's
//! resource-level fields except field 2 (copied raw), then holds one scope-level message
//! (field 2, `LEN`) made of that scope's own fields except field 2 plus a run of its items,
//! each re-emitted as field 2 + length + the item's bytes. Items are packed greedily in wire
//! order. An item that does not fit even alone in a piece is rejected and counted (OTLP partial
//! success), never split: a span or log record has no smaller unit, and for metrics a whole
//! `Metric` (with all its data points) is the unit here.
//!
//! Everything borrows the request bytes; the plan is one `Vec` per request, no per-item
//! allocation. Chunks and scopes without items are dropped: they carry no telemetry row.
#![forbid(unsafe_code)]

use crate::ring::{HEADER_LEN, RECORD_ALIGN, Ring};
use crate::wire::encode::{EncodeError, Writer, len_field_len};
use crate::wire::fields::{WT_LEN, resource_items, scope_items};
use crate::wire::scan::{Items, ResourceChunk, ScopeChunk};

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
                    // Too large even alone: rejected; the next piece starts after it.
                    self.too_large += u64::from(item.count());
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
        }
    }
}
