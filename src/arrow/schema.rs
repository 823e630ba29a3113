//! The Arrow schemas of the stored files: one for traces, metrics and logs each.
//!
//! These column names and types are a public contract (DESIGN.md, "Contracts"; documented
//! column by column in `docs/SCHEMA.md`): tests outside this repository and users' queries rely
//! on them. One row per span / metric data point / log record. Column names are the OTLP proto
//! field names in snake_case, plus the `resource_*`, `scope_*` and `metric_*` columns that
//! flatten the enclosing messages into every row.
//!
//! Conventions:
//! - ids are `FixedSizeBinary(16)` (trace) / `FixedSizeBinary(8)` (span); absent optional ids
//!   (`parent_span_id`, a log's ids, an exemplar's ids) are null;
//! - times are `Timestamp(Nanosecond, "UTC")`; the OTLP `fixed64` is stored bit for bit (an
//!   unset time is 0, the epoch);
//! - `kind`, `status_code`, `severity_number`, `aggregation_temporality` are the OTLP enum
//!   numbers (`Int32`);
//! - attributes are a `Map<Utf8, AnyValue>`; an `AnyValue` is a struct with a `type` tag (the
//!   OTLP `AnyValue` oneof field number: 0 empty, 1 string, 2 bool, 3 int, 4 double, 5 array,
//!   6 kvlist, 7 bytes) and one typed member per scalar kind; arrays and key-value lists are kept
//!   exactly as their OTLP protobuf bytes (`ArrayValue` / `KeyValueList` messages), so nothing is
//!   coerced or turned into JSON and every value round-trips.
#![forbid(unsafe_code)]

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// `AnyValue.type` tags: the OTLP `AnyValue` oneof field numbers (0 when no value is set).
pub mod value_type {
    /// No value set (an empty `AnyValue`).
    pub const EMPTY: u8 = 0;
    /// `string_value`
    pub const STRING: u8 = 1;
    /// `bool_value`
    pub const BOOL: u8 = 2;
    /// `int_value`
    pub const INT: u8 = 3;
    /// `double_value`
    pub const DOUBLE: u8 = 4;
    /// `array_value` (kept as `ArrayValue` protobuf bytes)
    pub const ARRAY: u8 = 5;
    /// `kvlist_value` (kept as `KeyValueList` protobuf bytes)
    pub const KVLIST: u8 = 6;
    /// `bytes_value`
    pub const BYTES: u8 = 7;
}

/// Names of the `metric_type` column's values.
pub mod metric_type {
    /// `Metric.gauge`
    pub const GAUGE: &str = "gauge";
    /// `Metric.sum`
    pub const SUM: &str = "sum";
    /// `Metric.histogram`
    pub const HISTOGRAM: &str = "histogram";
    /// `Metric.exponential_histogram`
    pub const EXPONENTIAL_HISTOGRAM: &str = "exponential_histogram";
    /// `Metric.summary`
    pub const SUMMARY: &str = "summary";
}

/// `Timestamp(Nanosecond, "UTC")`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The members of the `AnyValue` struct, in order.
pub fn any_value_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::UInt8, false),
        Field::new("string_value", DataType::Utf8, true),
        Field::new("bool_value", DataType::Boolean, true),
        Field::new("int_value", DataType::Int64, true),
        Field::new("double_value", DataType::Float64, true),
        Field::new("bytes_value", DataType::Binary, true),
        Field::new("array_value", DataType::Binary, true),
        Field::new("kvlist_value", DataType::Binary, true),
    ])
}

/// The `AnyValue` struct type (attribute values and log bodies).
pub fn any_value_type() -> DataType {
    DataType::Struct(any_value_fields())
}

/// The map entries field of an attributes column: `entries: Struct<key: Utf8, value: AnyValue>`.
pub fn attributes_entries_field() -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", any_value_type(), true),
        ])),
        false,
    ))
}

/// The attributes type: `Map<Utf8, AnyValue>` (keys not sorted; order as received).
pub fn attributes_type() -> DataType {
    DataType::Map(attributes_entries_field(), false)
}

fn ts(name: &str) -> Field {
    Field::new(name, timestamp_type(), false)
}

fn attrs(name: &str) -> Field {
    Field::new(name, attributes_type(), false)
}

fn u32_col(name: &str) -> Field {
    Field::new(name, DataType::UInt32, false)
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

/// Columns shared by all three signals, first in every schema.
fn common_fields() -> Vec<Field> {
    vec![
        attrs("resource_attributes"),
        u32_col("resource_dropped_attributes_count"),
        utf8("resource_schema_url"),
        utf8("scope_name"),
        utf8("scope_version"),
        attrs("scope_attributes"),
        u32_col("scope_dropped_attributes_count"),
        utf8("schema_url"),
    ]
}

fn list_of(item: DataType, nullable_items: bool) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, nullable_items)))
}

/// `Span.Event` as a struct.
pub fn event_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        ts("time_unix_nano"),
        utf8("name"),
        attrs("attributes"),
        u32_col("dropped_attributes_count"),
    ]))
}

/// `Span.Link` as a struct.
pub fn link_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        utf8("trace_state"),
        attrs("attributes"),
        u32_col("dropped_attributes_count"),
        u32_col("flags"),
    ]))
}

/// `Exemplar` as a struct.
pub fn exemplar_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        attrs("filtered_attributes"),
        ts("time_unix_nano"),
        Field::new("value_double", DataType::Float64, true),
        Field::new("value_int", DataType::Int64, true),
        Field::new("span_id", DataType::FixedSizeBinary(8), true),
        Field::new("trace_id", DataType::FixedSizeBinary(16), true),
    ]))
}

/// `SummaryDataPoint.ValueAtQuantile` as a struct.
pub fn quantile_type() -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("quantile", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

static TRACES: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut f = common_fields();
    f.extend([
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        utf8("trace_state"),
        Field::new("parent_span_id", DataType::FixedSizeBinary(8), true),
        u32_col("flags"),
        utf8("name"),
        Field::new("kind", DataType::Int32, false),
        ts("start_time_unix_nano"),
        ts("end_time_unix_nano"),
        attrs("attributes"),
        u32_col("dropped_attributes_count"),
        Field::new("events", list_of(event_type(), false), false),
        u32_col("dropped_events_count"),
        Field::new("links", list_of(link_type(), false), false),
        u32_col("dropped_links_count"),
        Field::new("status_code", DataType::Int32, false),
        utf8("status_message"),
    ]);
    Arc::new(Schema::new(f))
});

static METRICS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut f = common_fields();
    f.extend([
        utf8("metric_name"),
        utf8("metric_description"),
        utf8("metric_unit"),
        attrs("metric_metadata"),
        utf8("metric_type"),
        Field::new("aggregation_temporality", DataType::Int32, true),
        Field::new("is_monotonic", DataType::Boolean, true),
        ts("start_time_unix_nano"),
        ts("time_unix_nano"),
        attrs("attributes"),
        u32_col("flags"),
        Field::new("value_double", DataType::Float64, true),
        Field::new("value_int", DataType::Int64, true),
        Field::new("count", DataType::UInt64, true),
        Field::new("sum", DataType::Float64, true),
        Field::new("min", DataType::Float64, true),
        Field::new("max", DataType::Float64, true),
        Field::new("bucket_counts", list_of(DataType::UInt64, false), true),
        Field::new("explicit_bounds", list_of(DataType::Float64, false), true),
        Field::new("scale", DataType::Int32, true),
        Field::new("zero_count", DataType::UInt64, true),
        Field::new("zero_threshold", DataType::Float64, true),
        Field::new("positive_offset", DataType::Int32, true),
        Field::new(
            "positive_bucket_counts",
            list_of(DataType::UInt64, false),
            true,
        ),
        Field::new("negative_offset", DataType::Int32, true),
        Field::new(
            "negative_bucket_counts",
            list_of(DataType::UInt64, false),
            true,
        ),
        Field::new("quantile_values", list_of(quantile_type(), false), true),
        Field::new("exemplars", list_of(exemplar_type(), false), false),
    ]);
    Arc::new(Schema::new(f))
});

static LOGS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut f = common_fields();
    f.extend([
        ts("time_unix_nano"),
        ts("observed_time_unix_nano"),
        Field::new("severity_number", DataType::Int32, false),
        utf8("severity_text"),
        Field::new("body", any_value_type(), true),
        attrs("attributes"),
        u32_col("dropped_attributes_count"),
        u32_col("flags"),
        Field::new("trace_id", DataType::FixedSizeBinary(16), true),
        Field::new("span_id", DataType::FixedSizeBinary(8), true),
        utf8("event_name"),
    ]);
    Arc::new(Schema::new(f))
});

/// Schema of `<output_dir>/traces/` files: one row per span.
pub fn traces() -> SchemaRef {
    TRACES.clone()
}

/// Schema of `<output_dir>/metrics/` files: one row per metric data point. Columns that do
/// not apply to a point's `metric_type` are null (e.g. `bucket_counts` on a gauge point).
pub fn metrics() -> SchemaRef {
    METRICS.clone()
}

/// Schema of `<output_dir>/logs/` files: one row per log record.
pub fn logs() -> SchemaRef {
    LOGS.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_columns_exist_with_contract_types() {
        let t = traces();
        for name in [
            "trace_id",
            "span_id",
            "parent_span_id",
            "name",
            "kind",
            "start_time_unix_nano",
            "end_time_unix_nano",
            "attributes",
            "status_code",
            "resource_attributes",
            "scope_name",
            "scope_version",
        ] {
            assert!(t.field_with_name(name).is_ok(), "traces.{name}");
        }
        assert_eq!(
            t.field_with_name("trace_id").unwrap().data_type(),
            &DataType::FixedSizeBinary(16)
        );
        assert_eq!(
            t.field_with_name("span_id").unwrap().data_type(),
            &DataType::FixedSizeBinary(8)
        );
        assert!(t.field_with_name("parent_span_id").unwrap().is_nullable());
        assert_eq!(
            t.field_with_name("start_time_unix_nano")
                .unwrap()
                .data_type(),
            &timestamp_type()
        );
        let m = metrics();
        for name in [
            "metric_name",
            "metric_type",
            "aggregation_temporality",
            "time_unix_nano",
            "value_double",
            "value_int",
            "bucket_counts",
            "explicit_bounds",
            "resource_attributes",
        ] {
            assert!(m.field_with_name(name).is_ok(), "metrics.{name}");
        }
        let l = logs();
        for name in [
            "time_unix_nano",
            "severity_number",
            "severity_text",
            "body",
            "scope_name",
        ] {
            assert!(l.field_with_name(name).is_ok(), "logs.{name}");
        }
    }
}
