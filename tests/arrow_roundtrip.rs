//! OTLP -> Arrow -> OTLP without loss: the storage layer's round-trip property.
//!
//! Random OTLP requests (opentelemetry-proto structs from proptest: several resources and
//! scopes, spans with events, links and status, every metric type with exemplars, every log
//! body kind, attributes nested through arrays and key-value lists) are encoded with prost;
//! each `Resource*` entry (field 1 of the request) is fed to the storage decoder
//! (`arrow::decode`) as a ring record; the batch goes through the reverse path
//! (`arrow::otlp`); prost decodes the request that comes out.
//!
//! # How input and output are compared
//!
//! Both requests are flattened to an ordered list of `(resource, scope, item)` triples, where
//! `resource` is the `Resource` (attributes, dropped count) with the resource's schema URL,
//! `scope` the `InstrumentationScope` with the scope entry's schema URL, and `item` a span, a
//! log record, or for metrics a `Metric` whose data holds exactly one data point (the
//! metric's header and that point). The lists must be equal, in order: neither the decoder
//! nor the reverse path reorders rows.
//!
//! Comparing triples rather than the message trees is deliberate, because the grouping may
//! differ while nothing is lost: a resource or scope entry with no items (and a metric with no
//! data points) has no row, so it vanishes; consecutive groups that are equal merge into one
//! (two `ResourceSpans` of the same resource become one); equal groups that are not
//! consecutive stay apart. Beyond grouping, the only normalisations are the documented
//! representation choices of the stored form, applied to the input: an absent `resource` /
//! `scope` is the empty message (always written back), a span status with code 0 and no
//! message is no status, and a link's empty ids are all-zero ids (the link columns are not
//! nullable).
//!
//! Further properties on the same inputs: the output decoded and reversed again gives the same
//! bytes (byte stability); requests cut by random `Limits` hold the same triples in order, and
//! each is within its limits and as long as they allow; the `Resource*` records framed into a request are the request.

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use otlp_arrow::arrow::decode::{Decoder, LogsDecoder, MetricsDecoder, TracesDecoder};
use otlp_arrow::arrow::otlp::{self, BatchEncoder, Limits};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::encode::{REQUEST_FIELD_HEADER_MAX, request_field_header};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;

// ---------------------------------------------------------------------------------------------
// Strategies: opentelemetry-proto structs

fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        2 => Just(String::new()),
        3 => "[a-z._]{1,8}",
        1 => "\\PC{1,3}",
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    vec(any::<u8>(), 0..=max)
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    vec(any::<u8>(), len)
}

/// A span's own id: never all zeros (the scanner, which checks the requests that come out,
/// refuses those, as OTLP does), also while proptest shrinks it.
fn span_id(len: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    id(len).prop_map(|mut v| {
        if v.iter().all(|&b| b == 0) {
            v[0] = 1;
        }
        v
    })
}

/// Empty or exactly `len` bytes (an optional id).
fn opt_id(len: usize) -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![Just(Vec::new()), id(len)]
}

fn u64s() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![Just(0u64), 1..300u64, any::<u64>()]
}

fn u32s() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![Just(0u32), 1..300u32, any::<u32>()]
}

/// Any double but NaN (NaN != NaN would defeat the struct comparison; the unit tests cover
/// NaN bodies).
fn f64s() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NEG_INFINITY),
        any::<f64>().prop_filter("NaN", |f| !f.is_nan()),
    ]
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value as V;
    let leaf = prop_oneof![
        Just(None),
        text().prop_map(|s| Some(V::StringValue(s))),
        any::<bool>().prop_map(|b| Some(V::BoolValue(b))),
        prop_oneof![Just(0i64), any::<i64>()].prop_map(|i| Some(V::IntValue(i))),
        f64s().prop_map(|d| Some(V::DoubleValue(d))),
        bytes(4).prop_map(|b| Some(V::BytesValue(b))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(V::ArrayValue(ArrayValue { values })),
            }),
            vec((text(), proptest::option::of(inner)), 0..3).prop_map(|kvs| AnyValue {
                value: Some(V::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, value)| KeyValue {
                            key,
                            value,
                            ..Default::default()
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> + Clone {
    // A key-value without value (None) is kept as such: the decoder stores a null value.
    vec((text(), proptest::option::weighted(0.9, any_value())), 0..3)
        .prop_map(|kvs| {
            kvs.into_iter()
                .map(|(key, value)| KeyValue {
                    key,
                    value,
                    ..Default::default()
                })
                .collect()
        })
        .boxed()
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    proptest::option::weighted(
        0.8,
        (attrs(), prop_oneof![Just(0u32), u32s()]).prop_map(|(attributes, dropped)| Resource {
            attributes,
            dropped_attributes_count: dropped,
            ..Default::default()
        }),
    )
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    proptest::option::weighted(
        0.8,
        (text(), text(), attrs(), prop_oneof![Just(0u32), u32s()]).prop_map(
            |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
                name,
                version,
                attributes,
                dropped_attributes_count,
            },
        ),
    )
}

fn status() -> impl Strategy<Value = Option<Status>> {
    proptest::option::of((0..3i32, text()).prop_map(|(code, message)| Status { message, code }))
}

fn event() -> impl Strategy<Value = span::Event> {
    (u64s(), text(), attrs(), u32s()).prop_map(|(time_unix_nano, name, attributes, dropped)| {
        span::Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count: dropped,
        }
    })
}

fn link() -> impl Strategy<Value = span::Link> {
    (opt_id(16), opt_id(8), text(), attrs(), u32s(), u32s()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| {
            span::Link {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count,
                flags,
            }
        },
    )
}

fn span() -> impl Strategy<Value = Span> {
    (
        (
            span_id(16),
            span_id(8),
            text(),
            opt_id(8),
            u32s(),
            text(),
            0..6i32,
        ),
        (u64s(), u64s(), attrs(), u32s()),
        (
            vec(event(), 0..3),
            u32s(),
            vec(link(), 0..3),
            u32s(),
            status(),
        ),
    )
        .prop_map(
            |(
                (trace_id, span_id, trace_state, parent_span_id, flags, name, kind),
                (start_time_unix_nano, end_time_unix_nano, attributes, dropped_attributes_count),
                (events, dropped_events_count, links, dropped_links_count, status),
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
    let value = proptest::option::of(prop_oneof![
        f64s().prop_map(exemplar::Value::AsDouble),
        any::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    vec(
        (attrs(), u64s(), value, opt_id(8), opt_id(16)).prop_map(
            |(filtered_attributes, time_unix_nano, value, span_id, trace_id)| Exemplar {
                filtered_attributes,
                time_unix_nano,
                span_id,
                trace_id,
                value,
            },
        ),
        0..3,
    )
}

fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = proptest::option::of(prop_oneof![
        f64s().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    vec(
        (attrs(), u64s(), u64s(), value, exemplars(), u32s()).prop_map(
            |(attributes, start_time_unix_nano, time_unix_nano, value, exemplars, flags)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    exemplars,
                    flags,
                    value,
                }
            },
        ),
        0..3,
    )
}

fn histogram_points() -> impl Strategy<Value = Vec<HistogramDataPoint>> {
    use proptest::option::of;
    vec(
        (
            (attrs(), u64s(), u64s(), u64s(), of(f64s())),
            (vec(u64s(), 0..4), vec(f64s(), 0..3), exemplars(), u32s()),
            (of(f64s()), of(f64s())),
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
            ),
        0..3,
    )
}

fn buckets() -> impl Strategy<Value = Option<Buckets>> {
    proptest::option::of(
        (any::<i32>(), vec(u64s(), 0..4)).prop_map(|(offset, bucket_counts)| Buckets {
            offset,
            bucket_counts,
        }),
    )
}

fn exp_points() -> impl Strategy<Value = Vec<ExponentialHistogramDataPoint>> {
    use proptest::option::of;
    vec(
        (
            (attrs(), u64s(), u64s(), u64s(), of(f64s()), any::<i32>()),
            (u64s(), buckets(), buckets(), u32s(), exemplars()),
            (of(f64s()), of(f64s()), f64s()),
        )
            .prop_map(
                |(
                    (attributes, start_time_unix_nano, time_unix_nano, count, sum, scale),
                    (zero_count, positive, negative, flags, exemplars),
                    (min, max, zero_threshold),
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
            ),
        0..3,
    )
}

fn summary_points() -> impl Strategy<Value = Vec<SummaryDataPoint>> {
    let q = (f64s(), f64s()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    vec(
        (
            attrs(),
            u64s(),
            u64s(),
            u64s(),
            f64s(),
            vec(q, 0..3),
            u32s(),
        )
            .prop_map(
                |(attributes, start_time_unix_nano, time_unix_nano, count, sum, qs, flags)| {
                    SummaryDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        count,
                        sum,
                        quantile_values: qs,
                        flags,
                    }
                },
            ),
        0..3,
    )
}

/// Temporalities: the defined ones, and numbers OTLP does not define (stored as numbers).
fn temporality() -> impl Strategy<Value = i32> + Clone {
    prop_oneof![4 => 0..3i32, 1 => Just(-1), 1 => Just(7)]
}

fn metric_data() -> impl Strategy<Value = Option<metric::Data>> {
    use metric::Data;
    prop_oneof![
        1 => Just(None),
        3 => number_points().prop_map(|data_points| Some(Data::Gauge(Gauge { data_points }))),
        3 => (number_points(), temporality(), any::<bool>()).prop_map(|(data_points, t, m)| {
            Some(Data::Sum(Sum {
                data_points,
                aggregation_temporality: t,
                is_monotonic: m,
            }))
        }),
        3 => (histogram_points(), temporality()).prop_map(|(data_points, t)| {
            Some(Data::Histogram(Histogram {
                data_points,
                aggregation_temporality: t,
            }))
        }),
        3 => (exp_points(), temporality()).prop_map(|(data_points, t)| {
            Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points,
                aggregation_temporality: t,
            }))
        }),
        3 => summary_points().prop_map(|data_points| Some(Data::Summary(Summary { data_points }))),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    (text(), text(), text(), metric_data(), attrs()).prop_map(
        |(name, description, unit, data, metadata)| Metric {
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
        (u64s(), u64s(), 0..25i32, text()),
        proptest::option::of(any_value()),
        (attrs(), u32s(), u32s(), opt_id(16), opt_id(8), text()),
    )
        .prop_map(
            |(
                (time_unix_nano, observed_time_unix_nano, severity_number, severity_text),
                body,
                (attributes, dropped_attributes_count, flags, trace_id, span_id, event_name),
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

/// A resource and scope pool: requests draw from few distinct values, so that equal
/// neighbours (which merge) are common.
fn envelope() -> impl Strategy<
    Value = (
        Option<Resource>,
        String,
        Option<InstrumentationScope>,
        String,
    ),
> {
    (
        resource(),
        prop_oneof![Just(String::new()), Just("https://r".to_owned())],
        scope(),
        prop_oneof![Just(String::new()), Just("https://s".to_owned())],
    )
}

/// Picks entries from a small pool so neighbours often repeat.
fn pooled<T: Clone + std::fmt::Debug>(
    pool: impl Strategy<Value = T>,
    n: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<T>> {
    (vec(pool, 1..3), vec(any::<prop::sample::Index>(), n))
        .prop_map(|(pool, picks)| picks.iter().map(|i| i.get(&pool).clone()).collect())
}

fn traces_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    (
        pooled(envelope(), 0..4),
        vec(vec(vec(span(), 0..3), 0..3), 4),
    )
        .prop_map(|(envs, items)| ExportTraceServiceRequest {
            resource_spans: envs
                .into_iter()
                .zip(items)
                .map(|((resource, rurl, scope, surl), scopes)| ResourceSpans {
                    resource,
                    schema_url: rurl,
                    scope_spans: scopes
                        .into_iter()
                        .map(|spans| ScopeSpans {
                            scope: scope.clone(),
                            spans,
                            schema_url: surl.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
}

fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    (
        pooled(envelope(), 0..4),
        vec(vec(pooled(metric(), 0..3), 0..3), 4),
    )
        .prop_map(|(envs, items)| ExportMetricsServiceRequest {
            resource_metrics: envs
                .into_iter()
                .zip(items)
                .map(|((resource, rurl, scope, surl), scopes)| ResourceMetrics {
                    resource,
                    schema_url: rurl,
                    scope_metrics: scopes
                        .into_iter()
                        .map(|metrics| ScopeMetrics {
                            scope: scope.clone(),
                            metrics,
                            schema_url: surl.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
}

fn logs_request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    (
        pooled(envelope(), 0..4),
        vec(vec(vec(log_record(), 0..3), 0..3), 4),
    )
        .prop_map(|(envs, items)| ExportLogsServiceRequest {
            resource_logs: envs
                .into_iter()
                .zip(items)
                .map(|((resource, rurl, scope, surl), scopes)| ResourceLogs {
                    resource,
                    schema_url: rurl,
                    scope_logs: scopes
                        .into_iter()
                        .map(|log_records| ScopeLogs {
                            scope: scope.clone(),
                            log_records,
                            schema_url: surl.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
}

// ---------------------------------------------------------------------------------------------
// Flattening to (resource, scope, item) triples

/// A resource with its schema URL, a scope with its schema URL, and one item.
type Triple<T> = ((Resource, String), (InstrumentationScope, String), T);

fn res(r: &Option<Resource>, url: &str) -> (Resource, String) {
    (r.clone().unwrap_or_default(), url.to_owned())
}

fn scp(s: &Option<InstrumentationScope>, url: &str) -> (InstrumentationScope, String) {
    (s.clone().unwrap_or_default(), url.to_owned())
}

fn flat_spans(req: &ExportTraceServiceRequest) -> Vec<Triple<Span>> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                let mut s = s.clone();
                if s.status
                    .as_ref()
                    .is_some_and(|st| st.code == 0 && st.message.is_empty())
                {
                    s.status = None;
                }
                for l in &mut s.links {
                    if l.trace_id.is_empty() {
                        l.trace_id = vec![0; 16];
                    }
                    if l.span_id.is_empty() {
                        l.span_id = vec![0; 8];
                    }
                }
                out.push((
                    res(&rs.resource, &rs.schema_url),
                    scp(&ss.scope, &ss.schema_url),
                    s,
                ));
            }
        }
    }
    out
}

/// Each data point as a `Metric` holding only that point.
fn flat_points(req: &ExportMetricsServiceRequest) -> Vec<Triple<Metric>> {
    use metric::Data;
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let header = |data: Data| Metric {
                    data: Some(data),
                    ..m.clone()
                };
                let points: Vec<Metric> = match &m.data {
                    None => vec![],
                    Some(Data::Gauge(g)) => g
                        .data_points
                        .iter()
                        .map(|p| {
                            header(Data::Gauge(Gauge {
                                data_points: vec![p.clone()],
                            }))
                        })
                        .collect(),
                    Some(Data::Sum(s)) => s
                        .data_points
                        .iter()
                        .map(|p| {
                            header(Data::Sum(Sum {
                                data_points: vec![p.clone()],
                                ..s.clone()
                            }))
                        })
                        .collect(),
                    Some(Data::Histogram(h)) => h
                        .data_points
                        .iter()
                        .map(|p| {
                            header(Data::Histogram(Histogram {
                                data_points: vec![p.clone()],
                                ..h.clone()
                            }))
                        })
                        .collect(),
                    Some(Data::ExponentialHistogram(e)) => e
                        .data_points
                        .iter()
                        .map(|p| {
                            header(Data::ExponentialHistogram(ExponentialHistogram {
                                data_points: vec![p.clone()],
                                ..e.clone()
                            }))
                        })
                        .collect(),
                    Some(Data::Summary(s)) => s
                        .data_points
                        .iter()
                        .map(|p| {
                            header(Data::Summary(Summary {
                                data_points: vec![p.clone()],
                            }))
                        })
                        .collect(),
                };
                for p in points {
                    out.push((
                        res(&rm.resource, &rm.schema_url),
                        scp(&sm.scope, &sm.schema_url),
                        p,
                    ));
                }
            }
        }
    }
    out
}

fn flat_logs(req: &ExportLogsServiceRequest) -> Vec<Triple<LogRecord>> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        for sl in &rl.scope_logs {
            for l in &sl.log_records {
                out.push((
                    res(&rl.resource, &rl.schema_url),
                    scp(&sl.scope, &sl.schema_url),
                    l.clone(),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The pipeline

/// Feeds each `Resource*` body (as a ring record) to `decoder` and finishes the batch.
fn decode_records(decoder: &mut dyn Decoder, records: &[Vec<u8>]) -> RecordBatch {
    for r in records {
        decoder
            .append(r)
            .unwrap_or_else(|e| panic!("decoder refused a prost-encoded record: {e}"));
    }
    decoder.finish()
}

/// The `Resource*` bodies of an encoded request: its field-1 entries.
fn request_entries(req: &[u8], signal: Signal) -> Vec<Vec<u8>> {
    otlp_arrow::wire::scan::scan(signal, req)
        .unwrap_or_else(|e| panic!("reverse path produced an invalid request: {e}"))
        .chunks()
        .map(|c| c.bytes().to_vec())
        .collect()
}

/// Everything checked for one signal: `input` the prost-encoded request, `records` its
/// `Resource*` bodies, `flat` the flattening of a request of this signal.
fn check_signal<T: PartialEq + std::fmt::Debug>(
    signal: Signal,
    decoder: &mut dyn Decoder,
    records: &[Vec<u8>],
    expected: Vec<T>,
    flat: impl Fn(&[u8]) -> Vec<T>,
    limits: Limits,
) -> Result<(), TestCaseError> {
    let batch = decode_records(decoder, records);
    prop_assert_eq!(batch.num_rows(), expected.len());

    // 1. Item for item, in order.
    let mut out = Vec::new();
    let stats = otlp::request(signal, &batch, &mut out).unwrap();
    prop_assert_eq!(stats.bytes, out.len());
    prop_assert_eq!(stats.items, expected.len());
    prop_assert_eq!(stats.coerced_enums, 0);
    let got = flat(&out);
    prop_assert_eq!(&got, &expected);

    // 2. Byte stability: stored rows -> request -> stored rows -> the same request.
    let again = decode_records(decoder, &request_entries(&out, signal));
    let mut out2 = Vec::new();
    otlp::request(signal, &again, &mut out2).unwrap();
    prop_assert_eq!(&out2, &out);

    // 3. Requests cut by limits: within them, and together the same items in order.
    let enc = BatchEncoder::new(signal, &batch).unwrap();
    let mut next = 0;
    let mut cut = Vec::new();
    while next < batch.num_rows() {
        let mut part = Vec::new();
        let s = enc
            .encode_request_limited(next..batch.num_rows(), limits, &mut part)
            .unwrap();
        prop_assert_eq!(s.rows.start, next);
        prop_assert!(!s.rows.is_empty());
        prop_assert!(s.items <= limits.max_items.max(1));
        prop_assert!(part.len() <= limits.max_bytes || s.items == 1);
        prop_assert_eq!(s.bytes, part.len());
        // Maximal: one more row would have broken a limit.
        if s.rows.end < batch.num_rows() && s.items < limits.max_items.max(1) {
            let mut longer = Vec::new();
            enc.encode_request(next..s.rows.end + 1, &mut longer)
                .unwrap();
            prop_assert!(longer.len() > limits.max_bytes);
        }
        cut.extend(flat(&part));
        next = s.rows.end;
    }
    prop_assert_eq!(&cut, &expected);

    // 4. The Resource* records, framed, are the request.
    let mut framed = Vec::new();
    enc.resource_records(0..batch.num_rows(), |rec| {
        let mut h = [0u8; REQUEST_FIELD_HEADER_MAX];
        let n = request_field_header(rec.bytes.len(), &mut h);
        framed.extend_from_slice(&h[..n]);
        framed.extend_from_slice(rec.bytes);
    })
    .unwrap();
    prop_assert_eq!(&framed, &out);
    Ok(())
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop_oneof![Just(usize::MAX), 1..2000usize],
        prop_oneof![Just(usize::MAX), 0..5usize],
    )
        .prop_map(|(max_bytes, max_items)| Limits {
            max_bytes,
            max_items,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn traces_round_trip(req in traces_request(), limits in limits()) {
        let records: Vec<Vec<u8>> = req.resource_spans.iter().map(Message::encode_to_vec).collect();
        check_signal(
            Signal::Traces,
            &mut TracesDecoder::default(),
            &records,
            flat_spans(&req),
            |b| flat_spans(&ExportTraceServiceRequest::decode(b).unwrap()),
            limits,
        )?;
    }

    #[test]
    fn metrics_round_trip(req in metrics_request(), limits in limits()) {
        let records: Vec<Vec<u8>> =
            req.resource_metrics.iter().map(Message::encode_to_vec).collect();
        check_signal(
            Signal::Metrics,
            &mut MetricsDecoder::default(),
            &records,
            flat_points(&req),
            |b| flat_points(&ExportMetricsServiceRequest::decode(b).unwrap()),
            limits,
        )?;
    }

    #[test]
    fn logs_round_trip(req in logs_request(), limits in limits()) {
        let records: Vec<Vec<u8>> = req.resource_logs.iter().map(Message::encode_to_vec).collect();
        check_signal(
            Signal::Logs,
            &mut LogsDecoder::default(),
            &records,
            flat_logs(&req),
            |b| flat_logs(&ExportLogsServiceRequest::decode(b).unwrap()),
            limits,
        )?;
    }
}

/// Grouping, shown on a fixed input: two `ResourceSpans` of the same resource and scope merge
/// into one, an empty scope entry vanishes, and a resource that comes back after another one
/// stays a separate entry.
#[test]
fn grouping_merges_neighbours_and_drops_empty_entries() {
    let r = |v: &str| {
        Some(Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(v.into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
    };
    let sp = |n: &str| Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: n.into(),
        ..Default::default()
    };
    let entry = |res: Option<Resource>, spans: Vec<Span>| ResourceSpans {
        resource: res,
        scope_spans: vec![
            ScopeSpans {
                scope: None,
                spans: vec![],
                schema_url: "empty".into(),
            },
            ScopeSpans {
                scope: None,
                spans,
                schema_url: String::new(),
            },
        ],
        schema_url: String::new(),
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![
            entry(r("a"), vec![sp("1")]),
            entry(r("a"), vec![sp("2")]),
            entry(r("b"), vec![sp("3")]),
            entry(r("a"), vec![sp("4")]),
        ],
    };
    let records: Vec<Vec<u8>> = req
        .resource_spans
        .iter()
        .map(Message::encode_to_vec)
        .collect();
    let batch = decode_records(&mut TracesDecoder::default(), &records);
    let mut out = Vec::new();
    let stats = otlp::traces_request(&batch, &mut out).unwrap();
    assert_eq!((stats.resources, stats.scopes, stats.items), (3, 3, 4));
    let back = ExportTraceServiceRequest::decode(&out[..]).unwrap();
    let names: Vec<Vec<&str>> = back
        .resource_spans
        .iter()
        .map(|rs| {
            rs.scope_spans[0]
                .spans
                .iter()
                .map(|s| s.name.as_str())
                .collect()
        })
        .collect();
    assert_eq!(names, [vec!["1", "2"], vec!["3"], vec!["4"]]);
    assert_eq!(flat_spans(&back), flat_spans(&req));
}
