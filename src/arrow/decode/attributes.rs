//! `AnyValue` and `Map<Utf8, AnyValue>` columns, filled straight from `KeyValue` bytes.
//!
//! An `AnyValue` column is stored *sparse by type* while appending: a `type` tag per value
//! plus one compact column per kind holding only the values of that kind. So appending a value
//! costs one tag and one value push instead of eight (the schema's struct has one member per
//! kind, seven of them null in every row). `finish` expands the compact columns into the
//! schema's dense struct members; the string and binary members keep their compact data
//! buffers as they are (only the offsets are expanded), so no value bytes are copied twice.
//!
//! Nested `ArrayValue` / `KeyValueList` values are not parsed: their protobuf bytes are kept
//! verbatim in `array_value` / `kvlist_value` (the schema's contract), so they round-trip
//! exactly. They are not validated here either: a malformed nested value would cost only that
//! value (its reader's protobuf decoder rejects it), not the whole record.
//!
//! Protobuf merge semantics as prost applies them: a `KeyValue` whose `value` occurs twice
//! merges the two `AnyValue`s; inside the `oneof`, a later member replaces an earlier one,
//! except that two `array_value`s (or two `kvlist_value`s) in a row merge, which for their
//! bytes is concatenation (the protobuf encoding of a merged message). Only that rare case
//! copies bytes, into a reused scratch buffer. `string_value_strindex` (field 8, profiles
//! only) has no column; as the OTLP spec asks of non-profiling receivers, it is treated as if
//! the value were empty (type tag 0).
#![forbid(unsafe_code)]

use std::sync::Arc;

use arrow_array::types::{Float64Type, Int64Type, UInt8Type};
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, MapArray, PrimitiveArray, StructArray};
use arrow_buffer::{
    BooleanBuffer, BooleanBufferBuilder, Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer,
    ScalarBuffer,
};
use arrow_schema::{DataType, FieldRef, Fields};

use super::columns::{Column, Offsets, Strs, VarBytes, Zeros, columns, take_nulls, take_vec};
use super::error::DecodeError;
use super::reader::{Reader, Text};
use crate::arrow::schema::{self, value_type as tag};
use crate::wire::fields::{any_value as av, key_value as kv};

/// A borrowed `AnyValue`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AnyRef<'a> {
    /// An `AnyValue` with no member set.
    Empty,
    Str(Text<'a>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
    /// `ArrayValue` protobuf bytes.
    Array(&'a [u8]),
    /// `KeyValueList` protobuf bytes.
    Kvlist(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
enum FoldState<'a> {
    /// No occurrence of the `AnyValue` field at all.
    Absent,
    Set(AnyRef<'a>),
    /// Merged `array_value` pieces, in the scratch buffer.
    MergedArray,
    /// Merged `kvlist_value` pieces, in the scratch buffer.
    MergedKvlist,
}

/// Folds one or more occurrences of an `AnyValue` field into the value prost would decode.
#[derive(Debug)]
pub(crate) struct AnyFold<'a, 'b> {
    buf: &'b mut Vec<u8>,
    state: FoldState<'a>,
}

impl<'a: 'b, 'b> AnyFold<'a, 'b> {
    /// A fold that uses `buf` (cleared as needed) for the rare merged nested value.
    #[inline]
    pub(crate) fn new(buf: &'b mut Vec<u8>) -> Self {
        AnyFold {
            buf,
            state: FoldState::Absent,
        }
    }

    /// Merges one occurrence (the `AnyValue` message bytes).
    #[inline]
    pub(crate) fn feed(&mut self, mut r: Reader<'a>) -> Result<(), DecodeError> {
        if let FoldState::Absent = self.state {
            self.state = FoldState::Set(AnyRef::Empty);
        }
        while let Some(f) = r.next()? {
            let v = match f.num {
                av::STRING_VALUE => AnyRef::Str(f.str("AnyValue.string_value")?),
                av::BOOL_VALUE => AnyRef::Bool(f.bool("AnyValue.bool_value")?),
                av::INT_VALUE => AnyRef::Int(f.varint("AnyValue.int_value")? as i64),
                av::DOUBLE_VALUE => AnyRef::Double(f.double("AnyValue.double_value")?),
                av::BYTES_VALUE => AnyRef::Bytes(f.bytes("AnyValue.bytes_value")?),
                STRING_VALUE_STRINDEX => {
                    f.int32("AnyValue.string_value_strindex")?;
                    AnyRef::Empty
                }
                av::ARRAY_VALUE => {
                    let piece = f.bytes("AnyValue.array_value")?;
                    self.state = match self.state {
                        FoldState::Set(AnyRef::Array(prev)) => {
                            self.buf.clear();
                            self.buf.extend_from_slice(prev);
                            self.buf.extend_from_slice(piece);
                            FoldState::MergedArray
                        }
                        FoldState::MergedArray => {
                            self.buf.extend_from_slice(piece);
                            FoldState::MergedArray
                        }
                        _ => FoldState::Set(AnyRef::Array(piece)),
                    };
                    continue;
                }
                av::KVLIST_VALUE => {
                    let piece = f.bytes("AnyValue.kvlist_value")?;
                    self.state = match self.state {
                        FoldState::Set(AnyRef::Kvlist(prev)) => {
                            self.buf.clear();
                            self.buf.extend_from_slice(prev);
                            self.buf.extend_from_slice(piece);
                            FoldState::MergedKvlist
                        }
                        FoldState::MergedKvlist => {
                            self.buf.extend_from_slice(piece);
                            FoldState::MergedKvlist
                        }
                        _ => FoldState::Set(AnyRef::Kvlist(piece)),
                    };
                    continue;
                }
                _ => continue,
            };
            self.state = FoldState::Set(v);
        }
        Ok(())
    }

    /// The value, or `None` if the field never occurred.
    #[inline]
    pub(crate) fn finish(self) -> Option<AnyRef<'b>> {
        let buf: &'b Vec<u8> = self.buf;
        match self.state {
            FoldState::Absent => None,
            FoldState::Set(v) => Some(v),
            FoldState::MergedArray => Some(AnyRef::Array(buf)),
            FoldState::MergedKvlist => Some(AnyRef::Kvlist(buf)),
        }
    }
}

/// `AnyValue.string_value_strindex` (profiles only; not in `crate::wire::fields`).
const STRING_VALUE_STRINDEX: u32 = 8;

/// `KeyValue.key_strindex` (profiles only; not in `crate::wire::fields`).
const KEY_STRINDEX: u32 = 3;

/// Parses one `KeyValue`: its key and (merged) value, `None` when the value is absent.
#[inline(always)]
pub(crate) fn parse_kv<'a: 'b, 'b>(
    r: Reader<'a>,
    buf: &'b mut Vec<u8>,
) -> Result<(Text<'a>, Option<AnyRef<'b>>), DecodeError> {
    match parse_kv_canonical(r.rest()) {
        Some(kv) => Ok(kv),
        None => parse_kv_general(r, buf),
    }
}

/// The `KeyValue` layout every encoder produces for short attributes: `key` then one `value`
/// holding one member, each with a one-byte length, nothing else. Decoded with a few slice
/// patterns instead of the general field loop (attributes are most of the fields of every
/// signal). Anything else, valid or not, returns `None` and takes the general path, which is
/// the reference for both semantics and errors; for what this accepts both give the same.
#[inline(always)]
fn parse_kv_canonical(b: &[u8]) -> Option<(Text<'_>, Option<AnyRef<'_>>)> {
    let [0x0a, klen, rest @ ..] = b else {
        return None;
    };
    if *klen >= 0x80 {
        return None;
    }
    let (key, rest) = rest.split_at_checked(usize::from(*klen))?;
    let key = Text::new(key)?;
    let value = match rest {
        [] => None,
        [0x12, vlen, v @ ..] if *vlen < 0x80 && usize::from(*vlen) == v.len() => {
            Some(any_value_canonical(v)?)
        }
        _ => return None,
    };
    Some((key, value))
}

/// One `AnyValue` member with a one-byte length (or an empty `AnyValue`), nothing else.
#[inline(always)]
fn any_value_canonical(v: &[u8]) -> Option<AnyRef<'_>> {
    // Keys: field << 3 | wire type.
    const STRING: u8 = (av::STRING_VALUE as u8) << 3 | 2;
    const BOOL: u8 = (av::BOOL_VALUE as u8) << 3;
    const INT: u8 = (av::INT_VALUE as u8) << 3;
    const DOUBLE: u8 = (av::DOUBLE_VALUE as u8) << 3 | 1;
    const ARRAY: u8 = (av::ARRAY_VALUE as u8) << 3 | 2;
    const KVLIST: u8 = (av::KVLIST_VALUE as u8) << 3 | 2;
    const BYTES: u8 = (av::BYTES_VALUE as u8) << 3 | 2;
    let delimited = |n: u8, rest: &[u8]| n < 0x80 && usize::from(n) == rest.len();
    Some(match v {
        [] => AnyRef::Empty,
        [STRING, n, s @ ..] if delimited(*n, s) => AnyRef::Str(Text::new(s)?),
        [BOOL, x] if *x < 0x80 => AnyRef::Bool(*x != 0),
        [INT, rest @ ..] => AnyRef::Int(varint_exact(rest)? as i64),
        [DOUBLE, d @ ..] => AnyRef::Double(f64::from_le_bytes(d.try_into().ok()?)),
        [BYTES, n, s @ ..] if delimited(*n, s) => AnyRef::Bytes(s),
        [ARRAY, n, s @ ..] if delimited(*n, s) => AnyRef::Array(s),
        [KVLIST, n, s @ ..] if delimited(*n, s) => AnyRef::Kvlist(s),
        _ => return None,
    })
}

/// A varint that is exactly `b` (no bytes left over), within prost's 10-byte rule.
#[inline(always)]
fn varint_exact(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate().take(10) {
        if i == 9 && x > 1 {
            return None;
        }
        v |= u64::from(x & 0x7f) << (7 * i);
        if x < 0x80 {
            return (i + 1 == b.len()).then_some(v);
        }
    }
    None
}

/// The general `KeyValue` parse: any field order, repeats, unknown fields.
#[inline(never)]
fn parse_kv_general<'a: 'b, 'b>(
    mut r: Reader<'a>,
    buf: &'b mut Vec<u8>,
) -> Result<(Text<'a>, Option<AnyRef<'b>>), DecodeError> {
    let mut key = Text::EMPTY;
    let mut fold = AnyFold::new(buf);
    while let Some(f) = r.next()? {
        match f.num {
            kv::KEY => key = f.str("KeyValue.key")?,
            kv::VALUE => fold.feed(f.message("AnyValue")?)?,
            // Profiles only; no column. Checked like prost checks it, then ignored.
            KEY_STRINDEX => {
                f.int32("KeyValue.key_strindex")?;
            }
            _ => {}
        }
    }
    Ok((key, fold.finish()))
}

/// An `AnyValue` struct column (sparse by type until `finish`).
#[derive(Debug)]
pub(crate) struct AnyCol {
    /// One per value; 0 also for a null value.
    tags: Vec<u8>,
    /// Struct-level validity (a `KeyValue` without value, an absent log body).
    nulls: NullBufferBuilder,
    strs: VarBytes,
    bools: BooleanBufferBuilder,
    ints: Vec<i64>,
    doubles: Vec<f64>,
    bytes: VarBytes,
    arrays: VarBytes,
    kvlists: VarBytes,
    /// Committed lengths of `tags`, `bools`, `ints`, `doubles`.
    committed: [usize; 4],
    fields: Fields,
    zeros: Zeros,
}

impl Default for AnyCol {
    fn default() -> Self {
        AnyCol {
            tags: Vec::new(),
            nulls: NullBufferBuilder::new(0),
            strs: VarBytes::default(),
            bools: BooleanBufferBuilder::new(0),
            ints: Vec::new(),
            doubles: Vec::new(),
            bytes: VarBytes::default(),
            arrays: VarBytes::default(),
            kvlists: VarBytes::default(),
            committed: [0; 4],
            fields: schema::any_value_fields(),
            zeros: Zeros::default(),
        }
    }
}

/// Where an [`AnyCol`] stands: the length of each of its parts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AnyMark {
    tags: usize,
    strs: usize,
    bools: usize,
    ints: usize,
    doubles: usize,
    bytes: usize,
    arrays: usize,
    kvlists: usize,
}

impl AnyCol {
    fn mark(&self) -> AnyMark {
        AnyMark {
            tags: self.tags.len(),
            strs: self.strs.len(),
            bools: self.bools.len(),
            ints: self.ints.len(),
            doubles: self.doubles.len(),
            bytes: self.bytes.len(),
            arrays: self.arrays.len(),
            kvlists: self.kvlists.len(),
        }
    }

    /// Appends again the values between two marks (taken in order on this column).
    fn extend_within(&mut self, a: &AnyMark, b: &AnyMark) {
        if a.tags > b.tags || b.tags > self.tags.len() {
            return;
        }
        self.tags.extend_from_within(a.tags..b.tags);
        if self.nulls.as_slice().is_none() {
            // No null so far (no bitmap yet): the copies are valid too.
            self.nulls.append_n_non_nulls(b.tags - a.tags);
        } else {
            for i in a.tags..b.tags {
                let valid = self.nulls.is_valid(i);
                self.nulls.append(valid);
            }
        }
        self.strs.extend_within(a.strs, b.strs);
        for i in a.bools..b.bools.min(self.bools.len()) {
            let bit = self.bools.get_bit(i);
            self.bools.append(bit);
        }
        if a.ints <= b.ints && b.ints <= self.ints.len() {
            self.ints.extend_from_within(a.ints..b.ints);
        }
        if a.doubles <= b.doubles && b.doubles <= self.doubles.len() {
            self.doubles.extend_from_within(a.doubles..b.doubles);
        }
        self.bytes.extend_within(a.bytes, b.bytes);
        self.arrays.extend_within(a.arrays, b.arrays);
        self.kvlists.extend_within(a.kvlists, b.kvlists);
    }

    /// Appends a value, or a null for `None`.
    #[inline]
    pub(crate) fn push(&mut self, v: Option<AnyRef<'_>>) {
        let Some(v) = v else {
            self.tags.push(tag::EMPTY);
            self.nulls.append_null();
            return;
        };
        self.nulls.append_non_null();
        let t = match v {
            AnyRef::Empty => tag::EMPTY,
            AnyRef::Str(s) => {
                self.strs.push(s.bytes());
                tag::STRING
            }
            AnyRef::Bool(b) => {
                self.bools.append(b);
                tag::BOOL
            }
            AnyRef::Int(i) => {
                self.ints.push(i);
                tag::INT
            }
            AnyRef::Double(d) => {
                self.doubles.push(d);
                tag::DOUBLE
            }
            AnyRef::Bytes(b) => {
                self.bytes.push(b);
                tag::BYTES
            }
            AnyRef::Array(b) => {
                self.arrays.push(b);
                tag::ARRAY
            }
            AnyRef::Kvlist(b) => {
                self.kvlists.push(b);
                tag::KVLIST
            }
        };
        self.tags.push(t);
    }

    /// Values appended so far.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.tags.len()
    }

    /// The dense `AnyValue` struct; the column is empty and reusable afterwards.
    pub(crate) fn finish(&mut self) -> StructArray {
        self.committed = [0; 4];
        let tags = take_vec(&mut self.tags);
        let n = tags.len();
        let (offsets, data, nulls) =
            expand_var(&tags, tag::STRING, &mut self.strs, &mut self.zeros);
        let string = super::strings::utf8_array(offsets, data, nulls);
        let boolean = self.finish_bools(&tags);
        let ints = expand_dense(&tags, tag::INT, &mut self.ints, &mut self.zeros);
        let doubles = expand_dense(&tags, tag::DOUBLE, &mut self.doubles, &mut self.zeros);
        let (offsets, data, nulls) =
            expand_var(&tags, tag::BYTES, &mut self.bytes, &mut self.zeros);
        let bytes = BinaryArray::new(offsets, data, nulls);
        let (offsets, data, nulls) =
            expand_var(&tags, tag::ARRAY, &mut self.arrays, &mut self.zeros);
        let array = BinaryArray::new(offsets, data, nulls);
        let (offsets, data, nulls) =
            expand_var(&tags, tag::KVLIST, &mut self.kvlists, &mut self.zeros);
        let kvlist = BinaryArray::new(offsets, data, nulls);
        let ty = PrimitiveArray::<UInt8Type>::new(ScalarBuffer::from(tags), None);
        let children: Vec<ArrayRef> = vec![
            Arc::new(ty),
            Arc::new(string),
            Arc::new(boolean),
            Arc::new(PrimitiveArray::<Int64Type>::new(ints.0, ints.1)),
            Arc::new(PrimitiveArray::<Float64Type>::new(doubles.0, doubles.1)),
            Arc::new(bytes),
            Arc::new(array),
            Arc::new(kvlist),
        ];
        StructArray::new(
            self.fields.clone(),
            children,
            take_nulls(&mut self.nulls, n),
        )
    }

    fn finish_bools(&mut self, tags: &[u8]) -> BooleanArray {
        let n = tags.len();
        let count = self.bools.len();
        let out = if count == 0 {
            let values = BooleanBuffer::new(self.zeros.empty_or(n), 0, n);
            BooleanArray::new(values, Some(self.zeros.nulls(n)))
        } else if count == n {
            BooleanArray::new(self.bools.finish(), None)
        } else {
            let mut dense = BooleanBufferBuilder::new(n);
            let mut k = 0;
            for &t in tags {
                let is = t == tag::BOOL;
                dense.append(is && k < count && self.bools.get_bit(k));
                k += usize::from(is);
            }
            BooleanArray::new(dense.finish(), Some(validity(tags, tag::BOOL)))
        };
        self.bools.truncate(0);
        out
    }
}

impl Column for AnyCol {
    fn fits(&self) -> bool {
        self.strs.fits() && self.bytes.fits() && self.arrays.fits() && self.kvlists.fits()
    }
    fn commit(&mut self) {
        self.committed = [
            self.tags.len(),
            self.bools.len(),
            self.ints.len(),
            self.doubles.len(),
        ];
        self.strs.commit();
        self.bytes.commit();
        self.arrays.commit();
        self.kvlists.commit();
    }
    fn rollback(&mut self) {
        let [t, b, i, d] = self.committed;
        self.tags.truncate(t);
        self.nulls.truncate(t);
        self.bools.truncate(b);
        self.ints.truncate(i);
        self.doubles.truncate(d);
        self.strs.rollback();
        self.bytes.rollback();
        self.arrays.rollback();
        self.kvlists.rollback();
    }
}

/// Validity of the member for `want`: valid where the tag is `want` (64 tags per word,
/// branch-free so it vectorises).
fn validity(tags: &[u8], want: u8) -> NullBuffer {
    let mut words = Vec::with_capacity(tags.len().div_ceil(64));
    for chunk in tags.chunks(64) {
        let mut w = 0u64;
        for (j, &t) in chunk.iter().enumerate() {
            w |= u64::from(t == want) << j;
        }
        words.push(w);
    }
    NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(words), 0, tags.len()))
}

/// The dense offsets, data and validity of the string/binary member `want` from its compact
/// column (left empty). All-absent and all-present members skip the expansion.
fn expand_var(
    tags: &[u8],
    want: u8,
    compact: &mut VarBytes,
    zeros: &mut Zeros,
) -> (OffsetBuffer<i32>, Buffer, Option<NullBuffer>) {
    let n = tags.len();
    let count = compact.len();
    if count == 0 {
        compact.clear();
        return (zeros.offsets(n), zeros.empty(), Some(zeros.nulls(n)));
    }
    let (offsets, data, nulls) = if count == n {
        let (offsets, data) = compact.take();
        (offsets, data, None)
    } else {
        let offsets = {
            let src = compact.offsets();
            let mut k = 0usize;
            let mut out = Vec::with_capacity(n + 1);
            out.push(0);
            out.extend(tags.iter().map(|&t| {
                k += usize::from(t == want);
                src.get(k).copied().unwrap_or(0)
            }));
            out
        };
        let data = compact.take_data();
        compact.clear();
        (offsets, data, Some(validity(tags, want)))
    };
    (
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(data),
        nulls,
    )
}

/// Dense values for the member `want` (zeros elsewhere) from its compact values (cleared).
fn expand_dense<T: arrow_buffer::ArrowNativeType>(
    tags: &[u8],
    want: u8,
    compact: &mut Vec<T>,
    zeros: &mut Zeros,
) -> (ScalarBuffer<T>, Option<NullBuffer>) {
    let n = tags.len();
    if compact.is_empty() {
        return (zeros.scalars(n), Some(zeros.nulls(n)));
    }
    if compact.len() == n {
        return (ScalarBuffer::from(take_vec(compact)), None);
    }
    let out: Vec<T> = {
        let mut k = 0;
        tags.iter()
            .map(|&t| {
                if t == want {
                    let v = compact.get(k).copied().unwrap_or_default();
                    k += 1;
                    v
                } else {
                    T::default()
                }
            })
            .collect()
    };
    compact.clear();
    (ScalarBuffer::from(out), Some(validity(tags, want)))
}

/// Where an [`Attrs`] column stands (see [`Attrs::repeat`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AttrsMark {
    keys: usize,
    values: AnyMark,
}

/// A `Map<Utf8, AnyValue>` attributes column.
#[derive(Debug)]
pub(crate) struct Attrs {
    offsets: Offsets,
    keys: Strs,
    values: AnyCol,
    entries: FieldRef,
    entry_fields: Fields,
}

columns!(Attrs {
    offsets,
    keys,
    values
});

impl Default for Attrs {
    fn default() -> Self {
        let entries = schema::attributes_entries_field();
        let entry_fields = match entries.data_type() {
            DataType::Struct(f) => f.clone(),
            _ => Fields::empty(),
        };
        Attrs {
            offsets: Offsets::default(),
            keys: Strs::default(),
            values: AnyCol::default(),
            entries,
            entry_fields,
        }
    }
}

impl Attrs {
    /// Appends one entry of the current row from a `KeyValue` message.
    #[inline]
    pub(crate) fn push_kv(&mut self, r: Reader<'_>, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (key, value) = parse_kv(r, buf)?;
        self.keys.push(key);
        self.values.push(value);
        Ok(())
    }

    /// Where the column stands, to [`repeat`](Attrs::repeat) the entries pushed after it.
    #[inline]
    pub(crate) fn mark(&self) -> AttrsMark {
        AttrsMark {
            keys: self.keys.0.len(),
            values: self.values.mark(),
        }
    }

    /// Ends `times` rows, each with the same entries as those pushed between `from` and `to`,
    /// copied from the column itself (how a resource's attributes repeat on every row of a
    /// record without parsing them again).
    #[inline]
    pub(crate) fn repeat(&mut self, from: &AttrsMark, to: &AttrsMark, times: usize) {
        if from.keys == to.keys {
            // No entries (a scope without attributes, the common case): empty rows only.
            self.offsets.push_n(self.values.len(), times);
            return;
        }
        for _ in 0..times {
            self.keys.0.extend_within(from.keys, to.keys);
            self.values.extend_within(&from.values, &to.values);
            self.end_row();
        }
    }

    /// Ends the current row (its entries are those pushed since the last `end_row`).
    #[inline]
    pub(crate) fn end_row(&mut self) {
        self.offsets.push(self.values.len());
    }

    pub(crate) fn finish(&mut self) -> MapArray {
        let (offsets, nulls) = self.offsets.finish();
        let keys: ArrayRef = Arc::new(self.keys.finish());
        let values: ArrayRef = Arc::new(self.values.finish());
        let entries = StructArray::new(self.entry_fields.clone(), vec![keys, values], None);
        MapArray::new(self.entries.clone(), offsets, entries, nulls, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, cast::AsArray};

    fn kv(bytes: &[u8]) -> (String, Option<String>) {
        let mut buf = Vec::new();
        let (k, v) = parse_kv(Reader::new(bytes, "KeyValue"), &mut buf).unwrap();
        let k = String::from_utf8(k.bytes().to_vec()).unwrap();
        let v = v.map(|v| match v {
            AnyRef::Str(t) => format!("Str({:?})", String::from_utf8_lossy(t.bytes())),
            v => format!("{v:?}"),
        });
        (k, v)
    }

    #[test]
    fn kv_values_fold_like_prost() {
        // key "k", value { string "a" }
        assert_eq!(
            kv(&[0x0a, 1, b'k', 0x12, 3, 0x0a, 1, b'a']),
            ("k".into(), Some("Str(\"a\")".into()))
        );
        // no value -> None; empty value -> Empty
        assert_eq!(kv(&[0x0a, 1, b'k']).1, None);
        assert_eq!(kv(&[0x12, 0]).1, Some("Empty".into()));
        // value twice: int then (empty) -> int stays; later member replaces.
        assert_eq!(kv(&[0x12, 2, 0x18, 5, 0x12, 0]).1, Some("Int(5)".into()));
        assert_eq!(
            kv(&[0x12, 2, 0x18, 5, 0x12, 2, 0x10, 1]).1,
            Some("Bool(true)".into())
        );
        // two array pieces merge by concatenation; a bytes member in between resets.
        assert_eq!(
            kv(&[0x12, 4, 0x2a, 2, 1, 2, 0x12, 3, 0x2a, 1, 3]).1,
            Some("Array([1, 2, 3])".into())
        );
        assert_eq!(
            kv(&[0x12, 10, 0x2a, 1, 1, 0x3a, 1, 9, 0x2a, 2, 4, 5]).1,
            Some("Array([4, 5])".into())
        );
        // strindex clears.
        assert_eq!(
            kv(&[0x12, 5, 0x0a, 1, b'a', 0x40, 3]).1,
            Some("Empty".into())
        );
    }

    #[test]
    fn repeat_copies_a_rows_entries_into_many_rows() {
        let mut a = Attrs::default();
        let mut buf = Vec::new();
        // Row 0: two entries (a string and a null value) with a bitmap already materialised
        // by the null; rows 1-3 repeat them; rows 4-5 repeat an empty range.
        let from = a.mark();
        let kv1 = [0x0a, 1, b'k', 0x12, 3, 0x0a, 1, b'v'];
        let kv2 = [0x0a, 1, b'n'];
        a.push_kv(Reader::new(&kv1, "KeyValue"), &mut buf).unwrap();
        a.push_kv(Reader::new(&kv2, "KeyValue"), &mut buf).unwrap();
        let to = a.mark();
        a.end_row();
        a.repeat(&from, &to, 3);
        let here = a.mark();
        a.repeat(&here, &here, 2);
        a.repeat(&from, &to, 0);
        let m = a.finish();
        assert_eq!(m.len(), 6);
        assert_eq!(m.value_offsets(), &[0, 2, 4, 6, 8, 8, 8]);
        let keys = m.keys().as_string::<i32>();
        assert_eq!(
            keys.iter().flatten().collect::<Vec<_>>(),
            ["k", "n", "k", "n", "k", "n", "k", "n"]
        );
        let values = m.values().as_struct();
        assert_eq!(values.null_count(), 4);
        assert!(values.is_valid(6) && values.is_null(7));
        assert_eq!(values.column(1).as_string::<i32>().value(6), "v");
    }

    #[test]
    fn any_col_expands_dense_members() {
        let mut c = AnyCol::default();
        c.push(Some(AnyRef::Str(Text::from_str("x"))));
        c.push(None);
        c.push(Some(AnyRef::Int(7)));
        c.push(Some(AnyRef::Str(Text::from_str("yz"))));
        c.push(Some(AnyRef::Bool(true)));
        c.commit();
        c.push(Some(AnyRef::Double(1.0)));
        c.rollback();
        c.push(Some(AnyRef::Kvlist(&[1])));
        let s = c.finish();
        assert_eq!(s.len(), 6);
        assert_eq!(s.null_count(), 1);
        let ty = s.column(0).as_primitive::<UInt8Type>();
        assert_eq!(ty.values(), &[1, 0, 3, 1, 2, 6]);
        let st = s.column(1).as_string::<i32>();
        assert_eq!(
            st.iter().collect::<Vec<_>>(),
            [Some("x"), None, None, Some("yz"), None, None]
        );
        assert!(s.column(2).as_boolean().value(4));
        assert_eq!(s.column(3).as_primitive::<Int64Type>().value(2), 7);
        assert_eq!(s.column(4).null_count(), 6);
        assert_eq!(s.column(7).as_binary::<i32>().value(5), &[1]);
        // Reusable.
        c.push(Some(AnyRef::Str(Text::from_str("again"))));
        let s = c.finish();
        assert_eq!(s.column(1).as_string::<i32>().value(0), "again");
    }
}
