//! The C ABI driven from Rust through the rlib, exactly as C calls it: records go through the
//! real pipeline into Arrow files, which are read back, turned into OTLP again
//! (`arrow::otlp`) and compared field by field with what was recorded. Error paths check the
//! status, the last-error message and that nothing was recorded.
#![allow(missing_docs)]

use std::ffi::c_char;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use ::otlp_arrow::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use prost::Message;

/// A fresh directory under the target dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "otlp-arrow-ffi-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Lib(*mut otlp_arrow);

impl Lib {
    fn open(config: &str) -> Lib {
        let mut lib = null_mut();
        // SAFETY: valid config bytes and out pointer.
        let s = unsafe { otlp_arrow_open(config.as_ptr().cast(), config.len(), &mut lib) };
        assert_eq!(s, OTLP_ARROW_OK, "{}", last_error());
        Lib(lib)
    }

    fn in_dir(dir: &Path, extra: &str) -> Lib {
        Lib::open(&format!(
            "output_dir = {:?}\n[storage]\nfsync = \"never\"\n{extra}",
            dir.display().to_string()
        ))
    }

    fn span(&self, s: &otlp_arrow_span) -> otlp_arrow_status {
        // SAFETY: `s` is a valid view of Rust-owned memory.
        unsafe { otlp_arrow_record_span(self.0, s) }
    }

    fn metric(&self, m: &otlp_arrow_metric) -> otlp_arrow_status {
        // SAFETY: `m` is a valid view of Rust-owned memory.
        unsafe { otlp_arrow_record_metric(self.0, m) }
    }

    fn log(&self, l: &otlp_arrow_log) -> otlp_arrow_status {
        // SAFETY: `l` is a valid view of Rust-owned memory.
        unsafe { otlp_arrow_record_log(self.0, l) }
    }

    fn close(self) -> otlp_arrow_status {
        // SAFETY: an open handle, no concurrent calls.
        let s = unsafe { otlp_arrow_close(self.0) };
        std::mem::forget(self);
        s
    }

    fn stats(&self) -> otlp_arrow_counters {
        let mut c = otlp_arrow_counters {
            size: size_of::<otlp_arrow_counters>(),
            ..Default::default()
        };
        // SAFETY: open handle, valid out struct.
        assert_eq!(unsafe { otlp_arrow_stats(self.0, &mut c) }, OTLP_ARROW_OK);
        c
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        // SAFETY: an open handle (tests that close consume it).
        unsafe { otlp_arrow_close(self.0) };
    }
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 512];
    // SAFETY: 512 writable bytes.
    let n = unsafe { otlp_arrow_last_error(buf.as_mut_ptr(), buf.len()) };
    let bytes: Vec<u8> = buf[..n.min(511)].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).unwrap()
}

fn s(v: &str) -> otlp_arrow_str {
    otlp_arrow_str::of(v)
}

fn empty_str() -> otlp_arrow_str {
    otlp_arrow_str {
        ptr: null(),
        len: 0,
    }
}

fn val(type_: otlp_arrow_value_type, data: otlp_arrow_value_data) -> otlp_arrow_value {
    otlp_arrow_value {
        type_: type_ as u32,
        data,
    }
}

fn str_val(v: &str) -> otlp_arrow_value {
    val(
        otlp_arrow_value_type::String,
        otlp_arrow_value_data { string_value: s(v) },
    )
}

fn int_val(v: i64) -> otlp_arrow_value {
    val(
        otlp_arrow_value_type::Int,
        otlp_arrow_value_data { int_value: v },
    )
}

fn kv(key: &str, value: otlp_arrow_value) -> otlp_arrow_attribute {
    otlp_arrow_attribute { key: s(key), value }
}

fn span_view<'a>(name: &'a str, attrs: &'a [otlp_arrow_attribute], i: u8) -> otlp_arrow_span {
    otlp_arrow_span {
        resource_id: 0,
        scope_id: 0,
        trace_id: [i; 16],
        span_id: [i + 1; 8],
        parent_span_id: [0; 8],
        trace_state: empty_str(),
        name: s(name),
        kind: otlp_arrow_span_kind::Server as u32,
        flags: 0,
        start_time_unix_nano: 1_000 + u64::from(i),
        end_time_unix_nano: 2_000 + u64::from(i),
        attributes: attrs.as_ptr(),
        attributes_len: attrs.len(),
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        events: null(),
        events_len: 0,
        links: null(),
        links_len: 0,
        dropped_links_count: 0,
        status_code: 0,
        status_message: empty_str(),
    }
}

/// Every `.arrow` file of `signal`, as one OTLP request's bytes per batch.
fn read_back(dir: &Path, signal: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join(signal))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "arrow"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let reader =
            arrow_ipc::reader::StreamReader::try_new(std::fs::File::open(&f).unwrap(), None)
                .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let mut req = Vec::new();
            let sig = match signal {
                "traces" => core_signal::Traces,
                "metrics" => core_signal::Metrics,
                _ => core_signal::Logs,
            };
            core_otlp::request(sig, &batch, &mut req).unwrap();
            out.push(req);
        }
    }
    out
}

// The core crate is this package's dependency `core_crate` (the ffi library itself is
// `otlp_arrow` here).
use core_crate::arrow::otlp as core_otlp;
use core_crate::signal::Signal as core_signal;

fn spans(dir: &Path) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    read_back(dir, "traces")
        .iter()
        .flat_map(|b| {
            ExportTraceServiceRequest::decode(&b[..])
                .unwrap()
                .resource_spans
        })
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

fn metrics(dir: &Path) -> Vec<opentelemetry_proto::tonic::metrics::v1::Metric> {
    read_back(dir, "metrics")
        .iter()
        .flat_map(|b| {
            ExportMetricsServiceRequest::decode(&b[..])
                .unwrap()
                .resource_metrics
        })
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .collect()
}

fn log_records(dir: &Path) -> Vec<opentelemetry_proto::tonic::logs::v1::LogRecord> {
    read_back(dir, "logs")
        .iter()
        .flat_map(|b| {
            ExportLogsServiceRequest::decode(&b[..])
                .unwrap()
                .resource_logs
        })
        .flat_map(|r| r.scope_logs)
        .flat_map(|s| s.log_records)
        .collect()
}

fn any(v: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

#[test]
fn spans_round_trip_with_nested_attributes_events_and_links() {
    let tmp = TempDir::new("spans");
    let lib = Lib::in_dir(
        &tmp.0,
        "[ffi.resource]\n\"service.name\" = \"svc\"\nhost = 7\n",
    );
    let inner = [int_val(1), str_val("two")];
    let nested = [kv("k", str_val("v"))];
    let bytes = [1u8, 2, 3];
    let attrs = [
        kv("s", str_val("héllo")),
        kv(
            "b",
            val(
                otlp_arrow_value_type::Bool,
                otlp_arrow_value_data { bool_value: 1 },
            ),
        ),
        kv("i", int_val(-5)),
        kv(
            "d",
            val(
                otlp_arrow_value_type::Double,
                otlp_arrow_value_data { double_value: 2.5 },
            ),
        ),
        kv(
            "bytes",
            val(
                otlp_arrow_value_type::Bytes,
                otlp_arrow_value_data {
                    bytes_value: otlp_arrow_bytes {
                        ptr: bytes.as_ptr(),
                        len: 3,
                    },
                },
            ),
        ),
        kv(
            "arr",
            val(
                otlp_arrow_value_type::Array,
                otlp_arrow_value_data {
                    array_value: otlp_arrow_array {
                        values: inner.as_ptr(),
                        len: 2,
                    },
                },
            ),
        ),
        kv(
            "kv",
            val(
                otlp_arrow_value_type::Kvlist,
                otlp_arrow_value_data {
                    kvlist_value: otlp_arrow_kvlist {
                        attributes: nested.as_ptr(),
                        len: 1,
                    },
                },
            ),
        ),
        kv(
            "e",
            val(
                otlp_arrow_value_type::Empty,
                otlp_arrow_value_data { int_value: 0 },
            ),
        ),
    ];
    let ev_attrs = [kv("ev", int_val(3))];
    let events = [otlp_arrow_event {
        time_unix_nano: 1500,
        name: s("event"),
        attributes: ev_attrs.as_ptr(),
        attributes_len: 1,
        dropped_attributes_count: 2,
    }];
    let links = [otlp_arrow_link {
        trace_id: [9; 16],
        span_id: [8; 8],
        trace_state: s("a=b"),
        attributes: null(),
        attributes_len: 0,
        dropped_attributes_count: 0,
        flags: 1,
    }];
    let mut span = span_view("GET /", &attrs, 1);
    span.parent_span_id = [5; 8];
    span.events = events.as_ptr();
    span.events_len = 1;
    span.links = links.as_ptr();
    span.links_len = 1;
    span.status_code = otlp_arrow_span_status_code::Error as u32;
    span.status_message = s("bad");
    assert_eq!(lib.span(&span), OTLP_ARROW_OK);
    let plain = span_view("plain", &[], 3);
    assert_eq!(lib.span(&plain), OTLP_ARROW_OK);
    assert_eq!(lib.close(), OTLP_ARROW_OK);

    let got = spans(&tmp.0);
    assert_eq!(got.len(), 2);
    let g = &got[0];
    assert_eq!(g.name, "GET /");
    assert_eq!(g.trace_id, vec![1; 16]);
    assert_eq!(g.span_id, vec![2; 8]);
    assert_eq!(g.parent_span_id, vec![5; 8]);
    assert_eq!(g.kind, 2);
    assert_eq!((g.start_time_unix_nano, g.end_time_unix_nano), (1001, 2001));
    let expected_attrs = vec![
        KeyValue {
            key: "s".into(),
            key_strindex: 0,
            value: any(any_value::Value::StringValue("héllo".into())),
        },
        KeyValue {
            key: "b".into(),
            key_strindex: 0,
            value: any(any_value::Value::BoolValue(true)),
        },
        KeyValue {
            key: "i".into(),
            key_strindex: 0,
            value: any(any_value::Value::IntValue(-5)),
        },
        KeyValue {
            key: "d".into(),
            key_strindex: 0,
            value: any(any_value::Value::DoubleValue(2.5)),
        },
        KeyValue {
            key: "bytes".into(),
            key_strindex: 0,
            value: any(any_value::Value::BytesValue(vec![1, 2, 3])),
        },
        KeyValue {
            key: "arr".into(),
            key_strindex: 0,
            value: any(any_value::Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::IntValue(1)),
                        },
                        AnyValue {
                            value: Some(any_value::Value::StringValue("two".into())),
                        },
                    ],
                },
            )),
        },
        KeyValue {
            key: "kv".into(),
            key_strindex: 0,
            value: any(any_value::Value::KvlistValue(
                opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![KeyValue {
                        key: "k".into(),
                        key_strindex: 0,
                        value: any(any_value::Value::StringValue("v".into())),
                    }],
                },
            )),
        },
        KeyValue {
            key: "e".into(),
            key_strindex: 0,
            value: Some(AnyValue { value: None }),
        },
    ];
    assert_eq!(g.attributes, expected_attrs);
    assert_eq!(g.events.len(), 1);
    assert_eq!(g.events[0].name, "event");
    assert_eq!(g.events[0].dropped_attributes_count, 2);
    assert_eq!(g.links[0].trace_state, "a=b");
    assert_eq!(g.links[0].span_id, vec![8; 8]);
    let status = g.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "bad"));
    assert!(
        got[1].parent_span_id.is_empty(),
        "all-zero parent is a root span"
    );
    assert!(got[1].status.is_none());

    let req = ExportTraceServiceRequest::decode(&read_back(&tmp.0, "traces")[0][..]).unwrap();
    let res = req.resource_spans[0].resource.as_ref().unwrap();
    let mut keys: Vec<_> = res.attributes.iter().map(|a| a.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["host", "service.name"]);
    assert_eq!(
        req.resource_spans[0].scope_spans[0]
            .scope
            .as_ref()
            .unwrap()
            .name,
        "otlp-arrow"
    );
}

#[test]
fn metrics_and_logs_round_trip() {
    let tmp = TempDir::new("metrics");
    let lib = Lib::in_dir(&tmp.0, "");
    let pa = [kv("p", int_val(1))];
    let points = [
        otlp_arrow_number_point {
            attributes: pa.as_ptr(),
            attributes_len: 1,
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            value_type: otlp_arrow_number_type::Int as u32,
            flags: 0,
            as_double: 0.0,
            as_int: 42,
        },
        otlp_arrow_number_point {
            attributes: null(),
            attributes_len: 0,
            start_time_unix_nano: 1,
            time_unix_nano: 3,
            value_type: otlp_arrow_number_type::Double as u32,
            flags: 0,
            as_double: 0.5,
            as_int: 0,
        },
    ];
    let mut m = otlp_arrow_metric {
        resource_id: 0,
        scope_id: 0,
        name: s("requests"),
        description: s("how many"),
        unit: s("1"),
        metric_type: otlp_arrow_metric_type::Sum as u32,
        aggregation_temporality: otlp_arrow_temporality::Cumulative as u32,
        is_monotonic: 1,
        number_points: points.as_ptr(),
        histogram_points: null(),
        exponential_histogram_points: null(),
        summary_points: null(),
        points_len: 2,
    };
    assert_eq!(lib.metric(&m), OTLP_ARROW_OK);
    let counts = [1u64, 2, 3];
    let bounds = [1.0f64, 2.0];
    let hist = [otlp_arrow_histogram_point {
        attributes: null(),
        attributes_len: 0,
        start_time_unix_nano: 1,
        time_unix_nano: 4,
        count: 6,
        sum: 9.0,
        min: 0.5,
        max: 3.0,
        bucket_counts: counts.as_ptr(),
        bucket_counts_len: 3,
        explicit_bounds: bounds.as_ptr(),
        explicit_bounds_len: 2,
        flags: 0,
        has_sum: 1,
        has_min: 1,
        has_max: 0,
    }];
    m.metric_type = otlp_arrow_metric_type::Histogram as u32;
    m.name = s("latency");
    m.histogram_points = hist.as_ptr();
    m.points_len = 1;
    assert_eq!(lib.metric(&m), OTLP_ARROW_OK);

    let body_items = [str_val("x"), int_val(2)];
    let body = val(
        otlp_arrow_value_type::Array,
        otlp_arrow_value_data {
            array_value: otlp_arrow_array {
                values: body_items.as_ptr(),
                len: 2,
            },
        },
    );
    let la = [kv("l", str_val("v"))];
    let log = otlp_arrow_log {
        resource_id: 0,
        scope_id: 0,
        time_unix_nano: 10,
        observed_time_unix_nano: 11,
        severity_number: otlp_arrow_severity::Warn as u32,
        flags: 1,
        severity_text: s("WARN"),
        body: &body,
        attributes: la.as_ptr(),
        attributes_len: 1,
        dropped_attributes_count: 0,
        trace_id: [3; 16],
        span_id: [0; 8],
        event_name: s("ev"),
    };
    assert_eq!(lib.log(&log), OTLP_ARROW_OK);
    let text_body = str_val("plain text");
    let log2 = otlp_arrow_log {
        body: &text_body,
        ..log
    };
    assert_eq!(lib.log(&log2), OTLP_ARROW_OK);
    assert_eq!(lib.close(), OTLP_ARROW_OK);

    let metrics = metrics(&tmp.0);
    let sum = metrics.iter().find(|m| m.name == "requests").unwrap();
    let Some(metric::Data::Sum(s)) = &sum.data else {
        panic!("{sum:?}")
    };
    assert!(s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 2);
    assert_eq!(s.data_points.len(), 2);
    assert_eq!(sum.description, "how many");
    let h = metrics.iter().find(|m| m.name == "latency").unwrap();
    let Some(metric::Data::Histogram(h)) = &h.data else {
        panic!()
    };
    assert_eq!(h.data_points[0].bucket_counts, vec![1, 2, 3]);
    assert_eq!(h.data_points[0].explicit_bounds, vec![1.0, 2.0]);
    assert_eq!(h.data_points[0].sum, Some(9.0));
    assert_eq!(h.data_points[0].max, None);

    let logs = log_records(&tmp.0);
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].severity_number, 13);
    assert_eq!(logs[0].severity_text, "WARN");
    assert_eq!(logs[0].trace_id, vec![3; 16]);
    assert!(logs[0].span_id.is_empty());
    assert_eq!(logs[0].event_name, "ev");
    let Some(any_value::Value::ArrayValue(a)) = logs[0].body.as_ref().unwrap().value.as_ref()
    else {
        panic!()
    };
    assert_eq!(a.values.len(), 2);
    assert_eq!(
        logs[1].body.as_ref().unwrap().value,
        Some(any_value::Value::StringValue("plain text".into()))
    );
}

#[test]
fn invalid_utf8_is_rejected_or_replaced_per_config() {
    let bad: &[u8] = b"ab\xffc\xe2\x82";
    let bad_str = otlp_arrow_str {
        ptr: bad.as_ptr().cast(),
        len: bad.len(),
    };
    let lossy = String::from_utf8_lossy(bad).into_owned();

    let tmp = TempDir::new("reject");
    let lib = Lib::in_dir(&tmp.0, "");
    let mut span = span_view("ok", &[], 1);
    span.name = bad_str;
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    assert!(
        last_error().contains("span name is not UTF-8"),
        "{}",
        last_error()
    );
    let attrs = [otlp_arrow_attribute {
        key: bad_str,
        value: int_val(1),
    }];
    let span = span_view("ok", &attrs, 1);
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    assert_eq!(lib.stats().traces.rejected_invalid, 2);
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    assert!(spans(&tmp.0).is_empty());

    let tmp = TempDir::new("replace");
    let lib = Lib::in_dir(&tmp.0, "[ffi]\ninvalid_utf8 = \"replace\"\n");
    let nested = [otlp_arrow_attribute {
        key: s("n"),
        value: otlp_arrow_value {
            type_: 1,
            data: otlp_arrow_value_data {
                string_value: bad_str,
            },
        },
    }];
    let attrs = [
        otlp_arrow_attribute {
            key: bad_str,
            value: val(
                otlp_arrow_value_type::Kvlist,
                otlp_arrow_value_data {
                    kvlist_value: otlp_arrow_kvlist {
                        attributes: nested.as_ptr(),
                        len: 1,
                    },
                },
            ),
        },
        kv("ok", str_val("fine")),
    ];
    let mut span = span_view("x", &attrs, 1);
    span.name = bad_str;
    assert_eq!(lib.span(&span), OTLP_ARROW_OK, "{}", last_error());
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    let got = spans(&tmp.0);
    assert_eq!(got[0].name, lossy);
    assert_eq!(got[0].attributes[0].key, lossy);
    let Some(any_value::Value::KvlistValue(k)) =
        got[0].attributes[0].value.as_ref().unwrap().value.as_ref()
    else {
        panic!()
    };
    assert_eq!(
        k.values[0].value.as_ref().unwrap().value,
        Some(any_value::Value::StringValue(lossy.clone()))
    );
    assert_eq!(
        got[0].attributes[1].value.as_ref().unwrap().value,
        Some(any_value::Value::StringValue("fine".into()))
    );
}

#[test]
fn error_paths_return_status_and_record_nothing() {
    let tmp = TempDir::new("errors");
    let lib = Lib::in_dir(&tmp.0, "[ring]\ntraces = \"64KiB\"\n");
    let mut span = span_view("x", &[], 1);
    // SAFETY: (all calls below): the arguments are what each case says.
    unsafe {
        assert_eq!(
            otlp_arrow_record_span(null(), &span),
            OTLP_ARROW_INVALID_ARGUMENT
        );
        assert!(last_error().contains("handle is NULL"));
        assert_eq!(
            otlp_arrow_record_span(lib.0, null()),
            OTLP_ARROW_INVALID_ARGUMENT
        );
        assert_eq!(
            otlp_arrow_record_metric(lib.0, null()),
            OTLP_ARROW_INVALID_ARGUMENT
        );
        assert_eq!(
            otlp_arrow_record_log(lib.0, null()),
            OTLP_ARROW_INVALID_ARGUMENT
        );
    }
    span.name = otlp_arrow_str {
        ptr: null(),
        len: 3,
    };
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    span.name = s("x");
    span.kind = 6;
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    assert!(
        last_error().contains("unknown span kind 6"),
        "{}",
        last_error()
    );
    span.kind = 0;
    span.status_code = 3;
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    span.status_code = 0;
    span.resource_id = 1;
    assert_eq!(lib.span(&span), OTLP_ARROW_INVALID_ARGUMENT);
    assert!(last_error().contains("unknown resource id"));
    span.resource_id = 0;
    let bad_type = [kv(
        "k",
        otlp_arrow_value {
            type_: 99,
            data: otlp_arrow_value_data { int_value: 0 },
        },
    )];
    let span2 = span_view("x", &bad_type, 1);
    assert_eq!(lib.span(&span2), OTLP_ARROW_INVALID_ARGUMENT);
    assert!(last_error().contains("unknown value type 99"));
    // A value that contains itself: refused at the depth limit, never a stack overflow.
    let mut cyclic = otlp_arrow_value {
        type_: 5,
        data: otlp_arrow_value_data { int_value: 0 },
    };
    cyclic.data.array_value = otlp_arrow_array {
        values: &cyclic,
        len: 1,
    };
    let cyc = [kv("c", cyclic)];
    assert_eq!(
        lib.span(&span_view("x", &cyc, 1)),
        OTLP_ARROW_INVALID_ARGUMENT
    );
    assert!(last_error().contains("OTLP_ARROW_MAX_DEPTH"));
    // Larger than the ring's largest record (64 KiB / 8).
    let big = "x".repeat(9000);
    assert_eq!(lib.span(&span_view(&big, &[], 1)), OTLP_ARROW_TOO_LARGE);
    // Fill the ring: the drain may take records meanwhile, so write until FULL (bounded).
    let name = "y".repeat(7000);
    let mut full = false;
    for _ in 0..100_000 {
        match lib.span(&span_view(&name, &[], 1)) {
            OTLP_ARROW_OK => {}
            OTLP_ARROW_FULL => {
                full = true;
                break;
            }
            other => panic!("{other}"),
        }
    }
    assert!(full, "a 64 KiB ring fills up");
    assert!(last_error().contains("traces ring is full"));
    let c = lib.stats();
    assert_eq!(
        c.traces.rejected_invalid, 6,
        "records refused (NULL views are not records)"
    );
    assert!(c.traces.rejected_full >= 1);
    assert_eq!(c.traces.rejected_too_large, 1);
    assert_eq!(c.traces.ring_capacity, 64 << 10);

    // The versioned stats struct: an older caller with a smaller struct gets its prefix.
    let mut small = [0u64; 3];
    small[0] = 24;
    // SAFETY: 24 writable bytes starting with the size field.
    let status = unsafe { otlp_arrow_stats(lib.0, small.as_mut_ptr().cast()) };
    assert_eq!(status, OTLP_ARROW_OK);
    assert_eq!(small[0], 24);
    assert_eq!(small[1], 64 << 10, "traces.ring_capacity");
    let mut tiny = [4usize];
    // SAFETY: writable.
    let status = unsafe { otlp_arrow_stats(lib.0, tiny.as_mut_ptr().cast()) };
    assert_eq!(status, OTLP_ARROW_INVALID_ARGUMENT);

    // Use after close is detected while the shell is not reused.
    let raw = lib.0;
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    // SAFETY: shells are never freed; a closed one reports CLOSED.
    unsafe {
        assert_eq!(otlp_arrow_record_span(raw, &span), OTLP_ARROW_CLOSED);
        assert_eq!(otlp_arrow_flush(raw, 0), OTLP_ARROW_CLOSED);
        assert_eq!(otlp_arrow_close(raw), OTLP_ARROW_CLOSED);
        assert_eq!(otlp_arrow_close(null_mut()), OTLP_ARROW_OK);
    }
}

#[test]
fn open_reports_config_errors_and_writes_out_only_on_success() {
    let mut lib = std::ptr::dangling_mut::<otlp_arrow>();
    let cases: [(&[u8], u32, &str); 4] = [
        (
            b"[storage]\ncompression = \"snappy\"\n",
            OTLP_ARROW_CONFIG,
            "snappy",
        ),
        (b"no_such_key = 1\n", OTLP_ARROW_CONFIG, "no_such_key"),
        (b"\xff", OTLP_ARROW_CONFIG, "not UTF-8"),
        (
            b"[ffi]\nreceivers = \"yes\"\n",
            OTLP_ARROW_CONFIG,
            "ffi.receivers",
        ),
    ];
    for (text, status, needle) in cases {
        // SAFETY: valid bytes and out pointer.
        let got = unsafe { otlp_arrow_open(text.as_ptr().cast(), text.len(), &mut lib) };
        assert_eq!(got, status);
        assert!(last_error().contains(needle), "{needle}: {}", last_error());
        assert_eq!(
            lib,
            std::ptr::dangling_mut::<otlp_arrow>(),
            "out untouched on failure"
        );
    }
    // SAFETY: NULL config with a length, and a NULL out.
    unsafe {
        assert_eq!(
            otlp_arrow_open(null(), 3, &mut lib),
            OTLP_ARROW_INVALID_ARGUMENT
        );
        assert_eq!(
            otlp_arrow_open(null(), 0, null_mut()),
            OTLP_ARROW_INVALID_ARGUMENT
        );
    }
}

#[test]
fn registered_resources_and_scopes_are_used_by_id() {
    let tmp = TempDir::new("register");
    let lib = Lib::in_dir(&tmp.0, "");
    let ra = [kv("service.name", str_val("other"))];
    let (mut rid, mut sid) = (u32::MAX, u32::MAX);
    // SAFETY: open handle, valid views, writable ids.
    unsafe {
        assert_eq!(
            otlp_arrow_register_resource(lib.0, ra.as_ptr(), 1, 0, s("https://schema/r"), &mut rid),
            OTLP_ARROW_OK
        );
        let mut again = 0;
        otlp_arrow_register_resource(lib.0, ra.as_ptr(), 1, 0, s("https://schema/r"), &mut again);
        assert_eq!(again, rid);
        assert_eq!(
            otlp_arrow_register_scope(lib.0, s("lib"), s("1.2"), null(), 0, empty_str(), &mut sid),
            OTLP_ARROW_OK
        );
        assert_eq!(
            otlp_arrow_register_scope(lib.0, s("x"), s(""), null(), 0, empty_str(), null_mut()),
            OTLP_ARROW_INVALID_ARGUMENT
        );
    }
    assert_eq!((rid, sid), (1, 1));
    let mut span = span_view("x", &[], 1);
    span.resource_id = rid;
    span.scope_id = sid;
    assert_eq!(lib.span(&span), OTLP_ARROW_OK);
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    let req = ExportTraceServiceRequest::decode(&read_back(&tmp.0, "traces")[0][..]).unwrap();
    let rs = &req.resource_spans[0];
    assert_eq!(rs.schema_url, "https://schema/r");
    assert_eq!(
        rs.resource.as_ref().unwrap().attributes[0].value,
        any(any_value::Value::StringValue("other".into()))
    );
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("lib", "1.2")
    );
}

#[test]
fn many_threads_record_at_once_and_every_span_is_stored() {
    let tmp = TempDir::new("threads");
    let lib = Lib::in_dir(&tmp.0, "");
    let handle = lib.0 as usize;
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let attrs = [kv("thread", int_val(i64::from(t)))];
                for _ in 0..500 {
                    let span = span_view("t", &attrs, t);
                    // SAFETY: the handle outlives the threads (joined before close).
                    let s = unsafe { otlp_arrow_record_span(handle as *const otlp_arrow, &span) };
                    assert_eq!(s, OTLP_ARROW_OK);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: open handle.
    assert_eq!(unsafe { otlp_arrow_flush(lib.0, 10_000) }, OTLP_ARROW_OK);
    assert_eq!(lib.stats().traces.rows_written, 2000);
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    assert_eq!(spans(&tmp.0).len(), 2000);
}

#[test]
fn receivers_start_only_when_asked_and_stop_at_close() {
    use std::io::{Read, Write};
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let tmp = TempDir::new("receivers");
    // Without `[ffi] receivers = true` nothing listens, whatever `[receiver]` says.
    let quiet = Lib::in_dir(
        &tmp.0,
        &format!("[receiver]\ngrpc_enabled = false\nhttp_addr = \"127.0.0.1:{port}\"\n"),
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert_eq!(quiet.close(), OTLP_ARROW_OK);

    let lib = Lib::in_dir(
        &tmp.0,
        &format!(
            "[receiver]\ngrpc_enabled = false\nhttp_addr = \"127.0.0.1:{port}\"\n[ffi]\nreceivers = true\n"
        ),
    );
    // One span over OTLP/HTTP (protobuf), next to one recorded in-process.
    let req = ExportTraceServiceRequest {
        resource_spans: vec![opentelemetry_proto::tonic::trace::v1::ResourceSpans {
            scope_spans: vec![opentelemetry_proto::tonic::trace::v1::ScopeSpans {
                spans: vec![opentelemetry_proto::tonic::trace::v1::Span {
                    trace_id: vec![4; 16],
                    span_id: vec![4; 8],
                    name: "remote".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        req.len()
    )
    .unwrap();
    conn.write_all(&req).unwrap();
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(lib.span(&span_view("local", &[], 1)), OTLP_ARROW_OK);
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    let mut names: Vec<_> = spans(&tmp.0).into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, ["local", "remote"]);
}

#[test]
fn wait_policy_waits_for_room_instead_of_dropping() {
    let tmp = TempDir::new("wait");
    let lib = Lib::in_dir(
        &tmp.0,
        "[ring]\ntraces = \"4KiB\"\nmetrics = \"4KiB\"\nlogs = \"4KiB\"\n\
         full_policy = \"wait\"\nwait_timeout = \"10s\"\n",
    );
    // 300 records of ~400 bytes per signal through 4 KiB rings: only possible by waiting for
    // the drains. Spans take the hot path's waiting branch, metrics and logs the general
    // path's.
    let text = "w".repeat(380);
    let point = [otlp_arrow_number_point {
        attributes: null(),
        attributes_len: 0,
        start_time_unix_nano: 1,
        time_unix_nano: 2,
        value_type: otlp_arrow_number_type::Int as u32,
        flags: 0,
        as_double: 0.0,
        as_int: 7,
    }];
    let metric = otlp_arrow_metric {
        resource_id: 0,
        scope_id: 0,
        name: s(&text),
        description: empty_str(),
        unit: empty_str(),
        metric_type: otlp_arrow_metric_type::Gauge as u32,
        aggregation_temporality: 0,
        is_monotonic: 0,
        number_points: point.as_ptr(),
        histogram_points: null(),
        exponential_histogram_points: null(),
        summary_points: null(),
        points_len: 1,
    };
    let body = str_val(&text);
    let log = otlp_arrow_log {
        resource_id: 0,
        scope_id: 0,
        time_unix_nano: 10,
        observed_time_unix_nano: 11,
        severity_number: otlp_arrow_severity::Info as u32,
        flags: 0,
        severity_text: empty_str(),
        body: &body,
        attributes: null(),
        attributes_len: 0,
        dropped_attributes_count: 0,
        trace_id: [0; 16],
        span_id: [0; 8],
        event_name: empty_str(),
    };
    for _ in 0..300 {
        for st in [
            lib.span(&span_view(&text, &[], 1)),
            lib.metric(&metric),
            lib.log(&log),
        ] {
            assert_eq!(st, OTLP_ARROW_OK, "{}", last_error());
        }
    }
    let stats = lib.stats();
    assert_eq!(
        (
            stats.traces.rejected_full,
            stats.metrics.rejected_full,
            stats.logs.rejected_full
        ),
        (0, 0, 0)
    );
    assert_eq!(lib.close(), OTLP_ARROW_OK);
    // Metrics of one name share a `Metric` per batch: count their points.
    let points: usize = metrics(&tmp.0)
        .into_iter()
        .map(|m| match m.data {
            Some(metric::Data::Gauge(g)) => g.data_points.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(
        (spans(&tmp.0).len(), points, log_records(&tmp.0).len()),
        (300, 300, 300)
    );
}
