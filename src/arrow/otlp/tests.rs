//! Unit tests: hand-built batches (columns not named in a test take the schema's default:
//! zeros, empty strings, empty maps and lists, nulls where nullable), encoded, then decoded
//! with prost and compared with the expected OTLP messages.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int32Builder, Int64Builder};
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array,
    ListArray, MapArray, RecordBatch, StringArray, StructArray, TimestampNanosecondArray,
    UInt8Array, UInt32Array, UInt64Array, new_empty_array, new_null_array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, FieldRef, SchemaRef};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::metrics::v1 as pm;
use opentelemetry_proto::tonic::trace::v1 as pt;
use prost::Message;

use super::*;
use crate::arrow::schema;

// ---------------------------------------------------------------------------------------------
// Column helpers

/// A stored `AnyValue`.
#[derive(Debug, Clone)]
enum V {
    Empty,
    Str(&'static str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'static [u8]),
    /// `ArrayValue` protobuf bytes.
    Array(Vec<u8>),
    /// `KeyValueList` protobuf bytes.
    KvList(Vec<u8>),
    /// A raw tag with every member null (invalid unless 0).
    Tag(u8),
}

fn any_col(vals: &[Option<V>]) -> StructArray {
    let n = vals.len();
    let mut tags = Vec::with_capacity(n);
    let mut strs = Vec::new();
    let mut bools = BooleanBuilder::new();
    let mut ints = Int64Builder::new();
    let mut doubles = Float64Builder::new();
    let mut bytes: Vec<Option<Vec<u8>>> = Vec::new();
    let mut arrays: Vec<Option<Vec<u8>>> = Vec::new();
    let mut kvlists: Vec<Option<Vec<u8>>> = Vec::new();
    for v in vals {
        let (t, s, b, i, d, y, a, k) = match v.clone() {
            None | Some(V::Empty) => (0, None, None, None, None, None, None, None),
            Some(V::Str(s)) => (1, Some(s), None, None, None, None, None, None),
            Some(V::Bool(b)) => (2, None, Some(b), None, None, None, None, None),
            Some(V::Int(i)) => (3, None, None, Some(i), None, None, None, None),
            Some(V::Double(d)) => (4, None, None, None, Some(d), None, None, None),
            Some(V::Array(a)) => (5, None, None, None, None, None, Some(a), None),
            Some(V::KvList(k)) => (6, None, None, None, None, None, None, Some(k)),
            Some(V::Bytes(y)) => (7, None, None, None, None, Some(y.to_vec()), None, None),
            Some(V::Tag(t)) => (t, None, None, None, None, None, None, None),
        };
        tags.push(t);
        strs.push(s);
        bools.append_option(b);
        ints.append_option(i);
        doubles.append_option(d);
        bytes.push(y);
        arrays.push(a);
        kvlists.push(k);
    }
    let bin = |v: Vec<Option<Vec<u8>>>| -> ArrayRef {
        Arc::new(BinaryArray::from_iter(v.iter().map(|o| o.as_deref())))
    };
    let nulls = NullBuffer::from(vals.iter().map(Option::is_some).collect::<Vec<_>>());
    StructArray::new(
        schema::any_value_fields(),
        vec![
            Arc::new(UInt8Array::from(tags)),
            Arc::new(StringArray::from(strs)),
            Arc::new(bools.finish()),
            Arc::new(ints.finish()),
            Arc::new(doubles.finish()),
            bin(bytes),
            bin(arrays),
            bin(kvlists),
        ],
        Some(nulls),
    )
}

type Kv = (&'static str, Option<V>);

fn map_col(rows: &[Vec<Kv>]) -> MapArray {
    let mut offsets = vec![0i32];
    let mut keys = Vec::new();
    let mut vals = Vec::new();
    for r in rows {
        for (k, v) in r {
            keys.push(*k);
            vals.push(v.clone());
        }
        offsets.push(keys.len() as i32);
    }
    let entries_field = schema::attributes_entries_field();
    let DataType::Struct(fields) = entries_field.data_type().clone() else {
        unreachable!()
    };
    let entries = StructArray::new(
        fields,
        vec![Arc::new(StringArray::from(keys)), Arc::new(any_col(&vals))],
        None,
    );
    MapArray::try_new(
        entries_field,
        OffsetBuffer::new(offsets.into()),
        entries,
        None,
        false,
    )
    .unwrap()
}

/// A non-null column of `field`'s type holding `n` default values (nulls where nullable).
fn default_col(field: &Field, n: usize) -> ArrayRef {
    if field.is_nullable() {
        return new_null_array(field.data_type(), n);
    }
    match field.data_type() {
        DataType::Utf8 => Arc::new(StringArray::from(vec![""; n])),
        DataType::UInt32 => Arc::new(UInt32Array::from(vec![0; n])),
        DataType::Int32 => Arc::new(Int32Array::from(vec![0; n])),
        DataType::UInt8 => Arc::new(UInt8Array::from(vec![0; n])),
        DataType::Float64 => Arc::new(Float64Array::from(vec![0.0; n])),
        DataType::Timestamp(_, _) => Arc::new(ts(vec![0; n])),
        DataType::FixedSizeBinary(w) => Arc::new(
            FixedSizeBinaryArray::try_from_iter((0..n).map(|_| vec![0u8; *w as usize]))
                .unwrap_or_else(|_| FixedSizeBinaryArray::new_null(*w, 0)),
        ),
        DataType::Map(_, _) => Arc::new(map_col(&vec![vec![]; n])),
        DataType::List(item) => Arc::new(ListArray::new(
            item.clone(),
            OffsetBuffer::new_zeroed(n),
            new_empty_array(item.data_type()),
            None,
        )),
        DataType::Struct(fields) => Arc::new(StructArray::new(
            fields.clone(),
            fields.iter().map(|f| default_col(f, n)).collect(),
            None,
        )),
        other => panic!("no default for {other}"),
    }
}

fn ts(v: Vec<i64>) -> TimestampNanosecondArray {
    TimestampNanosecondArray::from(v).with_timezone("UTC")
}

/// A batch of `n` rows of `schema`: the named columns as given, every other one default.
fn batch(schema: SchemaRef, n: usize, cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            cols.iter()
                .find(|(name, _)| *name == f.name())
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| default_col(f, n))
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn u32s(v: &[u32]) -> ArrayRef {
    Arc::new(UInt32Array::from(v.to_vec()))
}

fn i32s(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}

fn ids(width: usize, v: &[Option<u8>]) -> ArrayRef {
    Arc::new(
        FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            v.iter().map(|b| b.map(|b| vec![b; width])),
            width as i32,
        )
        .unwrap(),
    )
}

fn prim_list<T: arrow_array::ArrowPrimitiveType>(v: &[Option<Vec<T::Native>>]) -> ArrayRef {
    let item = Arc::new(Field::new("item", T::DATA_TYPE, false));
    let values: Vec<T::Native> = v.iter().flatten().flatten().copied().collect();
    Arc::new(ListArray::new(
        item,
        OffsetBuffer::from_lengths(v.iter().map(|o| o.as_ref().map_or(0, Vec::len))),
        Arc::new(arrow_array::PrimitiveArray::<T>::from_iter_values(values)),
        Some(NullBuffer::from(
            v.iter().map(Option::is_some).collect::<Vec<_>>(),
        )),
    ))
}

fn u64_list(v: &[Option<Vec<u64>>]) -> ArrayRef {
    prim_list::<UInt64Type>(v)
}

fn f64_list(v: &[Option<Vec<f64>>]) -> ArrayRef {
    prim_list::<Float64Type>(v)
}

/// A `List<Struct>` column of `field` (the list field of the schema) with `lens[i]` items in
/// row `i`; the item struct's columns are given by name, the others default.
fn struct_list(field: &Field, lens: &[usize], cols: Vec<(&str, ArrayRef)>) -> ArrayRef {
    let DataType::List(item) = field.data_type() else {
        unreachable!()
    };
    let DataType::Struct(fields) = item.data_type() else {
        unreachable!()
    };
    let total: usize = lens.iter().sum();
    let children = fields
        .iter()
        .map(|f| {
            cols.iter()
                .find(|(name, _)| *name == f.name())
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| default_col(f, total))
        })
        .collect();
    let values = StructArray::new(fields.clone(), children, None);
    Arc::new(ListArray::new(
        item.clone(),
        OffsetBuffer::from_lengths(lens.iter().copied()),
        Arc::new(values),
        field
            .is_nullable()
            .then(|| NullBuffer::new_valid(lens.len())),
    ))
}

fn field(schema: &SchemaRef, name: &str) -> FieldRef {
    schema.field_with_name(name).unwrap().clone().into()
}

fn kv(key: &str, v: Option<pc::any_value::Value>) -> pc::KeyValue {
    pc::KeyValue {
        key: key.into(),
        value: v.map(|v| pc::AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn kv_empty(key: &str) -> pc::KeyValue {
    pc::KeyValue {
        key: key.into(),
        value: Some(pc::AnyValue { value: None }),
        ..Default::default()
    }
}

use pc::any_value::Value as PV;

fn traces(batch: &RecordBatch) -> (ExportTraceServiceRequest, RequestStats, Vec<u8>) {
    let mut out = vec![0xAA]; // appended after existing bytes
    let stats = traces_request(batch, &mut out).unwrap();
    assert_eq!(out[0], 0xAA);
    assert_eq!(stats.bytes, out.len() - 1);
    let req = ExportTraceServiceRequest::decode(&out[1..]).unwrap();
    // prost's own encoding of what it decoded is the same bytes: same order, same defaults.
    assert_eq!(req.encode_to_vec(), out[1..]);
    (req, stats, out[1..].to_vec())
}

// ---------------------------------------------------------------------------------------------
// Traces

#[test]
fn traces_group_consecutive_resources_and_scopes() {
    let s = schema::traces();
    let array = pc::ArrayValue {
        values: vec![pc::AnyValue {
            value: Some(PV::IntValue(-1)),
        }],
    };
    let kvlist = pc::KeyValueList {
        values: vec![kv("in", Some(PV::BoolValue(true)))],
    };
    let res = vec![("service.name", Some(V::Str("a")))];
    let res2 = vec![("service.name", Some(V::Str("b")))];
    let b = batch(
        s.clone(),
        4,
        vec![
            (
                "resource_attributes",
                Arc::new(map_col(&[res.clone(), res.clone(), res.clone(), res2])),
            ),
            ("resource_schema_url", strs(&["r", "r", "r", "r"])),
            ("scope_name", strs(&["lib", "lib", "other", "other"])),
            ("scope_version", strs(&["1", "1", "", ""])),
            ("span_id", ids(8, &[Some(1), Some(2), Some(3), Some(4)])),
            ("trace_id", ids(16, &[Some(9), Some(9), Some(9), Some(9)])),
            ("parent_span_id", ids(8, &[None, Some(1), None, None])),
            ("name", strs(&["a", "b", "c", "d"])),
            ("kind", i32s(&[Some(2), Some(0), Some(5), Some(1)])),
            ("status_code", i32s(&[Some(0), Some(2), Some(0), Some(1)])),
            ("status_message", strs(&["", "bad", "msg", ""])),
            ("flags", u32s(&[0, 0x100, 0, 1])),
            (
                "attributes",
                Arc::new(map_col(&[
                    vec![
                        ("s", Some(V::Str(""))),
                        ("i", Some(V::Int(0))),
                        ("d", Some(V::Double(-0.0))),
                        ("e", Some(V::Empty)),
                        ("none", None),
                        ("", Some(V::Bool(false))),
                    ],
                    vec![
                        ("arr", Some(V::Array(array.encode_to_vec()))),
                        ("kv", Some(V::KvList(kvlist.encode_to_vec()))),
                        ("y", Some(V::Bytes(b"\x00\x01"))),
                    ],
                    vec![],
                    vec![],
                ])),
            ),
        ],
    );
    let (req, stats, _) = traces(&b);
    assert_eq!(
        (stats.resources, stats.scopes, stats.items, stats.rows),
        (2, 3, 4, 0..4)
    );
    assert_eq!(req.resource_spans.len(), 2);
    let r0 = &req.resource_spans[0];
    assert_eq!(r0.schema_url, "r");
    assert_eq!(
        r0.resource.as_ref().unwrap().attributes,
        vec![kv("service.name", Some(PV::StringValue("a".into())))]
    );
    assert_eq!(r0.scope_spans.len(), 2);
    assert_eq!(r0.scope_spans[0].scope.as_ref().unwrap().name, "lib");
    assert_eq!(r0.scope_spans[0].scope.as_ref().unwrap().version, "1");
    let spans = &r0.scope_spans[0].spans;
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].span_id, vec![1; 8]);
    assert_eq!(spans[0].trace_id, vec![9; 16]);
    assert!(spans[0].parent_span_id.is_empty());
    assert_eq!(spans[1].parent_span_id, vec![1; 8]);
    assert_eq!(spans[0].kind, 2);
    // Code 0 with no message: no status. Otherwise the status as stored.
    assert_eq!(spans[0].status, None);
    assert_eq!(
        spans[1].status,
        Some(pt::Status {
            code: 2,
            message: "bad".into()
        })
    );
    assert_eq!(spans[1].flags, 0x100);
    assert_eq!(
        spans[0].attributes,
        vec![
            kv("s", Some(PV::StringValue(String::new()))),
            kv("i", Some(PV::IntValue(0))),
            kv("d", Some(PV::DoubleValue(-0.0))),
            kv_empty("e"),
            kv("none", None),
            kv("", Some(PV::BoolValue(false))),
        ]
    );
    assert_eq!(
        spans[1].attributes,
        vec![
            kv("arr", Some(PV::ArrayValue(array))),
            kv("kv", Some(PV::KvlistValue(kvlist))),
            kv("y", Some(PV::BytesValue(vec![0, 1]))),
        ]
    );
    let other = &r0.scope_spans[1];
    assert_eq!(other.scope.as_ref().unwrap().name, "other");
    assert_eq!(other.spans.len(), 1);
    assert_eq!(
        other.spans[0].status,
        Some(pt::Status {
            code: 0,
            message: "msg".into()
        })
    );
    let r1 = &req.resource_spans[1];
    assert_eq!(r1.scope_spans.len(), 1);
    assert_eq!(r1.scope_spans[0].spans[0].name, "d");
    assert_eq!(
        r1.scope_spans[0].spans[0].status,
        Some(pt::Status {
            code: 1,
            message: String::new()
        })
    );
}

#[test]
fn traces_events_links_and_empty_resource() {
    let s = schema::traces();
    let events = struct_list(
        &field(&s, "events"),
        &[2, 0, 1],
        vec![
            ("time_unix_nano", Arc::new(ts(vec![1, -1, 3]))),
            ("name", strs(&["e0", "e1", "e2"])),
            (
                "attributes",
                Arc::new(map_col(&[vec![("k", Some(V::Int(7)))], vec![], vec![]])),
            ),
            ("dropped_attributes_count", u32s(&[0, 4, 0])),
        ],
    );
    let links = struct_list(
        &field(&s, "links"),
        &[0, 1, 1],
        vec![
            ("trace_id", ids(16, &[Some(5), Some(6)])),
            ("span_id", ids(8, &[Some(7), Some(8)])),
            ("trace_state", strs(&["ts", ""])),
            ("flags", u32s(&[3, 0])),
            (
                "attributes",
                Arc::new(map_col(&[vec![], vec![("l", Some(V::Double(1.5)))]])),
            ),
        ],
    );
    let b = batch(
        s,
        3,
        vec![
            ("events", events),
            ("links", links),
            ("dropped_events_count", u32s(&[0, 1, 2])),
            ("dropped_links_count", u32s(&[3, 0, 0])),
            ("start_time_unix_nano", Arc::new(ts(vec![i64::MIN, 0, 1]))),
        ],
    );
    let (req, stats, _) = traces(&b);
    assert_eq!((stats.resources, stats.scopes), (1, 1));
    let rs = &req.resource_spans[0];
    // An empty resource and scope are still written, as empty messages.
    assert_eq!(rs.resource, Some(Default::default()));
    assert_eq!(rs.scope_spans[0].scope, Some(Default::default()));
    let spans = &rs.scope_spans[0].spans;
    assert_eq!(spans[0].start_time_unix_nano, 1 << 63);
    assert_eq!(
        spans[0].events,
        vec![
            pt::span::Event {
                time_unix_nano: 1,
                name: "e0".into(),
                attributes: vec![kv("k", Some(PV::IntValue(7)))],
                dropped_attributes_count: 0,
            },
            pt::span::Event {
                time_unix_nano: u64::MAX,
                name: "e1".into(),
                attributes: vec![],
                dropped_attributes_count: 4,
            },
        ]
    );
    assert!(spans[0].links.is_empty());
    assert_eq!(spans[0].dropped_links_count, 3);
    assert_eq!(spans[1].events, vec![]);
    assert_eq!(spans[1].dropped_events_count, 1);
    assert_eq!(
        spans[1].links,
        vec![pt::span::Link {
            trace_id: vec![5; 16],
            span_id: vec![7; 8],
            trace_state: "ts".into(),
            attributes: vec![],
            dropped_attributes_count: 0,
            flags: 3,
        }]
    );
    assert_eq!(spans[2].events.len(), 1);
    assert_eq!(
        spans[2].links[0].attributes,
        vec![kv("l", Some(PV::DoubleValue(1.5)))]
    );
}

#[test]
fn unknown_enum_values_are_written_as_zero_and_counted() {
    let b = batch(
        schema::traces(),
        2,
        vec![
            ("kind", i32s(&[Some(9), Some(1)])),
            ("status_code", i32s(&[Some(-3), Some(0)])),
        ],
    );
    let (req, stats, _) = traces(&b);
    assert_eq!(stats.coerced_enums, 2);
    let spans = &req.resource_spans[0].scope_spans[0].spans;
    assert_eq!((spans[0].kind, &spans[0].status), (0, &None));
    let b = batch(
        schema::logs(),
        1,
        vec![("severity_number", i32s(&[Some(25)]))],
    );
    let mut out = Vec::new();
    assert_eq!(logs_request(&b, &mut out).unwrap().coerced_enums, 1);
}

// ---------------------------------------------------------------------------------------------
// Metrics

fn f64s(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn metrics(batch: &RecordBatch) -> (ExportMetricsServiceRequest, RequestStats) {
    let mut out = Vec::new();
    let stats = metrics_request(batch, &mut out).unwrap();
    assert_eq!(stats.bytes, out.len());
    let req = ExportMetricsServiceRequest::decode(&out[..]).unwrap();
    assert_eq!(req.encode_to_vec(), out);
    (req, stats)
}

#[test]
fn metrics_every_kind_and_regrouping() {
    let s = schema::metrics();
    let n = 9;
    let types = [
        "gauge",
        "gauge",
        "gauge",
        "sum",
        "sum",
        "histogram",
        "exponential_histogram",
        "summary",
        "gauge",
    ];
    let ex = struct_list(
        &field(&s, "exemplars"),
        &[0, 2, 0, 0, 0, 1, 0, 0, 0],
        vec![
            ("time_unix_nano", Arc::new(ts(vec![5, 6, 7]))),
            ("value_double", f64s(&[Some(0.5), None, None])),
            (
                "value_int",
                Arc::new(Int64Array::from(vec![None, Some(-2), None])),
            ),
            ("span_id", ids(8, &[Some(1), None, None])),
            ("trace_id", ids(16, &[None, Some(2), None])),
            (
                "filtered_attributes",
                Arc::new(map_col(&[vec![], vec![("f", Some(V::Str("x")))], vec![]])),
            ),
        ],
    );
    let quantiles = struct_list(
        &field(&s, "quantile_values"),
        &[0, 0, 0, 0, 0, 0, 0, 2, 0],
        vec![
            ("quantile", f64s(&[Some(0.5), Some(1.0)])),
            ("value", f64s(&[Some(3.0), Some(0.0)])),
        ],
    );
    let mut temporality = Int32Builder::new();
    let mut monotonic = BooleanBuilder::new();
    for t in types {
        temporality.append_option(match t {
            "sum" => Some(2),
            "histogram" => Some(1),
            "exponential_histogram" => Some(-1),
            _ => None,
        });
        monotonic.append_option((t == "sum").then_some(true));
    }
    let opt_u64 = |v: &[Option<u64>]| -> ArrayRef { Arc::new(UInt64Array::from(v.to_vec())) };
    let none9 = [None; 9];
    let at = |i: usize, v: f64| -> Vec<Option<f64>> {
        let mut r = vec![None; 9];
        r[i] = Some(v);
        r
    };
    let b = batch(
        s,
        n,
        vec![
            ("metric_type", strs(&types)),
            (
                "metric_name",
                strs(&["g", "g", "g", "s", "s", "h", "e", "q", "g"]),
            ),
            (
                "metric_unit",
                strs(&["1", "1", "1", "", "", "", "", "", "2"]),
            ),
            ("aggregation_temporality", Arc::new(temporality.finish())),
            ("is_monotonic", Arc::new(monotonic.finish()) as ArrayRef),
            (
                "value_double",
                f64s(&[
                    Some(1.0),
                    None,
                    None,
                    Some(0.0),
                    None,
                    None,
                    None,
                    None,
                    None,
                ]),
            ),
            (
                "value_int",
                Arc::new(Int64Array::from(vec![
                    None,
                    Some(0),
                    None,
                    None,
                    Some(5),
                    None,
                    None,
                    None,
                    None,
                ])),
            ),
            (
                "count",
                opt_u64(&[
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some(3),
                    Some(4),
                    Some(2),
                    None,
                ]),
            ),
            ("sum", {
                let mut v = none9.to_vec();
                v[5] = Some(0.0);
                v[7] = Some(9.0);
                f64s(&v)
            }),
            ("min", f64s(&at(6, -1.0))),
            ("max", f64s(&at(5, 10.0))),
            ("bucket_counts", {
                let mut v = vec![None; 9];
                v[5] = Some(vec![1, 2]);
                u64_list(&v)
            }),
            ("explicit_bounds", {
                let mut v = vec![None; 9];
                v[5] = Some(vec![0.5]);
                f64_list(&v)
            }),
            ("scale", {
                let mut v = vec![None; 9];
                v[6] = Some(-2);
                i32s(&v)
            }),
            ("zero_count", {
                let mut v = vec![None; 9];
                v[6] = Some(1);
                opt_u64(&v)
            }),
            ("zero_threshold", f64s(&at(6, 0.25))),
            ("positive_offset", {
                let mut v = vec![None; 9];
                v[6] = Some(-3);
                i32s(&v)
            }),
            ("positive_bucket_counts", {
                let mut v = vec![None; 9];
                v[6] = Some(vec![300, 0]);
                u64_list(&v)
            }),
            ("exemplars", ex),
            ("quantile_values", quantiles),
            ("flags", u32s(&[0, 1, 0, 0, 0, 0, 0, 0, 0])),
        ],
    );
    let (req, stats) = metrics(&b);
    // g(3 points), s(2), h, e, q, g with another unit: six metrics in one scope.
    assert_eq!(
        (stats.resources, stats.scopes, stats.metrics, stats.items),
        (1, 1, 6, 9)
    );
    let ms = &req.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(ms.len(), 6);
    use pm::metric::Data;
    use pm::number_data_point::Value as NV;
    let Some(Data::Gauge(g)) = &ms[0].data else {
        panic!("{:?}", ms[0])
    };
    assert_eq!(ms[0].name, "g");
    assert_eq!(ms[0].unit, "1");
    assert_eq!(g.data_points.len(), 3);
    assert_eq!(g.data_points[0].value, Some(NV::AsDouble(1.0)));
    assert_eq!(g.data_points[1].value, Some(NV::AsInt(0)));
    assert_eq!(g.data_points[1].flags, 1);
    assert_eq!(g.data_points[2].value, None);
    assert_eq!(
        g.data_points[1].exemplars,
        vec![
            pm::Exemplar {
                filtered_attributes: vec![],
                time_unix_nano: 5,
                span_id: vec![1; 8],
                trace_id: vec![],
                value: Some(pm::exemplar::Value::AsDouble(0.5)),
            },
            pm::Exemplar {
                filtered_attributes: vec![kv("f", Some(PV::StringValue("x".into())))],
                time_unix_nano: 6,
                span_id: vec![],
                trace_id: vec![2; 16],
                value: Some(pm::exemplar::Value::AsInt(-2)),
            },
        ]
    );
    let Some(Data::Sum(sum)) = &ms[1].data else {
        panic!()
    };
    assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (2, true));
    assert_eq!(sum.data_points[0].value, Some(NV::AsDouble(0.0)));
    assert_eq!(sum.data_points[1].value, Some(NV::AsInt(5)));
    let Some(Data::Histogram(h)) = &ms[2].data else {
        panic!()
    };
    assert_eq!(h.aggregation_temporality, 1);
    let hp = &h.data_points[0];
    assert_eq!(
        (hp.count, hp.sum, hp.min, hp.max),
        (3, Some(0.0), None, Some(10.0))
    );
    assert_eq!(
        (&hp.bucket_counts[..], &hp.explicit_bounds[..]),
        (&[1, 2][..], &[0.5][..])
    );
    assert_eq!(hp.exemplars.len(), 1);
    let Some(Data::ExponentialHistogram(e)) = &ms[3].data else {
        panic!()
    };
    assert_eq!(e.aggregation_temporality, -1);
    let ep = &e.data_points[0];
    assert_eq!(
        (ep.count, ep.sum, ep.scale, ep.zero_count, ep.zero_threshold),
        (4, None, -2, 1, 0.25)
    );
    assert_eq!((ep.min, ep.max), (Some(-1.0), None));
    assert_eq!(
        ep.positive,
        Some(pm::exponential_histogram_data_point::Buckets {
            offset: -3,
            bucket_counts: vec![300, 0],
        })
    );
    assert_eq!(ep.negative, None);
    let Some(Data::Summary(q)) = &ms[4].data else {
        panic!()
    };
    let qp = &q.data_points[0];
    assert_eq!((qp.count, qp.sum), (2, 9.0));
    assert_eq!(
        qp.quantile_values,
        vec![
            pm::summary_data_point::ValueAtQuantile {
                quantile: 0.5,
                value: 3.0
            },
            pm::summary_data_point::ValueAtQuantile {
                quantile: 1.0,
                value: 0.0
            },
        ]
    );
    assert_eq!(ms[5].unit, "2");
}

// ---------------------------------------------------------------------------------------------
// Logs

#[test]
fn log_bodies_null_empty_and_values() {
    use opentelemetry_proto::tonic::logs::v1 as pl;
    let b = batch(
        schema::logs(),
        4,
        vec![
            (
                "body",
                Arc::new(any_col(&[
                    None,
                    Some(V::Empty),
                    Some(V::Str("hello")),
                    Some(V::Double(f64::NAN)),
                ])),
            ),
            ("trace_id", ids(16, &[None, Some(1), None, None])),
            ("span_id", ids(8, &[None, None, Some(2), None])),
            ("event_name", strs(&["", "ev", "", ""])),
            ("severity_text", strs(&["", "", "INFO", ""])),
            (
                "severity_number",
                i32s(&[Some(0), Some(9), Some(24), Some(1)]),
            ),
            (
                "observed_time_unix_nano",
                Arc::new(ts(vec![0, 0, 7, 0])) as ArrayRef,
            ),
        ],
    );
    let mut out = Vec::new();
    let stats = logs_request(&b, &mut out).unwrap();
    assert_eq!((stats.items, stats.coerced_enums), (4, 0));
    let req = ExportLogsServiceRequest::decode(&out[..]).unwrap();
    assert_eq!(req.encode_to_vec(), out);
    let logs: &Vec<pl::LogRecord> = &req.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(logs[0].body, None);
    assert_eq!(logs[1].body, Some(pc::AnyValue { value: None }));
    assert_eq!(
        logs[2].body,
        Some(pc::AnyValue {
            value: Some(PV::StringValue("hello".into()))
        })
    );
    assert!(matches!(
        logs[3].body,
        Some(pc::AnyValue { value: Some(PV::DoubleValue(d)) }) if d.is_nan()
    ));
    assert_eq!((logs[1].trace_id.len(), logs[1].span_id.len()), (16, 0));
    assert_eq!((logs[2].trace_id.len(), logs[2].span_id.len()), (0, 8));
    assert_eq!(logs[1].event_name, "ev");
    assert_eq!(
        (logs[2].severity_number, logs[2].observed_time_unix_nano),
        (24, 7)
    );
    assert_eq!(logs[2].severity_text, "INFO");
}

// ---------------------------------------------------------------------------------------------
// Limits and records

/// `n` spans, each in its own scope every third row, with attributes of growing size.
fn varied_traces(n: usize) -> RecordBatch {
    let names: Vec<String> = (0..n).map(|i| "x".repeat(i % 50)).collect();
    let scopes: Vec<&str> = (0..n).map(|i| ["a", "b"][(i / 3) % 2]).collect();
    let res: Vec<Vec<Kv>> = (0..n)
        .map(|i| vec![("r", Some(V::Int((i / 7) as i64)))])
        .collect();
    batch(
        schema::traces(),
        n,
        vec![
            (
                "name",
                Arc::new(StringArray::from_iter_values(names.iter())) as ArrayRef,
            ),
            ("scope_name", strs(&scopes)),
            ("trace_id", ids(16, &vec![Some(1); n])),
            ("span_id", ids(8, &vec![Some(2); n])),
            ("resource_attributes", Arc::new(map_col(&res))),
        ],
    )
}

#[test]
fn limited_requests_are_exact_maximal_prefixes() {
    let b = varied_traces(700);
    let enc = BatchEncoder::new(Signal::Traces, &b).unwrap();
    let mut whole = Vec::new();
    let all = enc.encode_request(0..700, &mut whole).unwrap();
    let whole_req = ExportTraceServiceRequest::decode(&whole[..]).unwrap();
    let flat = |r: &ExportTraceServiceRequest| -> Vec<String> {
        r.resource_spans
            .iter()
            .flat_map(|rs| rs.scope_spans.iter())
            .flat_map(|ss| ss.spans.iter().map(|s| s.name.clone()))
            .collect()
    };
    for max_bytes in [1, 60, 500, 4000, 20_000, usize::MAX] {
        for max_items in [1, 3, 100, 256, 257, 1000] {
            let limits = Limits {
                max_bytes,
                max_items,
            };
            let mut next = 0;
            let mut names = Vec::new();
            while next < 700 {
                let mut out = Vec::new();
                let s = enc
                    .encode_request_limited(next..700, limits, &mut out)
                    .unwrap();
                assert_eq!(s.rows.start, next);
                assert!(!s.rows.is_empty());
                assert!(s.items <= max_items);
                assert_eq!(s.bytes, out.len());
                assert!(out.len() <= max_bytes || s.items == 1, "{out:?}");
                // Maximal: one more row would break a limit.
                if s.rows.end < 700 && s.items < max_items {
                    let mut longer = Vec::new();
                    enc.encode_request(next..s.rows.end + 1, &mut longer)
                        .unwrap();
                    assert!(longer.len() > max_bytes);
                }
                let req = ExportTraceServiceRequest::decode(&out[..]).unwrap();
                names.extend(flat(&req));
                next = s.rows.end;
            }
            assert_eq!(names, flat(&whole_req));
        }
    }
    assert_eq!(all.items, 700);
}

#[test]
fn resource_records_frame_into_the_same_request() {
    let b = varied_traces(50);
    let enc = BatchEncoder::new(Signal::Traces, &b).unwrap();
    let mut whole = Vec::new();
    let s = enc.encode_request(0..50, &mut whole).unwrap();
    let mut framed = Vec::new();
    let mut rows = Vec::new();
    let r = enc
        .resource_records(0..50, |rec| {
            let mut h = [0u8; crate::wire::encode::REQUEST_FIELD_HEADER_MAX];
            let n = crate::wire::encode::request_field_header(rec.bytes.len(), &mut h);
            framed.extend_from_slice(&h[..n]);
            framed.extend_from_slice(rec.bytes);
            // Each record is a valid ring record (one Resource* message).
            crate::wire::scan::scan_resource(Signal::Traces, rec.bytes).unwrap();
            rows.push(rec.rows);
        })
        .unwrap();
    assert_eq!(framed, whole);
    assert_eq!((r.resources, r.items), (s.resources, 50));
    assert_eq!(rows.first().unwrap().start, 0);
    assert_eq!(rows.last().unwrap().end, 50);
    assert!(rows.windows(2).all(|w| w[0].end == w[1].start));
    // Sub-ranges start new groups at their first row.
    let mut out = Vec::new();
    let sub = enc.encode_request(10..11, &mut out).unwrap();
    assert_eq!((sub.resources, sub.scopes, sub.rows), (1, 1, 10..11));
    let empty = enc.encode_request(5..5, &mut out).unwrap();
    assert_eq!((empty.bytes, empty.items), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn batches_that_do_not_match_the_schema_are_errors() {
    let mut out = vec![1, 2, 3];
    // Wrong signal: a logs batch has no span columns.
    let logs = batch(schema::logs(), 1, vec![]);
    assert!(matches!(
        traces_request(&logs, &mut out),
        Err(ReverseError::MissingColumn { column }) if column == "events"
    ));
    // A column of another type.
    let b = batch(schema::traces(), 1, vec![]);
    let mut cols = b.columns().to_vec();
    let mut fields: Vec<FieldRef> = b.schema().fields().iter().cloned().collect();
    let i = b.schema().index_of("name").unwrap();
    cols[i] = Arc::new(Int32Array::from(vec![1]));
    fields[i] = Arc::new(Field::new("name", DataType::Int32, false));
    let bad = RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap();
    assert_eq!(
        traces_request(&bad, &mut out),
        Err(ReverseError::ColumnType {
            column: "name".into(),
            expected: "Utf8"
        })
    );
    // Unknown AnyValue tag, and a tag whose member is null.
    for (v, reason) in [
        (V::Tag(8), "unknown AnyValue type tag"),
        (
            V::Tag(1),
            "the AnyValue member named by its type tag is null",
        ),
    ] {
        let b = batch(
            schema::traces(),
            1,
            vec![("attributes", Arc::new(map_col(&[vec![("k", Some(v))]])))],
        );
        assert_eq!(
            traces_request(&b, &mut out),
            Err(ReverseError::InvalidValue {
                column: "attributes.entries.value".into(),
                row: 0,
                reason
            })
        );
    }
    let b = batch(
        schema::logs(),
        2,
        vec![("body", Arc::new(any_col(&[None, Some(V::Tag(3))])))],
    );
    assert!(matches!(
        logs_request(&b, &mut out),
        Err(ReverseError::InvalidValue { column, row: 1, .. }) if column == "body"
    ));
    // Unknown metric type; both number values set.
    let b = batch(
        schema::metrics(),
        1,
        vec![("metric_type", strs(&["counter"]))],
    );
    assert!(matches!(
        metrics_request(&b, &mut out),
        Err(ReverseError::InvalidValue { column, .. }) if column == "metric_type"
    ));
    let b = batch(
        schema::metrics(),
        1,
        vec![
            ("metric_type", strs(&["gauge"])),
            ("value_double", f64s(&[Some(1.0)])),
            ("value_int", Arc::new(Int64Array::from(vec![Some(1)]))),
        ],
    );
    assert!(matches!(
        metrics_request(&b, &mut out),
        Err(ReverseError::InvalidValue { reason, .. }) if reason.contains("both")
    ));
    // Rows outside the batch.
    let two = b_traces();
    let enc = BatchEncoder::new(Signal::Traces, &two).unwrap();
    assert!(matches!(
        enc.encode_request(0..3, &mut out),
        Err(ReverseError::RowRange { batch_rows: 2, .. })
    ));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 2..1;
    assert!(enc.encode_request(reversed, &mut out).is_err());
    // `out` is untouched by every failure.
    assert_eq!(out, [1, 2, 3]);
    let e = ReverseError::MissingColumn {
        column: "events.name".into(),
    };
    assert_eq!(e.to_string(), "column `events.name` is missing");
}

fn b_traces() -> RecordBatch {
    batch(schema::traces(), 2, vec![])
}

// ---------------------------------------------------------------------------------------------
// Batches as files give them back: read from IPC, and sliced

/// The traces batch of the grouping test, plus events and links, through an IPC stream.
#[test]
fn batches_read_back_from_ipc_and_slices_encode_the_same() {
    let s = schema::traces();
    let events = struct_list(
        &field(&s, "events"),
        &[1, 0, 2, 1],
        vec![(
            "attributes",
            Arc::new(map_col(&[
                vec![("a", Some(V::Int(1)))],
                vec![],
                vec![("b", Some(V::Str("x")))],
                vec![("c", None)],
            ])),
        )],
    );
    let b = batch(
        s,
        4,
        vec![
            ("events", events),
            ("span_id", ids(8, &[Some(1), Some(2), Some(3), Some(4)])),
            ("parent_span_id", ids(8, &[None, Some(1), None, Some(3)])),
            (
                "attributes",
                Arc::new(map_col(&[
                    vec![],
                    vec![("k", Some(V::Bytes(b"v")))],
                    vec![("k", Some(V::Double(2.0)))],
                    vec![("k", Some(V::Str("s"))), ("l", Some(V::Empty))],
                ])),
            ),
            (
                "resource_attributes",
                Arc::new(map_col(&[
                    vec![("r", Some(V::Int(0)))],
                    vec![("r", Some(V::Int(1)))],
                    vec![("r", Some(V::Int(1)))],
                    vec![("r", Some(V::Int(1)))],
                ])),
            ),
        ],
    );
    let mut file = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut file, &b.schema()).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    drop(w);
    let read: Vec<RecordBatch> = arrow_ipc::reader::StreamReader::try_new(&file[..], None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (_, _, direct) = traces(&b);
    let (_, _, from_file) = traces(&read[0]);
    assert_eq!(from_file, direct);

    // A slice of the batch (offsets into shared buffers) encodes like that row range.
    let enc = BatchEncoder::new(Signal::Traces, &b).unwrap();
    for (start, len) in [(1, 2), (0, 4), (3, 1), (2, 0)] {
        let mut range = Vec::new();
        enc.encode_request(start..start + len, &mut range).unwrap();
        let mut sliced = Vec::new();
        traces_request(&b.slice(start, len), &mut sliced).unwrap();
        assert_eq!(sliced, range, "{start}+{len}");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors in nested columns, error texts, accessors

/// A one-row traces batch whose `attributes` column is a map with these entries fields.
fn traces_with_attribute_entries(key: ArrayRef, value: StructArray) -> RecordBatch {
    let b = b_traces().slice(0, 1);
    let entries = StructArray::try_new(
        vec![
            Arc::new(Field::new("key", key.data_type().clone(), false)),
            Arc::new(Field::new("value", value.data_type().clone(), true)),
        ]
        .into(),
        vec![key, Arc::new(value)],
        None,
    )
    .unwrap();
    let entries_field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    let map = MapArray::try_new(
        entries_field,
        OffsetBuffer::new(vec![0i32, 1].into()),
        entries,
        None,
        false,
    )
    .unwrap();
    let i = b.schema().index_of("attributes").unwrap();
    let mut cols = b.columns().to_vec();
    let mut fields: Vec<FieldRef> = b.schema().fields().iter().cloned().collect();
    fields[i] = Arc::new(Field::new("attributes", map.data_type().clone(), false));
    cols[i] = Arc::new(map);
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

#[test]
fn errors_in_attribute_members_name_the_full_column_path() {
    let mut out = Vec::new();
    // The value struct lacks `bool_value`.
    let value = StructArray::try_new(
        vec![
            Arc::new(Field::new("type", DataType::UInt8, false)),
            Arc::new(Field::new("string_value", DataType::Utf8, true)),
        ]
        .into(),
        vec![
            Arc::new(UInt8Array::from(vec![1])),
            Arc::new(StringArray::from(vec![Some("v")])),
        ],
        None,
    )
    .unwrap();
    let b = traces_with_attribute_entries(strs(&["k"]), value.clone());
    assert_eq!(
        traces_request(&b, &mut out),
        Err(ReverseError::MissingColumn {
            column: "attributes.entries.value.bool_value".into()
        })
    );
    // Keys of another type.
    let b = traces_with_attribute_entries(Arc::new(Int32Array::from(vec![7])), value);
    assert_eq!(
        traces_request(&b, &mut out),
        Err(ReverseError::ColumnType {
            column: "attributes.entries.key".into(),
            expected: "Utf8"
        })
    );
    assert!(out.is_empty());
}

#[test]
fn under_prefixes_column_paths_only() {
    let missing = |c: &str| ReverseError::MissingColumn { column: c.into() };
    assert_eq!(missing("").under("a.b"), missing("a.b"));
    assert_eq!(missing("c").under("a.b"), missing("a.b.c"));
    assert_eq!(
        ReverseError::ColumnType {
            column: "key".into(),
            expected: "Utf8"
        }
        .under("attributes.entries"),
        ReverseError::ColumnType {
            column: "attributes.entries.key".into(),
            expected: "Utf8"
        }
    );
    assert_eq!(
        ReverseError::InvalidValue {
            column: String::new(),
            row: 3,
            reason: "r"
        }
        .under("body"),
        ReverseError::InvalidValue {
            column: "body".into(),
            row: 3,
            reason: "r"
        }
    );
    let range = ReverseError::RowRange {
        rows: 1..4,
        batch_rows: 2,
    };
    assert_eq!(range.clone().under("x"), range);
    let enc = ReverseError::from(EncodeError::LengthMismatch);
    assert_eq!(enc, ReverseError::Encode(EncodeError::LengthMismatch));
    assert_eq!(enc.clone().under("x"), enc);
}

#[test]
fn error_texts_say_which_column_and_why() {
    let cases = [
        (
            ReverseError::ColumnType {
                column: "name".into(),
                expected: "Utf8",
            },
            "column `name` is not of type Utf8",
        ),
        (
            ReverseError::InvalidValue {
                column: "attributes.entries.value".into(),
                row: 4,
                reason: "unknown AnyValue type tag",
            },
            "column `attributes.entries.value`, index 4: unknown AnyValue type tag",
        ),
        (
            ReverseError::RowRange {
                rows: 1..9,
                batch_rows: 2,
            },
            "rows 1..9 are not inside a batch of 2 rows",
        ),
        (
            ReverseError::from(EncodeError::LengthMismatch),
            "encoding failed: encoded body length differs from its computed length",
        ),
        (
            EncodeError::BufferTooSmall.into(),
            "encoding failed: output buffer too small for the encoded message",
        ),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
        let dynamic: &dyn std::error::Error = &e;
        assert!(dynamic.source().is_none());
    }
}

#[test]
fn encoders_know_their_signal_and_rows_and_the_free_resource_records_matches() {
    for (signal, s) in [
        (Signal::Traces, schema::traces()),
        (Signal::Metrics, schema::metrics()),
        (Signal::Logs, schema::logs()),
    ] {
        let b = match signal {
            // Metric rows need a known type to encode.
            Signal::Metrics => batch(s, 3, vec![("metric_type", strs(&["gauge"; 3]))]),
            _ => batch(s, 3, vec![]),
        };
        let enc = BatchEncoder::new(signal, &b).unwrap();
        assert_eq!(enc.signal(), signal);
        assert_eq!(enc.num_rows(), 3);
        let mut by_method = Vec::new();
        let m = enc
            .resource_records(1..3, |r| by_method.push((r.bytes.to_vec(), r.rows)))
            .unwrap();
        let mut by_fn = Vec::new();
        let f =
            resource_records(signal, &b, 1..3, |r| by_fn.push((r.bytes.to_vec(), r.rows))).unwrap();
        assert_eq!(f, m);
        assert_eq!(by_fn, by_method);
        assert_eq!((f.rows, f.items, f.resources), (1..3, 2, 1), "{signal:?}");
        assert!(!by_fn[0].0.is_empty());
        // The whole-batch request holds the same body behind its field header.
        let mut whole = Vec::new();
        request(signal, &b, &mut whole).unwrap();
        let mut all = Vec::new();
        resource_records(signal, &b, 0..3, |r| all.extend_from_slice(r.bytes)).unwrap();
        assert!(whole.ends_with(&all), "{signal:?}");
        // Rows outside the batch are refused before `f` is called.
        let e = resource_records(signal, &b, 2..4, |_| panic!("called")).unwrap_err();
        assert_eq!(
            e,
            ReverseError::RowRange {
                rows: 2..4,
                batch_rows: 3
            }
        );
    }
    let logs = batch(schema::logs(), 1, vec![]);
    assert!(matches!(
        resource_records(Signal::Traces, &logs, 0..1, |_| ()),
        Err(ReverseError::MissingColumn { .. })
    ));
}
