//! `wire::encode` against prost and opentelemetry-proto.
//!
//! Random views (spans with events, links and status; every metric kind with exemplars; logs
//! with every body kind; deeply nested `AnyValue`s; resources and scopes absent, pre-encoded or
//! as views) are encoded, then checked three ways:
//!
//! 1. `encoded_len()` equals the bytes written (into an exact and into a larger buffer);
//! 2. prost decodes the bytes into the opentelemetry-proto struct built independently from
//!    the same view (the `p_*` conversions below);
//! 3. the bytes equal prost's own encoding of that struct, byte for byte. prost's output is
//!    canonical, so this pins default omission, oneof handling and field order.
//!
//! Views borrow their children, and proptest values must own theirs, so the strategies leak
//! the (small) slices they build: a few KB per case, in a test process only.

use std::fmt::Debug;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::logs::v1 as pl;
use opentelemetry_proto::tonic::metrics::v1 as pm;
use opentelemetry_proto::tonic::resource::v1 as pr;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlp_arrow::wire::encode::{
    AggregationTemporality, AnyValue, Attribute, Attributes, Buckets, Encode, EncodeError, Event,
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, KeyValue, Link, LogRecord, Metric,
    MetricData, NumberDataPoint, NumberValue, Part, PreEncoded, Quantile, REQUEST_FIELD_HEADER_MAX,
    Resource, ResourceLogs, ResourceMetrics, ResourceSpans, Scope, SeverityNumber, Span, SpanKind,
    SpanRecord, Status, StatusCode, SummaryDataPoint, Value, ValueView, Writer, key_value_len,
    request_field_header,
};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;

// ---------------------------------------------------------------------------------------------
// Leaking helpers and primitive strategies

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Vec::leak(v)
}

fn text() -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![
        2 => Just(String::new()),
        3 => "[a-z._]{1,12}",
        1 => "\\PC{1,4}",
    ]
    .prop_map(|s: String| &*String::leak(s))
}

fn bytes() -> impl Strategy<Value = &'static [u8]> + Clone {
    vec(any::<u8>(), 0..6).prop_map(leak)
}

fn u64s() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![Just(0u64), 1..300u64, any::<u64>()]
}

fn u32s() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![Just(0u32), 1..300u32, any::<u32>()]
}

fn i64s() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![Just(0i64), -300..300i64, any::<i64>()]
}

fn i32s() -> impl Strategy<Value = i32> + Clone {
    prop_oneof![Just(0i32), -300..300i32, any::<i32>()]
}

/// Any double except NaN (NaN != NaN would defeat struct equality; see `nan_bytes_match`).
fn f64s() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        any::<f64>().prop_filter("NaN", |f| !f.is_nan()),
    ]
}

fn opt<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    prop::option::of(s)
}

// ---------------------------------------------------------------------------------------------
// View strategies

fn any_value() -> BoxedStrategy<AnyValue<'static>> {
    let leaf = prop_oneof![
        Just(AnyValue::Empty),
        text().prop_map(AnyValue::String),
        any::<bool>().prop_map(AnyValue::Bool),
        i64s().prop_map(AnyValue::Int),
        f64s().prop_map(AnyValue::Double),
        bytes().prop_map(AnyValue::Bytes),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|v| AnyValue::Array(leak(v))),
            vec((text(), inner), 0..4).prop_map(|v| AnyValue::KvList(leak(kvs(v)))),
        ]
    })
    .boxed()
}

fn kvs(v: Vec<(&'static str, AnyValue<'static>)>) -> Vec<KeyValue<'static>> {
    v.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect()
}

fn attrs() -> BoxedStrategy<&'static [KeyValue<'static>]> {
    vec((text(), any_value()), 0..4)
        .prop_map(|v| leak(kvs(v)))
        .boxed()
}

fn resource() -> impl Strategy<Value = Resource<'static>> {
    (attrs(), u32s()).prop_map(|(attributes, dropped_attributes_count)| Resource {
        attributes,
        dropped_attributes_count,
    })
}

fn scope() -> impl Strategy<Value = Scope<'static>> {
    (text(), text(), attrs(), u32s()).prop_map(|(name, version, attributes, dropped)| Scope {
        name,
        version,
        attributes,
        dropped_attributes_count: dropped,
    })
}

fn status() -> impl Strategy<Value = Status<'static>> {
    ((0..=2i32), text()).prop_map(|(c, message)| Status {
        code: StatusCode::from_i32(c).unwrap(),
        message,
    })
}

fn event() -> impl Strategy<Value = Event<'static>> {
    (u64s(), text(), attrs(), u32s()).prop_map(|(t, name, attributes, d)| Event {
        time_unix_nano: t,
        name,
        attributes,
        dropped_attributes_count: d,
    })
}

fn link() -> impl Strategy<Value = Link<'static>> {
    (
        any::<[u8; 16]>(),
        any::<[u8; 8]>(),
        text(),
        attrs(),
        u32s(),
        u32s(),
    )
        .prop_map(
            |(trace_id, span_id, trace_state, attributes, d, flags)| Link {
                trace_id,
                span_id,
                trace_state,
                attributes,
                dropped_attributes_count: d,
                flags,
            },
        )
}

fn span() -> impl Strategy<Value = Span<'static>> {
    let ids = (
        any::<[u8; 16]>(),
        any::<[u8; 8]>(),
        text(),
        opt(any::<[u8; 8]>()),
        u32s(),
    );
    let main = (text(), 0..=5i32, u64s(), u64s(), attrs(), u32s());
    let children = (
        vec(event(), 0..3).prop_map(leak),
        u32s(),
        vec(link(), 0..3).prop_map(leak),
        u32s(),
        opt(status()),
    );
    (ids, main, children).prop_map(
        |(
            (trace_id, span_id, trace_state, parent_span_id, flags),
            (name, kind, start, end, attributes, dropped_attributes_count),
            (events, dropped_events_count, links, dropped_links_count, status),
        )| Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id,
            flags,
            name,
            kind: SpanKind::from_i32(kind).unwrap(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
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

fn number_value() -> impl Strategy<Value = NumberValue> + Clone {
    prop_oneof![
        f64s().prop_map(NumberValue::Double),
        i64s().prop_map(NumberValue::Int)
    ]
}

fn exemplars() -> impl Strategy<Value = &'static [Exemplar<'static>]> {
    vec(
        (
            attrs(),
            u64s(),
            opt(number_value()),
            opt(any::<[u8; 8]>()),
            opt(any::<[u8; 16]>()),
        )
            .prop_map(
                |(filtered_attributes, time_unix_nano, value, span_id, trace_id)| Exemplar {
                    filtered_attributes,
                    time_unix_nano,
                    value,
                    span_id,
                    trace_id,
                },
            ),
        0..3,
    )
    .prop_map(leak)
}

fn number_points() -> impl Strategy<Value = &'static [NumberDataPoint<'static>]> {
    vec(
        (
            attrs(),
            u64s(),
            u64s(),
            opt(number_value()),
            exemplars(),
            u32s(),
        )
            .prop_map(|(attributes, start, time, value, exemplars, flags)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value,
                    exemplars,
                    flags,
                }
            }),
        0..3,
    )
    .prop_map(leak)
}

fn histogram_points() -> impl Strategy<Value = &'static [HistogramDataPoint<'static>]> {
    vec(
        (
            (attrs(), u64s(), u64s(), u64s(), opt(f64s())),
            (
                vec(u64s(), 0..5).prop_map(leak),
                vec(f64s(), 0..5).prop_map(leak),
                exemplars(),
                u32s(),
                opt(f64s()),
                opt(f64s()),
            ),
        )
            .prop_map(
                |(
                    (attributes, start, time, count, sum),
                    (bucket_counts, explicit_bounds, exemplars, flags, min, max),
                )| HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
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
    .prop_map(leak)
}

fn buckets() -> impl Strategy<Value = Buckets<'static>> + Clone {
    (i32s(), vec(u64s(), 0..5).prop_map(leak)).prop_map(|(offset, bucket_counts)| Buckets {
        offset,
        bucket_counts,
    })
}

fn exp_histogram_points() -> impl Strategy<Value = &'static [ExponentialHistogramDataPoint<'static>]>
{
    vec(
        (
            (attrs(), u64s(), u64s(), u64s(), opt(f64s()), i32s(), u64s()),
            (
                opt(buckets()),
                opt(buckets()),
                u32s(),
                exemplars(),
                opt(f64s()),
                opt(f64s()),
                f64s(),
            ),
        )
            .prop_map(
                |(
                    (attributes, start, time, count, sum, scale, zero_count),
                    (positive, negative, flags, exemplars, min, max, zero_threshold),
                )| ExponentialHistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: time,
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
    .prop_map(leak)
}

fn summary_points() -> impl Strategy<Value = &'static [SummaryDataPoint<'static>]> {
    let quantiles = vec(
        (f64s(), f64s()).prop_map(|(quantile, value)| Quantile { quantile, value }),
        0..4,
    )
    .prop_map(leak);
    vec(
        (attrs(), u64s(), u64s(), u64s(), f64s(), quantiles, u32s()).prop_map(
            |(attributes, start, time, count, sum, quantile_values, flags)| SummaryDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: time,
                count,
                sum,
                quantile_values,
                flags,
            },
        ),
        0..3,
    )
    .prop_map(leak)
}

fn temporality() -> impl Strategy<Value = AggregationTemporality> + Clone {
    (0..=2i32).prop_map(|t| AggregationTemporality::from_i32(t).unwrap())
}

fn metric_data() -> impl Strategy<Value = MetricData<'static>> {
    prop_oneof![
        number_points().prop_map(|data_points| MetricData::Gauge { data_points }),
        (number_points(), temporality(), any::<bool>()).prop_map(|(data_points, t, m)| {
            MetricData::Sum {
                data_points,
                aggregation_temporality: t,
                is_monotonic: m,
            }
        }),
        (histogram_points(), temporality()).prop_map(|(data_points, t)| {
            MetricData::Histogram {
                data_points,
                aggregation_temporality: t,
            }
        }),
        (exp_histogram_points(), temporality()).prop_map(|(data_points, t)| {
            MetricData::ExponentialHistogram {
                data_points,
                aggregation_temporality: t,
            }
        }),
        summary_points().prop_map(|data_points| MetricData::Summary { data_points }),
    ]
}

fn metric() -> impl Strategy<Value = Metric<'static>> {
    (text(), text(), text(), metric_data(), attrs()).prop_map(
        |(name, description, unit, data, metadata)| Metric {
            name,
            description,
            unit,
            data,
            metadata,
        },
    )
}

fn log_record() -> impl Strategy<Value = LogRecord<'static>> {
    (
        (u64s(), u64s(), 0..=24i32, text()),
        opt(any_value().prop_map(|v| &*Box::leak(Box::new(v)))),
        (attrs(), u32s(), u32s()),
        (opt(any::<[u8; 16]>()), opt(any::<[u8; 8]>()), text()),
    )
        .prop_map(
            |(
                (time, observed, severity, severity_text),
                body,
                (attributes, dropped, flags),
                (trace_id, span_id, event_name),
            )| LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: observed,
                severity_number: SeverityNumber::from_i32(severity).unwrap(),
                severity_text,
                body,
                attributes,
                dropped_attributes_count: dropped,
                flags,
                trace_id,
                span_id,
                event_name,
            },
        )
}

/// How a record carries its resource or scope.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Absent,
    PreEncoded,
    View,
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Absent), Just(Mode::PreEncoded), Just(Mode::View)]
}

fn part<M: Encode + Copy>(mode: Mode, m: M) -> Part<'static, M> {
    match mode {
        Mode::Absent => Part::Absent,
        Mode::View => Part::View(m),
        Mode::PreEncoded => {
            let buf = Vec::leak(vec![0u8; m.encoded_len()]);
            Part::Encoded(PreEncoded::encode(&m, buf).unwrap())
        }
    }
}

/// The record's envelope: resource and scope with how they are carried, and schema URLs.
type Envelope = (
    (Mode, Resource<'static>),
    &'static str,
    (Mode, Scope<'static>),
    &'static str,
);

fn envelope() -> impl Strategy<Value = Envelope> {
    ((mode(), resource()), text(), (mode(), scope()), text())
}

// ---------------------------------------------------------------------------------------------
// View -> prost conversions (the expected values)

fn p_value(v: &AnyValue<'_>) -> pc::AnyValue {
    use pc::any_value::Value as V;
    pc::AnyValue {
        value: match *v {
            AnyValue::Empty => None,
            AnyValue::String(s) => Some(V::StringValue(s.into())),
            AnyValue::Bool(b) => Some(V::BoolValue(b)),
            AnyValue::Int(i) => Some(V::IntValue(i)),
            AnyValue::Double(d) => Some(V::DoubleValue(d)),
            AnyValue::Bytes(b) => Some(V::BytesValue(b.to_vec())),
            AnyValue::Array(a) => Some(V::ArrayValue(pc::ArrayValue {
                values: a.iter().map(p_value).collect(),
            })),
            AnyValue::KvList(k) => Some(V::KvlistValue(pc::KeyValueList { values: p_attrs(k) })),
        },
    }
}

fn p_attrs(a: &[KeyValue<'_>]) -> Vec<pc::KeyValue> {
    a.iter()
        .map(|kv| pc::KeyValue {
            key: kv.key.into(),
            value: Some(p_value(&kv.value)),
            ..Default::default()
        })
        .collect()
}

fn p_resource(r: &Resource<'_>) -> pr::Resource {
    pr::Resource {
        attributes: p_attrs(r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
        ..Default::default()
    }
}

fn p_scope(s: &Scope<'_>) -> pc::InstrumentationScope {
    pc::InstrumentationScope {
        name: s.name.into(),
        version: s.version.into(),
        attributes: p_attrs(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

fn p_span(s: &Span<'_>) -> pt::Span {
    pt::Span {
        trace_id: s.trace_id.to_vec(),
        span_id: s.span_id.to_vec(),
        trace_state: s.trace_state.into(),
        parent_span_id: s.parent_span_id.map_or(Vec::new(), |p| p.to_vec()),
        flags: s.flags,
        name: s.name.into(),
        kind: s.kind.as_i32(),
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: p_attrs(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| pt::span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.into(),
                attributes: p_attrs(e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .iter()
            .map(|l| pt::span::Link {
                trace_id: l.trace_id.to_vec(),
                span_id: l.span_id.to_vec(),
                trace_state: l.trace_state.into(),
                attributes: p_attrs(l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: s.status.map(|st| pt::Status {
            message: st.message.into(),
            code: st.code.as_i32(),
        }),
    }
}

fn p_exemplars(es: &[Exemplar<'_>]) -> Vec<pm::Exemplar> {
    es.iter()
        .map(|e| pm::Exemplar {
            filtered_attributes: p_attrs(e.filtered_attributes),
            time_unix_nano: e.time_unix_nano,
            span_id: e.span_id.map_or(Vec::new(), |i| i.to_vec()),
            trace_id: e.trace_id.map_or(Vec::new(), |i| i.to_vec()),
            value: e.value.map(|v| match v {
                NumberValue::Double(d) => pm::exemplar::Value::AsDouble(d),
                NumberValue::Int(i) => pm::exemplar::Value::AsInt(i),
            }),
        })
        .collect()
}

fn p_number_points(ps: &[NumberDataPoint<'_>]) -> Vec<pm::NumberDataPoint> {
    ps.iter()
        .map(|p| pm::NumberDataPoint {
            attributes: p_attrs(p.attributes),
            start_time_unix_nano: p.start_time_unix_nano,
            time_unix_nano: p.time_unix_nano,
            exemplars: p_exemplars(p.exemplars),
            flags: p.flags,
            value: p.value.map(|v| match v {
                NumberValue::Double(d) => pm::number_data_point::Value::AsDouble(d),
                NumberValue::Int(i) => pm::number_data_point::Value::AsInt(i),
            }),
        })
        .collect()
}

fn p_buckets(b: &Buckets<'_>) -> pm::exponential_histogram_data_point::Buckets {
    pm::exponential_histogram_data_point::Buckets {
        offset: b.offset,
        bucket_counts: b.bucket_counts.to_vec(),
    }
}

fn p_metric(m: &Metric<'_>) -> pm::Metric {
    use pm::metric::Data;
    let data = match m.data {
        MetricData::Gauge { data_points } => Data::Gauge(pm::Gauge {
            data_points: p_number_points(data_points),
        }),
        MetricData::Sum {
            data_points,
            aggregation_temporality,
            is_monotonic,
        } => Data::Sum(pm::Sum {
            data_points: p_number_points(data_points),
            aggregation_temporality: aggregation_temporality.as_i32(),
            is_monotonic,
        }),
        MetricData::Histogram {
            data_points,
            aggregation_temporality,
        } => Data::Histogram(pm::Histogram {
            data_points: data_points
                .iter()
                .map(|p| pm::HistogramDataPoint {
                    attributes: p_attrs(p.attributes),
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    count: p.count,
                    sum: p.sum,
                    bucket_counts: p.bucket_counts.to_vec(),
                    explicit_bounds: p.explicit_bounds.to_vec(),
                    exemplars: p_exemplars(p.exemplars),
                    flags: p.flags,
                    min: p.min,
                    max: p.max,
                })
                .collect(),
            aggregation_temporality: aggregation_temporality.as_i32(),
        }),
        MetricData::ExponentialHistogram {
            data_points,
            aggregation_temporality,
        } => Data::ExponentialHistogram(pm::ExponentialHistogram {
            data_points: data_points
                .iter()
                .map(|p| pm::ExponentialHistogramDataPoint {
                    attributes: p_attrs(p.attributes),
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    count: p.count,
                    sum: p.sum,
                    scale: p.scale,
                    zero_count: p.zero_count,
                    positive: p.positive.as_ref().map(p_buckets),
                    negative: p.negative.as_ref().map(p_buckets),
                    flags: p.flags,
                    exemplars: p_exemplars(p.exemplars),
                    min: p.min,
                    max: p.max,
                    zero_threshold: p.zero_threshold,
                })
                .collect(),
            aggregation_temporality: aggregation_temporality.as_i32(),
        }),
        MetricData::Summary { data_points } => Data::Summary(pm::Summary {
            data_points: data_points
                .iter()
                .map(|p| pm::SummaryDataPoint {
                    attributes: p_attrs(p.attributes),
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    count: p.count,
                    sum: p.sum,
                    quantile_values: p
                        .quantile_values
                        .iter()
                        .map(|q| pm::summary_data_point::ValueAtQuantile {
                            quantile: q.quantile,
                            value: q.value,
                        })
                        .collect(),
                    flags: p.flags,
                })
                .collect(),
        }),
    };
    pm::Metric {
        name: m.name.into(),
        description: m.description.into(),
        unit: m.unit.into(),
        metadata: p_attrs(m.metadata),
        data: Some(data),
    }
}

fn p_log(l: &LogRecord<'_>) -> pl::LogRecord {
    pl::LogRecord {
        time_unix_nano: l.time_unix_nano,
        observed_time_unix_nano: l.observed_time_unix_nano,
        severity_number: l.severity_number.as_i32(),
        severity_text: l.severity_text.into(),
        body: l.body.map(p_value),
        attributes: p_attrs(l.attributes),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
        trace_id: l.trace_id.map_or(Vec::new(), |i| i.to_vec()),
        span_id: l.span_id.map_or(Vec::new(), |i| i.to_vec()),
        event_name: l.event_name.into(),
    }
}

/// The prost resource and scope the envelope should decode to.
fn p_envelope(
    (rmode, r): (Mode, Resource<'_>),
    (smode, s): (Mode, Scope<'_>),
) -> (Option<pr::Resource>, Option<pc::InstrumentationScope>) {
    (
        match rmode {
            Mode::Absent => None,
            Mode::PreEncoded | Mode::View => Some(p_resource(&r)),
        },
        match smode {
            Mode::Absent => None,
            Mode::PreEncoded | Mode::View => Some(p_scope(&s)),
        },
    )
}

fn spans_record(
    env: Envelope,
    spans: &'static [Span<'static>],
) -> (ResourceSpans<'static>, pt::ResourceSpans) {
    let (r, rurl, s, surl) = env;
    let (resource, scope) = p_envelope(r, s);
    let view = ResourceSpans {
        resource: part(r.0, r.1),
        resource_schema_url: rurl,
        scope: part(s.0, s.1),
        scope_schema_url: surl,
        spans,
    };
    let expected = pt::ResourceSpans {
        resource,
        scope_spans: vec![pt::ScopeSpans {
            scope,
            spans: spans.iter().map(p_span).collect(),
            schema_url: surl.into(),
        }],
        schema_url: rurl.into(),
    };
    (view, expected)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// `view` encodes to exactly `encoded_len()` bytes that prost decodes to `expected` and that
/// equal prost's own encoding of `expected`.
fn check<V: Encode, P: Message + Default + PartialEq + Debug>(
    view: &V,
    expected: &P,
) -> Result<Vec<u8>, TestCaseError> {
    let n = view.encoded_len();
    // Into a larger buffer: `n` bytes written, the rest untouched.
    let mut big = vec![0xa5u8; n + 7];
    prop_assert_eq!(view.encode(&mut big), Ok(n));
    prop_assert!(big[n..].iter().all(|&b| b == 0xa5));
    big.truncate(n);
    // Into an exact buffer: the same bytes.
    let mut exact = vec![0u8; n];
    prop_assert_eq!(view.encode(&mut exact), Ok(n));
    prop_assert_eq!(&exact, &big);

    let decoded = P::decode(&exact[..]).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&decoded, expected);
    prop_assert_eq!(&exact, &expected.encode_to_vec());
    Ok(exact)
}

/// `encode_exact` into a slot of exactly the encoded length writes the same bytes as
/// `encode`; a slot one byte shorter or longer fails instead of writing a malformed record.
fn check_exact(
    expected: &[u8],
    encode_exact: impl Fn(&mut [u8]) -> Result<(), EncodeError>,
) -> Result<(), TestCaseError> {
    let n = expected.len();
    let mut slot = vec![0u8; n + 1];
    prop_assert_eq!(encode_exact(&mut slot[..n]), Ok(()));
    prop_assert_eq!(&slot[..n], expected);
    prop_assert!(encode_exact(&mut slot[..]).is_err());
    if n > 0 {
        prop_assert!(encode_exact(&mut slot[..n - 1]).is_err());
    }
    Ok(())
}

fn all_shorter_buffers_fail<V: Encode>(view: &V) -> Result<(), TestCaseError> {
    let n = view.encoded_len();
    let mut buf = vec![0u8; n];
    for cap in 0..n {
        prop_assert_eq!(
            view.encode(&mut buf[..cap]),
            Err(EncodeError::BufferTooSmall),
            "capacity {} of {}",
            cap,
            n
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spans_match_prost(env in envelope(), spans in vec(span(), 0..3).prop_map(leak)) {
        let (view, expected) = spans_record(env, spans);
        let bytes = check(&view, &expected)?;
        check_exact(&bytes, |slot| view.encode_exact(slot))?;
        for (s, e) in spans.iter().zip(&expected.scope_spans[0].spans) {
            check(s, e)?;
        }
    }

    #[test]
    fn metrics_match_prost(env in envelope(), metrics in vec(metric(), 0..3).prop_map(leak)) {
        let (r, rurl, s, surl) = env;
        let (resource, scope) = p_envelope(r, s);
        let view = ResourceMetrics {
            resource: part(r.0, r.1),
            resource_schema_url: rurl,
            scope: part(s.0, s.1),
            scope_schema_url: surl,
            metrics,
        };
        let expected = pm::ResourceMetrics {
            resource,
            scope_metrics: vec![pm::ScopeMetrics {
                scope,
                metrics: metrics.iter().map(p_metric).collect(),
                schema_url: surl.into(),
            }],
            schema_url: rurl.into(),
        };
        let bytes = check(&view, &expected)?;
        check_exact(&bytes, |slot| view.encode_exact(slot))?;
    }

    #[test]
    fn logs_match_prost(env in envelope(), logs in vec(log_record(), 0..3).prop_map(leak)) {
        let (r, rurl, s, surl) = env;
        let (resource, scope) = p_envelope(r, s);
        let view = ResourceLogs {
            resource: part(r.0, r.1),
            resource_schema_url: rurl,
            scope: part(s.0, s.1),
            scope_schema_url: surl,
            log_records: logs,
        };
        let expected = pl::ResourceLogs {
            resource,
            scope_logs: vec![pl::ScopeLogs {
                scope,
                log_records: logs.iter().map(p_log).collect(),
                schema_url: surl.into(),
            }],
            schema_url: rurl.into(),
        };
        let bytes = check(&view, &expected)?;
        check_exact(&bytes, |slot| view.encode_exact(slot))?;
    }

    /// Deep `AnyValue`s on their own, as a log body (the one place a bare `AnyValue` is a field).
    #[test]
    fn nested_values_match_prost(v in any_value()) {
        let log: LogRecord<'_> = LogRecord { body: Some(&v), ..LogRecord::default() };
        check(&log, &p_log(&log))?;
    }

    #[test]
    fn resources_and_scopes_match_prost(r in resource(), s in scope()) {
        check(&r, &p_resource(&r))?;
        check(&s, &p_scope(&s))?;
    }
}

proptest! {
    // Each case tries every shorter buffer, so fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn short_buffers_fail_without_panicking(
        env in envelope(),
        spans in vec(span(), 1..3).prop_map(leak),
        metrics in vec(metric(), 1..3).prop_map(leak),
        logs in vec(log_record(), 1..3).prop_map(leak),
    ) {
        let (spans_view, _) = spans_record(env, spans);
        all_shorter_buffers_fail(&spans_view)?;
        let metrics_view = ResourceMetrics { metrics, ..ResourceMetrics::default() };
        all_shorter_buffers_fail(&metrics_view)?;
        let logs_view = ResourceLogs { log_records: logs, ..ResourceLogs::default() };
        all_shorter_buffers_fail(&logs_view)?;
        // `encode_exact` into any wrong-sized slot fails too.
        let n = spans_view.encoded_len();
        let mut slot = vec![0u8; n + 8];
        for len in (0..n).chain(n + 1..n + 8) {
            prop_assert!(spans_view.encode_exact(&mut slot[..len]).is_err(), "slot {} of {}", len, n);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Foreign attribute representation

/// An attribute value the way a C ABI might lay it out: a tag and a union-like set of fields
/// (the C side would use raw pointers; references keep the test safe).
#[derive(Debug)]
#[repr(C)]
struct CValue {
    tag: u32,
    int: i64,
    double: f64,
    str: &'static str,
    bytes: &'static [u8],
    array: &'static [CValue],
    kvlist: &'static [CKeyValue],
}

#[derive(Debug)]
#[repr(C)]
struct CKeyValue {
    key: &'static str,
    value: CValue,
}

const C_EMPTY: u32 = 0;
const C_STRING: u32 = 1;
const C_BOOL: u32 = 2;
const C_INT: u32 = 3;
const C_DOUBLE: u32 = 4;
const C_BYTES: u32 = 5;
const C_ARRAY: u32 = 6;
const C_KVLIST: u32 = 7;

impl Value for CValue {
    type Array = [CValue];
    type KvList = [CKeyValue];

    fn view(&self) -> ValueView<'_, [CValue], [CKeyValue]> {
        match self.tag {
            C_STRING => ValueView::String(self.str),
            C_BOOL => ValueView::Bool(self.int != 0),
            C_INT => ValueView::Int(self.int),
            C_DOUBLE => ValueView::Double(self.double),
            C_BYTES => ValueView::Bytes(self.bytes),
            C_ARRAY => ValueView::Array(self.array),
            C_KVLIST => ValueView::KvList(self.kvlist),
            _ => ValueView::Empty,
        }
    }
}

impl Attribute for CKeyValue {
    type Value = CValue;
    fn key(&self) -> &str {
        self.key
    }
    fn value(&self) -> &CValue {
        &self.value
    }
}

fn c_value(v: &AnyValue<'static>) -> CValue {
    let mut c = CValue {
        tag: C_EMPTY,
        int: 0,
        double: 0.0,
        str: "",
        bytes: &[],
        array: &[],
        kvlist: &[],
    };
    match *v {
        AnyValue::Empty => {}
        AnyValue::String(s) => (c.tag, c.str) = (C_STRING, s),
        AnyValue::Bool(b) => (c.tag, c.int) = (C_BOOL, i64::from(b)),
        AnyValue::Int(i) => (c.tag, c.int) = (C_INT, i),
        AnyValue::Double(d) => (c.tag, c.double) = (C_DOUBLE, d),
        AnyValue::Bytes(b) => (c.tag, c.bytes) = (C_BYTES, b),
        AnyValue::Array(a) => (c.tag, c.array) = (C_ARRAY, leak(a.iter().map(c_value).collect())),
        AnyValue::KvList(k) => (c.tag, c.kvlist) = (C_KVLIST, c_attrs(k)),
    }
    c
}

fn c_attrs(a: &'static [KeyValue<'static>]) -> &'static [CKeyValue] {
    leak(
        a.iter()
            .map(|kv| CKeyValue {
                key: kv.key,
                value: c_value(&kv.value),
            })
            .collect(),
    )
}

fn c_span(s: &Span<'static>) -> Span<'static, [CKeyValue]> {
    Span {
        trace_id: s.trace_id,
        span_id: s.span_id,
        trace_state: s.trace_state,
        parent_span_id: s.parent_span_id,
        flags: s.flags,
        name: s.name,
        kind: s.kind,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: c_attrs(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: leak(
            s.events
                .iter()
                .map(|e| Event {
                    time_unix_nano: e.time_unix_nano,
                    name: e.name,
                    attributes: c_attrs(e.attributes),
                    dropped_attributes_count: e.dropped_attributes_count,
                })
                .collect(),
        ),
        dropped_events_count: s.dropped_events_count,
        links: leak(
            s.links
                .iter()
                .map(|l| Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    trace_state: l.trace_state,
                    attributes: c_attrs(l.attributes),
                    dropped_attributes_count: l.dropped_attributes_count,
                    flags: l.flags,
                })
                .collect(),
        ),
        dropped_links_count: s.dropped_links_count,
        status: s.status,
    }
}

proptest! {
    /// The same data in a foreign representation encodes to the same bytes as the native
    /// views: attributes, nested values and a log body, with no conversion to `KeyValue`.
    #[test]
    fn foreign_attributes_encode_like_native(
        r in resource(),
        s in span(),
        l in log_record(),
    ) {
        let cr = Resource { attributes: c_attrs(r.attributes), dropped_attributes_count: r.dropped_attributes_count };
        prop_assert_eq!(check(&cr, &p_resource(&r))?, check(&r, &p_resource(&r))?);

        let cs = c_span(&s);
        prop_assert_eq!(check(&cs, &p_span(&s))?, check(&s, &p_span(&s))?);
        let record = ResourceSpans {
            resource: Part::View(cr),
            resource_schema_url: "",
            scope: Part::Absent,
            scope_schema_url: "",
            spans: leak(vec![cs]),
        };
        let native = ResourceSpans { resource: Part::View(r), spans: leak(vec![s]), ..ResourceSpans::default() };
        prop_assert_eq!(encode_vec(&record), encode_vec(&native));

        let body = l.body.map(|b| &*Box::leak(Box::new(c_value(b))));
        let cl: LogRecord<'_, [CKeyValue], CValue> = LogRecord {
            time_unix_nano: l.time_unix_nano,
            observed_time_unix_nano: l.observed_time_unix_nano,
            severity_number: l.severity_number,
            severity_text: l.severity_text,
            body,
            attributes: c_attrs(l.attributes),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
            trace_id: l.trace_id,
            span_id: l.span_id,
            event_name: l.event_name,
        };
        prop_assert_eq!(check(&cl, &p_log(&l))?, check(&l, &p_log(&l))?);
    }
}

fn encode_vec<V: Encode>(v: &V) -> Vec<u8> {
    let mut buf = vec![0u8; v.encoded_len()];
    let n = v.encode(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// An `Attributes` implementation whose length disagrees with what it writes.
struct Liar;

impl Attributes for Liar {
    fn attributes_len(&self, field: u32) -> usize {
        key_value_len(field, "k", &AnyValue::Int(1))
    }
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.key_value(field, "k", &AnyValue::Int(1))?;
        w.key_value(field, "extra", &AnyValue::Int(2))
    }
}

#[test]
fn inconsistent_attributes_are_an_error_not_a_malformed_message() {
    let event = Event {
        time_unix_nano: 1,
        name: "e",
        attributes: &Liar,
        dropped_attributes_count: 0,
    };
    let span = Span {
        trace_id: [1; 16],
        span_id: [2; 8],
        trace_state: "",
        parent_span_id: None,
        flags: 0,
        name: "s",
        kind: SpanKind::Internal,
        start_time_unix_nano: 0,
        end_time_unix_nano: 0,
        attributes: &Liar,
        dropped_attributes_count: 0,
        events: &[event],
        dropped_events_count: 0,
        links: &[],
        dropped_links_count: 0,
        status: None,
    };
    let record = ResourceSpans {
        resource: Part::Absent,
        resource_schema_url: "",
        scope: Part::Absent,
        scope_schema_url: "",
        spans: &[span],
    };
    let mut buf = [0u8; 512];
    assert_eq!(record.encode(&mut buf), Err(EncodeError::LengthMismatch));
    // In an exact slot the liar's extra entry runs out of room first.
    let n = record.encoded_len();
    assert_eq!(
        record.encode_exact(&mut buf[..n]),
        Err(EncodeError::BufferTooSmall)
    );
    // A top-level message has no length prefix, so only its length is off.
    let r = Resource {
        attributes: &Liar,
        dropped_attributes_count: 0,
    };
    assert_ne!(r.encode(&mut buf), Ok(r.encoded_len()));
}

// ---------------------------------------------------------------------------------------------
// Doubles: NaN (byte equality only) and the proto3 zero rule

#[test]
fn nan_bytes_match() {
    let nan = f64::from_bits(0x7ff8_0000_0000_0123);
    let attrs = [KeyValue::new("nan", AnyValue::Double(nan))];
    let points = [HistogramDataPoint {
        attributes: &attrs[..],
        sum: Some(nan),
        explicit_bounds: &[nan, -0.0],
        min: Some(-0.0),
        ..HistogramDataPoint::default()
    }];
    let quantiles = [Quantile {
        quantile: nan,
        value: -0.0,
    }];
    let summary = [SummaryDataPoint {
        sum: nan,
        quantile_values: &quantiles,
        ..SummaryDataPoint::default()
    }];
    let exp = [ExponentialHistogramDataPoint {
        zero_threshold: nan,
        ..ExponentialHistogramDataPoint::default()
    }];
    let metrics = [
        Metric {
            name: "h",
            description: "",
            unit: "",
            data: MetricData::Histogram {
                data_points: &points,
                aggregation_temporality: AggregationTemporality::Delta,
            },
            metadata: &[],
        },
        Metric {
            name: "s",
            description: "",
            unit: "",
            data: MetricData::Summary {
                data_points: &summary,
            },
            metadata: &attrs,
        },
        Metric {
            name: "e",
            description: "",
            unit: "",
            data: MetricData::ExponentialHistogram {
                data_points: &exp,
                aggregation_temporality: AggregationTemporality::Cumulative,
            },
            metadata: &[],
        },
    ];
    for m in &metrics {
        assert_eq!(encode_vec(m), p_metric(m).encode_to_vec());
    }
}

// ---------------------------------------------------------------------------------------------
// Forwarding: records concatenated with request field headers form a valid request

fn request_bytes(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let mut header = [0u8; REQUEST_FIELD_HEADER_MAX];
        let n = request_field_header(r.len(), &mut header);
        out.extend_from_slice(&header[..n]);
        out.extend_from_slice(r);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn concatenated_records_form_export_requests(
        traces in vec((envelope(), vec(span(), 0..2).prop_map(leak)), 0..4),
        metrics in vec(vec(metric(), 0..2).prop_map(leak), 0..3),
        logs in vec(vec(log_record(), 0..2).prop_map(leak), 0..3),
    ) {
        let (views, expected): (Vec<_>, Vec<_>) =
            traces.into_iter().map(|(env, spans)| spans_record(env, spans)).unzip();
        let bytes: Vec<_> = views.iter().map(encode_vec).collect();
        let request = ExportTraceServiceRequest { resource_spans: expected };
        prop_assert_eq!(request_bytes(&bytes), request.encode_to_vec());
        prop_assert_eq!(ExportTraceServiceRequest::decode(&request_bytes(&bytes)[..]).unwrap(), request);

        let bytes: Vec<_> = metrics
            .iter()
            .map(|&metrics| encode_vec(&ResourceMetrics { metrics, ..ResourceMetrics::default() }))
            .collect();
        let request = ExportMetricsServiceRequest {
            resource_metrics: metrics
                .iter()
                .map(|ms| pm::ResourceMetrics {
                    scope_metrics: vec![pm::ScopeMetrics {
                        metrics: ms.iter().map(p_metric).collect(),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        };
        prop_assert_eq!(request_bytes(&bytes), request.encode_to_vec());

        let bytes: Vec<_> = logs
            .iter()
            .map(|&log_records| encode_vec(&ResourceLogs { log_records, ..ResourceLogs::default() }))
            .collect();
        let request = ExportLogsServiceRequest {
            resource_logs: logs
                .iter()
                .map(|ls| pl::ResourceLogs {
                    scope_logs: vec![pl::ScopeLogs {
                        log_records: ls.iter().map(p_log).collect(),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        };
        prop_assert_eq!(request_bytes(&bytes), request.encode_to_vec());
    }
}

// ---------------------------------------------------------------------------------------------
// The hot paths: `SpanRecord` and the one-write `KeyValue` entries

fn pre_encoded<M: Encode>(m: &M) -> PreEncoded<'static> {
    let buf = Vec::leak(vec![0u8; m.encoded_len()]);
    PreEncoded::encode(m, buf).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `SpanRecord` (the C ABI's hot path) writes exactly the bytes of the general
    /// `ResourceSpans` with the same pre-encoded resource and scope and one span, and refuses
    /// slots of any other length.
    #[test]
    fn span_record_is_byte_identical_to_resource_spans(
        r in resource(),
        rurl in text(),
        sc in scope(),
        surl in text(),
        span in span(),
    ) {
        let (resource, scope) = (pre_encoded(&r), pre_encoded(&sc));
        let general = ResourceSpans {
            resource: Part::Encoded(resource),
            resource_schema_url: rurl,
            scope: Part::Encoded(scope),
            scope_schema_url: surl,
            spans: core::slice::from_ref(&span),
        };
        let fast = SpanRecord {
            resource,
            resource_schema_url: rurl,
            scope,
            scope_schema_url: surl,
            span: &span,
        };
        let plan = fast.lengths();
        prop_assert_eq!(plan.total(), general.encoded_len());
        let mut expected = vec![0u8; plan.total()];
        prop_assert_eq!(general.encode_exact(&mut expected), Ok(()));
        check_exact(&expected, |slot| fast.encode_exact(&plan, slot))?;
        let mut via_writer = vec![0u8; plan.total()];
        prop_assert_eq!(fast.encode(&mut via_writer), Ok(plan.total()));
        prop_assert_eq!(&via_writer, &expected);
        // And it is the record prost expects.
        let decoded = pt::ResourceSpans::decode(&expected[..]).unwrap();
        prop_assert_eq!(&decoded.scope_spans[0].spans[0], &p_span(&span));
    }
}

/// Keys and values of every length around the one-byte-length limits (the single-write path
/// for entries under 128 bytes, the general path above), for each scalar member: the bytes and
/// `key_value_len` agree with prost.
#[test]
fn key_value_entries_at_every_length_boundary_match_prost() {
    let lens = (0..140).chain([250, 300, 16_383, 16_384, 20_000]);
    let lens: Vec<usize> = lens.collect();
    let long = "k".repeat(20_000);
    let blob = vec![0xa5u8; 20_000];
    for &kl in &lens {
        let key = &long[..kl];
        let mut values = vec![
            AnyValue::Empty,
            AnyValue::Bool(true),
            AnyValue::Int(-1),
            AnyValue::Int(300),
            AnyValue::Double(0.5),
        ];
        for &vl in &lens {
            values.push(AnyValue::String(&long[..vl]));
            values.push(AnyValue::Bytes(&blob[..vl]));
        }
        for value in values {
            let kv = [KeyValue::new(key, value)];
            let view = Resource {
                attributes: &kv[..],
                dropped_attributes_count: 0,
            };
            let expected = p_resource(&view).encode_to_vec();
            let mut buf = vec![0u8; view.encoded_len()];
            assert_eq!(
                view.encode(&mut buf),
                Ok(expected.len()),
                "key {kl} {value:?}"
            );
            assert!(buf == expected, "key {kl}, value {value:?}");
            assert_eq!(key_value_len(1, key, &value), expected.len());
        }
    }
}

/// An attribute list written by a closure over the raw writers, for the test below.
struct RawAttrs<'f> {
    len: usize,
    write: &'f dyn Fn(u32, &mut Writer<'_>) -> Result<u64, EncodeError>,
    bits: std::cell::Cell<u64>,
}

impl Attributes for RawAttrs<'_> {
    fn attributes_len(&self, _field: u32) -> usize {
        self.len
    }
    fn encode_attributes(&self, field: u32, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.bits.set((self.write)(field, w)?);
        Ok(())
    }
}

/// The writers for unchecked bytes (`Writer::key_value_raw_str` / `key_value_raw_key`, used by
/// the C ABI's hot path, which checks UTF-8 while copying) write exactly `key_value`'s bytes,
/// are sized by `string_key_value_len_raw` / `key_value_len_raw`, and report a non-ASCII byte
/// at any position of any length: the word they return has a bit of `ASCII_HIGH_BITS` set iff
/// some byte was not ASCII (or a string was too long for the fused check, above 256 bytes, or
/// the value is neither a scalar nor a string).
#[test]
fn raw_key_value_writers_match_key_value_and_see_every_non_ascii_byte() {
    use otlp_arrow::wire::encode::{ASCII_HIGH_BITS, key_value_len_raw, string_key_value_len_raw};
    let lens: Vec<usize> = (0..70)
        .chain([120, 127, 128, 200, 255, 256, 257, 300])
        .collect();
    let long = "k".repeat(300);
    // The entry as `key_value` writes it (inside a `Resource`, attributes field 1), and the
    // same entry written by `write`, with the word it returned.
    let expected = |key: &str, value: AnyValue<'_>| {
        let kv = [KeyValue::new(key, value)];
        encode_vec(&Resource {
            attributes: &kv[..],
            dropped_attributes_count: 0,
        })
    };
    let raw = |len: usize, write: &dyn Fn(u32, &mut Writer<'_>) -> Result<u64, EncodeError>| {
        let attrs = RawAttrs {
            len,
            write,
            bits: std::cell::Cell::new(0),
        };
        let bytes = encode_vec(&Resource {
            attributes: &attrs,
            dropped_attributes_count: 0,
        });
        (bytes, attrs.bits.get())
    };
    for &kl in &lens {
        let key = &long[..kl];
        for &vl in &lens {
            let value = &long[..vl];
            let len = string_key_value_len_raw(1, kl, vl);
            assert_eq!(len, key_value_len(1, key, &AnyValue::String(value)));
            let (got, bits) = raw(len, &|f, w| {
                w.key_value_raw_str(f, key.as_bytes(), value.as_bytes())
            });
            assert!(
                got == expected(key, AnyValue::String(value)),
                "key {kl} value {vl}"
            );
            assert_eq!(
                bits & ASCII_HIGH_BITS != 0,
                kl > 256 || vl > 256,
                "{kl} {vl}"
            );
            // One non-ASCII byte anywhere in the key or the value is seen.
            for at in [0, kl / 2, kl.saturating_sub(1)]
                .into_iter()
                .filter(|_| kl > 0)
            {
                let mut k = key.as_bytes().to_vec();
                k[at] = 0xc3;
                let (_, bits) = raw(len, &|f, w| w.key_value_raw_str(f, &k, value.as_bytes()));
                assert_ne!(bits & ASCII_HIGH_BITS, 0, "key {kl} at {at}");
            }
            for at in [0, vl / 2, vl.saturating_sub(1)]
                .into_iter()
                .filter(|_| vl > 0)
            {
                let mut v = value.as_bytes().to_vec();
                v[at] = 0x80;
                let (_, bits) = raw(len, &|f, w| w.key_value_raw_str(f, key.as_bytes(), &v));
                assert_ne!(bits & ASCII_HIGH_BITS, 0, "value {vl} at {at}");
            }
        }
        for value in [
            AnyValue::Bool(true),
            AnyValue::Int(-1),
            AnyValue::Int(300),
            AnyValue::Double(0.5),
            AnyValue::Empty,
        ] {
            let len = key_value_len_raw(1, kl, &value);
            assert_eq!(len, key_value_len(1, key, &value));
            let (got, bits) = raw(len, &|f, w| w.key_value_raw_key(f, key.as_bytes(), &value));
            assert!(got == expected(key, value), "key {kl} {value:?}");
            let empty = matches!(value, AnyValue::Empty);
            assert_eq!(
                bits & ASCII_HIGH_BITS != 0,
                kl > 256 || empty,
                "{kl} {value:?}"
            );
            if kl > 0 && kl <= 256 && !empty {
                let mut k = key.as_bytes().to_vec();
                k[kl - 1] = 0xff;
                let (_, bits) = raw(len, &|f, w| w.key_value_raw_key(f, &k, &value));
                assert_ne!(bits & ASCII_HIGH_BITS, 0, "{kl} {value:?}");
            }
        }
    }
}
