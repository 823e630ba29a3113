//! Failure paths of the writer with injected OS errors (`ENOSPC`, `EACCES`, failing `fsync`,
//! rename, truncate, delete), through the `FaultyFs` seam; real files otherwise.

#[path = "../../../tests/arrow_support/mod.rs"]
mod arrow_support;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::arrow::files::fs::{FaultyFs, Op};
use crate::arrow::schema;
use arrow_support::{TempDir, names, read_stream, span_ids, trace_batch};

const ENOSPC: i32 = 28;
const EACCES: i32 = 13;
const EIO: i32 = 5;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000 + secs)
}

fn opts(sync: SyncPolicy) -> WriterOptions {
    WriterOptions {
        max_file_bytes: u64::MAX,
        max_file_age: Duration::from_secs(1 << 30),
        retention: RetentionPolicy::default(),
        compression: Compression::None,
        zstd_level: 1,
        sync,
    }
}

fn open(out: &Path, o: WriterOptions) -> (SignalWriter, FaultyFs, Arc<StorageStats>) {
    let fs = FaultyFs::new();
    let stats = Arc::new(StorageStats::new());
    let w = SignalWriter::open_with(fs.shared(), out, Signal::Traces, o, stats.clone()).unwrap();
    (w, fs, stats)
}

fn dir_of(out: &Path) -> PathBuf {
    signal_dir(out, Signal::Traces)
}

/// Span ids across the finalized files, in name order; panics on any `.partial`.
fn stored_ids(dir: &Path) -> Vec<u64> {
    let all = names(dir);
    assert!(
        all.iter().all(|n| n.ends_with(".arrow")),
        "unfinished files: {all:?}"
    );
    all.iter()
        .flat_map(|n| read_stream(&dir.join(n)))
        .flat_map(|b| span_ids(&b))
        .collect()
}

#[test]
fn disk_full_mid_batch_salvages_the_file_and_the_retry_stores_the_batch_once() {
    let tmp = TempDir::new("enospc");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::OnFinalize));
    w.write(&trace_batch(50, 4, 0), t(0)).unwrap();
    w.write(&trace_batch(50, 4, 50), t(1)).unwrap();
    let partial = w.in_progress().unwrap().to_path_buf();
    // The disk fills 1000 bytes into the next batch.
    fs.write_budget(Some(1000));
    let e = w.write(&trace_batch(50, 4, 100), t(2)).unwrap_err();
    assert_eq!(e.op(), StorageOp::WriteBatch);
    assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
    assert_eq!(e.raw_os_error(), Some(ENOSPC));
    assert_eq!(e.path(), partial);
    assert!(e.is_retryable());
    assert!(e.to_string().contains("No space left on device"), "{e}");
    // The torn batch is cut; the file with its two good batches is finalized at once.
    assert!(w.in_progress().is_none());
    assert_eq!(
        stored_ids(&dir_of(tmp.path())),
        (0..100).collect::<Vec<_>>()
    );
    let s = stats.snapshot();
    assert_eq!(
        (s.write_errors, s.salvaged_files, s.files_finalized),
        (1, 1, 1)
    );
    // Still full: the retry fails cleanly (no zero-batch file left behind).
    fs.write_budget(Some(0));
    let e = w.write(&trace_batch(50, 4, 100), t(3)).unwrap_err();
    assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
    assert_eq!(e.op(), StorageOp::CreateFile);
    assert_eq!(names(&dir_of(tmp.path())).len(), 1);
    // Space again: the retried batch is stored exactly once.
    fs.write_budget(None);
    let mut backoff = Backoff::with_seed(Duration::from_millis(1), Duration::from_millis(8), 1);
    assert!(backoff.next_delay() <= Duration::from_millis(1));
    w.write(&trace_batch(50, 4, 100), t(4)).unwrap();
    backoff.reset();
    w.close(t(5)).unwrap();
    assert_eq!(
        stored_ids(&dir_of(tmp.path())),
        (0..150).collect::<Vec<_>>()
    );
    let s = stats.snapshot();
    assert_eq!(
        (s.batches_written, s.rows_written, s.write_errors),
        (3, 150, 2)
    );
}

#[test]
fn permission_denied_creating_a_file() {
    let tmp = TempDir::new("eacces");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::Never));
    fs.fail(Op::CreateNew, EACCES, 0, 2);
    for i in 0..2 {
        let e = w.write(&trace_batch(3, 1, 0), t(i)).unwrap_err();
        assert_eq!(e.op(), StorageOp::CreateFile);
        assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
        assert!(e.path().starts_with(dir_of(tmp.path())));
        assert!(e.to_string().starts_with("creating file "), "{e}");
    }
    assert!(names(&dir_of(tmp.path())).is_empty());
    w.write(&trace_batch(3, 1, 0), t(2)).unwrap();
    w.close(t(3)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2]);
    assert_eq!(stats.snapshot().write_errors, 2);
}

#[test]
fn permission_denied_creating_the_directory() {
    let tmp = TempDir::new("mkdir");
    let fs = FaultyFs::new();
    fs.fail(Op::CreateDir, EACCES, 0, 1);
    let e = SignalWriter::open_with(
        fs.shared(),
        tmp.path(),
        Signal::Logs,
        opts(SyncPolicy::Never),
        Arc::default(),
    )
    .unwrap_err();
    assert_eq!(e.op(), StorageOp::CreateDir);
    assert_eq!(e.path(), tmp.path().join("logs"));
}

#[test]
fn rename_failures_leave_a_partial_that_tick_repairs() {
    let tmp = TempDir::new("rename");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::OnFinalize));
    w.write(&trace_batch(4, 2, 0), t(0)).unwrap();
    w.write(&trace_batch(4, 2, 4), t(1)).unwrap();
    // Finalize's rename and the salvage's rename both fail.
    fs.fail(Op::Rename, EACCES, 0, 2);
    let e = w.finalize(t(2)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
    let left = names(&dir_of(tmp.path()));
    assert_eq!(left.len(), 1);
    assert!(left[0].ends_with(".arrow.partial"));
    // New batches go to a new file meanwhile; tick repairs the old one, all batches kept.
    w.write(&trace_batch(4, 2, 8), t(3)).unwrap();
    w.tick(t(4)).unwrap();
    w.close(t(5)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), (0..12).collect::<Vec<_>>());
    let s = stats.snapshot();
    assert_eq!((s.recovered_files, s.recovered_batches), (1, 2));
    assert_eq!(s.write_errors, 2);
}

#[test]
fn a_failed_fsync_drops_the_unsynced_batch_so_the_retry_does_not_duplicate_it() {
    let tmp = TempDir::new("fsync");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::EveryBatch));
    w.write(&trace_batch(5, 1, 0), t(0)).unwrap();
    fs.fail(Op::SyncFile, EIO, 0, 1);
    let e = w.write(&trace_batch(5, 1, 5), t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::SyncFile);
    // The batch reached the file before its fsync failed; the salvage cuts it anyway.
    assert_eq!(stored_ids(&dir_of(tmp.path())), (0..5).collect::<Vec<_>>());
    w.write(&trace_batch(5, 1, 5), t(2)).unwrap();
    w.close(t(3)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), (0..10).collect::<Vec<_>>());
    assert!(fs.calls(Op::SyncDir) >= 3, "EveryBatch syncs the directory");
    assert_eq!(stats.snapshot().write_errors, 1);
}

#[test]
fn when_the_salvage_fails_too_tick_recovers_the_complete_prefix() {
    let tmp = TempDir::new("salvage");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::Never));
    w.write(&trace_batch(20, 3, 0), t(0)).unwrap();
    fs.write_budget(Some(700));
    fs.fail(Op::SetLen, EIO, 0, 1);
    let e = w.write(&trace_batch(20, 3, 20), t(1)).unwrap_err();
    assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
    let left = names(&dir_of(tmp.path()));
    assert!(left[0].ends_with(".arrow.partial"), "{left:?}");
    fs.write_budget(None);
    w.tick(t(2)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), (0..20).collect::<Vec<_>>());
    let s = stats.snapshot();
    assert_eq!((s.recovered_files, s.recovery_bytes_cut), (1, 700));
    assert_eq!(s.write_errors, 2, "the write and the salvage");
}

#[test]
fn a_failed_rotation_does_not_fail_the_write_that_stored_its_batch() {
    let tmp = TempDir::new("rotate-fail");
    let (mut w, fs, stats) = open(
        tmp.path(),
        WriterOptions {
            max_file_bytes: 1,
            ..opts(SyncPolicy::Never)
        },
    );
    fs.fail(Op::Rename, EACCES, 0, 2);
    // Stored (in a file awaiting repair), so Ok: a retry would duplicate it.
    w.write(&trace_batch(3, 1, 0), t(0)).unwrap();
    w.write(&trace_batch(3, 1, 3), t(1)).unwrap();
    // The deferred rename error comes out of tick, after tick repaired the file.
    let e = w.tick(t(2)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    w.tick(t(3)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), (0..6).collect::<Vec<_>>());
    assert_eq!(stats.snapshot().recovered_files, 1);
}

#[test]
fn recovery_errors_at_open_are_reported_by_the_first_tick() {
    let tmp = TempDir::new("open-rec");
    let (mut w, _, _) = open(tmp.path(), opts(SyncPolicy::Never));
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    drop(w); // crash: leaves a .partial
    let fs = FaultyFs::new();
    fs.fail(Op::OpenRw, EIO, 0, 1);
    let stats = Arc::new(StorageStats::new());
    let mut w = SignalWriter::open_with(
        fs.shared(),
        tmp.path(),
        Signal::Traces,
        opts(SyncPolicy::Never),
        stats.clone(),
    )
    .unwrap();
    assert_eq!(stats.snapshot().write_errors, 1);
    let e = w.tick(t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Recover);
    assert_eq!(
        stats.snapshot().recovered_files,
        1,
        "tick retried and succeeded"
    );
    w.tick(t(2)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1]);
}

#[test]
fn retention_delete_failures_are_returned_by_tick_and_retried() {
    let tmp = TempDir::new("ret-fail");
    let (mut w, fs, stats) = open(
        tmp.path(),
        WriterOptions {
            retention: RetentionPolicy {
                max_age: Some(Duration::from_secs(10)),
                max_total_bytes: None,
            },
            ..opts(SyncPolicy::Never)
        },
    );
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    w.finalize(t(0)).unwrap();
    fs.fail(Op::Remove, EACCES, 0, 1);
    let e = w.tick(t(100)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Remove);
    assert_eq!(stats.snapshot().retention_errors, 1);
    assert_eq!(names(&dir_of(tmp.path())).len(), 1);
    w.tick(t(100)).unwrap();
    assert!(names(&dir_of(tmp.path())).is_empty());
    assert_eq!(stats.snapshot().retention_deleted_files, 1);
}

#[test]
fn a_failed_schema_write_leaves_no_file() {
    let tmp = TempDir::new("schema-fail");
    let (mut w, fs, _) = open(tmp.path(), opts(SyncPolicy::Never));
    fs.write_budget(Some(100)); // the schema message is larger
    let e = w.write(&trace_batch(2, 1, 0), t(0)).unwrap_err();
    assert_eq!(e.op(), StorageOp::CreateFile);
    assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
    assert!(names(&dir_of(tmp.path())).is_empty());
}

#[test]
fn writer_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<SignalWriter>();
    assert_eq!(schema_for(Signal::Logs), schema::logs());
}

const ENOENT: i32 = 2;

#[test]
fn accessors_and_debug_show_the_state_without_the_data() {
    let tmp = TempDir::new("debug");
    let o = opts(SyncPolicy::Never);
    let (mut w, _, stats) = open(tmp.path(), o.clone());
    assert_eq!(w.dir(), dir_of(tmp.path()));
    assert_eq!(w.signal(), Signal::Traces);
    assert_eq!(w.schema(), &schema::traces());
    assert_eq!(w.options(), &o);
    assert!(Arc::ptr_eq(w.stats(), &stats));
    let idle = format!("{w:?}");
    assert!(idle.starts_with("SignalWriter {"), "{idle}");
    assert!(idle.contains("current: None"), "{idle}");
    assert!(idle.contains("needs_recovery: false"), "{idle}");
    w.write(&trace_batch(3, 1, 0), t(0)).unwrap();
    let busy = format!("{w:?}");
    let partial = format!("{:?}", w.in_progress().unwrap());
    assert!(busy.contains("current: Some(OpenFile {"), "{busy}");
    assert!(busy.contains(&format!("partial: {partial}")), "{busy}");
    assert!(busy.contains("batches: 1, rows: 3"), "{busy}");
    w.close(t(1)).unwrap();
}

#[test]
fn a_failed_age_rotation_in_write_is_returned_by_the_next_tick() {
    let tmp = TempDir::new("age-write");
    let (mut w, fs, _) = open(
        tmp.path(),
        WriterOptions {
            max_file_age: Duration::from_secs(10),
            ..opts(SyncPolicy::Never)
        },
    );
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    // The rotation's rename and its salvage's rename fail; the batch goes to a new file.
    fs.fail(Op::Rename, EACCES, 0, 2);
    w.write(&trace_batch(2, 1, 2), t(20)).unwrap();
    assert!(w.in_progress().is_some());
    let e = w.tick(t(21)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    w.close(t(22)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2, 3]);
}

#[test]
fn a_failed_age_rotation_in_tick_is_its_error() {
    let tmp = TempDir::new("age-tick");
    let (mut w, fs, stats) = open(
        tmp.path(),
        WriterOptions {
            max_file_age: Duration::from_secs(10),
            ..opts(SyncPolicy::Never)
        },
    );
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    fs.fail(Op::Rename, EACCES, 0, 2);
    let e = w.tick(t(20)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    assert!(w.in_progress().is_none());
    // The same tick repaired the file once the renames worked again.
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1]);
    assert_eq!(stats.snapshot().recovered_files, 1);
    w.tick(t(21)).unwrap();
}

#[test]
fn a_repair_that_fails_again_is_returned_by_tick_and_retried() {
    let tmp = TempDir::new("repair-again");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::Never));
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    // Finalize, its salvage, and the first repair all fail to rename.
    fs.fail(Op::Rename, EACCES, 0, 3);
    assert_eq!(w.finalize(t(1)).unwrap_err().op(), StorageOp::Rename);
    let e = w.tick(t(2)).unwrap_err();
    assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
    assert!(names(&dir_of(tmp.path()))[0].ends_with(".arrow.partial"));
    w.tick(t(3)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1]);
    assert_eq!(stats.snapshot().recovered_files, 1);
}

#[test]
fn close_returns_a_failed_repair_and_the_next_open_finishes_it() {
    let tmp = TempDir::new("close-repair");
    let (mut w, fs, _) = open(tmp.path(), opts(SyncPolicy::Never));
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    fs.fail(Op::Rename, EACCES, 0, 3);
    assert!(w.finalize(t(1)).is_err());
    let e = w.close(t(2)).unwrap_err();
    assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
    assert!(names(&dir_of(tmp.path()))[0].ends_with(".arrow.partial"));
    let stats = Arc::new(StorageStats::new());
    let w = SignalWriter::open(
        tmp.path(),
        Signal::Traces,
        opts(SyncPolicy::Never),
        stats.clone(),
    )
    .unwrap();
    assert_eq!(stats.snapshot().recovered_files, 1);
    w.close(t(3)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1]);
}

#[test]
fn close_returns_an_error_deferred_by_write_after_repairing() {
    let tmp = TempDir::new("close-deferred");
    let (mut w, fs, stats) = open(
        tmp.path(),
        WriterOptions {
            max_file_bytes: 1,
            ..opts(SyncPolicy::Never)
        },
    );
    fs.fail(Op::Rename, EACCES, 0, 2);
    w.write(&trace_batch(3, 1, 0), t(0)).unwrap();
    let e = w.close(t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    // Reported, but nothing lost: close repaired the file.
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2]);
    assert_eq!(stats.snapshot().recovered_files, 1);
}

#[test]
fn a_torn_schema_that_cannot_be_deleted_is_cleaned_up_by_tick() {
    let tmp = TempDir::new("torn-schema");
    let (mut w, fs, _) = open(tmp.path(), opts(SyncPolicy::Never));
    fs.write_budget(Some(100)); // the schema message is larger
    fs.fail(Op::Remove, EACCES, 0, 1);
    let e = w.write(&trace_batch(2, 1, 0), t(0)).unwrap_err();
    assert_eq!(e.op(), StorageOp::CreateFile);
    assert_eq!(names(&dir_of(tmp.path())).len(), 1, "left for repair");
    fs.write_budget(None);
    w.tick(t(1)).unwrap();
    assert!(names(&dir_of(tmp.path())).is_empty());
}

#[test]
fn every_batch_sync_of_a_new_file_failing_leaves_no_file() {
    let tmp = TempDir::new("sync-new");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::EveryBatch));
    fs.fail(Op::SyncDir, EIO, 0, 1);
    let e = w.write(&trace_batch(2, 1, 0), t(0)).unwrap_err();
    assert_eq!(e.op(), StorageOp::SyncDir);
    assert_eq!(e.path(), dir_of(tmp.path()));
    assert!(w.in_progress().is_none());
    assert!(names(&dir_of(tmp.path())).is_empty());
    // Again, and this time the empty file cannot be deleted: tick does it.
    fs.fail(Op::SyncDir, EIO, 0, 1);
    fs.fail(Op::Remove, EACCES, 0, 1);
    assert_eq!(
        w.write(&trace_batch(2, 1, 0), t(1)).unwrap_err().op(),
        StorageOp::SyncDir
    );
    assert_eq!(names(&dir_of(tmp.path())).len(), 1);
    w.tick(t(2)).unwrap();
    assert!(names(&dir_of(tmp.path())).is_empty());
    w.write(&trace_batch(2, 1, 0), t(3)).unwrap();
    w.close(t(4)).unwrap();
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1]);
    assert_eq!(stats.snapshot().write_errors, 2);
}

#[test]
fn a_failed_end_marker_is_salvaged() {
    let tmp = TempDir::new("finish");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::Never));
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap();
    fs.fail(Op::Write, ENOSPC, 0, 1);
    let e = w.finalize(t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::FinishFile);
    assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2, 3]);
    let s = stats.snapshot();
    assert_eq!((s.write_errors, s.salvaged_files), (1, 1));
}

#[test]
fn a_failed_file_sync_at_finalize_is_salvaged() {
    let tmp = TempDir::new("sync-final");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::OnFinalize));
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap();
    fs.fail(Op::SyncFile, EIO, 0, 1);
    let e = w.finalize(t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::SyncFile);
    assert_eq!(e.raw_os_error(), Some(EIO));
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2, 3]);
    let s = stats.snapshot();
    assert_eq!((s.write_errors, s.salvaged_files), (1, 1));
}

#[test]
fn a_failed_directory_sync_after_the_rename_keeps_the_finalized_file() {
    let tmp = TempDir::new("syncdir-final");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::OnFinalize));
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap();
    fs.fail(Op::SyncDir, EIO, 0, 1);
    let e = w.finalize(t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::SyncDir);
    assert_eq!(e.path(), dir_of(tmp.path()));
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2, 3]);
    let s = stats.snapshot();
    assert_eq!(
        (s.write_errors, s.files_finalized, s.salvaged_files),
        (1, 1, 0)
    );
}

#[test]
fn a_salvage_whose_directory_sync_fails_still_counts_the_file_finalized() {
    let tmp = TempDir::new("syncdir-salvage");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::OnFinalize));
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap();
    // The second batch fails; the salvage renames, then its directory sync fails.
    fs.fail(Op::Write, ENOSPC, 0, 1);
    fs.fail(Op::SyncDir, EIO, 0, 1);
    let e = w.write(&trace_batch(4, 1, 4), t(1)).unwrap_err();
    assert_eq!(e.op(), StorageOp::WriteBatch);
    assert_eq!(stored_ids(&dir_of(tmp.path())), [0, 1, 2, 3]);
    let s = stats.snapshot();
    assert_eq!(
        (s.write_errors, s.files_finalized, s.salvaged_files),
        (2, 1, 1)
    );
    w.tick(t(2)).unwrap();
}

#[test]
fn a_file_whose_first_batch_failed_is_deleted() {
    let tmp = TempDir::new("first-batch");
    let (mut w, fs, stats) = open(tmp.path(), opts(SyncPolicy::Never));
    // The schema's write succeeds, the batch's fails.
    fs.fail(Op::Write, ENOSPC, 1, 1);
    let e = w.write(&trace_batch(4, 1, 0), t(0)).unwrap_err();
    assert_eq!(e.op(), StorageOp::WriteBatch);
    assert!(names(&dir_of(tmp.path())).is_empty());
    assert_eq!(stats.snapshot().salvaged_files, 0);
    // Deleting it fails: tick deletes it.
    fs.fail(Op::Write, ENOSPC, 1, 1);
    fs.fail(Op::Remove, EACCES, 0, 1);
    w.write(&trace_batch(4, 1, 0), t(1)).unwrap_err();
    assert_eq!(names(&dir_of(tmp.path())).len(), 1);
    w.tick(t(2)).unwrap();
    assert!(names(&dir_of(tmp.path())).is_empty());
    assert_eq!(stats.snapshot().write_errors, 2);
}

#[test]
fn a_first_batch_file_already_gone_needs_no_repair() {
    let tmp = TempDir::new("first-gone");
    let (mut w, fs, _) = open(tmp.path(), opts(SyncPolicy::Never));
    fs.fail(Op::Write, ENOSPC, 1, 1);
    // `NotFound` from the delete: as if someone removed it first. Nothing is queued for
    // repair, so the next tick opens no file.
    fs.fail(Op::Remove, ENOENT, 0, 1);
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap_err();
    w.tick(t(1)).unwrap();
    assert_eq!(fs.calls(Op::OpenRw), 0);
    assert!(!format!("{w:?}").contains("needs_recovery: true"));
}

#[test]
fn ipc_write_options_apply_the_level_to_zstd_only() {
    // Lz4 and None ignore the level, even one zstd refuses (arrow-ipc errors on any level there).
    assert!(Compression::Lz4.ipc_write_options(99).is_ok());
    assert!(Compression::None.ipc_write_options(99).is_ok());
    assert!(Compression::Zstd.ipc_write_options(-1).is_ok());
    assert!(Compression::Zstd.ipc_write_options(23).is_err());
}
