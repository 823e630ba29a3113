//! Turning C pointers into Rust slices, and checking a record's attribute trees before any of
//! it is encoded.
//!
//! Every pointer is null-checked and every length bounded here, once, before the encoder sees
//! the data: a NULL pointer with a non-zero length, a length that no real buffer can have, an
//! unknown value type, a nesting deeper than [`MAX_DEPTH`], or (with `invalid_utf8 =
//! "reject"`) a string that is not UTF-8 fails the call with a status and nothing is claimed.
//! The walk also adds up the bytes the record copies and the values it holds, so a record that
//! can never fit a ring slot is refused before its exact length is computed, and that length
//! cannot overflow.
//!
//! Only after [`check_attributes`] (or [`check_value`]) returned `Ok` may the strict encoder
//! ([`crate::strict`]) view the same memory as `&str` without checking it again.

use core::ffi::c_char;

use crate::status::Error;
use crate::types::{otlp_arrow_attribute, otlp_arrow_bytes, otlp_arrow_str, otlp_arrow_value};

/// Deepest nesting of arrays and key-value lists inside one attribute value or log body.
pub const OTLP_ARROW_MAX_DEPTH: u32 = 16;
pub(crate) const MAX_DEPTH: u32 = OTLP_ARROW_MAX_DEPTH;

/// Most values (attributes, nested values) one record may hold.
pub(crate) const MAX_NODES: usize = 1 << 16;

/// The numbers of `otlp_arrow_value_type`, as the checks and encoders match on them.
pub(crate) mod value_type {
    pub(crate) const EMPTY: u32 = 0;
    pub(crate) const STRING: u32 = 1;
    pub(crate) const BOOL: u32 = 2;
    pub(crate) const INT: u32 = 3;
    pub(crate) const DOUBLE: u32 = 4;
    pub(crate) const ARRAY: u32 = 5;
    pub(crate) const KVLIST: u32 = 6;
    pub(crate) const BYTES: u32 = 7;
}

/// A slice from a C pointer and element count. `len == 0` gives `&[]` whatever `ptr` is.
///
/// # Safety
/// If `len > 0` and `ptr` is not NULL, `ptr` must point to `len` initialised `T`s that stay
/// valid and unmodified for `'a`.
#[inline(always)]
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    what: &'static str,
) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::Invalid(what));
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) || !ptr.is_aligned() {
        return Err(Error::Invalid(what));
    }
    // SAFETY: non-NULL, aligned, `len * size_of::<T>() <= isize::MAX`; the caller guarantees
    // the memory holds `len` valid `T`s for `'a`.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A reference from a C pointer, `None` for NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a valid `T` for `'a`.
#[inline(always)]
pub(crate) unsafe fn opt_ref<'a, T>(ptr: *const T) -> Result<Option<&'a T>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    if !ptr.is_aligned() {
        return Err(Error::Invalid("misaligned pointer"));
    }
    // SAFETY: non-NULL and aligned; the caller guarantees it points to a valid `T`.
    Ok(Some(unsafe { &*ptr }))
}

impl otlp_arrow_str {
    /// The string's bytes.
    ///
    /// # Safety
    /// As [`slice`]: a non-NULL `ptr` points to `len` bytes valid for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn bytes<'a>(&self, what: &'static str) -> Result<&'a [u8], Error> {
        // SAFETY: forwarded to the caller.
        unsafe { slice(self.ptr.cast::<u8>(), self.len, what) }
    }

    /// A string built from a Rust `&str` (for tests and benches).
    pub fn of(s: &str) -> otlp_arrow_str {
        otlp_arrow_str {
            ptr: s.as_ptr().cast::<c_char>(),
            len: s.len(),
        }
    }
}

impl otlp_arrow_bytes {
    /// The bytes.
    ///
    /// # Safety
    /// As [`slice`].
    #[inline(always)]
    pub(crate) unsafe fn bytes<'a>(&self, what: &'static str) -> Result<&'a [u8], Error> {
        // SAFETY: forwarded to the caller.
        unsafe { slice(self.ptr, self.len, what) }
    }
}

/// Whether strings must be valid UTF-8 (`reject`), or are repaired while encoding (`replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf8 {
    /// Invalid UTF-8 fails the call.
    Reject,
    /// Invalid sequences become U+FFFD.
    Replace,
}

/// UTF-8 validity with a fast path for the common short all-ASCII string: the bytes are
/// OR-ed together with two overlapping loads for up to 16 bytes, four up to 32 (a word loop
/// beyond), a handful of instructions for a typical key or value (the library's `is_ascii` and
/// `from_utf8` are tuned for long strings and cost a call). Only a string with a high bit
/// set pays for `from_utf8`.
#[inline(always)]
pub(crate) fn is_utf8(b: &[u8]) -> bool {
    ascii_bits(b) & HIGH_BITS == 0 || core::str::from_utf8(b).is_ok()
}

/// The high bit of every byte of a word: set in [`ascii_bits`] iff a byte is not ASCII.
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `b` OR-ed together into a word (bytes land in various lanes; only the
/// [`HIGH_BITS`] mean anything): `ascii_bits(b) & HIGH_BITS == 0` iff `b` is ASCII.
#[inline(always)]
pub(crate) fn ascii_bits(b: &[u8]) -> u64 {
    let n = b.len();
    if n > 32 {
        let mut acc = word(&b[n - 8..]);
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            acc |= word(w);
        }
        acc
    } else if n > 16 {
        // Two overlapping halves of 16 bytes.
        word(&b[..8]) | word(&b[8..16]) | word(&b[n - 16..n - 8]) | word(&b[n - 8..])
    } else if n >= 8 {
        word(&b[..8]) | word(&b[n - 8..])
    } else if n >= 4 {
        u64::from(half(&b[..4]) | half(&b[n - 4..]))
    } else if n > 0 {
        // Indexes 0, n/2 and n-1 cover every byte of a 1..=3 byte string.
        u64::from(b[0] | b[n / 2] | b[n - 1])
    } else {
        0
    }
}

/// Eight bytes as a word (`b` is exactly 8 long; anything else reads as non-ASCII, which
/// only sends the string to `from_utf8`).
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    u64::from_ne_bytes(b.try_into().unwrap_or([0xff; 8]))
}

/// Four bytes as a word, as [`word`].
#[inline(always)]
fn half(b: &[u8]) -> u32 {
    u32::from_ne_bytes(b.try_into().unwrap_or([0xff; 4]))
}

/// What a record's checks have added up so far.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Values and attributes seen.
    nodes: usize,
    /// String and byte payloads seen (saturating).
    bytes: usize,
    /// The ring's largest record: more payload than this can never fit.
    max_bytes: usize,
    /// UTF-8 policy.
    pub(crate) utf8: Utf8,
}

impl Budget {
    /// A budget for one record of at most `max_bytes`.
    #[inline(always)]
    pub(crate) fn new(max_bytes: usize, utf8: Utf8) -> Budget {
        Budget {
            nodes: 0,
            bytes: 0,
            // Never above `isize::MAX`: `lean_str` relies on it.
            max_bytes: max_bytes.min(isize::MAX as usize),
            utf8,
        }
    }

    /// Counts a payload of `n` bytes.
    #[inline(always)]
    pub(crate) fn bytes(&mut self, n: usize) -> Result<(), Error> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.max_bytes {
            return Err(Error::TooLarge {
                len: self.bytes,
                max: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Counts `n` values.
    #[inline(always)]
    fn nodes(&mut self, n: usize) -> Result<(), Error> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Error::Invalid("more than 65536 values in one record"));
        }
        Ok(())
    }

    /// A string field's bytes, counted: NULL with a non-zero length is refused, then the
    /// length is counted (which bounds it by the record budget, far below `isize::MAX`, so
    /// the slice is valid without the general [`slice`]'s checks). UTF-8 is the caller's.
    ///
    /// # Safety
    /// `s` must follow the [`otlp_arrow_str`] contract.
    #[inline(always)]
    pub(crate) unsafe fn lean_str<'a>(
        &mut self,
        s: &otlp_arrow_str,
        what: &'static str,
    ) -> Result<&'a [u8], Error> {
        let (ptr, len) = (s.ptr.cast::<u8>(), s.len);
        if ptr.is_null() {
            if len != 0 {
                return Err(Error::Invalid(what));
            }
            return Ok(&[]);
        }
        self.bytes(len)?;
        // SAFETY: non-NULL; `len <= max_bytes <= isize::MAX` (just counted); the caller
        // guarantees `len` readable bytes for the call.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }

    /// Checks a string field: pointer, length, and UTF-8 unless repairing.
    ///
    /// # Safety
    /// `s` must follow the [`otlp_arrow_str`] contract.
    #[inline(always)]
    pub(crate) unsafe fn str(
        &mut self,
        s: &otlp_arrow_str,
        what: &'static str,
    ) -> Result<(), Error> {
        // SAFETY: forwarded to the caller.
        let b = unsafe { self.lean_str(s, what) }?;
        if self.utf8 == Utf8::Reject && !is_utf8(b) {
            return Err(Error::InvalidUtf8(what));
        }
        Ok(())
    }
}

/// Checks an attribute array and everything nested in it.
///
/// # Safety
/// `ptr`/`len` and everything reachable from them must follow the contracts of
/// [`crate::types`] (valid for reads during the call, not modified concurrently).
pub(crate) unsafe fn check_attributes(
    ptr: *const otlp_arrow_attribute,
    len: usize,
    depth: u32,
    budget: &mut Budget,
) -> Result<(), Error> {
    // SAFETY: forwarded to the caller.
    let attrs = unsafe { slice(ptr, len, "attributes pointer is NULL") }?;
    budget.nodes(attrs.len())?;
    for a in attrs {
        // SAFETY: forwarded to the caller. Scalars and strings (nearly every attribute) are
        // checked here, in line; only nested values take the recursive call.
        unsafe {
            budget.str(&a.key, "attribute key")?;
            match a.value.type_ {
                value_type::EMPTY | value_type::BOOL | value_type::INT | value_type::DOUBLE => {}
                // SAFETY: the tag names the member.
                value_type::STRING => budget.str(&a.value.data.string_value, "string value")?,
                _ => check_value(&a.value, depth, budget)?,
            }
        }
    }
    Ok(())
}

/// Checks one value and everything nested in it.
///
/// # Safety
/// As [`check_attributes`].
#[inline(never)]
pub(crate) unsafe fn check_value(
    v: &otlp_arrow_value,
    depth: u32,
    budget: &mut Budget,
) -> Result<(), Error> {
    use value_type::*;
    match v.type_ {
        EMPTY | BOOL | INT | DOUBLE => Ok(()),
        // SAFETY: (all arms) the tag names the union member read; the caller guarantees the
        // member and what it points to are valid.
        STRING => unsafe { budget.str(&v.data.string_value, "string value") },
        BYTES => {
            // SAFETY: see above.
            let b = unsafe { v.data.bytes_value.bytes("bytes value pointer is NULL") }?;
            budget.bytes(b.len())
        }
        ARRAY | KVLIST => {
            if depth >= MAX_DEPTH {
                return Err(Error::Invalid(
                    "values nested deeper than OTLP_ARROW_MAX_DEPTH",
                ));
            }
            if v.type_ == ARRAY {
                // SAFETY: see above.
                let a = unsafe { v.data.array_value };
                // SAFETY: see above.
                let values = unsafe { slice(a.values, a.len, "array pointer is NULL") }?;
                budget.nodes(values.len())?;
                for item in values {
                    // SAFETY: forwarded to the caller.
                    unsafe { check_value(item, depth + 1, budget) }?;
                }
                Ok(())
            } else {
                // SAFETY: see above.
                let k = unsafe { v.data.kvlist_value };
                // SAFETY: forwarded to the caller.
                unsafe { check_attributes(k.attributes, k.len, depth + 1, budget) }
            }
        }
        other => Err(Error::UnknownEnum {
            what: "value type",
            value: other.into(),
        }),
    }
}

/// Bytes of a string that a check has accepted, or `""`.
///
/// # Safety
/// `s` must have passed [`Budget::str`] in this call (so its pointer and length are valid).
#[inline(always)]
pub(crate) unsafe fn checked_bytes<'a>(s: &otlp_arrow_str) -> &'a [u8] {
    // A select rather than an early return: no branch on the hot path.
    let ptr = if s.len == 0 {
        core::ptr::NonNull::<u8>::dangling().as_ptr().cast_const()
    } else {
        s.ptr.cast::<u8>()
    };
    // SAFETY: checked: non-NULL (or dangling with length 0), and `len` bytes valid for the
    // call.
    unsafe { core::slice::from_raw_parts(ptr, s.len) }
}

/// A string that a check has accepted as UTF-8 (with `invalid_utf8 = "reject"`).
///
/// # Safety
/// `s` must have passed [`Budget::str`] with [`Utf8::Reject`] in this call.
#[inline(always)]
pub(crate) unsafe fn checked_str<'a>(s: &otlp_arrow_str) -> &'a str {
    // SAFETY: the check verified these bytes are UTF-8 (and the caller does not modify
    // them during the call).
    unsafe { core::str::from_utf8_unchecked(checked_bytes(s)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_utf8_agrees_with_from_utf8_at_every_length_and_position() {
        for n in 0..40usize {
            let ascii = vec![b'a'; n];
            assert!(is_utf8(&ascii), "{n}");
            for at in 0..n {
                // A lone continuation byte anywhere is invalid; a two-byte sequence (when it
                // fits) is valid.
                let mut bad = ascii.clone();
                bad[at] = 0x80;
                assert!(!is_utf8(&bad), "{n} {at}");
                if at + 1 < n {
                    let mut good = ascii.clone();
                    good[at..at + 2].copy_from_slice("é".as_bytes());
                    assert!(is_utf8(&good), "{n} {at}");
                }
            }
        }
    }
}
