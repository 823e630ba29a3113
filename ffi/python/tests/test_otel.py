"""An application instrumented with the OpenTelemetry Python SDK exports through
otlp_arrow.otel (BatchSpanProcessor, PeriodicExportingMetricReader, BatchLogRecordProcessor);
the stored rows match what the SDK produced: ids, times, parent ids, kinds, attributes,
resource, scope."""
import logging

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler  # noqa: E402
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

import otlp_arrow  # noqa: E402
from conftest import attrs, read_rows  # noqa: E402
from otlp_arrow.otel import LogExporter, MetricExporter, SpanExporter  # noqa: E402


def test_sdk_app_exports_through_otlp_arrow(out_dir):
    lib = otlp_arrow.Library(output_dir=str(out_dir))
    resource = Resource.create({"service.name": "otel-app", "deployment.environment": "test"})

    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(SpanExporter(lib)))
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tracer_provider.get_tracer("shop.checkout", "1.2.3")

    reader = PeriodicExportingMetricReader(MetricExporter(lib), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = meter_provider.get_meter("shop.metrics")
    orders = meter.create_counter("orders", unit="1", description="orders placed")
    latency = meter.create_histogram("latency", unit="ms")

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(LogExporter(lib)))
    handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    log = logging.getLogger("shop.log")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    with tracer.start_as_current_span("checkout", kind=trace.SpanKind.SERVER,
                                      attributes={"cart.items": 3, "user": "u1"}) as parent:
        parent.add_event("validated", {"ok": True})
        with tracer.start_as_current_span("charge", kind=trace.SpanKind.CLIENT) as child:
            child.set_attribute("amount", 12.5)
            child.set_status(trace.Status(trace.StatusCode.ERROR, "declined"))
            log.warning("payment declined for %s", "u1")
        orders.add(2, {"region": "eu"})
        orders.add(3, {"region": "eu"})
        latency.record(7.0)
        latency.record(13.0)

    tracer_provider.force_flush()
    meter_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()
    log.removeHandler(handler)
    lib.close()

    # Spans: exactly the SDK's, field by field.
    rows = {r["name"]: r for r in read_rows(out_dir, "traces")}
    sdk = {s.name: s for s in memory.get_finished_spans()}
    assert set(rows) == set(sdk) == {"checkout", "charge"}
    for name, s in sdk.items():
        r = rows[name]
        assert r["trace_id"] == s.context.trace_id.to_bytes(16, "big")
        assert r["span_id"] == s.context.span_id.to_bytes(8, "big")
        parent_id = s.parent.span_id.to_bytes(8, "big") if s.parent else None
        assert r["parent_span_id"] == parent_id
        assert r["kind"] == s.kind.value + 1
        assert r["start_time_unix_nano"] == s.start_time
        assert r["end_time_unix_nano"] == s.end_time
        assert attrs(r["attributes"]) == dict(s.attributes)
        assert attrs(r["resource_attributes"]) == dict(resource.attributes)
        assert (r["scope_name"], r["scope_version"]) == ("shop.checkout", "1.2.3")
        assert r["status_code"] == s.status.status_code.value
    assert rows["charge"]["status_message"] == "declined"
    assert rows["checkout"]["events"][0]["name"] == "validated"
    assert rows["checkout"]["parent_span_id"] is None

    # Metrics: cumulative by default.
    points = read_rows(out_dir, "metrics")
    counter = [p for p in points if p["metric_name"] == "orders"]
    assert counter and counter[-1]["value_int"] == 5
    assert counter[-1]["aggregation_temporality"] == 2 and counter[-1]["is_monotonic"] is True
    assert attrs(counter[-1]["attributes"]) == {"region": "eu"}
    assert counter[-1]["metric_unit"] == "1" and counter[-1]["metric_description"] == "orders placed"
    hist = [p for p in points if p["metric_name"] == "latency"]
    assert hist and hist[-1]["metric_type"] == "histogram" and hist[-1]["count"] == 2
    assert hist[-1]["sum"] == 20.0
    assert attrs(hist[-1]["resource_attributes"]) == dict(resource.attributes)
    assert hist[-1]["scope_name"] == "shop.metrics"

    # Logs: body, severity, and the active span's ids.
    [rec] = read_rows(out_dir, "logs")
    assert rec["body"]["string_value"] == "payment declined for u1"
    assert rec["severity_number"] == 13 and rec["severity_text"] == "WARN"
    charge = sdk["charge"]
    assert rec["trace_id"] == charge.context.trace_id.to_bytes(16, "big")
    assert rec["span_id"] == charge.context.span_id.to_bytes(8, "big")
    assert attrs(rec["resource_attributes"]) == dict(resource.attributes)


def test_metric_exporter_temporality_is_configurable(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        reader = PeriodicExportingMetricReader(MetricExporter(lib, temporality="delta"),
                                               export_interval_millis=3_600_000)
        provider = MeterProvider(metric_readers=[reader])
        c = provider.get_meter("m").create_counter("c")
        c.add(1)
        provider.force_flush()
        c.add(4)
        provider.force_flush()
        provider.shutdown()
    values = [p["value_int"] for p in read_rows(out_dir, "metrics") if p["metric_name"] == "c"]
    temporalities = {p["aggregation_temporality"] for p in read_rows(out_dir, "metrics")}
    assert values[:2] == [1, 4] and temporalities == {1}
