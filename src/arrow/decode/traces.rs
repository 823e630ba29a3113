//! [`TracesDecoder`]: `ResourceSpans` records -> rows of [`schema::traces`], one per span.
//!
//! Each `Span` is read in one pass: scalar fields land in locals (a later occurrence wins),
//! attributes, events and links are appended to their child columns as they come, and the
//! row's scalars and list ends are pushed when the span ends (the resource / scope columns of
//! a scope's rows are pushed by the walk when the scope ends, see `common`).
//! `Status` occurring twice merges (its fields are scalars, so the last of each wins).
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use arrow_array::types::{Int32Type, UInt32Type};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_schema::{FieldRef, Fields};

use super::attributes::Attrs;
use super::columns::{
    Fixed, Offsets, Prim, Strs, Times, columns, finish_times, list_item, struct_fields,
};
use super::common::{CommonCols, Items, Names, walk};
use super::error::DecodeError;
use super::reader::{Reader, Text};
use super::{Decoder, batch, transact};
use crate::arrow::schema;
use crate::signal::Signal;
use crate::wire::fields::{event, link, span, status};

const NAMES: Names = Names {
    resource_items: "ResourceSpans",
    scope_items: "ScopeSpans",
    item: "Span",
};

/// Decodes `ResourceSpans` records into [`schema::traces`] batches. See [`Decoder`].
pub struct TracesDecoder {
    cols: TraceCols,
    rows: usize,
}

impl fmt::Debug for TracesDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracesDecoder")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Default for TracesDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TracesDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        TracesDecoder {
            cols: TraceCols::default(),
            rows: 0,
        }
    }
}

impl Decoder for TracesDecoder {
    fn signal(&self) -> Signal {
        Signal::Traces
    }

    fn append(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        transact(&mut self.cols, &mut self.rows, |cols| cols.record(record))
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> RecordBatch {
        let rows = core::mem::take(&mut self.rows);
        batch(schema::traces(), self.cols.finish(), rows)
    }
}

#[derive(Debug)]
struct Events {
    offsets: Offsets,
    time_unix_nano: Times,
    name: Strs,
    attributes: Attrs,
    dropped_attributes_count: Prim<UInt32Type>,
    item: FieldRef,
    fields: Fields,
}

columns!(Events {
    offsets,
    time_unix_nano,
    name,
    attributes,
    dropped_attributes_count,
});

impl Default for Events {
    fn default() -> Self {
        let item = list_item(&schema::traces(), "events");
        Events {
            fields: struct_fields(item.data_type()),
            item,
            offsets: Offsets::default(),
            time_unix_nano: Times::default(),
            name: Strs::default(),
            attributes: Attrs::default(),
            dropped_attributes_count: Prim::default(),
        }
    }
}

impl Events {
    fn push(&mut self, mut r: Reader<'_>, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (mut time, mut name, mut dropped) = (0, Text::EMPTY, 0);
        while let Some(f) = r.next()? {
            match f.num {
                event::TIME_UNIX_NANO => time = f.fixed64("Span.Event.time_unix_nano")?,
                event::NAME => name = f.str("Span.Event.name")?,
                event::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                event::DROPPED_ATTRIBUTES_COUNT => {
                    dropped = f.uint32("Span.Event.dropped_attributes_count")?;
                }
                _ => {}
            }
        }
        self.time_unix_nano.push(time as i64);
        self.name.push(name);
        self.attributes.end_row();
        self.dropped_attributes_count.push(dropped);
        Ok(())
    }

    fn end_row(&mut self) {
        self.offsets.push(self.time_unix_nano.len());
    }

    fn finish(&mut self) -> ArrayRef {
        let (offsets, nulls) = self.offsets.finish();
        let children = vec![
            finish_times(&mut self.time_unix_nano),
            Arc::new(self.name.finish()),
            Arc::new(self.attributes.finish()),
            Arc::new(self.dropped_attributes_count.finish()),
        ];
        let values = StructArray::new(self.fields.clone(), children, None);
        Arc::new(ListArray::new(
            self.item.clone(),
            offsets,
            Arc::new(values),
            nulls,
        ))
    }
}

#[derive(Debug)]
struct Links {
    offsets: Offsets,
    trace_id: Fixed<16>,
    span_id: Fixed<8>,
    trace_state: Strs,
    attributes: Attrs,
    dropped_attributes_count: Prim<UInt32Type>,
    flags: Prim<UInt32Type>,
    item: FieldRef,
    fields: Fields,
}

columns!(Links {
    offsets,
    trace_id,
    span_id,
    trace_state,
    attributes,
    dropped_attributes_count,
    flags,
});

impl Default for Links {
    fn default() -> Self {
        let item = list_item(&schema::traces(), "links");
        Links {
            fields: struct_fields(item.data_type()),
            item,
            offsets: Offsets::default(),
            trace_id: Fixed::default(),
            span_id: Fixed::default(),
            trace_state: Strs::default(),
            attributes: Attrs::default(),
            dropped_attributes_count: Prim::default(),
            flags: Prim::default(),
        }
    }
}

impl Links {
    fn push(&mut self, mut r: Reader<'_>, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (mut trace_id, mut span_id, mut trace_state, mut dropped, mut flags) =
            (None, None, Text::EMPTY, 0, 0);
        while let Some(f) = r.next()? {
            match f.num {
                link::TRACE_ID => trace_id = f.id::<16>("Span.Link.trace_id")?,
                link::SPAN_ID => span_id = f.id::<8>("Span.Link.span_id")?,
                link::TRACE_STATE => trace_state = f.str("Span.Link.trace_state")?,
                link::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                link::DROPPED_ATTRIBUTES_COUNT => {
                    dropped = f.uint32("Span.Link.dropped_attributes_count")?;
                }
                link::FLAGS => flags = f.fixed32("Span.Link.flags")?,
                _ => {}
            }
        }
        self.trace_id.push_or_zero(trace_id);
        self.span_id.push_or_zero(span_id);
        self.trace_state.push(trace_state);
        self.attributes.end_row();
        self.dropped_attributes_count.push(dropped);
        self.flags.push(flags);
        Ok(())
    }

    fn end_row(&mut self) {
        self.offsets.push(self.flags.len());
    }

    fn finish(&mut self) -> ArrayRef {
        let (offsets, nulls) = self.offsets.finish();
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.attributes.finish()),
            Arc::new(self.dropped_attributes_count.finish()),
            Arc::new(self.flags.finish()),
        ];
        let values = StructArray::new(self.fields.clone(), children, None);
        Arc::new(ListArray::new(
            self.item.clone(),
            offsets,
            Arc::new(values),
            nulls,
        ))
    }
}

#[derive(Debug, Default)]
struct TraceCols {
    common: CommonCols,
    trace_id: Fixed<16>,
    span_id: Fixed<8>,
    trace_state: Strs,
    parent_span_id: Fixed<8>,
    flags: Prim<UInt32Type>,
    name: Strs,
    kind: Prim<Int32Type>,
    start_time_unix_nano: Times,
    end_time_unix_nano: Times,
    attributes: Attrs,
    dropped_attributes_count: Prim<UInt32Type>,
    events: Events,
    dropped_events_count: Prim<UInt32Type>,
    links: Links,
    dropped_links_count: Prim<UInt32Type>,
    status_code: Prim<Int32Type>,
    status_message: Strs,
    /// Scratch for merged nested attribute values (not a column).
    buf: Vec<u8>,
}

columns!(TraceCols {
    common,
    trace_id,
    span_id,
    trace_state,
    parent_span_id,
    flags,
    name,
    kind,
    start_time_unix_nano,
    end_time_unix_nano,
    attributes,
    dropped_attributes_count,
    events,
    dropped_events_count,
    links,
    dropped_links_count,
    status_code,
    status_message,
});

impl Items for TraceCols {
    #[inline]
    fn item(&mut self, buf: &mut Vec<u8>, r: Reader<'_>) -> Result<usize, DecodeError> {
        self.span(buf, r).map(|()| 1)
    }

    #[inline]
    fn common(&mut self) -> &mut CommonCols {
        &mut self.common
    }
}

impl TraceCols {
    fn record(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        self.common.start_record();
        let mut buf = core::mem::take(&mut self.buf);
        let rows = walk(record, &NAMES, &mut buf, self);
        self.buf = buf;
        rows
    }

    fn span(&mut self, buf: &mut Vec<u8>, mut r: Reader<'_>) -> Result<(), DecodeError> {
        let (mut trace_id, mut span_id, mut parent_span_id) = (None, None, None);
        let (mut trace_state, mut name, mut status_message) =
            (Text::EMPTY, Text::EMPTY, Text::EMPTY);
        let (mut flags, mut kind, mut status_code) = (0, 0, 0);
        let (mut start, mut end) = (0, 0);
        let (mut dropped_attributes, mut dropped_events, mut dropped_links) = (0, 0, 0);
        while let Some(f) = r.next()? {
            match f.num {
                span::TRACE_ID => trace_id = f.id::<16>("Span.trace_id")?,
                span::SPAN_ID => span_id = f.id::<8>("Span.span_id")?,
                span::TRACE_STATE => trace_state = f.str("Span.trace_state")?,
                span::PARENT_SPAN_ID => parent_span_id = f.id::<8>("Span.parent_span_id")?,
                span::NAME => name = f.str("Span.name")?,
                span::KIND => kind = f.int32("Span.kind")?,
                span::START_TIME_UNIX_NANO => start = f.fixed64("Span.start_time_unix_nano")?,
                span::END_TIME_UNIX_NANO => end = f.fixed64("Span.end_time_unix_nano")?,
                span::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                span::DROPPED_ATTRIBUTES_COUNT => {
                    dropped_attributes = f.uint32("Span.dropped_attributes_count")?;
                }
                span::EVENTS => self.events.push(f.message("Span.Event")?, buf)?,
                span::DROPPED_EVENTS_COUNT => {
                    dropped_events = f.uint32("Span.dropped_events_count")?;
                }
                span::LINKS => self.links.push(f.message("Span.Link")?, buf)?,
                span::DROPPED_LINKS_COUNT => {
                    dropped_links = f.uint32("Span.dropped_links_count")?;
                }
                span::STATUS => {
                    let mut s = f.message("Status")?;
                    while let Some(g) = s.next()? {
                        match g.num {
                            status::MESSAGE => status_message = g.str("Status.message")?,
                            status::CODE => status_code = g.int32("Status.code")?,
                            _ => {}
                        }
                    }
                }
                span::FLAGS => flags = f.fixed32("Span.flags")?,
                _ => {}
            }
        }
        self.trace_id.push_or_zero(trace_id);
        self.span_id.push_or_zero(span_id);
        self.trace_state.push(trace_state);
        self.parent_span_id.push_opt(parent_span_id);
        self.flags.push(flags);
        self.name.push(name);
        self.kind.push(kind);
        self.start_time_unix_nano.push(start as i64);
        self.end_time_unix_nano.push(end as i64);
        self.attributes.end_row();
        self.dropped_attributes_count.push(dropped_attributes);
        self.events.end_row();
        self.dropped_events_count.push(dropped_events);
        self.links.end_row();
        self.dropped_links_count.push(dropped_links);
        self.status_code.push(status_code);
        self.status_message.push(status_message);
        Ok(())
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut out = Vec::with_capacity(25);
        self.common.finish(&mut out);
        out.push(Arc::new(self.trace_id.finish()));
        out.push(Arc::new(self.span_id.finish()));
        out.push(Arc::new(self.trace_state.finish()));
        out.push(Arc::new(self.parent_span_id.finish()));
        out.push(Arc::new(self.flags.finish()));
        out.push(Arc::new(self.name.finish()));
        out.push(Arc::new(self.kind.finish()));
        out.push(finish_times(&mut self.start_time_unix_nano));
        out.push(finish_times(&mut self.end_time_unix_nano));
        out.push(Arc::new(self.attributes.finish()));
        out.push(Arc::new(self.dropped_attributes_count.finish()));
        out.push(self.events.finish());
        out.push(Arc::new(self.dropped_events_count.finish()));
        out.push(self.links.finish());
        out.push(Arc::new(self.dropped_links_count.finish()));
        out.push(Arc::new(self.status_code.finish()));
        out.push(Arc::new(self.status_message.finish()));
        out
    }
}
