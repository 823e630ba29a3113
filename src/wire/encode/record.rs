//! Ring records: one `ResourceSpans` / `ResourceMetrics` / `ResourceLogs` message body with a
//! single scope, plus what the forwarder needs to concatenate records into a request.
//!
//! A record's layout (each `Resource*` message, without the request's tag and length):
//!
//! ```text
//! resource (1)      Resource message: copied from PreEncoded bytes, or encoded from a view
//! scope_* (2)       exactly one ScopeSpans / ScopeMetrics / ScopeLogs:
//!   scope (1)         InstrumentationScope: PreEncoded bytes or a view
//!   items (2)         the spans / metrics / log records, repeated
//!   schema_url (3)    the scope's schema URL (omitted if empty)
//! schema_url (3)    the resource's schema URL (omitted if empty)
//! ```
//!
//! An `Export*ServiceRequest` is the concatenation, for each record, of
//! [`request_field_header`]`(record.len())` followed by the record's bytes.
#![forbid(unsafe_code)]

use super::common::{KeyValue, Resource, Scope};
use super::logs::LogRecord;
use super::metrics::Metric;
use super::trace::Span;
use super::writer::{
    EncodeError, Writer, body_len_of_field, len_field_len, opt_bytes_len, tag_len, varint_len,
};
use super::{Attributes, Encode, encode_repeated, encode_with_items, repeated_len};
use crate::wire::fields::{WT_LEN, request, resource_items, scope_items};

/// The body of a message encoded ahead of time (typically a `Resource` or
/// `InstrumentationScope` at registration), copied verbatim into every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PreEncoded<'a> {
    bytes: &'a [u8],
}

impl<'a> PreEncoded<'a> {
    /// Encodes `msg` at the start of `buf` (size it with `msg.encoded_len()`) and keeps the
    /// written bytes.
    pub fn encode<M: Encode + ?Sized>(msg: &M, buf: &'a mut [u8]) -> Result<Self, EncodeError> {
        let n = msg.encode(buf)?;
        let buf: &'a [u8] = buf;
        let bytes = buf.get(..n).ok_or(EncodeError::BufferTooSmall)?;
        Ok(Self { bytes })
    }

    /// Wraps bytes already known to be a valid message body of the right type (for instance
    /// kept from an earlier [`PreEncoded::encode`] in an owned buffer). They are copied into
    /// records unchecked: invalid bytes make invalid records.
    #[inline]
    #[must_use]
    pub const fn from_bytes(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The message body.
    #[inline]
    #[must_use]
    pub const fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }
}

impl Encode for PreEncoded<'_> {
    #[inline]
    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.raw(self.bytes)
    }
}

/// A sub-message of a record (the resource or the scope): absent, pre-encoded, or a view to
/// encode now.
#[derive(Debug, Clone, Copy, Default)]
pub enum Part<'a, T> {
    /// The field is omitted (a decoder sees no resource / scope).
    #[default]
    Absent,
    /// Bytes encoded earlier, copied verbatim (the field is present even if they are empty).
    Encoded(PreEncoded<'a>),
    /// A view encoded into the record.
    View(T),
}

impl<T: Encode> Part<'_, T> {
    #[inline]
    fn field_len(&self, field: u32) -> usize {
        match self {
            Self::Absent => 0,
            Self::Encoded(b) => len_field_len(field, b.bytes.len()),
            Self::View(v) => len_field_len(field, v.encoded_len()),
        }
    }

    #[inline]
    fn encode_field(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match self {
            Self::Absent => Ok(()),
            Self::Encoded(b) => w.bytes_field(field, b.bytes),
            Self::View(v) => w.message_with_len(field, v.encoded_len(), |w| v.encode_to(w)),
        }
    }
}

/// The parts every record has, whatever its signal.
struct Record<'r, R, S, M> {
    resource: &'r R,
    resource_schema_url: &'r str,
    scope: &'r S,
    scope_schema_url: &'r str,
    items: &'r [M],
}

impl<R: Encode, S: Encode, M: Encode> Record<'_, Part<'_, R>, Part<'_, S>, M> {
    /// Length of the scope fields around the items.
    #[inline]
    fn scope_other_len(&self) -> usize {
        self.scope.field_len(scope_items::SCOPE)
            + opt_bytes_len(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes())
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        let scope_body = self.scope_other_len() + repeated_len(scope_items::ITEMS, self.items);
        self.resource.field_len(resource_items::RESOURCE)
            + len_field_len(resource_items::SCOPE_ITEMS, scope_body)
            + opt_bytes_len(
                resource_items::SCHEMA_URL,
                self.resource_schema_url.as_bytes(),
            )
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.resource.encode_field(resource_items::RESOURCE, w)?;
        encode_with_items(
            w,
            resource_items::SCOPE_ITEMS,
            self.scope_other_len(),
            |w| self.scope.encode_field(scope_items::SCOPE, w),
            scope_items::ITEMS,
            self.items,
            |w| w.opt_bytes(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes()),
        )?;
        w.opt_bytes(
            resource_items::SCHEMA_URL,
            self.resource_schema_url.as_bytes(),
        )
    }

    /// [`encode_to`](Self::encode_to) into a slot of exactly `encoded_len()` bytes, deriving
    /// the scope entry's length (and, with one item, the item's) from the slot length instead
    /// of walking the items again. A slot of the wrong length cannot produce a malformed
    /// record: some derived length then disagrees with what is written, and
    /// `message_with_len` reports it.
    #[inline]
    fn encode_exact(&self, slot: &mut [u8]) -> Result<(), EncodeError> {
        let outer = self.resource.field_len(resource_items::RESOURCE)
            + opt_bytes_len(
                resource_items::SCHEMA_URL,
                self.resource_schema_url.as_bytes(),
            );
        let scope_body = slot
            .len()
            .checked_sub(outer)
            .and_then(|f| body_len_of_field(resource_items::SCOPE_ITEMS, f))
            .ok_or(EncodeError::LengthMismatch)?;
        let mut w = Writer::new(slot);
        w.local(|w| {
            self.resource.encode_field(resource_items::RESOURCE, w)?;
            w.message_with_len(resource_items::SCOPE_ITEMS, scope_body, |w| {
                self.scope.encode_field(scope_items::SCOPE, w)?;
                if let [only] = self.items {
                    let item_len = scope_body
                        .checked_sub(self.scope_other_len())
                        .and_then(|f| body_len_of_field(scope_items::ITEMS, f))
                        .ok_or(EncodeError::LengthMismatch)?;
                    w.message_with_len(scope_items::ITEMS, item_len, |w| only.encode_to(w))?;
                } else {
                    encode_repeated(scope_items::ITEMS, self.items, w)?;
                }
                w.opt_bytes(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes())
            })?;
            w.opt_bytes(
                resource_items::SCHEMA_URL,
                self.resource_schema_url.as_bytes(),
            )
        })?;
        if w.remaining() == 0 {
            Ok(())
        } else {
            Err(EncodeError::LengthMismatch)
        }
    }
}

macro_rules! record_type {
    ($(#[$meta:meta])* $name:ident, $item:ident, $items:ident) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name<'a, A: ?Sized = [KeyValue<'a>]> {
            /// `resource`
            pub resource: Part<'a, Resource<'a, A>>,
            /// `schema_url` of the resource
            pub resource_schema_url: &'a str,
            /// `scope` of the one scope entry
            pub scope: Part<'a, Scope<'a, A>>,
            /// `schema_url` of the scope entry
            pub scope_schema_url: &'a str,
            #[doc = concat!("The scope entry's `", stringify!($items), "`.")]
            pub $items: &'a [$item<'a, A>],
        }

        impl<A: ?Sized> Clone for $name<'_, A> {
            #[inline]
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<A: ?Sized> Copy for $name<'_, A> {}

        impl Default for $name<'_> {
            fn default() -> Self {
                Self {
                    resource: Part::Absent,
                    resource_schema_url: "",
                    scope: Part::Absent,
                    scope_schema_url: "",
                    $items: &[],
                }
            }
        }

        impl<A: Attributes + ?Sized> $name<'_, A> {
            #[inline]
            fn record(&self) -> Record<'_, Part<'_, Resource<'_, A>>, Part<'_, Scope<'_, A>>, $item<'_, A>> {
                Record {
                    resource: &self.resource,
                    resource_schema_url: self.resource_schema_url,
                    scope: &self.scope,
                    scope_schema_url: self.scope_schema_url,
                    items: self.$items,
                }
            }

            /// Encodes the record into `slot`, which must be exactly
            /// [`encoded_len()`](Encode::encoded_len) bytes long: the ring path (size, claim a
            /// slot of that size, fill it).
            ///
            /// Faster than [`Encode::encode`]: the lengths of the scope entry and, when there
            /// is one item, of that item are derived from the slot's length rather than
            /// computed again. A slot of any other length fails with
            /// [`EncodeError::LengthMismatch`] or [`EncodeError::BufferTooSmall`]; it never
            /// yields a malformed record.
            #[inline]
            pub fn encode_exact(&self, slot: &mut [u8]) -> Result<(), EncodeError> {
                self.record().encode_exact(slot)
            }
        }

        impl<A: Attributes + ?Sized> Encode for $name<'_, A> {
            #[inline]
            fn encoded_len(&self) -> usize {
                self.record().encoded_len()
            }

            #[inline]
            fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
                self.record().encode_to(w)
            }
        }
    };
}

record_type!(
    /// A traces ring record: a `ResourceSpans` body with one `ScopeSpans`.
    ResourceSpans,
    Span,
    spans
);
record_type!(
    /// A metrics ring record: a `ResourceMetrics` body with one `ScopeMetrics`.
    ResourceMetrics,
    Metric,
    metrics
);
record_type!(
    /// A logs ring record: a `ResourceLogs` body with one `ScopeLogs`.
    ResourceLogs,
    LogRecord,
    log_records
);

/// Longest header [`request_field_header`] writes: one tag byte and a ten-byte varint.
pub const REQUEST_FIELD_HEADER_MAX: usize = 11;

/// Length of the header that frames a record of `record_len` bytes inside an
/// `Export*ServiceRequest` (its repeated `resource_*` field 1).
#[inline]
#[must_use]
pub const fn request_field_header_len(record_len: usize) -> usize {
    tag_len(request::RESOURCE_ITEMS) + varint_len(record_len as u64)
}

/// Writes the header (tag of field 1, wire type LEN, then the length varint) that frames a
/// record of `record_len` bytes in an `Export*ServiceRequest`; returns how many bytes of `out`
/// it used (`request_field_header_len(record_len)`, never 0).
///
/// ```
/// use otlp_arrow::wire::encode::{REQUEST_FIELD_HEADER_MAX, request_field_header};
///
/// let mut header = [0u8; REQUEST_FIELD_HEADER_MAX];
/// let n = request_field_header(300, &mut header);
/// assert_eq!(&header[..n], &[0x0a, 0xac, 0x02]);
/// ```
#[inline]
pub fn request_field_header(record_len: usize, out: &mut [u8; REQUEST_FIELD_HEADER_MAX]) -> usize {
    let mut w = Writer::new(out);
    // Eleven bytes always hold a one-byte tag and a varint of at most ten bytes.
    match w
        .tag(request::RESOURCE_ITEMS, WT_LEN)
        .and_then(|()| w.varint(record_len as u64))
    {
        Ok(()) => w.written(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode::{AnyValue, Status};

    #[test]
    fn header_lengths() {
        let mut out = [0u8; REQUEST_FIELD_HEADER_MAX];
        for len in [
            0usize,
            1,
            127,
            128,
            16_383,
            16_384,
            u32::MAX as usize,
            usize::MAX,
        ] {
            let n = request_field_header(len, &mut out);
            assert_eq!(n, request_field_header_len(len));
            assert_eq!(out[0], 0x0a);
        }
    }

    #[test]
    fn pre_encoded_and_view_give_the_same_record() {
        let attrs = [KeyValue::new("service.name", AnyValue::String("svc"))];
        let res = Resource {
            attributes: &attrs[..],
            dropped_attributes_count: 1,
        };
        let scope = Scope {
            name: "lib",
            version: "1",
            ..Scope::default()
        };
        let mut rb = [0u8; 64];
        let mut sb = [0u8; 64];
        let pre_res = PreEncoded::encode(&res, &mut rb).unwrap();
        let pre_scope = PreEncoded::encode(&scope, &mut sb).unwrap();
        let span: Span<'_> = Span {
            name: "x",
            status: Some(Status::default()),
            ..Span::default()
        };
        let spans = [span, span];
        let views = ResourceSpans {
            resource: Part::View(res),
            resource_schema_url: "r",
            scope: Part::View(scope),
            scope_schema_url: "s",
            spans: &spans,
        };
        let pre = ResourceSpans {
            resource: Part::Encoded(pre_res),
            scope: Part::Encoded(pre_scope),
            ..views
        };
        let mut a = [0u8; 256];
        let mut b = [0u8; 256];
        let n = views.encode(&mut a).unwrap();
        assert_eq!(n, views.encoded_len());
        assert_eq!(pre.encode(&mut b), Ok(n));
        assert_eq!(a[..n], b[..n]);
        // Every shorter buffer fails cleanly.
        for cap in 0..n {
            assert_eq!(
                pre.encode(&mut b[..cap]),
                Err(EncodeError::BufferTooSmall),
                "{cap}"
            );
        }
    }
}
