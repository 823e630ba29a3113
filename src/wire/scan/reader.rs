//! Validating protobuf decoding primitives over a borrowed `&[u8]`: varints, tags, and one
//! reader per field kind (`string`, ids, fixed-width, packed, nested messages, unknown fields).
//!
//! A [`Reader`] covers exactly one message body: reads never cross its end, so "runs past the
//! end" always means "of the enclosing message", as protobuf requires. It also knows its
//! absolute position in the scanned input, so errors carry offsets without any bookkeeping on
//! the happy path; a failing primitive records its error in the scan's `Slot` and returns the
//! zero-sized `Failed`. Nothing here indexes a slice without a prior bounds check that the compiler
//! sees (or uses `get`): no input can make it panic.
#![forbid(unsafe_code)]

use super::error::{At, ErrorKind, Expected, Failed, FieldName, Scan, Slot, WireType};
use crate::wire::fields::{WT_I32, WT_I64, WT_LEN, WT_VARINT};

/// Decodes the varint at `buf[pos..]`, returning its value and the position after it.
///
/// Accepts at most 10 bytes; a 10th byte above 1 would overflow 64 bits and is refused, as
/// protobuf-go and prost do.
#[inline]
pub(super) fn decode_varint(buf: &[u8], pos: usize) -> Result<(u64, usize), ErrorKind> {
    match buf.get(pos) {
        Some(&byte) if byte < 0x80 => Ok((u64::from(byte), pos + 1)),
        _ => decode_varint_slow(buf, pos),
    }
}

#[inline(never)]
fn decode_varint_slow(buf: &[u8], pos: usize) -> Result<(u64, usize), ErrorKind> {
    let mut value = 0u64;
    for i in 0..10 {
        // `pos <= buf.len()`, so `pos + i` cannot overflow.
        let Some(&byte) = buf.get(pos + i) else {
            return Err(ErrorKind::TruncatedVarint);
        };
        if i == 9 {
            return if byte >= 0x80 {
                Err(ErrorKind::VarintTooLong)
            } else if byte > 1 {
                Err(ErrorKind::VarintOverflow)
            } else {
                Ok((value | (u64::from(byte) << 63), pos + 10))
            };
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, pos + i + 1));
        }
    }
    // Unreachable: the loop returns at i == 9 at the latest.
    Err(ErrorKind::VarintTooLong)
}

/// A decoded field key.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tag {
    /// Field number, 1 ..= 2^29 - 1.
    pub(super) field: u32,
    /// Wire type bits, 0 ..= 7 (not yet checked against the field).
    pub(super) wire: u8,
    /// Absolute offset of the tag.
    pub(super) at: usize,
}

/// How a trace or span id field is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IdRule {
    /// A span's own id: exactly the length and not all zero.
    Required,
    /// Empty, or exactly the length (all-zero accepted).
    Optional,
}

/// A validating cursor over one message body. Errors go to the scan's `slot`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reader<'a, 's> {
    buf: &'a [u8],
    /// Invariant: `pos <= buf.len()`.
    pos: usize,
    /// Absolute offset of `buf[0]` in the scanned input.
    base: usize,
    slot: &'s Slot,
}

impl<'a, 's> Reader<'a, 's> {
    /// A reader over `buf[pos..]`, whose first byte `buf[0]` is at absolute offset `base`.
    pub(super) fn new(buf: &'a [u8], pos: usize, base: usize, slot: &'s Slot) -> Self {
        Self {
            buf,
            pos: pos.min(buf.len()),
            base,
            slot,
        }
    }

    /// Where this scan records its error.
    #[inline(always)]
    pub(super) fn slot(&self) -> &'s Slot {
        self.slot
    }

    /// Current position relative to `buf[0]`.
    #[inline(always)]
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Records an error at absolute `offset`.
    #[inline(always)]
    pub(super) fn fail(&self, offset: usize, kind: ErrorKind) -> Failed {
        self.slot.fail(offset, kind)
    }

    /// True when the whole body has been read.
    #[inline(always)]
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Absolute offset of the body's first byte.
    #[inline(always)]
    pub(super) fn start(&self) -> usize {
        self.base
    }

    /// The whole body.
    #[inline(always)]
    pub(super) fn body(&self) -> &'a [u8] {
        self.buf
    }

    #[inline(always)]
    fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline(always)]
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline(always)]
    fn varint(&mut self) -> Scan<u64> {
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Scan<u64> {
        match decode_varint_slow(self.buf, self.pos) {
            Ok((value, pos)) => {
                self.pos = pos;
                Ok(value)
            }
            Err(kind) => Err(self.fail(self.offset(), kind)),
        }
    }

    /// Reads the next field key. Call only when not [`at_end`](Self::at_end).
    #[inline(always)]
    pub(super) fn tag(&mut self) -> Scan<Tag> {
        let at = self.offset();
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(self.fail(at, ErrorKind::TagTooLarge));
        }
        let field = (key >> 3) as u32;
        if field == 0 {
            return Err(self.fail(at, ErrorKind::FieldNumberZero));
        }
        Ok(Tag {
            field,
            wire: (key & 7) as u8,
            at,
        })
    }

    /// Reads the length prefix and returns a reader over the body that follows.
    #[inline(always)]
    fn delimited(&mut self) -> Scan<Reader<'a, 's>> {
        let len_at = self.offset();
        let len = self.varint()?;
        let available = self.remaining();
        if len > available as u64 {
            return Err(self.fail(len_at, ErrorKind::LengthPastEnd { len, available }));
        }
        let start = self.pos;
        let end = start + len as usize;
        let Some(buf) = self.buf.get(start..end) else {
            // Unreachable: `len <= available` was checked above.
            return Err(self.fail(len_at, ErrorKind::LengthPastEnd { len, available }));
        };
        self.pos = end;
        Ok(Reader {
            buf,
            pos: 0,
            base: self.base + start,
            slot: self.slot,
        })
    }

    #[inline(always)]
    fn skip_fixed(&mut self, needed: u8) -> Scan<()> {
        let available = self.remaining();
        if available < usize::from(needed) {
            return Err(self.fail(
                self.offset(),
                ErrorKind::TruncatedFixed { needed, available },
            ));
        }
        self.pos += usize::from(needed);
        Ok(())
    }

    /// A length-delimited field: returns a reader over its body.
    #[inline(always)]
    pub(super) fn len_field(&mut self, tag: Tag) -> Scan<Reader<'a, 's>> {
        if tag.wire != WT_LEN {
            return Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::One(WireType::Len),
            ));
        }
        self.delimited()
    }

    /// A message field: `scan` validates its body.
    #[inline(always)]
    pub(super) fn message<T>(
        &mut self,
        tag: Tag,
        scan: impl FnOnce(Reader<'a, 's>) -> Scan<T>,
    ) -> Scan<T> {
        let body = self.len_field(tag)?;
        scan(body)
    }

    /// A `string` field: must be valid UTF-8.
    #[inline(always)]
    pub(super) fn string(&mut self, tag: Tag) -> Scan<()> {
        let body = self.len_field(tag)?;
        utf8(self.slot, body.buf, body.base)
    }

    /// A `bytes` field: any content.
    #[inline(always)]
    pub(super) fn bytes(&mut self, tag: Tag) -> Scan<()> {
        self.len_field(tag).map(|_| ())
    }

    /// A trace id (`len` 16) or span id (`len` 8) `bytes` field.
    #[inline(always)]
    pub(super) fn id(&mut self, tag: Tag, len: u8, rule: IdRule) -> Scan<()> {
        let body = self.len_field(tag)?;
        let got = body.buf.len();
        if got == usize::from(len) {
            if rule == IdRule::Required && body.buf.iter().all(|&b| b == 0) {
                return Err(self.fail(body.base, ErrorKind::ZeroId));
            }
            Ok(())
        } else if got == 0 && rule == IdRule::Optional {
            Ok(())
        } else {
            Err(self.fail(
                body.base,
                ErrorKind::IdLength {
                    expected: len,
                    empty_allowed: rule == IdRule::Optional,
                    got,
                },
            ))
        }
    }

    /// A varint field (`int32`, `uint32`, `sint32`, `uint64`, `bool`, enum). Values are not
    /// range-checked: prost truncates like protobuf does, and enums are open in proto3.
    #[inline(always)]
    pub(super) fn varint_field(&mut self, tag: Tag) -> Scan<()> {
        if tag.wire != WT_VARINT {
            return Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::One(WireType::Varint),
            ));
        }
        self.varint().map(|_| ())
    }

    /// A `fixed64`, `sfixed64` or `double` field.
    #[inline(always)]
    pub(super) fn fixed64(&mut self, tag: Tag) -> Scan<()> {
        if tag.wire != WT_I64 {
            return Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::One(WireType::I64),
            ));
        }
        self.skip_fixed(8)
    }

    /// A `fixed32` field.
    #[inline(always)]
    pub(super) fn fixed32(&mut self, tag: Tag) -> Scan<()> {
        if tag.wire != WT_I32 {
            return Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::One(WireType::I32),
            ));
        }
        self.skip_fixed(4)
    }

    /// A `repeated fixed64` or `repeated double` field: packed (length a multiple of 8) or one
    /// unpacked element, both of which parsers must accept.
    pub(super) fn packed_fixed64(&mut self, tag: Tag) -> Scan<()> {
        match tag.wire {
            WT_LEN => {
                let body = self.delimited()?;
                let len = body.buf.len();
                if len % 8 != 0 {
                    return Err(self.fail(body.base, ErrorKind::PackedLength { len }));
                }
                Ok(())
            }
            WT_I64 => self.skip_fixed(8),
            _ => Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::PackedOr(WireType::I64),
            )),
        }
    }

    /// A `repeated uint64` field: packed (every varint well-formed and inside) or one unpacked
    /// element.
    pub(super) fn packed_varint(&mut self, tag: Tag) -> Scan<()> {
        match tag.wire {
            WT_LEN => {
                let mut body = self.delimited()?;
                while !body.at_end() {
                    body.varint()?;
                }
                Ok(())
            }
            WT_VARINT => self.varint().map(|_| ()),
            _ => Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::PackedOr(WireType::Varint),
            )),
        }
    }

    /// A field the scanner does not know: skipped per protobuf rules, but still well-formed.
    /// Errors get a `#<field number>` path segment.
    #[inline(never)]
    pub(super) fn skip_unknown(&mut self, tag: Tag) -> Scan<()> {
        let result = match tag.wire {
            WT_VARINT => self.varint().map(|_| ()),
            WT_I64 => self.skip_fixed(8),
            WT_LEN => self.delimited().map(|_| ()),
            WT_I32 => self.skip_fixed(4),
            _ => Err(wrong_wire_type(
                self.slot,
                tag,
                Expected::One(WireType::Len),
            )),
        };
        result.at_index(self.slot, FieldName::Unknown, tag.field)
    }
}

/// Checks `buf` (at absolute offset `base`) is UTF-8; the error points at the first bad byte.
#[inline(always)]
fn utf8(slot: &Slot, buf: &[u8], base: usize) -> Scan<()> {
    // Most OTLP strings are short ASCII keys and values: the word-at-a-time ASCII test is
    // cheaper than the general validator's setup for them.
    if buf.is_ascii() {
        return Ok(());
    }
    match core::str::from_utf8(buf) {
        Ok(_) => Ok(()),
        Err(error) => Err(slot.fail(base + error.valid_up_to(), ErrorKind::InvalidUtf8)),
    }
}

/// The error for a known field with the wrong wire type. Group and undefined wire types get
/// their own kinds, since they are wrong for every field.
#[cold]
#[inline(never)]
fn wrong_wire_type(slot: &Slot, tag: Tag, expected: Expected) -> Failed {
    let got = WireType::from_bits(tag.wire);
    let kind = match got {
        WireType::StartGroup | WireType::EndGroup => ErrorKind::GroupWireType(got),
        WireType::Invalid(bits) => ErrorKind::InvalidWireType(bits),
        _ => ErrorKind::WrongWireType { expected, got },
    };
    slot.fail(tag.at, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_like_protobuf() {
        assert_eq!(decode_varint(&[0x00], 0), Ok((0, 1)));
        assert_eq!(decode_varint(&[0x96, 0x01], 0), Ok((150, 2)));
        assert_eq!(decode_varint(&[0xff, 0x96, 0x01], 1), Ok((150, 3)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode_varint(&max, 0), Ok((u64::MAX, 10)));
        // Non-canonical (padded) encodings are valid protobuf.
        assert_eq!(decode_varint(&[0x80, 0x80, 0x00], 0), Ok((0, 3)));
    }

    #[test]
    fn bad_varints_are_refused() {
        assert_eq!(decode_varint(&[], 0), Err(ErrorKind::TruncatedVarint));
        assert_eq!(
            decode_varint(&[0x80, 0x80], 0),
            Err(ErrorKind::TruncatedVarint)
        );
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode_varint(&overflow, 0), Err(ErrorKind::VarintOverflow));
        let long = [0x80; 11];
        assert_eq!(decode_varint(&long, 0), Err(ErrorKind::VarintTooLong));
        // Ten continuation bytes are too long even when the input ends there.
        assert_eq!(decode_varint(&[0x80; 10], 0), Err(ErrorKind::VarintTooLong));
    }

    #[test]
    fn tags_reject_field_zero_and_wide_keys() {
        let slot = Slot::new();
        let mut r = Reader::new(&[0x07], 0, 100, &slot);
        assert_eq!(r.tag().unwrap_err(), Failed);
        let e = slot.error();
        assert_eq!((e.offset(), e.kind()), (100, ErrorKind::FieldNumberZero));
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10], 0, 0, &slot);
        assert!(r.tag().is_err());
        assert_eq!(slot.error().kind(), ErrorKind::TagTooLarge);
        // The largest field number, 2^29 - 1, with wire type 5.
        let mut r = Reader::new(&[0xfd, 0xff, 0xff, 0xff, 0x0f], 0, 0, &slot);
        let tag = r.tag().unwrap();
        assert_eq!((tag.field, tag.wire), ((1 << 29) - 1, 5));
    }

    #[test]
    fn lengths_stay_inside_the_message() {
        let slot = Slot::new();
        let mut r = Reader::new(&[0x0a, 0x03, b'a', b'b'], 0, 10, &slot);
        let tag = r.tag().unwrap();
        assert!(r.string(tag).is_err());
        let e = slot.error();
        assert_eq!(e.offset(), 11);
        assert_eq!(
            e.kind(),
            ErrorKind::LengthPastEnd {
                len: 3,
                available: 2
            }
        );
    }

    #[test]
    fn utf8_errors_point_at_the_bad_byte() {
        let slot = Slot::new();
        let mut r = Reader::new(&[0x0a, 0x03, b'a', 0xff, b'b'], 0, 0, &slot);
        let tag = r.tag().unwrap();
        assert!(r.string(tag).is_err());
        let e = slot.error();
        assert_eq!((e.offset(), e.kind()), (3, ErrorKind::InvalidUtf8));
    }
}
