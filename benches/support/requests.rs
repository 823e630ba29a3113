//! The typical OTLP requests the benches share (`benches/scan.rs`, `benches/reverse.rs`):
//! `traces()`, `metrics()`, `logs()` return encoded `Export*ServiceRequest` bytes built with prost,
//! so each bench measures its path on exactly the same input. Included with `#[path]`.
#![allow(dead_code)]

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
use prost::Message;

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
        kv("cache.hit", BoolValue(i.is_multiple_of(3))),
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
pub(crate) fn traces() -> Vec<u8> {
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
pub(crate) fn metrics() -> Vec<u8> {
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
pub(crate) fn logs() -> Vec<u8> {
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
