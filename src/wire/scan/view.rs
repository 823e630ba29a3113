//! Cheap views over bytes the scanner has already validated: `Resource*` chunks, their
//! scope-level sub-messages, the items inside those, and raw fields.
//!
//! These walkers trust validation: they only follow tags and lengths, skipping bodies, and do
//! not re-check UTF-8, ids or nesting. They are still bounds-checked: should they ever meet
//! malformed bytes they stop early (the iterator ends); they never panic.
//!
//! Offsets are absolute: they count from the start of the bytes originally scanned, like
//! [`ScanError::offset`](super::ScanError::offset).
#![forbid(unsafe_code)]

use super::Signal;
use super::error::WireType;
use super::metrics::{DataKind, merge_points};
use super::reader::decode_varint;
use crate::wire::fields::{
    WT_I32, WT_I64, WT_LEN, WT_VARINT, data, request, resource_items, scope_items,
};

/// One protobuf field of a validated message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field number.
    pub number: u32,
    /// Wire type.
    pub wire_type: WireType,
    /// The whole field, tag included: copy it to re-emit the field unchanged.
    pub raw: &'a [u8],
    /// The payload: the body for `LEN` fields, the varint bytes or fixed-width bytes otherwise.
    pub value: &'a [u8],
    /// Absolute offset of the tag (`raw[0]`).
    pub offset: usize,
}

/// The fields of a validated message, in wire order (see [`ResourceChunk::fields`]).
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Fields<'a> {
    pub(super) const fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Ends the iteration (malformed input: cannot happen after validation).
    #[cold]
    fn stop(&mut self) -> Option<Field<'a>> {
        self.pos = self.buf.len();
        None
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    #[inline]
    fn next(&mut self) -> Option<Field<'a>> {
        let start = self.pos;
        if start >= self.buf.len() {
            return None;
        }
        let Ok((key, after_key)) = decode_varint(self.buf, start) else {
            return self.stop();
        };
        let Ok(number) = u32::try_from(key >> 3) else {
            return self.stop();
        };
        let wire = (key & 7) as u8;
        let (value_start, end) = match wire {
            WT_VARINT => match decode_varint(self.buf, after_key) {
                Ok((_, end)) => (after_key, end),
                Err(_) => return self.stop(),
            },
            WT_I64 => (after_key, after_key.saturating_add(8)),
            WT_LEN => match decode_varint(self.buf, after_key) {
                Ok((len, body)) => match usize::try_from(len) {
                    Ok(len) => (body, body.saturating_add(len)),
                    Err(_) => return self.stop(),
                },
                Err(_) => return self.stop(),
            },
            WT_I32 => (after_key, after_key.saturating_add(4)),
            _ => return self.stop(),
        };
        let (Some(raw), Some(value)) = (self.buf.get(start..end), self.buf.get(value_start..end))
        else {
            return self.stop();
        };
        self.pos = end;
        Some(Field {
            number,
            wire_type: WireType::from_bits(wire),
            raw,
            value,
            offset: self.base + start,
        })
    }
}

/// The bodies of the `LEN` fields numbered `number`, with their absolute offsets.
fn bodies(buf: &[u8], base: usize, number: u32) -> impl Iterator<Item = (&[u8], usize)> {
    Fields::new(buf, base)
        .filter(move |f| f.number == number && f.wire_type == WireType::Len)
        .map(|f| (f.value, f.offset + (f.raw.len() - f.value.len())))
}

/// The body of the last `LEN` field numbered `number`, if any.
fn last_body(buf: &[u8], number: u32) -> Option<&[u8]> {
    bodies(buf, 0, number).last().map(|(body, _)| body)
}

/// Number of data points in a validated `Metric` body (`oneof` semantics, see `metrics`).
fn metric_points(metric: &[u8]) -> u32 {
    let mut points = None;
    for field in Fields::new(metric, 0) {
        let Some(kind) = DataKind::from_field(field.number) else {
            continue;
        };
        if field.wire_type != WireType::Len {
            continue;
        }
        let n = bodies(field.value, 0, data::DATA_POINTS).count();
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if merge_points(&mut points, kind, n).is_none() {
            points = Some((kind, u32::MAX));
        }
    }
    points.map_or(0, |(_, n)| n)
}

/// Item count of one validated item body: data points for a metric, 1 otherwise.
fn item_count(signal: Signal, item: &[u8]) -> u32 {
    match signal {
        Signal::Metrics => metric_points(item),
        Signal::Traces | Signal::Logs => 1,
    }
}

/// Item count of a validated `Scope*` body.
fn scope_item_count(signal: Signal, scope: &[u8]) -> u32 {
    bodies(scope, 0, scope_items::ITEMS).fold(0u32, |n, (item, _)| {
        n.saturating_add(item_count(signal, item))
    })
}

/// Item count of a validated `Resource*` body.
fn resource_item_count(signal: Signal, resource: &[u8]) -> u32 {
    bodies(resource, 0, resource_items::SCOPE_ITEMS).fold(0u32, |n, (scope, _)| {
        n.saturating_add(scope_item_count(signal, scope))
    })
}

/// The last `string` field numbered `number` (validated, so UTF-8), or `""`.
fn last_str(buf: &[u8], number: u32) -> &str {
    last_body(buf, number)
        .and_then(|body| core::str::from_utf8(body).ok())
        .unwrap_or("")
}

/// One validated `ResourceSpans`, `ResourceMetrics` or `ResourceLogs` message: what the
/// receiver copies into the ring as one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceChunk<'a> {
    signal: Signal,
    bytes: &'a [u8],
    offset: usize,
    items: u32,
}

impl<'a> ResourceChunk<'a> {
    pub(super) const fn new(signal: Signal, bytes: &'a [u8], offset: usize, items: u32) -> Self {
        Self {
            signal,
            bytes,
            offset,
            items,
        }
    }

    /// The signal this chunk belongs to.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The message body: exactly the bytes inside the request's field-1 tag and length. A
    /// valid `Resource*` message on its own, and the ring record.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Absolute offset of `bytes()[0]` in the scanned input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Spans, metric data points or log records in this chunk.
    pub fn items(&self) -> u32 {
        self.items
    }

    /// The body of the `resource` field (`Resource` message), if present. Should the field
    /// occur more than once (decoders merge the occurrences), this is the last one; use
    /// [`fields`](Self::fields) to see them all.
    pub fn resource(&self) -> Option<&'a [u8]> {
        last_body(self.bytes, resource_items::RESOURCE)
    }

    /// The `schema_url` (last occurrence wins, as in protobuf), or `""`.
    pub fn schema_url(&self) -> &'a str {
        last_str(self.bytes, resource_items::SCHEMA_URL)
    }

    /// The scope-level sub-messages (`ScopeSpans` / `ScopeMetrics` / `ScopeLogs`).
    pub fn scopes(&self) -> Scopes<'a> {
        Scopes {
            signal: self.signal,
            fields: Fields::new(self.bytes, self.offset),
        }
    }

    /// All fields of the chunk in wire order, tags included. To re-frame a chunk larger than
    /// a ring record (DESIGN.md principle 5), copy every field but number 2 (the scope-level
    /// messages) verbatim into each piece, then a subset of the scopes.
    pub fn fields(&self) -> Fields<'a> {
        Fields::new(self.bytes, self.offset)
    }
}

/// The scope-level sub-messages of a [`ResourceChunk`].
#[derive(Clone, Debug)]
pub struct Scopes<'a> {
    signal: Signal,
    fields: Fields<'a>,
}

impl<'a> Iterator for Scopes<'a> {
    type Item = ScopeChunk<'a>;

    fn next(&mut self) -> Option<ScopeChunk<'a>> {
        self.fields.by_ref().find_map(|f| {
            (f.number == resource_items::SCOPE_ITEMS && f.wire_type == WireType::Len).then(|| {
                ScopeChunk {
                    signal: self.signal,
                    bytes: f.value,
                    offset: f.offset + (f.raw.len() - f.value.len()),
                }
            })
        })
    }
}

/// One validated `ScopeSpans`, `ScopeMetrics` or `ScopeLogs` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeChunk<'a> {
    signal: Signal,
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> ScopeChunk<'a> {
    /// The message body (inside its tag and length).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Absolute offset of `bytes()[0]`.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The body of the `scope` field (`InstrumentationScope`), if present (last occurrence).
    pub fn scope(&self) -> Option<&'a [u8]> {
        last_body(self.bytes, scope_items::SCOPE)
    }

    /// The `schema_url`, or `""`.
    pub fn schema_url(&self) -> &'a str {
        last_str(self.bytes, scope_items::SCHEMA_URL)
    }

    /// The items: `Span`, `Metric` or `LogRecord` bodies.
    pub fn items(&self) -> Items<'a> {
        Items {
            signal: self.signal,
            fields: Fields::new(self.bytes, self.offset),
        }
    }

    /// Spans, metric data points or log records in this scope (walks the items).
    pub fn item_count(&self) -> u32 {
        scope_item_count(self.signal, self.bytes)
    }

    /// All fields in wire order, tags included (copy all but number 2 to re-frame).
    pub fn fields(&self) -> Fields<'a> {
        Fields::new(self.bytes, self.offset)
    }
}

/// The items of a [`ScopeChunk`].
#[derive(Clone, Debug)]
pub struct Items<'a> {
    signal: Signal,
    fields: Fields<'a>,
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let signal = self.signal;
        self.fields.by_ref().find_map(|f| {
            (f.number == scope_items::ITEMS && f.wire_type == WireType::Len).then(|| Item {
                bytes: f.value,
                offset: f.offset + (f.raw.len() - f.value.len()),
                count: item_count(signal, f.value),
            })
        })
    }
}

/// One validated `Span`, `Metric` or `LogRecord`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    bytes: &'a [u8],
    offset: usize,
    count: u32,
}

impl<'a> Item<'a> {
    /// The message body (inside its tag and length).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Absolute offset of `bytes()[0]`.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Items it counts for: 1 for a span or log record, the data points for a metric.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// The `Resource*` chunks of a validated request (see [`ScannedRequest::chunks`]).
///
/// [`ScannedRequest::chunks`]: super::ScannedRequest::chunks
#[derive(Clone, Debug)]
pub struct Chunks<'a> {
    signal: Signal,
    fields: Fields<'a>,
}

impl<'a> Chunks<'a> {
    pub(super) const fn new(signal: Signal, bytes: &'a [u8]) -> Self {
        Self {
            signal,
            fields: Fields::new(bytes, 0),
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = ResourceChunk<'a>;

    fn next(&mut self) -> Option<ResourceChunk<'a>> {
        let signal = self.signal;
        self.fields.by_ref().find_map(|f| {
            (f.number == request::RESOURCE_ITEMS && f.wire_type == WireType::Len).then(|| {
                ResourceChunk::new(
                    signal,
                    f.value,
                    f.offset + (f.raw.len() - f.value.len()),
                    resource_item_count(signal, f.value),
                )
            })
        })
    }
}
