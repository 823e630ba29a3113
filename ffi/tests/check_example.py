"""Checks with pyarrow that the files ffi/examples/record.c wrote hold exactly what it
recorded: every (thread, i) span, metric point and log record once, with its values and the
configured resource. Usage: check_example.py OUTPUT_DIR THREADS SPANS METRICS LOGS"""
import glob
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.ipc as ipc


def read(out_dir, signal):
    files = sorted(glob.glob(f"{out_dir}/{signal}/*.arrow"))
    assert files, f"no finalized {signal} files"
    leftovers = [f for f in glob.glob(f"{out_dir}/{signal}/*") if not f.endswith(".arrow")]
    assert not leftovers, f"unfinalized files: {leftovers}"
    table = pa.concat_tables(ipc.open_stream(f).read_all() for f in files)
    # Nanosecond timestamps as integers (Python datetimes stop at microseconds).
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table.to_pylist()


def attrs(row, column="attributes"):
    out = {}
    for key, value in row[column]:
        tag = value["type"]
        out[key] = {1: value["string_value"], 3: value["int_value"]}.get(tag, value)
    return out


def main():
    out_dir = sys.argv[1]
    threads, spans, metrics, logs = map(int, sys.argv[2:6])

    traces = read(out_dir, "traces")
    assert len(traces) == threads * spans, len(traces)
    seen = Counter((attrs(r)["thread"], attrs(r)["i"]) for r in traces)
    assert set(seen) == {(t, i) for t in range(threads) for i in range(spans)}, "span set"
    assert max(seen.values()) == 1, "a span was stored twice"
    for r in traces:
        a = attrs(r)
        assert r["name"] == "GET /items/{id}"
        assert r["kind"] == 2
        assert r["trace_id"] == bytes([a["thread"] + 1]) * 16
        assert r["span_id"] == a["i"].to_bytes(8, "little")
        assert r["parent_span_id"] is None
        assert a["http.method"] == "GET" and a["http.route"] == "/items/{id}"
        assert attrs(r, "resource_attributes") == {"service.name": "record-example"}
        assert r["scope_name"] == "otlp-arrow"
        assert r["start_time_unix_nano"] == 1700000000000000000 + a["i"]
        assert r["end_time_unix_nano"] == r["start_time_unix_nano"] + 1000

    points = read(out_dir, "metrics")
    assert len(points) == threads * metrics, len(points)
    assert Counter((attrs(r)["thread"], r["value_int"]) for r in points) == Counter(
        {(t, i): 1 for t in range(threads) for i in range(metrics)}
    )
    for r in points:
        assert r["metric_name"] == "example.counter" and r["metric_type"] == "sum"
        assert r["aggregation_temporality"] == 2 and r["is_monotonic"] is True

    records = read(out_dir, "logs")
    assert len(records) == threads * logs, len(records)
    assert Counter((attrs(r)["thread"], attrs(r)["i"]) for r in records) == Counter(
        {(t, i): 1 for t in range(threads) for i in range(logs)}
    )
    for r in records:
        assert r["severity_number"] == 9 and r["severity_text"] == "INFO"
        assert r["body"]["type"] == 1 and r["body"]["string_value"] == "something happened"

    print(f"pyarrow: {len(traces)} spans, {len(points)} points, {len(records)} log records, all as recorded")


if __name__ == "__main__":
    main()
