//! The protobuf primitives: a bounds-checked [`Writer`] over a caller's `&mut [u8]`, and the
//! length arithmetic that goes with it.
//!
//! Every write checks the remaining space and returns [`EncodeError::BufferTooSmall`] instead
//! of panicking; nothing here allocates. A length-delimited field written through
//! [`Writer::message_with_len`] is checked after its body is written: if the body wrote a
//! different number of bytes than its header announced (only possible with a buggy
//! user-supplied [`Attributes`](super::Attributes) implementation), the write fails with
//! [`EncodeError::LengthMismatch`], so a malformed message never leaves the encoder as `Ok`.
#![forbid(unsafe_code)]

use core::fmt;

use crate::wire::fields::{WT_I32, WT_I64, WT_LEN, WT_VARINT};

/// Why an encode failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer ended before the message did. With a buffer of at least
    /// `encoded_len()` bytes this cannot happen.
    BufferTooSmall,
    /// A length-delimited body wrote a different number of bytes than its `encoded_len`
    /// promised: a user-supplied [`Attributes`](super::Attributes) /
    /// [`Values`](super::Values) implementation disagrees with itself. Also returned by
    /// `encode_exact` for a slot that is not exactly `encoded_len()` bytes long.
    LengthMismatch,
    /// A string written from bytes that were not checked beforehand (the `*_raw_*` writers
    /// of [`Writer`]) is not valid UTF-8: an [`Attributes`](super::Attributes)
    /// implementation that validates while it writes refused it. Whatever was written is
    /// to be discarded.
    InvalidUtf8,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "output buffer too small for the encoded message",
            Self::LengthMismatch => "encoded body length differs from its computed length",
            Self::InvalidUtf8 => "a string is not valid UTF-8",
        })
    }
}

impl core::error::Error for EncodeError {}

/// Bytes taken by `v` as a base-128 varint (1..=10).
#[inline]
#[must_use]
pub const fn varint_len(v: u64) -> usize {
    // Nearly every tag and length is below 128: one compare, predicted.
    if v < 0x80 {
        return 1;
    }
    // Same formula as prost: 9/64 approximates 1/7 closely enough for 1..=64 significant bits.
    ((((v | 1).leading_zeros() ^ 63) * 9 + 73) / 64) as usize
}

/// Bytes taken by the tag (field number + wire type) of field `field`.
#[inline]
#[must_use]
pub const fn tag_len(field: u32) -> usize {
    varint_len((field as u64) << 3)
}

/// Bytes taken by a length-delimited field `field` whose body is `body_len` bytes: tag, length
/// varint and body.
#[inline]
#[must_use]
pub const fn len_field_len(field: u32, body_len: usize) -> usize {
    tag_len(field) + varint_len(body_len as u64) + body_len
}

/// The body length `L` of a length-delimited field `field` that takes `field_len` bytes in all
/// (`field_len == len_field_len(field, L)`), or `None` if no body length gives exactly that.
#[inline]
pub(crate) const fn body_len_of_field(field: u32, field_len: usize) -> Option<usize> {
    // L + varint_len(L) is strictly increasing, so at most one L matches; the varint takes
    // 1..=10 bytes, almost always 1 or 2.
    let Some(rest) = field_len.checked_sub(tag_len(field)) else {
        return None;
    };
    let mut k = 1;
    while k <= 10 {
        if let Some(l) = rest.checked_sub(k)
            && varint_len(l as u64) == k
        {
            return Some(l);
        }
        k += 1;
    }
    None
}

/// The varint zigzag encoding of a `sint32`.
#[inline]
#[must_use]
pub(crate) const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Writes protobuf primitives into a borrowed buffer, front to back.
///
/// Created by [`Encode::encode`](super::Encode::encode) and the record types' `encode_exact`;
/// borrowed by [`Encode::encode_to`](super::Encode::encode_to) and by hand-written
/// [`Attributes`](super::Attributes) implementations. The writer never panics and never writes past its buffer: each method either writes all of
/// its bytes and returns `Ok`, or returns [`EncodeError::BufferTooSmall`] (having possibly
/// written a prefix; the buffer's contents are then unspecified).
pub struct Writer<'b> {
    /// The part of the buffer not yet written. Keeping the remainder (rather than the whole
    /// buffer and a position) makes every write one length compare, with no second bounds
    /// check for the compiler to prove away.
    rest: &'b mut [u8],
    /// Length of the whole buffer: `written() == cap - rest.len()`.
    cap: usize,
}

impl fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("written", &self.written())
            .field("capacity", &self.cap)
            .finish()
    }
}

impl<'b> Writer<'b> {
    /// A writer that starts at the beginning of `buf`.
    ///
    /// Crate-private on purpose: code outside the crate only ever borrows a writer (in
    /// [`Attributes::encode_attributes`](super::Attributes::encode_attributes)), so it can
    /// shrink the free space by writing but never swap in another buffer behind the length
    /// checks' back.
    #[inline]
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self {
            cap: buf.len(),
            rest: buf,
        }
    }

    /// Bytes written so far.
    #[inline]
    #[must_use]
    pub fn written(&self) -> usize {
        self.cap - self.rest.len()
    }

    /// Bytes still free.
    #[inline]
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes of the buffer, advancing past them.
    #[inline(always)]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'b mut [u8], EncodeError> {
        if n > self.rest.len() {
            return Err(EncodeError::BufferTooSmall);
        }
        // Cannot fail after the check above (the compiler drops its own check).
        let (dst, rest) = core::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = rest;
        Ok(dst)
    }

    /// One byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) -> Result<(), EncodeError> {
        if self.rest.is_empty() {
            return Err(EncodeError::BufferTooSmall);
        }
        let (first, rest) = core::mem::take(&mut self.rest).split_at_mut(1);
        first[0] = b;
        self.rest = rest;
        Ok(())
    }

    /// Runs `f` on a local copy of the writer and stores the result back once.
    ///
    /// Why: a `&mut Writer` lives in memory, so every write would store the new position
    /// back through the pointer; a local copy whose address does not escape lives in
    /// registers for the whole of `f`. For hand-written [`Attributes`](super::Attributes)
    /// loops too.
    #[inline(always)]
    pub fn local<R>(
        &mut self,
        f: impl FnOnce(&mut Writer<'b>) -> Result<R, EncodeError>,
    ) -> Result<R, EncodeError> {
        let mut local = Writer {
            rest: core::mem::take(&mut self.rest),
            cap: self.cap,
        };
        let r = f(&mut local);
        self.rest = local.rest;
        r
    }

    /// Copies `bytes` verbatim (e.g. a pre-encoded message body).
    #[inline(always)]
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        copy_short(self.take(bytes.len())?, bytes);
        Ok(())
    }

    /// A base-128 varint.
    #[inline(always)]
    pub fn varint(&mut self, v: u64) -> Result<(), EncodeError> {
        if v < 0x80 {
            self.byte(v as u8)
        } else if v < 0x4000 {
            let dst = self.take(2)?;
            dst[0] = (v as u8) | 0x80;
            dst[1] = (v >> 7) as u8;
            Ok(())
        } else {
            self.varint_long(v)
        }
    }

    /// A varint of three or more bytes: out of line, so the common one- and two-byte cases
    /// (tags, lengths up to 16 KiB) stay small wherever they are inlined.
    #[inline(never)]
    fn varint_long(&mut self, v: u64) -> Result<(), EncodeError> {
        let dst = self.take(varint_len(v))?;
        let mut v = v;
        // `dst` is exactly as long as the varint: every byte but the last has the
        // continuation bit.
        if let Some((last, head)) = dst.split_last_mut() {
            for b in head {
                *b = (v as u8) | 0x80;
                v >>= 7;
            }
            *last = v as u8;
        }
        Ok(())
    }

    /// A field tag: `field` number and wire type `wt`.
    #[inline(always)]
    pub fn tag(&mut self, field: u32, wt: u8) -> Result<(), EncodeError> {
        self.varint((u64::from(field) << 3) | u64::from(wt))
    }

    /// Four little-endian bytes.
    #[inline]
    pub fn fixed32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.raw(&v.to_le_bytes())
    }

    /// Eight little-endian bytes.
    #[inline]
    pub fn fixed64(&mut self, v: u64) -> Result<(), EncodeError> {
        self.raw(&v.to_le_bytes())
    }

    /// A varint field (`uint32`, `uint64`, `int64`, `bool`, enum), written even if zero.
    #[inline]
    pub fn varint_field(&mut self, field: u32, v: u64) -> Result<(), EncodeError> {
        self.tag(field, WT_VARINT)?;
        self.varint(v)
    }

    /// A `fixed64` / `sfixed64` field, written even if zero.
    #[inline]
    pub fn fixed64_field(&mut self, field: u32, v: u64) -> Result<(), EncodeError> {
        self.tag(field, WT_I64)?;
        self.fixed64(v)
    }

    /// A `fixed32` field, written even if zero.
    #[inline]
    pub fn fixed32_field(&mut self, field: u32, v: u32) -> Result<(), EncodeError> {
        self.tag(field, WT_I32)?;
        self.fixed32(v)
    }

    /// A `double` field, written even if zero.
    #[inline]
    pub fn double_field(&mut self, field: u32, v: f64) -> Result<(), EncodeError> {
        self.fixed64_field(field, v.to_bits())
    }

    /// A `bytes` or `string` field, written even if empty.
    #[inline(always)]
    pub fn bytes_field(&mut self, field: u32, v: &[u8]) -> Result<(), EncodeError> {
        self.len_header(field, v.len())?;
        self.raw(v)
    }

    /// [`bytes_field`](Self::bytes_field) that returns the bytes OR-ed together (see
    /// [`copy_short_bits`]).
    #[inline(always)]
    pub(crate) fn bytes_field_bits(&mut self, field: u32, v: &[u8]) -> Result<u64, EncodeError> {
        self.len_header(field, v.len())?;
        Ok(copy_short_bits(self.take(v.len())?, v))
    }

    /// The tag of length-delimited field `field` and the length varint. Both are almost
    /// always one byte: then this is a single bounds check and two stores.
    #[inline(always)]
    pub(crate) fn len_header(&mut self, field: u32, len: usize) -> Result<(), EncodeError> {
        let tag = (u64::from(field) << 3) | u64::from(WT_LEN);
        if tag < 0x80 && len < 0x80 {
            let dst = self.take(2)?;
            dst[0] = tag as u8;
            dst[1] = len as u8;
            Ok(())
        } else {
            self.varint(tag)?;
            self.varint(len as u64)
        }
    }

    /// A length-delimited field whose body of exactly `len` bytes is written by `body`.
    ///
    /// Fails with [`EncodeError::LengthMismatch`] if `body` wrote a different amount.
    #[inline]
    pub fn message_with_len(
        &mut self,
        field: u32,
        len: usize,
        body: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        self.local(|w| {
            w.len_header(field, len)?;
            let before = w.rest.len();
            body(w)?;
            if before.checked_sub(w.rest.len()) == Some(len) {
                Ok(())
            } else {
                Err(EncodeError::LengthMismatch)
            }
        })
    }

    // Fields that proto3 omits when they hold their default value. Crate-private: the public
    // methods above are the building blocks for user-supplied `Attributes` implementations.

    #[inline]
    pub(crate) fn opt_varint(&mut self, field: u32, v: u64) -> Result<(), EncodeError> {
        if v != 0 {
            self.varint_field(field, v)?;
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn opt_fixed64(&mut self, field: u32, v: u64) -> Result<(), EncodeError> {
        if v != 0 {
            self.fixed64_field(field, v)?;
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn opt_fixed32(&mut self, field: u32, v: u32) -> Result<(), EncodeError> {
        if v != 0 {
            self.fixed32_field(field, v)?;
        }
        Ok(())
    }

    /// A proto3 `double`: omitted when `== 0.0`, so `-0.0` is omitted too (as prost does).
    #[inline]
    pub(crate) fn opt_double(&mut self, field: u32, v: f64) -> Result<(), EncodeError> {
        if v != 0.0 {
            self.double_field(field, v)?;
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn opt_bytes(&mut self, field: u32, v: &[u8]) -> Result<(), EncodeError> {
        if !v.is_empty() {
            self.bytes_field(field, v)?;
        }
        Ok(())
    }

    /// A packed `repeated fixed64`; nothing when empty.
    #[inline]
    pub(crate) fn packed_fixed64(&mut self, field: u32, vs: &[u64]) -> Result<(), EncodeError> {
        if vs.is_empty() {
            return Ok(());
        }
        self.tag(field, WT_LEN)?;
        self.varint((vs.len() * 8) as u64)?;
        let dst = self.take(vs.len() * 8)?;
        for (d, v) in dst.chunks_exact_mut(8).zip(vs) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }

    /// A packed `repeated double`; nothing when empty.
    #[inline]
    pub(crate) fn packed_double(&mut self, field: u32, vs: &[f64]) -> Result<(), EncodeError> {
        if vs.is_empty() {
            return Ok(());
        }
        self.tag(field, WT_LEN)?;
        self.varint((vs.len() * 8) as u64)?;
        let dst = self.take(vs.len() * 8)?;
        for (d, v) in dst.chunks_exact_mut(8).zip(vs) {
            d.copy_from_slice(&v.to_bits().to_le_bytes());
        }
        Ok(())
    }

    /// A packed `repeated uint64` (varints); nothing when empty.
    #[inline]
    pub(crate) fn packed_varint(&mut self, field: u32, vs: &[u64]) -> Result<(), EncodeError> {
        if vs.is_empty() {
            return Ok(());
        }
        let len = packed_varint_body_len(vs);
        self.message_with_len(field, len, |w| {
            for &v in vs {
                w.varint(v)?;
            }
            Ok(())
        })
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length, without a `memcpy` call for the
/// short strings that dominate telemetry (keys, names, small values): two overlapping
/// fixed-size copies cover any length in `[k, 2k]`, and fixed sizes compile to plain moves.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n != dst.len() {
        // Unreachable: callers pass a `take(src.len())` slice. Kept panic-free.
        return;
    }
    match n {
        0..=3 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// [`copy_short`] that also returns the copied bytes OR-ed together into a word (bytes land
/// in various lanes): [`ASCII_HIGH_BITS`] all clear iff every copied byte is ASCII. The word
/// is built from the very registers that are stored, so it describes the bytes written, and
/// the test costs one OR per load. Up to 256 bytes the copy is a loop of 16-byte moves with
/// an overlapping tail; longer strings are copied with `copy_from_slice` and report
/// [`ASCII_HIGH_BITS`] ("not known to be ASCII": the caller validates them).
#[inline(always)]
pub(crate) fn copy_short_bits(dst: &mut [u8], src: &[u8]) -> u64 {
    let n = src.len();
    if n != dst.len() {
        // Unreachable: callers pass a `take(src.len())` slice. Kept panic-free; nothing was
        // copied, so "validate" is the safe answer.
        return ASCII_HIGH_BITS;
    }
    match n {
        0 => 0,
        1..=3 => {
            // Indexes 0, n/2 and n-1 cover every byte of a 1..=3 byte string: no loop.
            let (a, b, c) = (src[0], src[n / 2], src[n - 1]);
            dst[0] = a;
            dst[n / 2] = b;
            dst[n - 1] = c;
            u64::from(a | b | c)
        }
        4..=7 => {
            let a: [u8; 4] = fixed(&src[..4]);
            let b: [u8; 4] = fixed(&src[n - 4..]);
            dst[..4].copy_from_slice(&a);
            dst[n - 4..].copy_from_slice(&b);
            u64::from(u32::from_ne_bytes(a) | u32::from_ne_bytes(b))
        }
        8..=16 => {
            let a: [u8; 8] = fixed(&src[..8]);
            let b: [u8; 8] = fixed(&src[n - 8..]);
            dst[..8].copy_from_slice(&a);
            dst[n - 8..].copy_from_slice(&b);
            u64::from_ne_bytes(a) | u64::from_ne_bytes(b)
        }
        17..=32 => {
            let a: [u8; 16] = fixed(&src[..16]);
            let b: [u8; 16] = fixed(&src[n - 16..]);
            dst[..16].copy_from_slice(&a);
            dst[n - 16..].copy_from_slice(&b);
            let w = u128::from_ne_bytes(a) | u128::from_ne_bytes(b);
            (w as u64) | ((w >> 64) as u64)
        }
        33..=256 => {
            let mut acc = 0u128;
            for (d, s) in dst.chunks_exact_mut(16).zip(src.chunks_exact(16)) {
                let a: [u8; 16] = fixed(s);
                d.copy_from_slice(&a);
                acc |= u128::from_ne_bytes(a);
            }
            let b: [u8; 16] = fixed(&src[n - 16..]);
            dst[n - 16..].copy_from_slice(&b);
            acc |= u128::from_ne_bytes(b);
            (acc as u64) | ((acc >> 64) as u64)
        }
        _ => {
            dst.copy_from_slice(src);
            ASCII_HIGH_BITS
        }
    }
}

/// The high bit of every byte of a word: see [`copy_short_bits`].
pub const ASCII_HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// A fixed-size array from a slice of exactly that length (callers slice it so; anything
/// else gives all-high-bit bytes, which only makes the caller validate).
#[inline(always)]
fn fixed<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0xff; N])
}

/// Writes `v` as a varint into `dst`, which must be exactly `varint_len(v)` bytes long (any
/// other length writes a prefix or leaves bytes as they were: callers size `dst` with
/// `varint_len`).
#[inline(always)]
pub(crate) fn put_varint(dst: &mut [u8], v: u64) {
    let mut v = v;
    if let Some((last, head)) = dst.split_last_mut() {
        for b in head {
            *b = (v as u8) | 0x80;
            v >>= 7;
        }
        *last = v as u8;
    }
}

// Length counterparts of the `opt_*` / `packed_*` writers.

#[inline]
pub(crate) const fn opt_varint_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + varint_len(v)
    }
}

#[inline]
pub(crate) const fn opt_fixed64_len(field: u32, v: u64) -> usize {
    if v == 0 { 0 } else { tag_len(field) + 8 }
}

#[inline]
pub(crate) const fn opt_fixed32_len(field: u32, v: u32) -> usize {
    if v == 0 { 0 } else { tag_len(field) + 4 }
}

#[inline]
pub(crate) fn opt_double_len(field: u32, v: f64) -> usize {
    if v == 0.0 { 0 } else { tag_len(field) + 8 }
}

#[inline]
pub(crate) const fn opt_bytes_len(field: u32, v: &[u8]) -> usize {
    if v.is_empty() {
        0
    } else {
        len_field_len(field, v.len())
    }
}

#[inline]
pub(crate) const fn packed_fixed_len(field: u32, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        len_field_len(field, n * 8)
    }
}

#[inline]
pub(crate) fn packed_varint_body_len(vs: &[u64]) -> usize {
    vs.iter().map(|&v| varint_len(v)).sum()
}

#[inline]
pub(crate) fn packed_varint_len(field: u32, vs: &[u64]) -> usize {
    if vs.is_empty() {
        0
    } else {
        len_field_len(field, packed_varint_body_len(vs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(v: u64) -> ([u8; 10], usize) {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        w.varint(v).unwrap();
        let n = w.written();
        (buf, n)
    }

    #[test]
    fn varint_len_at_every_boundary() {
        assert_eq!(varint_len(0), 1);
        for bits in 1..=64u32 {
            let max = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let expected = bits.div_ceil(7) as usize;
            assert_eq!(varint_len(max), expected, "2^{bits}-1");
            let (_, n) = varint_bytes(max);
            assert_eq!(n, expected, "written 2^{bits}-1");
        }
    }

    #[test]
    fn varint_bytes_known_values() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for &(v, bytes) in cases {
            let (buf, n) = varint_bytes(v);
            assert_eq!(&buf[..n], bytes, "{v}");
        }
        // A negative int64 / enum is sign-extended to ten bytes, as protobuf requires.
        let (buf, n) = varint_bytes(-1i64 as u64);
        assert_eq!(n, 10);
        assert_eq!(buf[9], 0x01);
    }

    #[test]
    fn body_len_inverts_field_len() {
        for field in [1u32, 2, 15, 16] {
            for l in (0..20_000usize).chain([u32::MAX as usize, usize::MAX / 2]) {
                assert_eq!(body_len_of_field(field, len_field_len(field, l)), Some(l));
            }
        }
        // 1 + 1 + 127 = 129 and 1 + 2 + 128 = 131: no body makes a field of 130 bytes.
        assert_eq!(body_len_of_field(1, 130), None);
        assert_eq!(body_len_of_field(1, 0), None);
        assert_eq!(body_len_of_field(1, 1), None);
        assert_eq!(body_len_of_field(1, 2), Some(0));
    }

    #[test]
    fn zigzag_matches_protobuf() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(-2), 3);
        assert_eq!(zigzag32(i32::MAX), u32::MAX - 1);
        assert_eq!(zigzag32(i32::MIN), u32::MAX);
    }

    #[test]
    fn tags() {
        assert_eq!(tag_len(1), 1);
        assert_eq!(tag_len(15), 1);
        assert_eq!(tag_len(16), 2);
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        w.tag(16, WT_I32).unwrap();
        assert_eq!(w.written(), 2);
        assert_eq!(&buf[..2], &[0x85, 0x01]);
    }

    #[test]
    fn short_buffer_is_an_error_not_a_panic() {
        for cap in 0..10 {
            let mut buf = [0u8; 10];
            let mut w = Writer::new(&mut buf[..cap]);
            assert_eq!(w.varint(u64::MAX), Err(EncodeError::BufferTooSmall));
            assert_eq!(w.fixed64(1).is_err(), cap < 8);
        }
        let mut w = Writer::new(&mut []);
        assert_eq!(w.varint(0), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.raw(&[]), Ok(()));
        assert_eq!(w.bytes_field(1, b"x"), Err(EncodeError::BufferTooSmall));
    }

    #[test]
    fn message_length_is_checked() {
        let mut buf = [0u8; 16];
        let mut w = Writer::new(&mut buf);
        assert_eq!(
            w.message_with_len(1, 2, |w| w.raw(b"abc")),
            Err(EncodeError::LengthMismatch)
        );
        let mut w = Writer::new(&mut buf);
        w.message_with_len(1, 3, |w| w.raw(b"abc")).unwrap();
        assert_eq!(w.written(), 5);
        assert_eq!(&buf[..5], b"\x0a\x03abc");
    }

    #[test]
    fn packed_fields() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.packed_varint(2, &[1, 300]).unwrap();
        w.packed_fixed64(6, &[]).unwrap();
        w.packed_double(7, &[1.0]).unwrap();
        let n = w.written();
        assert_eq!(
            &buf[..n],
            &[
                0x12, 3, 1, 0xac, 0x02, // packed varints
                0x3a, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f // packed double 1.0
            ]
        );
        assert_eq!(packed_varint_len(2, &[1, 300]), 5);
        assert_eq!(packed_fixed_len(7, 1), 10);
        assert_eq!(packed_fixed_len(7, 0), 0);
    }

    #[test]
    fn defaults_are_omitted() {
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        w.opt_varint(1, 0).unwrap();
        w.opt_fixed64(1, 0).unwrap();
        w.opt_fixed32(1, 0).unwrap();
        w.opt_double(1, 0.0).unwrap();
        w.opt_double(1, -0.0).unwrap();
        w.opt_bytes(1, b"").unwrap();
        assert_eq!(w.written(), 0);
        assert_eq!(opt_double_len(1, -0.0), 0);
        assert_eq!(opt_double_len(1, f64::NAN), 9);
        assert_eq!(opt_varint_len(1, 0), 0);
        assert_eq!(opt_fixed64_len(1, 3), 9);
        assert_eq!(opt_fixed32_len(16, 3), 6);
        assert_eq!(opt_bytes_len(1, b"ab"), 4);
    }
}
