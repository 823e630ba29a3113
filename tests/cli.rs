//! The `otlp-arrow` binary's command line, run as a process: `--help`/`--version`, `config`,
//! configuration errors (exit status 2, naming the key), bind errors (exit 1), and `cat` on
//! files written by the pipeline (table and JSON lines, an in-progress file, directories).

#[path = "bin_support/mod.rs"]
mod bin;
#[path = "otlp_common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use bin::{TempDir, otlp_arrow};
use otlp_arrow::arrow::files::{FileName, FileState};
use otlp_arrow::config::Config;
use otlp_arrow::otlp::{ReceiverContext, Transport};
use otlp_arrow::pipeline::Pipeline;
use otlp_arrow::signal::Signal;
use prost::Message;

fn run(args: &[&str]) -> Output {
    otlp_arrow().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_and_version() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for word in [
        "serve",
        "cat",
        "config",
        "--config",
        "--output-dir",
        "--grpc-addr",
        "--http-addr",
        "--admin-addr",
        "--forward-endpoint",
        "--log-format",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let o = run(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        format!("otlp-arrow {}", env!("CARGO_PKG_VERSION"))
    );
    let o = run(&["cat", "--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("jsonl"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["cat"],
        &["cat", "x", "--format", "csv"],
        &["--no-such-flag"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn the_default_configuration_passes_config_check() {
    let dir = TempDir::new("cfg-default");
    let o = run(&["config", "default"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("[storage]"), "{text}");
    let file = dir.path().join("default.toml");
    std::fs::write(&file, &text).unwrap();
    let o = run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok\n");
}

/// Runs `otlp-arrow` with `args` (and `env`), expecting exit status 2 and every one of `words`
/// on stderr; nothing may have been started (no output directory created).
fn config_error(dir: &Path, args: &[&str], env: &[(&str, &str)], words: &[&str]) {
    let out = dir.join("data");
    let mut c = otlp_arrow();
    c.args(args).envs(env.iter().copied());
    if args.first() != Some(&"config") {
        // Port 0 everywhere, so nothing conflicts even if a check were missed.
        let defaults = [
            ("--output-dir", out.to_str().unwrap()),
            ("--grpc-addr", "127.0.0.1:0"),
            ("--http-addr", "127.0.0.1:0"),
            ("--admin-addr", "127.0.0.1:0"),
        ];
        for (flag, value) in defaults {
            if !args.contains(&flag) {
                c.args([flag, value]);
            }
        }
    }
    let o = c.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}: {err}");
    for w in words {
        assert!(
            err.contains(w),
            "{args:?} {env:?}: stderr lacks {w:?}: {err}"
        );
    }
    assert!(
        !out.exists(),
        "a configuration error must not start storage"
    );
}

#[test]
fn configuration_errors_exit_2_and_name_the_key() {
    let dir = TempDir::new("cfg-errors");
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[storage]\ncompresion = \"zstd\"\n").unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[storage]\ncompression = \"snappy\"\n").unwrap();
    let unknown = unknown.to_str().unwrap();
    let bad = bad.to_str().unwrap();

    // Unknown key: in `config check` and in `serve --config`.
    config_error(
        dir.path(),
        &["config", "check", unknown],
        &[],
        &["storage.compresion", "compression"],
    );
    config_error(
        dir.path(),
        &["serve", "--config", unknown],
        &[],
        &["storage.compresion"],
    );
    // Bad value, with the allowed ones.
    config_error(
        dir.path(),
        &["config", "check", bad],
        &[],
        &["storage.compression", "snappy", "none, zstd, lz4"],
    );
    config_error(
        dir.path(),
        &["--config", bad],
        &[],
        &["storage.compression", "snappy"],
    );
    // Bad environment variable value, and an unknown variable.
    config_error(
        dir.path(),
        &["serve"],
        &[("OTLP_ARROW_STORAGE_COMPRESSION", "snappy")],
        &[
            "storage.compression",
            "OTLP_ARROW_STORAGE_COMPRESSION",
            "zstd",
        ],
    );
    config_error(
        dir.path(),
        &[],
        &[("OTLP_ARROW_STORAGE_COMPRESION", "zstd")],
        &[
            "OTLP_ARROW_STORAGE_COMPRESION",
            "OTLP_ARROW_STORAGE_COMPRESSION",
        ],
    );
    // Bad flag values.
    config_error(
        dir.path(),
        &["serve", "--http-addr", "localhost:http"],
        &[],
        &["receiver.http_addr", "--http-addr"],
    );
    config_error(
        dir.path(),
        &["serve", "--log-format", "xml"],
        &[],
        &["log.format", "--log-format", "text", "json"],
    );
    config_error(
        dir.path(),
        &["serve", "--forward-endpoint", "ftp://collector"],
        &[],
        &["--forward-endpoint"],
    );
    // A missing file.
    let missing = dir.path().join("missing.toml");
    config_error(
        dir.path(),
        &["config", "check", missing.to_str().unwrap()],
        &[],
        &["missing.toml"],
    );
}

#[test]
fn a_listener_that_cannot_bind_is_a_clear_error_with_status_1() {
    let dir = TempDir::new("bind");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = otlp_arrow()
        .args(["serve", "--output-dir"])
        .arg(dir.path().join("data"))
        .args(["--grpc-addr", &addr, "--http-addr", "127.0.0.1:0"])
        .args(["--admin-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on receiver.grpc_addr = {addr}")),
        "{err}"
    );
}

#[test]
fn storage_that_cannot_start_is_status_1_and_a_bad_rust_log_is_status_2() {
    let dir = TempDir::new("storage");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let ports = [
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
    ];
    let o = otlp_arrow()
        .args(["serve", "--output-dir"])
        .arg(&file)
        .args(ports)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot start storage"),
        "{}",
        stderr(&o)
    );

    let o = otlp_arrow()
        .args(["serve", "--output-dir"])
        .arg(dir.path().join("data"))
        .args(ports)
        .env("RUST_LOG", "otlp_arrow=loud")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid RUST_LOG"), "{}", stderr(&o));
}

// ---- cat -----------------------------------------------------------------------------

/// Spans, metric points and log records written through the real pipeline (ingest -> ring ->
/// drain -> files) and finalized: 6 spans, 6 data points, 4 log records.
fn write_data(dir: &Path) {
    let config = Config {
        output_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let pipeline = Pipeline::start(&config).unwrap();
    let ctx = ReceiverContext::new(
        &config.receiver,
        Arc::clone(pipeline.ring(Signal::Traces)),
        Arc::clone(pipeline.ring(Signal::Metrics)),
        Arc::clone(pipeline.ring(Signal::Logs)),
    );
    let requests = [
        (
            Signal::Traces,
            common::traces(2, 1, 3, 0).encode_to_vec(),
            6,
        ),
        (
            Signal::Metrics,
            common::metrics(1, 1, 3, 0).encode_to_vec(),
            6,
        ),
        (Signal::Logs, common::logs(1, 2, 2, 0).encode_to_vec(), 4),
    ];
    for (signal, body, items) in requests {
        let accepted = ctx.ingest(signal, Transport::Grpc, &body).unwrap();
        assert_eq!(accepted.items, items);
    }
    let report = pipeline.shutdown();
    assert_eq!(report.lost(), 0);
}

fn cat(args: &[&str], paths: &[&Path]) -> Output {
    otlp_arrow()
        .arg("cat")
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn cat_jsonl_prints_one_object_per_row_with_hex_ids_and_integer_times() {
    let dir = TempDir::new("cat-jsonl");
    write_data(dir.path());
    let o = cat(&["--format", "jsonl"], &[dir.path()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = json_lines(&o);
    assert_eq!(rows.len(), 6 + 6 + 4);

    // Traces first (per signal, oldest file first), in the order sent.
    let spans: Vec<_> = rows
        .iter()
        .filter(|r| r.get("span_id").is_some() && r.get("kind").is_some())
        .collect();
    assert_eq!(spans.len(), 6);
    let first = spans[0];
    assert_eq!(first["span_id"], "0000000000000002");
    assert_eq!(first["trace_id"], "0000000000000002ab00000000000000");
    assert_eq!(first["parent_span_id"], serde_json::Value::Null);
    assert_eq!(first["name"], "span-1");
    assert_eq!(first["kind"], 2);
    assert_eq!(
        first["start_time_unix_nano"].as_u64(),
        Some(1_700_000_000_000_000_001)
    );
    assert_eq!(first["attributes"]["pad"], "");
    assert_eq!(first["attributes"]["i"], -1);
    assert_eq!(first["resource_attributes"]["service.name"], "svc-0");
    assert_eq!(first["resource_attributes"]["r"], 0);
    assert_eq!(first["events"][0]["name"], "ev");
    assert_eq!(first["status_code"], 1);
    // Column order is the schema's.
    let line = stdout(&o).lines().next().unwrap().to_owned();
    assert!(line.starts_with("{\"resource_attributes\":"), "{line}");

    // --signal selects one signal.
    let o = cat(&["--format", "jsonl", "--signal", "logs"], &[dir.path()]);
    let logs = json_lines(&o);
    assert_eq!(logs.len(), 4);
    assert_eq!(logs[0]["body"], "log 1 ");
    assert_eq!(logs[0]["severity_number"], 9);
    assert_eq!(logs[0]["trace_id"], "07".repeat(16));
    let o = cat(&["--format", "jsonl", "--signal", "metrics"], &[dir.path()]);
    let points = json_lines(&o);
    assert_eq!(points.len(), 6);
    let types: Vec<&str> = points
        .iter()
        .map(|p| p["metric_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["sum", "sum", "sum", "histogram", "gauge", "gauge"]);
    assert_eq!(points[3]["bucket_counts"], serde_json::json!([1, 2]));
    assert_eq!(points[0]["value_int"], 10);
}

#[test]
fn cat_table_shows_readable_columns() {
    let dir = TempDir::new("cat-table");
    write_data(dir.path());
    let traces = dir.path().join("traces");
    let o = cat(&[], &[&traces]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("# ") && lines[0].contains("(traces, finalized): batch 1, 6 rows"),
        "{out}"
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    for col in [
        "trace_id",
        "span_id",
        "name",
        "kind",
        "start_time_unix_nano",
        "attributes",
    ] {
        assert!(header.contains(&col), "header lacks {col}: {}", lines[1]);
    }
    // Columns empty in every row are left out (no span has a parent or links).
    assert!(!header.contains(&"parent_span_id"), "{}", lines[1]);
    assert!(!header.contains(&"links"), "{}", lines[1]);
    assert_eq!(lines.len(), 2 + 6, "{out}");
    let row = lines[2];
    for cell in [
        "0000000000000002ab00000000000000",
        "0000000000000002",
        "span-1",
        "2023-11-14T22:13:20.000000001Z",
        "{pad=\"\", i=-1}",
        "{service.name=\"svc-0\", r=0}",
    ] {
        assert!(row.contains(cell), "row lacks {cell}: {row}");
    }
    // --all-columns keeps them.
    let o = cat(&["--all-columns"], &[&traces]);
    assert!(
        stdout(&o)
            .lines()
            .nth(1)
            .unwrap()
            .contains("parent_span_id")
    );
}

#[test]
fn cat_reads_the_complete_prefix_of_an_in_progress_file_and_leaves_it_alone() {
    let dir = TempDir::new("cat-partial");
    write_data(dir.path());
    let traces = dir.path().join("traces");
    let finalized = bin::walk(&traces).pop().unwrap();
    let batch = StreamReader::try_new(std::fs::File::open(&finalized).unwrap(), None)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    // A stream as a writer leaves it mid-way: schema, two complete batches, half of a third,
    // no end marker.
    let stream = |n: usize| {
        let mut w = StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
        for _ in 0..n {
            w.write(&batch).unwrap();
        }
        w.flush().unwrap();
        w.into_inner().unwrap()
    };
    let (two, three) = (stream(2), stream(3));
    let torn = &three[..two.len() + (three.len() - two.len()) / 2];
    let name = FileName::new(Signal::Traces, 4_000_000_000_000_000_000, 7)
        .unwrap()
        .file_name(FileState::InProgress);
    let partial = traces.join(&name);
    std::fs::write(&partial, torn).unwrap();

    let o = cat(&["--format", "jsonl"], &[&partial]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json_lines(&o).len(), 2 * batch.num_rows());
    assert!(stderr(&o).contains("in progress"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        torn,
        "cat never modifies a file"
    );

    // In a directory listing it comes after the finalized file (it is newer).
    let o = cat(&["--format", "jsonl", "--signal", "traces"], &[dir.path()]);
    assert!(o.status.success());
    assert_eq!(json_lines(&o).len(), 6 + 2 * batch.num_rows());
    let o = cat(&[], &[&partial]);
    let out = stdout(&o);
    assert!(out.contains("(traces, in progress): batch 2"), "{out}");
    assert!(partial.exists());

    // A partial with nothing complete yet prints nothing, without failing.
    let empty = traces.join(
        FileName::new(Signal::Traces, 4_000_000_000_000_000_001, 0)
            .unwrap()
            .file_name(FileState::InProgress),
    );
    std::fs::write(&empty, &two[..5]).unwrap();
    let o = cat(&["--format", "jsonl"], &[&empty]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn cat_of_a_directory_reads_every_signal_and_ignores_other_files() {
    let dir = TempDir::new("cat-dir");
    write_data(dir.path());
    std::fs::write(dir.path().join("traces").join("notes.txt"), "not ours").unwrap();
    std::fs::write(dir.path().join("README"), "not ours").unwrap();
    let o = cat(&["--format", "jsonl"], &[dir.path()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json_lines(&o).len(), 16);
    // Several paths: each is read in turn.
    let o = cat(
        &["--format", "jsonl"],
        &[&dir.path().join("logs"), &dir.path().join("metrics")],
    );
    assert_eq!(json_lines(&o).len(), 4 + 6);
    // A path that does not exist is an error (status 1), the others are still printed.
    let o = cat(
        &["--format", "jsonl"],
        &[&dir.path().join("nope"), &dir.path().join("logs")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
    assert_eq!(json_lines(&o).len(), 4);
    // A file that is not an Arrow stream is an error too.
    let o = cat(&[], &[&dir.path().join("README")]);
    assert_eq!(o.status.code(), Some(1));
}
