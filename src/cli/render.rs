//! Stored Arrow values as text, for `otlp-arrow cat`: a cell of any column of our schemas
//! ([`crate::arrow::schema`]) becomes a `Value`, which prints as a table cell (`text`) or as
//! JSON (`json`).
//!
//! What each printer promises:
//!
//! | stored | table cell | JSON |
//! |---|---|---|
//! | ids (`FixedSizeBinary`) | lower-case hex | hex string |
//! | times (`Timestamp(ns)`) | RFC 3339, UTC, 9 fraction digits | integer nanoseconds since the epoch (the OTLP `fixed64`, so never negative) |
//! | attributes (`Map<Utf8, AnyValue>`) | `{key=value, ...}`, in stored order | object, in stored order |
//! | `AnyValue` string / bool / int / double | `"text"` / `true` / `42` / `1.5` (a double always shows a `.` or exponent) | string / bool / number / number (`NaN`, `inf`, `-inf` as strings) |
//! | `AnyValue` bytes | `0x` + hex | hex string |
//! | `AnyValue` array / kvlist (stored as OTLP protobuf) | `[...]` / `{k=v, ...}`, decoded | array / object, decoded |
//! | empty `AnyValue`, null | `null` inside a structure, blank as a whole cell | `null` |
//! | structs (events, links, exemplars, quantiles) | `{field=value, ...}` | object |
//! | lists | `[a, b]` | array |
//!
//! Strings as whole cells are shown bare, with control characters escaped (`\n`), so that one
//! row is always one line; inside structures they are quoted. Nothing here panics on a file
//! that is not ours: an unknown column type prints as `<type>`.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, StructArray};
use arrow_schema::{DataType, Fields, TimeUnit};
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValueList, any_value};
use prost::Message;

use crate::arrow::schema::value_type;

/// One cell, decoded from its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A null, or an empty `AnyValue`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// Text.
    Str(String),
    /// An id or another binary column: plain hex.
    Hex(Vec<u8>),
    /// An `AnyValue` bytes value: `0x` + hex in a table, to tell it from a string.
    Bytes(Vec<u8>),
    /// Nanoseconds since the Unix epoch (the OTLP `fixed64`, stored bit for bit).
    Time(u64),
    /// A list or an `AnyValue` array.
    List(Vec<Value>),
    /// Attributes, key-value lists and structs: ordered pairs (keys may repeat).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// Whether this is the proto3 default (null, `""`, 0, false, empty list or map): a table
    /// leaves out columns that hold nothing else.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Int(v) => *v == 0,
            Value::UInt(v) | Value::Time(v) => *v == 0,
            Value::Float(v) => *v == 0.0,
            Value::Str(s) => s.is_empty(),
            Value::Hex(b) | Value::Bytes(b) => b.is_empty(),
            Value::List(items) => items.is_empty(),
            Value::Map(pairs) => pairs.is_empty(),
        }
    }
}

/// The cell at `row` of `array`.
pub(crate) fn value(array: &dyn Array, row: usize) -> Value {
    if row >= array.len() || array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => Value::Int(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Value::Int(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Value::Int(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::UInt(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Value::UInt(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Value::UInt(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => Value::UInt(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => Value::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::Str(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::Str(array.as_string::<i64>().value(row).to_owned()),
        DataType::Binary => Value::Hex(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Hex(array.as_binary::<i64>().value(row).to_vec()),
        DataType::FixedSizeBinary(_) => {
            Value::Hex(array.as_fixed_size_binary().value(row).to_vec())
        }
        DataType::Timestamp(unit, _) => Value::Time(timestamp_nanos(array, *unit, row)),
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref()),
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            map_entries(&entries)
        }
        DataType::Struct(fields) if is_any_value(fields) => any_value_cell(array.as_struct(), row),
        DataType::Struct(_) => {
            let s = array.as_struct();
            Value::Map(
                s.fields()
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), value(c.as_ref(), row)))
                    .collect(),
            )
        }
        other => Value::Str(format!("<{other}>")),
    }
}

/// The stored integer of a timestamp, in nanoseconds, reinterpreted as the OTLP `fixed64`.
fn timestamp_nanos(array: &dyn Array, unit: TimeUnit, row: usize) -> u64 {
    let v = match unit {
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .saturating_mul(1_000),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .value(row)
            .saturating_mul(1_000_000),
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .saturating_mul(1_000_000_000),
    };
    // Bit for bit: OTLP times are unsigned; storage keeps the fixed64's bits in an i64.
    v as u64
}

fn list(items: &dyn Array) -> Value {
    Value::List((0..items.len()).map(|i| value(items, i)).collect())
}

/// A map's entries (`Struct<key, value>`) as pairs; keys shown as text.
fn map_entries(entries: &StructArray) -> Value {
    let (Some(keys), Some(values)) = (entries.columns().first(), entries.columns().get(1)) else {
        return Value::Map(Vec::new());
    };
    Value::Map(
        (0..entries.len())
            .map(|i| {
                let key = match value(keys.as_ref(), i) {
                    Value::Str(s) => s,
                    other => text_cell(&other),
                };
                (key, value(values.as_ref(), i))
            })
            .collect(),
    )
}

/// The `AnyValue` struct of our schemas: a `type` tag first, then one member per kind.
fn is_any_value(fields: &Fields) -> bool {
    fields
        .first()
        .is_some_and(|f| f.name() == "type" && f.data_type() == &DataType::UInt8)
        && fields.iter().any(|f| f.name() == "string_value")
}

fn any_value_cell(s: &StructArray, row: usize) -> Value {
    let member = |name: &str| s.column_by_name(name).map(|c| value(c.as_ref(), row));
    let Some(Value::UInt(tag)) = member("type") else {
        return Value::Null;
    };
    let tag = u8::try_from(tag).unwrap_or(u8::MAX);
    let typed = match tag {
        value_type::EMPTY => Some(Value::Null),
        value_type::STRING => member("string_value"),
        value_type::BOOL => member("bool_value"),
        value_type::INT => member("int_value"),
        value_type::DOUBLE => member("double_value"),
        value_type::BYTES => member("bytes_value").map(|v| match v {
            Value::Hex(b) => Value::Bytes(b),
            other => other,
        }),
        value_type::ARRAY => member("array_value").map(|v| match v {
            Value::Hex(b) => match ArrayValue::decode(&b[..]) {
                Ok(a) => Value::List(a.values.iter().map(proto_any).collect()),
                Err(_) => Value::Str(format!("<undecodable ArrayValue 0x{}>", hex(&b))),
            },
            other => other,
        }),
        value_type::KVLIST => member("kvlist_value").map(|v| match v {
            Value::Hex(b) => match KeyValueList::decode(&b[..]) {
                Ok(l) => proto_kvlist(&l),
                Err(_) => Value::Str(format!("<undecodable KeyValueList 0x{}>", hex(&b))),
            },
            other => other,
        }),
        other => Some(Value::Str(format!("<AnyValue type {other}>"))),
    };
    typed.unwrap_or(Value::Null)
}

fn proto_kvlist(list: &KeyValueList) -> Value {
    Value::Map(
        list.values
            .iter()
            .map(|kv| {
                let v = kv.value.as_ref().map_or(Value::Null, proto_any);
                (kv.key.clone(), v)
            })
            .collect(),
    )
}

fn proto_any(v: &AnyValue) -> Value {
    match &v.value {
        None | Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::Str(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::Int(*i),
        Some(any_value::Value::DoubleValue(d)) => Value::Float(*d),
        Some(any_value::Value::BytesValue(b)) => Value::Bytes(b.clone()),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::List(a.values.iter().map(proto_any).collect())
        }
        Some(any_value::Value::KvlistValue(l)) => proto_kvlist(l),
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `ns` nanoseconds after the Unix epoch as RFC 3339 in UTC with nine fraction digits
/// (`2023-11-14T22:13:20.000000001Z`).
pub(crate) fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    // u64 nanoseconds end in the year 2554: days fit an i64 with room to spare.
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A whole table cell: strings bare (control characters escaped), null blank.
pub(crate) fn text_cell(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Null => {}
        Value::Str(s) => escape_controls(s, &mut out),
        other => text(other, &mut out),
    }
    out
}

/// A value inside a structure: strings quoted, null as `null`.
pub(crate) fn text(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        // `Debug` keeps a `.0` on whole doubles, so a double never reads as an int.
        Value::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Value::Str(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Hex(b) => out.push_str(&hex(b)),
        Value::Bytes(b) => {
            out.push_str("0x");
            out.push_str(&hex(b));
        }
        Value::Time(ns) => out.push_str(&rfc3339(*ns)),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                text(item, out);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                escape_controls(k, out);
                out.push('=');
                text(item, out);
            }
            out.push('}');
        }
    }
}

fn escape_controls(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `v` as JSON (see the module docs for the mapping).
pub(crate) fn json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) | Value::Time(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        Value::Float(f) => {
            let _ = write!(out, "\"{f}\"");
        }
        Value::Str(s) => json_string(s, out),
        Value::Hex(b) | Value::Bytes(b) => {
            out.push('"');
            out.push_str(&hex(b));
            out.push('"');
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                json(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal (serde_json's escaping).
pub(crate) fn json_string(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        // Serialising a `str` cannot fail; keep the output valid JSON regardless.
        Err(_) => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        ArrayBuilder, BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, MapBuilder,
        StringBuilder, StructBuilder, UInt8Builder,
    };
    use arrow_array::{ArrayRef, FixedSizeBinaryArray, TimestampNanosecondArray};
    use opentelemetry_proto::tonic::common::v1::KeyValue;

    use super::*;
    use crate::arrow::schema;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_700_000_000_000_000_001),
            "2023-11-14T22:13:20.000000001Z"
        );
        // A leap day, and the end of a leap year.
        assert_eq!(
            rfc3339(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            rfc3339(1_735_689_599 * 1_000_000_000 + 999_999_999),
            "2024-12-31T23:59:59.999999999Z"
        );
        // The largest fixed64: year 2554, no overflow.
        assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }

    #[test]
    fn civil_dates_agree_with_a_day_by_day_walk() {
        let mut date = (1970i64, 1u32, 1u32);
        for days in 0..200_000i64 {
            assert_eq!(civil_from_days(days), date, "day {days}");
            let leap = date.0 % 4 == 0 && (date.0 % 100 != 0 || date.0 % 400 == 0);
            let len = [
                31,
                28 + u32::from(leap),
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            date.2 += 1;
            if date.2 > len[date.1 as usize - 1] {
                date = if date.1 == 12 {
                    (date.0 + 1, 1, 1)
                } else {
                    (date.0, date.1 + 1, 1)
                };
            }
        }
    }

    fn any_values() -> StructBuilder {
        StructBuilder::from_fields(schema::any_value_fields(), 0)
    }

    /// Appends one `AnyValue` with tag `tag`, setting `set` on its member builder.
    fn push_any(b: &mut StructBuilder, tag: u8, set: impl FnOnce(&mut StructBuilder)) {
        b.field_builder::<UInt8Builder>(0)
            .unwrap()
            .append_value(tag);
        set(b);
        // Null every member not set (the builders must stay the same length).
        let len = b.field_builder::<UInt8Builder>(0).unwrap().len();
        macro_rules! pad {
            ($i:expr, $t:ty) => {
                let f = b.field_builder::<$t>($i).unwrap();
                if f.len() < len {
                    f.append_null();
                }
            };
        }
        pad!(1, StringBuilder);
        pad!(2, BooleanBuilder);
        pad!(3, Int64Builder);
        pad!(4, Float64Builder);
        pad!(5, BinaryBuilder);
        pad!(6, BinaryBuilder);
        pad!(7, BinaryBuilder);
        b.append(true);
    }

    /// Sets the member of an `AnyValue` under construction.
    type SetMember = Box<dyn FnOnce(&mut StructBuilder)>;

    fn attributes() -> ArrayRef {
        let mut map = MapBuilder::new(None, StringBuilder::new(), any_values());
        let inner = KeyValueList {
            values: vec![KeyValue {
                key: "k".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(7)),
                }),
                ..KeyValue::default()
            }],
        }
        .encode_to_vec();
        let array = ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(any_value::Value::StringValue("a".into())),
                },
                AnyValue {
                    value: Some(any_value::Value::DoubleValue(2.0)),
                },
            ],
        }
        .encode_to_vec();
        let entries: Vec<(&str, u8, SetMember)> = vec![
            (
                "s",
                value_type::STRING,
                Box::new(|b| {
                    b.field_builder::<StringBuilder>(1)
                        .unwrap()
                        .append_value("GET\n")
                }),
            ),
            (
                "b",
                value_type::BOOL,
                Box::new(|b| {
                    b.field_builder::<BooleanBuilder>(2)
                        .unwrap()
                        .append_value(true)
                }),
            ),
            (
                "i",
                value_type::INT,
                Box::new(|b| b.field_builder::<Int64Builder>(3).unwrap().append_value(-3)),
            ),
            (
                "d",
                value_type::DOUBLE,
                Box::new(|b| {
                    b.field_builder::<Float64Builder>(4)
                        .unwrap()
                        .append_value(1.0)
                }),
            ),
            (
                "y",
                value_type::BYTES,
                Box::new(|b| {
                    b.field_builder::<BinaryBuilder>(5)
                        .unwrap()
                        .append_value([0xab, 0x01])
                }),
            ),
            (
                "a",
                value_type::ARRAY,
                Box::new(move |b| {
                    b.field_builder::<BinaryBuilder>(6)
                        .unwrap()
                        .append_value(&array)
                }),
            ),
            (
                "m",
                value_type::KVLIST,
                Box::new(move |b| {
                    b.field_builder::<BinaryBuilder>(7)
                        .unwrap()
                        .append_value(&inner)
                }),
            ),
            ("e", value_type::EMPTY, Box::new(|_| {})),
        ];
        for (key, tag, set) in entries {
            map.keys().append_value(key);
            push_any(map.values(), tag, set);
        }
        map.append(true).unwrap();
        Arc::new(map.finish())
    }

    #[test]
    fn attributes_keep_their_types_in_both_formats() {
        let a = attributes();
        let v = value(a.as_ref(), 0);
        assert_eq!(
            text_cell(&v),
            r#"{s="GET\n", b=true, i=-3, d=1.0, y=0xab01, a=["a", 2.0], m={k=7}, e=null}"#
        );
        let mut j = String::new();
        json(&v, &mut j);
        assert_eq!(
            j,
            r#"{"s":"GET\n","b":true,"i":-3,"d":1.0,"y":"ab01","a":["a",2.0],"m":{"k":7},"e":null}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(parsed["i"], -3);
    }

    #[test]
    fn ids_times_and_strings() {
        let ids =
            FixedSizeBinaryArray::try_from_iter([[0xde, 0xad, 0xbe, 0xef]].into_iter()).unwrap();
        assert_eq!(text_cell(&value(&ids, 0)), "deadbeef");
        let times = TimestampNanosecondArray::from(vec![1_700_000_000_000_000_001i64, -1])
            .with_timezone("UTC");
        assert_eq!(
            text_cell(&value(&times, 0)),
            "2023-11-14T22:13:20.000000001Z"
        );
        let mut j = String::new();
        json(&value(&times, 1), &mut j);
        assert_eq!(j, u64::MAX.to_string(), "times are the unsigned fixed64");
        let s = arrow_array::StringArray::from(vec![Some("a\tb"), None]);
        assert_eq!(text_cell(&value(&s, 0)), "a\\tb");
        assert_eq!(text_cell(&value(&s, 1)), "");
        assert!(value(&s, 1).is_empty());
        let mut j = String::new();
        json(&Value::Float(f64::NAN), &mut j);
        assert_eq!(j, "\"NaN\"");
    }

    #[test]
    fn every_primitive_type_becomes_its_value() {
        use arrow_array::*;
        let cells: Vec<(ArrayRef, Value)> = vec![
            (Arc::new(Int8Array::from(vec![-8i8])), Value::Int(-8)),
            (Arc::new(Int16Array::from(vec![-16i16])), Value::Int(-16)),
            (Arc::new(Int32Array::from(vec![-32])), Value::Int(-32)),
            (Arc::new(UInt8Array::from(vec![8u8])), Value::UInt(8)),
            (Arc::new(UInt16Array::from(vec![16u16])), Value::UInt(16)),
            (Arc::new(UInt32Array::from(vec![32u32])), Value::UInt(32)),
            (
                Arc::new(UInt64Array::from(vec![u64::MAX])),
                Value::UInt(u64::MAX),
            ),
            (
                Arc::new(Float32Array::from(vec![0.5f32])),
                Value::Float(0.5),
            ),
            (
                Arc::new(LargeStringArray::from(vec!["large"])),
                Value::Str("large".into()),
            ),
            (
                Arc::new(LargeBinaryArray::from(vec![&[1u8, 2][..]])),
                Value::Hex(vec![1, 2]),
            ),
            (
                Arc::new(TimestampMicrosecondArray::from(vec![3])),
                Value::Time(3_000),
            ),
            (
                Arc::new(TimestampMillisecondArray::from(vec![3])),
                Value::Time(3_000_000),
            ),
            (
                Arc::new(TimestampSecondArray::from(vec![3])),
                Value::Time(3_000_000_000),
            ),
            (
                Arc::new(
                    LargeListArray::from_iter_primitive::<types::Int64Type, _, _>(vec![Some(
                        vec![Some(1), None],
                    )]),
                ),
                Value::List(vec![Value::Int(1), Value::Null]),
            ),
            (
                Arc::new(Date32Array::from(vec![1])),
                Value::Str("<Date32>".into()),
            ),
        ];
        for (array, want) in cells {
            assert_eq!(value(array.as_ref(), 0), want, "{}", array.data_type());
            assert_eq!(
                value(array.as_ref(), 1),
                Value::Null,
                "past the end is null"
            );
        }
    }

    #[test]
    fn plain_structs_are_maps_and_empty_values_are_recognised() {
        let s = StructArray::from(vec![
            (
                Arc::new(arrow_schema::Field::new("x", DataType::Int64, false)),
                Arc::new(arrow_array::Int64Array::from(vec![4])) as ArrayRef,
            ),
            (
                Arc::new(arrow_schema::Field::new("y", DataType::Boolean, false)),
                Arc::new(arrow_array::BooleanArray::from(vec![false])) as ArrayRef,
            ),
        ]);
        let v = value(&s, 0);
        assert_eq!(
            v,
            Value::Map(vec![
                ("x".into(), Value::Int(4)),
                ("y".into(), Value::Bool(false))
            ])
        );
        assert!(!v.is_empty());
        for empty in [
            Value::Null,
            Value::Bool(false),
            Value::Int(0),
            Value::UInt(0),
            Value::Time(0),
            Value::Float(0.0),
            Value::Str(String::new()),
            Value::Hex(Vec::new()),
            Value::Bytes(Vec::new()),
            Value::List(Vec::new()),
            Value::Map(Vec::new()),
        ] {
            assert!(empty.is_empty(), "{empty:?}");
        }
        for full in [
            Value::Bool(true),
            Value::Int(-1),
            Value::Float(0.1),
            Value::UInt(1),
        ] {
            assert!(!full.is_empty(), "{full:?}");
        }
    }

    #[test]
    fn proto_values_inside_arrays_and_lists_keep_their_types() {
        let nested = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(any_value::Value::BoolValue(true)),
                    },
                    AnyValue {
                        value: Some(any_value::Value::IntValue(-2)),
                    },
                    AnyValue {
                        value: Some(any_value::Value::BytesValue(vec![9])),
                    },
                    AnyValue { value: None },
                    AnyValue {
                        value: Some(any_value::Value::KvlistValue(KeyValueList {
                            values: vec![KeyValue {
                                key: "k".into(),
                                value: None,
                                ..Default::default()
                            }],
                        })),
                    },
                ],
            })),
        };
        assert_eq!(
            proto_any(&nested),
            Value::List(vec![
                Value::Bool(true),
                Value::Int(-2),
                Value::Bytes(vec![9]),
                Value::Null,
                Value::Map(vec![("k".into(), Value::Null)]),
            ])
        );
    }
}
