//! The C attribute arrays as the crate's encoder sees them, with no conversion: `[StrictKv]`
//! is an `otlp_arrow_attribute` array viewed through the encoder's `Attribute` / `Value`
//! traits (`otlp_arrow::wire::encode`), for `invalid_utf8 = "reject"`.
//!
//! The wrappers are `#[repr(transparent)]`, so a checked `&[otlp_arrow_attribute]` is cast to
//! `&[StrictKv]` in place. They can only be made by the unsafe [`attributes`] / [`value`],
//! whose callers promise that [`crate::check`] accepted the very same memory with
//! [`Utf8::Reject`](crate::check::Utf8::Reject) in this call, so viewing its strings as `&str`
//! without checking again is sound.

use core_crate::wire::encode::{Attribute, Value, ValueView};

use crate::check::{checked_bytes, checked_str, value_type};
use crate::types::{otlp_arrow_attribute, otlp_arrow_value};

/// An attribute whose tree [`crate::check`] accepted with UTF-8 checking.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct StrictKv(otlp_arrow_attribute);

/// A value whose tree [`crate::check`] accepted with UTF-8 checking.
#[repr(transparent)]
#[derive(Debug)]
pub(crate) struct StrictValue(otlp_arrow_value);

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
