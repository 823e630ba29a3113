//! The output directory's lock: one pipeline per directory at a time.
//!
//! Two processes (or two pipelines in one process) writing the same output directory would
//! break every storage promise at once: each one's crash recovery would finalize the other's
//! in-progress file, both would number rows from the same point, and retention would delete
//! files the other still writes. So a pipeline holds an exclusive advisory lock
//! ([`File::try_lock`], `flock(2)` on Unix) on the output directory itself, from before it
//! opens any file until after its drains have finished. Locking the directory's own descriptor
//! leaves nothing in the directory (which holds only the signal subdirectories and their
//! files), and the kernel releases the lock when the holder exits, however it exits: a
//! SIGKILLed service leaves no stale lock behind. Readers (`cat`, pyarrow, polars, DuckDB)
//! never take it.
#![forbid(unsafe_code)]

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// A held lock on an output directory; released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Why the output directory could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another pipeline (in this process or another) holds the directory.
    InUse(PathBuf),
    /// The directory or the lock file could not be created or locked.
    Io(PathBuf, std::io::Error),
}

impl core::fmt::Display for LockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LockError::InUse(p) => write!(
                f,
                "output directory {} is in use by another otlp-arrow pipeline (it holds the \
                 directory's lock); give each process its own output_dir",
                p.display()
            ),
            LockError::Io(p, e) => write!(f, "locking {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for LockError {}

impl DirLock {
    /// Creates `dir` if needed and takes its lock without waiting.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.to_path_buf();
        std::fs::create_dir_all(dir).map_err(|e| LockError::Io(path.clone(), e))?;
        // A directory opens read-only on Unix, and `flock` takes its descriptor like a file's.
        let file = File::open(dir).map_err(|e| LockError::Io(path.clone(), e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse(path)),
            Err(TryLockError::Error(e)) => Err(LockError::Io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "otlp-arrow-lock-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = temp("twice").join("nested");
        let first = DirLock::acquire(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "nothing left in it"
        );
        let err = DirLock::acquire(&dir).unwrap_err();
        assert!(matches!(err, LockError::InUse(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("is in use by another otlp-arrow pipeline"),
            "{msg}"
        );
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        drop(first);
        let again = DirLock::acquire(&dir).unwrap();
        drop(again);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_an_io_error_naming_it() {
        let base = temp("io");
        std::fs::create_dir_all(&base).unwrap();
        let file = base.join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = DirLock::acquire(&file.join("sub")).unwrap_err();
        assert!(matches!(err, LockError::Io(..)), "{err:?}");
        assert!(err.to_string().contains("plain-file"), "{err}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
