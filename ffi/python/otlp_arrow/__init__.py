"""otlp_arrow: record OpenTelemetry spans, metric points and log records into local Arrow IPC
files through libotlp_arrow (the C ABI), in pure Python over ctypes.

    import otlp_arrow

    with otlp_arrow.Library(output_dir="./otlp-data", storage={"max_batch_rows": 100}) as lib:
        lib.record_span("GET /", trace_id=1, span_id=2, attributes={"http.status_code": 200})
        lib.flush()
        print(lib.stats().traces.rows_written)

Configuration: `Library(config=None, **keys)` takes the service's TOML configuration. Keyword
arguments map onto its keys: a dict is a table (`storage={"max_batch_rows": 100}` is
`[storage] max_batch_rows = 100`), a dotted name is a path (`**{"ring.traces": "64MiB"}`),
everything else a top-level key (`output_dir="..."`). `config` may be TOML text that the
keywords then extend or override.

The shared library is `$OTLP_ARROW_LIB` if set, else `libotlp_arrow.so` next to this package.

Errors raise `otlp_arrow.Error` subclasses carrying the status code and the library's
`last_error` message: `InvalidArgument`, `Full`, `TooLarge`, `Closed`, `StorageError`,
`ConfigError`, `TimedOut`, `LimitError`, `InternalError`.
"""
from __future__ import annotations

import ctypes
import dataclasses
import math
import re
import struct
import threading
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _ffi

__all__ = [
    "Library",
    "Stats",
    "SignalStats",
    "Event",
    "Link",
    "NumberPoint",
    "HistogramPoint",
    "ExponentialHistogramPoint",
    "SummaryPoint",
    "SpanKind",
    "StatusCode",
    "Error",
    "InvalidArgument",
    "Full",
    "TooLarge",
    "Closed",
    "StorageError",
    "ConfigError",
    "TimedOut",
    "LimitError",
    "InternalError",
    "version",
    "to_toml",
]

AttributeValue = Any  # str | bool | int | float | bytes | None | Sequence | Mapping
Attributes = Optional[Mapping[str, AttributeValue]]
Id = Union[bytes, int]


class SpanKind:
    """OTLP span kinds (`otlp_arrow_span_kind`)."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode:
    """OTLP span status codes."""

    UNSET = 0
    OK = 1
    ERROR = 2


class Error(Exception):
    """A failed library call: `status` is the C status code, `last_error` the message."""

    status: int = -1

    def __init__(self, status: int, last_error: str):
        super().__init__(f"{last_error} (status {status})")
        self.status = status
        self.last_error = last_error


class InvalidArgument(Error):
    """OTLP_ARROW_INVALID_ARGUMENT: nothing was recorded."""


class Full(Error):
    """OTLP_ARROW_FULL: the ring is full; the item was dropped (and counted)."""


class TooLarge(Error):
    """OTLP_ARROW_TOO_LARGE: the record can never fit the ring."""


class Closed(Error):
    """OTLP_ARROW_CLOSED (or the Python object was closed)."""


class StorageError(Error):
    """OTLP_ARROW_IO."""


class ConfigError(Error):
    """OTLP_ARROW_CONFIG."""


class TimedOut(Error):
    """OTLP_ARROW_TIMED_OUT (flush)."""


class LimitError(Error):
    """OTLP_ARROW_LIMIT: too many resources or scopes registered."""


class InternalError(Error):
    """OTLP_ARROW_PANIC: a bug in the library, caught at the boundary."""


_ERRORS = {
    _ffi.INVALID_ARGUMENT: InvalidArgument,
    _ffi.FULL: Full,
    _ffi.TOO_LARGE: TooLarge,
    _ffi.CLOSED: Closed,
    _ffi.IO: StorageError,
    _ffi.CONFIG: ConfigError,
    _ffi.PANIC: InternalError,
    _ffi.TIMED_OUT: TimedOut,
    _ffi.LIMIT: LimitError,
}

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_lib_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _dll() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = _ffi.load()
        return _lib


def version() -> str:
    """The library's version string (copied: the library owns the original)."""
    return ctypes.string_at(_dll().otlp_arrow_version()).decode()


def _last_error(dll: ctypes.CDLL) -> str:
    buf = ctypes.create_string_buffer(1024)
    dll.otlp_arrow_last_error(buf, len(buf))
    return buf.value.decode("utf-8", "replace")


def _check(dll: ctypes.CDLL, status: int) -> None:
    if status != _ffi.OK:
        raise _ERRORS.get(status, Error)(status, _last_error(dll))


# --------------------------------------------------------------------------------------------
# Configuration


def _toml_str(k: str) -> str:
    return '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _toml_str(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"TOML cannot hold {v}")
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):  # inside an array: an inline table
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if hasattr(v, "__fspath__"):
        return _toml_str(str(v.__fspath__()))
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")


def to_toml(config: Mapping[str, Any]) -> str:
    """Nested dicts (tables; dotted names are paths) as TOML text."""
    tree: Dict[str, Any] = {}
    for key, value in config.items():
        node = tree
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if isinstance(value, Mapping) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = dict(value) if isinstance(value, Mapping) else value
    lines: List[str] = []

    def table(path: List[str], node: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in node.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in tables:
            table(path + [k], v)

    table([], tree)
    return "\n".join(lines) + "\n"


def _merge(into: Dict[str, Any], more: Mapping[str, Any]) -> Dict[str, Any]:
    for k, v in more.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
    return into


def _config_text(config: Optional[str], keys: Mapping[str, Any]) -> str:
    """TOML text for `Library(config, **keys)`: the keywords extend / override the text."""
    if not keys:
        return config or ""
    if not config:
        return to_toml(keys)
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover
        raise TypeError("combining config text with keywords needs Python 3.11 (tomllib)")
    try:
        base = tomllib.loads(config)
    except tomllib.TOMLDecodeError:
        return config  # let the library report the syntax error with its position
    nested = tomllib.loads(to_toml(keys))
    return to_toml(_merge(base, nested))


# --------------------------------------------------------------------------------------------
# Values


def _str(s: Optional[str], keep: list) -> _ffi.Str:
    if not s:
        return _ffi.Str(None, 0)
    b = s.encode("utf-8", "surrogatepass")
    keep.append(b)
    return _ffi.Str(b, len(b))


def _set_value(v: _ffi.Value, x: Any, keep: list) -> None:
    if x is None:
        v.type = _ffi.EMPTY
    elif isinstance(x, str):
        b = x.encode("utf-8", "surrogatepass")
        keep.append(b)
        v.type = _ffi.STRING
        v.data.string_value = _ffi.Str(b, len(b))
    elif isinstance(x, bool):
        v.type = _ffi.BOOL
        v.data.bool_value = 1 if x else 0
    elif isinstance(x, int):
        if not _INT_MIN <= x <= _INT_MAX:
            raise ValueError(f"attribute integer {x} does not fit 64 bits")
        v.type = _ffi.INT
        v.data.int_value = x
    elif isinstance(x, float):
        v.type = _ffi.DOUBLE
        v.data.double_value = x
    elif isinstance(x, (bytes, bytearray, memoryview)):
        b = bytes(x)
        keep.append(b)
        v.type = _ffi.BYTES
        v.data.bytes_value = _ffi.Bytes(b, len(b))
    elif isinstance(x, Mapping):
        ptr, n = _attributes(x, keep)
        v.type = _ffi.KVLIST
        v.data.kvlist_value = _ffi.KvList(ptr, n)
    elif isinstance(x, (list, tuple)):
        arr = (_ffi.Value * len(x))()
        for item, slot in zip(x, arr):
            _set_value(slot, item, keep)
        keep.append(arr)
        v.type = _ffi.ARRAY
        v.data.array_value = _ffi.Array(ctypes.cast(arr, ctypes.POINTER(_ffi.Value)), len(x))
    else:
        raise TypeError(f"attribute value of type {type(x).__name__} is not an OTLP value")


_NULL_ATTRS = ctypes.POINTER(_ffi.Attribute)()


def _attributes(attrs: Attributes, keep: list) -> Tuple[Any, int]:
    if not attrs:
        return _NULL_ATTRS, 0
    arr = (_ffi.Attribute * len(attrs))()
    for (k, x), slot in zip(attrs.items(), arr):
        b = k.encode("utf-8", "surrogatepass")
        keep.append(b)
        slot.key = _ffi.Str(b, len(b))
        _set_value(slot.value, x, keep)
    keep.append(arr)
    return ctypes.cast(arr, ctypes.POINTER(_ffi.Attribute)), len(attrs)


def _id(x: Optional[Id], n: int) -> bytes:
    if x is None:
        return bytes(n)
    if isinstance(x, int):
        return x.to_bytes(n, "big")
    if len(x) != n:
        raise ValueError(f"an id of {n} bytes is needed, got {len(x)}")
    return bytes(x)


def _array(ctype, values: Sequence, keep: list):
    if not values:
        return ctypes.POINTER(ctype)(), 0
    arr = (ctype * len(values))(*values)
    keep.append(arr)
    return ctypes.cast(arr, ctypes.POINTER(ctype)), len(values)


# --------------------------------------------------------------------------------------------
# The fast path: flat attributes packed with `struct` into a per-thread arena

# Setting ctypes fields one by one costs ~100 ns each; a span with 8 attributes would spend
# most of its time there. Attributes whose values are scalars, strings or bytes (nearly all)
# are instead packed with one `struct.pack_into` into a preallocated per-thread buffer whose
# address is fixed, the strings copied into the same buffer. Anything nested takes the
# general path above.

_ATTR_SIZE = ctypes.sizeof(_ffi.Attribute)
assert _ATTR_SIZE == 40 and _ffi.Attribute.value.offset == 16 and _ffi.Value.data.offset == 8
_ARENA_ATTRS = 128
_ARENA_STRINGS = 1 << 16
_SPAN_OFF = 0
_ATTR_OFF = 256
_STR_OFF = _ATTR_OFF + _ARENA_ATTRS * _ATTR_SIZE
# otlp_arrow_span, packed in one call (trace_state and status_message are empty strings).
_SPAN_FMT = struct.Struct("<II16s8s8sQQQQIIQQQQIIQQQQIIQQ")
assert _SPAN_FMT.size == ctypes.sizeof(_ffi.Span) and _ffi.Span.status_message.offset == 160
assert _ffi.Span.attributes.offset == 96 and _ffi.Span.links_len.offset == 144
_KEYS: Dict[str, bytes] = {}
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1


class _Arena(threading.local):
    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(_STR_OFF + _ARENA_STRINGS)
        self.addr = ctypes.addressof(self.buf)
        self.mv = memoryview(self.buf).cast("B")
        self.span = _ffi.Span.from_buffer(self.buf, _SPAN_OFF)
        self.span_ref = ctypes.byref(self.span)


_arena = _Arena()


def _pack_attributes(attrs: Mapping[str, Any], arena: _Arena, strings: List[bytes],
                     at: int) -> Optional[int]:
    """Packs `attrs` into the arena; strings go after offset `at` of the string area (their
    bytes appended to `strings`). Returns the new string offset, or None if an attribute
    needs the general path."""
    if len(attrs) > _ARENA_ATTRS:
        return None
    fmt: List[str] = []
    args: List[Any] = []
    fmt_add, args_add, str_add = fmt.append, args.extend, strings.extend
    keys = _KEYS
    base = arena.addr + _STR_OFF
    for k, v in attrs.items():
        kb = keys.get(k)
        if kb is None:
            kb = k.encode("utf-8", "surrogatepass")
            if len(keys) < 4096:
                keys[k] = kb
        t = type(v)
        kp = base + at
        at += len(kb)
        if t is str:
            vb = v.encode("utf-8", "surrogatepass")
            fmt_add("QQI4xQQ")
            args_add((kp, len(kb), 1, base + at, len(vb)))
            str_add((kb, vb))
            at += len(vb)
        elif t is int:
            if not _INT_MIN <= v <= _INT_MAX:
                return None
            fmt_add("QQI4xq8x")
            args_add((kp, len(kb), 3, v))
            strings.append(kb)
        elif t is float:
            fmt_add("QQI4xd8x")
            args_add((kp, len(kb), 4, v))
            strings.append(kb)
        elif t is bool:
            fmt_add("QQI4xB15x")
            args_add((kp, len(kb), 2, v))
            strings.append(kb)
        elif t is bytes:
            fmt_add("QQI4xQQ")
            args_add((kp, len(kb), 7, base + at, len(v)))
            str_add((kb, v))
            at += len(v)
        elif v is None:
            fmt_add("QQI4x16x")
            args_add((kp, len(kb), 0))
            strings.append(kb)
        else:
            return None
    if at > _ARENA_STRINGS:
        return None
    struct.pack_into("<" + "".join(fmt), arena.mv, _ATTR_OFF, *args)
    return at


# --------------------------------------------------------------------------------------------
# Items


@dataclasses.dataclass
class Event:
    """A span event."""

    name: str
    time_unix_nano: int = 0
    attributes: Attributes = None
    dropped_attributes_count: int = 0


@dataclasses.dataclass
class Link:
    """A span link."""

    trace_id: Id
    span_id: Id
    trace_state: str = ""
    attributes: Attributes = None
    dropped_attributes_count: int = 0
    flags: int = 0


@dataclasses.dataclass
class NumberPoint:
    """A gauge or sum point: an `int` value is `as_int`, a `float` one `as_double`."""

    value: Union[int, float]
    time_unix_nano: int = 0
    start_time_unix_nano: int = 0
    attributes: Attributes = None
    flags: int = 0


@dataclasses.dataclass
class HistogramPoint:
    """An explicit-bucket histogram point."""

    count: int
    bucket_counts: Sequence[int] = ()
    explicit_bounds: Sequence[float] = ()
    sum: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None
    time_unix_nano: int = 0
    start_time_unix_nano: int = 0
    attributes: Attributes = None
    flags: int = 0


@dataclasses.dataclass
class ExponentialHistogramPoint:
    """An exponential histogram point."""

    count: int
    scale: int = 0
    zero_count: int = 0
    positive_offset: int = 0
    positive_bucket_counts: Sequence[int] = ()
    negative_offset: int = 0
    negative_bucket_counts: Sequence[int] = ()
    sum: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None
    zero_threshold: float = 0.0
    time_unix_nano: int = 0
    start_time_unix_nano: int = 0
    attributes: Attributes = None
    flags: int = 0


@dataclasses.dataclass
class SummaryPoint:
    """A summary point; `quantiles` are `(quantile, value)` pairs."""

    count: int
    sum: float
    quantiles: Sequence[Tuple[float, float]] = ()
    time_unix_nano: int = 0
    start_time_unix_nano: int = 0
    attributes: Attributes = None
    flags: int = 0


_METRIC_TYPES = {"gauge": 1, "sum": 2, "histogram": 3, "exponential_histogram": 4, "summary": 5}
_TEMPORALITY = {"unspecified": 0, "delta": 1, "cumulative": 2}


@dataclasses.dataclass
class SignalStats:
    """Counters of one signal (see `otlp_arrow_signal_counters` in the C header)."""

    ring_capacity: int
    ring_in_use_bytes: int
    records_read: int
    rejected_full: int
    rejected_too_large: int
    rejected_invalid: int
    decode_errors: int
    rows_written: int
    batches_written: int
    bytes_written: int
    files_finalized: int
    write_errors: int
    lost_rows: int
    lost_records: int


@dataclasses.dataclass
class Stats:
    """Counters of a library, per signal."""

    traces: SignalStats
    metrics: SignalStats
    logs: SignalStats


def _signal_stats(c: _ffi.SignalCounters) -> SignalStats:
    return SignalStats(**{name: getattr(c, name) for name, _ in _ffi.SignalCounters._fields_})


# --------------------------------------------------------------------------------------------
# The library


class Library:
    """An open libotlp_arrow handle: its rings, drain threads and files.

    Thread-safe: `record_*`, `flush` and `stats` may be called from any number of threads.
    `close()` (or leaving the `with` block) flushes everything, finalizes the files and frees
    the handle; it waits for calls in progress on other threads, and later calls raise
    `Closed`. Spans without events, links, trace state and status message whose attributes
    are scalars, strings or bytes take a fast path (one `struct.pack_into` into a per-thread
    buffer); everything else goes through ctypes structures. Nothing is closed by the garbage collector: call `close`.
    """

    def __init__(self, config: Optional[str] = None, **keys: Any):
        self._dll = _dll()
        text = _config_text(config, keys)
        raw = text.encode("utf-8")
        handle = _ffi.HandleP()
        _check(self._dll, self._dll.otlp_arrow_open(raw, len(raw), ctypes.byref(handle)))
        self._handle: Optional[Any] = handle
        # Calls in flight, so close() never frees the handle under one. list.append / pop are
        # atomic under the GIL: a call appends *then* reads the handle; close clears the handle
        # *then* waits for the list to empty, so either the call sees None or close waits.
        self._inflight: List[None] = []
        self._close_lock = threading.Lock()
        # The fast span path calls the same symbol through a prototype taking plain addresses
        # (ints convert faster than ctypes pointer objects); declared like every other one.
        self._span_by_address = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p)(
            ("otlp_arrow_record_span", self._dll))
        self._address = ctypes.cast(handle, ctypes.c_void_p).value
        self._fns = (
            self._dll.otlp_arrow_record_span,
            self._dll.otlp_arrow_record_metric,
            self._dll.otlp_arrow_record_log,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _call(self, fn, *args) -> None:
        inflight = self._inflight
        inflight.append(None)
        try:
            handle = self._handle
            if handle is None:
                raise Closed(_ffi.CLOSED, "the library is closed")
            status = fn(handle, *args)
        finally:
            inflight.pop()
        if status != _ffi.OK:
            raise _ERRORS.get(status, Error)(status, _last_error(self._dll))

    # -- records ---------------------------------------------------------------------------

    def record_span(
        self,
        name: str,
        *,
        trace_id: Id,
        span_id: Id,
        parent_span_id: Optional[Id] = None,
        kind: int = SpanKind.INTERNAL,
        start_time_unix_nano: int = 0,
        end_time_unix_nano: int = 0,
        attributes: Attributes = None,
        events: Sequence[Event] = (),
        links: Sequence[Link] = (),
        status_code: int = StatusCode.UNSET,
        status_message: str = "",
        trace_state: str = "",
        flags: int = 0,
        dropped_attributes_count: int = 0,
        dropped_events_count: int = 0,
        dropped_links_count: int = 0,
        resource_id: int = 0,
        scope_id: int = 0,
    ) -> None:
        """Records one finished span. Ids are bytes (16 / 8) or ints (big-endian)."""
        if not events and not links and not trace_state and not status_message:
            arena = _arena
            strings: List[bytes] = []
            at = _pack_attributes(attributes, arena, strings, 0) if attributes else 0
            if at is not None:
                nb = name.encode("utf-8", "surrogatepass")
                strings.append(nb)
                blob = b"".join(strings)
                if len(blob) <= _ARENA_STRINGS:
                    arena.mv[_STR_OFF:_STR_OFF + len(blob)] = blob
                    _SPAN_FMT.pack_into(
                        arena.mv, _SPAN_OFF, resource_id, scope_id,
                        _id(trace_id, 16), _id(span_id, 8), _id(parent_span_id, 8),
                        0, 0, arena.addr + _STR_OFF + at, len(nb), kind, flags,
                        start_time_unix_nano, end_time_unix_nano, arena.addr + _ATTR_OFF,
                        len(attributes) if attributes else 0, dropped_attributes_count,
                        dropped_events_count, 0, 0, 0, 0, dropped_links_count, status_code, 0, 0,
                    )
                    inflight = self._inflight
                    inflight.append(None)
                    try:
                        if self._handle is None:
                            raise Closed(_ffi.CLOSED, "the library is closed")
                        status = self._span_by_address(self._address, arena.addr + _SPAN_OFF)
                    finally:
                        inflight.pop()
                    if status != _ffi.OK:
                        raise _ERRORS.get(status, Error)(status, _last_error(self._dll))
                    return
        keep: list = []
        s = _ffi.Span()
        s.resource_id = resource_id
        s.scope_id = scope_id
        s.trace_id[:] = _id(trace_id, 16)
        s.span_id[:] = _id(span_id, 8)
        if parent_span_id is not None:
            s.parent_span_id[:] = _id(parent_span_id, 8)
        s.trace_state = _str(trace_state, keep)
        s.name = _str(name, keep)
        s.kind = kind
        s.flags = flags
        s.start_time_unix_nano = start_time_unix_nano
        s.end_time_unix_nano = end_time_unix_nano
        s.attributes, s.attributes_len = _attributes(attributes, keep)
        s.dropped_attributes_count = dropped_attributes_count
        s.dropped_events_count = dropped_events_count
        s.dropped_links_count = dropped_links_count
        if events:
            arr = (_ffi.Event * len(events))()
            for e, slot in zip(events, arr):
                slot.time_unix_nano = e.time_unix_nano
                slot.name = _str(e.name, keep)
                slot.attributes, slot.attributes_len = _attributes(e.attributes, keep)
                slot.dropped_attributes_count = e.dropped_attributes_count
            keep.append(arr)
            s.events, s.events_len = ctypes.cast(arr, ctypes.POINTER(_ffi.Event)), len(events)
        if links:
            arr = (_ffi.Link * len(links))()
            for ln, slot in zip(links, arr):
                slot.trace_id[:] = _id(ln.trace_id, 16)
                slot.span_id[:] = _id(ln.span_id, 8)
                slot.trace_state = _str(ln.trace_state, keep)
                slot.attributes, slot.attributes_len = _attributes(ln.attributes, keep)
                slot.dropped_attributes_count = ln.dropped_attributes_count
                slot.flags = ln.flags
            keep.append(arr)
            s.links, s.links_len = ctypes.cast(arr, ctypes.POINTER(_ffi.Link)), len(links)
        s.status_code = status_code
        s.status_message = _str(status_message, keep)
        self._call(self._fns[0], ctypes.byref(s))

    def record_metric(
        self,
        name: str,
        points: Sequence[Union[NumberPoint, HistogramPoint, ExponentialHistogramPoint, SummaryPoint]],
        *,
        type: str = "gauge",
        description: str = "",
        unit: str = "",
        temporality: Union[str, int] = "cumulative",
        is_monotonic: bool = False,
        resource_id: int = 0,
        scope_id: int = 0,
    ) -> None:
        """Records a metric's data points (`type`: gauge, sum, histogram,
        exponential_histogram, summary). More than 64 points are sent as several records
        (the stored rows are the same); an error stops at the failing chunk."""
        if type not in _METRIC_TYPES:
            raise ValueError(f"unknown metric type {type!r}")
        for start in range(0, max(len(points), 1), _ffi.MAX_POINTS):
            self._metric_chunk(
                name, points[start : start + _ffi.MAX_POINTS], type, description, unit,
                temporality, is_monotonic, resource_id, scope_id,
            )

    def _metric_chunk(self, name, points, type, description, unit, temporality, is_monotonic,
                      resource_id, scope_id) -> None:
        keep: list = []
        m = _ffi.Metric()
        m.resource_id = resource_id
        m.scope_id = scope_id
        m.name = _str(name, keep)
        m.description = _str(description, keep)
        m.unit = _str(unit, keep)
        m.metric_type = _METRIC_TYPES[type]
        m.aggregation_temporality = (
            _TEMPORALITY[temporality] if isinstance(temporality, str) else int(temporality)
        )
        m.is_monotonic = 1 if is_monotonic else 0
        m.points_len = len(points)
        if type in ("gauge", "sum"):
            arr = (_ffi.NumberPoint * len(points))()
            for p, slot in zip(points, arr):
                slot.attributes, slot.attributes_len = _attributes(p.attributes, keep)
                slot.start_time_unix_nano = p.start_time_unix_nano
                slot.time_unix_nano = p.time_unix_nano
                slot.flags = p.flags
                if isinstance(p.value, int) and not isinstance(p.value, bool):
                    slot.value_type, slot.as_int = 2, p.value
                else:
                    slot.value_type, slot.as_double = 1, float(p.value)
            m.number_points = ctypes.cast(arr, ctypes.POINTER(_ffi.NumberPoint))
        elif type == "histogram":
            arr = (_ffi.HistogramPoint * len(points))()
            for p, slot in zip(points, arr):
                slot.attributes, slot.attributes_len = _attributes(p.attributes, keep)
                slot.start_time_unix_nano = p.start_time_unix_nano
                slot.time_unix_nano = p.time_unix_nano
                slot.count = p.count
                slot.bucket_counts, slot.bucket_counts_len = _array(ctypes.c_uint64, p.bucket_counts, keep)
                slot.explicit_bounds, slot.explicit_bounds_len = _array(ctypes.c_double, p.explicit_bounds, keep)
                slot.flags = p.flags
                _optionals(slot, p)
            m.histogram_points = ctypes.cast(arr, ctypes.POINTER(_ffi.HistogramPoint))
        elif type == "exponential_histogram":
            arr = (_ffi.ExponentialHistogramPoint * len(points))()
            for p, slot in zip(points, arr):
                slot.attributes, slot.attributes_len = _attributes(p.attributes, keep)
                slot.start_time_unix_nano = p.start_time_unix_nano
                slot.time_unix_nano = p.time_unix_nano
                slot.count = p.count
                slot.scale = p.scale
                slot.zero_count = p.zero_count
                slot.zero_threshold = p.zero_threshold
                slot.positive_offset = p.positive_offset
                slot.negative_offset = p.negative_offset
                slot.positive_bucket_counts, slot.positive_bucket_counts_len = _array(
                    ctypes.c_uint64, p.positive_bucket_counts, keep)
                slot.negative_bucket_counts, slot.negative_bucket_counts_len = _array(
                    ctypes.c_uint64, p.negative_bucket_counts, keep)
                slot.flags = p.flags
                _optionals(slot, p)
            m.exponential_histogram_points = ctypes.cast(
                arr, ctypes.POINTER(_ffi.ExponentialHistogramPoint))
        else:
            arr = (_ffi.SummaryPoint * len(points))()
            for p, slot in zip(points, arr):
                slot.attributes, slot.attributes_len = _attributes(p.attributes, keep)
                slot.start_time_unix_nano = p.start_time_unix_nano
                slot.time_unix_nano = p.time_unix_nano
                slot.count = p.count
                slot.sum = p.sum
                slot.quantile_values, slot.quantile_values_len = _array(
                    _ffi.Quantile, [_ffi.Quantile(q, v) for q, v in p.quantiles], keep)
                slot.flags = p.flags
            m.summary_points = ctypes.cast(arr, ctypes.POINTER(_ffi.SummaryPoint))
        keep.append(arr)
        self._call(self._fns[1], ctypes.byref(m))

    def record_log(
        self,
        body: AttributeValue = None,
        *,
        time_unix_nano: int = 0,
        observed_time_unix_nano: int = 0,
        severity_number: int = 0,
        severity_text: str = "",
        attributes: Attributes = None,
        trace_id: Optional[Id] = None,
        span_id: Optional[Id] = None,
        flags: int = 0,
        event_name: str = "",
        dropped_attributes_count: int = 0,
        resource_id: int = 0,
        scope_id: int = 0,
        has_body: Optional[bool] = None,
    ) -> None:
        """Records one log record. `body=None` means no body (`has_body=True` with `None`
        writes an empty value)."""
        keep: list = []
        rec = _ffi.Log()
        rec.resource_id = resource_id
        rec.scope_id = scope_id
        rec.time_unix_nano = time_unix_nano
        rec.observed_time_unix_nano = observed_time_unix_nano
        rec.severity_number = severity_number
        rec.flags = flags
        rec.severity_text = _str(severity_text, keep)
        if body is not None or has_body:
            v = _ffi.Value()
            _set_value(v, body, keep)
            keep.append(v)
            rec.body = ctypes.pointer(v)
        rec.attributes, rec.attributes_len = _attributes(attributes, keep)
        rec.dropped_attributes_count = dropped_attributes_count
        if trace_id is not None:
            rec.trace_id[:] = _id(trace_id, 16)
        if span_id is not None:
            rec.span_id[:] = _id(span_id, 8)
        rec.event_name = _str(event_name, keep)
        self._call(self._fns[2], ctypes.byref(rec))

    # -- registration ----------------------------------------------------------------------

    def register_resource(
        self, attributes: Attributes, *, schema_url: str = "", dropped_attributes_count: int = 0
    ) -> int:
        """Registers a resource; returns the id for `resource_id` (equal resources share one)."""
        keep: list = []
        ptr, n = _attributes(attributes, keep)
        out = ctypes.c_uint32()
        self._call(
            self._dll.otlp_arrow_register_resource, ptr, n, dropped_attributes_count,
            _str(schema_url, keep), ctypes.byref(out),
        )
        return out.value

    def register_scope(
        self, name: str, version: str = "", attributes: Attributes = None, *, schema_url: str = ""
    ) -> int:
        """Registers an instrumentation scope; returns the id for `scope_id`."""
        keep: list = []
        ptr, n = _attributes(attributes, keep)
        out = ctypes.c_uint32()
        self._call(
            self._dll.otlp_arrow_register_scope, _str(name, keep), _str(version, keep), ptr, n,
            _str(schema_url, keep), ctypes.byref(out),
        )
        return out.value

    # -- control ---------------------------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> None:
        """Makes everything recorded so far durable in finalized files (waits up to `timeout`
        seconds; None: the configured shutdown deadline)."""
        ms = 0 if timeout is None else max(1, int(timeout * 1000))
        self._call(self._dll.otlp_arrow_flush, ms)

    def stats(self) -> Stats:
        """The library's counters."""
        c = _ffi.Counters()
        c.size = ctypes.sizeof(c)
        self._call(self._dll.otlp_arrow_stats, ctypes.byref(c))
        return Stats(_signal_stats(c.traces), _signal_stats(c.metrics), _signal_stats(c.logs))

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Flushes, finalizes the files, stops the threads, frees the handle. Idempotent;
        raises `StorageError` if data could not be written (the handle is freed anyway)."""
        with self._close_lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            while self._inflight:  # calls that saw the handle before it was cleared
                time.sleep(0.001)
        _check(self._dll, self._dll.otlp_arrow_close(handle))

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _optionals(slot, p) -> None:
    if p.sum is not None:
        slot.has_sum, slot.sum = 1, p.sum
    if p.min is not None:
        slot.has_min, slot.min = 1, p.min
    if p.max is not None:
        slot.has_max, slot.max = 1, p.max
