//! Crash safety with a real crash: a child process (this test binary, re-executed) writes
//! trace batches continuously and reports each one on stdout after `write` returned; the
//! parent reads the pipe until enough batches are reported, SIGKILLs the child while it is in
//! the middle of writing the next one, then opens a writer on the same directory (recovery)
//! and checks that every file is a complete `.arrow` stream, and that the rows stored are
//! exactly the rows reported, plus at most the batch being written when the child died.
//! With pyarrow installed, pyarrow must read every file to the end too.

#[path = "arrow_support/mod.rs"]
mod arrow_support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use otlp_arrow::arrow::files;
use otlp_arrow::arrow::schema;
use otlp_arrow::arrow::stats::StorageStats;
use otlp_arrow::arrow::writer::{SignalWriter, SyncPolicy, WriterOptions};
use otlp_arrow::signal::Signal;

use arrow_support::{
    TempDir, names, pyarrow_rows, read_stream, span_ids, trace_batch, with_span_ids,
};

const ENV_DIR: &str = "OTLP_ARROW_CRASH_CHILD_DIR";
const ENV_SYNC: &str = "OTLP_ARROW_CRASH_CHILD_SYNC";
const ROWS: usize = 2000;
/// The child stops on its own after this many batches, should the parent never kill it.
const CHILD_MAX_BATCHES: u64 = 5000;

fn options(sync: SyncPolicy) -> WriterOptions {
    WriterOptions {
        // Small files, so the child rotates often and dies with finalized files around.
        max_file_bytes: 256 << 10,
        sync,
        ..WriterOptions::default()
    }
}

/// The child process: not a test on its own (it does nothing without the parent's
/// environment), run by `sigkill_mid_write_then_recovery_keeps_every_reported_batch`.
#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Some(dir) = std::env::var_os(ENV_DIR) else {
        return;
    };
    let sync = if std::env::var_os(ENV_SYNC).is_some() {
        SyncPolicy::EveryBatch
    } else {
        SyncPolicy::Never
    };
    let mut w = SignalWriter::open(
        Path::new(&dir),
        Signal::Traces,
        options(sync),
        Arc::new(StorageStats::new()),
    )
    .unwrap();
    let mut out = std::io::stdout().lock();
    // Built once, so the child spends its time in `write` (where the kill should land).
    let template = trace_batch(ROWS, 4, 0);
    for i in 0..CHILD_MAX_BATCHES {
        let batch = with_span_ids(&template, i * ROWS as u64);
        w.write(&batch, SystemTime::now()).unwrap();
        // Reported only after `write` returned. A closed pipe (parent gone) ends the child.
        if writeln!(out, "WROTE {} {}", i + 1, (i + 1) * ROWS as u64)
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// Runs the child until it reported `kill_after` batches, kills it, and returns the rows it
/// reported as written.
fn run_and_kill(dir: &Path, kill_after: u64, kill_delay: Duration, sync: bool) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "crash_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ENV_DIR, dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if sync {
        cmd.env(ENV_SYNC, "1");
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut reported = (0u64, 0u64);
    let parse = |line: &str| -> Option<(u64, u64)> {
        let mut it = line.strip_prefix("WROTE ")?.split(' ');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    for line in lines.by_ref() {
        if let Some(r) = parse(&line.unwrap()) {
            reported = r;
            if r.0 >= kill_after {
                break;
            }
        }
    }
    assert!(
        reported.0 >= kill_after,
        "child ended early after {reported:?}"
    );
    // Not synchronisation (the pipe is): a varying delay moves the kill to different points
    // of the next `write` (encoding, the file write, rotation) from round to round.
    let until = Instant::now() + kill_delay;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    // Lines the child printed before it died still count as reported.
    for line in lines {
        if let Some(r) = line.ok().as_deref().and_then(parse) {
            reported = r;
        }
    }
    reported.1
}

#[test]
fn sigkill_mid_write_then_recovery_keeps_every_reported_batch() {
    let rounds = [
        (1, 0, false),
        (3, 300, false),
        (8, 1000, true),
        (13, 2000, false),
        (25, 3500, false),
        (40, 5000, true),
        (61, 8000, false),
    ];
    for (kill_after, delay_us, sync) in rounds {
        let tmp = TempDir::new("crash");
        let reported = run_and_kill(
            tmp.path(),
            kill_after,
            Duration::from_micros(delay_us),
            sync,
        );
        let dir = files::signal_dir(tmp.path(), Signal::Traces);

        let stats = Arc::new(StorageStats::new());
        let w = SignalWriter::open(
            tmp.path(),
            Signal::Traces,
            options(SyncPolicy::Never),
            stats.clone(),
        )
        .unwrap();
        let next_row = w.next_row();
        assert_eq!(w.close(SystemTime::now()).unwrap(), None);
        let s = stats.snapshot();
        assert!(s.recovered_files + s.recovery_deleted_files <= 1, "{s:?}");
        eprintln!("kill after {kill_after}: reported {reported} rows; recovery {s:?}");

        let all = names(&dir);
        if kill_after >= 8 {
            assert!(all.len() >= 2, "expected rotations: {all:?}");
        }
        let mut ids = Vec::new();
        for n in &all {
            assert!(n.ends_with(".arrow"), "left unfinished: {n}");
            // Recovery keeps the file's row numbers: its first row's global number is the
            // count of rows before it (the child writes row i with span id i).
            let first = otlp_arrow::arrow::files::first_row(&dir.join(n)).unwrap();
            assert_eq!(first, Some(ids.len() as u64), "{n}");
            for b in read_stream(&dir.join(n)) {
                assert_eq!(b.schema().fields(), schema::traces().fields());
                ids.extend(span_ids(&b));
            }
        }
        let stored = ids.len() as u64;
        assert_eq!(
            next_row, stored,
            "numbering continues after the recovered rows"
        );
        assert!(
            ids.iter().enumerate().all(|(i, &id)| id == i as u64),
            "rows must be the child's rows, in order, each once"
        );
        assert!(
            stored >= reported,
            "kill after {kill_after}: stored {stored} < reported {reported}"
        );
        assert!(
            stored <= reported + ROWS as u64,
            "at most the batch in flight is extra: {stored} vs {reported}"
        );
        if let Some(py) = pyarrow_rows(&dir) {
            assert_eq!(py, stored, "pyarrow reads every row");
        }
    }
}
