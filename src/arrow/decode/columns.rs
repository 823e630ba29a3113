//! Leaf column builders that can roll back to the last committed record.
//!
//! Arrow's own builders cannot be truncated, but a decoder must reject a malformed record
//! *whole* after it has already appended part of it (fields arrive in any order, so the fault
//! can come last). These builders are plain `Vec`s plus Arrow's `NullBufferBuilder`, each
//! remembering its length at the last [`Column::commit`]; [`Column::rollback`] truncates back
//! to it. Composite columns (maps, lists, structs) forward both calls to their children with
//! the [`columns!`] macro, so a decoder commits or rolls back its whole tree in one call.
//!
//! `finish` hands the buffers to Arrow without copying (`Vec` -> `Buffer`) and starts a new
//! `Vec` with the previous batch's capacity, so a steady stream of similar batches grows each
//! buffer once per batch instead of doubling up from empty.
//!
//! Offsets are `i32` as Arrow's `Utf8`/`Binary`/`List`/`Map` need. A push past 2 GiB wraps
//! the stored offset; [`Column::fits`] detects that before commit so the record is rolled back
//! (`BatchFull`) and no invalid offsets ever reach `finish`.
#![forbid(unsafe_code)]

use core::fmt;
use std::sync::{Arc, LazyLock};

use arrow_array::types::{ArrowPrimitiveType, TimestampNanosecondType};
use arrow_array::{ArrayRef, BooleanArray, FixedSizeBinaryArray, PrimitiveArray, StringArray};
use arrow_buffer::{
    ArrowNativeType, BooleanBuffer, BooleanBufferBuilder, Buffer, NullBuffer, NullBufferBuilder,
    OffsetBuffer, ScalarBuffer,
};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema};

use super::reader::Text;

/// A column (or tree of columns) with record-level transactions.
pub(crate) trait Column {
    /// Whether every offset pushed since the last commit fits Arrow's `i32` offsets.
    fn fits(&self) -> bool {
        true
    }
    /// Makes everything pushed so far permanent (until `finish`).
    fn commit(&mut self);
    /// Drops everything pushed since the last commit (or `finish`).
    fn rollback(&mut self);
}

/// Implements [`Column`] for a struct by forwarding to the named child columns.
macro_rules! columns {
    ($ty:ty { $($f:ident),* $(,)? }) => {
        impl $crate::arrow::decode::columns::Column for $ty {
            fn fits(&self) -> bool {
                true $(&& $crate::arrow::decode::columns::Column::fits(&self.$f))*
            }
            fn commit(&mut self) {
                $($crate::arrow::decode::columns::Column::commit(&mut self.$f);)*
            }
            fn rollback(&mut self) {
                $($crate::arrow::decode::columns::Column::rollback(&mut self.$f);)*
            }
        }
    };
}
pub(crate) use columns;

/// Takes `v`, leaving in its place an empty `Vec` with room for as many elements as `v` held.
#[inline]
pub(crate) fn take_vec<T>(v: &mut Vec<T>) -> Vec<T> {
    let cap = v.len();
    core::mem::replace(v, Vec::with_capacity(cap))
}

/// Finishes `nulls`, leaving a builder that allocates `cap` bits when it first needs a bitmap
/// (the previous batch's length), so the next batch does not regrow it bit by bit.
#[inline]
pub(crate) fn take_nulls(nulls: &mut NullBufferBuilder, cap: usize) -> Option<NullBuffer> {
    let out = nulls.finish();
    *nulls = NullBufferBuilder::new(cap);
    out
}

/// The largest offset Arrow's `i32` offsets can hold.
const MAX_OFFSET: usize = i32::MAX as usize;

/// A primitive column, nullable or not (a column that is never pushed a null finishes
/// without a validity buffer).
pub(crate) struct Prim<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
    committed: usize,
}

impl<T: ArrowPrimitiveType> fmt::Debug for Prim<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prim")
            .field("len", &self.values.len())
            .finish()
    }
}

impl<T: ArrowPrimitiveType> Default for Prim<T> {
    fn default() -> Self {
        Prim {
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
            committed: 0,
        }
    }
}

impl<T: ArrowPrimitiveType> Prim<T> {
    #[inline]
    pub(crate) fn push(&mut self, v: T::Native) {
        self.values.push(v);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.values.push(T::Native::default());
        self.nulls.append_null();
    }

    /// `v`, `n` times.
    #[inline]
    pub(crate) fn push_n(&mut self, v: T::Native, n: usize) {
        self.values.resize(self.values.len() + n, v);
        self.nulls.append_n_non_nulls(n);
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn finish(&mut self) -> PrimitiveArray<T> {
        self.committed = 0;
        let n = self.values.len();
        let values = ScalarBuffer::from(take_vec(&mut self.values));
        PrimitiveArray::new(values, take_nulls(&mut self.nulls, n))
    }
}

impl<T: ArrowPrimitiveType> Column for Prim<T> {
    fn commit(&mut self) {
        self.committed = self.values.len();
    }
    fn rollback(&mut self) {
        self.values.truncate(self.committed);
        self.nulls.truncate(self.committed);
    }
}

/// A nullable `Boolean` column.
pub(crate) struct Bools {
    values: BooleanBufferBuilder,
    nulls: NullBufferBuilder,
    committed: usize,
}

impl fmt::Debug for Bools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bools")
            .field("len", &self.values.len())
            .finish()
    }
}

impl Default for Bools {
    fn default() -> Self {
        Bools {
            values: BooleanBufferBuilder::new(0),
            nulls: NullBufferBuilder::new(0),
            committed: 0,
        }
    }
}

impl Bools {
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<bool>) {
        self.values.append(v.unwrap_or(false));
        self.nulls.append(v.is_some());
    }

    pub(crate) fn finish(&mut self) -> BooleanArray {
        self.committed = 0;
        let n = self.values.len();
        let values = core::mem::replace(&mut self.values, BooleanBufferBuilder::new(n)).finish();
        BooleanArray::new(values, take_nulls(&mut self.nulls, n))
    }
}

impl Column for Bools {
    fn commit(&mut self) {
        self.committed = self.values.len();
    }
    fn rollback(&mut self) {
        self.values.truncate(self.committed);
        self.nulls.truncate(self.committed);
    }
}

/// Variable-length non-null values (the storage of [`Strs`] and of `AnyValue`'s compact
/// string and binary members).
#[derive(Debug)]
pub(crate) struct VarBytes {
    /// Starts with 0; one more entry than values.
    offsets: Vec<i32>,
    data: Vec<u8>,
    committed: usize,
}

impl Default for VarBytes {
    fn default() -> Self {
        VarBytes {
            offsets: vec![0],
            data: Vec::new(),
            committed: 0,
        }
    }
}

impl VarBytes {
    #[inline]
    pub(crate) fn push(&mut self, v: &[u8]) {
        self.data.extend_from_slice(v);
        // Wraps past 2 GiB; `fits` catches it before the record commits.
        self.offsets.push(self.data.len() as i32);
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The offsets so far (`len() + 1` of them), for the sparse `AnyValue` expansion.
    pub(crate) fn offsets(&self) -> &[i32] {
        &self.offsets
    }

    /// Takes the offsets and data; the column is empty afterwards.
    pub(crate) fn take(&mut self) -> (Vec<i32>, Vec<u8>) {
        self.committed = 0;
        let offsets = take_vec(&mut self.offsets);
        self.offsets.push(0);
        (offsets, take_vec(&mut self.data))
    }

    /// Takes the value bytes only; call [`VarBytes::clear`] after reading the offsets.
    pub(crate) fn take_data(&mut self) -> Vec<u8> {
        take_vec(&mut self.data)
    }

    /// Appends again the values `from..to` (indices of values already in the column).
    /// Out-of-range input (impossible from the callers) appends nothing rather than panic.
    #[inline]
    pub(crate) fn extend_within(&mut self, from: usize, to: usize) {
        let (Some(&s), Some(&e)) = (self.offsets.get(from), self.offsets.get(to)) else {
            return;
        };
        let (s, e) = (s as u32 as usize, e as u32 as usize);
        if from > to || s > e || e > self.data.len() {
            return;
        }
        let base = self.data.len() as i32;
        self.data.extend_from_within(s..e);
        for i in from + 1..=to {
            let o = self.offsets.get(i).copied().unwrap_or(0);
            // Wrapping like `push`: past 2 GiB `fits` rejects the record anyway.
            self.offsets
                .push(base.wrapping_add(o.wrapping_sub(s as i32)));
        }
    }

    /// Empties the column, keeping the offsets' allocation.
    pub(crate) fn clear(&mut self) {
        self.committed = 0;
        self.offsets.clear();
        self.offsets.push(0);
        self.data.clear();
    }
}

impl Column for VarBytes {
    fn fits(&self) -> bool {
        self.data.len() <= MAX_OFFSET
    }
    fn commit(&mut self) {
        self.committed = self.len();
    }
    fn rollback(&mut self) {
        self.offsets.truncate(self.committed + 1);
        let end = self.offsets.last().map_or(0, |&o| o as u32 as usize);
        self.data.truncate(end);
    }
}

/// A `Timestamp(Nanosecond, "UTC")` column (OTLP `fixed64` nanoseconds, bit-cast to `i64`).
pub(crate) type Times = Prim<TimestampNanosecondType>;

/// The schema's time zone, allocated once rather than per finished column.
static UTC: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("UTC"));

/// Finishes a [`Times`] column with the schema's time zone.
pub(crate) fn finish_times(col: &mut Times) -> ArrayRef {
    Arc::new(col.finish().with_timezone(UTC.clone()))
}

/// A shared, immutable, zeroed buffer, handed out in slices for the all-null members of
/// `AnyValue` columns (zero offsets, zero values, an all-null bitmap): each use is a
/// reference-count increment instead of an allocation. Grown, never shrunk.
#[derive(Debug, Default)]
pub(crate) struct Zeros(Option<Buffer>);

impl Zeros {
    fn get(&mut self, bytes: usize) -> Buffer {
        match &self.0 {
            Some(b) if b.len() >= bytes => b.slice_with_length(0, bytes),
            _ => {
                // `u64`s, so every slice from offset 0 is aligned for any scalar type.
                let words = bytes.div_ceil(8).next_power_of_two().max(8);
                let b = Buffer::from_vec(vec![0u64; words]);
                let out = b.slice_with_length(0, bytes);
                self.0 = Some(b);
                out
            }
        }
    }

    /// `n + 1` zero offsets (`n` empty values).
    pub(crate) fn offsets(&mut self, n: usize) -> OffsetBuffer<i32> {
        OffsetBuffer::new(ScalarBuffer::new(self.get((n + 1) * 4), 0, n + 1))
    }

    /// An all-null validity of `n` bits.
    pub(crate) fn nulls(&mut self, n: usize) -> NullBuffer {
        NullBuffer::new(BooleanBuffer::new(self.get(n.div_ceil(8)), 0, n))
    }

    /// `n` zero values.
    pub(crate) fn scalars<T: ArrowNativeType>(&mut self, n: usize) -> ScalarBuffer<T> {
        ScalarBuffer::new(self.get(n * core::mem::size_of::<T>()), 0, n)
    }

    /// Zeros for `n` bits.
    pub(crate) fn empty_or(&mut self, n: usize) -> Buffer {
        self.get(n.div_ceil(8))
    }

    /// An empty data buffer.
    pub(crate) fn empty(&mut self) -> Buffer {
        self.get(0)
    }
}

/// The item field of the `List` column `column` in `schema`.
pub(crate) fn list_item(schema: &Schema, column: &str) -> FieldRef {
    match schema.field_with_name(column).map(|f| f.data_type()) {
        Ok(DataType::List(item)) => item.clone(),
        // Unreachable with the schemas in `crate::arrow::schema`; `finish` would then fail
        // the schema check loudly rather than here.
        _ => Arc::new(Field::new("item", DataType::Null, true)),
    }
}

/// The members of a `Struct` type.
pub(crate) fn struct_fields(ty: &DataType) -> Fields {
    match ty {
        DataType::Struct(f) => f.clone(),
        _ => Fields::empty(),
    }
}

/// A `Utf8` column: only [`Text`] goes in, so it always holds UTF-8.
#[derive(Debug, Default)]
pub(crate) struct Strs(pub(crate) VarBytes);

impl Strs {
    #[inline]
    pub(crate) fn push(&mut self, v: Text<'_>) {
        self.0.push(v.bytes());
    }

    /// `v`, `n` times.
    #[inline]
    pub(crate) fn push_n(&mut self, v: Text<'_>, n: usize) {
        let v = v.bytes();
        if v.is_empty() {
            // Empty values: offsets only (schema URLs and scope versions often are).
            let end = self.0.data.len() as i32;
            self.0.offsets.resize(self.0.offsets.len() + n, end);
            return;
        }
        self.0.data.reserve(v.len() * n);
        self.0.offsets.reserve(n);
        for _ in 0..n {
            self.0.push(v);
        }
    }

    pub(crate) fn finish(&mut self) -> StringArray {
        let (offsets, data) = self.0.take();
        super::strings::utf8_array(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(data),
            None,
        )
    }
}

impl Column for Strs {
    fn fits(&self) -> bool {
        self.0.fits()
    }
    fn commit(&mut self) {
        self.0.commit();
    }
    fn rollback(&mut self) {
        self.0.rollback();
    }
}

/// A `FixedSizeBinary(N)` column (trace ids: 16, span ids: 8).
#[derive(Debug)]
pub(crate) struct Fixed<const N: usize> {
    data: Vec<u8>,
    nulls: NullBufferBuilder,
    committed: usize,
}

impl<const N: usize> Default for Fixed<N> {
    fn default() -> Self {
        Fixed {
            data: Vec::new(),
            nulls: NullBufferBuilder::new(0),
            committed: 0,
        }
    }
}

impl<const N: usize> Fixed<N> {
    /// An id, or all zeros for an empty (unset) one: for the non-nullable id columns.
    #[inline]
    pub(crate) fn push_or_zero(&mut self, v: Option<&[u8; N]>) {
        self.data.extend_from_slice(v.unwrap_or(&[0; N]));
        self.nulls.append_non_null();
    }

    /// An id, or null for an empty (unset) one: for the nullable id columns.
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<&[u8; N]>) {
        self.data.extend_from_slice(v.unwrap_or(&[0; N]));
        self.nulls.append(v.is_some());
    }

    pub(crate) fn finish(&mut self) -> FixedSizeBinaryArray {
        self.committed = 0;
        let n = self.data.len() / N;
        FixedSizeBinaryArray::new(
            N as i32,
            Buffer::from_vec(take_vec(&mut self.data)),
            take_nulls(&mut self.nulls, n),
        )
    }
}

impl<const N: usize> Column for Fixed<N> {
    fn commit(&mut self) {
        self.committed = self.data.len() / N;
    }
    fn rollback(&mut self) {
        self.data.truncate(self.committed * N);
        self.nulls.truncate(self.committed);
    }
}

/// The offsets (and validity) of a `List` or `Map` column; its child columns live beside it.
#[derive(Debug)]
pub(crate) struct Offsets {
    offsets: Vec<i32>,
    /// The last child length pushed, unwrapped, for [`Column::fits`].
    last: usize,
    nulls: NullBufferBuilder,
    committed: usize,
}

impl Default for Offsets {
    fn default() -> Self {
        Offsets {
            offsets: vec![0],
            last: 0,
            nulls: NullBufferBuilder::new(0),
            committed: 0,
        }
    }
}

impl Offsets {
    /// Ends a row whose items are the child values up to `child_len`.
    #[inline]
    pub(crate) fn push(&mut self, child_len: usize) {
        self.offsets.push(child_len as i32);
        self.last = child_len;
        self.nulls.append_non_null();
    }

    /// Ends `n` rows with no items (whose child values end at `child_len`).
    #[inline]
    pub(crate) fn push_n(&mut self, child_len: usize, n: usize) {
        self.offsets
            .resize(self.offsets.len() + n, child_len as i32);
        self.last = child_len;
        self.nulls.append_n_non_nulls(n);
    }

    /// Ends a null row (no child values were pushed for it).
    #[inline]
    pub(crate) fn push_null(&mut self, child_len: usize) {
        self.offsets.push(child_len as i32);
        self.last = child_len;
        self.nulls.append_null();
    }

    /// Takes the offsets and validity.
    pub(crate) fn finish(&mut self) -> (OffsetBuffer<i32>, Option<NullBuffer>) {
        self.committed = 0;
        self.last = 0;
        let n = self.offsets.len() - 1;
        let offsets = take_vec(&mut self.offsets);
        self.offsets.push(0);
        (
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            take_nulls(&mut self.nulls, n),
        )
    }
}

impl Column for Offsets {
    fn fits(&self) -> bool {
        self.last <= MAX_OFFSET
    }
    fn commit(&mut self) {
        self.committed = self.offsets.len() - 1;
    }
    fn rollback(&mut self) {
        self.offsets.truncate(self.committed + 1);
        self.last = self.offsets.last().map_or(0, |&o| o as u32 as usize);
        self.nulls.truncate(self.committed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::types::Int64Type;

    #[test]
    fn rollback_drops_only_uncommitted_values() {
        let mut p = Prim::<Int64Type>::default();
        let mut s = Strs::default();
        let mut f = Fixed::<2>::default();
        let mut o = Offsets::default();
        p.push(1);
        s.push(Text::from_str("ab"));
        f.push_opt(Some(&[1, 2]));
        o.push(3);
        p.commit();
        s.commit();
        f.commit();
        o.commit();
        p.push_null();
        s.push(Text::from_str("cdef"));
        f.push_opt(None);
        o.push_null(7);
        p.rollback();
        s.rollback();
        f.rollback();
        o.rollback();
        s.push(Text::from_str("x"));
        let (p, s, f) = (p.finish(), s.finish(), f.finish());
        assert_eq!((p.len(), p.null_count(), p.value(0)), (1, 0, 1));
        assert_eq!(s.iter().collect::<Vec<_>>(), [Some("ab"), Some("x")]);
        assert_eq!((f.len(), f.null_count(), f.value(0)), (1, 0, &[1u8, 2][..]));
        let (offsets, nulls) = o.finish();
        assert_eq!(&offsets[..], &[0, 3]);
        assert_eq!(nulls.map_or(0, |n| n.null_count()), 0);
    }

    #[test]
    fn finish_resets_for_reuse() {
        let mut s = Strs::default();
        s.push(Text::from_str("a"));
        s.push(Text::EMPTY);
        let a = s.finish();
        assert_eq!((a.len(), a.value(1)), (2, ""));
        s.push(Text::from_str("b"));
        s.commit();
        let b = s.finish();
        assert_eq!(b.iter().collect::<Vec<_>>(), [Some("b")]);
        s.rollback();
        assert_eq!(s.finish().len(), 0);
    }

    #[test]
    fn push_n_appends_n_values() {
        let mut p = Prim::<Int64Type>::default();
        p.push_n(7, 3);
        p.push_n(1, 0);
        let mut s = Strs::default();
        s.push_n(Text::from_str("ab"), 2);
        s.push_n(Text::EMPTY, 2);
        s.push(Text::from_str("c"));
        let mut o = Offsets::default();
        o.push(2);
        o.push_n(2, 2);
        let (p, s) = (p.finish(), s.finish());
        assert_eq!((p.values().as_ref(), p.null_count()), (&[7, 7, 7][..], 0));
        assert_eq!(
            s.iter().flatten().collect::<Vec<_>>(),
            ["ab", "ab", "", "", "c"]
        );
        let (offsets, nulls) = o.finish();
        assert_eq!(&offsets[..], &[0, 2, 2, 2]);
        assert!(nulls.is_none());
    }

    #[test]
    fn offsets_past_i32_do_not_fit() {
        let mut o = Offsets::default();
        o.push(MAX_OFFSET + 1);
        assert!(!o.fits());
        o.rollback();
        assert!(o.fits());
    }
}
