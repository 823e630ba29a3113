//! The stored files as Python users read them: the pipeline writes a known set of spans
//! (attributes of every scalar type), metric points and log records; then
//! `tests/python/check_files.py` reads every file with pyarrow, compares the rows with a manifest
//! written here, and queries an attribute by key with pyarrow, DuckDB and polars.
//!
//! The Python modules are installed by the test command (`scripts/test.sh`, which also sets
//! `REQUIRE_PYTHON_CHECKS=1` so that a missing module fails instead of skipping).

#[path = "arrow_support/mod.rs"]
mod support;

use std::process::Command;
use std::time::Duration;

use otlp_arrow::arrow::schema;
use otlp_arrow::config::Config;
use otlp_arrow::pipeline::Pipeline;
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::encode::{
    AggregationTemporality, AnyValue, Encode, KeyValue, LogRecord, Metric, MetricData,
    NumberDataPoint, NumberValue, Part, Resource, ResourceLogs, ResourceMetrics, ResourceSpans,
    Scope, SeverityNumber, Span, SpanKind,
};
use serde_json::{Value, json};

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow, duckdb, polars"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("REQUIRE_PYTHON_CHECKS").is_none(),
            "pyarrow, duckdb and polars are required here (pip install -r tests/python/requirements.txt)"
        );
        eprintln!("skipping: pyarrow/duckdb/polars not installed");
    }
    ok
}

fn commit<R: Encode>(p: &Pipeline, signal: Signal, record: &R, encode: impl Fn(&R, &mut [u8])) {
    let mut claim = p
        .ring(signal)
        .producer()
        .try_claim(signal.record_kind(), record.encoded_len())
        .unwrap();
    encode(record, claim.payload_mut());
    claim.commit();
}

#[test]
fn python_readers_see_exactly_what_was_written() {
    if !python_ready() {
        return;
    }
    let dir = support::TempDir::new("python");
    let config = Config {
        output_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let p = Pipeline::start(&config).unwrap();
    let res_attrs = [
        KeyValue::new("service.name", AnyValue::String("py-check")),
        KeyValue::new("host.cores", AnyValue::Int(2)),
    ];
    let resource = Part::View(Resource {
        attributes: &res_attrs[..],
        dropped_attributes_count: 0,
    });
    let scope = Part::View(Scope {
        name: "py-scope",
        version: "1.0",
        ..Scope::default()
    });

    // Spans: 60, a third of them GET, with one attribute of every scalar type.
    let methods = ["GET", "POST", "PUT"];
    let mut spans_json = Vec::new();
    for i in 0..60u64 {
        let method = methods[(i % 3) as usize];
        let blob = [i as u8, 0xAB];
        let attrs = [
            KeyValue::new("http.method", AnyValue::String(method)),
            KeyValue::new("http.status_code", AnyValue::Int(200 + i as i64)),
            KeyValue::new("sampled", AnyValue::Bool(i % 2 == 0)),
            KeyValue::new("ratio", AnyValue::Double(i as f64 / 4.0)),
            KeyValue::new("blob", AnyValue::Bytes(&blob)),
        ];
        let span: Span<'_> = Span {
            trace_id: [0x11; 16],
            span_id: (i + 1).to_be_bytes(),
            name: "handle",
            kind: SpanKind::Server,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i,
            end_time_unix_nano: 1_700_000_000_000_001_000 + i,
            attributes: &attrs[..],
            ..Span::default()
        };
        let record = ResourceSpans {
            resource,
            scope,
            spans: core::slice::from_ref(&span),
            ..ResourceSpans::default()
        };
        commit(&p, Signal::Traces, &record, |r, b| {
            r.encode_exact(b).unwrap()
        });
        spans_json.push(json!({
            "span_id": hex(&(i + 1).to_be_bytes()),
            "trace_id": hex(&[0x11; 16]),
            "name": "handle",
            "kind": 2,
            "start_time_unix_nano": 1_700_000_000_000_000_000u64 + i,
            "attributes": {
                "http.method": [1, method],
                "http.status_code": [3, 200 + i],
                "sampled": [2, i % 2 == 0],
                "ratio": [4, i as f64 / 4.0],
                "blob": [7, hex(&blob)],
            },
            "resource_attributes": {"service.name": [1, "py-check"], "host.cores": [3, 2]},
            "scope_name": "py-scope",
        }));
    }

    // Metric points: a gauge of ints and a cumulative monotonic sum of doubles.
    let point_attrs = [KeyValue::new("queue", AnyValue::String("q1"))];
    let gauge: Vec<NumberDataPoint<'_>> = (0..5)
        .map(|i| NumberDataPoint {
            attributes: &point_attrs[..],
            time_unix_nano: 10 + i,
            value: Some(NumberValue::Int(i as i64 * 3)),
            ..NumberDataPoint::default()
        })
        .collect();
    let sum: Vec<NumberDataPoint<'_>> = (0..4)
        .map(|i| NumberDataPoint {
            attributes: &point_attrs[..],
            time_unix_nano: 100 + i,
            value: Some(NumberValue::Double(i as f64 + 0.5)),
            ..NumberDataPoint::default()
        })
        .collect();
    let metrics = [
        Metric {
            name: "queue.depth",
            description: "items waiting",
            unit: "1",
            data: MetricData::Gauge {
                data_points: &gauge,
            },
            metadata: &[],
        },
        Metric {
            name: "bytes.sent",
            description: "",
            unit: "By",
            data: MetricData::Sum {
                data_points: &sum,
                aggregation_temporality: AggregationTemporality::Cumulative,
                is_monotonic: true,
            },
            metadata: &[],
        },
    ];
    let record = ResourceMetrics {
        resource,
        scope,
        metrics: &metrics,
        ..ResourceMetrics::default()
    };
    commit(&p, Signal::Metrics, &record, |r, b| {
        r.encode_exact(b).unwrap()
    });
    let mut metrics_json: Vec<Value> = (0..5)
        .map(|i| {
            json!({"time_unix_nano": 10 + i, "metric_name": "queue.depth", "metric_type": "gauge",
                   "value_int": i * 3, "value_double": null, "aggregation_temporality": null,
                   "is_monotonic": null, "attributes": {"queue": [1, "q1"]}})
        })
        .collect();
    metrics_json.extend((0..4).map(|i| {
        json!({"time_unix_nano": 100 + i, "metric_name": "bytes.sent", "metric_type": "sum",
               "value_int": null, "value_double": i as f64 + 0.5, "aggregation_temporality": 2,
               "is_monotonic": true, "attributes": {"queue": [1, "q1"]}})
    }));

    // Log records with a string body and an int body.
    let bodies = [AnyValue::String("started"), AnyValue::Int(42)];
    let logs: Vec<LogRecord<'_>> = (0..2)
        .map(|i| LogRecord {
            time_unix_nano: 1000 + i as u64,
            severity_number: if i == 0 {
                SeverityNumber::Info
            } else {
                SeverityNumber::Error
            },
            severity_text: if i == 0 { "INFO" } else { "ERROR" },
            body: Some(&bodies[i]),
            ..LogRecord::default()
        })
        .collect();
    let record = ResourceLogs {
        resource,
        scope,
        log_records: &logs,
        ..ResourceLogs::default()
    };
    commit(&p, Signal::Logs, &record, |r, b| r.encode_exact(b).unwrap());
    let logs_json = json!([
        {"time_unix_nano": 1000, "severity_number": 9, "severity_text": "INFO", "body": [1, "started"]},
        {"time_unix_nano": 1001, "severity_number": 17, "severity_text": "ERROR", "body": [3, 42]},
    ]);

    p.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(p.shutdown().lost(), 0);
    assert_eq!(
        schema::traces()
            .field_with_name("attributes")
            .unwrap()
            .name(),
        "attributes"
    );

    let manifest = json!({
        "traces": spans_json,
        "metrics": metrics_json,
        "logs": logs_json,
        "query": {"key": "http.method", "string_value": "GET", "count": 20},
    });
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_files.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .arg(&manifest_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    println!("{stdout}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
