//! Mode `codecs`: what each storage compression costs on real stored rows.
//!
//! Reads every `.arrow` file of a signal directory (for instance a backlog kept by
//! `forward-throughput --keep true`), then, per round and per codec, encodes all its batches
//! into one IPC stream in memory with arrow-ipc (`Compression::ipc_write_options`, what
//! `SignalWriter` uses) and reads the
//! stream back with `StreamReader` (what forwarding catch-up does per row). It reports the
//! stream's size and the CPU time of this thread for each direction, per million rows, as
//! medians over the rounds. CPU time (not wall time) because the machine is shared: one thread
//! does all the work, so its CPU time is what the codec costs.
//!
//! ```text
//! otlp-arrow-load codecs --dir /tmp/otlp-arrow-fwd-tput-N/backlog/traces --rounds 5
//! ```

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::Path;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use otlp_arrow::arrow::writer::Compression;

use crate::args::Args;
use crate::procstat;

/// (name, codec, zstd level)
const CODECS: [(&str, Compression, i32); 7] = [
    ("none", Compression::None, 0),
    ("lz4", Compression::Lz4, 0),
    ("zstd 3", Compression::Zstd, 3),
    ("zstd 1", Compression::Zstd, 1),
    ("zstd -1 (default)", Compression::Zstd, -1),
    ("zstd -3", Compression::Zstd, -3),
    ("zstd -5", Compression::Zstd, -5),
];

pub(crate) fn main(words: &[String]) -> Result<bool, String> {
    let mut a = Args::parse(words)?;
    let dir = a
        .take("dir")
        .ok_or("--dir DIR (a signal directory) is required")?;
    let rounds = a.parsed("rounds", 5usize)?.max(1);
    a.finish()?;
    let batches = read_dir(Path::new(&dir))?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        return Err(format!("no rows in the .arrow files of {dir}"));
    }
    let schema = batches[0].schema();
    println!(
        "{} batches, {rows} rows from {dir}; {rounds} rounds",
        batches.len()
    );
    // samples[codec] = (bytes, write CPU, read CPU) per round
    let mut samples: Vec<(usize, Vec<Duration>, Vec<Duration>)> =
        CODECS.iter().map(|_| (0, Vec::new(), Vec::new())).collect();
    for _ in 0..rounds {
        for (i, (name, codec, level)) in CODECS.iter().enumerate() {
            let options = codec
                .ipc_write_options(*level)
                .map_err(|e| format!("{name}: {e}"))?;
            let start = procstat::thread_cpu()?;
            let mut out = Vec::new();
            let mut w = StreamWriter::try_new_with_options(&mut out, &schema, options)
                .map_err(|e| format!("{name}: {e}"))?;
            for b in &batches {
                w.write(b).map_err(|e| format!("{name}: {e}"))?;
            }
            w.finish().map_err(|e| format!("{name}: {e}"))?;
            drop(w);
            let written = procstat::thread_cpu()?;
            let back: usize = StreamReader::try_new(Cursor::new(&out), None)
                .map_err(|e| format!("{name}: {e}"))?
                .map(|b| b.map(|b| b.num_rows()))
                .sum::<Result<usize, _>>()
                .map_err(|e| format!("{name}: {e}"))?;
            let read = procstat::thread_cpu()?;
            if back != rows {
                return Err(format!("{name}: read back {back} rows of {rows}"));
            }
            let s = &mut samples[i];
            s.0 = out.len();
            s.1.push(written - start);
            s.2.push(read - written);
        }
    }
    let per_m = |d: Duration| d.as_secs_f64() * 1e3 * 1e6 / rows as f64;
    println!(
        "| codec | MB per 1M rows | write CPU ms per 1M rows (median) | read CPU ms per 1M rows (median) |"
    );
    println!("|---|---:|---:|---:|");
    for ((name, _, _), (bytes, w, r)) in CODECS.iter().zip(&mut samples) {
        println!(
            "| {name} | {:.1} | {:.0} | {:.0} |",
            *bytes as f64 / 1e6 * 1e6 / rows as f64,
            per_m(median(w)),
            per_m(median(r))
        );
    }
    Ok(true)
}

fn read_dir(dir: &Path) -> Result<Vec<RecordBatch>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "arrow"))
        .collect();
    paths.sort();
    let mut batches = Vec::new();
    for p in paths {
        let f = File::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let r = StreamReader::try_new(BufReader::new(f), None)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        for b in r {
            batches.push(b.map_err(|e| format!("{}: {e}", p.display()))?);
        }
    }
    Ok(batches)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
