//! The C attribute arrays as the crate's encoder sees them, with no conversion: `[StrictKv]`
//! is an `otlp_arrow_attribute` array viewed through the encoder's `Attribute` / `Value`
//! traits (`otlp_arrow::wire::encode`), for `invalid_utf8 = "reject"`.
//!
//! The wrappers are `#[repr(transparent)]`, so a checked `&[otlp_arrow_attribute]` is cast to
//! `&[StrictKv]` in place. They can only be made by the unsafe [`attributes`] / [`value`],
//! whose callers promise that [`crate::check`] accepted the very same memory with
//! [`Utf8::Reject`](crate::check::Utf8::Reject) in this call, so viewing its strings as `&str`
//! without checking again is sound.

use core::cell::Cell;

use core_crate::wire::encode::{
    ASCII_HIGH_BITS, AnyValue, Attribute, Attributes, EncodeError, Value, ValueView, Writer,
    tag_len,
};

use crate::check::{checked_bytes, checked_str, checked_while_copied, value_type};
use crate::types::{otlp_arrow_attribute, otlp_arrow_value};

/// An attribute whose tree [`crate::check`] accepted with UTF-8 checking.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct StrictKv(otlp_arrow_attribute);

/// A value whose tree [`crate::check`] accepted with UTF-8 checking.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct StrictValue(otlp_arrow_value);

/// Attributes sized by [`size_attributes`](crate::check::size_attributes), with that length,
/// for the hot path's second walk: it writes each entry and checks the UTF-8 of what it copies
/// at the same time.
///
/// The keys and string values of string, int, double and bool attributes have *not* been
/// checked as UTF-8 when this is made, so they are never viewed as `&str`: they are written
/// from bytes ([`Writer::key_value_raw_str`], [`Writer::key_value_raw_key`]), and the words
/// those return (the copied bytes OR-ed together) are OR-ed over the whole array. If any byte
/// was not ASCII, the strings are checked with `from_utf8` after the walk; an invalid one
/// makes `encode_attributes` fail with [`EncodeError::InvalidUtf8`] and names its field in
/// [`invalid_utf8`](SizedAttrs::invalid_utf8); the caller then aborts the claim, so the bytes
/// written are never committed. Other value types were checked whole by the first walk and
/// take the general encoder ([`StrictKv`]'s view).
#[derive(Debug)]
pub(crate) struct SizedAttrs<'a> {
    attrs: &'a [otlp_arrow_attribute],
    /// Length as a repeated field whose tag takes one byte.
    len: usize,
    /// The field that held invalid UTF-8, once `encode_attributes` found one.
    bad: Cell<Option<&'static str>>,
}

/// Views sized attributes for the encoder.
///
/// # Safety
/// [`size_attributes`](crate::check::size_attributes) accepted `attrs` in this call and
/// returned `len`, and the memory is not modified while the result is used.
#[inline(always)]
pub(crate) unsafe fn sized_attributes(
    attrs: &[otlp_arrow_attribute],
    len: usize,
) -> SizedAttrs<'_> {
    SizedAttrs {
        attrs,
        len,
        bad: Cell::new(None),
    }
}

impl SizedAttrs<'_> {
    /// The field (`"attribute key"` or `"string value"`) whose invalid UTF-8 made
    /// `encode_attributes` fail, if that is why it failed.
    #[inline(always)]
    pub(crate) fn invalid_utf8(&self) -> Option<&'static str> {
        self.bad.get()
    }

    /// The slow path after a non-ASCII byte: checks the strings written from unchecked bytes,
    /// in order, and records the first invalid one.
    #[cold]
    #[inline(never)]
    fn check_copied_strings(&self) -> Result<(), EncodeError> {
        for a in self.attrs {
            if !checked_while_copied(a.value.type_) {
                continue;
            }
            // SAFETY: (whole block) `size_attributes` accepted the pointers and lengths; the
            // union member is read under the tag that names it.
            let (key, value) = unsafe {
                (
                    checked_bytes(&a.key),
                    (a.value.type_ == value_type::STRING)
                        .then(|| checked_bytes(&a.value.data.string_value)),
                )
            };
            let bad = if core::str::from_utf8(key).is_err() {
                "attribute key"
            } else if value.is_some_and(|v| core::str::from_utf8(v).is_err()) {
                "string value"
            } else {
                continue;
            };
            self.bad.set(Some(bad));
            return Err(EncodeError::InvalidUtf8);
        }
        Ok(())
    }
}

impl Attributes for SizedAttrs<'_> {
    #[inline(always)]
    fn attributes_len(&self, field: u32) -> usize {
        // Each entry's tag is its only part that depends on the field number.
        self.len + self.attrs.len() * (tag_len(field) - 1)
    }

    #[inline(always)]
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        // If the memory changed since it was sized (a caller breaking the contract), the
        // encoder's length checks refuse the record.
        let bits = w.local(|w| {
            let mut bits = 0u64;
            for a in self.attrs {
                let d = &a.value.data;
                // SAFETY: (whole block) `size_attributes` accepted this attribute: its pointers
                // and lengths are valid and the tag names the union member read. Only the last
                // arm views strings as `&str`, and its key and value were checked whole there.
                bits |= unsafe {
                    let key = checked_bytes(&a.key);
                    match a.value.type_ {
                        value_type::STRING => {
                            w.key_value_raw_str(field, key, checked_bytes(&d.string_value))?
                        }
                        value_type::INT => {
                            w.key_value_raw_key(field, key, &AnyValue::Int(d.int_value))?
                        }
                        value_type::DOUBLE => {
                            w.key_value_raw_key(field, key, &AnyValue::Double(d.double_value))?
                        }
                        value_type::BOOL => {
                            w.key_value_raw_key(field, key, &AnyValue::Bool(d.bool_value != 0))?
                        }
                        _ => {
                            w.key_value(field, checked_str(&a.key), wrap_value(&a.value))?;
                            0
                        }
                    }
                };
            }
            Ok(bits)
        })?;
        if bits & ASCII_HIGH_BITS != 0 {
            return self.check_copied_strings();
        }
        Ok(())
    }
}

/// Views checked attributes for the encoder.
///
/// # Safety
/// [`check_attributes`](crate::check::check_attributes) accepted `attrs` with
/// [`Utf8::Reject`](crate::check::Utf8::Reject) in this call, and the memory is not modified
/// while the result is used.
#[inline(always)]
pub(crate) unsafe fn attributes(attrs: &[otlp_arrow_attribute]) -> &[StrictKv] {
    wrap_attrs(attrs)
}

/// Views a checked value for the encoder.
///
/// # Safety
/// As [`attributes`], with [`check_value`](crate::check::check_value).
#[inline(always)]
pub(crate) unsafe fn value(v: &otlp_arrow_value) -> &StrictValue {
    wrap_value(v)
}

#[inline(always)]
fn wrap_value(v: &otlp_arrow_value) -> &StrictValue {
    // SAFETY: `StrictValue` is `repr(transparent)` over `otlp_arrow_value`.
    unsafe { &*(v as *const otlp_arrow_value).cast::<StrictValue>() }
}

#[inline(always)]
fn wrap_attrs(attrs: &[otlp_arrow_attribute]) -> &[StrictKv] {
    // SAFETY: `StrictKv` is `repr(transparent)` over `otlp_arrow_attribute`: same size,
    // alignment and layout, so the slice can be reinterpreted in place.
    unsafe { core::slice::from_raw_parts(attrs.as_ptr().cast::<StrictKv>(), attrs.len()) }
}

#[inline(always)]
fn wrap_values(values: &[otlp_arrow_value]) -> &[StrictValue] {
    // SAFETY: `StrictValue` is `repr(transparent)` over `otlp_arrow_value`.
    unsafe { core::slice::from_raw_parts(values.as_ptr().cast::<StrictValue>(), values.len()) }
}

impl Attribute for StrictKv {
    type Value = StrictValue;

    #[inline(always)]
    fn key(&self) -> &str {
        // SAFETY: a `StrictKv` exists only for checked attributes (see the module docs).
        unsafe { checked_str(&self.0.key) }
    }

    #[inline(always)]
    fn value(&self) -> &StrictValue {
        wrap_value(&self.0.value)
    }
}

impl Value for StrictValue {
    type Array = [StrictValue];
    type KvList = [StrictKv];

    #[inline(always)]
    fn view(&self) -> ValueView<'_, [StrictValue], [StrictKv]> {
        let v = &self.0;
        // SAFETY: (every arm) the check accepted this value, so its tag names the union member
        // that is set, and that member's pointers and lengths are valid (NULL only with 0).
        unsafe {
            match v.type_ {
                value_type::STRING => ValueView::String(checked_str(&v.data.string_value)),
                value_type::BOOL => ValueView::Bool(v.data.bool_value != 0),
                value_type::INT => ValueView::Int(v.data.int_value),
                value_type::DOUBLE => ValueView::Double(v.data.double_value),
                value_type::BYTES => {
                    ValueView::Bytes(checked_bytes(&crate::types::otlp_arrow_str {
                        ptr: v.data.bytes_value.ptr.cast(),
                        len: v.data.bytes_value.len,
                    }))
                }
                value_type::ARRAY => {
                    let a = v.data.array_value;
                    ValueView::Array(wrap_values(checked_slice(a.values, a.len)))
                }
                value_type::KVLIST => {
                    let k = v.data.kvlist_value;
                    ValueView::KvList(wrap_attrs(checked_slice(k.attributes, k.len)))
                }
                // The check refused every other tag; EMPTY is the only one left.
                _ => ValueView::Empty,
            }
        }
    }
}

/// A slice the check already accepted.
///
/// # Safety
/// `ptr`/`len` passed [`crate::check::slice`] in this call.
#[inline(always)]
unsafe fn checked_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: checked non-NULL, aligned and in bounds; valid for the call.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}
