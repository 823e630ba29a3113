"""Python: `Library.record_span` (name + 8 attributes) vs the OpenTelemetry Python SDK's span
start + 8 attributes + end with a BatchSpanProcessor whose exporter discards the batches.
Prints the median of RUNS runs of N spans each, per span. Usage:
    OTLP_ARROW_LIB=target/release/libotlp_arrow.so python3 ffi/python/benches/bench_record.py [N] [RUNS]
"""
import statistics
import sys
import tempfile
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import otlp_arrow

ATTRS = {
    "http.method": "GET",
    "http.route": "/api/v1/items/{id}",
    "http.scheme": "https",
    "net.peer.name": "client.example.com",
    "http.status_code": 200,
    "http.response_content_length": 5120,
    "sampling.ratio": 0.25,
    "cache.hit": True,
}


class Discard(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def bench_library(n, lib):
    start = time.perf_counter_ns()
    for i in range(n):
        t = time.time_ns()
        lib.record_span("GET /api/v1/items/{id}", trace_id=7, span_id=i + 1, kind=2,
                        start_time_unix_nano=t, end_time_unix_nano=t + 1000, attributes=ATTRS)
    return (time.perf_counter_ns() - start) / n


def bench_sdk(n, tracer):
    start = time.perf_counter_ns()
    for _ in range(n):
        span = tracer.start_span("GET /api/v1/items/{id}")
        span.set_attributes(ATTRS)
        span.end()
    return (time.perf_counter_ns() - start) / n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as d, otlp_arrow.Library(
        output_dir=d, ring={"traces": "256MiB"}, storage={"fsync": "never"}
    ) as lib:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=n * 2))
        tracer = provider.get_tracer("bench")
        ours, sdk = [], []
        for _ in range(runs):
            lib.flush()
            ours.append(bench_library(n, lib))
            provider.force_flush()
            sdk.append(bench_sdk(n, tracer))
        full = lib.stats().traces.rejected_full
        provider.shutdown()
    a, b = statistics.median(ours), statistics.median(sdk)
    print(f"0-otlp-arrow Library.record_span: {a / 1000:.2f} us/span")
    print(f"1-opentelemetry-sdk span + BatchSpanProcessor: {b / 1000:.2f} us/span")
    print(f"ratio sdk / otlp-arrow: {b / a:.2f}; ring full refusals: {full}")


if __name__ == "__main__":
    main()
