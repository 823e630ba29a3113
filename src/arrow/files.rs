//! The on-disk layout of stored telemetry: directories, file names, listing, crash recovery
//! and retention.
//!
//! Layout (a public contract, DESIGN.md): `<output_dir>/traces/`, `<output_dir>/metrics/`,
//! `<output_dir>/logs/` ([`signal_dir`]). Each holds Arrow IPC **stream** files:
//!
//! - `traces-20261201T074512.123456789Z-000000.arrow`: finalized, a complete stream that
//!   `pyarrow.ipc.open_stream` (or arrow-rs `StreamReader`) reads to the end;
//! - `traces-20261201T074512.123456789Z-000000.arrow.partial`: being written (or left by a crash
//!   and repaired by [`recover_dir`] when a writer next opens the directory). It does not end
//!   in `.arrow`, so readers that glob `*.arrow` only ever see complete files.
//!
//! Every file records the global row number of its first row in its schema's custom metadata
//! ([`FIRST_ROW_KEY`], read with [`first_row`] / [`row_range`]; see [`crate::arrow::tap`]).
//!
//! Names sort lexically in creation-time order ([`FileName`]). Anything in a directory that is
//! not exactly one of our names is never read, renamed, counted or deleted.
//!
//! Promises: a finalized file appears only through an atomic rename of a complete stream (after
//! `fsync` unless the writer was told not to); recovery keeps every complete record batch of a
//! crashed file and nothing torn; no file with zero record batches is left behind; retention
//! ([`apply_retention`]) deletes only finalized files of ours, oldest first.
//!
//! All file-system access goes through a small internal seam (`fs`), so tests can inject
//! `ENOSPC`/`EACCES` and similar failures.
#![forbid(unsafe_code)]

mod error;
pub(crate) mod fs;
mod name;
mod recovery;
mod retention;
mod rows;

use std::path::{Path, PathBuf};

pub use error::{StorageError, StorageOp};
pub use name::{FINALIZED_SUFFIX, FileName, FileState, MAX_SEQ, PARTIAL_SUFFIX, unix_nanos};
pub use recovery::{END_OF_STREAM, RecoveryOutcome, RecoveryReport, recover_dir};
pub use retention::{
    DeleteReason, Deleted, DeletionGate, RetentionPolicy, RetentionReport, apply_retention,
};
pub use rows::{FIRST_ROW_KEY, first_row, row_range};

pub(crate) use recovery::{recover_dir_with, seal};
pub(crate) use retention::apply_retention_with;
pub(crate) use rows::{next_row_after, schema_with_first_row};

use crate::signal::Signal;
use fs::{Fs, RealFs};

/// The directory of `signal`'s files: `<output_dir>/<signal>` (e.g. `./otlp-data/traces`).
pub fn signal_dir(output_dir: &Path, signal: Signal) -> PathBuf {
    output_dir.join(signal.as_str())
}

/// One of our files, as found in a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Full path.
    pub path: PathBuf,
    /// Parsed name.
    pub name: FileName,
    /// Finalized or in progress.
    pub state: FileState,
}

/// Lists `signal`'s files in `dir` (ours only: regular files whose names parse, for this
/// signal), oldest first. The forwarder reads finalized files in this order.
pub fn list(dir: &Path, signal: Signal) -> Result<Vec<ListedFile>, StorageError> {
    list_with(&RealFs, dir, signal)
}

pub(crate) fn list_with(
    fs: &dyn Fs,
    dir: &Path,
    signal: Signal,
) -> Result<Vec<ListedFile>, StorageError> {
    let entries = fs
        .list(dir)
        .map_err(|e| StorageError::io(StorageOp::ListDir, dir, e))?;
    let mut out: Vec<ListedFile> = entries
        .into_iter()
        .filter(|e| e.is_file)
        .filter_map(|e| {
            let (name, state) = FileName::parse(&e.name)?;
            (name.signal() == signal).then(|| ListedFile {
                path: dir.join(&e.name),
                name,
                state,
            })
        })
        .collect();
    // The same name in both states (a crash between writing the end marker and renaming
    // cannot produce this, but a copy can) sorts finalized first; both are kept.
    out.sort_by_key(|f| (f.name, f.state == FileState::InProgress));
    Ok(out)
}
