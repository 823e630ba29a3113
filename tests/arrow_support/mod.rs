//! Shared helpers for the storage tests and the write bench (included with `#[path]`):
//! realistic trace batches built straight from arrow arrays, a temporary directory, readers.
//!
//! The including module must have `otlp_arrow::arrow::schema` in scope as `schema` (the lib's
//! own unit tests include this file too, where the crate is `crate`, not `otlp_arrow`).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::schema;
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, UInt8Builder};
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, Int32Array, ListArray, MapArray, RecordBatch,
    StringArray, StructArray, TimestampNanosecondArray, UInt32Array, new_empty_array,
    new_null_array,
};
use arrow_buffer::{Buffer, OffsetBuffer};
use arrow_ipc::reader::StreamReader;
use arrow_schema::{DataType, Field, TimeUnit};

/// A batch of `rows` spans with the traces schema. Row `i` has span id `first_id + i` (big
/// endian), `attrs` attributes (string, int and double values in turn), two resource
/// attributes, no events or links.
pub(crate) fn trace_batch(rows: usize, attrs: usize, first_id: u64) -> RecordBatch {
    let schema = schema::traces();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| column(f, rows, attrs, first_id))
        .collect();
    RecordBatch::try_new(schema, columns).expect("valid trace batch")
}

fn column(field: &Field, rows: usize, attrs: usize, first_id: u64) -> ArrayRef {
    let ids = (0..rows as u64).map(|i| first_id + i);
    match (field.name().as_str(), field.data_type()) {
        ("span_id", _) => Arc::new(fixed(8, ids.flat_map(|id| id.to_be_bytes()))),
        ("trace_id", _) => Arc::new(fixed(
            16,
            ids.flat_map(|id| {
                let mut t = [0x7Au8; 16];
                t[8..].copy_from_slice(&id.to_be_bytes());
                t
            }),
        )),
        ("parent_span_id", DataType::FixedSizeBinary(8)) => Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                ids.map(|id| (id % 3 != 0).then(|| (id / 2).to_be_bytes())),
                8,
            )
            .unwrap(),
        ),
        ("attributes", DataType::Map(..)) => Arc::new(attributes(rows, attrs, first_id)),
        ("resource_attributes", DataType::Map(..)) => Arc::new(attributes(rows, 2, 0)),
        (_, DataType::Map(..)) => Arc::new(attributes(rows, 0, 0)),
        (_, DataType::List(item)) => Arc::new(ListArray::new(
            item.clone(),
            OffsetBuffer::new_zeroed(rows),
            new_empty_array(item.data_type()),
            None,
        )),
        ("name", DataType::Utf8) => Arc::new(StringArray::from_iter_values(
            ids.map(|id| format!("GET /api/v1/items/{}", id % 97)),
        )),
        ("service_name" | "scope_name", DataType::Utf8) => {
            Arc::new(StringArray::from_iter_values((0..rows).map(|_| "checkout")))
        }
        (_, DataType::Utf8) => Arc::new(StringArray::from_iter_values((0..rows).map(|_| ""))),
        ("kind", DataType::Int32) => Arc::new(Int32Array::from_iter_values(
            ids.map(|id| (id % 5) as i32 + 1),
        )),
        (_, DataType::Int32) => Arc::new(Int32Array::from_iter_values((0..rows).map(|_| 0))),
        ("dropped_attributes_count", DataType::UInt32) => {
            Arc::new(UInt32Array::from_iter_values(ids.map(|id| id as u32)))
        }
        (_, DataType::UInt32) => Arc::new(UInt32Array::from_iter_values((0..rows).map(|_| 0))),
        (name, DataType::Timestamp(TimeUnit::Nanosecond, tz)) => {
            let base =
                1_800_000_000_000_000_000i64 + if name.starts_with("end") { 1500 } else { 0 };
            Arc::new(
                TimestampNanosecondArray::from_iter_values(ids.map(|id| base + id as i64 * 1000))
                    .with_timezone_opt(tz.clone()),
            )
        }
        (_, dt) if field.is_nullable() => new_null_array(dt, rows),
        (name, dt) => panic!("trace_batch: no generator for {name}: {dt}"),
    }
}

/// A non-null `FixedSizeBinary(size)` column from concatenated values (empty is fine).
fn fixed(size: i32, bytes: impl Iterator<Item = u8>) -> FixedSizeBinaryArray {
    FixedSizeBinaryArray::try_new(size, Buffer::from_vec(bytes.collect::<Vec<u8>>()), None).unwrap()
}

/// A `Map<Utf8, AnyValue>` column with `per_row` entries per row.
fn attributes(rows: usize, per_row: usize, seed: u64) -> MapArray {
    let n = rows * per_row;
    let mut keys = StringBuilder::new();
    let mut types = UInt8Builder::new();
    let mut strings = StringBuilder::new();
    let mut ints = Int64Builder::new();
    let mut doubles = Float64Builder::new();
    for i in 0..n {
        let j = i % per_row.max(1);
        keys.append_value(format!("attr.key.{j}"));
        match j % 3 {
            0 => {
                types.append_value(schema::value_type::STRING);
                strings.append_value(format!("value-{}", (seed + i as u64) % 1000));
                ints.append_null();
                doubles.append_null();
            }
            1 => {
                types.append_value(schema::value_type::INT);
                strings.append_null();
                ints.append_value((seed + i as u64) as i64);
                doubles.append_null();
            }
            _ => {
                types.append_value(schema::value_type::DOUBLE);
                strings.append_null();
                ints.append_null();
                doubles.append_value(i as f64 * 0.5);
            }
        }
    }
    let value_fields = schema::any_value_fields();
    let value_columns: Vec<ArrayRef> = value_fields
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "type" => Arc::new(types.finish()),
                "string_value" => Arc::new(strings.finish()),
                "int_value" => Arc::new(ints.finish()),
                "double_value" => Arc::new(doubles.finish()),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    let values = StructArray::try_new(value_fields, value_columns, None).unwrap();
    let entries_field = schema::attributes_entries_field();
    let DataType::Struct(entry_fields) = entries_field.data_type() else {
        unreachable!()
    };
    let entries = StructArray::try_new(
        entry_fields.clone(),
        vec![Arc::new(keys.finish()), Arc::new(values)],
        None,
    )
    .unwrap();
    MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths(std::iter::repeat_n(per_row, rows)),
        entries,
        None,
        false,
    )
    .unwrap()
}

/// `batch` with its span ids replaced by `first_id..` (cheap: only that column is rebuilt).
pub(crate) fn with_span_ids(batch: &RecordBatch, first_id: u64) -> RecordBatch {
    let idx = batch.schema().index_of("span_id").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[idx] = Arc::new(fixed(
        8,
        (first_id..first_id + batch.num_rows() as u64).flat_map(|id| id.to_be_bytes()),
    ));
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// The span ids (as written by [`trace_batch`]) of a traces batch.
pub(crate) fn span_ids(batch: &RecordBatch) -> Vec<u64> {
    let col = batch
        .column_by_name("span_id")
        .unwrap()
        .as_any()
        .downcast_ref::<FixedSizeBinaryArray>()
        .unwrap();
    (0..col.len())
        .map(|i| u64::from_be_bytes(col.value(i).try_into().unwrap()))
        .collect()
}

/// Reads a whole IPC stream file; panics if it is not a complete, valid stream.
pub(crate) fn read_stream(path: &Path) -> Vec<RecordBatch> {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let reader = StreamReader::try_new_buffered(f, None)
        .unwrap_or_else(|e| panic!("schema of {}: {e}", path.display()));
    reader
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("batches of {}: {e}", path.display()))
}

/// Rows pyarrow reads from all `*.arrow` files in `dir` (`pyarrow.ipc.open_stream`), or `None`
/// when pyarrow is not installed (CI wires a Python check separately).
pub(crate) fn pyarrow_rows(dir: &Path) -> Option<u64> {
    let has = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        eprintln!("pyarrow not installed: skipping the pyarrow check");
        return None;
    }
    let script = "import sys, glob, pyarrow.ipc as ipc\n\
                  n = 0\n\
                  for p in sorted(glob.glob(sys.argv[1] + '/*.arrow')):\n\
                  \x20   n += ipc.open_stream(p).read_all().num_rows\n\
                  print(n)\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    )
}

/// File names in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "otlp-arrow-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
