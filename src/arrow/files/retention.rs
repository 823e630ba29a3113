//! Retention: delete finalized files by age and by total size, oldest first.
//!
//! Only finalized `.arrow` files named by us for the signal are candidates; a file in progress
//! (`.partial`) and any file not named by us are never deleted and never counted. A file's age
//! is `now` minus the creation time in its name (not its mtime, which copies and `touch`
//! change). Two passes:
//!
//! 1. **age**: every file older than [`RetentionPolicy::max_age`] is deleted, unless the
//!    [`DeletionGate`] vetoes it (the forwarder still needs it);
//! 2. **total size**: while the finalized files add up to more than
//!    [`RetentionPolicy::max_total_bytes`], the oldest is deleted, vetoed or not: the disk
//!    budget is a hard limit. The gate is told about every deletion and why, so a forwarder
//!    can count what it never sent.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::error::{StorageError, StorageOp};
use super::fs::{Fs, RealFs};
use super::list_with;
use super::name::{FileState, unix_nanos};
use crate::arrow::stats::StorageStats;
use crate::signal::Signal;

/// Limits on a signal directory's finalized files. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// Files older than this (by the time in their name) are deleted unless vetoed.
    pub max_age: Option<Duration>,
    /// The finalized files together stay at or below this many bytes; oldest go first.
    pub max_total_bytes: Option<u64>,
}

/// Why retention deleted a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteReason {
    /// Older than `max_age`, and the gate allowed it.
    Age,
    /// Over `max_total_bytes`; the gate was not asked.
    TotalBytes,
}

/// Asked before retention deletes a file by age, and told after every retention deletion.
///
/// The forwarder implements this to keep files it has not sent yet. Any
/// `Fn(&Path) -> bool + Send` closure is a gate (`true` = may delete).
pub trait DeletionGate: Send {
    /// May the finalized file `path` be deleted because it is too old? `false` keeps it for
    /// now (it is asked again at the next retention pass).
    fn may_delete(&self, path: &Path) -> bool;

    /// `path` was deleted for `reason`. The default does nothing.
    fn deleted(&self, path: &Path, reason: DeleteReason) {
        let _ = (path, reason);
    }
}

impl<F: Fn(&Path) -> bool + Send> DeletionGate for F {
    fn may_delete(&self, path: &Path) -> bool {
        self(path)
    }
}

impl fmt::Debug for dyn DeletionGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeletionGate")
    }
}

/// A file retention deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Why.
    pub reason: DeleteReason,
}

/// What one retention pass did.
#[derive(Debug, Default)]
pub struct RetentionReport {
    /// Files deleted, in deletion order (oldest first within each pass).
    pub deleted: Vec<Deleted>,
    /// Finalized files and bytes left.
    pub kept_files: u64,
    /// Bytes of the finalized files left.
    pub kept_bytes: u64,
    /// Deletions that failed (the files stay; the next pass tries again).
    pub errors: Vec<StorageError>,
}

/// Applies `policy` to `signal`'s finalized files in `dir` at `now`, counting into `stats`.
/// `Err` only if the directory cannot be listed (a missing directory holds nothing).
pub fn apply_retention(
    dir: &Path,
    signal: Signal,
    policy: &RetentionPolicy,
    gate: Option<&dyn DeletionGate>,
    now: SystemTime,
    stats: &StorageStats,
) -> Result<RetentionReport, StorageError> {
    apply_retention_with(&RealFs, dir, signal, policy, gate, now, stats)
}

pub(crate) fn apply_retention_with(
    fs: &dyn Fs,
    dir: &Path,
    signal: Signal,
    policy: &RetentionPolicy,
    gate: Option<&dyn DeletionGate>,
    now: SystemTime,
    stats: &StorageStats,
) -> Result<RetentionReport, StorageError> {
    let listed = match list_with(fs, dir, signal) {
        Ok(files) => files,
        Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => Vec::new(),
        Err(e) => return Err(e),
    };
    // (path, size) of finalized files, oldest first (the listing is sorted by name).
    let mut files: Vec<(PathBuf, u64, u64)> = Vec::new();
    let mut report = RetentionReport::default();
    for f in listed {
        if f.state != FileState::Finalized {
            continue;
        }
        match fs.file_len(&f.path) {
            Ok(len) => files.push((f.path, len, f.name.time_unix_nanos())),
            // Deleted by someone else between listing and now: not ours to count.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => report
                .errors
                .push(StorageError::io(StorageOp::ListDir, &f.path, e)),
        }
    }

    let mut keep = vec![true; files.len()];
    let delete = |i: usize, reason: DeleteReason, report: &mut RetentionReport| -> bool {
        let (path, bytes, _) = &files[i];
        match fs.remove_file(path) {
            Ok(()) => {
                stats.counters().retention_deleted_files(1);
                stats.counters().retention_deleted_bytes(*bytes);
                if let Some(g) = gate {
                    g.deleted(path, reason);
                }
                report.deleted.push(Deleted {
                    path: path.clone(),
                    bytes: *bytes,
                    reason,
                });
                true
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => {
                report
                    .errors
                    .push(StorageError::io(StorageOp::Remove, path, e));
                false
            }
        }
    };

    if let Some(max_age) = policy.max_age {
        let now_ns = unix_nanos(now);
        let max_age_ns = u64::try_from(max_age.as_nanos()).unwrap_or(u64::MAX);
        for i in 0..files.len() {
            let (path, _, time_ns) = &files[i];
            let too_old = now_ns.saturating_sub(*time_ns) > max_age_ns;
            if !too_old {
                // Sorted by time: everything after is younger.
                break;
            }
            if gate.is_none_or(|g| g.may_delete(path)) && delete(i, DeleteReason::Age, &mut report)
            {
                keep[i] = false;
            }
        }
    }

    if let Some(max_total) = policy.max_total_bytes {
        let mut total: u64 = (0..files.len())
            .filter(|&i| keep[i])
            .map(|i| files[i].1)
            .sum();
        for i in 0..files.len() {
            if total <= max_total {
                break;
            }
            if keep[i] && delete(i, DeleteReason::TotalBytes, &mut report) {
                keep[i] = false;
                total -= files[i].1;
            }
        }
    }

    for (i, f) in files.iter().enumerate() {
        if keep[i] {
            report.kept_files += 1;
            report.kept_bytes += f.1;
        }
    }
    stats
        .counters()
        .retention_errors(report.errors.len() as u64);
    stats
        .counters()
        .on_disk(report.kept_files, report.kept_bytes);
    Ok(report)
}
