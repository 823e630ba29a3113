"""ctypes declarations of include/otlp_arrow.h: every structure, every symbol's argtypes and
restype. Layouts mirror the header field for field (ctypes follows the platform C ABI).

Strings passed in are Python-owned bytes behind `c_char_p` fields (kept alive by the
structure); the only string the library owns, `otlp_arrow_version()`, is declared as
`c_void_p` and copied out with `ctypes.string_at`."""
from __future__ import annotations

import ctypes
import os
import pathlib
from ctypes import (
    POINTER,
    Structure,
    Union,
    c_char_p,
    c_double,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

# Status codes (never reused).
OK = 0
INVALID_ARGUMENT = 1
FULL = 2
TOO_LARGE = 3
CLOSED = 4
IO = 5
CONFIG = 6
PANIC = 7
TIMED_OUT = 8
LIMIT = 9

# otlp_arrow_value_type
EMPTY, STRING, BOOL, INT, DOUBLE, ARRAY, KVLIST, BYTES = range(8)

MAX_POINTS = 64


class Handle(Structure):
    """The opaque `otlp_arrow` handle (only ever used behind a pointer)."""


class Str(Structure):
    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]


class Bytes(Structure):
    _fields_ = [("ptr", c_char_p), ("len", c_size_t)]


class Value(Structure):
    pass


class Attribute(Structure):
    pass


class Array(Structure):
    _fields_ = [("values", POINTER(Value)), ("len", c_size_t)]


class KvList(Structure):
    _fields_ = [("attributes", POINTER(Attribute)), ("len", c_size_t)]


class ValueData(Union):
    _fields_ = [
        ("string_value", Str),
        ("bool_value", c_uint8),
        ("int_value", c_int64),
        ("double_value", c_double),
        ("bytes_value", Bytes),
        ("array_value", Array),
        ("kvlist_value", KvList),
    ]


Value._fields_ = [("type", c_uint32), ("data", ValueData)]
Attribute._fields_ = [("key", Str), ("value", Value)]


class Event(Structure):
    _fields_ = [
        ("time_unix_nano", c_uint64),
        ("name", Str),
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("dropped_attributes_count", c_uint32),
    ]


class Link(Structure):
    _fields_ = [
        ("trace_id", c_uint8 * 16),
        ("span_id", c_uint8 * 8),
        ("trace_state", Str),
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("dropped_attributes_count", c_uint32),
        ("flags", c_uint32),
    ]


class Span(Structure):
    _fields_ = [
        ("resource_id", c_uint32),
        ("scope_id", c_uint32),
        ("trace_id", c_uint8 * 16),
        ("span_id", c_uint8 * 8),
        ("parent_span_id", c_uint8 * 8),
        ("trace_state", Str),
        ("name", Str),
        ("kind", c_uint32),
        ("flags", c_uint32),
        ("start_time_unix_nano", c_uint64),
        ("end_time_unix_nano", c_uint64),
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("dropped_attributes_count", c_uint32),
        ("dropped_events_count", c_uint32),
        ("events", POINTER(Event)),
        ("events_len", c_size_t),
        ("links", POINTER(Link)),
        ("links_len", c_size_t),
        ("dropped_links_count", c_uint32),
        ("status_code", c_uint32),
        ("status_message", Str),
    ]


class NumberPoint(Structure):
    _fields_ = [
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("start_time_unix_nano", c_uint64),
        ("time_unix_nano", c_uint64),
        ("value_type", c_uint32),
        ("flags", c_uint32),
        ("as_double", c_double),
        ("as_int", c_int64),
    ]


class HistogramPoint(Structure):
    _fields_ = [
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("start_time_unix_nano", c_uint64),
        ("time_unix_nano", c_uint64),
        ("count", c_uint64),
        ("sum", c_double),
        ("min", c_double),
        ("max", c_double),
        ("bucket_counts", POINTER(c_uint64)),
        ("bucket_counts_len", c_size_t),
        ("explicit_bounds", POINTER(c_double)),
        ("explicit_bounds_len", c_size_t),
        ("flags", c_uint32),
        ("has_sum", c_uint8),
        ("has_min", c_uint8),
        ("has_max", c_uint8),
    ]


class ExponentialHistogramPoint(Structure):
    _fields_ = [
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("start_time_unix_nano", c_uint64),
        ("time_unix_nano", c_uint64),
        ("count", c_uint64),
        ("sum", c_double),
        ("min", c_double),
        ("max", c_double),
        ("zero_count", c_uint64),
        ("zero_threshold", c_double),
        ("positive_bucket_counts", POINTER(c_uint64)),
        ("positive_bucket_counts_len", c_size_t),
        ("negative_bucket_counts", POINTER(c_uint64)),
        ("negative_bucket_counts_len", c_size_t),
        ("scale", c_int32),
        ("positive_offset", c_int32),
        ("negative_offset", c_int32),
        ("flags", c_uint32),
        ("has_sum", c_uint8),
        ("has_min", c_uint8),
        ("has_max", c_uint8),
    ]


class Quantile(Structure):
    _fields_ = [("quantile", c_double), ("value", c_double)]


class SummaryPoint(Structure):
    _fields_ = [
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("start_time_unix_nano", c_uint64),
        ("time_unix_nano", c_uint64),
        ("count", c_uint64),
        ("sum", c_double),
        ("quantile_values", POINTER(Quantile)),
        ("quantile_values_len", c_size_t),
        ("flags", c_uint32),
    ]


class Metric(Structure):
    _fields_ = [
        ("resource_id", c_uint32),
        ("scope_id", c_uint32),
        ("name", Str),
        ("description", Str),
        ("unit", Str),
        ("metric_type", c_uint32),
        ("aggregation_temporality", c_uint32),
        ("is_monotonic", c_uint8),
        ("number_points", POINTER(NumberPoint)),
        ("histogram_points", POINTER(HistogramPoint)),
        ("exponential_histogram_points", POINTER(ExponentialHistogramPoint)),
        ("summary_points", POINTER(SummaryPoint)),
        ("points_len", c_size_t),
    ]


class Log(Structure):
    _fields_ = [
        ("resource_id", c_uint32),
        ("scope_id", c_uint32),
        ("time_unix_nano", c_uint64),
        ("observed_time_unix_nano", c_uint64),
        ("severity_number", c_uint32),
        ("flags", c_uint32),
        ("severity_text", Str),
        ("body", POINTER(Value)),
        ("attributes", POINTER(Attribute)),
        ("attributes_len", c_size_t),
        ("dropped_attributes_count", c_uint32),
        ("trace_id", c_uint8 * 16),
        ("span_id", c_uint8 * 8),
        ("event_name", Str),
    ]


class SignalCounters(Structure):
    _fields_ = [
        (name, c_uint64)
        for name in (
            "ring_capacity",
            "ring_in_use_bytes",
            "records_read",
            "rejected_full",
            "rejected_too_large",
            "rejected_invalid",
            "decode_errors",
            "rows_written",
            "batches_written",
            "bytes_written",
            "files_finalized",
            "write_errors",
            "lost_rows",
            "lost_records",
        )
    ]


class Counters(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("traces", SignalCounters),
        ("metrics", SignalCounters),
        ("logs", SignalCounters),
    ]


HandleP = POINTER(Handle)

# name: (restype, argtypes)
SIGNATURES = {
    "otlp_arrow_version": (c_void_p, []),
    "otlp_arrow_last_error": (c_size_t, [c_char_p, c_size_t]),
    "otlp_arrow_open": (c_uint32, [c_char_p, c_size_t, POINTER(HandleP)]),
    "otlp_arrow_close": (c_uint32, [HandleP]),
    "otlp_arrow_flush": (c_uint32, [HandleP, c_uint64]),
    "otlp_arrow_stats": (c_uint32, [HandleP, POINTER(Counters)]),
    "otlp_arrow_register_resource": (
        c_uint32,
        [HandleP, POINTER(Attribute), c_size_t, c_uint32, Str, POINTER(c_uint32)],
    ),
    "otlp_arrow_register_scope": (
        c_uint32,
        [HandleP, Str, Str, POINTER(Attribute), c_size_t, Str, POINTER(c_uint32)],
    ),
    "otlp_arrow_record_span": (c_uint32, [HandleP, POINTER(Span)]),
    "otlp_arrow_record_metric": (c_uint32, [HandleP, POINTER(Metric)]),
    "otlp_arrow_record_log": (c_uint32, [HandleP, POINTER(Log)]),
}


def _candidates():
    env = os.environ.get("OTLP_ARROW_LIB")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    for name in ("libotlp_arrow.so", "libotlp_arrow.dylib", "otlp_arrow.dll"):
        yield here / name


def load() -> ctypes.CDLL:
    """Loads libotlp_arrow: `$OTLP_ARROW_LIB` if set, else the library next to this package.
    Declares argtypes and restype of every symbol."""
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.exists():
            lib = ctypes.CDLL(str(path))
            for name, (restype, argtypes) in SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype = restype
                fn.argtypes = argtypes
            return lib
    raise OSError(
        "libotlp_arrow not found (tried: "
        + ", ".join(tried)
        + "); build it with `cargo build -p otlp-arrow-ffi --release` and set OTLP_ARROW_LIB "
        "to target/release/libotlp_arrow.so"
    )
