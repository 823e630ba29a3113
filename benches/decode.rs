//! OTLP wire bytes -> Arrow `RecordBatch`, against the obvious peer, in one run.
//!
//! The input is one `ResourceSpans` record (the ring's record format) of 100 spans with 8
//! attributes each (strings, ints, a bool and a double, with semantic-convention names), a
//! resource with 5 attributes and one scope, as an OpenTelemetry SDK exports them.
//!
//! - `0-otlp-arrow`: `TracesDecoder::append` + `finish` (straight from bytes into reused
//!   column buffers);
//! - `1-prost-then-build`: `prost::Message::decode` into opentelemetry-proto structs, then the
//!   same batch built from the structs with arrow-rs builders (typed builders held directly,
//!   no `dyn` downcasts, reused across iterations; nested values re-encoded with prost into a
//!   reused buffer). Setup asserts both produce the identical batch.
//!
//! A second group, `decode_traces_100x1`, feeds the same 100 spans as 100 one-span records
//! (each repeating the resource and scope), the way in-process producers write them into the
//! ring, to show the per-record overhead.
//!
//! Throughput is in spans.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, FixedSizeBinaryBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampNanosecondBuilder, UInt8Builder, UInt32Builder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, RecordBatch, StructArray, new_empty_array};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, FieldRef, Fields};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_arrow::arrow::decode::{Decoder, TracesDecoder};
use otlp_arrow::arrow::schema;
use prost::Message;

const SPANS: usize = 100;

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

/// The benchmark record: 100 HTTP server spans as an SDK would export them.
fn request() -> ResourceSpans {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let routes = [
        "/api/users/{id}",
        "/api/orders",
        "/health",
        "/api/cart/{id}/items",
    ];
    let spans = (0..SPANS)
        .map(|i| {
            let route = routes[i % routes.len()];
            let start = 1_700_000_000_000_000_000 + (i as u64) * 1_000_000;
            let mut trace_id = next().to_le_bytes().to_vec();
            trace_id.extend(next().to_le_bytes());
            Span {
                trace_id,
                span_id: next().to_le_bytes().to_vec(),
                parent_span_id: if i % 4 == 0 {
                    Vec::new()
                } else {
                    next().to_le_bytes().to_vec()
                },
                name: format!("GET {route}"),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 250_000 + next() % 5_000_000,
                flags: 0x101,
                attributes: vec![
                    str_kv("http.request.method", "GET"),
                    str_kv(
                        "url.path",
                        &route.replace("{id}", &(next() % 10_000).to_string()),
                    ),
                    str_kv("http.route", route),
                    kv(
                        "http.response.status_code",
                        any_value::Value::IntValue(if i % 10 == 0 { 500 } else { 200 }),
                    ),
                    str_kv("server.address", "api.example.com"),
                    kv("server.port", any_value::Value::IntValue(8080)),
                    kv(
                        "http.request.resend",
                        any_value::Value::BoolValue(i % 7 == 0),
                    ),
                    kv(
                        "http.server.request.duration",
                        any_value::Value::DoubleValue((next() % 100_000) as f64 / 1e6),
                    ),
                ],
                status: Some(Status {
                    message: if i % 10 == 0 {
                        "Internal Server Error".into()
                    } else {
                        String::new()
                    },
                    code: if i % 10 == 0 { 2 } else { 0 },
                }),
                ..Span::default()
            }
        })
        .collect();
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                str_kv("service.name", "checkout"),
                str_kv("service.version", "1.4.2"),
                str_kv("host.name", "web-7f9c4d-2xk8p"),
                str_kv("telemetry.sdk.language", "rust"),
                str_kv("telemetry.sdk.name", "opentelemetry"),
            ],
            dropped_attributes_count: 0,
            entity_refs: Vec::new(),
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "opentelemetry-http".into(),
                version: "0.31.0".into(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            }),
            spans,
            schema_url: "https://opentelemetry.io/schemas/1.27.0".into(),
        }],
        schema_url: "https://opentelemetry.io/schemas/1.27.0".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The peer: the same batch built from prost structs with arrow-rs builders.

struct AnyValues {
    ty: UInt8Builder,
    string: StringBuilder,
    boolean: BooleanBuilder,
    int: Int64Builder,
    double: Float64Builder,
    bytes: BinaryBuilder,
    array: BinaryBuilder,
    kvlist: BinaryBuilder,
    nulls: NullBufferBuilder,
    scratch: Vec<u8>,
    fields: Fields,
}

impl AnyValues {
    fn new() -> Self {
        AnyValues {
            ty: UInt8Builder::new(),
            string: StringBuilder::new(),
            boolean: BooleanBuilder::new(),
            int: Int64Builder::new(),
            double: Float64Builder::new(),
            bytes: BinaryBuilder::new(),
            array: BinaryBuilder::new(),
            kvlist: BinaryBuilder::new(),
            nulls: NullBufferBuilder::new(0),
            scratch: Vec::new(),
            fields: schema::any_value_fields(),
        }
    }

    fn push(&mut self, v: Option<&AnyValue>) {
        use any_value::Value as V;
        self.nulls.append(v.is_some());
        let value = v.and_then(|v| v.value.as_ref());
        let tag = match value {
            None | Some(V::StringValueStrindex(_)) => 0,
            Some(V::StringValue(_)) => 1,
            Some(V::BoolValue(_)) => 2,
            Some(V::IntValue(_)) => 3,
            Some(V::DoubleValue(_)) => 4,
            Some(V::ArrayValue(_)) => 5,
            Some(V::KvlistValue(_)) => 6,
            Some(V::BytesValue(_)) => 7,
        };
        self.ty.append_value(tag);
        match value {
            Some(V::StringValue(s)) => self.string.append_value(s),
            _ => self.string.append_null(),
        }
        match value {
            Some(V::BoolValue(b)) => self.boolean.append_value(*b),
            _ => self.boolean.append_null(),
        }
        match value {
            Some(V::IntValue(i)) => self.int.append_value(*i),
            _ => self.int.append_null(),
        }
        match value {
            Some(V::DoubleValue(d)) => self.double.append_value(*d),
            _ => self.double.append_null(),
        }
        match value {
            Some(V::BytesValue(b)) => self.bytes.append_value(b),
            _ => self.bytes.append_null(),
        }
        match value {
            Some(V::ArrayValue(a)) => {
                self.scratch.clear();
                a.encode(&mut self.scratch).unwrap();
                self.array.append_value(&self.scratch);
            }
            _ => self.array.append_null(),
        }
        match value {
            Some(V::KvlistValue(a)) => {
                self.scratch.clear();
                a.encode(&mut self.scratch).unwrap();
                self.kvlist.append_value(&self.scratch);
            }
            _ => self.kvlist.append_null(),
        }
    }

    fn finish(&mut self) -> StructArray {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.ty.finish()),
            Arc::new(self.string.finish()),
            Arc::new(self.boolean.finish()),
            Arc::new(self.int.finish()),
            Arc::new(self.double.finish()),
            Arc::new(self.bytes.finish()),
            Arc::new(self.array.finish()),
            Arc::new(self.kvlist.finish()),
        ];
        StructArray::new(self.fields.clone(), children, self.nulls.finish())
    }
}

struct AttrMap {
    offsets: Vec<i32>,
    keys: StringBuilder,
    values: AnyValues,
    entries: FieldRef,
}

impl AttrMap {
    fn new() -> Self {
        AttrMap {
            offsets: vec![0],
            keys: StringBuilder::new(),
            values: AnyValues::new(),
            entries: schema::attributes_entries_field(),
        }
    }

    fn push(&mut self, kvs: &[KeyValue]) {
        for kv in kvs {
            self.keys.append_value(&kv.key);
            self.values.push(kv.value.as_ref());
        }
        let last = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(last + kvs.len() as i32);
    }

    fn finish(&mut self) -> ArrayRef {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let DataType::Struct(fields) = self.entries.data_type() else {
            unreachable!()
        };
        let entries = StructArray::new(
            fields.clone(),
            vec![Arc::new(self.keys.finish()), Arc::new(self.values.finish())],
            None,
        );
        Arc::new(MapArray::new(
            self.entries.clone(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            entries,
            None,
            false,
        ))
    }
}

fn times() -> TimestampNanosecondBuilder {
    TimestampNanosecondBuilder::new().with_timezone("UTC")
}

/// Builds `schema::traces()` batches from prost structs.
struct ProstBuilder {
    resource_attributes: AttrMap,
    resource_dropped: UInt32Builder,
    resource_schema_url: StringBuilder,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attributes: AttrMap,
    scope_dropped: UInt32Builder,
    schema_url: StringBuilder,
    trace_id: FixedSizeBinaryBuilder,
    span_id: FixedSizeBinaryBuilder,
    trace_state: StringBuilder,
    parent_span_id: FixedSizeBinaryBuilder,
    flags: UInt32Builder,
    name: StringBuilder,
    kind: Int32Builder,
    start: TimestampNanosecondBuilder,
    end: TimestampNanosecondBuilder,
    attributes: AttrMap,
    dropped_attributes: UInt32Builder,
    events: Vec<i32>,
    dropped_events: UInt32Builder,
    links: Vec<i32>,
    dropped_links: UInt32Builder,
    status_code: Int32Builder,
    status_message: StringBuilder,
}

impl ProstBuilder {
    fn new() -> Self {
        ProstBuilder {
            resource_attributes: AttrMap::new(),
            resource_dropped: UInt32Builder::new(),
            resource_schema_url: StringBuilder::new(),
            scope_name: StringBuilder::new(),
            scope_version: StringBuilder::new(),
            scope_attributes: AttrMap::new(),
            scope_dropped: UInt32Builder::new(),
            schema_url: StringBuilder::new(),
            trace_id: FixedSizeBinaryBuilder::new(16),
            span_id: FixedSizeBinaryBuilder::new(8),
            trace_state: StringBuilder::new(),
            parent_span_id: FixedSizeBinaryBuilder::new(8),
            flags: UInt32Builder::new(),
            name: StringBuilder::new(),
            kind: Int32Builder::new(),
            start: times(),
            end: times(),
            attributes: AttrMap::new(),
            dropped_attributes: UInt32Builder::new(),
            events: vec![0],
            dropped_events: UInt32Builder::new(),
            links: vec![0],
            dropped_links: UInt32Builder::new(),
            status_code: Int32Builder::new(),
            status_message: StringBuilder::new(),
        }
    }

    fn append(&mut self, rs: &ResourceSpans) {
        let no_resource = Resource::default();
        let no_scope = InstrumentationScope::default();
        let res = rs.resource.as_ref().unwrap_or(&no_resource);
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref().unwrap_or(&no_scope);
            for sp in &ss.spans {
                self.resource_attributes.push(&res.attributes);
                self.resource_dropped
                    .append_value(res.dropped_attributes_count);
                self.resource_schema_url.append_value(&rs.schema_url);
                self.scope_name.append_value(&scope.name);
                self.scope_version.append_value(&scope.version);
                self.scope_attributes.push(&scope.attributes);
                self.scope_dropped
                    .append_value(scope.dropped_attributes_count);
                self.schema_url.append_value(&ss.schema_url);
                self.trace_id.append_value(&sp.trace_id).unwrap();
                self.span_id.append_value(&sp.span_id).unwrap();
                self.trace_state.append_value(&sp.trace_state);
                if sp.parent_span_id.is_empty() {
                    self.parent_span_id.append_null();
                } else {
                    self.parent_span_id
                        .append_value(&sp.parent_span_id)
                        .unwrap();
                }
                self.flags.append_value(sp.flags);
                self.name.append_value(&sp.name);
                self.kind.append_value(sp.kind);
                self.start.append_value(sp.start_time_unix_nano as i64);
                self.end.append_value(sp.end_time_unix_nano as i64);
                self.attributes.push(&sp.attributes);
                self.dropped_attributes
                    .append_value(sp.dropped_attributes_count);
                // The benchmark's spans have no events or links: empty lists.
                self.events.push(0);
                self.dropped_events.append_value(sp.dropped_events_count);
                self.links.push(0);
                self.dropped_links.append_value(sp.dropped_links_count);
                let status = sp.status.as_ref();
                self.status_code.append_value(status.map_or(0, |s| s.code));
                self.status_message
                    .append_value(status.map_or("", |s| &s.message));
            }
        }
    }

    fn empty_list(offsets: &mut Vec<i32>, column: &str) -> ArrayRef {
        let offsets = std::mem::replace(offsets, vec![0]);
        let traces = schema::traces();
        let DataType::List(item) = traces.field_with_name(column).unwrap().data_type() else {
            unreachable!()
        };
        Arc::new(ListArray::new(
            item.clone(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            new_empty_array(item.data_type()),
            None,
        ))
    }

    fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            self.resource_attributes.finish(),
            Arc::new(self.resource_dropped.finish()),
            Arc::new(self.resource_schema_url.finish()),
            Arc::new(self.scope_name.finish()),
            Arc::new(self.scope_version.finish()),
            self.scope_attributes.finish(),
            Arc::new(self.scope_dropped.finish()),
            Arc::new(self.schema_url.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.parent_span_id.finish()),
            Arc::new(self.flags.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            self.attributes.finish(),
            Arc::new(self.dropped_attributes.finish()),
            Self::empty_list(&mut self.events, "events"),
            Arc::new(self.dropped_events.finish()),
            Self::empty_list(&mut self.links, "links"),
            Arc::new(self.dropped_links.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()),
        ];
        RecordBatch::try_new(schema::traces(), columns).unwrap()
    }
}

fn decode(c: &mut Criterion) {
    let bytes = request().encode_to_vec();
    let mut ours = TracesDecoder::new();
    let mut peer = ProstBuilder::new();

    // Both paths must build the same batch, or the comparison means nothing.
    ours.append(&bytes).unwrap();
    let a = ours.finish();
    peer.append(&ResourceSpans::decode(&bytes[..]).unwrap());
    let b = peer.finish();
    assert_eq!(a.num_rows(), SPANS);
    assert_eq!(a, b, "both paths build the same batch");

    let mut g = c.benchmark_group("decode_traces_100x8");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.bench_function("0-otlp-arrow", |bn| {
        bn.iter(|| {
            ours.append(black_box(&bytes)).unwrap();
            black_box(ours.finish())
        })
    });
    g.bench_function("1-prost-then-build", |bn| {
        bn.iter(|| {
            let rs = ResourceSpans::decode(black_box(&bytes[..])).unwrap();
            peer.append(&rs);
            black_box(peer.finish())
        })
    });
    g.finish();

    // The same spans, one per record.
    let rs = request();
    let singles: Vec<Vec<u8>> = rs.scope_spans[0]
        .spans
        .iter()
        .map(|sp| {
            let mut one = rs.clone();
            one.scope_spans[0].spans = vec![sp.clone()];
            one.encode_to_vec()
        })
        .collect();
    let mut g = c.benchmark_group("decode_traces_100x1");
    g.throughput(Throughput::Elements(SPANS as u64));
    g.bench_function("0-otlp-arrow", |bn| {
        bn.iter(|| {
            for r in &singles {
                ours.append(black_box(r)).unwrap();
            }
            black_box(ours.finish())
        })
    });
    g.bench_function("1-prost-then-build", |bn| {
        bn.iter(|| {
            for r in &singles {
                let rs = ResourceSpans::decode(black_box(&r[..])).unwrap();
                peer.append(&rs);
            }
            black_box(peer.finish())
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
