//! The record header word: `length: i32` in the low half, `kind: u32` in the high half.
//!
//! Pure arithmetic, no memory access: the atomics that hold headers live in `storage`.
#![forbid(unsafe_code)]

/// Bytes taken by a record header.
pub const HEADER_LEN: usize = 8;
/// Every record starts on a multiple of this many bytes.
pub const RECORD_ALIGN: usize = 8;
/// Largest kind tag a caller may use; the values above it are reserved.
pub const MAX_KIND: u32 = u32::MAX - 1;
/// Kind of padding records (the wrap filler and aborted claims): skipped by the consumer.
pub(crate) const PADDING: u32 = u32::MAX;

/// Header word of a committed record of total `length` (header included) and `kind`.
#[inline]
pub(crate) const fn committed(kind: u32, length: u32) -> u64 {
    ((kind as u64) << 32) | (length as u64)
}

/// Header word of a claimed, not yet committed record of total `length`.
#[inline]
pub(crate) const fn in_progress(length: u32) -> u64 {
    (length as i32).wrapping_neg() as u32 as u64
}

/// The signed length of a header word: `0` never written, `< 0` in progress, `> 0` committed.
#[inline]
pub(crate) const fn length(word: u64) -> i32 {
    word as u32 as i32
}

/// The kind of a header word.
#[inline]
pub(crate) const fn kind(word: u64) -> u32 {
    (word >> 32) as u32
}

/// `n` rounded up to [`RECORD_ALIGN`].
#[inline]
pub(crate) const fn align(n: u64) -> u64 {
    (n + (RECORD_ALIGN as u64 - 1)) & !(RECORD_ALIGN as u64 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let w = committed(7, 264);
        assert_eq!(length(w), 264);
        assert_eq!(kind(w), 7);
        let p = in_progress(264);
        assert_eq!(length(p), -264);
        assert_eq!(length(0), 0);
        assert_eq!(kind(committed(PADDING, 16)), PADDING);
    }

    #[test]
    fn align_rounds_up_to_eight() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 8);
        assert_eq!(align(8), 8);
        assert_eq!(align(9), 16);
        assert_eq!(align(264), 264);
    }
}
