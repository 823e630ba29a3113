//! The `#[repr(C)]` views C callers fill in: strings, attribute values, spans, metrics, logs.
//!
//! Everything is borrowed for the duration of one call and never kept: strings are a pointer
//! and a byte length (not NUL-terminated; `ptr` may be NULL only when `len` is 0), arrays a
//! pointer and an element count. Enumerations are plain `uint32_t` fields checked on entry
//! (an unknown number is `OTLP_ARROW_INVALID_ARGUMENT`); the `#[repr(u32)]` enums below exist
//! only to name the numbers in the header, they are never read from C memory. Yes/no flags
//! are `uint8_t` (non-zero = yes), so any byte a caller leaves there is a valid value.
//!
//! Layouts are frozen once released: a field is never moved or retyped; new optional data
//! comes as new structs or functions.

use core::ffi::c_char;

/// A borrowed UTF-8 string: `len` bytes at `ptr`, not NUL-terminated. `{NULL, 0}` is the empty
/// string; NULL with a non-zero length is `OTLP_ARROW_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_str {
    /// First byte (need not be NUL-terminated).
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

/// Borrowed bytes: `len` bytes at `ptr` (`{NULL, 0}` is empty).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_bytes {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// A borrowed array of values (an OTLP `ArrayValue`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_array {
    /// First element.
    pub values: *const otlp_arrow_value,
    /// Number of elements.
    pub len: usize,
}

/// A borrowed list of key-value pairs (an OTLP `KeyValueList`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_kvlist {
    /// First attribute.
    pub attributes: *const otlp_arrow_attribute,
    /// Number of attributes.
    pub len: usize,
}

/// The member of `otlp_arrow_value` named by its `type`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union otlp_arrow_value_data {
    /// `OTLP_ARROW_VALUE_TYPE_STRING`
    pub string_value: otlp_arrow_str,
    /// `OTLP_ARROW_VALUE_TYPE_BOOL`: non-zero is true.
    pub bool_value: u8,
    /// `OTLP_ARROW_VALUE_TYPE_INT`
    pub int_value: i64,
    /// `OTLP_ARROW_VALUE_TYPE_DOUBLE`
    pub double_value: f64,
    /// `OTLP_ARROW_VALUE_TYPE_BYTES`
    pub bytes_value: otlp_arrow_bytes,
    /// `OTLP_ARROW_VALUE_TYPE_ARRAY`
    pub array_value: otlp_arrow_array,
    /// `OTLP_ARROW_VALUE_TYPE_KVLIST`
    pub kvlist_value: otlp_arrow_kvlist,
}

impl core::fmt::Debug for otlp_arrow_value_data {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("otlp_arrow_value_data { .. }")
    }
}

/// An attribute value or log body (an OTLP `AnyValue`): a `type` tag
/// (`OTLP_ARROW_VALUE_TYPE_*`) and the member it names. Arrays and key-value lists nest up to
/// `OTLP_ARROW_MAX_DEPTH` levels.
///
/// cbindgen:field-names=[type, data]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_value {
    /// Which member of `data` is set: an `OTLP_ARROW_VALUE_TYPE_*` number (`type` in C).
    pub type_: u32,
    /// The value.
    pub data: otlp_arrow_value_data,
}

impl Default for otlp_arrow_value {
    /// An empty value (`OTLP_ARROW_VALUE_TYPE_EMPTY`).
    fn default() -> Self {
        otlp_arrow_value {
            type_: 0,
            data: otlp_arrow_value_data { int_value: 0 },
        }
    }
}

impl Default for otlp_arrow_str {
    /// The empty string.
    fn default() -> Self {
        otlp_arrow_str {
            ptr: core::ptr::null(),
            len: 0,
        }
    }
}

/// One attribute: a key and a value (an OTLP `KeyValue`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlp_arrow_attribute {
    /// The key.
    pub key: otlp_arrow_str,
    /// The value.
    pub value: otlp_arrow_value,
}

/// `otlp_arrow_value.type`: the OTLP `AnyValue` oneof field numbers (also the `type` tag of
/// the stored Arrow `AnyValue` struct, docs/SCHEMA.md).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_value_type {
    /// No value (an empty `AnyValue`).
    Empty = 0,
    /// `data.string_value`
    String = 1,
    /// `data.bool_value`
    Bool = 2,
    /// `data.int_value`
    Int = 3,
    /// `data.double_value`
    Double = 4,
    /// `data.array_value`
    Array = 5,
    /// `data.kvlist_value`
    Kvlist = 6,
    /// `data.bytes_value`
    Bytes = 7,
}

/// `otlp_arrow_span.kind`: OTLP `Span.SpanKind`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_span_kind {
    /// `SPAN_KIND_UNSPECIFIED`
    Unspecified = 0,
    /// `SPAN_KIND_INTERNAL`
    Internal = 1,
    /// `SPAN_KIND_SERVER`
    Server = 2,
    /// `SPAN_KIND_CLIENT`
    Client = 3,
    /// `SPAN_KIND_PRODUCER`
    Producer = 4,
    /// `SPAN_KIND_CONSUMER`
    Consumer = 5,
}

/// `otlp_arrow_span.status_code`: OTLP `Status.StatusCode`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_span_status_code {
    /// `STATUS_CODE_UNSET` (with an empty message: no status is written)
    Unset = 0,
    /// `STATUS_CODE_OK`
    Ok = 1,
    /// `STATUS_CODE_ERROR`
    Error = 2,
}

/// `otlp_arrow_metric.metric_type`: which kind of data the metric carries.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_metric_type {
    /// `gauge`: `number_points`
    Gauge = 1,
    /// `sum`: `number_points`, `aggregation_temporality`, `is_monotonic`
    Sum = 2,
    /// `histogram`: `histogram_points`, `aggregation_temporality`
    Histogram = 3,
    /// `exponential_histogram`: `exponential_histogram_points`, `aggregation_temporality`
    ExponentialHistogram = 4,
    /// `summary`: `summary_points`
    Summary = 5,
}

/// `otlp_arrow_metric.aggregation_temporality`: OTLP `AggregationTemporality`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_temporality {
    /// `AGGREGATION_TEMPORALITY_UNSPECIFIED`
    Unspecified = 0,
    /// `AGGREGATION_TEMPORALITY_DELTA`
    Delta = 1,
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE`
    Cumulative = 2,
}

/// `otlp_arrow_number_point.value_type`: which member of the `value` oneof is set.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_number_type {
    /// Neither (`value` unset).
    None = 0,
    /// `as_double`
    Double = 1,
    /// `as_int`
    Int = 2,
}

/// `otlp_arrow_log.severity_number`: OTLP `SeverityNumber` (0..=24; the first of each group
/// is named here, `+1`..`+3` are the `2`..`4` variants).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlp_arrow_severity {
    /// `SEVERITY_NUMBER_UNSPECIFIED`
    Unspecified = 0,
    /// `SEVERITY_NUMBER_TRACE`
    Trace = 1,
    /// `SEVERITY_NUMBER_DEBUG`
    Debug = 5,
    /// `SEVERITY_NUMBER_INFO`
    Info = 9,
    /// `SEVERITY_NUMBER_WARN`
    Warn = 13,
    /// `SEVERITY_NUMBER_ERROR`
    Error = 17,
    /// `SEVERITY_NUMBER_FATAL`
    Fatal = 21,
}

/// A span event.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_event {
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `name`
    pub name: otlp_arrow_str,
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
}

/// A span link.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_link {
    /// `trace_id`
    pub trace_id: [u8; 16],
    /// `span_id`
    pub span_id: [u8; 8],
    /// `trace_state`
    pub trace_state: otlp_arrow_str,
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `flags` (W3C trace flags and the OTLP `SpanFlags` bits)
    pub flags: u32,
}

/// A finished span. Zero-initialise it and set what you have: an all-zero `parent_span_id`
/// means a root span; `status_code` UNSET with an empty message writes no status.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_span {
    /// Resource: 0 for the one from the configuration, or an id from
    /// `otlp_arrow_register_resource`.
    pub resource_id: u32,
    /// Instrumentation scope: 0 for the one from the configuration, or an id from
    /// `otlp_arrow_register_scope`.
    pub scope_id: u32,
    /// `trace_id`
    pub trace_id: [u8; 16],
    /// `span_id`
    pub span_id: [u8; 8],
    /// `parent_span_id`; all zero: none (a root span).
    pub parent_span_id: [u8; 8],
    /// `trace_state`
    pub trace_state: otlp_arrow_str,
    /// `name`
    pub name: otlp_arrow_str,
    /// `kind`: `OTLP_ARROW_SPAN_KIND_*`.
    pub kind: u32,
    /// `flags`
    pub flags: u32,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `end_time_unix_nano`
    pub end_time_unix_nano: u64,
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `dropped_events_count` (events past `OTLP_ARROW_MAX_EVENTS` are added to it).
    pub dropped_events_count: u32,
    /// `events`
    pub events: *const otlp_arrow_event,
    /// Number of `events`.
    pub events_len: usize,
    /// `links`
    pub links: *const otlp_arrow_link,
    /// Number of `links`.
    pub links_len: usize,
    /// `dropped_links_count` (links past `OTLP_ARROW_MAX_LINKS` are added to it).
    pub dropped_links_count: u32,
    /// `status.code`: `OTLP_ARROW_SPAN_STATUS_CODE_*`.
    pub status_code: u32,
    /// `status.message`
    pub status_message: otlp_arrow_str,
}

/// A data point of a gauge or a sum.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_number_point {
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// Which of `as_double` / `as_int` is the value: `OTLP_ARROW_NUMBER_TYPE_*`.
    pub value_type: u32,
    /// `flags` (`DataPointFlags`)
    pub flags: u32,
    /// `as_double`
    pub as_double: f64,
    /// `as_int`
    pub as_int: i64,
}

/// A data point of an explicit-bucket histogram.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_histogram_point {
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum` (written when `has_sum`)
    pub sum: f64,
    /// `min` (written when `has_min`)
    pub min: f64,
    /// `max` (written when `has_max`)
    pub max: f64,
    /// `bucket_counts`
    pub bucket_counts: *const u64,
    /// Number of `bucket_counts`.
    pub bucket_counts_len: usize,
    /// `explicit_bounds`
    pub explicit_bounds: *const f64,
    /// Number of `explicit_bounds`.
    pub explicit_bounds_len: usize,
    /// `flags`
    pub flags: u32,
    /// Non-zero: `sum` is set.
    pub has_sum: u8,
    /// Non-zero: `min` is set.
    pub has_min: u8,
    /// Non-zero: `max` is set.
    pub has_max: u8,
}

/// A data point of an exponential histogram.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_exponential_histogram_point {
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum` (written when `has_sum`)
    pub sum: f64,
    /// `min` (written when `has_min`)
    pub min: f64,
    /// `max` (written when `has_max`)
    pub max: f64,
    /// `zero_count`
    pub zero_count: u64,
    /// `zero_threshold`
    pub zero_threshold: f64,
    /// `positive.bucket_counts`
    pub positive_bucket_counts: *const u64,
    /// Number of `positive_bucket_counts`.
    pub positive_bucket_counts_len: usize,
    /// `negative.bucket_counts`
    pub negative_bucket_counts: *const u64,
    /// Number of `negative_bucket_counts`.
    pub negative_bucket_counts_len: usize,
    /// `scale`
    pub scale: i32,
    /// `positive.offset`
    pub positive_offset: i32,
    /// `negative.offset`
    pub negative_offset: i32,
    /// `flags`
    pub flags: u32,
    /// Non-zero: `sum` is set.
    pub has_sum: u8,
    /// Non-zero: `min` is set.
    pub has_min: u8,
    /// Non-zero: `max` is set.
    pub has_max: u8,
}

/// One quantile of a summary point.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_quantile {
    /// `quantile` (0.0 ..= 1.0)
    pub quantile: f64,
    /// `value`
    pub value: f64,
}

/// A data point of a summary.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_summary_point {
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum`
    pub sum: f64,
    /// `quantile_values`
    pub quantile_values: *const otlp_arrow_quantile,
    /// Number of `quantile_values`.
    pub quantile_values_len: usize,
    /// `flags`
    pub flags: u32,
}

/// A metric with up to `OTLP_ARROW_MAX_POINTS` data points of one kind: the pointer that
/// matches `metric_type` is read, the others are ignored. Exemplars are not supported.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_metric {
    /// Resource id (0: the configuration's).
    pub resource_id: u32,
    /// Scope id (0: the configuration's).
    pub scope_id: u32,
    /// `name`
    pub name: otlp_arrow_str,
    /// `description`
    pub description: otlp_arrow_str,
    /// `unit`
    pub unit: otlp_arrow_str,
    /// `OTLP_ARROW_METRIC_TYPE_*`
    pub metric_type: u32,
    /// `OTLP_ARROW_TEMPORALITY_*` (sums and histograms)
    pub aggregation_temporality: u32,
    /// Non-zero: a monotonic sum.
    pub is_monotonic: u8,
    /// Gauge and sum points.
    pub number_points: *const otlp_arrow_number_point,
    /// Histogram points.
    pub histogram_points: *const otlp_arrow_histogram_point,
    /// Exponential histogram points.
    pub exponential_histogram_points: *const otlp_arrow_exponential_histogram_point,
    /// Summary points.
    pub summary_points: *const otlp_arrow_summary_point,
    /// Number of points behind the pointer that `metric_type` selects.
    pub points_len: usize,
}

/// A log record. All-zero `trace_id` / `span_id` mean "not set".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlp_arrow_log {
    /// Resource id (0: the configuration's).
    pub resource_id: u32,
    /// Scope id (0: the configuration's).
    pub scope_id: u32,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano`
    pub observed_time_unix_nano: u64,
    /// `severity_number`: 0..=24 (`OTLP_ARROW_SEVERITY_*`).
    pub severity_number: u32,
    /// `flags`
    pub flags: u32,
    /// `severity_text`
    pub severity_text: otlp_arrow_str,
    /// `body`; NULL: no body.
    pub body: *const otlp_arrow_value,
    /// `attributes`
    pub attributes: *const otlp_arrow_attribute,
    /// Number of `attributes`.
    pub attributes_len: usize,
    /// `dropped_attributes_count`
    pub dropped_attributes_count: u32,
    /// `trace_id`
    pub trace_id: [u8; 16],
    /// `span_id`
    pub span_id: [u8; 8],
    /// `event_name`
    pub event_name: otlp_arrow_str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_data_debug_shows_no_member_since_c_decides_which_is_set() {
        let v = otlp_arrow_value {
            type_: 3,
            data: otlp_arrow_value_data { int_value: 7 },
        };
        let shown = format!("{v:?}");
        assert!(shown.contains("type_: 3"), "{shown}");
        assert!(shown.contains("otlp_arrow_value_data { .. }"), "{shown}");
    }
}
