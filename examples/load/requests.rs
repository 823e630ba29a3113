//! The load: `Export*ServiceRequest` bodies built with opentelemetry-proto and encoded with
//! prost **once**, before any timing, so the load generator spends its CPU on sending, not on
//! encoding.
//!
//! Every request is one `Resource*` (5 resource attributes, as an SDK exports them) with one
//! scope and `items` items; requests differ in their ids and attribute values (a xorshift
//! stream seeded by the request index), so nothing downstream can profit from repetition.
//!
//! - traces: HTTP server spans, 8 attributes each (strings, ints, a bool, a double, with
//!   semantic-convention names), a status, a parent id on three spans in four;
//! - metrics: data points with 3 attributes; a metric in three is a histogram of 16 buckets,
//!   the others a double gauge and an int cumulative sum (an item is a data point);
//! - logs: records with a string body, severity, 4 attributes and trace context.

use bytes::Bytes;
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
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_arrow::signal::Signal;
use prost::Message;

/// `distinct` encoded requests of one signal, each carrying `items_per_request` items.
#[derive(Debug, Clone)]
pub(crate) struct Requests {
    /// The signal.
    pub(crate) signal: Signal,
    /// The encoded request bodies (cheap to clone: `Bytes`).
    pub(crate) bodies: Vec<Bytes>,
    /// Spans / data points / log records in each body.
    pub(crate) items_per_request: u64,
}

impl Requests {
    /// Builds and encodes the requests.
    pub(crate) fn build(signal: Signal, distinct: usize, items: usize) -> Requests {
        let bodies = (0..distinct.max(1))
            .map(|r| {
                let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (r as u64 + 1).wrapping_mul(0x9e37));
                let bytes = match signal {
                    Signal::Traces => traces(&mut rng, r, items).encode_to_vec(),
                    Signal::Metrics => metrics(&mut rng, r, items).encode_to_vec(),
                    Signal::Logs => logs(&mut rng, r, items).encode_to_vec(),
                };
                Bytes::from(bytes)
            })
            .collect();
        Requests {
            signal,
            bodies,
            items_per_request: items as u64,
        }
    }

    /// Mean encoded size of one request, bytes.
    pub(crate) fn mean_bytes(&self) -> usize {
        self.bodies.iter().map(Bytes::len).sum::<usize>() / self.bodies.len().max(1)
    }
}

/// xorshift64: deterministic, fast, good enough for ids and values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn id(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            out.extend(self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn str_kv(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

fn resource(r: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            str_kv("service.name", "checkout"),
            str_kv("service.version", "1.4.2"),
            str_kv("host.name", &format!("web-7f9c4d-{r:05}")),
            str_kv("telemetry.sdk.language", "rust"),
            str_kv("telemetry.sdk.name", "opentelemetry"),
        ],
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "opentelemetry-http".into(),
        version: "0.31.0".into(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    })
}

const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.27.0";
const ROUTES: [&str; 4] = [
    "/api/users/{id}",
    "/api/orders",
    "/health",
    "/api/cart/{id}/items",
];
const BASE_TIME: u64 = 1_700_000_000_000_000_000;

fn traces(rng: &mut Rng, r: usize, items: usize) -> ExportTraceServiceRequest {
    let spans = (0..items)
        .map(|i| {
            let route = ROUTES[i % ROUTES.len()];
            let start = BASE_TIME + (r * items + i) as u64 * 1_000_000;
            let error = rng.next().is_multiple_of(10);
            Span {
                trace_id: rng.id(16),
                span_id: rng.id(8),
                parent_span_id: if i % 4 == 0 { Vec::new() } else { rng.id(8) },
                name: format!("GET {route}"),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 250_000 + rng.next() % 5_000_000,
                flags: 0x101,
                attributes: vec![
                    str_kv("http.request.method", "GET"),
                    str_kv(
                        "url.path",
                        &route.replace("{id}", &(rng.next() % 10_000).to_string()),
                    ),
                    str_kv("http.route", route),
                    kv(
                        "http.response.status_code",
                        any_value::Value::IntValue(if error { 500 } else { 200 }),
                    ),
                    str_kv("server.address", "api.example.com"),
                    kv("server.port", any_value::Value::IntValue(8080)),
                    kv(
                        "http.request.resend",
                        any_value::Value::BoolValue(i % 7 == 0),
                    ),
                    kv(
                        "http.server.request.duration",
                        any_value::Value::DoubleValue((rng.next() % 100_000) as f64 / 1e6),
                    ),
                ],
                status: Some(Status {
                    message: if error {
                        "Internal Server Error".into()
                    } else {
                        String::new()
                    },
                    code: if error { 2 } else { 0 },
                }),
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(r),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                schema_url: SCHEMA_URL.into(),
            }],
            schema_url: SCHEMA_URL.into(),
        }],
    }
}

fn point_attributes(rng: &mut Rng, i: usize) -> Vec<KeyValue> {
    vec![
        str_kv("http.request.method", "GET"),
        str_kv("http.route", ROUTES[i % ROUTES.len()]),
        kv(
            "http.response.status_code",
            any_value::Value::IntValue(if rng.next().is_multiple_of(10) {
                500
            } else {
                200
            }),
        ),
    ]
}

/// `items` data points, 10 per metric (the last metric takes the rest).
fn metrics(rng: &mut Rng, r: usize, items: usize) -> ExportMetricsServiceRequest {
    const POINTS: usize = 10;
    let time = BASE_TIME + r as u64 * 1_000_000_000;
    let metrics = (0..items.div_ceil(POINTS))
        .map(|m| {
            let n = POINTS.min(items - m * POINTS);
            let data = match m % 3 {
                0 => metric::Data::Gauge(Gauge {
                    data_points: (0..n)
                        .map(|p| NumberDataPoint {
                            attributes: point_attributes(rng, p),
                            time_unix_nano: time,
                            value: Some(number_data_point::Value::AsDouble(
                                (rng.next() % 10_000) as f64 / 7.0,
                            )),
                            ..NumberDataPoint::default()
                        })
                        .collect(),
                }),
                1 => metric::Data::Sum(Sum {
                    data_points: (0..n)
                        .map(|p| NumberDataPoint {
                            attributes: point_attributes(rng, p),
                            start_time_unix_nano: BASE_TIME,
                            time_unix_nano: time,
                            value: Some(number_data_point::Value::AsInt(
                                (rng.next() % 1_000_000) as i64,
                            )),
                            ..NumberDataPoint::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }),
                _ => metric::Data::Histogram(Histogram {
                    data_points: (0..n)
                        .map(|p| HistogramDataPoint {
                            attributes: point_attributes(rng, p),
                            start_time_unix_nano: BASE_TIME,
                            time_unix_nano: time,
                            count: 96,
                            sum: Some((rng.next() % 100_000) as f64 / 10.0),
                            bucket_counts: vec![6; 16],
                            explicit_bounds: (0..15).map(|b| f64::from(b) * 2.5).collect(),
                            min: Some(0.1),
                            max: Some(40.0),
                            ..HistogramDataPoint::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                }),
            };
            Metric {
                name: format!("http.server.metric_{m}"),
                description: "a benchmark metric".into(),
                unit: "ms".into(),
                data: Some(data),
                metadata: Vec::new(),
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(r),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: SCHEMA_URL.into(),
            }],
            schema_url: SCHEMA_URL.into(),
        }],
    }
}

fn logs(rng: &mut Rng, r: usize, items: usize) -> ExportLogsServiceRequest {
    let log_records = (0..items)
        .map(|i| {
            let time = BASE_TIME + (r * items + i) as u64 * 1_000;
            LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time + 500,
                severity_number: 9,
                severity_text: "INFO".into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(format!(
                        "order {} accepted for user {} after {} retries",
                        rng.next() % 1_000_000,
                        rng.next() % 10_000,
                        i % 4
                    ))),
                }),
                attributes: {
                    let mut a = point_attributes(rng, i);
                    a.push(str_kv("code.function", "checkout::orders::accept"));
                    a
                },
                trace_id: rng.id(16),
                span_id: rng.id(8),
                ..LogRecord::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(r),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                schema_url: SCHEMA_URL.into(),
            }],
            schema_url: SCHEMA_URL.into(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_decodes_back_with_the_asked_item_count() {
        for items in [1, 10, 25] {
            let t = Requests::build(Signal::Traces, 3, items);
            for body in &t.bodies {
                let req = ExportTraceServiceRequest::decode(body.clone()).unwrap();
                assert_eq!(req.resource_spans[0].scope_spans[0].spans.len(), items);
            }
            let m = Requests::build(Signal::Metrics, 3, items);
            for body in &m.bodies {
                let req = ExportMetricsServiceRequest::decode(body.clone()).unwrap();
                let points: usize = req.resource_metrics[0].scope_metrics[0]
                    .metrics
                    .iter()
                    .map(|m| match m.data.as_ref().unwrap() {
                        metric::Data::Gauge(g) => g.data_points.len(),
                        metric::Data::Sum(s) => s.data_points.len(),
                        metric::Data::Histogram(h) => h.data_points.len(),
                        _ => unreachable!(),
                    })
                    .sum();
                assert_eq!(points, items);
            }
            let l = Requests::build(Signal::Logs, 3, items);
            for body in &l.bodies {
                let req = ExportLogsServiceRequest::decode(body.clone()).unwrap();
                assert_eq!(req.resource_logs[0].scope_logs[0].log_records.len(), items);
            }
        }
    }

    #[test]
    fn requests_differ() {
        let t = Requests::build(Signal::Traces, 2, 5);
        assert_ne!(t.bodies[0], t.bodies[1]);
    }
}
