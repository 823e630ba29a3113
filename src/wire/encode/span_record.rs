//! The hot path for one span: a traces ring record made of a pre-encoded resource, a
//! pre-encoded scope and exactly one [`Span`].
//!
//! The bytes are exactly those of the general [`ResourceSpans`](super::ResourceSpans) with
//! `Part::Encoded` resource and scope and a one-span slice (a test compares the two on random
//! inputs); only the work differs:
//!
//! - [`SpanRecord::lengths`] computes the span's length once (plain arithmetic over the view,
//!   plus [`Attributes::attributes_len`], which a caller that already walked the attributes
//!   can answer from a cached sum) and derives the scope entry's and the record's lengths from
//!   it with a few additions, keeping all three in a [`SpanRecordLen`];
//! - [`SpanRecord::encode_exact`] writes front to back into the claimed slot, taking the
//!   nested lengths from that plan instead of recomputing or deriving them: the resource and
//!   scope bodies are copied, the few tags and lengths around them are single stores.
//!
//! As everywhere in the encoder, nothing can leave as `Ok` malformed: the slot must be exactly
//! the planned length, and the span and scope entry must write exactly their planned lengths
//! (a plan from another record, or attributes that changed between the two calls, give
//! [`EncodeError::LengthMismatch`]).
#![forbid(unsafe_code)]

use super::Encode;
use super::common::{Attributes, KeyValue};
use super::record::PreEncoded;
use super::trace::Span;
use super::writer::{EncodeError, Writer, len_field_len, opt_bytes_len};
use crate::wire::fields::{resource_items, scope_items};

/// A traces ring record with one span, resource and scope pre-encoded (see the
/// [module docs](self)).
///
/// ```
/// use otlp_arrow::wire::encode::{
///     AnyValue, Encode, KeyValue, Part, PreEncoded, Resource, ResourceSpans, Scope, Span,
///     SpanRecord,
/// };
///
/// let res_attrs = [KeyValue::new("service.name", AnyValue::String("checkout"))];
/// let mut rb = [0u8; 64];
/// let resource = PreEncoded::encode(
///     &Resource { attributes: &res_attrs[..], dropped_attributes_count: 0 },
///     &mut rb,
/// )?;
/// let mut sb = [0u8; 16];
/// let scope = PreEncoded::encode(&Scope { name: "lib", ..Scope::default() }, &mut sb)?;
/// let attrs = [KeyValue::new("http.status_code", AnyValue::Int(200))];
/// let span: Span<'_> = Span { name: "GET /cart", attributes: &attrs, ..Span::default() };
///
/// let record = SpanRecord {
///     resource,
///     resource_schema_url: "",
///     scope,
///     scope_schema_url: "",
///     span: &span,
/// };
/// let plan = record.lengths();
/// let mut slot = vec![0u8; plan.total()]; // the claimed ring slot
/// record.encode_exact(&plan, &mut slot)?;
///
/// // The same bytes as the general record type.
/// let general = ResourceSpans {
///     resource: Part::Encoded(resource),
///     scope: Part::Encoded(scope),
///     spans: core::slice::from_ref(&span),
///     ..ResourceSpans::default()
/// };
/// let mut other = vec![0u8; general.encoded_len()];
/// general.encode_exact(&mut other)?;
/// assert_eq!(slot, other);
/// # Ok::<(), otlp_arrow::wire::encode::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct SpanRecord<'a, A: ?Sized = [KeyValue<'a>]> {
    /// The `Resource` body (the field is always present).
    pub resource: PreEncoded<'a>,
    /// `schema_url` of the resource entry.
    pub resource_schema_url: &'a str,
    /// The `InstrumentationScope` body (the field is always present).
    pub scope: PreEncoded<'a>,
    /// `schema_url` of the scope entry.
    pub scope_schema_url: &'a str,
    /// The one span.
    pub span: &'a Span<'a, A>,
}

impl<A: ?Sized> Clone for SpanRecord<'_, A> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}
impl<A: ?Sized> Copy for SpanRecord<'_, A> {}

/// The lengths of a [`SpanRecord`]'s nested messages, computed once by
/// [`SpanRecord::lengths`] and used by [`SpanRecord::encode_exact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRecordLen {
    total: usize,
    scope_body: usize,
    span: usize,
}

impl SpanRecordLen {
    /// The record's length: the size of the slot to claim.
    #[inline]
    #[must_use]
    pub const fn total(&self) -> usize {
        self.total
    }
}

impl<A: Attributes + ?Sized> SpanRecord<'_, A> {
    /// Sizes the record: the span once, then the scope entry and the record around it.
    #[inline]
    #[must_use]
    pub fn lengths(&self) -> SpanRecordLen {
        let span = self.span.encoded_len();
        let scope_body = len_field_len(scope_items::SCOPE, self.scope.as_bytes().len())
            + len_field_len(scope_items::ITEMS, span)
            + opt_bytes_len(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes());
        let total = len_field_len(resource_items::RESOURCE, self.resource.as_bytes().len())
            + len_field_len(resource_items::SCOPE_ITEMS, scope_body)
            + opt_bytes_len(
                resource_items::SCHEMA_URL,
                self.resource_schema_url.as_bytes(),
            );
        SpanRecordLen {
            total,
            scope_body,
            span,
        }
    }

    /// Writes the record into `slot`, which must be exactly `plan.total()` bytes long, `plan`
    /// being this record's [`lengths`](Self::lengths).
    ///
    /// # Errors
    /// [`EncodeError::LengthMismatch`] (or [`EncodeError::BufferTooSmall`]) if the slot or
    /// the plan do not fit what is written; the slot's contents are then unspecified.
    #[inline]
    pub fn encode_exact(&self, plan: &SpanRecordLen, slot: &mut [u8]) -> Result<(), EncodeError> {
        if slot.len() != plan.total {
            return Err(EncodeError::LengthMismatch);
        }
        let mut w = Writer::new(slot);
        w.local(|w| {
            w.bytes_field(resource_items::RESOURCE, self.resource.as_bytes())?;
            w.len_header(resource_items::SCOPE_ITEMS, plan.scope_body)?;
            let scope_start = w.remaining();
            w.bytes_field(scope_items::SCOPE, self.scope.as_bytes())?;
            w.len_header(scope_items::ITEMS, plan.span)?;
            let span_start = w.remaining();
            self.span.encode_to(w)?;
            if span_start - w.remaining() != plan.span {
                return Err(EncodeError::LengthMismatch);
            }
            w.opt_bytes(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes())?;
            if scope_start - w.remaining() != plan.scope_body {
                return Err(EncodeError::LengthMismatch);
            }
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

impl<A: Attributes + ?Sized> Encode for SpanRecord<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        self.lengths().total
    }

    /// The general writer path (into any buffer at least `encoded_len()` long); the ring
    /// path is [`SpanRecord::encode_exact`].
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let plan = self.lengths();
        w.bytes_field(resource_items::RESOURCE, self.resource.as_bytes())?;
        w.message_with_len(resource_items::SCOPE_ITEMS, plan.scope_body, |w| {
            w.bytes_field(scope_items::SCOPE, self.scope.as_bytes())?;
            w.message_with_len(scope_items::ITEMS, plan.span, |w| self.span.encode_to(w))?;
            w.opt_bytes(scope_items::SCHEMA_URL, self.scope_schema_url.as_bytes())
        })?;
        w.opt_bytes(
            resource_items::SCHEMA_URL,
            self.resource_schema_url.as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode::{AnyValue, Part, ResourceSpans, Status};

    #[test]
    fn matches_the_general_record_and_refuses_wrong_slots() {
        let attrs = [
            KeyValue::new("k", AnyValue::String("v")),
            KeyValue::new("n", AnyValue::Int(-1)),
        ];
        let span: Span<'_> = Span {
            name: "x",
            attributes: &attrs,
            status: Some(Status::default()),
            ..Span::default()
        };
        for (rurl, surl) in [("", ""), ("r", "s")] {
            let record = SpanRecord {
                resource: PreEncoded::from_bytes(b"\x0a\x00"),
                resource_schema_url: rurl,
                scope: PreEncoded::from_bytes(b"\x0a\x01s"),
                scope_schema_url: surl,
                span: &span,
            };
            let general = ResourceSpans {
                resource: Part::Encoded(record.resource),
                resource_schema_url: rurl,
                scope: Part::Encoded(record.scope),
                scope_schema_url: surl,
                spans: core::slice::from_ref(&span),
            };
            let plan = record.lengths();
            assert_eq!(plan.total(), general.encoded_len());
            let mut a = [0u8; 256];
            let mut b = [0u8; 256];
            let n = plan.total();
            record.encode_exact(&plan, &mut a[..n]).unwrap();
            general.encode_exact(&mut b[..n]).unwrap();
            assert_eq!(a[..n], b[..n]);
            assert_eq!(record.encode(&mut b), Ok(n));
            assert_eq!(a[..n], b[..n]);
            for len in [0, n - 1, n + 1] {
                assert!(record.encode_exact(&plan, &mut a[..len]).is_err());
            }
            // A plan from another record is refused, not followed.
            let other = SpanRecord {
                scope: PreEncoded::from_bytes(b"\x0a\x02st"),
                resource: PreEncoded::from_bytes(b"\x08"),
                ..record
            };
            assert_eq!(other.lengths().total(), n);
            assert_eq!(
                other.encode_exact(&plan, &mut a[..n]),
                Err(EncodeError::LengthMismatch)
            );
        }
    }

    /// A plan whose inner lengths do not match what the record writes is refused at the
    /// nested message it first disagrees with, and a too-long plan is refused at the end;
    /// a too-short one runs out of room. The trait path and copies agree with the plan.
    #[test]
    fn plans_with_wrong_inner_lengths_are_refused() {
        let attrs = [KeyValue::new("k", AnyValue::String("v"))];
        let span: Span<'_> = Span {
            name: "x",
            attributes: &attrs,
            ..Span::default()
        };
        let record = SpanRecord {
            resource: PreEncoded::from_bytes(b"\x0a\x00"),
            resource_schema_url: "r",
            scope: PreEncoded::from_bytes(b"\x0a\x01s"),
            scope_schema_url: "s",
            span: &span,
        };
        #[allow(clippy::clone_on_copy)]
        let copy = record.clone();
        let plan = record.lengths();
        assert_eq!(copy.lengths(), plan);
        assert_eq!(Encode::encoded_len(&record), plan.total());
        let n = plan.total();
        let mut good = [0u8; 128];
        record.encode_exact(&plan, &mut good[..n]).unwrap();
        let mut buf = [0u8; 128];
        // The span length one short: the span writes one byte more than announced.
        let short_span = SpanRecordLen {
            span: plan.span - 1,
            ..plan
        };
        assert_eq!(
            record.encode_exact(&short_span, &mut buf[..n]),
            Err(EncodeError::LengthMismatch)
        );
        // The scope entry's length one long: refused after the scope schema URL.
        let long_scope = SpanRecordLen {
            scope_body: plan.scope_body + 1,
            ..plan
        };
        assert_eq!(
            record.encode_exact(&long_scope, &mut buf[..n]),
            Err(EncodeError::LengthMismatch)
        );
        // A total one too long (with a slot to match): a byte left over at the end.
        let long_total = SpanRecordLen {
            total: n + 1,
            ..plan
        };
        assert_eq!(
            record.encode_exact(&long_total, &mut buf[..=n]),
            Err(EncodeError::LengthMismatch)
        );
        // A total one too short (with a slot to match): the writer runs out of room.
        let short_total = SpanRecordLen {
            total: n - 1,
            ..plan
        };
        assert!(
            record
                .encode_exact(&short_total, &mut buf[..n - 1])
                .is_err()
        );
        // The general writer path refuses a buffer too small, and fills a large one.
        for len in [0, 1, 4, n - 1] {
            assert!(record.encode(&mut buf[..len]).is_err(), "{len}");
        }
        assert_eq!(copy.encode(&mut buf), Ok(n));
        assert_eq!(buf[..n], good[..n]);
    }
}
