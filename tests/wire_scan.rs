//! `wire::scan` against prost and opentelemetry-proto.
//!
//! - Random valid requests of all three signals (every metric kind, events, links, nested
//!   attribute values, unknown fields at four levels, open enum values) are accepted; chunk
//!   and item counts equal the prost structs'; every chunk, scope and item slice decodes with
//!   prost to exactly the corresponding struct.
//! - Random mutations (bit flips, byte sets, insertions, deletions, truncations) never panic,
//!   and whenever the scanner accepts, prost decodes too: the scanner is at least as strict
//!   as prost on framing and UTF-8.
//! - Targeted tests for every error kind check the error's path, offset and message.
//! - `write_seed_corpus` (ignored) regenerates `fuzz/corpus/scan_request/`; a normal test
//!   replays the committed files.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status,
    span::{Event, Link},
};
use otlp_arrow::wire::scan::{
    ErrorKind, Expected, MAX_NESTING, ScanError, Scanner, Signal, WireType, scan, scan_logs,
    scan_metrics, scan_resource, scan_traces,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message;
use std::fmt::Debug;

// ---------------------------------------------------------------------------------------------
// Raw protobuf helpers (for bytes prost cannot produce).

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_tag(field: u32, wire: u8, out: &mut Vec<u8>) {
    put_varint(u64::from(field) << 3 | u64::from(wire), out);
}

fn put_len(field: u32, body: &[u8], out: &mut Vec<u8>) {
    put_tag(field, 2, out);
    put_varint(body.len() as u64, out);
    out.extend_from_slice(body);
}

fn len_field(field: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(field, body, &mut out);
    out
}

/// Position of the only occurrence of `needle` in `haystack`.
fn find_unique(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "marker must occur exactly once");
    hits[0]
}

// ---------------------------------------------------------------------------------------------
// The three request shapes, so the checks below are written once.

trait Shape: Message + Default + Clone + PartialEq + Debug + Sized {
    const SIGNAL: Signal;
    type R: Message + Default + Clone + PartialEq + Debug;
    type S: Message + Default + Clone + PartialEq + Debug;
    type I: Message + Default + Clone + PartialEq + Debug;
    fn resources(&self) -> &[Self::R];
    fn scopes(r: &Self::R) -> &[Self::S];
    fn items(s: &Self::S) -> &[Self::I];
    fn resource_header(r: &Self::R) -> Self::R;
    fn scope_header(s: &Self::S) -> Self::S;
    fn resource_of(r: &Self::R) -> Option<&Resource>;
    fn scope_of(s: &Self::S) -> Option<&InstrumentationScope>;
    fn resource_schema_url(r: &Self::R) -> &str;
    fn scope_schema_url(s: &Self::S) -> &str;
    fn item_count(i: &Self::I) -> u32;
}

macro_rules! shape {
    ($req:ty, $signal:expr, $res:ty, $res_field:ident, $scope:ty, $scope_field:ident, $item:ty, $count:expr) => {
        impl Shape for $req {
            const SIGNAL: Signal = $signal;
            type R = $res;
            type S = $scope;
            type I = $item;
            fn resources(&self) -> &[$res] {
                &self.$res_field
            }
            fn scopes(r: &$res) -> &[$scope] {
                &r.$scope_field
            }
            fn items(s: &$scope) -> &[$item] {
                s.items_ref()
            }
            fn resource_header(r: &$res) -> $res {
                let mut h = r.clone();
                h.$scope_field.clear();
                h
            }
            fn scope_header(s: &$scope) -> $scope {
                let mut h = s.clone();
                h.items_mut().clear();
                h
            }
            fn resource_of(r: &$res) -> Option<&Resource> {
                r.resource.as_ref()
            }
            fn scope_of(s: &$scope) -> Option<&InstrumentationScope> {
                s.scope.as_ref()
            }
            fn resource_schema_url(r: &$res) -> &str {
                &r.schema_url
            }
            fn scope_schema_url(s: &$scope) -> &str {
                &s.schema_url
            }
            fn item_count(i: &$item) -> u32 {
                $count(i)
            }
        }
    };
}

/// Uniform access to the item vector of each scope type.
trait ScopeItems<I> {
    fn items_ref(&self) -> &Vec<I>;
    fn items_mut(&mut self) -> &mut Vec<I>;
}
impl ScopeItems<Span> for ScopeSpans {
    fn items_ref(&self) -> &Vec<Span> {
        &self.spans
    }
    fn items_mut(&mut self) -> &mut Vec<Span> {
        &mut self.spans
    }
}
impl ScopeItems<Metric> for ScopeMetrics {
    fn items_ref(&self) -> &Vec<Metric> {
        &self.metrics
    }
    fn items_mut(&mut self) -> &mut Vec<Metric> {
        &mut self.metrics
    }
}
impl ScopeItems<LogRecord> for ScopeLogs {
    fn items_ref(&self) -> &Vec<LogRecord> {
        &self.log_records
    }
    fn items_mut(&mut self) -> &mut Vec<LogRecord> {
        &mut self.log_records
    }
}

fn metric_points(m: &Metric) -> u32 {
    (match &m.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }) as u32
}

shape!(
    ExportTraceServiceRequest,
    Signal::Traces,
    ResourceSpans,
    resource_spans,
    ScopeSpans,
    scope_spans,
    Span,
    |_: &Span| 1
);
shape!(
    ExportMetricsServiceRequest,
    Signal::Metrics,
    ResourceMetrics,
    resource_metrics,
    ScopeMetrics,
    scope_metrics,
    Metric,
    metric_points
);
shape!(
    ExportLogsServiceRequest,
    Signal::Logs,
    ResourceLogs,
    resource_logs,
    ScopeLogs,
    scope_logs,
    LogRecord,
    |_: &LogRecord| 1
);

// ---------------------------------------------------------------------------------------------
// Unknown fields, injected at the request, resource, scope and item levels.

#[derive(Debug, Clone)]
enum UnknownValue {
    Varint(u64),
    I64(u64),
    Len(Vec<u8>),
    I32(u32),
}

#[derive(Debug, Clone)]
struct Unknown {
    field: u32,
    value: UnknownValue,
    prepend: bool,
}

fn unknown() -> impl Strategy<Value = Unknown> {
    let field = prop_oneof![100u32..100_000, Just((1 << 29) - 1)];
    let value = prop_oneof![
        any::<u64>().prop_map(UnknownValue::Varint),
        any::<u64>().prop_map(UnknownValue::I64),
        vec(any::<u8>(), 0..6).prop_map(UnknownValue::Len),
        any::<u32>().prop_map(UnknownValue::I32),
    ];
    (field, value, any::<bool>()).prop_map(|(field, value, prepend)| Unknown {
        field,
        value,
        prepend,
    })
}

fn unknowns() -> impl Strategy<Value = Vec<Option<Unknown>>> {
    vec(option::weighted(0.4, unknown()), 0..8)
}

/// Hands out the generated unknown fields in turn, one per message it wraps.
struct Injector<'a> {
    extras: &'a [Option<Unknown>],
    next: usize,
}

impl Injector<'_> {
    fn wrap(&mut self, mut body: Vec<u8>) -> Vec<u8> {
        if self.extras.is_empty() {
            return body;
        }
        let extra = &self.extras[self.next % self.extras.len()];
        self.next += 1;
        let Some(extra) = extra else { return body };
        let mut field = Vec::new();
        match &extra.value {
            UnknownValue::Varint(v) => {
                put_tag(extra.field, 0, &mut field);
                put_varint(*v, &mut field);
            }
            UnknownValue::I64(v) => {
                put_tag(extra.field, 1, &mut field);
                field.extend_from_slice(&v.to_le_bytes());
            }
            UnknownValue::Len(b) => put_len(extra.field, b, &mut field),
            UnknownValue::I32(v) => {
                put_tag(extra.field, 5, &mut field);
                field.extend_from_slice(&v.to_le_bytes());
            }
        }
        if extra.prepend {
            field.extend_from_slice(&body);
            field
        } else {
            body.extend_from_slice(&field);
            body
        }
    }
}

/// Encodes `req` level by level (scope and item fields after the other fields) with unknown
/// fields injected; prost must decode it back to `req`.
fn encode_with<S: Shape>(req: &S, extras: &[Option<Unknown>]) -> Vec<u8> {
    let mut injector = Injector { extras, next: 0 };
    let mut out = Vec::new();
    for r in req.resources() {
        let mut rb = S::resource_header(r).encode_to_vec();
        for s in S::scopes(r) {
            let mut sb = S::scope_header(s).encode_to_vec();
            for i in S::items(s) {
                let ib = injector.wrap(i.encode_to_vec());
                put_len(2, &ib, &mut sb);
            }
            put_len(2, &injector.wrap(sb), &mut rb);
        }
        put_len(1, &injector.wrap(rb), &mut out);
    }
    let out = injector.wrap(out);
    assert_eq!(&S::decode(out.as_slice()).expect("prost decodes"), req);
    out
}

// ---------------------------------------------------------------------------------------------
// Strategies for valid OTLP.

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,8}", "[a-z.]{1,12}"]
}

fn finite() -> impl Strategy<Value = f64> {
    -1e12f64..1e12
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len).prop_map(|mut v| {
        v[0] |= 1; // never all zero
        v
    })
}

fn optional_id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), vec(any::<u8>(), len)]
}

fn av(value: Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        Just(AnyValue { value: None }),
        text().prop_map(|s| av(Value::StringValue(s))),
        any::<bool>().prop_map(|b| av(Value::BoolValue(b))),
        any::<i64>().prop_map(|i| av(Value::IntValue(i))),
        finite().prop_map(|d| av(Value::DoubleValue(d))),
        vec(any::<u8>(), 0..8).prop_map(|b| av(Value::BytesValue(b))),
        any::<i32>().prop_map(|i| av(Value::StringValueStrindex(i))),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3)
                .prop_map(|values| av(Value::ArrayValue(ArrayValue { values }))),
            vec(
                (text(), option::of(inner), any::<i32>()).prop_map(|(key, value, key_strindex)| {
                    KeyValue {
                        key,
                        value,
                        key_strindex,
                    }
                }),
                0..3
            )
            .prop_map(|values| av(Value::KvlistValue(KeyValueList { values }))),
        ]
    })
}

fn key_value() -> impl Strategy<Value = KeyValue> {
    (
        text(),
        option::of(any_value()),
        prop_oneof![Just(0), any::<i32>()],
    )
        .prop_map(|(key, value, key_strindex)| KeyValue {
            key,
            value,
            key_strindex,
        })
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec(key_value(), 0..3)
}

fn resource() -> impl Strategy<Value = Resource> {
    let entity = (text(), text(), vec(text(), 0..2), vec(text(), 0..2)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    );
    (attributes(), any::<u32>(), vec(entity, 0..2)).prop_map(
        |(attributes, dropped_attributes_count, entity_refs)| Resource {
            attributes,
            dropped_attributes_count,
            entity_refs,
        },
    )
}

fn scope() -> impl Strategy<Value = InstrumentationScope> {
    (text(), text(), attributes(), any::<u32>()).prop_map(
        |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
            name,
            version,
            attributes,
            dropped_attributes_count,
        },
    )
}

fn span() -> impl Strategy<Value = Span> {
    let event = (any::<u64>(), text(), attributes(), any::<u32>()).prop_map(
        |(time_unix_nano, name, attributes, dropped_attributes_count)| Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        },
    );
    let link = (
        optional_id(16),
        optional_id(8),
        text(),
        attributes(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| Link {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count,
                flags,
            },
        );
    let status = (text(), any::<i32>()).prop_map(|(message, code)| Status { message, code });
    (
        (id(16), id(8), text(), optional_id(8), text(), any::<i32>()),
        (any::<u64>(), any::<u64>(), attributes(), any::<u32>()),
        (
            vec(event, 0..3),
            any::<u32>(),
            vec(link, 0..2),
            any::<u32>(),
        ),
        (option::of(status), any::<u32>()),
    )
        .prop_map(
            |(
                (trace_id, span_id, trace_state, parent_span_id, name, kind),
                (start_time_unix_nano, end_time_unix_nano, attributes, dropped_attributes_count),
                (events, dropped_events_count, links, dropped_links_count),
                (status, flags),
            )| Span {
                trace_id,
                span_id,
                trace_state,
                parent_span_id,
                flags,
                name,
                kind,
                start_time_unix_nano,
                end_time_unix_nano,
                attributes,
                dropped_attributes_count,
                events,
                dropped_events_count,
                links,
                dropped_links_count,
                status,
            },
        )
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    let value = option::of(prop_oneof![
        finite().prop_map(exemplar::Value::AsDouble),
        any::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    let ex = (
        attributes(),
        any::<u64>(),
        optional_id(8),
        optional_id(16),
        value,
    )
        .prop_map(
            |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
                filtered_attributes,
                time_unix_nano,
                span_id,
                trace_id,
                value,
            },
        );
    vec(ex, 0..2)
}

fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = option::of(prop_oneof![
        finite().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    let point = (
        attributes(),
        any::<u64>(),
        any::<u64>(),
        exemplars(),
        any::<u32>(),
        value,
    )
        .prop_map(
            |(attributes, start_time_unix_nano, time_unix_nano, exemplars, flags, value)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    exemplars,
                    flags,
                    value,
                }
            },
        );
    vec(point, 0..3)
}

fn histogram_points() -> impl Strategy<Value = Vec<HistogramDataPoint>> {
    let point = (
        (
            attributes(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            option::of(finite()),
        ),
        (
            vec(any::<u64>(), 0..4),
            vec(finite(), 0..4),
            exemplars(),
            any::<u32>(),
        ),
        (option::of(finite()), option::of(finite())),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                (bucket_counts, explicit_bounds, exemplars, flags),
                (min, max),
            )| HistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                bucket_counts,
                explicit_bounds,
                exemplars,
                flags,
                min,
                max,
            },
        );
    vec(point, 0..3)
}

fn exp_histogram_points() -> impl Strategy<Value = Vec<ExponentialHistogramDataPoint>> {
    let buckets =
        (any::<i32>(), vec(any::<u64>(), 0..4)).prop_map(|(offset, bucket_counts)| Buckets {
            offset,
            bucket_counts,
        });
    let point = (
        (
            attributes(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            option::of(finite()),
        ),
        (
            any::<i32>(),
            any::<u64>(),
            option::of(buckets.clone()),
            option::of(buckets),
        ),
        (
            any::<u32>(),
            exemplars(),
            option::of(finite()),
            option::of(finite()),
            finite(),
        ),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                (scale, zero_count, positive, negative),
                (flags, exemplars, min, max, zero_threshold),
            )| ExponentialHistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                flags,
                exemplars,
                min,
                max,
                zero_threshold,
            },
        );
    vec(point, 0..3)
}

fn summary_points() -> impl Strategy<Value = Vec<SummaryDataPoint>> {
    let quantile =
        (finite(), finite()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    let point = (
        attributes(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        finite(),
        vec(quantile, 0..3),
        any::<u32>(),
    )
        .prop_map(
            |(
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                quantile_values,
                flags,
            )| {
                SummaryDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    quantile_values,
                    flags,
                }
            },
        );
    vec(point, 0..3)
}

fn metric() -> impl Strategy<Value = Metric> {
    let data = option::of(prop_oneof![
        number_points().prop_map(|data_points| Data::Gauge(Gauge { data_points })),
        (number_points(), any::<i32>(), any::<bool>()).prop_map(
            |(data_points, aggregation_temporality, is_monotonic)| Data::Sum(Sum {
                data_points,
                aggregation_temporality,
                is_monotonic,
            })
        ),
        (histogram_points(), any::<i32>()).prop_map(|(data_points, aggregation_temporality)| {
            Data::Histogram(Histogram {
                data_points,
                aggregation_temporality,
            })
        }),
        (exp_histogram_points(), any::<i32>()).prop_map(
            |(data_points, aggregation_temporality)| {
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality,
                })
            }
        ),
        summary_points().prop_map(|data_points| Data::Summary(Summary { data_points })),
    ]);
    (text(), text(), text(), attributes(), data).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

fn log_record() -> impl Strategy<Value = LogRecord> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            any::<i32>(),
            text(),
            option::of(any_value()),
        ),
        (attributes(), any::<u32>(), any::<u32>()),
        (optional_id(16), optional_id(8), text()),
    )
        .prop_map(
            |(
                (time_unix_nano, observed_time_unix_nano, severity_number, severity_text, body),
                (attributes, dropped_attributes_count, flags),
                (trace_id, span_id, event_name),
            )| LogRecord {
                time_unix_nano,
                observed_time_unix_nano,
                severity_number,
                severity_text,
                body,
                attributes,
                dropped_attributes_count,
                flags,
                trace_id,
                span_id,
                event_name,
            },
        )
}

fn traces_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans =
        (option::of(scope()), vec(span(), 0..3), text()).prop_map(|(scope, spans, schema_url)| {
            ScopeSpans {
                scope,
                spans,
                schema_url,
            }
        });
    let resource_spans = (option::of(resource()), vec(scope_spans, 0..3), text()).prop_map(
        |(resource, scope_spans, schema_url)| ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        },
    );
    vec(resource_spans, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics = (option::of(scope()), vec(metric(), 0..3), text()).prop_map(
        |(scope, metrics, schema_url)| ScopeMetrics {
            scope,
            metrics,
            schema_url,
        },
    );
    let resource_metrics = (option::of(resource()), vec(scope_metrics, 0..3), text()).prop_map(
        |(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        },
    );
    vec(resource_metrics, 0..3)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

fn logs_request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs = (option::of(scope()), vec(log_record(), 0..3), text()).prop_map(
        |(scope, log_records, schema_url)| ScopeLogs {
            scope,
            log_records,
            schema_url,
        },
    );
    let resource_logs = (option::of(resource()), vec(scope_logs, 0..3), text()).prop_map(
        |(resource, scope_logs, schema_url)| ResourceLogs {
            resource,
            scope_logs,
            schema_url,
        },
    );
    vec(resource_logs, 0..3).prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

/// A valid request of any signal, encoded with unknown fields.
fn any_request() -> impl Strategy<Value = (Signal, Vec<u8>)> {
    prop_oneof![
        (traces_request(), unknowns()).prop_map(|(r, u)| (Signal::Traces, encode_with(&r, &u))),
        (metrics_request(), unknowns()).prop_map(|(r, u)| (Signal::Metrics, encode_with(&r, &u))),
        (logs_request(), unknowns()).prop_map(|(r, u)| (Signal::Logs, encode_with(&r, &u))),
    ]
}

// ---------------------------------------------------------------------------------------------
// Valid requests: accepted, and every view agrees with prost.

fn check_valid<S: Shape>(req: &S, bytes: &[u8]) -> Result<(), TestCaseError> {
    let scanned = scan(S::SIGNAL, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let resources = req.resources();
    prop_assert_eq!(scanned.resources(), resources.len());
    let total: u64 = resources
        .iter()
        .flat_map(|r| S::scopes(r))
        .flat_map(|s| S::items(s))
        .map(|i| u64::from(S::item_count(i)))
        .sum();
    prop_assert_eq!(scanned.items(), total);

    let chunks: Vec<_> = scanned.chunks().collect();
    let streamed: Vec<_> = Scanner::new(S::SIGNAL, bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&chunks, &streamed);
    prop_assert_eq!(chunks.len(), resources.len());

    for (chunk, r) in chunks.iter().zip(resources) {
        prop_assert_eq!(&S::R::decode(chunk.bytes()).unwrap(), r);
        prop_assert_eq!(
            &bytes[chunk.offset()..chunk.offset() + chunk.bytes().len()],
            chunk.bytes()
        );
        let want: u32 = S::scopes(r)
            .iter()
            .flat_map(|s| S::items(s))
            .map(S::item_count)
            .sum();
        prop_assert_eq!(chunk.items(), want);
        let alone = scan_resource(S::SIGNAL, chunk.bytes()).unwrap();
        prop_assert_eq!(alone.items(), want);
        let resource = chunk.resource().map(|b| Resource::decode(b).unwrap());
        prop_assert_eq!(resource.as_ref(), S::resource_of(r));
        prop_assert_eq!(chunk.schema_url(), S::resource_schema_url(r));

        let scopes: Vec<_> = chunk.scopes().collect();
        prop_assert_eq!(scopes.len(), S::scopes(r).len());
        for (sc, s) in scopes.iter().zip(S::scopes(r)) {
            prop_assert_eq!(&S::S::decode(sc.bytes()).unwrap(), s);
            let scope = sc.scope().map(|b| InstrumentationScope::decode(b).unwrap());
            prop_assert_eq!(scope.as_ref(), S::scope_of(s));
            prop_assert_eq!(sc.schema_url(), S::scope_schema_url(s));
            let items: Vec<_> = sc.items().collect();
            prop_assert_eq!(items.len(), S::items(s).len());
            for (item, i) in items.iter().zip(S::items(s)) {
                prop_assert_eq!(&S::I::decode(item.bytes()).unwrap(), i);
                prop_assert_eq!(item.count(), S::item_count(i));
                prop_assert_eq!(
                    &bytes[item.offset()..item.offset() + item.bytes().len()],
                    item.bytes()
                );
            }
            prop_assert_eq!(
                sc.item_count(),
                S::items(s).iter().map(S::item_count).sum::<u32>()
            );
        }
    }
    #[cfg(feature = "fuzzing")]
    otlp_arrow::fuzzing::scan::run(bytes);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn valid_traces_are_accepted(req in traces_request(), extras in unknowns()) {
        check_valid(&req, &encode_with(&req, &extras))?;
    }

    #[test]
    fn valid_metrics_are_accepted(req in metrics_request(), extras in unknowns()) {
        check_valid(&req, &encode_with(&req, &extras))?;
    }

    #[test]
    fn valid_logs_are_accepted(req in logs_request(), extras in unknowns()) {
        check_valid(&req, &encode_with(&req, &extras))?;
    }

    #[test]
    fn prost_encoding_is_accepted(req in traces_request()) {
        // Plain prost output too (field order as prost writes it).
        check_valid(&req, &req.encode_to_vec())?;
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations: never panic; accepted implies prost decodes.

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..4)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1usize..6).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match mutation {
        Mutation::Flip(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
        Mutation::Set(i, b) if len > 0 => bytes[i.index(len)] = *b,
        Mutation::Insert(i, b) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(i, n) if len > 0 => {
            let at = i.index(len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        _ => {}
    }
}

/// If the scanner accepts `bytes` as `signal`, prost must decode them as that request.
fn accepted_implies_prost(signal: Signal, bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(scanned) = scan(signal, bytes) else {
        return Ok(());
    };
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(bytes).map(|r| {
            let n = r
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len());
            (r.resource_spans.len(), n.sum::<usize>() as u64)
        }),
        Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).map(|r| {
            let n = r.resource_metrics.iter().flat_map(|r| &r.scope_metrics);
            let n = n
                .flat_map(|s| &s.metrics)
                .map(|m| u64::from(metric_points(m)));
            (r.resource_metrics.len(), n.sum::<u64>())
        }),
        Signal::Logs => ExportLogsServiceRequest::decode(bytes).map(|r| {
            let n = r
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len());
            (r.resource_logs.len(), n.sum::<usize>() as u64)
        }),
    };
    match decoded {
        Ok(counts) => prop_assert_eq!(counts, (scanned.resources(), scanned.items())),
        Err(e) => prop_assert!(false, "scanner accepted what prost refuses: {e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn mutated_requests_are_handled(
        (_, mut bytes) in any_request(),
        mutations in vec(mutation(), 1..4),
    ) {
        for m in &mutations {
            apply(&mut bytes, m);
        }
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            accepted_implies_prost(signal, &bytes)?;
        }
        #[cfg(feature = "fuzzing")]
        otlp_arrow::fuzzing::scan::run(&bytes);
    }

    #[test]
    fn random_bytes_are_handled(bytes in vec(any::<u8>(), 0..64)) {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            accepted_implies_prost(signal, &bytes)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Targeted errors: kind, path and offset.

fn good_span() -> Span {
    Span {
        trace_id: vec![0x11; 16],
        span_id: vec![0x22; 8],
        name: "op".into(),
        ..Default::default()
    }
}

fn traces_with(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_with(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs_with(log_records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The request with a raw span body `span` (not expressible with prost) as its only span.
fn raw_span_request(span: &[u8]) -> Vec<u8> {
    len_field(1, &len_field(2, &len_field(2, span)))
}

#[track_caller]
fn expect_error(
    signal: Signal,
    bytes: &[u8],
    path: &str,
    kind: ErrorKind,
    offset: usize,
) -> ScanError {
    let error = scan(signal, bytes).expect_err("must be refused");
    assert_eq!(error.path().to_string(), path, "path of {error}");
    assert_eq!(error.kind(), kind, "kind of {error}");
    assert_eq!(error.offset(), offset, "offset of {error}");
    // The iterator reports the same error.
    let last = Scanner::new(signal, bytes).last().unwrap();
    assert_eq!(last, Err(error));
    error
}

const SPAN0: &str = "resource_spans[0].scope_spans[0].spans[0]";

#[test]
fn wrong_id_lengths_are_refused() {
    let mut span = good_span();
    span.trace_id = vec![0xab; 15];
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, &[0xab; 15]);
    let e = expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.trace_id"),
        ErrorKind::IdLength {
            expected: 16,
            empty_allowed: false,
            got: 15,
        },
        at,
    );
    assert_eq!(
        e.to_string(),
        format!("at byte {at}, {SPAN0}.trace_id: expected 16 bytes, got 15")
    );

    let mut span = good_span();
    span.span_id = vec![];
    let bytes = traces_with(vec![good_span(), span]).encode_to_vec();
    let error = scan_traces(&bytes).unwrap_err();
    assert_eq!(
        error.path().to_string(),
        "resource_spans[0].scope_spans[0].spans[1].span_id"
    );
    // prost omits empty bytes fields: the span has no span_id at all.
    assert_eq!(error.kind(), ErrorKind::MissingId);
    assert!(
        error.to_string().ends_with("required id is missing"),
        "{error}"
    );

    let mut span = good_span();
    span.parent_span_id = vec![0xcd; 7];
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, &[0xcd; 7]);
    let e = expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.parent_span_id"),
        ErrorKind::IdLength {
            expected: 8,
            empty_allowed: true,
            got: 7,
        },
        at,
    );
    assert!(e.to_string().ends_with("expected 0 or 8 bytes, got 7"));

    let mut span = good_span();
    span.links = vec![
        Link::default(),
        Link {
            trace_id: vec![0xef; 3],
            ..Default::default()
        },
    ];
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, &[0xef; 3]);
    let kind = ErrorKind::IdLength {
        expected: 16,
        empty_allowed: true,
        got: 3,
    };
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.links[1].trace_id"),
        kind,
        at,
    );

    let bytes = logs_with(vec![LogRecord {
        span_id: vec![0x5a; 9],
        ..Default::default()
    }])
    .encode_to_vec();
    let at = find_unique(&bytes, &[0x5a; 9]);
    let kind = ErrorKind::IdLength {
        expected: 8,
        empty_allowed: true,
        got: 9,
    };
    let path = "resource_logs[0].scope_logs[0].log_records[0].span_id";
    expect_error(Signal::Logs, &bytes, path, kind, at);

    let point = NumberDataPoint {
        exemplars: vec![Exemplar {
            trace_id: vec![0x6b; 17],
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = metrics_with(vec![Metric {
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint::default(), point],
            ..Default::default()
        })),
        ..Default::default()
    }])
    .encode_to_vec();
    let at = find_unique(&bytes, &[0x6b; 17]);
    let kind = ErrorKind::IdLength {
        expected: 16,
        empty_allowed: true,
        got: 17,
    };
    let path =
        "resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[1].exemplars[0].trace_id";
    expect_error(Signal::Metrics, &bytes, path, kind, at);
}

#[test]
fn optional_ids_may_be_empty_or_zero() {
    let mut span = good_span();
    span.parent_span_id = vec![0; 8];
    span.links = vec![
        Link::default(),
        Link {
            trace_id: vec![0; 16],
            span_id: vec![0; 8],
            ..Default::default()
        },
    ];
    let bytes = traces_with(vec![span]).encode_to_vec();
    assert_eq!(scan_traces(&bytes).unwrap().items(), 1);

    let bytes = logs_with(vec![
        LogRecord::default(),
        LogRecord {
            trace_id: vec![0; 16],
            span_id: vec![0; 8],
            ..Default::default()
        },
    ])
    .encode_to_vec();
    assert_eq!(scan_logs(&bytes).unwrap().items(), 2);
}

#[test]
fn zero_and_missing_span_ids_are_refused() {
    let mut span = good_span();
    span.span_id = vec![0; 8];
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, &[0x0a, 0x10, 0x11]) + 2 + 16 + 2; // trace_id, then span_id body
    let e = expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.span_id"),
        ErrorKind::ZeroId,
        at,
    );
    assert!(e.to_string().ends_with("all-zero id is invalid"));

    let mut span = good_span();
    span.trace_id = vec![0; 16];
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, &[0; 16]);
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.trace_id"),
        ErrorKind::ZeroId,
        at,
    );

    // A span with no ids at all: prost writes nothing for empty bytes.
    let span = Span {
        name: "lonely".into(),
        ..Default::default()
    };
    let bytes = traces_with(vec![span]).encode_to_vec();
    let at = find_unique(&bytes, b"lonely") - 2; // the span body starts with the name's tag
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.trace_id"),
        ErrorKind::MissingId,
        at,
    );

    let mut span = good_span();
    span.span_id.clear();
    let mut raw = span.encode_to_vec();
    raw.extend_from_slice(&[0x12, 0x00]); // an explicit empty span_id is still wrong
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::IdLength {
        expected: 8,
        empty_allowed: false,
        got: 0,
    };
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.span_id"),
        kind,
        bytes.len(),
    );
}

/// Every `string` field: a marker of the same length as invalid UTF-8 keeps framing intact.
#[test]
fn invalid_utf8_is_refused_in_every_string_field() {
    const M: &str = "MARKER";
    let s = || M.to_string();
    let kv = |key: String, value: String| KeyValue {
        key,
        value: Some(av(Value::StringValue(value))),
        key_strindex: 0,
    };
    let rs = |resource: Option<Resource>,
              scope: Option<InstrumentationScope>,
              schema: [String; 2],
              span: Span| {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource,
                scope_spans: vec![ScopeSpans {
                    scope,
                    spans: vec![span],
                    schema_url: schema[1].clone(),
                }],
                schema_url: schema[0].clone(),
            }],
        }
        .encode_to_vec()
    };
    let none = || [String::new(), String::new()];
    let span_with = |f: &dyn Fn(&mut Span)| {
        let mut span = good_span();
        f(&mut span);
        rs(None, None, none(), span)
    };
    let nested = av(Value::ArrayValue(ArrayValue {
        values: vec![
            av(Value::IntValue(1)),
            av(Value::KvlistValue(KeyValueList {
                values: vec![kv("a".into(), "b".into()), kv(s(), "c".into())],
            })),
        ],
    }));
    let resource = |f: &dyn Fn(&mut Resource)| {
        let mut r = Resource::default();
        f(&mut r);
        rs(Some(r), None, none(), good_span())
    };
    let scope = |f: &dyn Fn(&mut InstrumentationScope)| {
        let mut sc = InstrumentationScope::default();
        f(&mut sc);
        rs(None, Some(sc), none(), good_span())
    };
    let metric = |f: &dyn Fn(&mut Metric)| {
        let mut m = Metric::default();
        f(&mut m);
        metrics_with(vec![m]).encode_to_vec()
    };
    let log = |f: &dyn Fn(&mut LogRecord)| {
        let mut l = LogRecord::default();
        f(&mut l);
        logs_with(vec![l]).encode_to_vec()
    };
    let entity = EntityRef {
        schema_url: "u".into(),
        r#type: "t".into(),
        id_keys: vec!["a".into(), s()],
        description_keys: vec![],
    };
    let cases: Vec<(Signal, Vec<u8>, String)> = vec![
        (Signal::Traces, resource(&|r| r.attributes = vec![kv(s(), "v".into())]), "resource_spans[0].resource.attributes[0].key".into()),
        (Signal::Traces, resource(&|r| r.attributes = vec![kv("k".into(), "v".into()), kv("k".into(), s())]), "resource_spans[0].resource.attributes[1].value.string_value".into()),
        (Signal::Traces, resource(&|r| r.entity_refs = vec![EntityRef { r#type: s(), ..Default::default() }]), "resource_spans[0].resource.entity_refs[0].type".into()),
        (Signal::Traces, resource(&|r| r.entity_refs = vec![entity.clone()]), "resource_spans[0].resource.entity_refs[0].id_keys[1]".into()),
        (Signal::Traces, resource(&|r| r.entity_refs = vec![EntityRef { schema_url: s(), ..Default::default() }]), "resource_spans[0].resource.entity_refs[0].schema_url".into()),
        (Signal::Traces, resource(&|r| r.entity_refs = vec![EntityRef { description_keys: vec![s()], ..Default::default() }]), "resource_spans[0].resource.entity_refs[0].description_keys[0]".into()),
        (Signal::Traces, rs(None, None, [s(), String::new()], good_span()), "resource_spans[0].schema_url".into()),
        (Signal::Traces, rs(None, None, [String::new(), s()], good_span()), "resource_spans[0].scope_spans[0].schema_url".into()),
        (Signal::Traces, scope(&|sc| sc.name = s()), "resource_spans[0].scope_spans[0].scope.name".into()),
        (Signal::Traces, scope(&|sc| sc.version = s()), "resource_spans[0].scope_spans[0].scope.version".into()),
        (Signal::Traces, scope(&|sc| sc.attributes = vec![kv(s(), String::new())]), "resource_spans[0].scope_spans[0].scope.attributes[0].key".into()),
        (Signal::Traces, span_with(&|sp| sp.name = s()), format!("{SPAN0}.name")),
        (Signal::Traces, span_with(&|sp| sp.trace_state = s()), format!("{SPAN0}.trace_state")),
        (Signal::Traces, span_with(&|sp| sp.attributes = vec![KeyValue { key: "k".into(), value: Some(nested.clone()), key_strindex: 0 }]), format!("{SPAN0}.attributes[0].value.array_value.values[1].kvlist_value.values[1].key")),
        (Signal::Traces, span_with(&|sp| sp.events = vec![Event::default(), Event { name: s(), ..Default::default() }]), format!("{SPAN0}.events[1].name")),
        (Signal::Traces, span_with(&|sp| sp.events = vec![Event { attributes: vec![kv("k".into(), s())], ..Default::default() }]), format!("{SPAN0}.events[0].attributes[0].value.string_value")),
        (Signal::Traces, span_with(&|sp| sp.links = vec![Link { trace_state: s(), ..Default::default() }]), format!("{SPAN0}.links[0].trace_state")),
        (Signal::Traces, span_with(&|sp| sp.links = vec![Link { attributes: vec![kv(s(), String::new())], ..Default::default() }]), format!("{SPAN0}.links[0].attributes[0].key")),
        (Signal::Traces, span_with(&|sp| sp.status = Some(Status { message: s(), code: 2 })), format!("{SPAN0}.status.message")),
        (Signal::Metrics, metric(&|m| m.name = s()), "resource_metrics[0].scope_metrics[0].metrics[0].name".into()),
        (Signal::Metrics, metric(&|m| m.description = s()), "resource_metrics[0].scope_metrics[0].metrics[0].description".into()),
        (Signal::Metrics, metric(&|m| m.unit = s()), "resource_metrics[0].scope_metrics[0].metrics[0].unit".into()),
        (Signal::Metrics, metric(&|m| m.metadata = vec![kv(s(), String::new())]), "resource_metrics[0].scope_metrics[0].metrics[0].metadata[0].key".into()),
        (Signal::Metrics, metric(&|m| m.data = Some(Data::Gauge(Gauge { data_points: vec![NumberDataPoint { attributes: vec![kv("k".into(), s())], ..Default::default() }] }))), "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0].attributes[0].value.string_value".into()),
        (Signal::Metrics, metric(&|m| m.data = Some(Data::Histogram(Histogram { data_points: vec![HistogramDataPoint { exemplars: vec![Exemplar { filtered_attributes: vec![kv(s(), String::new())], ..Default::default() }], ..Default::default() }], aggregation_temporality: 1 }))), "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0].exemplars[0].filtered_attributes[0].key".into()),
        (Signal::Metrics, metric(&|m| m.data = Some(Data::ExponentialHistogram(ExponentialHistogram { data_points: vec![ExponentialHistogramDataPoint { attributes: vec![kv(s(), String::new())], ..Default::default() }], aggregation_temporality: 2 }))), "resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0].attributes[0].key".into()),
        (Signal::Metrics, metric(&|m| m.data = Some(Data::Summary(Summary { data_points: vec![SummaryDataPoint { attributes: vec![kv(s(), String::new())], ..Default::default() }] }))), "resource_metrics[0].scope_metrics[0].metrics[0].summary.data_points[0].attributes[0].key".into()),
        (Signal::Logs, log(&|l| l.severity_text = s()), "resource_logs[0].scope_logs[0].log_records[0].severity_text".into()),
        (Signal::Logs, log(&|l| l.event_name = s()), "resource_logs[0].scope_logs[0].log_records[0].event_name".into()),
        (Signal::Logs, log(&|l| l.body = Some(av(Value::StringValue(s())))), "resource_logs[0].scope_logs[0].log_records[0].body.string_value".into()),
        (Signal::Logs, log(&|l| l.attributes = vec![kv(s(), String::new())]), "resource_logs[0].scope_logs[0].log_records[0].attributes[0].key".into()),
    ];
    for (signal, mut bytes, path) in cases {
        assert!(
            scan(signal, &bytes).is_ok(),
            "{path}: valid before corruption"
        );
        let at = find_unique(&bytes, M.as_bytes());
        bytes[at + 2] = 0xc3; // a lead byte followed by ASCII: invalid
        let e = expect_error(signal, &bytes, &path, ErrorKind::InvalidUtf8, at + 2);
        assert!(e.to_string().ends_with(": invalid UTF-8"), "{e}");
    }
    // Valid multi-byte UTF-8 is of course accepted.
    let mut span = good_span();
    span.name = "Grüße, 世界 🌍".into();
    assert!(scan_traces(&traces_with(vec![span]).encode_to_vec()).is_ok());
}

#[test]
fn wrong_wire_types_are_refused() {
    let span = good_span().encode_to_vec();
    let span_at = |bytes: &[u8]| find_unique(bytes, &[0x0a, 0x10, 0x11]);

    // name (string) sent as a varint
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x28, 0x01]);
    let bytes = raw_span_request(&raw);
    let at = span_at(&bytes) + span.len();
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::Len),
        got: WireType::Varint,
    };
    let e = expect_error(Signal::Traces, &bytes, &format!("{SPAN0}.name"), kind, at);
    assert!(
        e.to_string()
            .ends_with("wrong wire type: expected LEN (2), got VARINT (0)"),
        "{e}"
    );

    // start_time_unix_nano (fixed64) sent as a varint
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x38, 0x01]);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::I64),
        got: WireType::Varint,
    };
    let at = span_at(&bytes) + span.len();
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.start_time_unix_nano"),
        kind,
        at,
    );

    // flags (fixed32) sent as I64: tag 16 << 3 | 1 = 0x81 0x01
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::I32),
        got: WireType::I64,
    };
    let at = span_at(&bytes) + span.len();
    expect_error(Signal::Traces, &bytes, &format!("{SPAN0}.flags"), kind, at);

    // kind (enum) sent as LEN
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x32, 0x00]);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::Varint),
        got: WireType::Len,
    };
    let at = span_at(&bytes) + span.len();
    expect_error(Signal::Traces, &bytes, &format!("{SPAN0}.kind"), kind, at);

    // attributes (message) sent as I32
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x4d, 0, 0, 0, 0]);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::Len),
        got: WireType::I32,
    };
    let at = span_at(&bytes) + span.len();
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.attributes[0]"),
        kind,
        at,
    );

    // the request's resource_spans sent as a varint
    let kind = ErrorKind::WrongWireType {
        expected: Expected::One(WireType::Len),
        got: WireType::Varint,
    };
    expect_error(Signal::Traces, &[0x08, 0x01], "resource_spans[0]", kind, 0);
}

#[test]
fn group_and_undefined_wire_types_are_refused() {
    let span = good_span().encode_to_vec();
    // unknown field 50, start group (wire type 3): tag 50 << 3 | 3 = 403 = 0x93 0x03
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x93, 0x03, 0x94, 0x03]);
    let bytes = raw_span_request(&raw);
    let at = find_unique(&bytes, &[0x93, 0x03]);
    let kind = ErrorKind::GroupWireType(WireType::StartGroup);
    let e = expect_error(Signal::Traces, &bytes, &format!("{SPAN0}.#50"), kind, at);
    assert!(
        e.to_string()
            .ends_with("group wire type SGROUP (3) is not supported"),
        "{e}"
    );

    // a known field (name) with end group
    let mut raw = span.clone();
    raw.push(0x2c);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::GroupWireType(WireType::EndGroup);
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.name"),
        kind,
        bytes.len() - 1,
    );

    // wire types 6 and 7, known and unknown fields
    let mut raw = span.clone();
    raw.push(0x2e);
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::InvalidWireType(6);
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.name"),
        kind,
        bytes.len() - 1,
    );
    let kind = ErrorKind::InvalidWireType(7);
    expect_error(
        Signal::Logs,
        &[0x0a, 0x02, 0xff, 0x07],
        "resource_logs[0].#127",
        kind,
        2,
    );
}

#[test]
fn framing_errors_are_refused() {
    let span = good_span().encode_to_vec();
    // A string whose length runs past the end of the span (but not of the request).
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x1a, 0x05, b'a', b'b']);
    let mut bytes = raw_span_request(&raw);
    bytes.extend_from_slice(&len_field(1, &[])); // more input after the resource
    let at = find_unique(&bytes, &[0x1a, 0x05]) + 1;
    let kind = ErrorKind::LengthPastEnd {
        len: 5,
        available: 2,
    };
    let e = expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.trace_state"),
        kind,
        at,
    );
    assert!(
        e.to_string()
            .ends_with("length 5 runs past the end of its message (2 bytes left)")
    );

    // The request itself truncated.
    let full = traces_with(vec![good_span()]).encode_to_vec();
    let kind = ErrorKind::LengthPastEnd {
        len: full.len() as u64 - 2,
        available: full.len() - 3,
    };
    expect_error(
        Signal::Traces,
        &full[..full.len() - 1],
        "resource_spans[0]",
        kind,
        1,
    );

    // Varints: 11 bytes, 10th byte > 1, and cut off by the end of the span.
    let mut raw = span.clone();
    raw.push(0x30);
    raw.extend_from_slice(&[0xff; 10]);
    raw.push(0x01);
    let bytes = raw_span_request(&raw);
    let at = find_unique(&bytes, &[0x30, 0xff]) + 1;
    let e = expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.kind"),
        ErrorKind::VarintTooLong,
        at,
    );
    assert!(e.to_string().ends_with("varint longer than 10 bytes"));

    let mut raw = span.clone();
    raw.push(0x30);
    raw.extend_from_slice(&[0xff; 9]);
    raw.push(0x02);
    let bytes = raw_span_request(&raw);
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.kind"),
        ErrorKind::VarintOverflow,
        at,
    );

    let mut raw = span.clone();
    raw.extend_from_slice(&[0x50, 0x80]); // dropped_attributes_count, continuation, then end
    let mut bytes = raw_span_request(&raw);
    bytes.extend_from_slice(&len_field(1, &[]));
    let at = find_unique(&bytes, &[0x50, 0x80]) + 1;
    let path = format!("{SPAN0}.dropped_attributes_count");
    expect_error(
        Signal::Traces,
        &bytes,
        &path,
        ErrorKind::TruncatedVarint,
        at,
    );

    // A fixed64 with only 3 bytes left in its message.
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x41, 1, 2, 3]);
    let mut bytes = raw_span_request(&raw);
    bytes.extend_from_slice(&len_field(1, &[]));
    let at = find_unique(&bytes, &[0x41, 1, 2, 3]) + 1;
    let kind = ErrorKind::TruncatedFixed {
        needed: 8,
        available: 3,
    };
    expect_error(
        Signal::Traces,
        &bytes,
        &format!("{SPAN0}.end_time_unix_nano"),
        kind,
        at,
    );

    // Field number 0, and a tag wider than 32 bits.
    let mut raw = span.clone();
    raw.extend_from_slice(&[0x00, 0x00]);
    let bytes = raw_span_request(&raw);
    let at = bytes.len() - 2;
    expect_error(
        Signal::Traces,
        &bytes,
        SPAN0,
        ErrorKind::FieldNumberZero,
        at,
    );
    let bytes = [0x80, 0x80, 0x80, 0x80, 0x10, 0x00];
    expect_error(Signal::Metrics, &bytes, "", ErrorKind::TagTooLarge, 0);
    let e = scan_metrics(&bytes).unwrap_err();
    assert_eq!(e.to_string(), "at byte 0: tag does not fit 32 bits");

    // Unknown fields must be well-formed too.
    let mut raw = span.clone();
    raw.extend_from_slice(&[0xa2, 0x06, 0x09, 0x00]); // field 100, LEN 9, one byte
    let bytes = raw_span_request(&raw);
    let kind = ErrorKind::LengthPastEnd {
        len: 9,
        available: 1,
    };
    let at = bytes.len() - 2;
    expect_error(Signal::Traces, &bytes, &format!("{SPAN0}.#100"), kind, at);
}

#[test]
fn packed_fields_are_checked() {
    let histogram = |point: Vec<u8>| {
        let metric = len_field(9, &len_field(1, &point));
        len_field(1, &len_field(2, &len_field(2, &metric)))
    };
    const POINT: &str = "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]";

    // bucket_counts packed: 16 bytes fine, 12 bytes refused; one unpacked element fine.
    assert_eq!(
        scan_metrics(&histogram(len_field(6, &[7; 16])))
            .unwrap()
            .items(),
        1
    );
    let bytes = histogram(len_field(6, &[7; 12]));
    let at = find_unique(&bytes, &[7; 12]);
    let e = expect_error(
        Signal::Metrics,
        &bytes,
        &format!("{POINT}.bucket_counts"),
        ErrorKind::PackedLength { len: 12 },
        at,
    );
    assert!(
        e.to_string()
            .ends_with("packed length 12 is not a multiple of 8")
    );
    let mut unpacked = vec![0x31];
    unpacked.extend_from_slice(&[1; 8]);
    unpacked.push(0x39);
    unpacked.extend_from_slice(&[2; 8]);
    assert!(scan_metrics(&histogram(unpacked)).is_ok());

    // explicit_bounds as a varint is neither packed nor a double.
    let bytes = histogram(vec![0x38, 0x01]);
    let kind = ErrorKind::WrongWireType {
        expected: Expected::PackedOr(WireType::I64),
        got: WireType::Varint,
    };
    let at = bytes.len() - 2;
    let e = expect_error(
        Signal::Metrics,
        &bytes,
        &format!("{POINT}.explicit_bounds"),
        kind,
        at,
    );
    assert!(
        e.to_string()
            .ends_with("expected LEN (2, packed) or I64 (1), got VARINT (0)")
    );

    // Exponential histogram buckets: packed varints must each be complete.
    let exp = |buckets: Vec<u8>| {
        let point = len_field(8, &buckets);
        let metric = len_field(10, &len_field(1, &point));
        len_field(1, &len_field(2, &len_field(2, &metric)))
    };
    assert!(scan_metrics(&exp(len_field(2, &[0x01, 0x96, 0x01]))).is_ok());
    assert!(scan_metrics(&exp(vec![0x10, 0x05, 0x10, 0x06])).is_ok()); // unpacked
    let bytes = exp(len_field(2, &[0x01, 0x96]));
    let path = "resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0].positive.bucket_counts";
    let at = bytes.len() - 1;
    expect_error(
        Signal::Metrics,
        &bytes,
        path,
        ErrorKind::TruncatedVarint,
        at,
    );
}

/// Builds `AnyValue` nesting `depth` levels of key-value lists (3 message levels each) or
/// arrays (2 each) around a string, iteratively (no recursion in the test either).
fn nested_value(depth: usize, kvlist: bool) -> Vec<u8> {
    let mut value = len_field(1, b"leaf"); // AnyValue { string_value }
    for _ in 0..depth {
        value = if kvlist {
            let mut kv = len_field(1, b"k");
            put_len(2, &value, &mut kv);
            len_field(6, &len_field(1, &kv))
        } else {
            len_field(5, &len_field(1, &value))
        };
    }
    value
}

fn log_with_body(body: &[u8]) -> Vec<u8> {
    len_field(1, &len_field(2, &len_field(2, &len_field(5, body))))
}

#[test]
fn nesting_is_limited() {
    // The body AnyValue is at level 4; the leaf of `n` kv-list levels at 4 + 3n.
    let max_kv = (MAX_NESTING as usize - 4) / 3;
    let max_array = (MAX_NESTING as usize - 4) / 2;
    for (max, kvlist) in [(max_kv, true), (max_array, false)] {
        let ok = log_with_body(&nested_value(max, kvlist));
        assert!(scan_logs(&ok).is_ok(), "depth {max} accepted");
        let decoded = ExportLogsServiceRequest::decode(ok.as_slice());
        assert!(decoded.is_ok(), "prost decodes what the scanner accepts");

        let deep = log_with_body(&nested_value(max + 1, kvlist));
        let e = scan_logs(&deep).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooDeep);
        assert!(e.path().is_elided());
        let text = e.path().to_string();
        assert!(
            text.starts_with("resource_logs[0].scope_logs[0].log_records[0].body."),
            "{text}"
        );
        // The refused message is the leaf AnyValue: its body starts with the "leaf" string tag.
        assert_eq!(e.offset(), find_unique(&deep, b"leaf") - 2);
        assert!(
            e.to_string()
                .ends_with("messages nested deeper than 99 levels")
        );
    }
    // Far deeper than any limit: refused without exhausting the stack.
    let very_deep = log_with_body(&nested_value(2_000, false));
    assert_eq!(
        scan_logs(&very_deep).unwrap_err().kind(),
        ErrorKind::TooDeep
    );
}

#[test]
fn protobuf_leniencies_are_accepted() {
    let mut span = good_span();
    span.kind = 1_000;
    span.status = Some(Status {
        message: String::new(),
        code: -7,
    });
    let mut raw = span.encode_to_vec();
    // Unknown fields of every wire type, a reserved field, a large field number.
    raw.extend_from_slice(&[0x88, 0x06, 0x01]); // 97: varint
    raw.extend_from_slice(&[0x89, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]); // 97: I64
    raw.extend_from_slice(&[0x8a, 0x06, 0x02, 0xff, 0xfe]); // 97: LEN (not UTF-8: fine)
    raw.extend_from_slice(&[0x8d, 0x06, 0, 0, 0, 0]); // 97: I32
    raw.extend_from_slice(&[0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00]); // 2^29 - 1: varint
    // A repeated singular field (last wins) and a non-canonical length varint.
    raw.extend_from_slice(&[0x2a, 0x82, 0x00, b'o', b'k']);
    let bytes = raw_span_request(&raw);
    let scanned = scan_traces(&bytes).unwrap();
    assert_eq!(scanned.items(), 1);
    let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.resource_spans[0].scope_spans[0].spans[0].name, "ok");

    let bytes = logs_with(vec![LogRecord {
        severity_number: 12_345,
        ..Default::default()
    }])
    .encode_to_vec();
    assert!(scan_logs(&bytes).is_ok());
}

#[test]
fn metric_points_follow_oneof_semantics() {
    let gauge = |n: usize| Metric {
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); n],
        })),
        ..Default::default()
    };
    let sum = |n: usize| Metric {
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint::default(); n],
            ..Default::default()
        })),
        ..Default::default()
    };
    // Concatenated messages merge: same kind adds up, another kind replaces.
    for (parts, want) in [
        (vec![gauge(2), gauge(3)], 5),
        (vec![gauge(2), sum(3)], 3),
        (vec![sum(4), gauge(1), sum(2)], 2),
        (vec![Metric::default()], 0),
    ] {
        let metric: Vec<u8> = parts.iter().flat_map(|m| m.encode_to_vec()).collect();
        let bytes = len_field(1, &len_field(2, &len_field(2, &metric)));
        let decoded = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        let m = &decoded.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(metric_points(m), want);
        let scanned = scan_metrics(&bytes).unwrap();
        assert_eq!(scanned.items(), u64::from(want));
        let chunk = scanned.chunks().next().unwrap();
        let item = chunk.scopes().next().unwrap().items().next().unwrap();
        assert_eq!(item.count(), want);
    }
}

#[test]
fn scanner_streams_then_stops_at_the_error() {
    let good = traces_with(vec![good_span(), good_span()]).encode_to_vec();
    let mut bytes = good.clone();
    bytes.extend_from_slice(&[0x0a, 0x02, 0x12, 0x05]);
    let results: Vec<_> = Scanner::new(Signal::Traces, &bytes).collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap().items(), 2);
    let e = results[1].unwrap_err();
    assert_eq!(e.path().to_string(), "resource_spans[1].scope_spans[0]");
    assert_eq!(e.offset(), good.len() + 3);
    let _: &dyn std::error::Error = &e;
}

#[test]
fn scan_resource_checks_one_record() {
    let bytes = traces_with(vec![good_span(), good_span()]).encode_to_vec();
    let chunk = scan_traces(&bytes).unwrap().chunks().next().unwrap();
    let alone = scan_resource(Signal::Traces, chunk.bytes()).unwrap();
    assert_eq!((alone.offset(), alone.items()), (0, 2));
    let mut record = chunk.bytes().to_vec();
    record.truncate(record.len() - 1);
    let e = scan_resource(Signal::Traces, &record).unwrap_err();
    assert_eq!(e.path().to_string(), "scope_spans[0]");
    assert_eq!(e.offset(), 1);
}

#[test]
fn raw_fields_reframe_a_chunk() {
    // Re-frame a chunk into one record per span: all non-scope fields verbatim, then one scope
    // (its non-item fields verbatim plus one span). Each record must decode to the resource
    // with exactly that span.
    let mut req = traces_with(vec![good_span(), good_span(), good_span()]);
    req.resource_spans[0].resource = Some(Resource {
        dropped_attributes_count: 3,
        ..Default::default()
    });
    req.resource_spans[0].schema_url = "https://x".into();
    req.resource_spans[0].scope_spans[0].scope = Some(InstrumentationScope {
        name: "lib".into(),
        ..Default::default()
    });
    for (i, span) in req.resource_spans[0].scope_spans[0]
        .spans
        .iter_mut()
        .enumerate()
    {
        span.name = format!("span{i}");
    }
    let bytes = req.encode_to_vec();
    let chunk = scan_traces(&bytes).unwrap().chunks().next().unwrap();
    let header: Vec<u8> = chunk
        .fields()
        .filter(|f| f.number != 2)
        .flat_map(|f| f.raw.to_vec())
        .collect();
    let scope = chunk.scopes().next().unwrap();
    let scope_header: Vec<u8> = scope
        .fields()
        .filter(|f| f.number != 2)
        .flat_map(|f| f.raw.to_vec())
        .collect();
    for (i, item) in scope.items().enumerate() {
        let mut scope_body = scope_header.clone();
        put_len(2, item.bytes(), &mut scope_body);
        let mut record = header.clone();
        put_len(2, &scope_body, &mut record);
        assert_eq!(scan_resource(Signal::Traces, &record).unwrap().items(), 1);
        let decoded = ResourceSpans::decode(record.as_slice()).unwrap();
        let mut want = req.resource_spans[0].clone();
        want.scope_spans[0].spans = vec![want.scope_spans[0].spans[i].clone()];
        assert_eq!(decoded, want);
    }
}

// ---------------------------------------------------------------------------------------------
// Seed corpus for `fuzz/fuzz_targets/scan_request.rs`.

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/scan_request");

/// Small valid requests of each signal (from a deterministic proptest runner) and a few
/// targeted invalid ones.
fn seed_corpus() -> Vec<(String, Vec<u8>)> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    /// A sample with at least one resource (empty requests add nothing to a corpus).
    fn sample<S: Shape>(runner: &mut TestRunner, strategy: impl Strategy<Value = S>) -> Vec<u8> {
        loop {
            let req = strategy.new_tree(runner).unwrap().current();
            let extras = unknowns().new_tree(runner).unwrap().current();
            if !req.resources().is_empty() {
                return encode_with(&req, &extras);
            }
        }
    }
    let mut out = Vec::new();
    for i in 0..10 {
        out.push((
            format!("traces-{i:02}"),
            sample(&mut runner, traces_request()),
        ));
        out.push((
            format!("metrics-{i:02}"),
            sample(&mut runner, metrics_request()),
        ));
        out.push((format!("logs-{i:02}"), sample(&mut runner, logs_request())));
    }
    let span = good_span().encode_to_vec();
    let with = |extra: &[u8]| {
        let mut raw = span.clone();
        raw.extend_from_slice(extra);
        raw_span_request(&raw)
    };
    out.push(("bad-utf8-name".into(), with(&[0x2a, 0x02, 0xc3, 0x28])));
    out.push(("bad-wire-type".into(), with(&[0x28, 0x01])));
    out.push(("bad-group".into(), with(&[0x93, 0x03, 0x94, 0x03])));
    out.push((
        "bad-varint".into(),
        with(&[
            0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ]),
    ));
    out.push(("bad-length".into(), with(&[0x1a, 0x05, b'a'])));
    out.push(("bad-id-length".into(), with(&[0x0a, 0x01, 0x01])));
    out.push(("bad-packed".into(), {
        let metric = len_field(9, &len_field(1, &len_field(6, &[7; 12])));
        len_field(1, &len_field(2, &len_field(2, &metric)))
    }));
    out.push(("deep-kvlist".into(), log_with_body(&nested_value(40, true))));
    out.push(("deep-array".into(), log_with_body(&nested_value(60, false))));
    out
}

#[test]
#[ignore = "writes fuzz/corpus/scan_request; run with -- --ignored to regenerate"]
fn write_seed_corpus() {
    std::fs::create_dir_all(CORPUS).unwrap();
    for (name, bytes) in seed_corpus() {
        std::fs::write(format!("{CORPUS}/{name}"), bytes).unwrap();
    }
}

#[test]
fn seed_corpus_is_committed_and_replays() {
    let expected = seed_corpus();
    let mut seen = 0;
    for (name, _) in &expected {
        let path = format!("{CORPUS}/{name}");
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run write_seed_corpus)"));
        let valid = !name.starts_with("bad-") && !name.starts_with("deep-");
        let signal = match name.split('-').next() {
            Some("metrics") => Signal::Metrics,
            Some("logs") => Signal::Logs,
            Some("traces") | Some("bad") => Signal::Traces,
            _ => Signal::Logs,
        };
        if name == "bad-packed" {
            assert!(scan_metrics(&bytes).is_err(), "{name}");
        } else {
            assert_eq!(scan(signal, &bytes).is_ok(), valid, "{name}");
        }
        #[cfg(feature = "fuzzing")]
        otlp_arrow::fuzzing::scan::run(&bytes);
        seen += 1;
    }
    assert!(seen >= 30);
}
