//! A small bounds-checked protobuf reader over borrowed bytes.
//!
//! [`Reader::next`] yields one [`Field`] at a time: its number, its wire type and value, and
//! where it sits in the record. Length-delimited values are borrowed sub-slices, so nothing is
//! copied or allocated. Every read is checked against the end of the enclosing message and
//! fails with a [`DecodeError`] carrying the absolute offset inside the record; nothing here
//! indexes unchecked or panics.
//!
//! Semantics follow prost (the reference decoder the tests compare against): varints are at
//! most 10 bytes; a key above `u32::MAX` or with field number 0 is an error; wire types 6 and 7
//! are errors; groups (wire types 3/4, deprecated) are skipped as a whole when unknown, up to
//! prost's nesting limit of 100; a known field with the wrong wire type is an error (the typed
//! accessors on [`Field`]); integer narrowing (`uint32`, `int32`, enums) truncates like prost.
#![forbid(unsafe_code)]

use super::error::{DecodeError, DecodeErrorKind as K};
use crate::wire::fields::{WT_EGROUP, WT_I32, WT_I64, WT_LEN, WT_SGROUP, WT_VARINT};

/// prost's recursion limit, applied to nested groups.
const GROUP_DEPTH_LIMIT: u32 = 100;

/// The value of one field, by wire type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (`fixed64`, `sfixed64`, `double`).
    I64(u64),
    /// Wire type 2; `at` is the absolute offset of `data[0]` in the record.
    Len { data: &'a [u8], at: usize },
    /// Wire type 5 (`fixed32`, `sfixed32`, `float`).
    I32(u32),
    /// A whole group (wire type 3 to its matching 4), already skipped.
    Group,
}

/// One field read from a message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    /// Field number (1 ..= 2^29 - 1).
    pub(crate) num: u32,
    pub(crate) wire: Wire<'a>,
    /// Absolute offset of the field's key in the record.
    pub(crate) at: usize,
}

impl<'a> Field<'a> {
    #[inline]
    fn wrong(&self, what: &'static str) -> DecodeError {
        DecodeError::new(K::WrongWireType, self.at, what)
    }

    /// A varint field (`uint64`, `int64`, `uint32`, `int32`, enums, `bool`).
    #[inline]
    pub(crate) fn varint(&self, what: &'static str) -> Result<u64, DecodeError> {
        match self.wire {
            Wire::Varint(v) => Ok(v),
            _ => Err(self.wrong(what)),
        }
    }

    /// `uint32`, truncated from the varint like prost does.
    #[inline]
    pub(crate) fn uint32(&self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(self.varint(what)? as u32)
    }

    /// `int32` or an enum, truncated from the varint like prost does.
    #[inline]
    pub(crate) fn int32(&self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(self.varint(what)? as i32)
    }

    /// `sint32` (zigzag), truncated like prost does.
    #[inline]
    pub(crate) fn sint32(&self, what: &'static str) -> Result<i32, DecodeError> {
        let v = self.varint(what)? as u32;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// `bool`: any non-zero varint is true (prost).
    #[inline]
    pub(crate) fn bool(&self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.varint(what)? != 0)
    }

    /// `fixed64` / `sfixed64` bits.
    #[inline]
    pub(crate) fn fixed64(&self, what: &'static str) -> Result<u64, DecodeError> {
        match self.wire {
            Wire::I64(v) => Ok(v),
            _ => Err(self.wrong(what)),
        }
    }

    /// `double`.
    #[inline]
    pub(crate) fn double(&self, what: &'static str) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.fixed64(what)?))
    }

    /// `fixed32`.
    #[inline]
    pub(crate) fn fixed32(&self, what: &'static str) -> Result<u32, DecodeError> {
        match self.wire {
            Wire::I32(v) => Ok(v),
            _ => Err(self.wrong(what)),
        }
    }

    /// `bytes`.
    #[inline]
    pub(crate) fn bytes(&self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.wire {
            Wire::Len { data, .. } => Ok(data),
            _ => Err(self.wrong(what)),
        }
    }

    /// `string`: checked UTF-8.
    #[inline]
    pub(crate) fn str(&self, what: &'static str) -> Result<Text<'a>, DecodeError> {
        match self.wire {
            Wire::Len { data, at } => {
                Text::new(data).ok_or(DecodeError::new(K::InvalidUtf8, at, what))
            }
            _ => Err(self.wrong(what)),
        }
    }

    /// An embedded message, as a reader over its bytes.
    #[inline]
    pub(crate) fn message(&self, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        match self.wire {
            Wire::Len { data, at } => Ok(Reader::new_at(data, at, what)),
            _ => Err(self.wrong(what)),
        }
    }

    /// An id: `Ok(None)` when empty, `Ok(Some)` when exactly `N` bytes, else an error.
    #[inline]
    pub(crate) fn id<const N: usize>(
        &self,
        what: &'static str,
    ) -> Result<Option<&'a [u8; N]>, DecodeError> {
        let data = self.bytes(what)?;
        if data.is_empty() {
            return Ok(None);
        }
        match data.try_into() {
            Ok(id) => Ok(Some(id)),
            Err(_) => Err(DecodeError::new(K::InvalidIdLength, self.at, what)),
        }
    }

    /// Each element of a repeated `fixed64` / `double`, packed (one length-delimited run) or
    /// not (one field per element): protobuf parsers must accept both.
    #[inline]
    pub(crate) fn each_fixed64(
        &self,
        what: &'static str,
        mut f: impl FnMut(u64),
    ) -> Result<(), DecodeError> {
        match self.wire {
            Wire::I64(v) => f(v),
            Wire::Len { data, at } => {
                let chunks = data.chunks_exact(8);
                if !chunks.remainder().is_empty() {
                    return Err(DecodeError::new(K::InvalidPackedLength, at, what));
                }
                for c in chunks {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f(u64::from_le_bytes(b));
                }
            }
            _ => return Err(self.wrong(what)),
        }
        Ok(())
    }

    /// Each element of a repeated varint (`uint64`), packed or not.
    #[inline]
    pub(crate) fn each_varint(
        &self,
        what: &'static str,
        mut f: impl FnMut(u64),
    ) -> Result<(), DecodeError> {
        match self.wire {
            Wire::Varint(v) => f(v),
            Wire::Len { data, at } => {
                let mut r = Reader::new_at(data, at, what);
                while !r.is_empty() {
                    f(r.varint()?);
                }
            }
            _ => return Err(self.wrong(what)),
        }
        Ok(())
    }
}

/// Borrowed bytes known to be UTF-8: what a `string` field reads as.
///
/// Only [`Text::new`] (which validates) and [`Text::from_str`] make one, so a column fed only
/// `Text` holds only UTF-8. Validating returns bytes rather than `&str` so the common ASCII
/// case costs one inlined word-at-a-time scan instead of a `str::from_utf8` call per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    /// The empty string (a `string` field's proto3 default).
    pub(crate) const EMPTY: Text<'static> = Text(b"");

    /// `bytes` if they are UTF-8.
    #[inline(always)]
    pub(crate) fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.is_ascii() || core::str::from_utf8(bytes).is_ok() {
            Some(Text(bytes))
        } else {
            None
        }
    }

    /// A `&str` (UTF-8 by construction).
    pub(crate) const fn from_str(s: &'a str) -> Self {
        Text(s.as_bytes())
    }

    /// The UTF-8 bytes.
    #[inline(always)]
    pub(crate) fn bytes(self) -> &'a [u8] {
        self.0
    }
}

/// A cursor over the fields of one protobuf message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Absolute offset of `buf[0]` in the record, for error messages.
    base: usize,
    /// The message being read, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over a whole record.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader::new_at(buf, 0, what)
    }

    /// A reader over `buf`, which starts at absolute offset `base` in the record.
    #[inline]
    pub(crate) fn new_at(buf: &'a [u8], base: usize, what: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            what,
        }
    }

    /// The same message, from its first field again.
    #[inline]
    pub(crate) fn rewind(&self) -> Self {
        Reader { pos: 0, ..*self }
    }

    /// The fields from `field` (which this reader, or a copy of it, returned) to the end.
    #[inline]
    pub(crate) fn starting_at(&self, field: &Field<'a>) -> Self {
        let pos = field.at.saturating_sub(self.base).min(self.buf.len());
        Reader { pos, ..*self }
    }

    /// The bytes not read yet.
    #[inline(always)]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn err(&self, kind: K, pos: usize) -> DecodeError {
        DecodeError::new(kind, self.base + pos, self.what)
    }

    /// One varint.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b))
            }
            _ => self.varint_slow(),
        }
    }

    #[cold]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(start + i) else {
                return Err(self.err(K::Truncated, start));
            };
            // The 10th byte holds bit 63 only: more is an overflow (prost rejects it too).
            if i == 9 && b > 1 {
                return Err(self.err(K::InvalidVarint, start));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.pos = start + i + 1;
                return Ok(v);
            }
        }
        Err(self.err(K::InvalidVarint, start))
    }

    #[inline(always)]
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos.saturating_add(N);
        match self.buf.get(self.pos..end) {
            Some(s) => {
                let mut b = [0u8; N];
                b.copy_from_slice(s);
                self.pos = end;
                Ok(b)
            }
            None => Err(self.err(K::Truncated, self.pos)),
        }
    }

    /// A key: `(field number, wire type)`.
    #[inline(always)]
    fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let at = self.pos;
        let key = self.varint()?;
        let Ok(key) = u32::try_from(key) else {
            return Err(self.err(K::InvalidTag, at));
        };
        let num = key >> 3;
        if num == 0 {
            return Err(self.err(K::InvalidTag, at));
        }
        Ok((num, (key & 7) as u8))
    }

    #[inline(always)]
    fn len_delimited(&mut self) -> Result<Wire<'a>, DecodeError> {
        let at = self.pos;
        let len = self.varint()?;
        let rest = self.buf.len() - self.pos.min(self.buf.len());
        if len > rest as u64 {
            return Err(self.err(K::Truncated, at));
        }
        let start = self.pos;
        let end = start + len as usize;
        let Some(data) = self.buf.get(start..end) else {
            return Err(self.err(K::Truncated, at));
        };
        self.pos = end;
        Ok(Wire::Len {
            data,
            at: self.base + start,
        })
    }

    /// Skips a group whose start key (field `num`) was just read, through its matching end.
    fn skip_group(&mut self, num: u32, depth: u32) -> Result<(), DecodeError> {
        let start = self.pos;
        if depth >= GROUP_DEPTH_LIMIT {
            return Err(self.err(K::InvalidWireType, start));
        }
        loop {
            if self.is_empty() {
                return Err(self.err(K::Truncated, start));
            }
            let at = self.pos;
            let (inner, wt) = self.key()?;
            match wt {
                WT_EGROUP if inner == num => return Ok(()),
                WT_EGROUP => return Err(self.err(K::InvalidWireType, at)),
                WT_SGROUP => self.skip_group(inner, depth + 1)?,
                _ => {
                    self.value(wt, at)?;
                }
            }
        }
    }

    /// Reads the value of a non-group wire type.
    #[inline(always)]
    fn value(&mut self, wt: u8, at: usize) -> Result<Wire<'a>, DecodeError> {
        // An if-chain, most frequent first, rather than a `match`: inlined into each field
        // loop, its branches predict well per call site, where a jump table mispredicts
        // whenever consecutive fields change wire type.
        if wt == WT_LEN {
            self.len_delimited()
        } else if wt == WT_VARINT {
            Ok(Wire::Varint(self.varint()?))
        } else if wt == WT_I64 {
            Ok(Wire::I64(u64::from_le_bytes(self.fixed()?)))
        } else if wt == WT_I32 {
            Ok(Wire::I32(u32::from_le_bytes(self.fixed()?)))
        } else {
            Err(self.err(K::InvalidWireType, at))
        }
    }

    /// The next field, or `None` at the end of the message.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)] // fallible, so not an `Iterator`
    pub(crate) fn next(&mut self) -> Result<Option<Field<'a>>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let at = self.pos;
        let (num, wt) = self.key()?;
        let wire = if wt == WT_SGROUP {
            self.skip_group(num, 0)?;
            Wire::Group
        } else {
            self.value(wt, at)?
        };
        Ok(Some(Field {
            num,
            wire,
            at: self.base + at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, String)>, DecodeError> {
        let mut r = Reader::new(buf, "test");
        let mut out = Vec::new();
        while let Some(f) = r.next()? {
            out.push((f.num, format!("{:?}", f.wire)));
        }
        Ok(out)
    }

    #[test]
    fn reads_each_wire_type() {
        // 1: varint 150; 2: fixed64 1; 3: "hi"; 4: fixed32 7
        let buf = [
            0x08, 0x96, 0x01, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1a, 2, b'h', b'i', 0x25, 7, 0, 0, 0,
        ];
        let mut r = Reader::new(&buf, "t");
        let f = r.next().unwrap().unwrap();
        assert_eq!((f.num, f.varint("").unwrap(), f.at), (1, 150, 0));
        let f = r.next().unwrap().unwrap();
        assert_eq!((f.num, f.fixed64("").unwrap()), (2, 1));
        let f = r.next().unwrap().unwrap();
        assert_eq!(
            (f.num, f.str("").unwrap().bytes(), f.at),
            (3, &b"hi"[..], 12)
        );
        let f = r.next().unwrap().unwrap();
        assert_eq!((f.num, f.fixed32("").unwrap()), (4, 7));
        assert!(r.next().unwrap().is_none());
    }

    #[test]
    fn varint_limits() {
        // u64::MAX: nine 0xff then 0x01.
        let mut max = vec![0x08];
        max.extend([0xff; 9]);
        max.push(0x01);
        let mut r = Reader::new(&max, "t");
        assert_eq!(r.next().unwrap().unwrap().varint("").unwrap(), u64::MAX);
        // 10th byte 0x02 overflows.
        *max.last_mut().unwrap() = 0x02;
        let e = fields(&max).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (K::InvalidVarint, 1));
        // 11 bytes.
        let mut long = vec![0x08];
        long.extend([0x80; 10]);
        long.push(0);
        assert_eq!(fields(&long).unwrap_err().kind(), K::InvalidVarint);
        // Runs off the end.
        assert_eq!(fields(&[0x08, 0x80]).unwrap_err().kind(), K::Truncated);
    }

    #[test]
    fn bad_keys_and_wire_types() {
        assert_eq!(fields(&[0x00, 0]).unwrap_err().kind(), K::InvalidTag);
        assert_eq!(fields(&[0x0e]).unwrap_err().kind(), K::InvalidWireType);
        assert_eq!(fields(&[0x0f]).unwrap_err().kind(), K::InvalidWireType);
        // A key above u32::MAX.
        assert_eq!(
            fields(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
                .unwrap_err()
                .kind(),
            K::InvalidTag
        );
        // Unmatched end group.
        assert_eq!(fields(&[0x0c]).unwrap_err().kind(), K::InvalidWireType);
    }

    #[test]
    fn lengths_are_bounded() {
        assert_eq!(fields(&[0x0a, 3, 1, 2]).unwrap_err().kind(), K::Truncated);
        let mut huge = vec![0x0a];
        huge.extend([0xff; 9]);
        huge.push(0x01);
        assert_eq!(fields(&huge).unwrap_err().kind(), K::Truncated);
        assert_eq!(fields(&[0x11, 1, 2]).unwrap_err().kind(), K::Truncated);
        assert_eq!(fields(&[0x15, 1, 2]).unwrap_err().kind(), K::Truncated);
    }

    #[test]
    fn groups_are_skipped_whole_and_must_match() {
        // field 1 start group { field 2 varint 5, field 3 start { } end 3 } end 1, field 4 varint 1
        let buf = [0x0b, 0x10, 5, 0x1b, 0x1c, 0x0c, 0x20, 1];
        let got = fields(&buf).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[0].1.as_str()), (1, "Group"));
        assert_eq!(got[1].0, 4);
        // Mismatched end.
        assert_eq!(
            fields(&[0x0b, 0x14]).unwrap_err().kind(),
            K::InvalidWireType
        );
        // Never closed.
        assert_eq!(fields(&[0x0b, 0x10, 5]).unwrap_err().kind(), K::Truncated);
        // Too deep.
        let deep = vec![0x0b; 200];
        assert_eq!(fields(&deep).unwrap_err().kind(), K::InvalidWireType);
    }

    #[test]
    fn typed_accessors_check_wire_type_and_content() {
        let mut r = Reader::new(&[0x08, 1], "t");
        let f = r.next().unwrap().unwrap();
        assert_eq!(f.bytes("x").unwrap_err().kind(), K::WrongWireType);
        assert_eq!(f.fixed64("x").unwrap_err().kind(), K::WrongWireType);
        let mut r = Reader::new(&[0x0a, 2, 0xc3, 0x28], "t");
        let f = r.next().unwrap().unwrap();
        let e = f.str("s").unwrap_err();
        assert_eq!(
            (e.kind(), e.offset(), e.context()),
            (K::InvalidUtf8, 2, "s")
        );
        let mut r = Reader::new(&[0x0a, 3, 1, 2, 3], "t");
        let f = r.next().unwrap().unwrap();
        assert_eq!(f.id::<8>("id").unwrap_err().kind(), K::InvalidIdLength);
        assert_eq!(
            f.each_fixed64("p", |_| {}).unwrap_err().kind(),
            K::InvalidPackedLength
        );
        let mut n = Vec::new();
        f.each_varint("p", |v| n.push(v)).unwrap();
        assert_eq!(n, [1, 2, 3]);
        let mut r = Reader::new(&[0x0a, 0], "t");
        assert_eq!(r.next().unwrap().unwrap().id::<8>("id").unwrap(), None);
        // sint32 zigzag
        for (raw, want) in [(0u8, 0i32), (1, -1), (2, 1), (3, -2)] {
            let b = [0x08, raw];
            let mut r = Reader::new(&b, "t");
            assert_eq!(r.next().unwrap().unwrap().sint32("").unwrap(), want);
        }
    }

    #[test]
    fn starting_at_and_rewind() {
        let buf = [0x08, 1, 0x10, 2, 0x18, 3];
        let base = Reader::new_at(&buf, 100, "t");
        let mut r = base;
        r.next().unwrap();
        let second = r.next().unwrap().unwrap();
        assert_eq!(second.at, 102);
        let mut again = base.starting_at(&second);
        assert_eq!(again.next().unwrap().unwrap().num, 2);
        let mut start = again.rewind();
        assert_eq!(start.next().unwrap().unwrap().num, 1);
    }
}
