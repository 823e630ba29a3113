//! One row of a stored attributes column, encoded as `repeated KeyValue` without copying.
//!
//! An attributes column is a `Map<Utf8, AnyValue>`: the row's entries are a range of the
//! map's `key` and `value` child arrays. [`MapRow`] is that range; it implements the wire
//! encoder's [`Attributes`] by walking the range and handing each entry to
//! [`Writer::key_value`] as a [`Cell`], a one-level value that borrows its string / bytes from
//! the Arrow buffers. Nested `array_value` / `kvlist_value` members are stored as the protobuf
//! bytes of an `ArrayValue` / `KeyValueList` message; [`RawNested`] writes those bytes
//! verbatim as the nested message's body, so nesting costs one copy of the bytes, no parse.
//!
//! Promises:
//! - the output is what prost writes for the same `KeyValue`s: an entry whose value struct is
//!   null is a `KeyValue` without `value` (how the decoder stores one), any other entry
//!   carries its `AnyValue`, the member named by the `type` tag, written even when it holds a
//!   default (a set oneof member);
//! - the value columns are validated once, when a [`MapCols`] is made: every non-null value
//!   has a known `type` tag and a non-null member for it, so encoding cannot meet a value it
//!   cannot represent. Nested bytes are *not* parsed (the decoder took them from a validated
//!   record); invalid nested bytes would make an invalid request.
#![forbid(unsafe_code)]

use arrow_array::{Array, BinaryArray, BooleanArray, MapArray, StringArray, StructArray};
use arrow_buffer::NullBuffer;

use super::ReverseError;
use super::columns::{Table, same_at, same_bytes, same_str};
use crate::arrow::schema::value_type as tag;
use crate::wire::encode::{
    Attributes, EncodeError, Value, ValueView, Values, Writer, key_value_len, len_field_len,
};
use crate::wire::fields::{key_value, list};

/// The member columns of an `AnyValue` struct column.
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueCols<'b> {
    nulls: Option<&'b NullBuffer>,
    tags: &'b [u8],
    string: &'b StringArray,
    boolean: &'b BooleanArray,
    int: &'b arrow_array::Int64Array,
    double: &'b arrow_array::Float64Array,
    bytes: &'b BinaryArray,
    array: &'b BinaryArray,
    kvlist: &'b BinaryArray,
}

impl<'b> ValueCols<'b> {
    /// The members of `s`; `path` names the column in errors. Not yet validated.
    pub(super) fn new(s: &'b StructArray, path: &str) -> Result<Self, ReverseError> {
        // The struct's children are looked up by name; `path` is only for messages, so a
        // leaked `&'static` is not needed: errors format it eagerly.
        let t = Table::of_struct(s, "");
        let named = |e: ReverseError| e.under(path);
        Ok(ValueCols {
            nulls: s.nulls(),
            tags: t.u8s("type").map_err(named)?,
            string: t.utf8("string_value").map_err(named)?,
            boolean: t.boolean("bool_value").map_err(named)?,
            int: t.i64s("int_value").map_err(named)?,
            double: t.f64s("double_value").map_err(named)?,
            bytes: t.binary("bytes_value").map_err(named)?,
            array: t.binary("array_value").map_err(named)?,
            kvlist: t.binary("kvlist_value").map_err(named)?,
        })
    }

    #[inline]
    fn is_null(&self, j: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(j))
    }

    /// Checks every value in `range`: a known tag and a non-null member for it.
    pub(super) fn validate(
        &self,
        range: core::ops::Range<usize>,
        path: &str,
    ) -> Result<(), ReverseError> {
        for j in range {
            if self.is_null(j) {
                continue;
            }
            let Some(&t) = self.tags.get(j) else {
                return Err(invalid(path, j, "value index out of range"));
            };
            let member_null = match t {
                tag::EMPTY => false,
                tag::STRING => self.string.is_null(j),
                tag::BOOL => self.boolean.is_null(j),
                tag::INT => self.int.is_null(j),
                tag::DOUBLE => self.double.is_null(j),
                tag::BYTES => self.bytes.is_null(j),
                tag::ARRAY => self.array.is_null(j),
                tag::KVLIST => self.kvlist.is_null(j),
                _ => return Err(invalid(path, j, "unknown AnyValue type tag")),
            };
            if member_null {
                return Err(invalid(
                    path,
                    j,
                    "the AnyValue member named by its type tag is null",
                ));
            }
        }
        Ok(())
    }

    /// Value `j`, or `None` when the value struct is null (a `KeyValue` without value, an
    /// absent log body). Only for validated indices.
    #[inline]
    pub(super) fn cell(&self, j: usize) -> Option<Cell<'b>> {
        if self.is_null(j) {
            return None;
        }
        Some(match self.tags[j] {
            tag::STRING => Cell::String(self.string.value(j)),
            tag::BOOL => Cell::Bool(self.boolean.value(j)),
            tag::INT => Cell::Int(self.int.value(j)),
            tag::DOUBLE => Cell::Double(self.double.value(j)),
            tag::BYTES => Cell::Bytes(self.bytes.value(j)),
            tag::ARRAY => Cell::Array(RawNested(self.array.value(j))),
            tag::KVLIST => Cell::KvList(RawNested(self.kvlist.value(j))),
            // EMPTY; unknown tags were refused by `validate`.
            _ => Cell::Empty,
        })
    }

    /// Whether values `a` and `b` are the same (doubles compared bit for bit).
    #[inline]
    pub(super) fn values_equal(&self, a: usize, b: usize) -> bool {
        match (self.cell(a), self.cell(b)) {
            (None, None) => true,
            (Some(x), Some(y)) => x.same(&y),
            _ => false,
        }
    }
}

fn invalid(path: &str, j: usize, reason: &'static str) -> ReverseError {
    ReverseError::InvalidValue {
        column: path.to_owned(),
        row: j,
        reason,
    }
}

/// A `Map<Utf8, AnyValue>` column: row offsets, keys and values.
#[derive(Debug, Clone, Copy)]
pub(super) struct MapCols<'b> {
    offsets: &'b [i32],
    keys: &'b StringArray,
    values: ValueCols<'b>,
}

impl<'b> MapCols<'b> {
    /// The columns of `map` (named `path` in errors), its values validated.
    pub(super) fn new(map: &'b MapArray, path: &str) -> Result<Self, ReverseError> {
        let entries = Table::of_struct(map.entries(), "");
        let keys = entries
            .utf8("key")
            .map_err(|e| e.under(&format!("{path}.entries")))?;
        let value = entries
            .structs("value")
            .map_err(|e| e.under(&format!("{path}.entries")))?;
        let values = ValueCols::new(value, &format!("{path}.entries.value"))?;
        let offsets = map.value_offsets();
        if let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) {
            values.validate(
                first as usize..last as usize,
                &format!("{path}.entries.value"),
            )?;
        }
        Ok(MapCols {
            offsets,
            keys,
            values,
        })
    }

    /// Row `i`'s entries.
    #[inline]
    pub(super) fn row(&self, i: usize) -> MapRow<'_> {
        MapRow {
            cols: self,
            start: self.offsets[i] as usize,
            end: self.offsets[i + 1] as usize,
        }
    }

    /// Whether rows `a` and `b` hold the same entries in the same order.
    #[inline]
    pub(super) fn rows_equal(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.row(a), self.row(b));
        if ra.start == rb.start && ra.end == rb.end {
            return true;
        }
        ra.end - ra.start == rb.end - rb.start
            && (ra.start..ra.end)
                .zip(rb.start..rb.end)
                .all(|(x, y)| same_at(self.keys, x, y) && self.values.values_equal(x, y))
    }
}

/// One row of an attributes column: entries `start..end` of its map.
#[derive(Debug, Clone, Copy)]
pub(super) struct MapRow<'p> {
    cols: &'p MapCols<'p>,
    start: usize,
    end: usize,
}

/// Length of a `KeyValue` entry whose value is absent.
#[inline]
fn key_only_body_len(key: &str) -> usize {
    if key.is_empty() {
        0
    } else {
        len_field_len(key_value::KEY, key.len())
    }
}

impl Attributes for MapRow<'_> {
    #[inline]
    fn attributes_len(&self, field: u32) -> usize {
        let c = self.cols;
        (self.start..self.end)
            .map(|j| {
                let key = c.keys.value(j);
                match c.values.cell(j) {
                    Some(v) => key_value_len(field, key, &v),
                    None => len_field_len(field, key_only_body_len(key)),
                }
            })
            .sum()
    }

    #[inline]
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let c = self.cols;
        for j in self.start..self.end {
            let key = c.keys.value(j);
            match c.values.cell(j) {
                Some(v) => w.key_value(field, key, &v)?,
                None => w.message_with_len(field, key_only_body_len(key), |w| {
                    if key.is_empty() {
                        Ok(())
                    } else {
                        w.bytes_field(key_value::KEY, key.as_bytes())
                    }
                })?,
            }
        }
        Ok(())
    }
}

/// One stored `AnyValue`, one level deep, borrowing from the Arrow buffers.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell<'b> {
    Empty,
    String(&'b str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'b [u8]),
    Array(RawNested<'b>),
    KvList(RawNested<'b>),
}

impl Cell<'_> {
    /// Same kind and same content; doubles compare bit for bit (so a NaN equals itself and
    /// `-0.0` differs from `0.0`: only identical values merge groups).
    #[inline]
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Cell::Empty, Cell::Empty) => true,
            (Cell::String(a), Cell::String(b)) => same_str(a, b),
            (Cell::Bool(a), Cell::Bool(b)) => a == b,
            (Cell::Int(a), Cell::Int(b)) => a == b,
            (Cell::Double(a), Cell::Double(b)) => a.to_bits() == b.to_bits(),
            (Cell::Bytes(a), Cell::Bytes(b)) => same_bytes(a, b),
            (Cell::Array(a), Cell::Array(b)) | (Cell::KvList(a), Cell::KvList(b)) => {
                same_bytes(a.0, b.0)
            }
            _ => false,
        }
    }
}

impl<'b> Value for Cell<'b> {
    type Array = RawNested<'b>;
    type KvList = RawNested<'b>;

    #[inline]
    fn view(&self) -> ValueView<'_, RawNested<'b>, RawNested<'b>> {
        match self {
            Cell::Empty => ValueView::Empty,
            Cell::String(s) => ValueView::String(s),
            Cell::Bool(b) => ValueView::Bool(*b),
            Cell::Int(i) => ValueView::Int(*i),
            Cell::Double(d) => ValueView::Double(*d),
            Cell::Bytes(b) => ValueView::Bytes(b),
            Cell::Array(r) => ValueView::Array(r),
            Cell::KvList(r) => ValueView::KvList(r),
        }
    }
}

/// The stored protobuf body of a nested `ArrayValue` or `KeyValueList`, written verbatim.
///
/// Both messages are `repeated ... values = 1`, so the stored bytes are exactly the body the
/// encoder would write for the nested value: as [`Values`] they are the `ArrayValue` body, as
/// [`Attributes`] the `KeyValueList` body (the encoder asks a key-value list for its entries
/// in field 1, `KeyValueList.values`, and only there).
#[derive(Debug, Clone, Copy)]
pub(super) struct RawNested<'b>(&'b [u8]);

impl Values for RawNested<'_> {
    #[inline]
    fn values_len(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn encode_values(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.raw(self.0)
    }
}

impl Attributes for RawNested<'_> {
    #[inline]
    fn attributes_len(&self, field: u32) -> usize {
        debug_assert_eq!(
            field,
            list::VALUES,
            "stored kvlist bytes are KeyValueList.values"
        );
        self.0.len()
    }

    #[inline]
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        debug_assert_eq!(
            field,
            list::VALUES,
            "stored kvlist bytes are KeyValueList.values"
        );
        w.raw(self.0)
    }
}
