//! OTLP protobuf field numbers and wire types, shared by the encoder and the scanner.
//!
//! Taken from the opentelemetry-proto `.proto` files (v1). Fields the encoder and scanner both
//! touch are named once here so the two cannot disagree. `WT_*` are protobuf wire types.
#![forbid(unsafe_code)]
#![allow(missing_docs, dead_code)]

pub(crate) const WT_VARINT: u8 = 0;
pub(crate) const WT_I64: u8 = 1;
pub(crate) const WT_LEN: u8 = 2;
pub(crate) const WT_SGROUP: u8 = 3;
pub(crate) const WT_EGROUP: u8 = 4;
pub(crate) const WT_I32: u8 = 5;

/// `common.v1.AnyValue`
pub(crate) mod any_value {
    pub(crate) const STRING_VALUE: u32 = 1;
    pub(crate) const BOOL_VALUE: u32 = 2;
    pub(crate) const INT_VALUE: u32 = 3;
    pub(crate) const DOUBLE_VALUE: u32 = 4;
    pub(crate) const ARRAY_VALUE: u32 = 5;
    pub(crate) const KVLIST_VALUE: u32 = 6;
    pub(crate) const BYTES_VALUE: u32 = 7;
}
/// `common.v1.ArrayValue` and `common.v1.KeyValueList`: both have `values = 1`.
pub(crate) mod list {
    pub(crate) const VALUES: u32 = 1;
}
/// `common.v1.KeyValue`
pub(crate) mod key_value {
    pub(crate) const KEY: u32 = 1;
    pub(crate) const VALUE: u32 = 2;
}
/// `common.v1.InstrumentationScope`
pub(crate) mod scope {
    pub(crate) const NAME: u32 = 1;
    pub(crate) const VERSION: u32 = 2;
    pub(crate) const ATTRIBUTES: u32 = 3;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 4;
}
/// `resource.v1.Resource`
pub(crate) mod resource {
    pub(crate) const ATTRIBUTES: u32 = 1;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 2;
    pub(crate) const ENTITY_REFS: u32 = 3;
}
/// `Export{Trace,Metrics,Logs}ServiceRequest`, `TracesData`, `MetricsData`, `LogsData`: the
/// repeated `Resource*` field is 1 in all of them.
pub(crate) mod request {
    pub(crate) const RESOURCE_ITEMS: u32 = 1;
}
/// `ResourceSpans`, `ResourceMetrics`, `ResourceLogs`: same numbering in all three.
pub(crate) mod resource_items {
    pub(crate) const RESOURCE: u32 = 1;
    pub(crate) const SCOPE_ITEMS: u32 = 2;
    pub(crate) const SCHEMA_URL: u32 = 3;
}
/// `ScopeSpans`, `ScopeMetrics`, `ScopeLogs`: same numbering in all three.
pub(crate) mod scope_items {
    pub(crate) const SCOPE: u32 = 1;
    pub(crate) const ITEMS: u32 = 2;
    pub(crate) const SCHEMA_URL: u32 = 3;
}
/// `trace.v1.Span`
pub(crate) mod span {
    pub(crate) const TRACE_ID: u32 = 1; // bytes(16)
    pub(crate) const SPAN_ID: u32 = 2; // bytes(8)
    pub(crate) const TRACE_STATE: u32 = 3;
    pub(crate) const PARENT_SPAN_ID: u32 = 4; // bytes(8) or empty
    pub(crate) const NAME: u32 = 5;
    pub(crate) const KIND: u32 = 6; // enum
    pub(crate) const START_TIME_UNIX_NANO: u32 = 7; // fixed64
    pub(crate) const END_TIME_UNIX_NANO: u32 = 8; // fixed64
    pub(crate) const ATTRIBUTES: u32 = 9;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 10;
    pub(crate) const EVENTS: u32 = 11;
    pub(crate) const DROPPED_EVENTS_COUNT: u32 = 12;
    pub(crate) const LINKS: u32 = 13;
    pub(crate) const DROPPED_LINKS_COUNT: u32 = 14;
    pub(crate) const STATUS: u32 = 15;
    pub(crate) const FLAGS: u32 = 16; // fixed32
}
/// `trace.v1.Span.Event`
pub(crate) mod event {
    pub(crate) const TIME_UNIX_NANO: u32 = 1; // fixed64
    pub(crate) const NAME: u32 = 2;
    pub(crate) const ATTRIBUTES: u32 = 3;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 4;
}
/// `trace.v1.Span.Link`
pub(crate) mod link {
    pub(crate) const TRACE_ID: u32 = 1;
    pub(crate) const SPAN_ID: u32 = 2;
    pub(crate) const TRACE_STATE: u32 = 3;
    pub(crate) const ATTRIBUTES: u32 = 4;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 5;
    pub(crate) const FLAGS: u32 = 6; // fixed32
}
/// `trace.v1.Status` (field 1 is reserved)
pub(crate) mod status {
    pub(crate) const MESSAGE: u32 = 2;
    pub(crate) const CODE: u32 = 3; // enum
}
/// `metrics.v1.Metric`
pub(crate) mod metric {
    pub(crate) const NAME: u32 = 1;
    pub(crate) const DESCRIPTION: u32 = 2;
    pub(crate) const UNIT: u32 = 3;
    pub(crate) const GAUGE: u32 = 5;
    pub(crate) const SUM: u32 = 7;
    pub(crate) const HISTOGRAM: u32 = 9;
    pub(crate) const EXPONENTIAL_HISTOGRAM: u32 = 10;
    pub(crate) const SUMMARY: u32 = 11;
    pub(crate) const METADATA: u32 = 12; // repeated KeyValue
}
/// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram`, `Summary`
pub(crate) mod data {
    pub(crate) const DATA_POINTS: u32 = 1;
    pub(crate) const AGGREGATION_TEMPORALITY: u32 = 2; // enum (not in Gauge/Summary)
    pub(crate) const IS_MONOTONIC: u32 = 3; // bool (Sum only)
}
/// `metrics.v1.NumberDataPoint`
pub(crate) mod number_point {
    pub(crate) const START_TIME_UNIX_NANO: u32 = 2; // fixed64
    pub(crate) const TIME_UNIX_NANO: u32 = 3; // fixed64
    pub(crate) const AS_DOUBLE: u32 = 4; // double
    pub(crate) const EXEMPLARS: u32 = 5;
    pub(crate) const AS_INT: u32 = 6; // sfixed64
    pub(crate) const ATTRIBUTES: u32 = 7;
    pub(crate) const FLAGS: u32 = 8; // uint32
}
/// `metrics.v1.HistogramDataPoint`
pub(crate) mod histogram_point {
    pub(crate) const START_TIME_UNIX_NANO: u32 = 2;
    pub(crate) const TIME_UNIX_NANO: u32 = 3;
    pub(crate) const COUNT: u32 = 4; // fixed64
    pub(crate) const SUM: u32 = 5; // optional double
    pub(crate) const BUCKET_COUNTS: u32 = 6; // repeated fixed64, packed
    pub(crate) const EXPLICIT_BOUNDS: u32 = 7; // repeated double, packed
    pub(crate) const EXEMPLARS: u32 = 8;
    pub(crate) const ATTRIBUTES: u32 = 9;
    pub(crate) const FLAGS: u32 = 10;
    pub(crate) const MIN: u32 = 11; // optional double
    pub(crate) const MAX: u32 = 12; // optional double
}
/// `metrics.v1.ExponentialHistogramDataPoint`
pub(crate) mod exp_histogram_point {
    pub(crate) const ATTRIBUTES: u32 = 1;
    pub(crate) const START_TIME_UNIX_NANO: u32 = 2;
    pub(crate) const TIME_UNIX_NANO: u32 = 3;
    pub(crate) const COUNT: u32 = 4; // fixed64
    pub(crate) const SUM: u32 = 5; // optional double
    pub(crate) const SCALE: u32 = 6; // sint32
    pub(crate) const ZERO_COUNT: u32 = 7; // fixed64
    pub(crate) const POSITIVE: u32 = 8;
    pub(crate) const NEGATIVE: u32 = 9;
    pub(crate) const FLAGS: u32 = 10;
    pub(crate) const EXEMPLARS: u32 = 11;
    pub(crate) const MIN: u32 = 12;
    pub(crate) const MAX: u32 = 13;
    pub(crate) const ZERO_THRESHOLD: u32 = 14; // double
}
/// `ExponentialHistogramDataPoint.Buckets`
pub(crate) mod buckets {
    pub(crate) const OFFSET: u32 = 1; // sint32
    pub(crate) const BUCKET_COUNTS: u32 = 2; // repeated uint64, packed varints
}
/// `metrics.v1.SummaryDataPoint`
pub(crate) mod summary_point {
    pub(crate) const START_TIME_UNIX_NANO: u32 = 2;
    pub(crate) const TIME_UNIX_NANO: u32 = 3;
    pub(crate) const COUNT: u32 = 4; // fixed64
    pub(crate) const SUM: u32 = 5; // double
    pub(crate) const QUANTILE_VALUES: u32 = 6;
    pub(crate) const ATTRIBUTES: u32 = 7;
    pub(crate) const FLAGS: u32 = 8;
}
/// `SummaryDataPoint.ValueAtQuantile`
pub(crate) mod quantile {
    pub(crate) const QUANTILE: u32 = 1; // double
    pub(crate) const VALUE: u32 = 2; // double
}
/// `metrics.v1.Exemplar`
pub(crate) mod exemplar {
    pub(crate) const TIME_UNIX_NANO: u32 = 2; // fixed64
    pub(crate) const AS_DOUBLE: u32 = 3;
    pub(crate) const SPAN_ID: u32 = 4;
    pub(crate) const TRACE_ID: u32 = 5;
    pub(crate) const AS_INT: u32 = 6; // sfixed64
    pub(crate) const FILTERED_ATTRIBUTES: u32 = 7;
}
/// `logs.v1.LogRecord`
pub(crate) mod log_record {
    pub(crate) const TIME_UNIX_NANO: u32 = 1; // fixed64
    pub(crate) const SEVERITY_NUMBER: u32 = 2; // enum
    pub(crate) const SEVERITY_TEXT: u32 = 3;
    pub(crate) const BODY: u32 = 5; // AnyValue
    pub(crate) const ATTRIBUTES: u32 = 6;
    pub(crate) const DROPPED_ATTRIBUTES_COUNT: u32 = 7;
    pub(crate) const FLAGS: u32 = 8; // fixed32
    pub(crate) const TRACE_ID: u32 = 9;
    pub(crate) const SPAN_ID: u32 = 10;
    pub(crate) const OBSERVED_TIME_UNIX_NANO: u32 = 11; // fixed64
    pub(crate) const EVENT_NAME: u32 = 12;
}
