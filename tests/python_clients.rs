//! A standard OTLP client against the real service: the OpenTelemetry Python SDK with its
//! gRPC and HTTP/protobuf exporters (`tests/python/otel_clients.py`) sends spans, metrics of
//! every instrument kind and logs to `otlp-arrow serve`; after SIGTERM the stored rows equal
//! what the SDK sent, value for value.
//!
//! Needs the Python packages of `tests/python/requirements.txt` (installed by the test command,
//! which sets `REQUIRE_PYTHON_CHECKS=1` so that missing packages fail instead of skipping).

#[path = "bin_support/mod.rs"]
mod bin;

use std::collections::BTreeMap;
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int32Type, Int64Type, TimestampNanosecondType, UInt8Type, UInt64Type,
};
use arrow_array::{Array, MapArray, RecordBatch, StructArray};
use bin::{TempDir, batches, serve_in};
use serde_json::{Value, json};

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("REQUIRE_PYTHON_CHECKS").is_none(),
            "the OpenTelemetry Python SDK is required here (pip install -r tests/python/requirements.txt)"
        );
        eprintln!("skipping: opentelemetry-sdk / exporters not installed");
    }
    ok
}

/// One row's attributes as JSON values typed like the SDK's (str, int, float, bool).
fn attributes(map: &MapArray, row: usize) -> BTreeMap<String, Value> {
    let entries = map.value(row);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries
        .column(1)
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap();
    let tag = values.column(0).as_primitive::<UInt8Type>();
    (0..entries.len())
        .map(|i| {
            let v = match tag.value(i) {
                1 => json!(values.column(1).as_string::<i32>().value(i)),
                2 => json!(values.column(2).as_boolean().value(i)),
                3 => json!(values.column(3).as_primitive::<Int64Type>().value(i)),
                4 => json!(values.column(4).as_primitive::<Float64Type>().value(i)),
                t => panic!("unexpected attribute type {t}"),
            };
            (keys.value(i).to_string(), v)
        })
        .collect()
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a dyn Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_ref()
}

fn service_of(b: &RecordBatch, row: usize) -> Value {
    let res = attributes(col(b, "resource_attributes").as_map(), row);
    res["service.name"].clone()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn python_sdk_exporters_over_grpc_and_http_store_exactly_what_was_sent() {
    if !python_ready() {
        return;
    }
    let dir = TempDir::new("py-clients");
    let svc = serve_in(dir.path(), &[]);
    let manifest_path = dir.path().join("sent.json");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/otel_clients.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(svc.grpc.to_string())
        .arg(svc.http.to_string())
        .arg(&manifest_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, log) = svc.stop("TERM");
    assert!(status.success(), "service exit {status:?}; log: {log:#?}");
    let sent: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let data = dir.path().join("data");

    // Spans: every one, once, with ids, parent, kind, times, typed attributes and resource.
    let mut stored = BTreeMap::new();
    for b in batches(&data.join("traces")) {
        let span_id = col(&b, "span_id").as_fixed_size_binary();
        let trace_id = col(&b, "trace_id").as_fixed_size_binary();
        let parent = col(&b, "parent_span_id").as_fixed_size_binary();
        let name = col(&b, "name").as_string::<i32>();
        let kind = col(&b, "kind").as_primitive::<Int32Type>();
        let start = col(&b, "start_time_unix_nano").as_primitive::<TimestampNanosecondType>();
        let end = col(&b, "end_time_unix_nano").as_primitive::<TimestampNanosecondType>();
        for r in 0..b.num_rows() {
            let row = json!({
                "trace_id": hex(trace_id.value(r)),
                "span_id": hex(span_id.value(r)),
                "parent_span_id": if parent.is_null(r) { Value::Null } else { json!(hex(parent.value(r))) },
                "name": name.value(r),
                "kind": kind.value(r),
                "start_time_unix_nano": start.value(r),
                "end_time_unix_nano": end.value(r),
                "attributes": attributes(col(&b, "attributes").as_map(), r),
                "service": service_of(&b, r),
            });
            assert!(
                stored.insert(hex(span_id.value(r)), row).is_none(),
                "duplicate span"
            );
        }
    }
    let sent_spans = sent["spans"].as_array().unwrap();
    assert_eq!(stored.len(), sent_spans.len(), "span count");
    for s in sent_spans {
        let got = &stored[s["span_id"].as_str().unwrap()];
        assert_eq!(got, s, "span {}", s["span_id"]);
    }

    // Metric points: one per instrument and transport, with type and value.
    let mut points = Vec::new();
    for b in batches(&data.join("metrics")) {
        let name = col(&b, "metric_name").as_string::<i32>();
        let mtype = col(&b, "metric_type").as_string::<i32>();
        let vint = col(&b, "value_int").as_primitive::<Int64Type>();
        let vdbl = col(&b, "value_double").as_primitive::<Float64Type>();
        let count = col(&b, "count").as_primitive::<UInt64Type>();
        let sum = col(&b, "sum").as_primitive::<Float64Type>();
        let mono = col(&b, "is_monotonic").as_boolean();
        for r in 0..b.num_rows() {
            let mut p = json!({"name": name.value(r), "type": mtype.value(r), "service": service_of(&b, r)});
            let m = p.as_object_mut().unwrap();
            match mtype.value(r) {
                "sum" => {
                    m.insert("value_int".into(), json!(vint.value(r)));
                    m.insert("is_monotonic".into(), json!(mono.value(r)));
                }
                "gauge" => {
                    m.insert("value_double".into(), json!(vdbl.value(r)));
                }
                _ => {
                    m.insert("count".into(), json!(count.value(r)));
                    m.insert("sum".into(), json!(sum.value(r)));
                }
            }
            assert_eq!(
                attributes(col(&b, "attributes").as_map(), r)["route"],
                json!("/a")
            );
            points.push(p);
        }
    }
    let key = |v: &Value| format!("{}|{}", v["service"], v["name"]);
    points.sort_by_key(key);
    let mut sent_points = sent["metrics"].as_array().unwrap().clone();
    sent_points.sort_by_key(key);
    assert_eq!(points, sent_points);

    // Logs: bodies, severities and resources.
    let mut logs = Vec::new();
    for b in batches(&data.join("logs")) {
        let body = col(&b, "body").as_struct();
        let text = body.column(1).as_string::<i32>();
        let sev = col(&b, "severity_number").as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            logs.push(json!({"body": text.value(r), "severity_number": sev.value(r), "service": service_of(&b, r)}));
        }
    }
    let by_body = |v: &Value| v["body"].as_str().unwrap().to_string();
    logs.sort_by_key(by_body);
    let mut sent_logs = sent["logs"].as_array().unwrap().clone();
    sent_logs.sort_by_key(by_body);
    assert_eq!(logs, sent_logs);
}
