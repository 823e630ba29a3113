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
        match StringArray::try_new(offsets, values, nulls) {
            Ok(a) => a,
            Err(e) => panic!("decoder invariant broken: invalid Utf8 column: {e}"),
        }
    } else {
        // SAFETY: the offsets are monotonic from 0 and within `values`, every value is UTF-8
        // and every offset a value boundary, and `nulls` (if any) has one bit per value: the
        // decoder's columns guarantee all of it by construction (module docs).
        unsafe { StringArray::new_unchecked(offsets, values, nulls) }
    }
}
