//! Zero-allocation OTLP protobuf encoding from borrowed views.
//!
//! An application thread encodes a record *once, straight into a claimed ring slot*: first
//! [`Encode::encoded_len`] (exact), so a slot of exactly that size can be claimed, then
//! `encode_exact` (or [`Encode::encode`], for any buffer at least that long) into the slot's
//! `&mut [u8]`. A ring record is one complete
//! `ResourceSpans` / `ResourceMetrics` / `ResourceLogs` message body ([`ResourceSpans`],
//! [`ResourceMetrics`], [`ResourceLogs`]), without the outer tag and length of the request, so
//! the forwarder can concatenate records into an `Export*ServiceRequest` with
//! [`request_field_header`], and storage can decode each record on its own.
//!
//! ```
//! use otlp_arrow::wire::encode::{
//!     AnyValue, Encode, KeyValue, Part, PreEncoded, Resource, ResourceSpans, Scope, Span,
//!     SpanKind,
//! };
//!
//! // Once, at registration: the resource and scope bytes every record will copy.
//! let res_attrs = [KeyValue::new("service.name", AnyValue::String("checkout"))];
//! let resource = Resource { attributes: &res_attrs[..], dropped_attributes_count: 0 };
//! let mut res_buf = [0u8; 64];
//! let resource = PreEncoded::encode(&resource, &mut res_buf)?;
//!
//! // Per span: size, claim (here a stack buffer stands in for the ring slot), encode.
//! let attrs = [KeyValue::new("http.status_code", AnyValue::Int(200))];
//! let span: Span<'_> = Span {
//!     trace_id: [1; 16],
//!     span_id: [2; 8],
//!     name: "GET /cart",
//!     kind: SpanKind::Server,
//!     start_time_unix_nano: 1,
//!     end_time_unix_nano: 2,
//!     attributes: &attrs,
//!     ..Span::default()
//! };
//! let record = ResourceSpans {
//!     resource: Part::Encoded(resource),
//!     scope: Part::View(Scope { name: "my-lib", ..Scope::default() }),
//!     spans: &[span],
//!     ..ResourceSpans::default()
//! };
//! let len = record.encoded_len();
//! let mut ring = [0u8; 256];
//! let slot = &mut ring[..len];
//! record.encode_exact(slot)?;
//! # let mut other = [0u8; 256];
//! # assert_eq!(record.encode(&mut other)?, len);
//! # assert_eq!(other[..len], ring[..len]);
//! # Ok::<(), otlp_arrow::wire::encode::EncodeError>(())
//! ```
//!
//! # Promises
//!
//! - `no_std`, no allocation, no `unsafe`, no panics: a buffer that is too small yields
//!   [`EncodeError::BufferTooSmall`]. `encoded_len` is exact, so a buffer of that size never
//!   fails.
//! - The bytes are those `prost` produces for the same message: proto3 defaults (0, `""`, empty
//!   bytes, `false`) are omitted, except `optional` fields (histogram `sum`/`min`/`max`) and set
//!   oneof members (`AnyValue` members, `as_double`/`as_int`), which are always written. Fields
//!   come in prost's order: ascending field number, a oneof at its lowest member's number (so
//!   `NumberDataPoint.as_int` (6) precedes `exemplars` (5), exactly as prost writes it). Repeated
//!   scalars are packed.
//! - Attribute lists and values go through the [`Attributes`] / [`Attribute`] / [`Value`]
//!   traits, so foreign representations (the C ABI's tagged unions) encode directly; see
//!   [below](#attributes-in-any-representation).
//! - Each nested length is computed once per level (never exponentially). With one item per
//!   record (the hot case) the item's length is computed once and reused for its scope's
//!   length; `encode_exact` on the record types derives both from the slot's length instead.
//!
//! Lengths use plain `usize` arithmetic; an input whose encoding would exceed `usize::MAX`
//! (reachable only by aliasing the same slices many times on a 32-bit target) is outside the
//! contract.
//!
//! # Attributes in any representation
//!
//! The C ABI (and later Python) hands over attribute arrays in its own `#[repr(C)]` layout:
//! tagged unions, pointer + length strings, nested arrays. Converting those into slices of
//! [`KeyValue`] would need an allocation per record. Instead every view that carries attributes
//! ([`Span`], [`LogRecord`], data points, ...) is generic over the
//! attribute list type `A: `[`Attributes`], defaulting to `[KeyValue<'a>]`:
//!
//! - [`Attributes`] is a list encoded as a `repeated KeyValue` field. It is implemented for
//!   every slice `[T]` (and array) whose element is an [`Attribute`], and can be implemented by
//!   hand for anything else (a struct with fixed fields, say).
//! - [`Attribute`] is one key and a [`Value`].
//! - [`Value`] maps a value to a one-level [`ValueView`]: a scalar, or a reference to a nested
//!   [`Values`] array / [`Attributes`] list of the same foreign kind.
//!
//! All of it is monomorphised, so the Rust slices pay nothing for the generality.
//!
//! ```
//! use otlp_arrow::wire::encode::{
//!     AnyValue, Attribute, Encode, KeyValue, Resource, Value, ValueView,
//! };
//!
//! /// A "foreign" tagged attribute, as a C ABI might hand it over.
//! struct ForeignValue {
//!     tag: u8, // 0 = int, 1 = string, 2 = array
//!     int: i64,
//!     text: &'static str,
//!     items: &'static [ForeignValue],
//! }
//! struct ForeignKv {
//!     key: &'static str,
//!     value: ForeignValue,
//! }
//!
//! impl Value for ForeignValue {
//!     type Array = [ForeignValue];
//!     type KvList = [ForeignKv];
//!     fn view(&self) -> ValueView<'_, [ForeignValue], [ForeignKv]> {
//!         match self.tag {
//!             0 => ValueView::Int(self.int),
//!             1 => ValueView::String(self.text),
//!             2 => ValueView::Array(self.items),
//!             _ => ValueView::Empty,
//!         }
//!     }
//! }
//! impl Attribute for ForeignKv {
//!     type Value = ForeignValue;
//!     fn key(&self) -> &str {
//!         self.key
//!     }
//!     fn value(&self) -> &ForeignValue {
//!         &self.value
//!     }
//! }
//!
//! static ITEMS: [ForeignValue; 1] = [ForeignValue { tag: 0, int: 7, text: "", items: &[] }];
//! let foreign = [
//!     ForeignKv { key: "n", value: ForeignValue { tag: 0, int: 1, text: "", items: &[] } },
//!     ForeignKv { key: "a", value: ForeignValue { tag: 2, int: 0, text: "", items: &ITEMS } },
//! ];
//! let native = [
//!     KeyValue::new("n", AnyValue::Int(1)),
//!     KeyValue::new("a", AnyValue::Array(&[AnyValue::Int(7)])),
//! ];
//!
//! let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
//! let n = Resource { attributes: &foreign[..], dropped_attributes_count: 0 }.encode(&mut a)?;
//! let m = Resource { attributes: &native[..], dropped_attributes_count: 0 }.encode(&mut b)?;
//! assert_eq!(a[..n], b[..m]);
//! # Ok::<(), otlp_arrow::wire::encode::EncodeError>(())
//! ```
#![forbid(unsafe_code)]

mod common;
mod logs;
mod metrics;
mod record;
mod span_record;
mod trace;
mod writer;

pub use common::{
    AnyValue, Attribute, Attributes, KeyValue, Resource, Scope, Value, ValueView, Values,
    encode_key_value, key_value_len, key_value_len_raw, string_key_value_len_raw,
};
pub use logs::{LogRecord, SeverityNumber};
pub use metrics::{
    AggregationTemporality, Buckets, Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint,
    Metric, MetricData, NumberDataPoint, NumberValue, Quantile, SummaryDataPoint,
};
pub use record::{
    Part, PreEncoded, REQUEST_FIELD_HEADER_MAX, ResourceLogs, ResourceMetrics, ResourceSpans,
    request_field_header, request_field_header_len,
};
pub use span_record::{SpanRecord, SpanRecordLen};
pub use trace::{Event, Link, Span, SpanKind, Status, StatusCode};
pub use writer::{ASCII_HIGH_BITS, EncodeError, Writer, len_field_len, tag_len, varint_len};

/// A view that encodes as a protobuf message body (no tag or length of its own).
pub trait Encode {
    /// Exact number of bytes [`encode_to`](Encode::encode_to) writes.
    fn encoded_len(&self) -> usize;

    /// Writes the message body at the writer's position.
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;

    /// Writes the message body at the start of `buf`; returns the number of bytes written
    /// (`encoded_len()`).
    #[inline]
    fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let mut w = Writer::new(buf);
        w.local(|w| self.encode_to(w))?;
        Ok(w.written())
    }
}

/// Length of a sub-message field.
#[inline]
pub(crate) fn message_len<M: Encode + ?Sized>(field: u32, m: &M) -> usize {
    len_field_len(field, m.encoded_len())
}

/// Writes a sub-message field (its length is computed once here).
#[inline]
pub(crate) fn encode_message<M: Encode + ?Sized>(
    field: u32,
    m: &M,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    w.message_with_len(field, m.encoded_len(), |w| m.encode_to(w))
}

/// Length of a repeated sub-message field.
#[inline]
pub(crate) fn repeated_len<M: Encode>(field: u32, ms: &[M]) -> usize {
    ms.iter().map(|m| message_len(field, m)).sum()
}

/// Writes a repeated sub-message field.
#[inline]
pub(crate) fn encode_repeated<M: Encode>(
    field: u32,
    ms: &[M],
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    for m in ms {
        encode_message(field, m, w)?;
    }
    Ok(())
}

/// Writes message field `field` whose body is: `pre` (writing `other_len - post's bytes`),
/// the repeated `items` as `item_field`, then `post`; `other_len` is the length of `pre` and
/// `post` together.
///
/// With exactly one item (the hot case: one span, metric or point per record) the item's
/// length is computed once and used both for the body length and for the item's own prefix.
#[inline]
pub(crate) fn encode_with_items<M: Encode>(
    w: &mut Writer<'_>,
    field: u32,
    other_len: usize,
    pre: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
    item_field: u32,
    items: &[M],
    post: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    if let [only] = items {
        let item_len = only.encoded_len();
        w.message_with_len(
            field,
            other_len + len_field_len(item_field, item_len),
            |w| {
                pre(w)?;
                w.message_with_len(item_field, item_len, |w| only.encode_to(w))?;
                post(w)
            },
        )
    } else {
        w.message_with_len(field, other_len + repeated_len(item_field, items), |w| {
            pre(w)?;
            encode_repeated(item_field, items, w)?;
            post(w)
        })
    }
}

/// `Clone` + `Copy` for views generic over `?Sized` list types: `derive` would demand
/// `A: Copy`, which `[KeyValue]` is not, although the view only holds `&A`.
macro_rules! copy_impls {
    ($($ty:ident),* $(,)?) => {$(
        impl<A: ?Sized> Clone for $ty<'_, A> {
            #[inline]
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<A: ?Sized> Copy for $ty<'_, A> {}
    )*};
}
pub(crate) use copy_impls;

/// An OTLP enum: `#[repr(i32)]` with the proto numbering, `as_i32`, checked `from_i32` and
/// `TryFrom<i32>` (the error returns the unknown value).
macro_rules! otlp_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[repr(i32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)*
        }

        impl $name {
            /// The OTLP enum number.
            #[inline]
            #[must_use]
            pub const fn as_i32(self) -> i32 {
                self as i32
            }

            /// The variant with OTLP number `v`, or `None` for a number OTLP does not define.
            #[inline]
            #[must_use]
            pub const fn from_i32(v: i32) -> Option<Self> {
                match v {
                    $($value => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl TryFrom<i32> for $name {
            type Error = i32;

            /// Fails with the unknown number itself.
            #[inline]
            fn try_from(v: i32) -> Result<Self, i32> {
                Self::from_i32(v).ok_or(v)
            }
        }

        impl From<$name> for i32 {
            #[inline]
            fn from(v: $name) -> i32 {
                v as i32
            }
        }
    };
}
pub(crate) use otlp_enum;
