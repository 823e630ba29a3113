//! The decoder's one `unsafe`: finishing `Utf8` columns without validating them a second time.
//!
//! arrow's checked constructor (`StringArray::new`) checks every offset and runs UTF-8
//! validation over the whole value buffer: a second pass over every string byte of the batch,
//! measured at about 7% of the drain thread's time under load (`perf`, traces over gRPC). The
//! decoder's columns need neither check, by construction:
//!
//! - **UTF-8**: a `Utf8` column (`Strs`, an attribute value's string member) is only ever fed
//!   [`Text`](super::reader::Text), which exists only for bytes validated when the field was
//!   read (or for a `&str`), or copies of whole values already in the column
//!   (`VarBytes::extend_within`). Values are concatenated, so every offset is a value boundary,
//!   which is a character boundary.
//! - **Offsets**: they start at 0 and only grow (each push appends the new end); a record whose
//!   values would pass `i32::MAX` is rolled back whole before commit (`Column::fits`), and
//!   rollback truncates the data at a committed offset. The sparse `AnyValue` expansion
//!   repeats the previous offset for rows of another type, so it stays monotonic.
//!
//! Debug builds (every test) still use the checked constructor, so a broken invariant fails the
//! tests loudly instead of going unnoticed.

use arrow_array::StringArray;
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};

/// A `Utf8` array of decoder-built parts (see the module docs for why they are valid).
#[inline]
pub(crate) fn utf8_array(
    offsets: OffsetBuffer<i32>,
    values: Buffer,
    nulls: Option<NullBuffer>,
) -> StringArray {
    if cfg!(debug_assertions) {
        checked(offsets, values, nulls)
    } else {
        unchecked(offsets, values, nulls)
    }
}

/// Debug builds: arrow's full validation, and a loud failure if an invariant broke.
fn checked(offsets: OffsetBuffer<i32>, values: Buffer, nulls: Option<NullBuffer>) -> StringArray {
    match StringArray::try_new(offsets, values, nulls) {
        Ok(a) => a,
        Err(e) => panic!("decoder invariant broken: invalid Utf8 column: {e}"),
    }
}

/// Release builds: no second pass over the strings.
#[inline]
fn unchecked(offsets: OffsetBuffer<i32>, values: Buffer, nulls: Option<NullBuffer>) -> StringArray {
    // SAFETY: the offsets are monotonic from 0 and within `values`, every value is UTF-8
    // and every offset a value boundary, and `nulls` (if any) has one bit per value: the
    // decoder's columns guarantee all of it by construction (module docs; `utf8_array` is
    // only called with decoder-built parts).
    unsafe { StringArray::new_unchecked(offsets, values, nulls) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    fn parts() -> (OffsetBuffer<i32>, Buffer, Option<NullBuffer>) {
        let offsets = OffsetBuffer::new(vec![0, 3, 3, 8].into());
        let values = Buffer::from("GETx\u{e9}y!".as_bytes());
        (
            offsets,
            values,
            Some(NullBuffer::from(vec![true, false, true])),
        )
    }

    #[test]
    fn both_constructors_build_the_same_array_from_valid_parts() {
        let (o, v, n) = parts();
        let a = utf8_array(o.clone(), v.clone(), n.clone());
        let b = checked(o.clone(), v.clone(), n.clone());
        let c = unchecked(o, v, n);
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(c.value(0), "GET");
        assert!(c.is_null(1));
        assert_eq!(c.value(2), "x\u{e9}y!");
    }

    #[test]
    #[should_panic(expected = "decoder invariant broken")]
    fn the_checked_constructor_fails_loudly_on_invalid_utf8() {
        let offsets = OffsetBuffer::new(vec![0, 2].into());
        let _ = checked(offsets, Buffer::from(&[0xff_u8, 0xfe][..]), None);
    }
}
