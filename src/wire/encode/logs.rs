//! `logs.v1`: [`LogRecord`] and [`SeverityNumber`].
#![forbid(unsafe_code)]

use super::Encode;
use super::common::{AnyValue, Attributes, KeyValue, Value, encode_value_field, value_len};
use super::otlp_enum;
use super::writer::{
    EncodeError, Writer, len_field_len, opt_bytes_len, opt_fixed32_len, opt_fixed64_len,
    opt_varint_len,
};
use crate::wire::fields::log_record;

otlp_enum! {
    /// `SeverityNumber`
    pub enum SeverityNumber {
        /// `SEVERITY_NUMBER_UNSPECIFIED`
        #[default]
        Unspecified = 0,
        /// `SEVERITY_NUMBER_TRACE`
        Trace = 1,
        /// `SEVERITY_NUMBER_TRACE2`
        Trace2 = 2,
        /// `SEVERITY_NUMBER_TRACE3`
        Trace3 = 3,
        /// `SEVERITY_NUMBER_TRACE4`
        Trace4 = 4,
        /// `SEVERITY_NUMBER_DEBUG`
        Debug = 5,
        /// `SEVERITY_NUMBER_DEBUG2`
        Debug2 = 6,
        /// `SEVERITY_NUMBER_DEBUG3`
        Debug3 = 7,
        /// `SEVERITY_NUMBER_DEBUG4`
        Debug4 = 8,
        /// `SEVERITY_NUMBER_INFO`
        Info = 9,
        /// `SEVERITY_NUMBER_INFO2`
        Info2 = 10,
        /// `SEVERITY_NUMBER_INFO3`
        Info3 = 11,
        /// `SEVERITY_NUMBER_INFO4`
        Info4 = 12,
        /// `SEVERITY_NUMBER_WARN`
        Warn = 13,
        /// `SEVERITY_NUMBER_WARN2`
        Warn2 = 14,
        /// `SEVERITY_NUMBER_WARN3`
        Warn3 = 15,
        /// `SEVERITY_NUMBER_WARN4`
        Warn4 = 16,
        /// `SEVERITY_NUMBER_ERROR`
        Error = 17,
        /// `SEVERITY_NUMBER_ERROR2`
        Error2 = 18,
        /// `SEVERITY_NUMBER_ERROR3`
        Error3 = 19,
        /// `SEVERITY_NUMBER_ERROR4`
        Error4 = 20,
        /// `SEVERITY_NUMBER_FATAL`
        Fatal = 21,
        /// `SEVERITY_NUMBER_FATAL2`
        Fatal2 = 22,
        /// `SEVERITY_NUMBER_FATAL3`
        Fatal3 = 23,
        /// `SEVERITY_NUMBER_FATAL4`
        Fatal4 = 24,
    }
}

/// A borrowed OTLP `LogRecord`.
///
/// Generic over the attribute list type `A` and the body's value type `V` (any [`Value`]), so a
/// foreign representation encodes its body without conversion too.
#[derive(Debug)]
pub struct LogRecord<'a, A: ?Sized = [KeyValue<'a>], V: ?Sized = AnyValue<'a>> {
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano`
    pub observed_time_unix_nano: u64,
    /// `severity_number`
    pub severity_number: SeverityNumber,
    /// `severity_text`
    pub severity_text: &'a str,
    /// `body`; `None` omits it (`Some(&AnyValue::Empty)` writes an empty `AnyValue`).
    pub body: Option<&'a V>,
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `flags` (fixed32)
    pub flags: u32,
    /// `trace_id`; `None` omits it.
    pub trace_id: Option<[u8; 16]>,
    /// `span_id`; `None` omits it.
    pub span_id: Option<[u8; 8]>,
    /// `event_name`
    pub event_name: &'a str,
}

impl<A: ?Sized, V: ?Sized> Clone for LogRecord<'_, A, V> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}
impl<A: ?Sized, V: ?Sized> Copy for LogRecord<'_, A, V> {}

impl Default for LogRecord<'_> {
    fn default() -> Self {
        Self {
            time_unix_nano: 0,
            observed_time_unix_nano: 0,
            severity_number: SeverityNumber::Unspecified,
            severity_text: "",
            body: None,
            attributes: &[],
            dropped_attributes_count: 0,
            flags: 0,
            trace_id: None,
            span_id: None,
            event_name: "",
        }
    }
}

impl<A: Attributes + ?Sized, V: Value + ?Sized> Encode for LogRecord<'_, A, V> {
    #[inline]
    fn encoded_len(&self) -> usize {
        use log_record as f;
        opt_fixed64_len(f::TIME_UNIX_NANO, self.time_unix_nano)
            + opt_varint_len(f::SEVERITY_NUMBER, self.severity_number as u64)
            + opt_bytes_len(f::SEVERITY_TEXT, self.severity_text.as_bytes())
            + self
                .body
                .map_or(0, |b| len_field_len(f::BODY, value_len(b)))
            + self.attributes.attributes_len(f::ATTRIBUTES)
            + opt_varint_len(
                f::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
            + opt_fixed32_len(f::FLAGS, self.flags)
            + self.trace_id.map_or(0, |_| len_field_len(f::TRACE_ID, 16))
            + self.span_id.map_or(0, |_| len_field_len(f::SPAN_ID, 8))
            + opt_fixed64_len(f::OBSERVED_TIME_UNIX_NANO, self.observed_time_unix_nano)
            + opt_bytes_len(f::EVENT_NAME, self.event_name.as_bytes())
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use log_record as f;
        w.opt_fixed64(f::TIME_UNIX_NANO, self.time_unix_nano)?;
        w.opt_varint(f::SEVERITY_NUMBER, self.severity_number as u64)?;
        w.opt_bytes(f::SEVERITY_TEXT, self.severity_text.as_bytes())?;
        if let Some(body) = self.body {
            encode_value_field(f::BODY, body, w)?;
        }
        self.attributes.encode_attributes(f::ATTRIBUTES, w)?;
        w.opt_varint(
            f::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )?;
        w.opt_fixed32(f::FLAGS, self.flags)?;
        if let Some(id) = &self.trace_id {
            w.bytes_field(f::TRACE_ID, id)?;
        }
        if let Some(id) = &self.span_id {
            w.bytes_field(f::SPAN_ID, id)?;
        }
        w.opt_fixed64(f::OBSERVED_TIME_UNIX_NANO, self.observed_time_unix_nano)?;
        w.opt_bytes(f::EVENT_NAME, self.event_name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers() {
        assert_eq!(SeverityNumber::Fatal4.as_i32(), 24);
        assert_eq!(SeverityNumber::from_i32(9), Some(SeverityNumber::Info));
        assert_eq!(SeverityNumber::from_i32(25), None);
        assert_eq!(SeverityNumber::try_from(-1), Err(-1));
    }

    #[test]
    fn empty_body_is_present_none_is_absent() {
        let mut buf = [0u8; 8];
        let with: LogRecord<'_> = LogRecord {
            body: Some(&AnyValue::Empty),
            ..LogRecord::default()
        };
        assert_eq!(with.encode(&mut buf), Ok(2));
        assert_eq!(&buf[..2], &[0x2a, 0]);
        assert_eq!(LogRecord::default().encode(&mut buf), Ok(0));
    }
}
