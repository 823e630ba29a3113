#!/usr/bin/env python3
"""Sends spans, metrics (every instrument kind) and logs to a running `otlp-arrow serve` with the
OpenTelemetry Python SDK and its standard OTLP exporters, over gRPC and over HTTP/protobuf, then
writes what it sent as JSON so the caller can compare it with the stored rows.

Usage: otel_clients.py GRPC_ADDR HTTP_ADDR MANIFEST_OUT
"""
import json
import logging
import sys

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.metrics import Observation
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

SPANS_PER_TRANSPORT = 25
LOGS_PER_TRANSPORT = 10


def exporters(transport, grpc, http):
    if transport == "grpc":
        ep = f"http://{grpc}"
        return GrpcSpans(endpoint=ep, insecure=True), GrpcMetrics(endpoint=ep, insecure=True), GrpcLogs(endpoint=ep, insecure=True)
    base = f"http://{http}"
    return HttpSpans(endpoint=f"{base}/v1/traces"), HttpMetrics(endpoint=f"{base}/v1/metrics"), HttpLogs(endpoint=f"{base}/v1/logs")


def main():
    grpc, http, out = sys.argv[1], sys.argv[2], sys.argv[3]
    manifest = {"spans": [], "metrics": [], "logs": []}
    for transport in ("grpc", "http"):
        span_exp, metric_exp, log_exp = exporters(transport, grpc, http)
        resource = Resource.create({"service.name": f"py-{transport}", "deployment.environment": "test"})

        # Traces: a root span per iteration with one child, typed attributes.
        tp = TracerProvider(resource=resource)
        tp.add_span_processor(BatchSpanProcessor(span_exp))
        tracer = tp.get_tracer("py-tracer", "1.2.3")
        for i in range(SPANS_PER_TRANSPORT):
            kind = SpanKind.SERVER if i % 2 == 0 else SpanKind.CLIENT
            with tracer.start_as_current_span(f"op-{i}", kind=kind, attributes={"i": i, "ratio": i / 8, "even": i % 2 == 0, "who": transport}) as span:
                with tracer.start_as_current_span("child") as child:
                    pass
            for s, parent in ((span, None), (child, span)):
                ctx = s.get_span_context()
                manifest["spans"].append({
                    "trace_id": f"{ctx.trace_id:032x}",
                    "span_id": f"{ctx.span_id:016x}",
                    "parent_span_id": None if parent is None else f"{parent.get_span_context().span_id:016x}",
                    "name": s.name,
                    "kind": {SpanKind.SERVER: 2, SpanKind.CLIENT: 3, SpanKind.INTERNAL: 1}[s.kind],
                    "start_time_unix_nano": s.start_time,
                    "end_time_unix_nano": s.end_time,
                    "attributes": dict(s.attributes),
                    "service": f"py-{transport}",
                })
        tp.shutdown()

        # Metrics: every instrument kind, exported once (at shutdown), cumulative.
        reader = PeriodicExportingMetricReader(metric_exp, export_interval_millis=3_600_000)
        mp = MeterProvider(resource=resource, metric_readers=[reader],
                           views=[View(instrument_name="latency.exp", aggregation=ExponentialBucketHistogramAggregation())])
        meter = mp.get_meter("py-meter")
        attrs = {"route": "/a"}
        meter.create_counter("requests").add(7, attrs)
        meter.create_up_down_counter("inflight").add(-3, attrs)
        h = meter.create_histogram("latency")
        for v in (1.0, 5.0, 50.0):
            h.record(v, attrs)
        e = meter.create_histogram("latency.exp")
        for v in (2.0, 4.0, 8.0, 16.0):
            e.record(v, attrs)
        meter.create_observable_gauge("temperature", callbacks=[lambda _o: [Observation(21.5, attrs)]])
        meter.create_observable_counter("cpu.time", callbacks=[lambda _o: [Observation(12, attrs)]])
        meter.create_observable_up_down_counter("queue.size", callbacks=[lambda _o: [Observation(4, attrs)]])
        mp.shutdown()
        for name, mtype, fields in [
            ("requests", "sum", {"value_int": 7, "is_monotonic": True}),
            ("inflight", "sum", {"value_int": -3, "is_monotonic": False}),
            ("latency", "histogram", {"count": 3, "sum": 56.0}),
            ("latency.exp", "exponential_histogram", {"count": 4, "sum": 30.0}),
            ("temperature", "gauge", {"value_double": 21.5}),
            ("cpu.time", "sum", {"value_int": 12, "is_monotonic": True}),
            ("queue.size", "sum", {"value_int": 4, "is_monotonic": False}),
        ]:
            manifest["metrics"].append({"name": name, "type": mtype, "service": f"py-{transport}", **fields})

        # Logs through the logging bridge.
        lp = LoggerProvider(resource=resource)
        lp.add_log_record_processor(BatchLogRecordProcessor(log_exp))
        logger = logging.getLogger(f"py-logs-{transport}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = LoggingHandler(level=logging.INFO, logger_provider=lp)
        logger.addHandler(handler)
        for i in range(LOGS_PER_TRANSPORT):
            logger.warning("log %s %d", transport, i)
            manifest["logs"].append({"body": f"log {transport} {i}", "severity_number": 13, "service": f"py-{transport}"})
        lp.shutdown()
        logger.removeHandler(handler)

    with open(out, "w") as f:
        json.dump(manifest, f)
    print(f"sent {len(manifest['spans'])} spans, {len(manifest['metrics'])} metric points, {len(manifest['logs'])} logs")


if __name__ == "__main__":
    main()
