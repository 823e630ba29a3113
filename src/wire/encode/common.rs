//! Attribute values, key-value lists, `Resource` and `InstrumentationScope`, and the small
//! traits that let any attribute representation be encoded without conversion.
//!
//!
//! See [the module docs](super#attributes-in-any-representation) for why attributes go
//! through traits.
#![forbid(unsafe_code)]

use super::writer::{
    EncodeError, Writer, copy_short_bits, len_field_len, opt_bytes_len, opt_varint_len, put_varint,
    tag_len, varint_len,
};
use super::{Encode, copy_impls};
use crate::wire::fields::{WT_I64, WT_LEN, WT_VARINT, any_value, key_value, list, resource, scope};

/// One level of an attribute value, as seen by the encoder.
///
/// `L` is the nested array type and `K` the nested key-value list type of the value's own
/// representation, so nested values stay in that representation all the way down.
#[derive(Debug)]
pub enum ValueView<'v, L: ?Sized, K: ?Sized> {
    /// An `AnyValue` with no member set (OTLP's "empty" value).
    Empty,
    /// `string_value`
    String(&'v str),
    /// `bool_value`
    Bool(bool),
    /// `int_value`
    Int(i64),
    /// `double_value`
    Double(f64),
    /// `bytes_value`
    Bytes(&'v [u8]),
    /// `array_value`
    Array(&'v L),
    /// `kvlist_value`
    KvList(&'v K),
}

impl<L: ?Sized, K: ?Sized> Clone for ValueView<'_, L, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<L: ?Sized, K: ?Sized> Copy for ValueView<'_, L, K> {}

/// A value that can be encoded as an OTLP `AnyValue`.
pub trait Value {
    /// The nested array type this representation uses.
    type Array: Values + ?Sized;
    /// The nested key-value list type this representation uses.
    type KvList: Attributes + ?Sized;
    /// What this value is, one level deep.
    fn view(&self) -> ValueView<'_, Self::Array, Self::KvList>;
}

/// A sequence of values, encoded as the body of an OTLP `ArrayValue`.
///
/// Implemented for slices and arrays of any [`Value`]; implement it by hand only for a
/// container that is not a slice.
pub trait Values {
    /// Exact length of the `ArrayValue` body [`encode_values`](Values::encode_values) writes.
    fn values_len(&self) -> usize;
    /// Writes the `ArrayValue` body: each value as `values` (field 1).
    fn encode_values(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;
}

/// One attribute: a key and a [`Value`].
pub trait Attribute {
    /// The value's representation.
    type Value: Value + ?Sized;
    /// The attribute key.
    fn key(&self) -> &str;
    /// The attribute value.
    fn value(&self) -> &Self::Value;
}

/// A list of attributes, encoded as a `repeated KeyValue` field.
///
/// Implemented for slices and arrays of any [`Attribute`]. To implement it by hand, write each
/// entry with [`Writer::key_value`] and size it with [`key_value_len`]:
///
/// ```
/// use otlp_arrow::wire::encode::{
///     AnyValue, Attributes, Encode, EncodeError, KeyValue, Scope, Writer, key_value_len,
/// };
///
/// /// Attributes kept as plain struct fields, never materialised as a list.
/// struct Http<'a> {
///     method: &'a str,
///     status: i64,
/// }
/// impl Attributes for Http<'_> {
///     fn attributes_len(&self, field: u32) -> usize {
///         key_value_len(field, "http.method", &AnyValue::String(self.method))
///             + key_value_len(field, "http.status", &AnyValue::Int(self.status))
///     }
///     fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
///         w.key_value(field, "http.method", &AnyValue::String(self.method))?;
///         w.key_value(field, "http.status", &AnyValue::Int(self.status))
///     }
/// }
///
/// let http = Http { method: "GET", status: 200 };
/// let list = [
///     KeyValue::new("http.method", AnyValue::String("GET")),
///     KeyValue::new("http.status", AnyValue::Int(200)),
/// ];
/// let mut a = [0u8; 64];
/// let mut b = [0u8; 64];
/// let n = Scope { name: "lib", version: "", attributes: &http, dropped_attributes_count: 0 }
///     .encode(&mut a)?;
/// let m = Scope { name: "lib", attributes: &list[..], ..Scope::default() }.encode(&mut b)?;
/// assert_eq!(a[..n], b[..m]);
/// # Ok::<(), EncodeError>(())
/// ```
pub trait Attributes {
    /// Exact length [`encode_attributes`](Attributes::encode_attributes) writes for `field`.
    fn attributes_len(&self, field: u32) -> usize;
    /// Writes every attribute as a `KeyValue` message in repeated field `field`.
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError>;
}

/// Length of an `AnyValue` body. Inlined: for the scalar members it is a few instructions.
#[inline(always)]
fn view_len<L: Values + ?Sized, K: Attributes + ?Sized>(v: &ValueView<'_, L, K>) -> usize {
    match *v {
        ValueView::Empty => 0,
        ValueView::String(s) => len_field_len(any_value::STRING_VALUE, s.len()),
        ValueView::Bool(_) => 2,
        ValueView::Int(i) => 1 + varint_len(i as u64),
        ValueView::Double(_) => 9,
        ValueView::Bytes(b) => len_field_len(any_value::BYTES_VALUE, b.len()),
        ValueView::Array(a) => array_len(a),
        ValueView::KvList(k) => kvlist_len(k),
    }
}

/// Writes an `AnyValue` body. A set oneof member is written even when it holds a default.
#[inline(always)]
fn encode_view<L: Values + ?Sized, K: Attributes + ?Sized>(
    v: ValueView<'_, L, K>,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    match v {
        ValueView::Empty => Ok(()),
        ValueView::String(s) => w.bytes_field(any_value::STRING_VALUE, s.as_bytes()),
        ValueView::Bool(b) => w.varint_field(any_value::BOOL_VALUE, u64::from(b)),
        ValueView::Int(i) => w.varint_field(any_value::INT_VALUE, i as u64),
        ValueView::Double(d) => w.double_field(any_value::DOUBLE_VALUE, d),
        ValueView::Bytes(b) => w.bytes_field(any_value::BYTES_VALUE, b),
        ValueView::Array(a) => encode_array(a, w),
        ValueView::KvList(k) => encode_kvlist(k, w),
    }
}

// Nested containers are out of line: they are rarer, and keeping them out breaks the
// recursion (attribute -> value -> kvlist -> attribute), so the attribute loops themselves can
// be inlined into each message with its field number as a constant.
#[inline(never)]
fn array_len<L: Values + ?Sized>(a: &L) -> usize {
    len_field_len(any_value::ARRAY_VALUE, a.values_len())
}

#[inline(never)]
fn kvlist_len<K: Attributes + ?Sized>(k: &K) -> usize {
    len_field_len(any_value::KVLIST_VALUE, k.attributes_len(list::VALUES))
}

#[inline(never)]
fn encode_array<L: Values + ?Sized>(a: &L, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    w.message_with_len(any_value::ARRAY_VALUE, a.values_len(), |w| {
        a.encode_values(w)
    })
}

#[inline(never)]
fn encode_kvlist<K: Attributes + ?Sized>(k: &K, w: &mut Writer<'_>) -> Result<(), EncodeError> {
    w.message_with_len(
        any_value::KVLIST_VALUE,
        k.attributes_len(list::VALUES),
        |w| k.encode_attributes(list::VALUES, w),
    )
}

/// Length of an `AnyValue` body.
#[inline]
pub(crate) fn value_len<V: Value + ?Sized>(v: &V) -> usize {
    view_len(&v.view())
}

/// Writes `v` as `AnyValue` message field `field` (tag, length, body).
#[inline]
pub(crate) fn encode_value_field<V: Value + ?Sized>(
    field: u32,
    v: &V,
    w: &mut Writer<'_>,
) -> Result<(), EncodeError> {
    let view = v.view();
    w.message_with_len(field, view_len(&view), |w| encode_view(view, w))
}

/// Length of a `KeyValue` body.
#[inline(always)]
fn key_value_body_len(key: &[u8], value_len: usize) -> usize {
    opt_bytes_len(key_value::KEY, key) + len_field_len(key_value::VALUE, value_len)
}

/// Exact length of one `KeyValue` entry (tag, length and body) in repeated field `field`, as
/// [`Writer::key_value`] writes it. For hand-written [`Attributes`] implementations.
#[inline(always)]
pub fn key_value_len<V: Value + ?Sized>(field: u32, key: &str, value: &V) -> usize {
    let key = key.as_bytes();
    // Scalars in line (a few additions); nested values out of line.
    let value_len = match value.view() {
        ValueView::String(s) => len_field_len(any_value::STRING_VALUE, s.len()),
        ValueView::Bytes(b) => len_field_len(any_value::BYTES_VALUE, b.len()),
        ValueView::Int(i) => 1 + varint_len(i as u64),
        ValueView::Bool(_) => 2,
        ValueView::Double(_) => 9,
        view => nested_value_len(&view),
    };
    len_field_len(field, key_value_body_len(key, value_len))
}

/// [`key_value_len`] from the key's length alone (its bytes are not read), for a caller that
/// sizes an entry before it has checked the key.
#[inline(always)]
pub fn key_value_len_raw<V: Value + ?Sized>(field: u32, key_len: usize, value: &V) -> usize {
    let value_len = match value.view() {
        ValueView::String(s) => len_field_len(any_value::STRING_VALUE, s.len()),
        ValueView::Bytes(b) => len_field_len(any_value::BYTES_VALUE, b.len()),
        ValueView::Int(i) => 1 + varint_len(i as u64),
        ValueView::Bool(_) => 2,
        ValueView::Double(_) => 9,
        view => nested_value_len(&view),
    };
    let key_part = if key_len == 0 {
        0
    } else {
        len_field_len(key_value::KEY, key_len)
    };
    len_field_len(field, key_part + len_field_len(key_value::VALUE, value_len))
}

/// Exact length of a `KeyValue` entry with a `string_value` from the two lengths alone, as
/// [`Writer::key_value_raw_str`] writes it.
#[inline(always)]
pub fn string_key_value_len_raw(field: u32, key_len: usize, value_len: usize) -> usize {
    let key_part = if key_len == 0 {
        0
    } else {
        len_field_len(key_value::KEY, key_len)
    };
    let value = len_field_len(any_value::STRING_VALUE, value_len);
    len_field_len(field, key_part + len_field_len(key_value::VALUE, value))
}

/// Writes one `KeyValue` entry of repeated field `field` (tag, length and body, exactly as
/// [`Writer::key_value`] writes it in a list) at the start of `buf`; returns its length,
/// [`key_value_len`]. For a caller that assembles a list's entries itself and hands the
/// unusual ones (arrays, key-value lists, bytes, the empty value) to the encoder.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] if `buf` is shorter than the entry.
pub fn encode_key_value<V: Value + ?Sized>(
    field: u32,
    key: &str,
    value: &V,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut w = Writer::new(buf);
    w.key_value(field, key, value)?;
    Ok(w.written())
}

#[inline(never)]
fn nested_value_len<L: Values + ?Sized, K: Attributes + ?Sized>(v: &ValueView<'_, L, K>) -> usize {
    view_len(v)
}

impl Writer<'_> {
    /// Writes one `KeyValue` entry in repeated field `field`: the key (omitted when empty, as
    /// proto3 does) and the value (always present, possibly an empty `AnyValue`).
    #[inline]
    pub fn key_value<V: Value + ?Sized>(
        &mut self,
        field: u32,
        key: &str,
        value: &V,
    ) -> Result<(), EncodeError> {
        // The hottest loop of the encoder. Scalars (nearly every attribute) take a path that
        // sizes the entry once and writes it with one bounds check; arrays, key-value lists
        // and the empty value take the general path.
        self.kv_any(field, key.as_bytes(), value).map(|_| ())
    }

    /// [`key_value`](Self::key_value) with the key given as bytes that need not have been
    /// checked as UTF-8 yet: they are written as given, and the result is the key's bytes
    /// OR-ed together into a word. If no bit of [`ASCII_HIGH_BITS`](super::ASCII_HIGH_BITS)
    /// is set, the key written was ASCII (so valid UTF-8); otherwise it is not known to be,
    /// and a caller that must not emit invalid UTF-8 checks the key and discards the buffer
    /// if it is not. Keys above 256 bytes, and values that are neither scalars nor strings
    /// nor bytes, always report "not known". For a caller that validates while copying instead of before (one read
    /// of each string instead of two).
    #[inline(always)]
    pub fn key_value_raw_key<V: Value + ?Sized>(
        &mut self,
        field: u32,
        key: &[u8],
        value: &V,
    ) -> Result<u64, EncodeError> {
        self.kv_any(field, key, value)
    }

    /// A `KeyValue` with a `string_value` whose key and value are given as bytes that need
    /// not have been checked as UTF-8 yet: the bytes of both, OR-ed together, are returned,
    /// as [`key_value_raw_key`](Self::key_value_raw_key). The bytes written are those of
    /// [`key_value`](Self::key_value) with the same strings.
    #[inline(always)]
    pub fn key_value_raw_str(
        &mut self,
        field: u32,
        key: &[u8],
        value: &[u8],
    ) -> Result<u64, EncodeError> {
        self.kv_len_member(field, key, any_value::STRING_VALUE, value)
    }

    /// The one `KeyValue` writer: the key's (and a string or bytes value's) bytes OR-ed
    /// together are returned; [`key_value`](Self::key_value) ignores them (and the compiler
    /// drops the ORs there).
    #[inline(always)]
    fn kv_any<V: Value + ?Sized>(
        &mut self,
        field: u32,
        key: &[u8],
        value: &V,
    ) -> Result<u64, EncodeError> {
        match value.view() {
            ValueView::String(s) => {
                self.kv_len_member(field, key, any_value::STRING_VALUE, s.as_bytes())
            }
            ValueView::Bytes(b) => self.kv_len_member(field, key, any_value::BYTES_VALUE, b),
            ValueView::Int(i) => {
                self.kv_scalar(field, key, ScalarMember::Varint(INT_TAG, i as u64))
            }
            ValueView::Bool(b) => {
                self.kv_scalar(field, key, ScalarMember::Varint(BOOL_TAG, u64::from(b)))
            }
            ValueView::Double(d) => {
                self.kv_scalar(field, key, ScalarMember::Fixed64(DOUBLE_TAG, d.to_bits()))
            }
            view => self
                .key_value_general(field, key, view)
                .map(|()| super::ASCII_HIGH_BITS),
        }
    }

    /// A `KeyValue` whose value is a length-delimited member (`string_value`, `bytes_value`).
    #[inline(always)]
    fn kv_len_member(
        &mut self,
        field: u32,
        key: &[u8],
        member: u32,
        v: &[u8],
    ) -> Result<u64, EncodeError> {
        let (kl, vl) = (key.len(), v.len());
        // Every tag and length one byte (keys and values under ~120 bytes): the entry's shape
        // is fixed, so it is sized once and written with a single bounds check.
        if tag_len(field) == 1 && kl < 128 && vl < 124 {
            let key_part = if kl == 0 { 0 } else { 2 + kl };
            let value_body = 2 + vl;
            let body = key_part + 2 + value_body;
            if body < 128 {
                let dst = self.take(2 + body)?;
                let (head, rest) = dst.split_at_mut(2);
                head.copy_from_slice(&[len_tag(field), body as u8]);
                let (rest, key_bits) = put_key(rest, key);
                let (vhead, vbytes) = rest.split_at_mut(4);
                vhead.copy_from_slice(&[VALUE_TAG, value_body as u8, len_tag(member), vl as u8]);
                return Ok(key_bits | copy_short_bits(vbytes, v));
            }
        }
        self.kv_bytes_general(field, key, member, v)
    }

    /// A `KeyValue` whose value is a varint or fixed64 member (`int_value`, `bool_value`,
    /// `double_value`).
    #[inline(always)]
    fn kv_scalar(&mut self, field: u32, key: &[u8], m: ScalarMember) -> Result<u64, EncodeError> {
        let kl = key.len();
        let value_body = match m {
            ScalarMember::Varint(_, v) => 1 + varint_len(v),
            ScalarMember::Fixed64(..) => 9,
        };
        if tag_len(field) == 1 && kl < 128 {
            let key_part = if kl == 0 { 0 } else { 2 + kl };
            let body = key_part + 2 + value_body;
            if body < 128 {
                let dst = self.take(2 + body)?;
                let (head, rest) = dst.split_at_mut(2);
                head.copy_from_slice(&[len_tag(field), body as u8]);
                let (rest, key_bits) = put_key(rest, key);
                let (vhead, vbytes) = rest.split_at_mut(2);
                vhead.copy_from_slice(&[VALUE_TAG, value_body as u8]);
                let (tag, vbytes) = vbytes.split_at_mut(1);
                match m {
                    ScalarMember::Varint(t, v) => {
                        tag[0] = t;
                        put_varint(vbytes, v);
                    }
                    ScalarMember::Fixed64(t, v) => {
                        tag[0] = t;
                        vbytes.copy_from_slice(&v.to_le_bytes());
                    }
                }
                return Ok(key_bits);
            }
        }
        // A key of 100+ bytes or a field number above 15: the general path.
        let body = opt_bytes_len(key_value::KEY, key) + len_field_len(key_value::VALUE, value_body);
        self.len_header(field, body)?;
        let key_bits = if key.is_empty() {
            0
        } else {
            self.bytes_field_bits(key_value::KEY, key)?
        };
        self.len_header(key_value::VALUE, value_body)?;
        match m {
            ScalarMember::Varint(t, v) => {
                self.byte(t)?;
                self.varint(v)?;
            }
            ScalarMember::Fixed64(t, v) => {
                self.byte(t)?;
                self.fixed64(v)?;
            }
        }
        Ok(key_bits)
    }

    /// A `KeyValue` with a length-delimited member too long for the one-write path.
    #[inline(never)]
    fn kv_bytes_general(
        &mut self,
        field: u32,
        key: &[u8],
        member: u32,
        v: &[u8],
    ) -> Result<u64, EncodeError> {
        let vlen = len_field_len(member, v.len());
        let body = opt_bytes_len(key_value::KEY, key) + len_field_len(key_value::VALUE, vlen);
        self.len_header(field, body)?;
        let key_bits = if key.is_empty() {
            0
        } else {
            self.bytes_field_bits(key_value::KEY, key)?
        };
        self.len_header(key_value::VALUE, vlen)?;
        Ok(key_bits | self.bytes_field_bits(member, v)?)
    }

    /// Any `KeyValue` (the empty value, arrays, key-value lists): view the value once, size
    /// it once, check the whole entry's length once at the end.
    #[inline(never)]
    fn key_value_general<L: Values + ?Sized, K: Attributes + ?Sized>(
        &mut self,
        field: u32,
        key: &[u8],
        view: ValueView<'_, L, K>,
    ) -> Result<(), EncodeError> {
        let vlen = view_len(&view);
        let body = opt_bytes_len(key_value::KEY, key) + len_field_len(key_value::VALUE, vlen);
        self.len_header(field, body)?;
        let before = self.remaining();
        if !key.is_empty() {
            self.bytes_field(key_value::KEY, key)?;
        }
        self.len_header(key_value::VALUE, vlen)?;
        encode_view(view, self)?;
        if before.checked_sub(self.remaining()) == Some(body) {
            Ok(())
        } else {
            Err(EncodeError::LengthMismatch)
        }
    }
}

/// A scalar `AnyValue` member: its one-byte tag and its value.
#[derive(Clone, Copy)]
enum ScalarMember {
    Varint(u8, u64),
    Fixed64(u8, u64),
}

/// The one-byte tag of length-delimited field `field` (callers check `tag_len(field) == 1`).
#[inline(always)]
const fn len_tag(field: u32) -> u8 {
    ((field << 3) | WT_LEN as u32) as u8
}

const VALUE_TAG: u8 = len_tag(key_value::VALUE);
const INT_TAG: u8 = ((any_value::INT_VALUE << 3) | WT_VARINT as u32) as u8;
const BOOL_TAG: u8 = ((any_value::BOOL_VALUE << 3) | WT_VARINT as u32) as u8;
const DOUBLE_TAG: u8 = ((any_value::DOUBLE_VALUE << 3) | WT_I64 as u32) as u8;

/// Writes the key field (tag, one-byte length, bytes; nothing for an empty key) at the start
/// of `dst`, which is at least `2 + key.len()` long; returns the rest and the key's bytes
/// OR-ed together (see [`copy_short_bits`]).
#[inline(always)]
fn put_key<'d>(dst: &'d mut [u8], key: &[u8]) -> (&'d mut [u8], u64) {
    if key.is_empty() {
        return (dst, 0);
    }
    let (k, rest) = dst.split_at_mut(2 + key.len());
    let (khead, kbytes) = k.split_at_mut(2);
    khead.copy_from_slice(&[len_tag(key_value::KEY), key.len() as u8]);
    (rest, copy_short_bits(kbytes, key))
}

impl<V: Value> Values for [V] {
    #[inline]
    fn values_len(&self) -> usize {
        self.iter()
            .map(|v| len_field_len(list::VALUES, value_len(v)))
            .sum()
    }

    #[inline]
    fn encode_values(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        for v in self {
            encode_value_field(list::VALUES, v, w)?;
        }
        Ok(())
    }
}

impl<V: Value, const N: usize> Values for [V; N] {
    #[inline]
    fn values_len(&self) -> usize {
        self[..].values_len()
    }
    #[inline]
    fn encode_values(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self[..].encode_values(w)
    }
}

impl<T: Attribute> Attributes for [T] {
    #[inline]
    fn attributes_len(&self, field: u32) -> usize {
        self.iter()
            .map(|kv| key_value_len(field, kv.key(), kv.value()))
            .sum()
    }

    #[inline]
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        // A plain loop, not `Writer::local`: the closure that took was compiled out of line,
        // which kept the writer in memory after all; inlined here, the record's own local
        // writer stays in registers.
        for kv in self {
            w.key_value(field, kv.key(), kv.value())?;
        }
        Ok(())
    }
}

impl<T: Attribute, const N: usize> Attributes for [T; N] {
    #[inline]
    fn attributes_len(&self, field: u32) -> usize {
        self[..].attributes_len(field)
    }
    #[inline]
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self[..].encode_attributes(field, w)
    }
}

/// A borrowed OTLP `AnyValue`, nested arbitrarily through arrays and key-value lists.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum AnyValue<'a> {
    /// No member set: OTLP's empty value.
    #[default]
    Empty,
    /// `string_value`
    String(&'a str),
    /// `bool_value`
    Bool(bool),
    /// `int_value`
    Int(i64),
    /// `double_value`
    Double(f64),
    /// `bytes_value`
    Bytes(&'a [u8]),
    /// `array_value`
    Array(&'a [AnyValue<'a>]),
    /// `kvlist_value`
    KvList(&'a [KeyValue<'a>]),
}

impl<'a> Value for AnyValue<'a> {
    type Array = [AnyValue<'a>];
    type KvList = [KeyValue<'a>];

    // Always in line: a scalar's view then folds away (the C ABI's hot path builds
    // `AnyValue::Int` etc. only to size and write them).
    #[inline(always)]
    fn view(&self) -> ValueView<'_, [AnyValue<'a>], [KeyValue<'a>]> {
        match *self {
            Self::Empty => ValueView::Empty,
            Self::String(s) => ValueView::String(s),
            Self::Bool(b) => ValueView::Bool(b),
            Self::Int(i) => ValueView::Int(i),
            Self::Double(d) => ValueView::Double(d),
            Self::Bytes(b) => ValueView::Bytes(b),
            Self::Array(a) => ValueView::Array(a),
            Self::KvList(k) => ValueView::KvList(k),
        }
    }
}

/// A borrowed OTLP `KeyValue`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KeyValue<'a> {
    /// The attribute key.
    pub key: &'a str,
    /// The attribute value.
    pub value: AnyValue<'a>,
}

impl<'a> KeyValue<'a> {
    /// A key-value pair.
    #[inline]
    #[must_use]
    pub const fn new(key: &'a str, value: AnyValue<'a>) -> Self {
        Self { key, value }
    }
}

impl<'a> Attribute for KeyValue<'a> {
    type Value = AnyValue<'a>;

    #[inline]
    fn key(&self) -> &str {
        self.key
    }

    #[inline]
    fn value(&self) -> &AnyValue<'a> {
        &self.value
    }
}

/// A borrowed OTLP `Resource` (entity refs are not supported).
#[derive(Debug)]
pub struct Resource<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
}

/// A borrowed OTLP `InstrumentationScope`.
#[derive(Debug)]
pub struct Scope<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `name`
    pub name: &'a str,
    /// `version`
    pub version: &'a str,
    /// `attributes`
    pub attributes: &'a A,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
}

copy_impls!(Resource, Scope);

impl Default for Resource<'_> {
    fn default() -> Self {
        Self {
            attributes: &[],
            dropped_attributes_count: 0,
        }
    }
}

impl Default for Scope<'_> {
    fn default() -> Self {
        Self {
            name: "",
            version: "",
            attributes: &[],
            dropped_attributes_count: 0,
        }
    }
}

impl<A: Attributes + ?Sized> Encode for Resource<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        self.attributes.attributes_len(resource::ATTRIBUTES)
            + opt_varint_len(
                resource::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.attributes.encode_attributes(resource::ATTRIBUTES, w)?;
        w.opt_varint(
            resource::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )
    }
}

impl<A: Attributes + ?Sized> Encode for Scope<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_bytes_len(scope::NAME, self.name.as_bytes())
            + opt_bytes_len(scope::VERSION, self.version.as_bytes())
            + self.attributes.attributes_len(scope::ATTRIBUTES)
            + opt_varint_len(
                scope::DROPPED_ATTRIBUTES_COUNT,
                self.dropped_attributes_count.into(),
            )
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_bytes(scope::NAME, self.name.as_bytes())?;
        w.opt_bytes(scope::VERSION, self.version.as_bytes())?;
        self.attributes.encode_attributes(scope::ATTRIBUTES, w)?;
        w.opt_varint(
            scope::DROPPED_ATTRIBUTES_COUNT,
            self.dropped_attributes_count.into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<M: Encode>(m: &M) -> ([u8; 256], usize) {
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(n, m.encoded_len());
        (buf, n)
    }

    #[test]
    fn oneof_members_are_written_even_when_default() {
        let attrs = [
            KeyValue::new("", AnyValue::String("")),
            KeyValue::new("b", AnyValue::Bool(false)),
            KeyValue::new("i", AnyValue::Int(0)),
            KeyValue::new("e", AnyValue::Empty),
        ];
        let r = Resource {
            attributes: &attrs[..],
            dropped_attributes_count: 0,
        };
        let (buf, n) = enc(&r);
        assert_eq!(
            &buf[..n],
            &[
                0x0a, 4, 0x12, 2, 0x0a, 0, // key omitted, value = string ""
                0x0a, 7, 0x0a, 1, b'b', 0x12, 2, 0x10, 0, // bool false
                0x0a, 7, 0x0a, 1, b'i', 0x12, 2, 0x18, 0, // int 0
                0x0a, 5, 0x0a, 1, b'e', 0x12, 0, // empty AnyValue
            ]
        );
    }

    #[test]
    fn one_entry_alone_is_the_lists_bytes() {
        let inner = [AnyValue::Int(7), AnyValue::String("x")];
        let kv = [KeyValue::new("k", AnyValue::Array(&inner))];
        let (list, n) = enc(&Resource {
            attributes: &kv[..],
            dropped_attributes_count: 0,
        });
        let mut buf = [0u8; 64];
        let m = encode_key_value(1, "k", &AnyValue::Array(&inner), &mut buf).unwrap();
        assert_eq!(m, key_value_len(1, "k", &AnyValue::Array(&inner)));
        assert_eq!(buf[..m], list[..n]);
        assert_eq!(
            encode_key_value(1, "k", &AnyValue::Array(&inner), &mut buf[..m - 1]),
            Err(EncodeError::BufferTooSmall)
        );
    }

    #[test]
    fn nested_values() {
        let inner = [AnyValue::Int(-1)];
        let kvs = [KeyValue::new("k", AnyValue::Array(&inner))];
        let attrs = [KeyValue::new("x", AnyValue::KvList(&kvs))];
        let s = Scope {
            attributes: &attrs[..],
            ..Scope::default()
        };
        let (buf, n) = enc(&s);
        // Scope.attributes(3) { key "x", value { kvlist(6) { values(1) { key "k", value {
        //   array(5) { values(1) { int(3) -1 } } } } } }
        let expected: [u8; 31] = [
            0x1a, 29, 0x0a, 1, b'x', 0x12, 24, 0x32, 22, 0x0a, 20, 0x0a, 1, b'k', 0x12, 15, 0x2a,
            13, 0x0a, 11, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(&buf[..n], &expected[..]);
    }
}
