//! Global row numbers in the files: the `otlp_arrow.first_row` schema metadata key.
//!
//! Every file the writer creates (`.partial`, and so the `.arrow` it becomes) carries, in its
//! IPC schema message's custom metadata, [`FIRST_ROW_KEY`] = the global row number of its first
//! row as a decimal string (see [`crate::arrow::tap`] for what the numbers are). Its rows are
//! exactly `first_row..first_row + num_rows`, in order. Recovery keeps the schema message, so a
//! repaired file keeps the key (and the rows it kept are a prefix of that range).
//!
//! Files written before row numbers existed have no key: [`first_row`] returns `Ok(None)` for
//! them and the forwarder's catch-up skips them.
//!
//! Readers here look only at message headers: [`first_row`] reads the schema message,
//! [`row_range`] also walks the record batch headers (seeking over their bodies).
#![forbid(unsafe_code)]

use std::io::{self, BufReader, Read};
use std::ops::Range;
use std::path::Path;

use arrow_schema::{ArrowError, Schema};

use super::ListedFile;
use super::error::{StorageError, StorageOp};
use super::fs::{Fs, RealFs};
use super::recovery::scan_messages;

/// The schema metadata key holding the global row number of a file's first row.
pub const FIRST_ROW_KEY: &str = "otlp_arrow.first_row";

/// Schema messages larger than this are not ours (ours are a few KiB).
const MAX_SCHEMA_BYTES: usize = 1 << 20;
const CONTINUATION: u32 = 0xFFFF_FFFF;

/// The global row number of the first row of the stored file at `path` (finalized or in
/// progress), from its schema message only. `Ok(None)`: the file has no such key (written by
/// an older version).
///
/// # Errors
/// The file cannot be read, does not start with an Arrow IPC schema message, or the key's
/// value is not a decimal `u64`.
pub fn first_row(path: &Path) -> Result<Option<u64>, StorageError> {
    let file = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
    let mut r = BufReader::with_capacity(16 << 10, file);
    let meta = read_schema_message(&mut r).map_err(|e| e.storage(path))?;
    let message = arrow_ipc::root_as_message(&meta)
        .map_err(|e| Bad::Format(format!("schema message: {e}")).storage(path))?;
    if message.header_as_schema().is_none() {
        return Err(Bad::Format("the first message is not a schema".into()).storage(path));
    }
    first_row_of(&message).map_err(|m| Bad::Format(m).storage(path))
}

/// The global row numbers of the complete record batches of the file at `path`:
/// `first_row..first_row + rows`. `Ok(None)` when the file has no [`FIRST_ROW_KEY`]. For a file
/// in progress this is what a reader can read at this moment (a torn last batch is not
/// counted).
///
/// # Errors
/// As [`first_row`].
pub fn row_range(path: &Path) -> Result<Option<Range<u64>>, StorageError> {
    row_range_with(&RealFs, path)
}

pub(crate) fn row_range_with(fs: &dyn Fs, path: &Path) -> Result<Option<Range<u64>>, StorageError> {
    let mut file = fs.open_read(path).map_err(|e| read_error(path, e))?;
    let len = file.len().map_err(|e| read_error(path, e))?;
    let scan =
        scan_messages(&mut BufReader::new(&mut *file), len).map_err(|e| read_error(path, e))?;
    if !scan.schema_seen {
        return Err(Bad::Format("no complete schema message".into()).storage(path));
    }
    let first = match scan.first_row {
        None => return Ok(None),
        Some(Ok(first)) => first,
        Some(Err(m)) => return Err(Bad::Format(m).storage(path)),
    };
    let rows: u64 = scan.batches.iter().map(|b| b.2).sum();
    Ok(Some(first..first.saturating_add(rows)))
}

/// The row number after the newest numbered file's last complete row, among `files` (sorted
/// oldest first, as listed): where a writer opening this directory continues. Files without
/// the key are passed over (older versions); a file that cannot be read is passed over too and
/// its error returned alongside (numbering then continues after an older file, which the
/// caller's floor must cover). `0` when no file is numbered.
pub(crate) fn next_row_after(fs: &dyn Fs, files: &[ListedFile]) -> (u64, Option<StorageError>) {
    let mut error = None;
    for f in files.iter().rev() {
        match row_range_with(fs, &f.path) {
            Ok(Some(range)) => return (range.end, error),
            Ok(None) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (0, error)
}

/// `schema` with [`FIRST_ROW_KEY`] = `first_row` added to its metadata.
pub(crate) fn schema_with_first_row(schema: &Schema, first_row: u64) -> Schema {
    let metadata = schema
        .metadata()
        .clone()
        .with(FIRST_ROW_KEY, first_row.to_string());
    Schema::new_with_metadata(schema.fields().clone(), metadata)
}

/// The key's value in a schema message: `Ok(None)` when absent (or the message is not a
/// schema), `Err` (a description) when the value is not a `u64`.
pub(crate) fn first_row_of(message: &arrow_ipc::Message<'_>) -> Result<Option<u64>, String> {
    let Some(entries) = message
        .header_as_schema()
        .and_then(|schema| schema.custom_metadata())
    else {
        return Ok(None);
    };
    for kv in entries.iter() {
        if kv.key() == Some(FIRST_ROW_KEY) {
            let value = kv.value().unwrap_or("");
            return match value.parse::<u64>() {
                Ok(v) if !value.starts_with('+') => Ok(Some(v)),
                _ => Err(format!("{FIRST_ROW_KEY} is not a row number: {value:?}")),
            };
        }
    }
    Ok(None)
}

/// Why a file's row numbers could not be read.
#[derive(Debug)]
enum Bad {
    Io(io::Error),
    Format(String),
}

impl Bad {
    fn storage(self, path: &Path) -> StorageError {
        match self {
            Bad::Io(e) => read_error(path, e),
            Bad::Format(m) => {
                StorageError::arrow(StorageOp::ReadFile, path, ArrowError::ParseError(m))
            }
        }
    }
}

fn read_error(path: &Path, e: io::Error) -> StorageError {
    StorageError::io(StorageOp::ReadFile, path, e)
}

/// Reads the stream's first message's flatbuffer (continuation or legacy framing).
fn read_schema_message<R: Read>(r: &mut R) -> Result<Vec<u8>, Bad> {
    let mut word = [0u8; 4];
    r.read_exact(&mut word).map_err(Bad::Io)?;
    if u32::from_le_bytes(word) == CONTINUATION {
        r.read_exact(&mut word).map_err(Bad::Io)?;
    }
    let len = i32::from_le_bytes(word);
    let len = usize::try_from(len)
        .ok()
        .filter(|&n| n > 0 && n <= MAX_SCHEMA_BYTES)
        .ok_or_else(|| Bad::Format(format!("not an Arrow IPC stream (message length {len})")))?;
    let mut meta = vec![0u8; len];
    r.read_exact(&mut meta).map_err(Bad::Io)?;
    Ok(meta)
}
