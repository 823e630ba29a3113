//! Storage counters: what one signal's writer did, readable from any thread.
//!
//! One [`StorageStats`] belongs to one [`SignalWriter`](crate::arrow::writer::SignalWriter)
//! (so every counter is per signal); the writer's drain thread updates it and anyone holding the
//! `Arc` (the admin endpoint, `otlp_arrow_stats`) reads it. Counters are monotonic `u64`s
//! updated with `Relaxed` atomics: each one is exact on its own, but a [`snapshot`] taken while
//! the writer runs is not one consistent instant across counters (no counter is ever ahead of
//! the work it counts, though). The two `*_on_disk` values are gauges, refreshed whenever the
//! writer lists its directory (after each finalize and in `tick`).
//!
//! Nothing here allocates or locks.
//!
//! [`snapshot`]: StorageStats::snapshot
#![forbid(unsafe_code)]

use crate::sync::{AtomicU64, Ordering};

macro_rules! storage_stats {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// Live counters of one signal's storage (atomics; see the module docs).
        #[derive(Debug, Default)]
        pub struct StorageStats {
            $( $(#[$doc])* $name: AtomicU64, )*
        }

        /// A plain copy of [`StorageStats`] at one moment (see [`StorageStats::snapshot`]).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct StorageStatsSnapshot {
            $( $(#[$doc])* pub $name: u64, )*
        }

        impl StorageStats {
            /// Reads every counter (each with a `Relaxed` load).
            pub fn snapshot(&self) -> StorageStatsSnapshot {
                StorageStatsSnapshot {
                    $( $name: self.$name.load(Ordering::Relaxed), )*
                }
            }
        }
    };
}

storage_stats! {
    /// Rows in batches written to files (each batch counted once, when its write succeeded).
    rows_written,
    /// Record batches written to files.
    batches_written,
    /// Bytes written to files, as handed to the operating system (IPC framing included).
    bytes_written,
    /// Files renamed from `.partial` to `.arrow` by the writer (rotation, finalize, or the
    /// salvage of a file whose later write failed).
    files_finalized,
    /// Failed storage operations of the writer (creating, writing, finishing, syncing,
    /// renaming, repairing files). Each is also returned to the caller, or by the next `tick`.
    write_errors,
    /// Files the writer closed early after a failed write, keeping their complete batches.
    salvaged_files,
    /// Crashed `.partial` files repaired into `.arrow` files by recovery.
    recovered_files,
    /// Complete record batches kept by recovery.
    recovered_batches,
    /// Rows in the batches kept by recovery.
    recovered_rows,
    /// Bytes cut off the end of repaired files (incomplete messages after the last complete one).
    recovery_bytes_cut,
    /// `.partial` files deleted by recovery because they held no complete batch.
    recovery_deleted_files,
    /// Finalized files deleted by retention.
    retention_deleted_files,
    /// Bytes of the finalized files deleted by retention.
    retention_deleted_bytes,
    /// Failed retention deletions or listings (retried at the next `tick`).
    retention_errors,
    /// Files in progress that disappeared under the writer (e.g. the directory was removed).
    lost_files,
    /// Rows in the files counted by `lost_files`.
    lost_rows,
    /// Gauge: finalized files of this signal on disk at the last listing.
    files_on_disk,
    /// Gauge: bytes of the finalized files of this signal on disk at the last listing.
    bytes_on_disk,
}

impl StorageStats {
    /// All counters zero.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set(gauge: &AtomicU64, n: u64) {
        gauge.store(n, Ordering::Relaxed);
    }
}

/// Field access for the writer and the file functions (crate-internal; readers use
/// [`StorageStats::snapshot`]).
impl StorageStats {
    pub(crate) fn counters(&self) -> Counters<'_> {
        Counters(self)
    }
}

/// Crate-internal handle naming each counter, so that updates read as `stats.counters().rows_written(n)`.
pub(crate) struct Counters<'a>(&'a StorageStats);

macro_rules! counter_methods {
    ($($name:ident),* $(,)?) => {
        impl Counters<'_> {
            $(
                pub(crate) fn $name(&self, n: u64) {
                    StorageStats::add(&self.0.$name, n);
                }
            )*
        }
    };
}

counter_methods!(
    rows_written,
    batches_written,
    bytes_written,
    files_finalized,
    write_errors,
    salvaged_files,
    recovered_files,
    recovered_batches,
    recovered_rows,
    recovery_bytes_cut,
    recovery_deleted_files,
    retention_deleted_files,
    retention_deleted_bytes,
    retention_errors,
    lost_files,
    lost_rows,
);

impl Counters<'_> {
    pub(crate) fn on_disk(&self, files: u64, bytes: u64) {
        StorageStats::set(&self.0.files_on_disk, files);
        StorageStats::set(&self.0.bytes_on_disk, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_snapshot_reads_them() {
        let s = StorageStats::new();
        s.counters().rows_written(5);
        s.counters().rows_written(2);
        s.counters().retention_deleted_bytes(100);
        s.counters().on_disk(3, 300);
        s.counters().on_disk(2, 200);
        let snap = s.snapshot();
        assert_eq!(snap.rows_written, 7);
        assert_eq!(snap.retention_deleted_bytes, 100);
        assert_eq!((snap.files_on_disk, snap.bytes_on_disk), (2, 200));
        assert_eq!(snap.write_errors, 0);
    }
}
