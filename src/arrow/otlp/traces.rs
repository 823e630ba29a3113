//! Traces rows -> `Span` views: one span per row, its events and links from the list columns.
#![forbid(unsafe_code)]

use core::ops::Range;

use arrow_array::{FixedSizeBinaryArray, ListArray, StringArray};

use super::ReverseError;
use super::attributes::{MapCols, MapRow};
use super::columns::{CommonCols, Table, id, list_range, opt_id};
use super::plan::Source;
use crate::wire::encode::{
    Encode, EncodeError, Event, Link, Span, SpanKind, Status, StatusCode, Writer,
};
use crate::wire::fields::scope_items;

/// The columns of a traces batch.
#[derive(Debug)]
pub(super) struct TracesCols<'b> {
    common: CommonCols<'b>,
    trace_id: &'b FixedSizeBinaryArray,
    span_id: &'b FixedSizeBinaryArray,
    trace_state: &'b StringArray,
    parent_span_id: &'b FixedSizeBinaryArray,
    flags: &'b [u32],
    name: &'b StringArray,
    kind: &'b [i32],
    start: &'b [i64],
    end: &'b [i64],
    attributes: MapCols<'b>,
    dropped_attributes: &'b [u32],
    events: &'b ListArray,
    event: EventCols<'b>,
    dropped_events: &'b [u32],
    links: &'b ListArray,
    link: LinkCols<'b>,
    dropped_links: &'b [u32],
    status_code: &'b [i32],
    status_message: &'b StringArray,
}

#[derive(Debug)]
struct EventCols<'b> {
    time: &'b [i64],
    name: &'b StringArray,
    attributes: MapCols<'b>,
    dropped: &'b [u32],
}

#[derive(Debug)]
struct LinkCols<'b> {
    trace_id: &'b FixedSizeBinaryArray,
    span_id: &'b FixedSizeBinaryArray,
    trace_state: &'b StringArray,
    attributes: MapCols<'b>,
    dropped: &'b [u32],
    flags: &'b [u32],
}

impl<'b> TracesCols<'b> {
    pub(super) fn new(t: &Table<'b>) -> Result<Self, ReverseError> {
        let (events, e) = t.list_of_structs("events", "events")?;
        let (links, l) = t.list_of_structs("links", "links")?;
        Ok(TracesCols {
            common: CommonCols::new(t)?,
            trace_id: t.ids("trace_id", 16)?,
            span_id: t.ids("span_id", 8)?,
            trace_state: t.utf8("trace_state")?,
            parent_span_id: t.ids("parent_span_id", 8)?,
            flags: t.u32s("flags")?,
            name: t.utf8("name")?,
            kind: t.i32s("kind")?.values(),
            start: t.times("start_time_unix_nano")?,
            end: t.times("end_time_unix_nano")?,
            attributes: t.map("attributes")?,
            dropped_attributes: t.u32s("dropped_attributes_count")?,
            events,
            event: EventCols {
                time: e.times("time_unix_nano")?,
                name: e.utf8("name")?,
                attributes: e.map("attributes")?,
                dropped: e.u32s("dropped_attributes_count")?,
            },
            dropped_events: t.u32s("dropped_events_count")?,
            links,
            link: LinkCols {
                trace_id: l.ids("trace_id", 16)?,
                span_id: l.ids("span_id", 8)?,
                trace_state: l.utf8("trace_state")?,
                attributes: l.map("attributes")?,
                dropped: l.u32s("dropped_attributes_count")?,
                flags: l.u32s("flags")?,
            },
            dropped_links: t.u32s("dropped_links_count")?,
            status_code: t.i32s("status_code")?.values(),
            status_message: t.utf8("status_message")?,
        })
    }

    /// Builds the span views of `rows` and calls `f` with them as a plan [`Source`].
    pub(super) fn with_source<R>(
        &self,
        rows: Range<usize>,
        f: impl FnOnce(&dyn Source) -> R,
    ) -> Result<R, ReverseError> {
        let base = rows.start;
        let evs = child_range(self.events, &rows);
        let lks = child_range(self.links, &rows);
        // The attribute lists first: the views below hold references into these vectors.
        let attrs: Vec<MapRow<'_>> = rows.clone().map(|r| self.attributes.row(r)).collect();
        let ev_attrs: Vec<MapRow<'_>> = evs.clone().map(|j| self.event.attributes.row(j)).collect();
        let lk_attrs: Vec<MapRow<'_>> = lks.clone().map(|j| self.link.attributes.row(j)).collect();
        let events: Vec<Event<'_, MapRow<'_>>> = evs
            .clone()
            .zip(&ev_attrs)
            .map(|(j, attributes)| Event {
                time_unix_nano: self.event.time[j] as u64,
                name: self.event.name.value(j),
                attributes,
                dropped_attributes_count: self.event.dropped[j],
            })
            .collect();
        let links: Vec<Link<'_, MapRow<'_>>> = lks
            .clone()
            .zip(&lk_attrs)
            .map(|(j, attributes)| Link {
                trace_id: id(self.link.trace_id, j),
                span_id: id(self.link.span_id, j),
                trace_state: self.link.trace_state.value(j),
                attributes,
                dropped_attributes_count: self.link.dropped[j],
                flags: self.link.flags[j],
            })
            .collect();
        let mut coerced = Vec::new();
        let mut spans = Vec::with_capacity(rows.len());
        for (i, r) in rows.clone().enumerate() {
            let kind = SpanKind::from_i32(self.kind[r]).unwrap_or_else(|| {
                coerced.push(i);
                SpanKind::Unspecified
            });
            let code = StatusCode::from_i32(self.status_code[r]).unwrap_or_else(|| {
                coerced.push(i);
                StatusCode::Unset
            });
            let message = self.status_message.value(r);
            // An unset code with no message is stored the same whether the span had no
            // `status` or an empty one; writing none keeps round trips byte-stable.
            let status = (code != StatusCode::Unset || !message.is_empty())
                .then_some(Status { code, message });
            let er = list_range(self.events, r);
            let lr = list_range(self.links, r);
            spans.push(Span {
                trace_id: id(self.trace_id, r),
                span_id: id(self.span_id, r),
                trace_state: self.trace_state.value(r),
                parent_span_id: opt_id(self.parent_span_id, r),
                flags: self.flags[r],
                name: self.name.value(r),
                kind,
                start_time_unix_nano: self.start[r] as u64,
                end_time_unix_nano: self.end[r] as u64,
                attributes: &attrs[i],
                dropped_attributes_count: self.dropped_attributes[r],
                events: &events[er.start - evs.start..er.end - evs.start],
                dropped_events_count: self.dropped_events[r],
                links: &links[lr.start - lks.start..lr.end - lks.start],
                dropped_links_count: self.dropped_links[r],
                status,
            });
        }
        Ok(f(&TracesSource {
            cols: self,
            base,
            spans: &spans,
            coerced: &coerced,
        }))
    }
}

/// The child indices of list column `list` covered by `rows`.
pub(super) fn child_range(list: &ListArray, rows: &Range<usize>) -> Range<usize> {
    let o = list.value_offsets();
    o[rows.start] as usize..o[rows.end] as usize
}

struct TracesSource<'s, 'b> {
    cols: &'s TracesCols<'b>,
    base: usize,
    spans: &'s [Span<'s, MapRow<'s>>],
    coerced: &'s [usize],
}

impl Source for TracesSource<'_, '_> {
    fn depth(&self) -> usize {
        2
    }
    fn item_field(&self) -> u32 {
        scope_items::ITEMS
    }
    fn len(&self) -> usize {
        self.spans.len()
    }
    fn first_new_level(&self, i: usize) -> usize {
        self.cols.common.first_new_level(self.base + i).unwrap_or(2)
    }
    fn field(&self, level: usize, _i: usize) -> u32 {
        CommonCols::field(level)
    }
    fn own_len(&self, level: usize, i: usize) -> usize {
        self.cols.common.own_len(level, self.base + i)
    }
    fn item_len(&self, i: usize) -> usize {
        self.spans[i].encoded_len()
    }
    fn write_pre(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.cols.common.write_pre(level, self.base + i, w)
    }
    fn write_post(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.cols.common.write_post(level, self.base + i, w)
    }
    fn write_item(&self, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.spans[i].encode_to(w)
    }
    fn coerced(&self) -> &[usize] {
        self.coerced
    }
}
