//! [`StorageError`]: which storage operation failed, on which path, and why.
#![forbid(unsafe_code)]

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;

/// The storage operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageOp {
    /// Creating the signal directory.
    CreateDir,
    /// Listing the signal directory.
    ListDir,
    /// Creating a new `.partial` file (and writing its schema).
    CreateFile,
    /// Appending a record batch to the file in progress.
    WriteBatch,
    /// Writing the end-of-stream marker.
    FinishFile,
    /// `fsync` of a file.
    SyncFile,
    /// `fsync` of the directory.
    SyncDir,
    /// Renaming `.partial` to `.arrow`.
    Rename,
    /// Deleting a file (retention, recovery, an empty file).
    Remove,
    /// Reading, cutting or completing a crashed `.partial` file.
    Recover,
    /// Reading a stored file (its row numbers).
    ReadFile,
}

impl StorageOp {
    fn describe(self) -> &'static str {
        match self {
            StorageOp::CreateDir => "creating directory",
            StorageOp::ListDir => "listing directory",
            StorageOp::CreateFile => "creating file",
            StorageOp::WriteBatch => "writing a record batch to",
            StorageOp::FinishFile => "writing the end-of-stream marker to",
            StorageOp::SyncFile => "syncing file",
            StorageOp::SyncDir => "syncing directory",
            StorageOp::Rename => "renaming",
            StorageOp::Remove => "deleting",
            StorageOp::Recover => "recovering",
            StorageOp::ReadFile => "reading",
        }
    }
}

#[derive(Debug)]
enum Cause {
    Io(io::Error),
    /// Arrow rejected the data itself (encoding, compression); retrying the same batch fails
    /// the same way.
    Arrow(ArrowError),
    SchemaMismatch,
}

/// A failed storage operation.
///
/// `Display` reads like `writing a record batch to /data/traces/traces-...arrow.partial: No
/// space left on device (os error 28)`. [`is_retryable`](Self::is_retryable) tells the drain
/// thread whether to keep the records and retry with [`Backoff`](crate::arrow::writer::Backoff)
/// (full disk, permissions, a removed directory) or to give the batch up (it cannot be encoded,
/// or does not have the signal's schema).
#[derive(Debug)]
pub struct StorageError {
    op: StorageOp,
    path: PathBuf,
    cause: Cause,
}

impl StorageError {
    pub(crate) fn io(op: StorageOp, path: &Path, e: io::Error) -> Self {
        StorageError {
            op,
            path: path.to_path_buf(),
            cause: Cause::Io(e),
        }
    }

    /// I/O errors that arrow wraps are unwrapped, so the kind stays visible.
    pub(crate) fn arrow(op: StorageOp, path: &Path, e: ArrowError) -> Self {
        let cause = match e {
            ArrowError::IoError(_, io) => Cause::Io(io),
            other => Cause::Arrow(other),
        };
        StorageError {
            op,
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn schema_mismatch(path: &Path) -> Self {
        StorageError {
            op: StorageOp::WriteBatch,
            path: path.to_path_buf(),
            cause: Cause::SchemaMismatch,
        }
    }

    /// What was being done.
    pub fn op(&self) -> StorageOp {
        self.op
    }

    /// The file or directory it was done to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The I/O error kind, if an I/O error caused this (e.g. `StorageFull`,
    /// `PermissionDenied`, `NotFound`).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match &self.cause {
            Cause::Io(e) => Some(e.kind()),
            Cause::Arrow(_) | Cause::SchemaMismatch => None,
        }
    }

    /// The raw OS error number, if any (`28` is `ENOSPC` on Linux).
    pub fn raw_os_error(&self) -> Option<i32> {
        match &self.cause {
            Cause::Io(e) => e.raw_os_error(),
            Cause::Arrow(_) | Cause::SchemaMismatch => None,
        }
    }

    /// Whether retrying the same operation later may succeed: true for I/O errors, false when
    /// the batch itself was rejected.
    pub fn is_retryable(&self) -> bool {
        match self.cause {
            Cause::Io(_) => true,
            Cause::Arrow(_) | Cause::SchemaMismatch => false,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.op.describe(), self.path.display())?;
        match &self.cause {
            Cause::Io(e) => write!(f, "{e}"),
            Cause::Arrow(e) => write!(f, "{e}"),
            Cause::SchemaMismatch => f.write_str("the batch does not have this signal's schema"),
        }
    }
}

impl Error for StorageError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::Io(e) => Some(e),
            Cause::Arrow(e) => Some(e),
            Cause::SchemaMismatch => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_failed_where() {
        let e = StorageError::io(
            StorageOp::WriteBatch,
            Path::new("/d/traces/x.arrow.partial"),
            io::Error::from_raw_os_error(28),
        );
        let s = e.to_string();
        assert!(
            s.starts_with("writing a record batch to /d/traces/x.arrow.partial: "),
            "{s}"
        );
        assert!(s.contains("os error 28"), "{s}");
        assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
        assert!(e.is_retryable());
        assert!(e.source().is_some());

        let wrapped = StorageError::arrow(
            StorageOp::FinishFile,
            Path::new("/p"),
            ArrowError::from(io::Error::from_raw_os_error(13)),
        );
        assert_eq!(wrapped.io_kind(), Some(io::ErrorKind::PermissionDenied));
        let bad = StorageError::schema_mismatch(Path::new("/d/logs"));
        assert!(!bad.is_retryable());
        assert_eq!(bad.io_kind(), None);
        assert!(bad.to_string().contains("schema"));
    }

    #[test]
    fn every_op_reads_as_what_was_being_done() {
        let p = Path::new("/d/x");
        for (op, text) in [
            (StorageOp::CreateDir, "creating directory /d/x: "),
            (StorageOp::ListDir, "listing directory /d/x: "),
            (StorageOp::CreateFile, "creating file /d/x: "),
            (StorageOp::WriteBatch, "writing a record batch to /d/x: "),
            (
                StorageOp::FinishFile,
                "writing the end-of-stream marker to /d/x: ",
            ),
            (StorageOp::SyncFile, "syncing file /d/x: "),
            (StorageOp::SyncDir, "syncing directory /d/x: "),
            (StorageOp::Rename, "renaming /d/x: "),
            (StorageOp::Remove, "deleting /d/x: "),
            (StorageOp::Recover, "recovering /d/x: "),
            (StorageOp::ReadFile, "reading /d/x: "),
        ] {
            let e = StorageError::io(op, p, io::Error::from_raw_os_error(2));
            let s = e.to_string();
            assert!(s.starts_with(text), "{op:?}: {s}");
            assert_eq!(e.op(), op);
            assert_eq!(e.path(), p);
            assert_eq!(e.raw_os_error(), Some(2));
        }
    }

    #[test]
    fn arrow_rejections_are_final_and_keep_their_cause() {
        let e = StorageError::arrow(
            StorageOp::WriteBatch,
            Path::new("/d/t.arrow.partial"),
            ArrowError::InvalidArgumentError("bad buffer".into()),
        );
        assert!(!e.is_retryable());
        assert_eq!(e.io_kind(), None);
        assert_eq!(e.raw_os_error(), None);
        assert_eq!(
            e.to_string(),
            "writing a record batch to /d/t.arrow.partial: Invalid argument error: bad buffer"
        );
        let source = e.source().expect("the arrow error is the source");
        assert!(source.is::<ArrowError>(), "{source:?}");

        let io = StorageError::io(
            StorageOp::Rename,
            Path::new("/d"),
            io::Error::from_raw_os_error(13),
        );
        assert!(io.source().expect("the io error").is::<io::Error>());

        let bad = StorageError::schema_mismatch(Path::new("/d/logs"));
        assert_eq!(bad.op(), StorageOp::WriteBatch);
        assert_eq!(bad.raw_os_error(), None);
        assert!(bad.source().is_none());
        assert_eq!(
            bad.to_string(),
            "writing a record batch to /d/logs: the batch does not have this signal's schema"
        );
    }
}
