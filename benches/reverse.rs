//! The reverse path's rate (stored batch -> OTLP request bytes), the forwarder's catch-up
//! from files, on the same typical requests as `benches/scan.rs`.
//!
//! The batch is made once, outside the timing, by the storage decoder from the request's
//! `Resource*` records. Peers, throughput in items (spans, data points, log records):
//! - `0-otlp-arrow`: `BatchEncoder::new` (column lookup and validation) and one
//!   `encode_request` over all rows, into a reused `Vec`;
//! - `1-otlp-arrow-cut-256`: the same batch cut into requests of at most 256 items and 64 KiB
//!   with `encode_request_limited`, as the forwarder sends them;
//! - `2-prost-encode`: prost encoding the equivalent `Export*ServiceRequest` from its already
//!   built object tree (a lower bound for any path that builds prost structs from rows first:
//!   building them is not counted).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::Event};
use otlp_arrow::arrow::decode::decoder_for;
use otlp_arrow::arrow::otlp::{BatchEncoder, Limits};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::scan::scan;
use prost::Message;
use std::hint::black_box;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn attributes(i: usize) -> Vec<KeyValue> {
    use any_value::Value::{BoolValue, IntValue, StringValue};
    vec![
        kv("http.request.method", StringValue("GET".into())),
        kv("url.path", StringValue(format!("/api/v1/users/{i}/orders"))),
        kv("http.response.status_code", IntValue(200)),
        kv(
            "server.address",
            StringValue("orders.internal.example.com".into()),
        ),
        kv("network.protocol.version", StringValue("1.1".into())),
        kv(
            "user_agent.original",
            StringValue("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
        ),
        kv("db.system", StringValue("postgresql".into())),
        kv("cache.hit", BoolValue(i % 3 == 0)),
    ]
}

fn resource() -> Option<Resource> {
    use any_value::Value::StringValue;
    Some(Resource {
        attributes: vec![
            kv("service.name", StringValue("orders".into())),
            kv("service.version", StringValue("1.42.0".into())),
            kv("host.name", StringValue("node-17.eu-west-1".into())),
            kv("telemetry.sdk.language", StringValue("rust".into())),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "opentelemetry-http".into(),
        version: "0.30.0".into(),
        ..Default::default()
    })
}

/// 4 resources x 128 spans, 8 attributes each, one event in four.
fn traces() -> Vec<u8> {
    let spans = |r: usize| -> Vec<Span> {
        (0..128)
            .map(|i| Span {
                trace_id: [(r + 1) as u8; 16].to_vec(),
                span_id: ((i as u64 + 1) << 8).to_le_bytes().to_vec(),
                parent_span_id: if i % 8 == 0 {
                    vec![]
                } else {
                    (i as u64).to_le_bytes().to_vec()
                },
                name: format!("GET /api/v1/users/{{id}}/orders #{i}"),
                kind: 2,
                start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
                end_time_unix_nano: 1_700_000_000_000_500_000 + i as u64,
                attributes: attributes(i),
                events: if i % 4 == 0 {
                    vec![Event {
                        time_unix_nano: 1_700_000_000_000_100_000,
                        name: "exception".into(),
                        attributes: attributes(i)[..2].to_vec(),
                        ..Default::default()
                    }]
                } else {
                    vec![]
                },
                status: Some(Status {
                    message: String::new(),
                    code: 1,
                }),
                flags: 0x100,
                ..Default::default()
            })
            .collect()
    };
    ExportTraceServiceRequest {
        resource_spans: (0..4)
            .map(|r| ResourceSpans {
                resource: resource(),
                scope_spans: vec![ScopeSpans {
                    scope: scope(),
                    spans: spans(r),
                    schema_url: String::new(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// 64 metrics: gauges with 8 points and histograms with 4 points of 16 buckets.
fn metrics() -> Vec<u8> {
    let metrics = (0..64)
        .map(|i| Metric {
            name: format!("http.server.metric_{i}"),
            unit: "ms".into(),
            data: Some(if i % 2 == 0 {
                Data::Gauge(Gauge {
                    data_points: (0..8)
                        .map(|p| NumberDataPoint {
                            attributes: attributes(p)[..3].to_vec(),
                            time_unix_nano: 1_700_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsDouble(p as f64 * 1.5)),
                            ..Default::default()
                        })
                        .collect(),
                })
            } else {
                Data::Histogram(Histogram {
                    data_points: (0..4)
                        .map(|p| HistogramDataPoint {
                            attributes: attributes(p)[..3].to_vec(),
                            time_unix_nano: 1_700_000_000_000_000_000,
                            count: 100,
                            sum: Some(1234.5),
                            bucket_counts: vec![6; 16],
                            explicit_bounds: (0..15).map(f64::from).collect(),
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                })
            }),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

/// 512 log records with a string body and 4 attributes.
fn logs() -> Vec<u8> {
    let log_records = (0..512)
        .map(|i| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            observed_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!(
                    "order {i} accepted for user {} after 3 retries",
                    i * 7
                ))),
            }),
            attributes: attributes(i)[..4].to_vec(),
            trace_id: [7; 16].to_vec(),
            span_id: [9; 8].to_vec(),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

/// The stored batch of a request: its `Resource*` records through the decoder.
fn stored(signal: Signal, request: &[u8]) -> arrow_array::RecordBatch {
    let mut decoder = decoder_for(signal);
    for chunk in scan(signal, request).unwrap().chunks() {
        decoder.append(chunk.bytes()).unwrap();
    }
    decoder.finish()
}

/// Encodes a prebuilt prost request into the buffer.
type EncodeTree = Box<dyn Fn(&mut Vec<u8>)>;

fn bench(c: &mut Criterion) {
    let cases: [(&str, Signal, Vec<u8>); 3] = [
        ("traces", Signal::Traces, traces()),
        ("metrics", Signal::Metrics, metrics()),
        ("logs", Signal::Logs, logs()),
    ];
    let cut = Limits {
        max_bytes: 64 << 10,
        max_items: 256,
    };
    for (name, signal, request) in &cases {
        let batch = stored(*signal, request);
        let rows = batch.num_rows();
        let mut out = Vec::with_capacity(request.len() * 2);
        let mut group = c.benchmark_group(format!("reverse/{name}"));
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function("0-otlp-arrow", |b| {
            b.iter(|| {
                out.clear();
                let enc = BatchEncoder::new(*signal, black_box(&batch)).unwrap();
                enc.encode_request(0..rows, &mut out).unwrap().bytes
            })
        });
        group.bench_function("1-otlp-arrow-cut-256", |b| {
            b.iter(|| {
                let enc = BatchEncoder::new(*signal, black_box(&batch)).unwrap();
                let (mut next, mut bytes) = (0, 0);
                while next < rows {
                    out.clear();
                    let s = enc
                        .encode_request_limited(next..rows, cut, &mut out)
                        .unwrap();
                    next = s.rows.end;
                    bytes += s.bytes;
                }
                bytes
            })
        });
        // The prost tree is built once, outside the timing: only its encoding is measured.
        let tree: EncodeTree = match signal {
            Signal::Traces => {
                let t = ExportTraceServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
            Signal::Metrics => {
                let t = ExportMetricsServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
            Signal::Logs => {
                let t = ExportLogsServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
        };
        group.bench_function("2-prost-encode", |b| {
            b.iter(|| {
                out.clear();
                tree(black_box(&mut out));
                out.len()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
