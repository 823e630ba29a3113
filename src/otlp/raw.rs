//! Protobuf fields delimited by tags and lengths only, without validation: the lenient walk
//! of the partial-success path, and the data points of an already validated metric.
#![forbid(unsafe_code)]

use crate::wire::fields::{WT_I32, WT_I64, WT_LEN, WT_VARINT};

/// One field, delimited but not validated.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawField<'a> {
    pub(super) number: u32,
    pub(super) wire: u8,
    /// Tag included.
    pub(super) raw: &'a [u8],
    /// The body of a `LEN` field; the value bytes otherwise.
    pub(super) value: &'a [u8],
}

/// Fields of `buf` by tags and lengths only; yields one `Err` at broken framing, then stops.
#[derive(Debug, Clone)]
pub(super) struct RawFields<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> RawFields<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        RawFields {
            buf,
            pos: 0,
            done: false,
        }
    }

    fn field(&mut self) -> Option<RawField<'a>> {
        let start = self.pos;
        let key = varint(self.buf, &mut self.pos)?;
        let number = u32::try_from(key >> 3).ok().filter(|&n| n != 0)?;
        let wire = (key & 7) as u8;
        let value_start;
        match wire {
            WT_VARINT => {
                value_start = self.pos;
                varint(self.buf, &mut self.pos)?;
            }
            WT_I64 | WT_I32 => {
                value_start = self.pos;
                self.pos = self.pos.checked_add(if wire == WT_I64 { 8 } else { 4 })?;
            }
            WT_LEN => {
                let len = usize::try_from(varint(self.buf, &mut self.pos)?).ok()?;
                value_start = self.pos;
                self.pos = self.pos.checked_add(len)?;
            }
            _ => return None,
        }
        Some(RawField {
            number,
            wire,
            raw: self.buf.get(start..self.pos)?,
            value: self.buf.get(value_start..self.pos)?,
        })
    }
}

impl<'a> Iterator for RawFields<'a> {
    type Item = Result<RawField<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.buf.len() {
            return None;
        }
        match self.field() {
            Some(f) => Some(Ok(f)),
            None => {
                self.done = true;
                Some(Err(()))
            }
        }
    }
}

/// The well-framed fields of `buf`, up to the first broken one.
pub(super) fn lenient_fields(buf: &[u8]) -> impl Iterator<Item = RawField<'_>> {
    RawFields::new(buf).map_while(Result::ok)
}

/// Bodies of the `LEN` fields numbered `number`, up to broken framing.
pub(super) fn lenient_len_fields(buf: &[u8], number: u32) -> impl Iterator<Item = &[u8]> {
    lenient_fields(buf)
        .filter(move |f| f.number == number && f.wire == WT_LEN)
        .map(|f| f.value)
}

pub(super) fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}
