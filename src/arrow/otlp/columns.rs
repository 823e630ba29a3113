//! Typed access to the columns of a stored batch: lookup by name, downcast, and the columns
//! every signal shares (resource and scope).
//!
//! Columns are found by name (extra columns are ignored, order does not matter) and must have
//! the schema's Arrow type; anything else is a [`ReverseError`], never a panic. Nothing here
//! copies column data: every accessor borrows from the batch.
#![forbid(unsafe_code)]

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt8Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array,
    Int64Array, ListArray, MapArray, RecordBatch, StringArray, StructArray, UInt64Array,
};
use arrow_schema::Fields;

use super::ReverseError;
use super::attributes::{MapCols, ValueCols};
use crate::wire::encode::{EncodeError, Resource, Scope, Writer, len_field_len};
use crate::wire::fields::{resource_items, scope_items};

/// A set of named columns: the batch itself or the children of a struct column. `path` names
/// it in errors (`""` for the batch, `"events"` for a span's events, ...).
#[derive(Debug, Clone, Copy)]
pub(super) struct Table<'b> {
    columns: &'b [ArrayRef],
    fields: &'b Fields,
    path: &'static str,
}

impl<'b> Table<'b> {
    pub(super) fn of_batch(batch: &'b RecordBatch) -> Self {
        Table {
            columns: batch.columns(),
            fields: batch.schema_ref().fields(),
            path: "",
        }
    }

    pub(super) fn of_struct(s: &'b StructArray, path: &'static str) -> Self {
        Table {
            columns: s.columns(),
            fields: s.fields(),
            path,
        }
    }

    /// `path.name`, for error messages.
    pub(super) fn name(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn col(&self, name: &str) -> Result<&'b dyn Array, ReverseError> {
        let (i, _) = self
            .fields
            .find(name)
            .ok_or_else(|| ReverseError::MissingColumn {
                column: self.name(name),
            })?;
        self.columns
            .get(i)
            .map(|a| a.as_ref())
            .ok_or_else(|| ReverseError::MissingColumn {
                column: self.name(name),
            })
    }

    fn typed<T: ?Sized>(
        &self,
        name: &str,
        expected: &'static str,
        cast: impl FnOnce(&'b dyn Array) -> Option<&'b T>,
    ) -> Result<&'b T, ReverseError> {
        cast(self.col(name)?).ok_or_else(|| ReverseError::ColumnType {
            column: self.name(name),
            expected,
        })
    }

    pub(super) fn utf8(&self, name: &str) -> Result<&'b StringArray, ReverseError> {
        self.typed(name, "Utf8", |a| a.as_string_opt::<i32>())
    }

    pub(super) fn binary(&self, name: &str) -> Result<&'b BinaryArray, ReverseError> {
        self.typed(name, "Binary", |a| a.as_binary_opt::<i32>())
    }

    pub(super) fn boolean(&self, name: &str) -> Result<&'b BooleanArray, ReverseError> {
        self.typed(name, "Boolean", |a| a.as_boolean_opt())
    }

    pub(super) fn u8s(&self, name: &str) -> Result<&'b [u8], ReverseError> {
        self.typed(name, "UInt8", |a| a.as_primitive_opt::<UInt8Type>())
            .map(|a| &a.values()[..])
    }

    pub(super) fn u32s(&self, name: &str) -> Result<&'b [u32], ReverseError> {
        self.typed(name, "UInt32", |a| a.as_primitive_opt::<UInt32Type>())
            .map(|a| &a.values()[..])
    }

    pub(super) fn i32s(&self, name: &str) -> Result<&'b Int32Array, ReverseError> {
        self.typed(name, "Int32", |a| a.as_primitive_opt::<Int32Type>())
    }

    pub(super) fn i64s(&self, name: &str) -> Result<&'b Int64Array, ReverseError> {
        self.typed(name, "Int64", |a| a.as_primitive_opt::<Int64Type>())
    }

    pub(super) fn u64s(&self, name: &str) -> Result<&'b UInt64Array, ReverseError> {
        self.typed(name, "UInt64", |a| a.as_primitive_opt::<UInt64Type>())
    }

    pub(super) fn f64s(&self, name: &str) -> Result<&'b Float64Array, ReverseError> {
        self.typed(name, "Float64", |a| a.as_primitive_opt::<Float64Type>())
    }

    /// A `Timestamp(Nanosecond, _)` column as its raw `i64`s (the OTLP `fixed64`, bit-cast).
    pub(super) fn times(&self, name: &str) -> Result<&'b [i64], ReverseError> {
        self.typed(name, "Timestamp(Nanosecond)", |a| {
            a.as_primitive_opt::<TimestampNanosecondType>()
        })
        .map(|a| &a.values()[..])
    }

    /// A `FixedSizeBinary(width)` column.
    pub(super) fn ids(
        &self,
        name: &str,
        width: i32,
    ) -> Result<&'b FixedSizeBinaryArray, ReverseError> {
        let expected = if width == 16 {
            "FixedSizeBinary(16)"
        } else {
            "FixedSizeBinary(8)"
        };
        self.typed(name, expected, |a| {
            a.as_fixed_size_binary_opt()
                .filter(|f| f.value_length() == width)
        })
    }

    pub(super) fn structs(&self, name: &str) -> Result<&'b StructArray, ReverseError> {
        self.typed(name, "Struct", |a| a.as_struct_opt())
    }

    /// A `List<item>` column; `item` must have no nulls (the schema's items are non-null).
    pub(super) fn list(&self, name: &str) -> Result<&'b ListArray, ReverseError> {
        let list = self.typed(name, "List", |a| a.as_list_opt::<i32>())?;
        if list.values().null_count() != 0 {
            return Err(ReverseError::InvalidValue {
                column: self.name(name),
                row: 0,
                reason: "list items must not be null",
            });
        }
        Ok(list)
    }

    /// A `List<Struct>` column and its item struct's columns, named `path` in errors.
    pub(super) fn list_of_structs(
        &self,
        name: &str,
        path: &'static str,
    ) -> Result<(&'b ListArray, Table<'b>), ReverseError> {
        let list = self.list(name)?;
        let items = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| ReverseError::ColumnType {
                column: self.name(name),
                expected: "List<Struct>",
            })?;
        Ok((list, Table::of_struct(items, path)))
    }

    /// A `List<UInt64>` column: its offsets and its values.
    pub(super) fn u64_list(&self, name: &str) -> Result<U64List<'b>, ReverseError> {
        let list = self.list(name)?;
        let values = list
            .values()
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| ReverseError::ColumnType {
                column: self.name(name),
                expected: "List<UInt64>",
            })?;
        Ok(U64List {
            list,
            values: values.values(),
        })
    }

    /// A `List<Float64>` column.
    pub(super) fn f64_list(&self, name: &str) -> Result<F64List<'b>, ReverseError> {
        let list = self.list(name)?;
        let values = list
            .values()
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| ReverseError::ColumnType {
                column: self.name(name),
                expected: "List<Float64>",
            })?;
        Ok(F64List {
            list,
            values: values.values(),
        })
    }

    /// A `Map<Utf8, AnyValue>` attributes column, its values validated.
    pub(super) fn map(&self, name: &str) -> Result<MapCols<'b>, ReverseError> {
        let map: &'b MapArray = self.typed(name, "Map<Utf8, AnyValue>", |a| a.as_map_opt())?;
        MapCols::new(map, &self.name(name))
    }

    /// An `AnyValue` struct column (a log body), validated.
    pub(super) fn any_value(&self, name: &str) -> Result<ValueCols<'b>, ReverseError> {
        let s = self.structs(name)?;
        let cols = ValueCols::new(s, &self.name(name))?;
        cols.validate(0..s.len(), &self.name(name))?;
        Ok(cols)
    }
}

/// A `List<UInt64>` column.
#[derive(Debug, Clone, Copy)]
pub(super) struct U64List<'b> {
    list: &'b ListArray,
    values: &'b [u64],
}

impl<'b> U64List<'b> {
    /// Row `i`'s items, or `None` when the row is null.
    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&'b [u64]> {
        if self.list.is_null(i) {
            return None;
        }
        let o = self.list.value_offsets();
        self.values.get(o[i] as usize..o[i + 1] as usize)
    }
}

/// A `List<Float64>` column.
#[derive(Debug, Clone, Copy)]
pub(super) struct F64List<'b> {
    list: &'b ListArray,
    values: &'b [f64],
}

impl<'b> F64List<'b> {
    /// Row `i`'s items, or `None` when the row is null.
    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&'b [f64]> {
        if self.list.is_null(i) {
            return None;
        }
        let o = self.list.value_offsets();
        self.values.get(o[i] as usize..o[i + 1] as usize)
    }
}

/// The range of child indices of list row `i` (empty for a null row with equal offsets).
#[inline]
pub(super) fn list_range(list: &ListArray, i: usize) -> core::ops::Range<usize> {
    let o = list.value_offsets();
    o[i] as usize..o[i + 1] as usize
}

/// Row `i` of a `FixedSizeBinary(N)` column as an array.
#[inline]
pub(super) fn id<const N: usize>(a: &FixedSizeBinaryArray, i: usize) -> [u8; N] {
    // The column's width was checked to be N when it was looked up.
    a.value(i).try_into().unwrap_or([0; N])
}

/// Row `i` of a nullable `FixedSizeBinary(N)` column, `None` when null.
#[inline]
pub(super) fn opt_id<const N: usize>(a: &FixedSizeBinaryArray, i: usize) -> Option<[u8; N]> {
    if a.is_null(i) { None } else { Some(id(a, i)) }
}

/// A nullable primitive as an `Option`.
#[inline]
pub(super) fn opt<T: arrow_array::ArrowPrimitiveType>(
    a: &arrow_array::PrimitiveArray<T>,
    i: usize,
) -> Option<T::Native> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// Byte equality for the short strings that grouping compares on every row (keys, names,
/// URLs): eight bytes at a time, inline. Why not `==`: it calls the C library's `memcmp`,
/// whose fixed cost dominated the whole reverse path in `benches/reverse.rs` (it is made for
/// long buffers; these are mostly under 32 bytes).
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    ca.zip(cb).all(|(x, y)| {
        u64::from_ne_bytes(x.try_into().unwrap_or([0; 8]))
            == u64::from_ne_bytes(y.try_into().unwrap_or([0; 8]))
    }) && ra.iter().zip(rb).all(|(x, y)| x == y)
}

/// [`same_bytes`] for strings.
#[inline]
pub(super) fn same_str(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// Whether row `a` and row `b` of a string column are equal.
#[inline]
pub(super) fn same_at(col: &StringArray, a: usize, b: usize) -> bool {
    same_str(col.value(a), col.value(b))
}

/// Length of an optional (proto3 default-omitted) string field.
#[inline]
pub(super) fn opt_str_len(field: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        len_field_len(field, s.len())
    }
}

/// Writes an optional string field (omitted when empty).
#[inline]
pub(super) fn write_opt_str(w: &mut Writer<'_>, field: u32, s: &str) -> Result<(), EncodeError> {
    if s.is_empty() {
        Ok(())
    } else {
        w.bytes_field(field, s.as_bytes())
    }
}

/// The columns every schema starts with: the resource and the scope of each row.
#[derive(Debug)]
pub(super) struct CommonCols<'b> {
    resource_attributes: MapCols<'b>,
    resource_dropped: &'b [u32],
    resource_schema_url: &'b StringArray,
    scope_name: &'b StringArray,
    scope_version: &'b StringArray,
    scope_attributes: MapCols<'b>,
    scope_dropped: &'b [u32],
    schema_url: &'b StringArray,
}

impl<'b> CommonCols<'b> {
    pub(super) fn new(t: &Table<'b>) -> Result<Self, ReverseError> {
        Ok(CommonCols {
            resource_attributes: t.map("resource_attributes")?,
            resource_dropped: t.u32s("resource_dropped_attributes_count")?,
            resource_schema_url: t.utf8("resource_schema_url")?,
            scope_name: t.utf8("scope_name")?,
            scope_version: t.utf8("scope_version")?,
            scope_attributes: t.map("scope_attributes")?,
            scope_dropped: t.u32s("scope_dropped_attributes_count")?,
            schema_url: t.utf8("schema_url")?,
        })
    }

    /// Whether rows `a` and `b` have the same resource (attributes, dropped count, schema URL).
    #[inline]
    fn same_resource(&self, a: usize, b: usize) -> bool {
        self.resource_dropped[a] == self.resource_dropped[b]
            && same_at(self.resource_schema_url, a, b)
            && self.resource_attributes.rows_equal(a, b)
    }

    /// Whether rows `a` and `b` have the same scope (name, version, attributes, dropped count,
    /// schema URL).
    #[inline]
    fn same_scope(&self, a: usize, b: usize) -> bool {
        self.scope_dropped[a] == self.scope_dropped[b]
            && same_at(self.scope_name, a, b)
            && same_at(self.scope_version, a, b)
            && same_at(self.schema_url, a, b)
            && self.scope_attributes.rows_equal(a, b)
    }

    /// Calls `f` with the resource view of `row`.
    #[inline]
    fn with_resource<R>(
        &self,
        row: usize,
        f: impl FnOnce(&Resource<'_, super::attributes::MapRow<'_>>) -> R,
    ) -> R {
        let attrs = self.resource_attributes.row(row);
        f(&Resource {
            attributes: &attrs,
            dropped_attributes_count: self.resource_dropped[row],
        })
    }

    /// Calls `f` with the scope view of `row`.
    #[inline]
    fn with_scope<R>(
        &self,
        row: usize,
        f: impl FnOnce(&Scope<'_, super::attributes::MapRow<'_>>) -> R,
    ) -> R {
        let attrs = self.scope_attributes.row(row);
        f(&Scope {
            name: self.scope_name.value(row),
            version: self.scope_version.value(row),
            attributes: &attrs,
            dropped_attributes_count: self.scope_dropped[row],
        })
    }

    /// Bytes of a `Resource*` message's own fields for `row`'s resource: `resource` (always
    /// written, possibly empty) and `schema_url`.
    #[inline]
    fn resource_fields_len(&self, row: usize) -> usize {
        use crate::wire::encode::Encode;
        self.with_resource(row, |r| {
            len_field_len(resource_items::RESOURCE, r.encoded_len())
        }) + opt_str_len(
            resource_items::SCHEMA_URL,
            self.resource_schema_url.value(row),
        )
    }

    /// Bytes of a `Scope*` message's own fields for `row`'s scope: `scope` (always written)
    /// and `schema_url`.
    #[inline]
    fn scope_fields_len(&self, row: usize) -> usize {
        use crate::wire::encode::Encode;
        self.with_scope(row, |s| len_field_len(scope_items::SCOPE, s.encoded_len()))
            + opt_str_len(scope_items::SCHEMA_URL, self.schema_url.value(row))
    }

    /// Writes the fields of a `Resource*` message that come before its scope entries.
    #[inline]
    fn write_resource_pre(&self, row: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use crate::wire::encode::Encode;
        self.with_resource(row, |r| {
            w.message_with_len(resource_items::RESOURCE, r.encoded_len(), |w| {
                r.encode_to(w)
            })
        })
    }

    /// Writes the fields of a `Resource*` message that come after its scope entries.
    #[inline]
    fn write_resource_post(&self, row: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_opt_str(
            w,
            resource_items::SCHEMA_URL,
            self.resource_schema_url.value(row),
        )
    }

    /// Writes the fields of a `Scope*` message that come before its items.
    #[inline]
    fn write_scope_pre(&self, row: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use crate::wire::encode::Encode;
        self.with_scope(row, |s| {
            w.message_with_len(scope_items::SCOPE, s.encoded_len(), |w| s.encode_to(w))
        })
    }

    /// Writes the fields of a `Scope*` message that come after its items.
    #[inline]
    fn write_scope_post(&self, row: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        write_opt_str(w, scope_items::SCHEMA_URL, self.schema_url.value(row))
    }

    /// For row `row` (> 0): `Some(0)` if its resource differs from row `row - 1`'s, `Some(1)`
    /// if only its scope does, `None` if both are the same.
    #[inline]
    pub(super) fn first_new_level(&self, row: usize) -> Option<usize> {
        if !self.same_resource(row - 1, row) {
            Some(0)
        } else if !self.same_scope(row - 1, row) {
            Some(1)
        } else {
            None
        }
    }

    /// Field number of a level-0 (resource: request field 1) or level-1 (scope entry:
    /// `Resource*` field 2) group.
    #[inline]
    pub(super) fn field(level: usize) -> u32 {
        if level == 0 {
            crate::wire::fields::request::RESOURCE_ITEMS
        } else {
            resource_items::SCOPE_ITEMS
        }
    }

    /// Own fields' length of the level-0 or level-1 group starting at `row`.
    #[inline]
    pub(super) fn own_len(&self, level: usize, row: usize) -> usize {
        if level == 0 {
            self.resource_fields_len(row)
        } else {
            self.scope_fields_len(row)
        }
    }

    /// Own fields before the children, for level 0 or 1.
    #[inline]
    pub(super) fn write_pre(
        &self,
        level: usize,
        row: usize,
        w: &mut Writer<'_>,
    ) -> Result<(), EncodeError> {
        if level == 0 {
            self.write_resource_pre(row, w)
        } else {
            self.write_scope_pre(row, w)
        }
    }

    /// Own fields after the children, for level 0 or 1.
    #[inline]
    pub(super) fn write_post(
        &self,
        level: usize,
        row: usize,
        w: &mut Writer<'_>,
    ) -> Result<(), EncodeError> {
        if level == 0 {
            self.write_resource_post(row, w)
        } else {
            self.write_scope_post(row, w)
        }
    }
}
