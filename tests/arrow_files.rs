//! Storage files end to end, on real files: naming order, rotation by on-disk size and by age,
//! finalize semantics, no zero-batch files, compression round trips, recovery of a file cut at
//! every byte offset (modern and legacy framing), retention by age and by total size with
//! foreign and in-progress files present, the deletion veto, and real error paths (directory
//! removed while running, a path component that is a file).
//!
//! Injected `ENOSPC` / `EACCES` paths are unit tests next to the writer
//! (`src/arrow/writer/tests.rs`), since the fault-injecting file system is crate-internal.

#[path = "arrow_support/mod.rs"]
mod arrow_support;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::RecordBatch;
use arrow_ipc::MetadataVersion;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use otlp_arrow::arrow::files::{
    self, DeleteReason, DeletionGate, FileName, FileState, RecoveryOutcome, RetentionPolicy,
    StorageOp,
};
use otlp_arrow::arrow::schema;
use otlp_arrow::arrow::stats::StorageStats;
use otlp_arrow::arrow::writer::{Compression, SignalWriter, SyncPolicy, WriterOptions};
use otlp_arrow::signal::Signal;

use arrow_support::{TempDir, names, pyarrow_rows, read_stream, span_ids, trace_batch};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

/// No rotation, no retention, no fsync unless a test asks.
fn opts() -> WriterOptions {
    WriterOptions {
        max_file_bytes: u64::MAX,
        max_file_age: Duration::from_secs(3600 * 24 * 365),
        retention: RetentionPolicy::default(),
        compression: Compression::None,
        zstd_level: 1,
        sync: SyncPolicy::Never,
    }
}

fn open(out: &Path, o: WriterOptions) -> (SignalWriter, Arc<StorageStats>) {
    let stats = Arc::new(StorageStats::new());
    let w = SignalWriter::open(out, Signal::Traces, o, stats.clone()).unwrap();
    (w, stats)
}

fn traces_dir(out: &Path) -> PathBuf {
    files::signal_dir(out, Signal::Traces)
}

fn finalized(dir: &Path) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".arrow"))
        .map(|n| dir.join(n))
        .collect()
}

/// Span ids of every finalized file in `dir`, in file-name order.
fn all_ids(dir: &Path) -> Vec<u64> {
    finalized(dir)
        .iter()
        .flat_map(|p| read_stream(p))
        .flat_map(|b| span_ids(&b))
        .collect()
}

#[test]
fn names_sort_in_creation_order_and_listing_follows() {
    let tmp = TempDir::new("names");
    let (mut w, _) = open(tmp.path(), opts());
    // Same second twice, then a clock step back: names must still increase.
    let times = [t(10), t(10), t(5), t(20), t(20)];
    let mut created = Vec::new();
    for (i, &now) in times.iter().enumerate() {
        w.write(&trace_batch(3, 1, i as u64 * 10), now).unwrap();
        created.push(w.in_progress().unwrap().to_path_buf());
        w.finalize(now).unwrap();
    }
    let dir = traces_dir(tmp.path());
    let got = finalized(&dir);
    assert_eq!(got.len(), 5);
    let want: Vec<PathBuf> = created
        .iter()
        .map(|p| PathBuf::from(p.to_str().unwrap().strip_suffix(".partial").unwrap()))
        .collect();
    assert_eq!(got, want, "lexical order == creation order");
    let listed = files::list(&dir, Signal::Traces).unwrap();
    assert_eq!(
        listed.iter().map(|f| f.path.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(listed.iter().all(|f| f.state == FileState::Finalized));
    // The first name is exactly the documented format.
    let first = got[0].file_name().unwrap().to_str().unwrap().to_owned();
    let (name, _) = FileName::parse(&first).unwrap();
    assert_eq!(name.time(), t(10));
    assert_eq!(first, format!("{name}.arrow"));
    assert!(first.starts_with("traces-20270115T"), "{first}");
    assert_eq!(
        all_ids(&dir),
        vec![0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42]
    );

    // A reopened writer names after everything already there, even with an older clock.
    drop(w);
    let (mut w, _) = open(tmp.path(), opts());
    w.write(&trace_batch(1, 0, 99), t(1)).unwrap();
    let p = w.close(t(1)).unwrap().unwrap();
    assert_eq!(finalized(&dir).last(), Some(&p));
}

#[test]
fn rotates_by_bytes_on_disk() {
    for compression in [Compression::None, Compression::Zstd] {
        let tmp = TempDir::new("size");
        let max = 60_000;
        let (mut w, stats) = open(
            tmp.path(),
            WriterOptions {
                max_file_bytes: max,
                compression,
                ..opts()
            },
        );
        let dir = traces_dir(tmp.path());
        let mut finalized_seen = 0;
        for i in 0..60u64 {
            w.write(&trace_batch(50 + (i as usize % 7) * 10, 4, i * 1000), t(i))
                .unwrap();
            match w.in_progress() {
                Some(p) => {
                    // Still open: what the file holds on disk is under the limit.
                    let on_disk = fs::metadata(p).unwrap().len();
                    assert!(on_disk < max, "{on_disk} >= {max} but still open");
                }
                None => {
                    // Finalized by this write: it reached the limit on disk.
                    let files = finalized(&dir);
                    assert_eq!(files.len(), finalized_seen + 1);
                    let len = fs::metadata(files.last().unwrap()).unwrap().len();
                    assert!(len - 8 >= max, "{len} finalized below {max}");
                    finalized_seen += 1;
                }
            }
        }
        assert!(
            finalized_seen >= 3,
            "{compression:?}: {finalized_seen} rotations"
        );
        w.close(t(100)).unwrap();
        let files = finalized(&dir);
        let total: u64 = files.iter().map(|p| fs::metadata(p).unwrap().len()).sum();
        let s = stats.snapshot();
        assert_eq!(
            s.bytes_written, total,
            "bytes_written counts what is on disk"
        );
        assert_eq!(s.files_finalized, files.len() as u64);
        assert_eq!(s.batches_written, 60);
        let ids = all_ids(&dir);
        assert_eq!(ids.len() as u64, s.rows_written);
        assert!(ids.is_sorted());
    }
}

#[test]
fn rotates_by_age_with_time_passed_in() {
    let tmp = TempDir::new("age");
    let (mut w, _) = open(
        tmp.path(),
        WriterOptions {
            max_file_age: Duration::from_secs(10),
            ..opts()
        },
    );
    let dir = traces_dir(tmp.path());
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    w.write(&trace_batch(2, 1, 2), t(5)).unwrap();
    w.tick(t(9)).unwrap();
    assert!(w.in_progress().is_some());
    assert!(finalized(&dir).is_empty());
    w.tick(t(10)).unwrap();
    assert!(w.in_progress().is_none(), "finalized at max_file_age");
    assert_eq!(finalized(&dir).len(), 1);
    w.write(&trace_batch(2, 1, 4), t(11)).unwrap();
    // No tick in between: the write itself rotates the 14 s old file before appending.
    w.write(&trace_batch(2, 1, 6), t(25)).unwrap();
    let files = finalized(&dir);
    assert_eq!(files.len(), 2);
    assert_eq!(
        read_stream(&files[1])
            .iter()
            .flat_map(span_ids)
            .collect::<Vec<_>>(),
        vec![4, 5]
    );
    // A clock that steps back does not make a file older or panic.
    w.tick(t(1)).unwrap();
    assert!(w.in_progress().is_some());
    w.close(t(26)).unwrap();
    assert_eq!(all_ids(&dir), (0..8).collect::<Vec<_>>());
}

#[test]
fn finalize_and_close_semantics() {
    let tmp = TempDir::new("finalize");
    let dir = traces_dir(tmp.path());
    let (mut w, stats) = open(tmp.path(), opts());
    assert_eq!(w.finalize(t(0)).unwrap(), None, "nothing open");
    w.write(&trace_batch(3, 2, 0), t(1)).unwrap();
    w.write(&trace_batch(3, 2, 3), t(2)).unwrap();
    let partial = w.in_progress().unwrap().to_path_buf();
    assert!(partial.to_str().unwrap().ends_with(".arrow.partial"));
    assert!(partial.exists());
    assert!(
        finalized(&dir).is_empty(),
        "nothing visible before finalize"
    );
    let done = w.finalize(t(3)).unwrap().unwrap();
    assert!(done.to_str().unwrap().ends_with(".arrow"));
    assert!(!partial.exists());
    assert_eq!(read_stream(&done).len(), 2);
    assert_eq!(w.finalize(t(3)).unwrap(), None);
    w.write(&trace_batch(1, 0, 6), t(4)).unwrap();
    let second = w.close(t(5)).unwrap().unwrap();
    assert!(second > done);
    assert_eq!(all_ids(&dir), (0..7).collect::<Vec<_>>());
    let s = stats.snapshot();
    assert_eq!(
        (s.files_finalized, s.batches_written, s.rows_written),
        (2, 3, 7)
    );
    assert_eq!(s.write_errors, 0);

    // Dropping without close finalizes nothing: the .partial stays, and the next open
    // recovers it completely.
    let (mut w, _) = open(tmp.path(), opts());
    w.write(&trace_batch(2, 1, 7), t(6)).unwrap();
    let left = w.in_progress().unwrap().to_path_buf();
    drop(w);
    assert!(left.exists());
    let (w, stats) = open(tmp.path(), opts());
    assert!(!left.exists());
    let s = stats.snapshot();
    assert_eq!(
        (s.recovered_files, s.recovered_batches, s.recovered_rows),
        (1, 1, 2)
    );
    assert_eq!(s.recovery_bytes_cut, 0);
    assert_eq!(w.close(t(7)).unwrap(), None);
    assert_eq!(all_ids(&dir), (0..9).collect::<Vec<_>>());
}

#[test]
fn zero_batch_files_are_never_left() {
    let tmp = TempDir::new("empty");
    let dir = traces_dir(tmp.path());
    let (mut w, stats) = open(tmp.path(), opts());
    w.write(&trace_batch(0, 0, 0), t(0)).unwrap();
    assert!(w.in_progress().is_none());
    w.tick(t(100)).unwrap();
    assert_eq!(w.finalize(t(100)).unwrap(), None);
    assert_eq!(w.close(t(200)).unwrap(), None);
    assert!(dir.is_dir(), "open creates the directory");
    assert_eq!(names(&dir), Vec::<String>::new());
    assert_eq!(stats.snapshot().files_finalized, 0);
}

#[test]
fn compression_round_trips() {
    let batches: Vec<RecordBatch> = (0..4)
        .map(|i| trace_batch(200 + i * 37, 8, i as u64 * 1000))
        .collect();
    let mut sizes = Vec::new();
    let cases = [
        (Compression::None, 1),
        (Compression::Zstd, 1),
        (Compression::Lz4, 1),
        (Compression::Zstd, -50),
        (Compression::Zstd, 19),
    ];
    for (compression, zstd_level) in cases {
        let tmp = TempDir::new("compress");
        let (mut w, _) = open(
            tmp.path(),
            WriterOptions {
                compression,
                zstd_level,
                ..opts()
            },
        );
        for (i, b) in batches.iter().enumerate() {
            w.write(b, t(i as u64)).unwrap();
        }
        let path = w.close(t(9)).unwrap().unwrap();
        let back = read_stream(&path);
        // The file's schema is the contract's plus the row number of its first row.
        let meta = back[0].schema().metadata().clone();
        assert_eq!(
            meta.get(files::FIRST_ROW_KEY).map(String::as_str),
            Some("0")
        );
        assert_eq!(meta.len(), 1, "{meta:?}");
        assert_eq!(back[0].schema().fields(), schema::traces().fields());
        let back: Vec<RecordBatch> = back
            .iter()
            .map(|b| RecordBatch::try_new(schema::traces(), b.columns().to_vec()).unwrap())
            .collect();
        assert_eq!(back, batches, "{compression:?} {zstd_level}");
        if let Some(rows) = pyarrow_rows(path.parent().unwrap()) {
            assert_eq!(rows, back.iter().map(|b| b.num_rows() as u64).sum::<u64>());
        }
        sizes.push(fs::metadata(&path).unwrap().len());
    }
    assert!(
        sizes[1] < sizes[0] && sizes[2] < sizes[0],
        "compressed {sizes:?}"
    );
    // The level is applied: a fast level writes larger files than a strong one.
    assert!(
        sizes[4] < sizes[1] && sizes[1] < sizes[3],
        "zstd levels {sizes:?}"
    );
}

/// Lengths of the complete prefixes of the stream `[schema, b0, b1, ...]` encoded with
/// `options`: `[schema end, b0 end, b1 end, ...]` (a batch's dictionaries precede it), and the
/// complete stream (with its end marker). Computed by arrow's writer, independently of the
/// recovery code under test.
fn prefixes(batches: &[RecordBatch], options: &IpcWriteOptions) -> (Vec<usize>, Vec<u8>) {
    let schema = batches[0].schema();
    let mut ends = Vec::new();
    let mut full = Vec::new();
    for k in 0..=batches.len() {
        let mut w =
            StreamWriter::try_new_with_options(Vec::new(), &schema, options.clone()).unwrap();
        for b in &batches[..k] {
            w.write(b).unwrap();
        }
        w.flush().unwrap();
        ends.push(w.get_ref().len());
        w.finish().unwrap();
        full = w.into_inner().unwrap();
    }
    for k in 1..ends.len() {
        assert!(ends[k - 1] < ends[k] && ends[k] <= full.len());
    }
    (ends, full)
}

/// Cuts `full` at each offset in `cuts` (all of them by default), lets recovery repair it, and
/// checks the result is exactly the stream of the batches complete before the cut, or that
/// the file was deleted when no batch was complete.
fn recover_cuts(tag: &str, batches: &[RecordBatch], options: &IpcWriteOptions, sample: bool) {
    let (ends, full) = prefixes(batches, options);
    // The expected repaired file for k complete batches: the writer's own prefix plus the end
    // marker, decoded once here (byte equality below then proves every repaired file reads).
    let expected: Vec<Vec<u8>> = ends
        .iter()
        .map(|&e| [&full[..e], &files::END_OF_STREAM[..]].concat())
        .collect();
    for (k, bytes) in expected.iter().enumerate().skip(1) {
        let tmp = TempDir::new("expected");
        let p = tmp.path().join("x.arrow");
        fs::write(&p, bytes).unwrap();
        assert_eq!(read_stream(&p), batches[..k]);
    }
    let cuts: Vec<usize> = if sample {
        // Dense around every message end, sparse in between.
        (0..=full.len())
            .filter(|&c| c % 97 == 0 || ends.iter().any(|&e| c.abs_diff(e) <= 16))
            .chain([full.len()])
            .collect()
    } else {
        (0..=full.len()).collect()
    };
    let tmp = TempDir::new(tag);
    let dir = traces_dir(tmp.path());
    fs::create_dir_all(&dir).unwrap();
    let name = FileName::new(Signal::Traces, 1_000, 7).unwrap();
    let partial = dir.join(name.file_name(FileState::InProgress));
    let done = dir.join(name.file_name(FileState::Finalized));
    let stats = StorageStats::new();
    let modern_eos = full.ends_with(&files::END_OF_STREAM);
    let mut deletions = 0;
    for &cut in &cuts {
        fs::write(&partial, &full[..cut]).unwrap();
        let report = files::recover_dir(&dir, Signal::Traces, &stats).unwrap();
        assert!(report.errors.is_empty(), "cut {cut}: {:?}", report.errors);
        assert!(!partial.exists(), "cut {cut}: partial left");
        let complete = ends[1..].iter().filter(|&&e| e <= cut).count();
        if complete == 0 {
            assert!(
                matches!(report.outcomes[..], [RecoveryOutcome::Deleted { .. }]),
                "cut {cut}: {:?}",
                report.outcomes
            );
            assert!(!done.exists(), "cut {cut}: zero-batch file left");
            deletions += 1;
            continue;
        }
        let kept_end = ends[complete];
        match &report.outcomes[..] {
            [
                RecoveryOutcome::Repaired {
                    path,
                    batches: b,
                    rows,
                    bytes_cut,
                },
            ] => {
                assert_eq!(path, &done);
                assert_eq!(*b, complete as u64, "cut {cut}");
                let want_rows: usize = batches[..complete].iter().map(|b| b.num_rows()).sum();
                assert_eq!(*rows, want_rows as u64);
                let eos_kept = cut == full.len() && modern_eos;
                let expect_cut = cut - kept_end - if eos_kept { 8 } else { 0 };
                assert_eq!(*bytes_cut, expect_cut as u64, "cut {cut}");
            }
            other => panic!("cut {cut}: {other:?}"),
        }
        assert!(fs::read(&done).unwrap() == expected[complete], "cut {cut}");
        fs::remove_file(&done).unwrap();
    }
    let s = stats.snapshot();
    assert_eq!(s.recovery_deleted_files, deletions);
    assert_eq!(s.recovered_files, cuts.len() as u64 - deletions);
}

/// A small schema with a dictionary column, so the stream has dictionary messages too.
fn small_batches() -> Vec<RecordBatch> {
    use arrow_array::{DictionaryArray, Int64Array, StringArray, types::Int32Type};
    let batch = |ids: Vec<i64>, tags: Vec<&str>| {
        let names: Vec<String> = ids.iter().map(|i| format!("span-{i}")).collect();
        RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from(ids)) as arrow_array::ArrayRef,
            ),
            ("name", Arc::new(StringArray::from(names)) as _),
            (
                "tag",
                Arc::new(tags.into_iter().collect::<DictionaryArray<Int32Type>>()) as _,
            ),
        ])
        .unwrap()
    };
    vec![
        batch(vec![1, 2], vec!["a", "b"]),
        batch(vec![3], vec!["c"]),
        batch(vec![4, 5, 6], vec!["a", "d", "a"]),
    ]
}

#[test]
fn recovery_at_every_byte_offset() {
    recover_cuts(
        "cut-v5",
        &small_batches(),
        &IpcWriteOptions::default(),
        false,
    );
}

#[test]
fn recovery_at_every_byte_offset_legacy_framing() {
    // Pre-0.15 framing: no continuation token before the metadata length.
    let legacy = IpcWriteOptions::try_new(8, true, MetadataVersion::V4).unwrap();
    recover_cuts("cut-legacy", &small_batches(), &legacy, false);
}

#[test]
fn recovery_of_trace_files_cut_around_every_message() {
    // The real schema (about 10 KiB per message): every offset near each message end and
    // every 97th byte, so the test stays quick in debug builds.
    let batches = [
        trace_batch(1, 1, 0),
        trace_batch(2, 0, 1),
        trace_batch(1, 2, 3),
    ];
    recover_cuts("cut-traces", &batches, &IpcWriteOptions::default(), true);
    let zstd = IpcWriteOptions::default()
        .try_with_compression(Some(arrow_ipc::CompressionType::ZSTD))
        .unwrap();
    recover_cuts("cut-traces-zstd", &batches, &zstd, true);
}

#[test]
fn recovery_cuts_a_garbage_tail_and_leaves_foreign_files() {
    let tmp = TempDir::new("foreign-rec");
    let dir = traces_dir(tmp.path());
    let batches = [trace_batch(3, 1, 0), trace_batch(3, 1, 3)];
    let (ends, full) = prefixes(&batches, &IpcWriteOptions::default());
    fs::create_dir_all(&dir).unwrap();
    let name = FileName::new(Signal::Traces, 5, 0).unwrap();
    // Complete by framing, but the second half of the second batch is garbage.
    let mut bytes = full[..ends[2]].to_vec();
    let mid = ends[1] + (ends[2] - ends[1]) / 2;
    for b in &mut bytes[mid..] {
        *b = 0xEE;
    }
    fs::write(dir.join(name.file_name(FileState::InProgress)), &bytes).unwrap();
    // A zero-filled tail (unsynced pages after a power loss).
    let zeros = FileName::new(Signal::Traces, 6, 0).unwrap();
    let mut z = full[..ends[1]].to_vec();
    z.extend_from_slice(&[0; 4096]);
    fs::write(dir.join(zeros.file_name(FileState::InProgress)), &z).unwrap();
    // Not ours: must be left exactly as they are.
    let foreign = [
        "notes.txt",
        "traces-garbage.arrow.partial",
        "metrics-19700101T000000.000000005Z-000000.arrow.partial",
        "traces-19700101T000000.000000005Z-000001.arrow.partial.bak",
    ];
    for f in foreign {
        fs::write(dir.join(f), b"not an arrow stream").unwrap();
    }
    fs::create_dir(dir.join("traces-19700101T000000.000000009Z-000000.arrow.partial")).unwrap();

    let (w, stats) = open(tmp.path(), opts());
    drop(w);
    let s = stats.snapshot();
    assert_eq!((s.recovered_files, s.recovered_batches), (2, 2));
    assert_eq!(
        read_stream(&dir.join(name.file_name(FileState::Finalized))),
        batches[..1]
    );
    assert_eq!(
        read_stream(&dir.join(zeros.file_name(FileState::Finalized))),
        batches[..1]
    );
    for f in foreign {
        assert_eq!(
            fs::read(dir.join(f)).unwrap(),
            b"not an arrow stream",
            "{f}"
        );
    }
    assert!(
        dir.join("traces-19700101T000000.000000009Z-000000.arrow.partial")
            .is_dir()
    );
}

/// Writes one single-batch file per `times` entry, finalized at that time.
fn files_at(w: &mut SignalWriter, times: &[u64], rows: usize) -> Vec<PathBuf> {
    times
        .iter()
        .map(|&s| {
            w.write(&trace_batch(rows, 2, s * 100), t(s)).unwrap();
            w.finalize(t(s)).unwrap().unwrap()
        })
        .collect()
}

fn plant_foreign(dir: &Path) -> Vec<PathBuf> {
    let paths = vec![
        dir.join("README.txt"),
        dir.join("traces-export.arrow"),
        dir.join("logs-19700101T000000.000000000Z-000000.arrow"),
    ];
    for p in &paths {
        fs::write(p, vec![b'x'; 100_000]).unwrap();
    }
    paths
}

#[test]
fn retention_by_age_spares_foreign_and_in_progress_files() {
    let tmp = TempDir::new("ret-age");
    let dir = traces_dir(tmp.path());
    let (mut w, stats) = open(tmp.path(), opts());
    let made = files_at(&mut w, &[0, 3600, 7200, 10_800], 5);
    let foreign = plant_foreign(&dir);
    drop(w);
    let (mut w, stats2) = open(
        tmp.path(),
        WriterOptions {
            retention: RetentionPolicy {
                max_age: Some(Duration::from_secs(5400)),
                max_total_bytes: None,
            },
            ..opts()
        },
    );
    // A `.partial` named at t(0) (planted after open, so recovery has not taken it): older
    // than the limit, but never a retention candidate. And the writer's own file in progress.
    let old_ns = files::unix_nanos(t(0));
    let open_file = dir.join(
        FileName::new(Signal::Traces, old_ns, 5)
            .unwrap()
            .file_name(FileState::InProgress),
    );
    fs::write(&open_file, b"someone else's partial").unwrap();
    w.write(&trace_batch(1, 0, 10_000), t(10_900)).unwrap();
    let current = w.in_progress().unwrap().to_path_buf();
    let sizes: Vec<u64> = made
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    w.tick(t(10_800)).unwrap();
    // Older than 90 min at 3h: the files from 0 s and 3600 s.
    assert!(!made[0].exists() && !made[1].exists());
    assert!(made[2].exists() && made[3].exists());
    for f in &foreign {
        assert!(f.exists(), "{}", f.display());
    }
    assert!(current.exists() && open_file.exists());
    let s = stats2.snapshot();
    assert_eq!(s.retention_deleted_files, 2);
    assert_eq!(s.retention_deleted_bytes, sizes[0] + sizes[1]);
    assert_eq!(s.files_on_disk, 2);
    assert_eq!(s.bytes_on_disk, sizes[2] + sizes[3]);
    assert_eq!(stats.snapshot().retention_deleted_files, 0);
}

#[test]
fn retention_by_total_bytes_deletes_oldest_first() {
    let tmp = TempDir::new("ret-bytes");
    let dir = traces_dir(tmp.path());
    let (mut w, _) = open(tmp.path(), opts());
    let made = files_at(&mut w, &[0, 1, 2, 3, 4], 40);
    drop(w);
    let foreign = plant_foreign(&dir);
    let sizes: Vec<u64> = made
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    let budget = sizes[3] + sizes[4] + sizes[2] / 2;
    let (mut w, stats) = open(
        tmp.path(),
        WriterOptions {
            retention: RetentionPolicy {
                max_age: None,
                max_total_bytes: Some(budget),
            },
            ..opts()
        },
    );
    w.write(&trace_batch(10, 1, 77), t(5)).unwrap();
    let current = w.in_progress().unwrap().to_path_buf();
    w.tick(t(5)).unwrap();
    let left: Vec<bool> = made.iter().map(|p| p.exists()).collect();
    assert_eq!(left, [false, false, false, true, true]);
    for f in &foreign {
        assert!(f.exists());
    }
    assert!(current.exists());
    let s = stats.snapshot();
    assert_eq!(s.retention_deleted_files, 3);
    assert_eq!(s.bytes_on_disk, sizes[3] + sizes[4]);
    assert!(s.bytes_on_disk <= budget);
    // Finalizing the new file pushes the total over again: the oldest goes, the new one stays.
    let new = w.finalize(t(6)).unwrap().unwrap();
    assert!(new.exists() && made[4].exists());
    assert!(!made[3].exists());
}

#[derive(Default)]
struct Recorder {
    vetoed: Vec<PathBuf>,
    asked: Mutex<Vec<PathBuf>>,
    deleted: Mutex<Vec<(PathBuf, DeleteReason)>>,
}

struct Gate(Arc<Recorder>);

impl DeletionGate for Gate {
    fn may_delete(&self, path: &Path) -> bool {
        self.0.asked.lock().unwrap().push(path.to_path_buf());
        !self.0.vetoed.iter().any(|v| v == path)
    }
    fn deleted(&self, path: &Path, reason: DeleteReason) {
        self.0
            .deleted
            .lock()
            .unwrap()
            .push((path.to_path_buf(), reason));
    }
}

#[test]
fn deletion_gate_vetoes_age_but_not_the_byte_budget() {
    let tmp = TempDir::new("veto");
    let (mut w, _) = open(tmp.path(), opts());
    let made = files_at(&mut w, &[0, 10, 20, 30], 20);
    drop(w);
    let sizes: Vec<u64> = made
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    let rec = Arc::new(Recorder {
        vetoed: vec![made[0].clone(), made[1].clone()],
        ..Recorder::default()
    });
    let policy = |max_total_bytes| RetentionPolicy {
        max_age: Some(Duration::from_secs(15)),
        max_total_bytes,
    };
    let (mut w, _) = open(
        tmp.path(),
        WriterOptions {
            retention: policy(None),
            ..opts()
        },
    );
    w.set_deletion_gate(Some(Box::new(Gate(rec.clone()))));
    w.tick(t(40)).unwrap();
    // Older than 15 s at 40 s: files 0, 10, 20. The gate keeps 0 and 10.
    assert_eq!(
        made.iter().map(|p| p.exists()).collect::<Vec<_>>(),
        [true, true, false, true]
    );
    assert_eq!(*rec.asked.lock().unwrap(), made[..3]);
    assert_eq!(
        *rec.deleted.lock().unwrap(),
        [(made[2].clone(), DeleteReason::Age)]
    );
    // Asked again at the next pass; still vetoed.
    w.tick(t(41)).unwrap();
    assert!(made[0].exists());
    drop(w);

    // Over the byte budget, the vetoed files go anyway, oldest first, and the gate is told.
    let (mut w, stats) = open(
        tmp.path(),
        WriterOptions {
            retention: policy(Some(sizes[3] + sizes[1] / 2)),
            ..opts()
        },
    );
    w.set_deletion_gate(Some(Box::new(Gate(rec.clone()))));
    w.tick(t(42)).unwrap();
    assert_eq!(
        made.iter().map(|p| p.exists()).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    assert_eq!(
        rec.deleted.lock().unwrap()[1..],
        [
            (made[0].clone(), DeleteReason::TotalBytes),
            (made[1].clone(), DeleteReason::TotalBytes)
        ]
    );
    assert_eq!(stats.snapshot().retention_deleted_files, 2);

    // A closure is a gate too.
    let (mut w, _) = open(
        tmp.path(),
        WriterOptions {
            retention: policy(None),
            ..opts()
        },
    );
    w.set_deletion_gate(Some(Box::new(|_: &Path| false)));
    w.tick(t(1000)).unwrap();
    assert!(made[3].exists());
    w.set_deletion_gate(None);
    w.tick(t(1000)).unwrap();
    assert!(!made[3].exists());
}

#[test]
fn directory_removed_while_running() {
    let tmp = TempDir::new("rmdir");
    let dir = traces_dir(tmp.path());
    let (mut w, stats) = open(tmp.path(), opts());
    w.write(&trace_batch(4, 1, 0), t(0)).unwrap();
    fs::remove_dir_all(tmp.path()).unwrap();
    // The file in progress vanished with its directory: counted as lost, and this batch goes
    // to a new file in a recreated directory.
    w.write(&trace_batch(3, 1, 100), t(1)).unwrap();
    assert!(dir.is_dir());
    let s = stats.snapshot();
    assert_eq!((s.lost_files, s.lost_rows), (1, 4));
    let p = w.finalize(t(2)).unwrap().unwrap();
    assert_eq!(
        read_stream(&p)
            .iter()
            .flat_map(span_ids)
            .collect::<Vec<_>>(),
        [100, 101, 102]
    );

    // Removed right before finalize: the rename fails, the error says what and where.
    w.write(&trace_batch(2, 1, 200), t(3)).unwrap();
    let partial = w.in_progress().unwrap().to_path_buf();
    fs::remove_dir_all(&dir).unwrap();
    let e = w.finalize(t(4)).unwrap_err();
    assert_eq!(e.op(), StorageOp::Rename);
    assert_eq!(e.io_kind(), Some(io::ErrorKind::NotFound));
    assert_eq!(e.path(), partial);
    assert!(e.to_string().contains(partial.to_str().unwrap()), "{e}");
    assert_eq!(stats.snapshot().lost_rows, 6);
    // And the writer carries on.
    w.write(&trace_batch(1, 1, 300), t(5)).unwrap();
    w.close(t(6)).unwrap();
    assert_eq!(all_ids(&dir), [300]);
    assert!(stats.snapshot().write_errors >= 1);
}

#[test]
fn real_errors_when_a_path_component_is_a_file() {
    let tmp = TempDir::new("notdir");
    let blocker = tmp.path().join("out");
    fs::write(&blocker, b"i am a file").unwrap();
    let e = SignalWriter::open(&blocker, Signal::Traces, opts(), Arc::default()).unwrap_err();
    assert_eq!(e.op(), StorageOp::CreateDir);
    assert_eq!(e.path(), blocker.join("traces"));
    assert!(e.is_retryable());
    assert!(e.to_string().starts_with("creating directory "), "{e}");

    // The signal directory replaced by a file while running: writes fail (and are counted),
    // nothing panics, and the writer recovers once the path is usable again.
    let out = tmp.path().join("ok");
    let (mut w, stats) = open(&out, opts());
    let dir = traces_dir(&out);
    w.write(&trace_batch(2, 1, 0), t(0)).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, b"in the way").unwrap();
    for i in 0..3 {
        let e = w.write(&trace_batch(2, 1, 10), t(1 + i)).unwrap_err();
        assert_eq!(e.op(), StorageOp::CreateDir, "{e}");
        assert!(e.is_retryable());
    }
    let s = stats.snapshot();
    assert_eq!((s.write_errors, s.lost_files, s.lost_rows), (3, 1, 2));
    fs::remove_file(&dir).unwrap();
    w.write(&trace_batch(2, 1, 10), t(5)).unwrap();
    w.close(t(6)).unwrap();
    assert_eq!(all_ids(&dir), [10, 11]);

    // A batch of another schema is refused, counted, and not retryable.
    let (mut w, stats) = open(&out, opts());
    w.write(&RecordBatch::new_empty(schema::logs()), t(7))
        .unwrap(); // empty: ignored
    let other = RecordBatch::try_from_iter([(
        "x",
        Arc::new(arrow_array::Int32Array::from(vec![1])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let e = w.write(&other, t(7)).unwrap_err();
    assert_eq!(e.op(), StorageOp::WriteBatch);
    assert!(!e.is_retryable());
    assert_eq!(stats.snapshot().write_errors, 1);
    assert!(w.in_progress().is_none());
}

/// Each file's global row range (from its schema metadata and batch headers), in name order.
fn row_ranges(dir: &Path) -> Vec<std::ops::Range<u64>> {
    names(dir)
        .iter()
        .map(|n| files::row_range(&dir.join(n)).unwrap().unwrap())
        .collect()
}

/// Asserts that every file's rows are exactly its range: span id == global row number (the
/// tests write span ids 0, 1, 2, ... in order), and that the ranges tile `0..end`.
fn assert_numbered(dir: &Path, end: u64) {
    let mut next = 0;
    for n in names(dir) {
        let path = dir.join(&n);
        let range = files::row_range(&path).unwrap().unwrap();
        assert_eq!(files::first_row(&path).unwrap(), Some(range.start), "{n}");
        assert_eq!(range.start, next, "{n}: ranges are contiguous");
        let ids: Vec<u64> = read_stream(&path).iter().flat_map(span_ids).collect();
        assert_eq!(ids, range.clone().collect::<Vec<_>>(), "{n}");
        next = range.end;
    }
    assert_eq!(next, end);
}

#[test]
fn rows_are_numbered_across_batches_files_and_reopens() {
    let tmp = TempDir::new("rownum");
    let dir = traces_dir(tmp.path());
    let small = WriterOptions {
        max_file_bytes: 20 << 10,
        ..opts()
    };
    let (mut w, _) = open(tmp.path(), small.clone());
    assert_eq!(w.next_row(), 0, "an empty directory starts at 0");
    let mut id = 0;
    for i in 0..12 {
        let rows = 7 + i % 5;
        w.write(&trace_batch(rows, 2, id), t(i as u64)).unwrap();
        id += rows as u64;
        assert_eq!(w.next_row(), id);
    }
    // An empty batch takes no numbers.
    w.write(&trace_batch(0, 0, 0), t(20)).unwrap();
    assert_eq!(w.next_row(), id);
    w.close(t(20)).unwrap();
    assert!(names(&dir).len() >= 3, "rotated: {:?}", names(&dir));
    assert_numbered(&dir, id);

    // A reopened writer continues after the newest file, also in the file it starts.
    let (mut w, _) = open(tmp.path(), small.clone());
    assert_eq!(w.next_row(), id);
    w.write(&trace_batch(5, 1, id), t(30)).unwrap();
    id += 5;
    w.close(t(31)).unwrap();
    assert_numbered(&dir, id);

    // A floor below the next row changes nothing; one above leaves a gap of unused numbers.
    let (mut w, _) = open(tmp.path(), small);
    w.set_first_row_floor(3);
    assert_eq!(w.next_row(), id);
    w.set_first_row_floor(id + 1000);
    assert_eq!(w.next_row(), id + 1000);
    w.write(&trace_batch(4, 1, id + 1000), t(40)).unwrap();
    let last = w.close(t(41)).unwrap().unwrap();
    assert_eq!(files::row_range(&last).unwrap(), Some(id + 1000..id + 1004));
    let ranges = row_ranges(&dir);
    assert_eq!(
        ranges[ranges.len() - 2].end,
        id,
        "the file before ends at the gap"
    );
}

#[test]
fn write_at_keeps_every_file_contiguous_and_never_reuses_a_number() {
    let tmp = TempDir::new("rownum-at");
    let dir = traces_dir(tmp.path());
    let (mut w, stats) = open(tmp.path(), opts());
    w.write_at(&trace_batch(3, 1, 10), 10, t(1)).unwrap();
    w.write_at(&trace_batch(3, 1, 13), 13, t(2)).unwrap();
    let first = w.in_progress().unwrap().to_path_buf();
    // Rows 16..20 were lost before they reached the writer: the next batch starts a new file.
    w.write_at(&trace_batch(2, 1, 20), 20, t(3)).unwrap();
    assert_ne!(w.in_progress().unwrap(), first);
    assert_eq!(w.next_row(), 22);
    // Numbers below next_row are refused, not stored, and not retryable.
    let e = w.write_at(&trace_batch(2, 1, 21), 21, t(4)).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("already numbered"), "{e}");
    assert_eq!(stats.snapshot().rows_written, 8);
    w.close(t(5)).unwrap();
    assert_eq!(row_ranges(&dir), vec![10..16, 20..22]);
}

#[test]
fn a_file_in_progress_shows_its_complete_rows_and_recovery_keeps_the_numbers() {
    let tmp = TempDir::new("rownum-crash");
    let dir = traces_dir(tmp.path());
    let (mut w, _) = open(tmp.path(), opts());
    w.set_first_row_floor(100);
    for i in 0..3 {
        w.write(&trace_batch(4, 1, 100 + 4 * i), t(i)).unwrap();
    }
    let partial = w.in_progress().unwrap().to_path_buf();
    // Readable while it is being written: a reader sees the rows of the complete batches.
    assert_eq!(files::first_row(&partial).unwrap(), Some(100));
    assert_eq!(files::row_range(&partial).unwrap(), Some(100..112));
    assert_eq!(
        read_stream(&partial)
            .iter()
            .flat_map(span_ids)
            .collect::<Vec<_>>(),
        (100..112).collect::<Vec<_>>()
    );
    // A crash: the writer is gone without closing, and the last batch is torn.
    drop(w);
    let len = fs::metadata(&partial).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&partial).unwrap();
    f.set_len(len - 40).unwrap();
    drop(f);
    assert_eq!(files::row_range(&partial).unwrap(), Some(100..108));

    let (w, stats) = open(tmp.path(), opts());
    assert_eq!(stats.snapshot().recovered_files, 1);
    assert_eq!(w.next_row(), 108, "continues after the rows recovery kept");
    w.close(t(9)).unwrap();
    let repaired = finalized(&dir);
    assert_eq!(repaired.len(), 1);
    assert_eq!(files::first_row(&repaired[0]).unwrap(), Some(100));
    assert_eq!(files::row_range(&repaired[0]).unwrap(), Some(100..108));
}

#[test]
fn files_without_row_numbers_are_passed_over_and_bad_ones_are_errors() {
    let tmp = TempDir::new("rownum-old");
    let dir = traces_dir(tmp.path());
    let (mut w, _) = open(tmp.path(), opts());
    w.write(&trace_batch(6, 1, 0), t(1)).unwrap();
    w.close(t(1)).unwrap();
    // A newer file written without the key (an older version): plain arrow, one of our names.
    let old = dir.join("traces-20300101T000000.000000000Z-000000.arrow");
    {
        let batch = trace_batch(3, 1, 50);
        let mut sw =
            StreamWriter::try_new(fs::File::create(&old).unwrap(), &schema::traces()).unwrap();
        sw.write(&batch).unwrap();
        sw.finish().unwrap();
    }
    assert_eq!(files::first_row(&old).unwrap(), None);
    assert_eq!(files::row_range(&old).unwrap(), None);
    let (w, _) = open(tmp.path(), opts());
    assert_eq!(
        w.next_row(),
        6,
        "numbering continues after the newest numbered file"
    );
    drop(w);

    let junk = dir.join("junk.arrow");
    fs::write(&junk, b"not arrow at all").unwrap();
    let e = files::first_row(&junk).unwrap_err();
    assert_eq!(e.op(), StorageOp::ReadFile);
    assert!(e.to_string().starts_with("reading "), "{e}");
    assert!(files::row_range(&junk).is_err());
    let e = files::first_row(&dir.join("missing.arrow")).unwrap_err();
    assert_eq!(e.io_kind(), Some(io::ErrorKind::NotFound));

    // A key whose value is not a row number.
    let bad = dir.join("bad.arrow");
    {
        let mut meta = std::collections::HashMap::new();
        meta.insert(files::FIRST_ROW_KEY.to_owned(), "-3".to_owned());
        let schema = schema::traces().as_ref().clone().with_metadata(meta);
        let mut sw = StreamWriter::try_new(fs::File::create(&bad).unwrap(), &schema).unwrap();
        sw.finish().unwrap();
    }
    let e = files::first_row(&bad).unwrap_err();
    assert!(e.to_string().contains("not a row number"), "{e}");
    assert!(
        files::row_range(&bad)
            .unwrap_err()
            .to_string()
            .contains("-3")
    );
}
