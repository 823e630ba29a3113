//! `trace.v1`: [`Span`] with its [`Event`]s, [`Link`]s and [`Status`].
#![forbid(unsafe_code)]

use super::common::{Attributes, KeyValue};
use super::writer::{
    EncodeError, Writer, len_field_len, opt_bytes_len, opt_fixed32_len, opt_fixed64_len,
    opt_varint_len,
};
use super::{
    Encode, copy_impls, encode_message, encode_repeated, message_len, otlp_enum, repeated_len,
};
use crate::wire::fields::{WT_LEN, event, link, span, status};

otlp_enum! {
    /// `Span.SpanKind`
    pub enum SpanKind {
        /// `SPAN_KIND_UNSPECIFIED`
        #[default]
        Unspecified = 0,
        /// `SPAN_KIND_INTERNAL`
        Internal = 1,
        /// `SPAN_KIND_SERVER`
        Server = 2,
        /// `SPAN_KIND_CLIENT`
        Client = 3,
        /// `SPAN_KIND_PRODUCER`
        Producer = 4,
        /// `SPAN_KIND_CONSUMER`
        Consumer = 5,
    }
}

otlp_enum! {
    /// `Status.StatusCode`
    pub enum StatusCode {
        /// `STATUS_CODE_UNSET`
        #[default]
        Unset = 0,
        /// `STATUS_CODE_OK`
        Ok = 1,
        /// `STATUS_CODE_ERROR`
        Error = 2,
    }
}

/// A borrowed OTLP `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status<'a> {
    /// `code`
    pub code: StatusCode,
    /// `message`
    pub message: &'a str,
}

impl Encode for Status<'_> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_bytes_len(status::MESSAGE, self.message.as_bytes())
            + opt_varint_len(status::CODE, self.code as u64)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_bytes(status::MESSAGE, self.message.as_bytes())?;
        w.opt_varint(status::CODE, self.code as u64)
    }
}

/// A borrowed OTLP `Span.Event`.
#[derive(Debug)]
pub struct Event<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `name`
    pub name: &'a str,
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
}

/// A borrowed OTLP `Span.Link`.
#[derive(Debug)]
pub struct Link<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `trace_id`
    pub trace_id: [u8; 16],
    /// `span_id`
    pub span_id: [u8; 8],
    /// `trace_state`
    pub trace_state: &'a str,
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `flags` (fixed32)
    pub flags: u32,
}

/// A borrowed OTLP `Span`.
///
/// Generic over the attribute list type `A` (span, event and link attributes alike); the
/// default is a slice of [`KeyValue`]. Write the type as `Span<'_>` when building one from
/// array literals, so `&[..]` coerces to the slice.
#[derive(Debug)]
pub struct Span<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `trace_id`
    pub trace_id: [u8; 16],
    /// `span_id`
    pub span_id: [u8; 8],
    /// `trace_state`
    pub trace_state: &'a str,
    /// `parent_span_id`; `None` for a root span (the field is then omitted).
    pub parent_span_id: Option<[u8; 8]>,
    /// `flags` (fixed32)
    pub flags: u32,
    /// `name`
    pub name: &'a str,
    /// `kind`
    pub kind: SpanKind,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `end_time_unix_nano`
    pub end_time_unix_nano: u64,
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `events`
    pub events: &'a [Event<'a, A>],
    /// `dropped_events_count`
    pub dropped_events_count: u32,
    /// `links`
    pub links: &'a [Link<'a, A>],
    /// `dropped_links_count`
    pub dropped_links_count: u32,
    /// `status`; `None` omits the field.
    pub status: Option<Status<'a>>,
}

copy_impls!(Event, Link, Span);

impl Default for Event<'_> {
    fn default() -> Self {
        Self {
            time_unix_nano: 0,
            name: "",
            attributes: &[],
            dropped_attributes_count: 0,
        }
    }
}

impl Default for Link<'_> {
    fn default() -> Self {
        Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_state: "",
            attributes: &[],
            dropped_attributes_count: 0,
            flags: 0,
        }
    }
}

impl Default for Span<'_> {
    fn default() -> Self {
        Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_state: "",
            parent_span_id: None,
            flags: 0,
            name: "",
            kind: SpanKind::Unspecified,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: &[],
            dropped_attributes_count: 0,
            events: &[],
            dropped_events_count: 0,
            links: &[],
            dropped_links_count: 0,
            status: None,
        }
    }
}

impl<A: Attributes + ?Sized> Encode for Event<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_fixed64_len(event::TIME_UNIX_NANO, self.time_unix_nano)
            + opt_bytes_len(event::NAME, self.name.as_bytes())
            + self.attributes.attributes_len(event::ATTRIBUTES)
            + opt_varint_len(
                event::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_fixed64(event::TIME_UNIX_NANO, self.time_unix_nano)?;
        w.opt_bytes(event::NAME, self.name.as_bytes())?;
        self.attributes.encode_attributes(event::ATTRIBUTES, w)?;
        w.opt_varint(
            event::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )
    }
}

impl<A: Attributes + ?Sized> Encode for Link<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        len_field_len(link::TRACE_ID, 16)
            + len_field_len(link::SPAN_ID, 8)
            + opt_bytes_len(link::TRACE_STATE, self.trace_state.as_bytes())
            + self.attributes.attributes_len(link::ATTRIBUTES)
            + opt_varint_len(
                link::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
            + opt_fixed32_len(link::FLAGS, self.flags)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.bytes_field(link::TRACE_ID, &self.trace_id)?;
        w.bytes_field(link::SPAN_ID, &self.span_id)?;
        w.opt_bytes(link::TRACE_STATE, self.trace_state.as_bytes())?;
        self.attributes.encode_attributes(link::ATTRIBUTES, w)?;
        w.opt_varint(
            link::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )?;
        w.opt_fixed32(link::FLAGS, self.flags)
    }
}

/// `trace_id` and `span_id` fields of a span: tag, length, 16 and 8 bytes.
const IDS_LEN: usize = 2 + 16 + 2 + 8;
const TRACE_ID_TAG: u8 = ((span::TRACE_ID << 3) | WT_LEN as u32) as u8;
const SPAN_ID_TAG: u8 = ((span::SPAN_ID << 3) | WT_LEN as u32) as u8;

impl<A: Attributes + ?Sized> Encode for Span<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        len_field_len(span::TRACE_ID, 16)
            + len_field_len(span::SPAN_ID, 8)
            + opt_bytes_len(span::TRACE_STATE, self.trace_state.as_bytes())
            + match self.parent_span_id {
                Some(_) => len_field_len(span::PARENT_SPAN_ID, 8),
                None => 0,
            }
            + opt_bytes_len(span::NAME, self.name.as_bytes())
            + opt_varint_len(span::KIND, self.kind as u64)
            + opt_fixed64_len(span::START_TIME_UNIX_NANO, self.start_time_unix_nano)
            + opt_fixed64_len(span::END_TIME_UNIX_NANO, self.end_time_unix_nano)
            + self.attributes.attributes_len(span::ATTRIBUTES)
            + opt_varint_len(
                span::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
            + repeated_len(span::EVENTS, self.events)
            + opt_varint_len(span::DROPPED_EVENTS_COUNT, self.dropped_events_count.into())
            + repeated_len(span::LINKS, self.links)
            + opt_varint_len(span::DROPPED_LINKS_COUNT, self.dropped_links_count.into())
            + match &self.status {
                Some(s) => message_len(span::STATUS, s),
                None => 0,
            }
            + opt_fixed32_len(span::FLAGS, self.flags)
    }

    // Always in line: the ring's hot path (`SpanRecord::encode_exact`) then keeps its local
    // writer in registers through the attribute loop.
    #[inline(always)]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        // Both ids are always present and fixed-size: one 28-byte write.
        let ids = w.take(IDS_LEN)?;
        let (trace, rest) = ids.split_at_mut(18);
        trace[..2].copy_from_slice(&[TRACE_ID_TAG, 16]);
        trace[2..].copy_from_slice(&self.trace_id);
        rest[..2].copy_from_slice(&[SPAN_ID_TAG, 8]);
        rest[2..].copy_from_slice(&self.span_id);
        w.opt_bytes(span::TRACE_STATE, self.trace_state.as_bytes())?;
        if let Some(parent) = &self.parent_span_id {
            w.bytes_field(span::PARENT_SPAN_ID, parent)?;
        }
        w.opt_bytes(span::NAME, self.name.as_bytes())?;
        w.opt_varint(span::KIND, self.kind as u64)?;
        w.opt_fixed64(span::START_TIME_UNIX_NANO, self.start_time_unix_nano)?;
        w.opt_fixed64(span::END_TIME_UNIX_NANO, self.end_time_unix_nano)?;
        self.attributes.encode_attributes(span::ATTRIBUTES, w)?;
        w.opt_varint(
            span::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )?;
        // Most spans have no events and no links: no call for them.
        if !self.events.is_empty() {
            encode_repeated(span::EVENTS, self.events, w)?;
        }
        w.opt_varint(span::DROPPED_EVENTS_COUNT, self.dropped_events_count.into())?;
        if !self.links.is_empty() {
            encode_repeated(span::LINKS, self.links, w)?;
        }
        w.opt_varint(span::DROPPED_LINKS_COUNT, self.dropped_links_count.into())?;
        if let Some(s) = &self.status {
            encode_message(span::STATUS, s, w)?;
        }
        // `flags` is field 16: prost writes fields by number, so it comes last.
        w.opt_fixed32(span::FLAGS, self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode::AnyValue;

    #[test]
    fn enums_round_trip_their_numbers() {
        for v in -1..8 {
            match SpanKind::from_i32(v) {
                Some(k) => assert_eq!(k.as_i32(), v),
                None => assert!(!(0..=5).contains(&v)),
            }
            assert_eq!(StatusCode::try_from(v).is_ok(), (0..=2).contains(&v));
        }
        assert_eq!(SpanKind::try_from(9), Err(9));
        assert_eq!(i32::from(StatusCode::Error), 2);
    }

    #[test]
    fn minimal_span_bytes() {
        let attrs = [KeyValue::new("a", AnyValue::Bool(true))];
        let s: Span<'_> = Span {
            trace_id: [1; 16],
            span_id: [2; 8],
            attributes: &attrs,
            status: Some(Status::default()),
            flags: 0x100,
            ..Span::default()
        };
        let mut buf = [0u8; 128];
        let n = s.encode(&mut buf).unwrap();
        assert_eq!(n, s.encoded_len());
        let mut expected = [0u8; 45];
        expected[..2].copy_from_slice(&[0x0a, 16]);
        expected[2..18].copy_from_slice(&[1; 16]);
        expected[18..20].copy_from_slice(&[0x12, 8]);
        expected[20..28].copy_from_slice(&[2; 8]);
        // attributes(9): KeyValue { key "a", value { bool true } }
        expected[28..37].copy_from_slice(&[0x4a, 7, 0x0a, 1, b'a', 0x12, 2, 0x10, 1]);
        // status(15) present but empty; flags(16) fixed32 = 0x100
        expected[37..45].copy_from_slice(&[0x7a, 0, 0x85, 0x01, 0x00, 0x01, 0, 0]);
        assert_eq!(&buf[..n], &expected[..]);
    }
}
