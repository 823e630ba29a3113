//! `wire::encode` against prost, on the application's hot path: one typical span (name, 8
//! attributes of mixed types, 1 event with 2 attributes, status).
//!
//! - `0-otlp-arrow`: `encoded_len` + `encode` of the borrowed `Span` view into a reused buffer.
//! - `1-prost`: what an SDK exporter does: build the opentelemetry-proto `Span` (owned
//!   `String`s and `Vec`s) from the same borrowed data, then `prost::Message::encode` into a
//!   reused `Vec`.
//! - `2-prost-encode-only`: encode a prebuilt prost `Span` (context: prost's encoder alone).
//! - `3-otlp-arrow-record`: the whole ring record (`ResourceSpans` body with pre-encoded
//!   resource and scope around the span), as an application thread writes it into a slot:
//!   `encoded_len`, then `encode_exact` into a slot of exactly that length.
//!
//! `cargo bench --bench wire -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlp_arrow::wire::encode::{
    AnyValue, Encode, Event, KeyValue, Part, PreEncoded, Resource, ResourceSpans, Scope, Span,
    SpanKind, Status, StatusCode,
};
use prost::Message;

const ATTRS: [KeyValue<'static>; 8] = [
    KeyValue::new("http.request.method", AnyValue::String("GET")),
    KeyValue::new("url.path", AnyValue::String("/api/v1/users/12345/orders")),
    KeyValue::new("http.response.status_code", AnyValue::Int(200)),
    KeyValue::new("server.address", AnyValue::String("api.example.com")),
    KeyValue::new("server.port", AnyValue::Int(443)),
    KeyValue::new("network.protocol.version", AnyValue::String("1.1")),
    KeyValue::new("http.cached", AnyValue::Bool(false)),
    KeyValue::new("sample.ratio", AnyValue::Double(0.25)),
];

const EVENT_ATTRS: [KeyValue<'static>; 2] = [
    KeyValue::new("cache.key", AnyValue::String("user:12345")),
    KeyValue::new("cache.ttl_ms", AnyValue::Int(30_000)),
];

const EVENTS: [Event<'static>; 1] = [Event {
    time_unix_nano: 1_700_000_000_000_500_000,
    name: "cache.miss",
    attributes: &EVENT_ATTRS,
    dropped_attributes_count: 0,
}];

fn span() -> Span<'static> {
    Span {
        trace_id: [0x4b; 16],
        span_id: [0x2c; 8],
        trace_state: "",
        parent_span_id: Some([0x1d; 8]),
        flags: 0x101,
        name: "GET /api/v1/users/{id}/orders",
        kind: SpanKind::Server,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_001_250_000,
        attributes: &ATTRS,
        dropped_attributes_count: 0,
        events: &EVENTS,
        dropped_events_count: 0,
        links: &[],
        dropped_links_count: 0,
        status: Some(Status {
            code: StatusCode::Ok,
            message: "",
        }),
    }
}

fn prost_value(v: &AnyValue<'_>) -> pc::AnyValue {
    use pc::any_value::Value as V;
    pc::AnyValue {
        value: match *v {
            AnyValue::Empty => None,
            AnyValue::String(s) => Some(V::StringValue(s.to_owned())),
            AnyValue::Bool(b) => Some(V::BoolValue(b)),
            AnyValue::Int(i) => Some(V::IntValue(i)),
            AnyValue::Double(d) => Some(V::DoubleValue(d)),
            AnyValue::Bytes(b) => Some(V::BytesValue(b.to_vec())),
            AnyValue::Array(a) => Some(V::ArrayValue(pc::ArrayValue {
                values: a.iter().map(prost_value).collect(),
            })),
            AnyValue::KvList(k) => Some(V::KvlistValue(pc::KeyValueList {
                values: prost_attrs(k),
            })),
        },
    }
}

fn prost_attrs(a: &[KeyValue<'_>]) -> Vec<pc::KeyValue> {
    a.iter()
        .map(|kv| pc::KeyValue {
            key: kv.key.to_owned(),
            value: Some(prost_value(&kv.value)),
            ..Default::default()
        })
        .collect()
}

/// What an SDK exporter does per span: copy the borrowed data into the owned prost struct.
fn prost_span(s: &Span<'_>) -> pt::Span {
    pt::Span {
        trace_id: s.trace_id.to_vec(),
        span_id: s.span_id.to_vec(),
        trace_state: s.trace_state.to_owned(),
        parent_span_id: s.parent_span_id.map_or_else(Vec::new, |p| p.to_vec()),
        flags: s.flags,
        name: s.name.to_owned(),
        kind: s.kind.as_i32(),
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: prost_attrs(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| pt::span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.to_owned(),
                attributes: prost_attrs(e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: Vec::new(),
        dropped_links_count: s.dropped_links_count,
        status: s.status.map(|st| pt::Status {
            message: st.message.to_owned(),
            code: st.code.as_i32(),
        }),
    }
}

fn encode_span(c: &mut Criterion) {
    let span = span();
    let mut buf = vec![0u8; 4096];
    let mut vec_buf = Vec::with_capacity(4096);

    // The benchmarks encode the same message: check once, outside the timing.
    let n = span.encode(&mut buf).unwrap();
    assert_eq!(n, span.encoded_len());
    assert_eq!(&buf[..n], &prost_span(&span).encode_to_vec()[..]);

    let res_attrs = [
        KeyValue::new("service.name", AnyValue::String("checkout")),
        KeyValue::new("host.name", AnyValue::String("edge-01")),
    ];
    let resource = Resource {
        attributes: &res_attrs[..],
        dropped_attributes_count: 0,
    };
    let scope = Scope {
        name: "my-http-lib",
        version: "1.4.2",
        ..Scope::default()
    };
    let mut res_buf = vec![0u8; resource.encoded_len()];
    let mut scope_buf = vec![0u8; scope.encoded_len()];
    let resource = PreEncoded::encode(&resource, &mut res_buf).unwrap();
    let scope = PreEncoded::encode(&scope, &mut scope_buf).unwrap();
    let spans = [span];
    let record = ResourceSpans {
        resource: Part::Encoded(resource),
        resource_schema_url: "",
        scope: Part::Encoded(scope),
        scope_schema_url: "",
        spans: &spans,
    };

    let mut g = c.benchmark_group("encode_span");
    g.throughput(Throughput::Elements(1));
    g.bench_function("0-otlp-arrow", |b| {
        b.iter(|| {
            let span = black_box(&span);
            let n = span.encoded_len();
            span.encode(&mut buf[..n]).unwrap()
        });
    });
    g.bench_function("1-prost", |b| {
        b.iter(|| {
            let owned = prost_span(black_box(&span));
            vec_buf.clear();
            owned.encode(&mut vec_buf).unwrap();
            vec_buf.len()
        });
    });
    let prebuilt = prost_span(&span);
    g.bench_function("2-prost-encode-only", |b| {
        b.iter(|| {
            vec_buf.clear();
            black_box(&prebuilt).encode(&mut vec_buf).unwrap();
            vec_buf.len()
        });
    });
    g.bench_function("3-otlp-arrow-record", |b| {
        b.iter(|| {
            let record = black_box(&record);
            let n = record.encoded_len();
            record.encode_exact(&mut buf[..n]).unwrap();
            n
        });
    });
    g.finish();
}

criterion_group!(benches, encode_span);
criterion_main!(benches);
