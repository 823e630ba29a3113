//! Validation of `trace.v1.Span` and its `Event`, `Link` and `Status`.
//!
//! Id rules (OTLP `trace.proto` calls all-zero or wrong-length ids invalid):
//! - a span's own `trace_id` (16 bytes) and `span_id` (8 bytes) are required, exact-length and
//!   not all zero;
//! - `parent_span_id` is empty (root span) or 8 bytes; 8 zero bytes are accepted (some
//!   exporters write them for roots; readers treat both as "no parent");
//! - a link's `trace_id` / `span_id` are empty or exact-length, and may be all zero: the trace
//!   API lets SDKs record links to invalid span contexts when they carry attributes or a
//!   trace state.
#![forbid(unsafe_code)]

use super::common::attribute;
use super::error::{At, ErrorKind, FieldName, Scan};
use super::reader::{IdRule, Reader};
use crate::wire::fields::{event, link, span, status};

/// `trace.v1.Span` at nesting `level`.
pub(super) fn span(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let (mut has_trace_id, mut has_span_id) = (false, false);
    let (mut attributes, mut events, mut links) = (0u32, 0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            span::TRACE_ID => {
                r.id(tag, 16, IdRule::Required).at(s, FieldName::TraceId)?;
                has_trace_id = true;
            }
            span::SPAN_ID => {
                r.id(tag, 8, IdRule::Required).at(s, FieldName::SpanId)?;
                has_span_id = true;
            }
            span::TRACE_STATE => r.string(tag).at(s, FieldName::TraceState)?,
            span::PARENT_SPAN_ID => r
                .id(tag, 8, IdRule::Optional)
                .at(s, FieldName::ParentSpanId)?,
            span::NAME => r.string(tag).at(s, FieldName::Name)?,
            span::KIND => r.varint_field(tag).at(s, FieldName::Kind)?,
            span::START_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::StartTimeUnixNano)?,
            span::END_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::EndTimeUnixNano)?,
            span::ATTRIBUTES => {
                attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?
            }
            span::DROPPED_ATTRIBUTES_COUNT => {
                r.varint_field(tag)
                    .at(s, FieldName::DroppedAttributesCount)?;
            }
            span::EVENTS => {
                r.message(tag, |m| span_event(m, level + 1)).at_index(
                    s,
                    FieldName::Events,
                    events,
                )?;
                events = events.saturating_add(1);
            }
            span::DROPPED_EVENTS_COUNT => {
                r.varint_field(tag).at(s, FieldName::DroppedEventsCount)?
            }
            span::LINKS => {
                r.message(tag, |m| span_link(m, level + 1))
                    .at_index(s, FieldName::Links, links)?;
                links = links.saturating_add(1);
            }
            span::DROPPED_LINKS_COUNT => r.varint_field(tag).at(s, FieldName::DroppedLinksCount)?,
            span::STATUS => r.message(tag, span_status).at(s, FieldName::Status)?,
            span::FLAGS => r.fixed32(tag).at(s, FieldName::Flags)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    if !has_trace_id {
        return Err(r.fail(r.start(), ErrorKind::MissingId)).at(s, FieldName::TraceId);
    }
    if !has_span_id {
        return Err(r.fail(r.start(), ErrorKind::MissingId)).at(s, FieldName::SpanId);
    }
    Ok(())
}

/// `trace.v1.Span.Event`.
fn span_event(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let mut attributes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            event::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            event::NAME => r.string(tag).at(s, FieldName::Name)?,
            event::ATTRIBUTES => {
                attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?;
            }
            event::DROPPED_ATTRIBUTES_COUNT => {
                r.varint_field(tag)
                    .at(s, FieldName::DroppedAttributesCount)?;
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `trace.v1.Span.Link`.
fn span_link(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let mut attributes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            link::TRACE_ID => r.id(tag, 16, IdRule::Optional).at(s, FieldName::TraceId)?,
            link::SPAN_ID => r.id(tag, 8, IdRule::Optional).at(s, FieldName::SpanId)?,
            link::TRACE_STATE => r.string(tag).at(s, FieldName::TraceState)?,
            link::ATTRIBUTES => {
                attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?;
            }
            link::DROPPED_ATTRIBUTES_COUNT => {
                r.varint_field(tag)
                    .at(s, FieldName::DroppedAttributesCount)?;
            }
            link::FLAGS => r.fixed32(tag).at(s, FieldName::Flags)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `trace.v1.Status` (field 1 is reserved: skipped like any unknown field).
fn span_status(mut r: Reader<'_, '_>) -> Scan<()> {
    let s = r.slot();
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            status::MESSAGE => r.string(tag).at(s, FieldName::Message)?,
            status::CODE => r.varint_field(tag).at(s, FieldName::Code)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}
