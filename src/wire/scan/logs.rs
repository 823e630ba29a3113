//! Validation of `logs.v1.LogRecord`.
//!
//! A log record's `trace_id` / `span_id` are optional: empty or exact-length (16 / 8); all-zero
//! is accepted (it means "no context" to every reader). `severity_number` is an open enum: any
//! value is accepted. Fields 4 (reserved) and unknown numbers are skipped.
#![forbid(unsafe_code)]

use super::common::{any_value_at, attribute};
use super::error::{At, FieldName, Scan};
use super::reader::{IdRule, Reader};
use crate::wire::fields::log_record as f;

/// `logs.v1.LogRecord` at nesting `level`.
pub(super) fn log_record(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let mut attributes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            f::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            f::OBSERVED_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::ObservedTimeUnixNano)?,
            f::SEVERITY_NUMBER => r.varint_field(tag).at(s, FieldName::SeverityNumber)?,
            f::SEVERITY_TEXT => r.string(tag).at(s, FieldName::SeverityText)?,
            f::BODY => r
                .message(tag, |m| any_value_at(m, level + 1))
                .at(s, FieldName::Body)?,
            f::ATTRIBUTES => attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?,
            f::DROPPED_ATTRIBUTES_COUNT => r
                .varint_field(tag)
                .at(s, FieldName::DroppedAttributesCount)?,
            f::FLAGS => r.fixed32(tag).at(s, FieldName::Flags)?,
            f::TRACE_ID => r.id(tag, 16, IdRule::Optional).at(s, FieldName::TraceId)?,
            f::SPAN_ID => r.id(tag, 8, IdRule::Optional).at(s, FieldName::SpanId)?,
            f::EVENT_NAME => r.string(tag).at(s, FieldName::EventName)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}
