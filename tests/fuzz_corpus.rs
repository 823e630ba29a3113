//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/*`) through the same code the
//! cargo-fuzz targets run, so that CI checks every seed and every past crash on stable without
//! spending fuzzing time. A target whose corpus directory is missing or empty fails the test.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "{}: empty corpus", dir.display());
    for path in entries {
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn ring_ops_corpus() {
    replay("ring_ops", otlp_arrow::fuzzing::ring::run);
}

#[test]
fn breaker_corpus() {
    replay("breaker", otlp_arrow::fuzzing::breaker::run);
}

#[test]
fn scan_request_corpus() {
    replay("scan_request", otlp_arrow::fuzzing::scan::run);
}
