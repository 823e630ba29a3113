//! `invalid_utf8 = "replace"`: strings are repaired (each invalid sequence becomes U+FFFD,
//! as `String::from_utf8_lossy` does) without allocating.
//!
//! - Attribute keys and string values, at any depth, are repaired **while they are encoded
//!   into the ring slot**: [`LossyAttrs`] / [`LossyValues`] implement the encoder's
//!   `Attributes` / `Values` traits by hand, sizing each string by its repaired length and
//!   writing the valid runs and replacement characters straight into the slot. A log body
//!   goes through [`LossyBody`], a `Value` whose nested arrays and lists are the same types.
//! - The record's own string fields (span name, trace state, status message, event names,
//!   metric name / description / unit, severity text, a string log body...) are `&str` fields
//!   of the encoder's views, so a string that needs repair is repaired into a
//!   [`Scratch`] buffer on the stack ([`SCRATCH_BYTES`] per call). Valid strings are
//!   borrowed as they are. If the repaired fields of one call need more than the scratch
//!   holds, the call fails with `OTLP_ARROW_INVALID_ARGUMENT` (replacing would need an
//!   allocation): that is the one case where `replace` still rejects.
//!
//! The bytes are exactly what the crate's encoder writes for the repaired strings (a test
//! compares both on valid input and against `from_utf8_lossy` on invalid input).

use core_crate::wire::encode::{
    Attributes, EncodeError, Value, ValueView, Values, Writer, len_field_len, varint_len,
};

use crate::check::{checked_bytes, value_type};
use crate::status::Error;
use crate::types::{otlp_arrow_attribute, otlp_arrow_str, otlp_arrow_value};

/// Size of the per-call stack buffer for repaired record fields.
pub(crate) const SCRATCH_BYTES: usize = 4096;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
const WT_LEN: u8 = 2;

// OTLP field numbers (common.proto), fixed by the protocol.
const ANY_STRING: u32 = 1;
const ANY_BOOL: u32 = 2;
const ANY_INT: u32 = 3;
const ANY_DOUBLE: u32 = 4;
const ANY_ARRAY: u32 = 5;
const ANY_KVLIST: u32 = 6;
const ANY_BYTES: u32 = 7;
const LIST_VALUES: u32 = 1;
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;

/// Length of `b` once repaired.
#[inline]
pub(crate) fn repaired_len(b: &[u8]) -> usize {
    if b.is_ascii() {
        return b.len();
    }
    b.utf8_chunks()
        .map(|c| {
            c.valid().len()
                + if c.invalid().is_empty() {
                    0
                } else {
                    REPLACEMENT.len()
                }
        })
        .sum()
}

/// Writes `b` repaired.
#[inline]
fn write_repaired(w: &mut Writer<'_>, b: &[u8]) -> Result<(), EncodeError> {
    if b.is_ascii() {
        return w.raw(b);
    }
    for c in b.utf8_chunks() {
        w.raw(c.valid().as_bytes())?;
        if !c.invalid().is_empty() {
            w.raw(REPLACEMENT)?;
        }
    }
    Ok(())
}

/// A length-delimited string field, always written.
#[inline]
fn str_field_len(field: u32, b: &[u8]) -> usize {
    len_field_len(field, repaired_len(b))
}

#[inline]
fn write_str_field(w: &mut Writer<'_>, field: u32, b: &[u8]) -> Result<(), EncodeError> {
    w.tag(field, WT_LEN)?;
    w.varint(repaired_len(b) as u64)?;
    write_repaired(w, b)
}

/// The bytes of a checked string.
#[inline(always)]
fn bytes(s: &otlp_arrow_str) -> &[u8] {
    // SAFETY: lossy views are only made over memory that `crate::check` accepted (pointers
    // and lengths; UTF-8 is what this module repairs), see `attributes`.
    unsafe { checked_bytes(s) }
}

/// A checked slice.
#[inline(always)]
fn checked<T>(ptr: *const T, len: usize) -> &'static [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: as `bytes`: checked non-NULL, aligned, valid for the call (the `'static` never
    // escapes the call: every user borrows it for less).
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// Body length of an `AnyValue`.
fn any_len(v: &otlp_arrow_value) -> usize {
    // SAFETY: (every arm) the tag names the member that is set (checked).
    unsafe {
        match v.type_ {
            value_type::STRING => str_field_len(ANY_STRING, bytes(&v.data.string_value)),
            value_type::BOOL => 2,
            value_type::INT => 1 + varint_len(v.data.int_value as u64),
            value_type::DOUBLE => 9,
            value_type::BYTES => len_field_len(ANY_BYTES, v.data.bytes_value.len),
            value_type::ARRAY => {
                let a = v.data.array_value;
                len_field_len(ANY_ARRAY, values_body_len(checked(a.values, a.len)))
            }
            value_type::KVLIST => {
                let k = v.data.kvlist_value;
                len_field_len(
                    ANY_KVLIST,
                    attrs_len(checked(k.attributes, k.len), LIST_VALUES),
                )
            }
            _ => 0,
        }
    }
}

fn write_any(w: &mut Writer<'_>, v: &otlp_arrow_value) -> Result<(), EncodeError> {
    // SAFETY: (every arm) as `any_len`.
    unsafe {
        match v.type_ {
            value_type::STRING => write_str_field(w, ANY_STRING, bytes(&v.data.string_value)),
            value_type::BOOL => w.varint_field(ANY_BOOL, u64::from(v.data.bool_value != 0)),
            value_type::INT => w.varint_field(ANY_INT, v.data.int_value as u64),
            value_type::DOUBLE => w.double_field(ANY_DOUBLE, v.data.double_value),
            value_type::BYTES => {
                let b = v.data.bytes_value;
                w.bytes_field(ANY_BYTES, checked(b.ptr, b.len))
            }
            value_type::ARRAY => {
                let a = v.data.array_value;
                let values = checked(a.values, a.len);
                w.message_with_len(ANY_ARRAY, values_body_len(values), |w| {
                    write_values(w, values)
                })
            }
            value_type::KVLIST => {
                let k = v.data.kvlist_value;
                let attrs = checked(k.attributes, k.len);
                w.message_with_len(ANY_KVLIST, attrs_len(attrs, LIST_VALUES), |w| {
                    write_attrs(w, attrs, LIST_VALUES)
                })
            }
            _ => Ok(()),
        }
    }
}

fn values_body_len(values: &[otlp_arrow_value]) -> usize {
    values
        .iter()
        .map(|v| len_field_len(LIST_VALUES, any_len(v)))
        .sum()
}

fn write_values(w: &mut Writer<'_>, values: &[otlp_arrow_value]) -> Result<(), EncodeError> {
    for v in values {
        w.message_with_len(LIST_VALUES, any_len(v), |w| write_any(w, v))?;
    }
    Ok(())
}

fn kv_body_len(a: &otlp_arrow_attribute) -> usize {
    let key = bytes(&a.key);
    (if key.is_empty() {
        0
    } else {
        str_field_len(KV_KEY, key)
    }) + len_field_len(KV_VALUE, any_len(&a.value))
}

fn attrs_len(attrs: &[otlp_arrow_attribute], field: u32) -> usize {
    attrs
        .iter()
        .map(|a| len_field_len(field, kv_body_len(a)))
        .sum()
}

fn write_attrs(
    w: &mut Writer<'_>,
    attrs: &[otlp_arrow_attribute],
    field: u32,
) -> Result<(), EncodeError> {
    for a in attrs {
        w.message_with_len(field, kv_body_len(a), |w| {
            let key = bytes(&a.key);
            if !key.is_empty() {
                write_str_field(w, KV_KEY, key)?;
            }
            w.message_with_len(KV_VALUE, any_len(&a.value), |w| write_any(w, &a.value))
        })?;
    }
    Ok(())
}

/// An attribute array, repaired while encoded.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct LossyAttrs([otlp_arrow_attribute]);

/// A value array, repaired while encoded.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct LossyValues([otlp_arrow_value]);

/// Views checked attributes for the repairing encoder.
///
/// # Safety
/// [`check_attributes`](crate::check::check_attributes) accepted `attrs` in this call (with
/// either UTF-8 policy), and the memory is not modified while the result is used.
#[inline(always)]
pub(crate) unsafe fn attributes(attrs: &[otlp_arrow_attribute]) -> &LossyAttrs {
    wrap_attrs(attrs)
}

#[inline(always)]
fn wrap_attrs(attrs: &[otlp_arrow_attribute]) -> &LossyAttrs {
    // SAFETY: `LossyAttrs` is `repr(transparent)` over the slice: same layout and metadata.
    unsafe { &*(attrs as *const [otlp_arrow_attribute] as *const LossyAttrs) }
}

#[inline(always)]
fn wrap_values(values: &[otlp_arrow_value]) -> &LossyValues {
    // SAFETY: `LossyValues` is `repr(transparent)` over the slice.
    unsafe { &*(values as *const [otlp_arrow_value] as *const LossyValues) }
}

impl Attributes for LossyAttrs {
    fn attributes_len(&self, field: u32) -> usize {
        attrs_len(&self.0, field)
    }

    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_attrs(w, &self.0, field)
    }
}

impl Values for LossyValues {
    fn values_len(&self) -> usize {
        values_body_len(&self.0)
    }

    fn encode_values(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_values(w, &self.0)
    }
}

/// A log body for the repairing encoder: a (repaired) string, or any other checked value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LossyBody<'a> {
    /// A string body, already repaired (into the scratch if it had to be).
    Text(&'a str),
    /// A checked value that is not a string.
    Other(&'a otlp_arrow_value),
}

impl Value for LossyBody<'_> {
    type Array = LossyValues;
    type KvList = LossyAttrs;

    fn view(&self) -> ValueView<'_, LossyValues, LossyAttrs> {
        let v = match *self {
            LossyBody::Text(s) => return ValueView::String(s),
            LossyBody::Other(v) => v,
        };
        // SAFETY: (every arm) the tag names the member that is set (checked).
        unsafe {
            match v.type_ {
                value_type::BOOL => ValueView::Bool(v.data.bool_value != 0),
                value_type::INT => ValueView::Int(v.data.int_value),
                value_type::DOUBLE => ValueView::Double(v.data.double_value),
                value_type::BYTES => {
                    let b = v.data.bytes_value;
                    ValueView::Bytes(checked(b.ptr, b.len))
                }
                value_type::ARRAY => {
                    let a = v.data.array_value;
                    ValueView::Array(wrap_values(checked(a.values, a.len)))
                }
                value_type::KVLIST => {
                    let k = v.data.kvlist_value;
                    ValueView::KvList(wrap_attrs(checked(k.attributes, k.len)))
                }
                // Strings are `Text`; every other tag was refused by the check.
                _ => ValueView::Empty,
            }
        }
    }
}

/// A bump buffer on the caller's stack for repaired record fields.
#[derive(Debug)]
pub(crate) struct Scratch<'s> {
    rest: &'s mut [u8],
}

impl<'s> Scratch<'s> {
    /// Hands out `buf` piece by piece.
    pub(crate) fn new(buf: &'s mut [u8]) -> Scratch<'s> {
        Scratch { rest: buf }
    }

    /// `b` as a string: borrowed if valid UTF-8, else repaired into the scratch.
    pub(crate) fn text<'x>(&mut self, b: &'x [u8]) -> Result<&'x str, Error>
    where
        's: 'x,
    {
        if let Ok(s) = core::str::from_utf8(b) {
            return Ok(s);
        }
        let n = repaired_len(b);
        if n > self.rest.len() {
            return Err(Error::Invalid(
                "repairing this record's invalid UTF-8 needs more than the 4 KiB scratch",
            ));
        }
        let (dst, rest) = core::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = rest;
        let mut at = 0;
        for c in b.utf8_chunks() {
            let v = c.valid().as_bytes();
            dst[at..at + v.len()].copy_from_slice(v);
            at += v.len();
            if !c.invalid().is_empty() {
                dst[at..at + REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                at += REPLACEMENT.len();
            }
        }
        let dst: &'s [u8] = dst;
        core::str::from_utf8(dst).map_err(|_| Error::Invalid("internal: repair failed"))
    }
}

#[cfg(test)]
mod tests {
    use core_crate::wire::encode::{Encode, Resource};
    use prost::Message;

    use crate::check::{Budget, Utf8, check_attributes};
    use crate::types::{
        otlp_arrow_array, otlp_arrow_attribute, otlp_arrow_kvlist, otlp_arrow_str,
        otlp_arrow_value, otlp_arrow_value_data,
    };

    fn raw(b: &[u8]) -> otlp_arrow_str {
        otlp_arrow_str {
            ptr: b.as_ptr().cast(),
            len: b.len(),
        }
    }

    fn string(b: &[u8]) -> otlp_arrow_value {
        otlp_arrow_value {
            type_: 1,
            data: otlp_arrow_value_data {
                string_value: raw(b),
            },
        }
    }

    fn encode_both(attrs: &[otlp_arrow_attribute], utf8: Utf8) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut budget = Budget::new(1 << 20, utf8);
        // SAFETY: the attributes point to live test memory.
        let checked = unsafe { check_attributes(attrs.as_ptr(), attrs.len(), 0, &mut budget) };
        checked.unwrap();
        // SAFETY: checked just above.
        let view = unsafe { super::attributes(attrs) };
        let lossy = Resource {
            attributes: view,
            dropped_attributes_count: 0,
        };
        let mut a = vec![0u8; lossy.encoded_len()];
        assert_eq!(lossy.encode(&mut a).unwrap(), a.len());
        let strict = (utf8 == Utf8::Reject).then(|| {
            // SAFETY: checked with `Reject` just above.
            let view = unsafe { crate::strict::attributes(attrs) };
            let strict = Resource {
                attributes: view,
                dropped_attributes_count: 0,
            };
            let mut b = vec![0u8; strict.encoded_len()];
            assert_eq!(strict.encode(&mut b).unwrap(), b.len());
            b
        });
        (a, strict)
    }

    fn tree<'a>(
        leaf: &'a [u8],
        inner: &'a mut [otlp_arrow_value; 3],
        kv: &'a mut [otlp_arrow_attribute; 1],
    ) -> [otlp_arrow_attribute; 4] {
        inner[0] = string(leaf);
        inner[1] = otlp_arrow_value {
            type_: 3,
            data: otlp_arrow_value_data { int_value: -300 },
        };
        inner[2] = otlp_arrow_value {
            type_: 4,
            data: otlp_arrow_value_data { double_value: 1.5 },
        };
        kv[0] = otlp_arrow_attribute {
            key: raw(leaf),
            value: string(b""),
        };
        [
            otlp_arrow_attribute {
                key: raw(b""),
                value: string(leaf),
            },
            otlp_arrow_attribute {
                key: raw(b"arr"),
                value: otlp_arrow_value {
                    type_: 5,
                    data: otlp_arrow_value_data {
                        array_value: otlp_arrow_array {
                            values: inner.as_ptr(),
                            len: 3,
                        },
                    },
                },
            },
            otlp_arrow_attribute {
                key: raw(leaf),
                value: otlp_arrow_value {
                    type_: 6,
                    data: otlp_arrow_value_data {
                        kvlist_value: otlp_arrow_kvlist {
                            attributes: kv.as_ptr(),
                            len: 1,
                        },
                    },
                },
            },
            otlp_arrow_attribute {
                key: raw(b"b"),
                value: otlp_arrow_value {
                    type_: 2,
                    data: otlp_arrow_value_data { bool_value: 7 },
                },
            },
        ]
    }

    #[test]
    fn valid_input_encodes_exactly_like_the_strict_path() {
        for leaf in [&b"plain"[..], "héllo wörld ✓".as_bytes(), b""] {
            let (mut inner, mut kv) = Default::default();
            let attrs = tree(leaf, &mut inner, &mut kv);
            let (lossy, strict) = encode_both(&attrs, Utf8::Reject);
            assert_eq!(Some(lossy), strict);
        }
    }

    #[test]
    fn invalid_input_decodes_as_from_utf8_lossy() {
        use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
        use opentelemetry_proto::tonic::resource::v1::Resource as P;
        let leaf: &[u8] = b"a\xffb\xe2\x82\xf0\x9f\x98\x80\xc0";
        let want = String::from_utf8_lossy(leaf).into_owned();
        let (mut inner, mut kv) = Default::default();
        let attrs = tree(leaf, &mut inner, &mut kv);
        let (bytes, _) = encode_both(&attrs, Utf8::Replace);
        let r = P::decode(&bytes[..]).unwrap();
        assert_eq!(
            r.attributes[0].value.as_ref().unwrap().value,
            Some(V::StringValue(want.clone()))
        );
        let Some(V::ArrayValue(a)) = &r.attributes[1].value.as_ref().unwrap().value else {
            panic!()
        };
        assert_eq!(a.values[0].value, Some(V::StringValue(want.clone())));
        assert_eq!(a.values[1].value, Some(V::IntValue(-300)));
        assert_eq!(r.attributes[2].key, want);
        let Some(V::KvlistValue(k)) = &r.attributes[2].value.as_ref().unwrap().value else {
            panic!()
        };
        assert_eq!(k.values[0].key, want);
        assert_eq!(
            r.attributes[3].value.as_ref().unwrap().value,
            Some(V::BoolValue(true))
        );
    }

    #[test]
    fn scratch_repairs_without_allocating_and_refuses_when_full() {
        let mut buf = [0u8; 8];
        let mut s = super::Scratch::new(&mut buf);
        assert_eq!(s.text(b"ok").unwrap(), "ok");
        assert_eq!(s.text(b"\xff").unwrap(), "\u{FFFD}");
        assert!(
            s.text(b"\xff\xff").is_err(),
            "6 more bytes do not fit the 5 left"
        );
    }
}
