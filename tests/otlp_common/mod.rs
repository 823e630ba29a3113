//! Shared helpers of the `otlp_*` tests: prost-built requests of every signal, ring readers,
//! and "item for item" flattening of requests and ring records.
#![allow(dead_code, unreachable_pub)]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use otlp_arrow::ring::Ring;
use otlp_arrow::signal::Signal;
use prost::Message;

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

pub fn resource(r: usize) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", &format!("svc-{r}")),
            kv_int("r", r as i64),
        ],
        dropped_attributes_count: 0,
        entity_refs: vec![],
    }
}

pub fn scope(s: usize) -> InstrumentationScope {
    InstrumentationScope {
        name: format!("scope-{s}"),
        version: "1.0".into(),
        attributes: vec![kv("s", &s.to_string())],
        dropped_attributes_count: 0,
    }
}

/// A valid span; `pad` bytes of attribute make it as large as wanted.
pub fn span(id: u64, pad: usize) -> Span {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&(id + 1).to_be_bytes());
    trace_id[8] = 0xab;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: (id + 1).to_be_bytes().to_vec(),
        parent_span_id: vec![],
        name: format!("span-{id}"),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000 + id,
        end_time_unix_nano: 1_700_000_000_000_001_000 + id,
        attributes: vec![kv("pad", &"x".repeat(pad)), kv_int("i", -(id as i64))],
        events: vec![span::Event {
            time_unix_nano: 5,
            name: "ev".into(),
            attributes: vec![],
            dropped_attributes_count: 0,
        }],
        status: Some(Status {
            message: "ok".into(),
            code: 1,
        }),
        ..Span::default()
    }
}

pub fn traces(
    resources: usize,
    scopes: usize,
    items: usize,
    pad: usize,
) -> ExportTraceServiceRequest {
    let mut id = 0;
    ExportTraceServiceRequest {
        resource_spans: (0..resources)
            .map(|r| ResourceSpans {
                resource: Some(resource(r)),
                scope_spans: (0..scopes)
                    .map(|s| ScopeSpans {
                        scope: Some(scope(s)),
                        spans: (0..items)
                            .map(|_| {
                                id += 1;
                                span(id, pad)
                            })
                            .collect(),
                        schema_url: "https://scope.schema".into(),
                    })
                    .collect(),
                schema_url: "https://resource.schema".into(),
            })
            .collect(),
    }
}

pub fn log(id: u64, pad: usize) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000 + id,
        observed_time_unix_nano: 1_700_000_000_000_000_500 + id,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(format!(
                "log {id} {}",
                "y".repeat(pad)
            ))),
        }),
        attributes: vec![kv_int("n", id as i64)],
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        ..LogRecord::default()
    }
}

pub fn logs(resources: usize, scopes: usize, items: usize, pad: usize) -> ExportLogsServiceRequest {
    let mut id = 0;
    ExportLogsServiceRequest {
        resource_logs: (0..resources)
            .map(|r| ResourceLogs {
                resource: Some(resource(r)),
                scope_logs: (0..scopes)
                    .map(|s| ScopeLogs {
                        scope: Some(scope(s)),
                        log_records: (0..items)
                            .map(|_| {
                                id += 1;
                                log(id, pad)
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn number_point(id: u64, pad: usize) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("pad", &"z".repeat(pad))],
        start_time_unix_nano: 1,
        time_unix_nano: 1_700_000_000_000_000_000 + id,
        value: Some(number_data_point::Value::AsInt(id as i64)),
        ..NumberDataPoint::default()
    }
}

/// Metrics cycle through gauge (2 points), sum (3 points) and histogram (1 point).
pub fn metric(id: u64, pad: usize) -> Metric {
    let data = match id % 3 {
        0 => metric::Data::Gauge(Gauge {
            data_points: (0..2).map(|p| number_point(id * 10 + p, pad)).collect(),
        }),
        1 => metric::Data::Sum(Sum {
            data_points: (0..3).map(|p| number_point(id * 10 + p, pad)).collect(),
            aggregation_temporality: 2,
            is_monotonic: true,
        }),
        _ => metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![kv("pad", &"h".repeat(pad))],
                time_unix_nano: 9,
                count: 3,
                sum: Some(1.5),
                bucket_counts: vec![1, 2],
                explicit_bounds: vec![1.0],
                ..HistogramDataPoint::default()
            }],
            aggregation_temporality: 1,
        }),
    };
    Metric {
        name: format!("metric-{id}"),
        description: "d".into(),
        unit: "1".into(),
        metadata: vec![],
        data: Some(data),
    }
}

pub fn points(m: &Metric) -> u64 {
    match &m.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len() as u64,
        Some(metric::Data::Sum(s)) => s.data_points.len() as u64,
        Some(metric::Data::Histogram(h)) => h.data_points.len() as u64,
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len() as u64,
        Some(metric::Data::Summary(s)) => s.data_points.len() as u64,
        None => 0,
    }
}

pub fn metrics(
    resources: usize,
    scopes: usize,
    items: usize,
    pad: usize,
) -> ExportMetricsServiceRequest {
    let mut id = 0;
    ExportMetricsServiceRequest {
        resource_metrics: (0..resources)
            .map(|r| ResourceMetrics {
                resource: Some(resource(r)),
                scope_metrics: (0..scopes)
                    .map(|s| ScopeMetrics {
                        scope: Some(scope(s)),
                        metrics: (0..items)
                            .map(|_| {
                                id += 1;
                                metric(id, pad)
                            })
                            .collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// Every committed record of `ring`, as `(kind, payload)`.
pub fn drain(ring: &Ring) -> Vec<(u32, Vec<u8>)> {
    let mut consumer = ring.consumer().expect("one consumer");
    let mut out = Vec::new();
    consumer.drain(64, |kind, payload| out.push((kind, payload.to_vec())));
    out
}

/// One item with everything above it: `(resource, resource schema, scope, scope schema, item)`.
pub type Flat<T> = Vec<(
    Option<Resource>,
    String,
    Option<InstrumentationScope>,
    String,
    T,
)>;

pub fn flat_traces(resources: &[ResourceSpans]) -> Flat<Span> {
    let mut out = Vec::new();
    for r in resources {
        for s in &r.scope_spans {
            for i in &s.spans {
                out.push((
                    r.resource.clone(),
                    r.schema_url.clone(),
                    s.scope.clone(),
                    s.schema_url.clone(),
                    i.clone(),
                ));
            }
        }
    }
    out
}

pub fn flat_logs(resources: &[ResourceLogs]) -> Flat<LogRecord> {
    let mut out = Vec::new();
    for r in resources {
        for s in &r.scope_logs {
            for i in &s.log_records {
                out.push((
                    r.resource.clone(),
                    r.schema_url.clone(),
                    s.scope.clone(),
                    s.schema_url.clone(),
                    i.clone(),
                ));
            }
        }
    }
    out
}

pub fn flat_metrics(resources: &[ResourceMetrics]) -> Flat<Metric> {
    let mut out = Vec::new();
    for r in resources {
        for s in &r.scope_metrics {
            for i in &s.metrics {
                out.push((
                    r.resource.clone(),
                    r.schema_url.clone(),
                    s.scope.clone(),
                    s.schema_url.clone(),
                    i.clone(),
                ));
            }
        }
    }
    out
}

/// Decodes ring records of `signal` (checking their kind) and flattens them, as the request
/// type's flattening would.
pub fn records_traces(records: &[(u32, Vec<u8>)]) -> Flat<Span> {
    let rs: Vec<ResourceSpans> = records
        .iter()
        .map(|(kind, bytes)| {
            assert_eq!(*kind, Signal::Traces.record_kind());
            ResourceSpans::decode(&bytes[..]).expect("record decodes")
        })
        .collect();
    flat_traces(&rs)
}

pub fn records_logs(records: &[(u32, Vec<u8>)]) -> Flat<LogRecord> {
    let rs: Vec<ResourceLogs> = records
        .iter()
        .map(|(kind, bytes)| {
            assert_eq!(*kind, Signal::Logs.record_kind());
            ResourceLogs::decode(&bytes[..]).expect("record decodes")
        })
        .collect();
    flat_logs(&rs)
}

pub fn records_metrics(records: &[(u32, Vec<u8>)]) -> Flat<Metric> {
    let rs: Vec<ResourceMetrics> = records
        .iter()
        .map(|(kind, bytes)| {
            assert_eq!(*kind, Signal::Metrics.record_kind());
            ResourceMetrics::decode(&bytes[..]).expect("record decodes")
        })
        .collect();
    flat_metrics(&rs)
}

/// Replaces the only occurrence of `marker` in `bytes` by 0xff bytes (invalid UTF-8 of the
/// same length, so the framing stays intact).
pub fn corrupt_utf8(bytes: &mut [u8], marker: &str) {
    let m = marker.as_bytes();
    let at = bytes
        .windows(m.len())
        .position(|w| w == m)
        .expect("marker present");
    assert!(
        bytes[at + 1..].windows(m.len()).all(|w| w != m),
        "marker occurs once"
    );
    bytes[at..at + m.len()].fill(0xff);
}
