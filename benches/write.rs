//! Storage write throughput: realistic trace batches (8192 spans, 8 attributes each) appended
//! by a `SignalWriter` to files in a temp directory (rotation at the default 64 MiB, fsync on
//! finalize, retention on), uncompressed vs zstd vs lz4; the same uncompressed without any
//! fsync; plain arrow-rs (`StreamWriter` + `BufWriter<File>`, rotating likewise, no fsync) as
//! the peer for that; and arrow's `StreamWriter` into `io::sink()` as the encoding floor (it
//! hands column buffers over by reference, so this is encoding alone, no copy, no file).
//!
//! Two groups over the same work: `write_bytes` (throughput = the batch's in-memory Arrow
//! size, so MB/s) and `write_rows` (rows/s). A third, `read_rows`, reads a stream of such
//! batches back with arrow's `StreamReader` from memory, per compression: the cost forwarding
//! pays per row when it catches up from the files (decompression dominates it).

#[path = "../tests/arrow_support/mod.rs"]
mod arrow_support;

use std::fs::File;
use std::hint::black_box;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otlp_arrow::arrow::files::RetentionPolicy;
use otlp_arrow::arrow::schema;
use otlp_arrow::arrow::stats::StorageStats;
use otlp_arrow::arrow::writer::{Compression, SignalWriter, SyncPolicy, WriterOptions};
use otlp_arrow::signal::Signal;

use arrow_support::{TempDir, trace_batch};

const ROWS: usize = 8192;
const ATTRS: usize = 8;

fn writer(dir: &TempDir, compression: Compression, level: i32, sync: SyncPolicy) -> SignalWriter {
    let options = WriterOptions {
        compression,
        zstd_level: level,
        sync,
        // Keeps the bench's disk use bounded; deletion cost is part of the steady state.
        retention: RetentionPolicy {
            max_age: None,
            max_total_bytes: Some(256 << 20),
        },
        ..WriterOptions::default()
    };
    SignalWriter::open(
        dir.path(),
        Signal::Traces,
        options,
        Arc::new(StorageStats::new()),
    )
    .unwrap()
}

struct PlainRotating {
    dir: PathBuf,
    n: u64,
    w: StreamWriter<BufWriter<File>>,
}

impl PlainRotating {
    fn new(dir: PathBuf) -> Self {
        let w = Self::create(&dir, 0);
        PlainRotating { dir, n: 0, w }
    }

    fn create(dir: &Path, n: u64) -> StreamWriter<BufWriter<File>> {
        let f = File::create(dir.join(format!("{n}.arrow"))).unwrap();
        StreamWriter::try_new_with_options(
            BufWriter::new(f),
            &schema::traces(),
            IpcWriteOptions::default(),
        )
        .unwrap()
    }

    fn write(&mut self, batch: &RecordBatch) {
        self.w.write(batch).unwrap();
        self.w.flush().unwrap();
        self.n += 1;
        if self.n.is_multiple_of(12) {
            self.finish();
            std::fs::remove_file(self.dir.join(format!("{}.arrow", self.n - 12))).unwrap();
            self.w = Self::create(&self.dir, self.n);
        }
    }

    fn finish(&mut self) {
        self.w.finish().unwrap();
    }
}

fn bench_group(c: &mut Criterion, name: &str, throughput: Throughput, batch: &RecordBatch) {
    let mut g = c.benchmark_group(name);
    g.throughput(throughput);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    let now = SystemTime::now();
    for (id, compression, level, sync) in [
        (
            "0-otlp-arrow-uncompressed",
            Compression::None,
            1,
            SyncPolicy::OnFinalize,
        ),
        (
            "1-otlp-arrow-zstd-1",
            Compression::Zstd,
            1,
            SyncPolicy::OnFinalize,
        ),
        (
            "1-otlp-arrow-zstd-3",
            Compression::Zstd,
            3,
            SyncPolicy::OnFinalize,
        ),
        (
            "1-otlp-arrow-zstd-minus-1",
            Compression::Zstd,
            -1,
            SyncPolicy::OnFinalize,
        ),
        (
            "2-otlp-arrow-lz4",
            Compression::Lz4,
            1,
            SyncPolicy::OnFinalize,
        ),
        (
            "3-otlp-arrow-uncompressed-no-fsync",
            Compression::None,
            1,
            SyncPolicy::Never,
        ),
    ] {
        let dir = TempDir::new("bench-write");
        let mut w = writer(&dir, compression, level, sync);
        g.bench_function(id, |b| b.iter(|| w.write(black_box(batch), now).unwrap()));
        w.close(now).unwrap();
    }
    // Plain arrow-rs to a file: BufWriter, a new file every 12 batches (about 64 MiB, like
    // the rotation above), the old one deleted; no fsync, no recovery framing, no stats.
    let dir = TempDir::new("bench-plain");
    let mut plain = PlainRotating::new(dir.path().to_path_buf());
    g.bench_function("4-arrow-stream-writer-bufwriter-file", |b| {
        b.iter(|| plain.write(black_box(batch)))
    });
    plain.finish();
    let mut sink = StreamWriter::try_new_with_options(
        std::io::sink(),
        &schema::traces(),
        IpcWriteOptions::default(),
    )
    .unwrap();
    g.bench_function("5-arrow-stream-writer-sink", |b| {
        b.iter(|| sink.write(black_box(batch)).unwrap())
    });
    sink.finish().unwrap();
    g.finish();
}

/// `batches` as one IPC stream in memory, compressed with the options `SignalWriter` uses.
fn stream(batches: &[RecordBatch], compression: Compression, level: i32) -> Vec<u8> {
    let options = compression.ipc_write_options(level).unwrap();
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new_with_options(&mut out, &schema::traces(), options).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    out
}

fn read(c: &mut Criterion) {
    const BATCHES: usize = 4;
    let batches: Vec<RecordBatch> = (0..BATCHES)
        .map(|i| trace_batch(ROWS, ATTRS, (i * ROWS) as u64))
        .collect();
    let mut g = c.benchmark_group("read_rows");
    g.throughput(Throughput::Elements((BATCHES * ROWS) as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for (id, compression, level) in [
        ("0-uncompressed", Compression::None, 1),
        ("1-zstd-1", Compression::Zstd, 1),
        ("1-zstd-3", Compression::Zstd, 3),
        ("1-zstd-minus-1", Compression::Zstd, -1),
        ("2-lz4", Compression::Lz4, 1),
    ] {
        let bytes = stream(&batches, compression, level);
        g.bench_function(id, |b| {
            b.iter(|| {
                let r = StreamReader::try_new(black_box(bytes.as_slice()), None).unwrap();
                r.map(|b| b.unwrap().num_rows()).sum::<usize>()
            })
        });
    }
    g.finish();
}

fn write(c: &mut Criterion) {
    let batch = trace_batch(ROWS, ATTRS, 0);
    let bytes = batch.get_array_memory_size() as u64;
    bench_group(c, "write_bytes", Throughput::Bytes(bytes), &batch);
    bench_group(c, "write_rows", Throughput::Elements(ROWS as u64), &batch);
    read(c);
}

criterion_group!(benches, write);
criterion_main!(benches);
