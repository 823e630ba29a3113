"""OpenTelemetry Python SDK exporters that write through libotlp_arrow: `SpanExporter`,
`MetricExporter` and `LogExporter` (needs `opentelemetry-sdk`).

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    import otlp_arrow
    from otlp_arrow.otel import SpanExporter

    lib = otlp_arrow.Library(output_dir="./otlp-data")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(SpanExporter(lib)))

Each exporter takes a `Library` (shared by all three, closed by whoever opened it) or, with
no library, keyword configuration to open its own (closed by `shutdown`). SDK resources and
instrumentation scopes are registered with the library once and referred to by id. A full
ring makes `export` return FAILURE for the items that did not fit (they are counted in the
library's `rejected_full`); the SDK processors drop them, as they do for any exporter.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Sequence, Tuple

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.export import MetricExporter as _SdkMetricExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter as _SdkSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from . import (
    Error,
    Event,
    ExponentialHistogramPoint,
    HistogramPoint,
    Library,
    Link,
    NumberPoint,
)

try:  # the logs SDK renamed its exporter base class (LogExporter -> LogRecordExporter)
    from opentelemetry.sdk._logs.export import LogRecordExporter as _SdkLogExporter
except ImportError:  # pragma: no cover
    from opentelemetry.sdk._logs.export import LogExporter as _SdkLogExporter
from opentelemetry.sdk._logs.export import LogExportResult

__all__ = ["SpanExporter", "MetricExporter", "LogExporter"]


class _Registrations:
    """SDK Resource / InstrumentationScope objects -> library ids, registered once each."""

    def __init__(self, lib: Library):
        self._lib = lib
        self._lock = threading.Lock()
        self._resources: Dict[int, Tuple[Any, int]] = {}
        self._scopes: Dict[int, Tuple[Any, int]] = {}

    def resource(self, resource: Any, schema_url: Optional[str] = None) -> int:
        if resource is None:
            return 0
        key = id(resource)
        hit = self._resources.get(key)
        if hit is not None and hit[0] is resource:
            return hit[1]
        rid = self._lib.register_resource(
            dict(resource.attributes),
            schema_url=schema_url if schema_url is not None else (resource.schema_url or ""),
        )
        with self._lock:
            self._resources[key] = (resource, rid)
        return rid

    def scope(self, scope: Any, schema_url: Optional[str] = None) -> int:
        if scope is None:
            return 0
        key = id(scope)
        hit = self._scopes.get(key)
        if hit is not None and hit[0] is scope:
            return hit[1]
        attrs = getattr(scope, "attributes", None)
        sid = self._lib.register_scope(
            scope.name,
            scope.version or "",
            dict(attrs) if attrs else None,
            schema_url=schema_url if schema_url is not None else (scope.schema_url or ""),
        )
        with self._lock:
            self._scopes[key] = (scope, sid)
        return sid


class _Base:
    def __init__(self, library: Optional[Library], config: Dict[str, Any]):
        if library is None:
            library = Library(**config)
            self._owned = True
        else:
            self._owned = False
        self.library = library
        self._ids = _Registrations(library)

    def _shutdown(self) -> None:
        if self._owned:
            self.library.close()

    def _flush(self, timeout_millis: float) -> bool:
        try:
            self.library.flush(timeout_millis / 1000.0)
            return True
        except Error:
            return False


class SpanExporter(_Base, _SdkSpanExporter):
    """Exports finished SDK spans into the library's traces ring."""

    def __init__(self, library: Optional[Library] = None, **config: Any):
        _Base.__init__(self, library, config)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = True
        lib = self.library
        for span in spans:
            ctx = span.context
            parent = span.parent
            try:
                lib.record_span(
                    span.name,
                    trace_id=ctx.trace_id,
                    span_id=ctx.span_id,
                    parent_span_id=parent.span_id if parent is not None else None,
                    kind=span.kind.value + 1,  # SDK: INTERNAL = 0; OTLP: INTERNAL = 1
                    start_time_unix_nano=span.start_time or 0,
                    end_time_unix_nano=span.end_time or 0,
                    attributes=span.attributes,
                    events=[
                        Event(e.name, e.timestamp, e.attributes) for e in span.events
                    ],
                    links=[
                        Link(
                            ln.context.trace_id,
                            ln.context.span_id,
                            ln.context.trace_state.to_header() if ln.context.trace_state else "",
                            ln.attributes,
                            flags=int(ln.context.trace_flags),
                        )
                        for ln in span.links
                    ],
                    status_code=span.status.status_code.value,
                    status_message=span.status.description or "",
                    trace_state=ctx.trace_state.to_header() if ctx.trace_state else "",
                    flags=int(ctx.trace_flags),
                    dropped_attributes_count=span.dropped_attributes,
                    dropped_events_count=span.dropped_events,
                    dropped_links_count=span.dropped_links,
                    resource_id=self._ids.resource(span.resource),
                    scope_id=self._ids.scope(span.instrumentation_scope),
                )
            except Error:
                ok = False
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._flush(timeout_millis)


_INSTRUMENTS = (
    Counter,
    UpDownCounter,
    Histogram,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
)


class MetricExporter(_Base, _SdkMetricExporter):
    """Exports SDK metric data points into the library's metrics ring.

    `temporality`: "cumulative" (default) or "delta" for every instrument, or a dict
    instrument class -> `AggregationTemporality` (the SDK's `preferred_temporality`)."""

    def __init__(
        self,
        library: Optional[Library] = None,
        temporality: Any = "cumulative",
        preferred_aggregation: Optional[Dict[type, Any]] = None,
        **config: Any,
    ):
        _Base.__init__(self, library, config)
        if isinstance(temporality, str):
            t = {
                "cumulative": AggregationTemporality.CUMULATIVE,
                "delta": AggregationTemporality.DELTA,
            }[temporality]
            temporality = {kind: t for kind in _INSTRUMENTS}
        _SdkMetricExporter.__init__(
            self, preferred_temporality=temporality, preferred_aggregation=preferred_aggregation
        )

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        ok = True
        lib = self.library
        for rm in metrics_data.resource_metrics:
            rid = self._ids.resource(rm.resource, rm.schema_url)
            for sm in rm.scope_metrics:
                sid = self._ids.scope(sm.scope, sm.schema_url)
                for metric in sm.metrics:
                    try:
                        self._one(lib, metric, rid, sid)
                    except Error:
                        ok = False
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    @staticmethod
    def _one(lib: Library, metric: Any, rid: int, sid: int) -> None:
        data = metric.data
        common = dict(
            description=metric.description or "",
            unit=metric.unit or "",
            resource_id=rid,
            scope_id=sid,
        )
        if isinstance(data, (Gauge, Sum)):
            points = [
                NumberPoint(
                    p.value,
                    p.time_unix_nano,
                    p.start_time_unix_nano or 0,
                    p.attributes,
                )
                for p in data.data_points
            ]
            if isinstance(data, Sum):
                lib.record_metric(
                    metric.name, points, type="sum",
                    temporality=int(data.aggregation_temporality.value),
                    is_monotonic=data.is_monotonic, **common,
                )
            else:
                lib.record_metric(metric.name, points, type="gauge", **common)
        elif isinstance(data, HistogramData):
            points = [
                HistogramPoint(
                    p.count, list(p.bucket_counts), list(p.explicit_bounds), p.sum,
                    p.min, p.max, p.time_unix_nano, p.start_time_unix_nano, p.attributes,
                )
                for p in data.data_points
            ]
            lib.record_metric(
                metric.name, points, type="histogram",
                temporality=int(data.aggregation_temporality.value), **common,
            )
        elif isinstance(data, ExponentialHistogram):
            points = [
                ExponentialHistogramPoint(
                    count=p.count, scale=p.scale, zero_count=p.zero_count,
                    positive_offset=p.positive.offset,
                    positive_bucket_counts=list(p.positive.bucket_counts),
                    negative_offset=p.negative.offset,
                    negative_bucket_counts=list(p.negative.bucket_counts),
                    sum=p.sum, min=p.min, max=p.max,
                    time_unix_nano=p.time_unix_nano,
                    start_time_unix_nano=p.start_time_unix_nano,
                    attributes=p.attributes, flags=p.flags,
                )
                for p in data.data_points
            ]
            lib.record_metric(
                metric.name, points, type="exponential_histogram",
                temporality=int(data.aggregation_temporality.value), **common,
            )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._shutdown()


class LogExporter(_Base, _SdkLogExporter):  # type: ignore[misc,valid-type]
    """Exports SDK log records into the library's logs ring."""

    def __init__(self, library: Optional[Library] = None, **config: Any):
        _Base.__init__(self, library, config)

    def export(self, batch: Sequence[Any]):
        ok = True
        lib = self.library
        for item in batch:
            rec = item.log_record
            try:
                lib.record_log(
                    rec.body,
                    time_unix_nano=rec.timestamp or 0,
                    observed_time_unix_nano=rec.observed_timestamp or 0,
                    severity_number=rec.severity_number.value if rec.severity_number else 0,
                    severity_text=rec.severity_text or "",
                    attributes=rec.attributes,
                    trace_id=rec.trace_id or None,
                    span_id=rec.span_id or None,
                    flags=int(rec.trace_flags or 0),
                    event_name=getattr(rec, "event_name", None) or "",
                    dropped_attributes_count=getattr(item, "dropped_attributes", 0),
                    resource_id=self._ids.resource(getattr(item, "resource", None)),
                    scope_id=self._ids.scope(getattr(item, "instrumentation_scope", None)),
                )
            except Error:
                ok = False
        return LogExportResult.SUCCESS if ok else LogExportResult.FAILURE

    def shutdown(self) -> None:
        self._shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._flush(timeout_millis)
