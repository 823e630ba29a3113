#!/usr/bin/env python3
"""Reads every stored file of an otlp-arrow output directory and checks it against a manifest.

Usage: check_files.py OUTPUT_DIR MANIFEST_JSON

- every file under traces/, metrics/, logs/ must be a finalized `*.arrow` file that
  `pyarrow.ipc.open_stream` reads completely;
- the rows must equal the manifest's rows, value for value (spans by span id, metric points and
  log records in order of their timestamp);
- DuckDB and polars must find the manifest's `query` attribute by key (`attributes[key]`).

Prints `N passed, 0 failed` and exits 0, or names the first mismatch and exits 1.
"""
import json
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}")
        print(f"{checks} passed, 1 failed")
        sys.exit(1)
    checks += 1


def read_signal(out, signal):
    d = out / signal
    tables = []
    for p in sorted(d.iterdir()) if d.exists() else []:
        check(p.name.endswith(".arrow"), f"{p} is finalized")
        with ipc.open_stream(p) as reader:
            tables.append(reader.read_all())
    if not tables:
        return None
    return pa.concat_tables(tables)


def value(v):
    """An AnyValue struct as (type, python value), the way the manifest writes it."""
    t = v["type"]
    member = {1: "string_value", 2: "bool_value", 3: "int_value", 4: "double_value", 7: "bytes_value"}.get(t)
    if member is None:
        return [t, None]
    x = v[member]
    if isinstance(x, bytes):
        x = x.hex()
    return [t, x]


def attributes(m):
    return {k: value(v) for k, v in (m or [])}


def main():
    out, manifest = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())

    spans = read_signal(out, "traces")
    want = manifest["traces"]
    check(spans is not None and spans.num_rows == len(want), f"{len(want)} spans stored")
    rows = sorted(spans.to_pylist(), key=lambda r: r["span_id"])
    for got, exp in zip(rows, sorted(want, key=lambda r: r["span_id"])):
        check(got["span_id"].hex() == exp["span_id"], f"span id {exp['span_id']}")
        check(got["trace_id"].hex() == exp["trace_id"], f"trace id of {exp['span_id']}")
        check(got["name"] == exp["name"], f"name of {exp['span_id']}")
        check(got["kind"] == exp["kind"], f"kind of {exp['span_id']}")
        check(got["start_time_unix_nano"].value == exp["start_time_unix_nano"], "start time")
        check(attributes(got["attributes"]) == exp["attributes"], f"attributes of {exp['span_id']}")
        check(attributes(got["resource_attributes"]) == exp["resource_attributes"], "resource")
        check(got["scope_name"] == exp["scope_name"], "scope name")

    points = read_signal(out, "metrics")
    want = manifest["metrics"]
    check(points is not None and points.num_rows == len(want), f"{len(want)} points stored")
    rows = sorted(points.to_pylist(), key=lambda r: r["time_unix_nano"].value)
    for got, exp in zip(rows, want):
        for k in ("metric_name", "metric_type", "value_int", "value_double", "aggregation_temporality", "is_monotonic"):
            check(got[k] == exp[k], f"metric point {exp['time_unix_nano']}: {k} {got[k]!r} != {exp[k]!r}")
        check(attributes(got["attributes"]) == exp["attributes"], "point attributes")

    logs = read_signal(out, "logs")
    want = manifest["logs"]
    check(logs is not None and logs.num_rows == len(want), f"{len(want)} log records stored")
    rows = sorted(logs.to_pylist(), key=lambda r: r["time_unix_nano"].value)
    for got, exp in zip(rows, want):
        check(got["severity_number"] == exp["severity_number"], "severity")
        check(got["severity_text"] == exp["severity_text"], "severity text")
        check(value(got["body"]) == exp["body"], f"body {value(got['body'])} != {exp['body']}")

    # Query an attribute by key, as a user would.
    q = manifest["query"]
    key, expected = q["key"], q["string_value"]
    n_pyarrow = pc.sum(
        pc.equal(pc.struct_field(pc.map_lookup(spans["attributes"], pa.scalar(key), "first"), "string_value"), expected)
    ).as_py() or 0
    check(n_pyarrow == q["count"], f"pyarrow: {n_pyarrow} spans with {key}={expected}, want {q['count']}")
    con = duckdb.connect()
    con.register("spans", spans)
    n_duck = con.execute(
        f"SELECT count(*) FROM spans WHERE attributes['{key}'].string_value = ?", [expected]
    ).fetchone()[0]
    check(n_duck == q["count"], f"duckdb: {n_duck} spans with {key}={expected}, want {q['count']}")
    df = pl.from_arrow(spans)
    if hasattr(pl.Expr, "map") and isinstance(df.schema["attributes"], getattr(pl, "Map", ())):
        col = pl.col("attributes").map.get(key).struct.field("string_value")
    else:
        col = (
            pl.col("attributes")
            .list.eval(pl.element().filter(pl.element().struct.field("key") == key).struct.field("value").struct.field("string_value"))
            .list.first()
        )
    n_polars = df.filter(col == expected).height
    check(n_polars == q["count"], f"polars: {n_polars} spans with {key}={expected}, want {q['count']}")

    print(f"{checks} passed, 0 failed")


if __name__ == "__main__":
    main()
