"""otlp_arrow.Library end to end: records land in Arrow files with their values; errors
raise with the library's message; close is idempotent; threads share one library."""
import threading

import pytest

import otlp_arrow
from conftest import attrs, read_rows


def test_version_is_the_crate_version():
    assert otlp_arrow.version() == "0.1.0"


def test_records_round_trip_into_files(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir), ffi={"resource": {"service.name": "py"}}) as lib:
        lib.record_span(
            "GET /items",
            trace_id=0x0102030405060708090A0B0C0D0E0F10,
            span_id=b"\x01" * 8,
            parent_span_id=7,
            kind=otlp_arrow.SpanKind.SERVER,
            start_time_unix_nano=1_700_000_000_000_000_000,
            end_time_unix_nano=1_700_000_000_000_001_000,
            attributes={"s": "x", "i": 3, "f": 1.5, "b": True, "raw": b"\x00\xff", "none": None,
                        "list": [1, "a"], "map": {"k": 1}},
            events=[otlp_arrow.Event("retry", 1_700_000_000_000_000_500, {"n": 1})],
            links=[otlp_arrow.Link(5, 6, "a=b", {"l": 1})],
            status_code=otlp_arrow.StatusCode.ERROR,
            status_message="boom",
        )
        lib.record_metric("requests", [otlp_arrow.NumberPoint(5, 10, 1, {"route": "/"}),
                                       otlp_arrow.NumberPoint(2.5, 11)],
                          type="sum", is_monotonic=True, unit="1")
        lib.record_metric("latency", [otlp_arrow.HistogramPoint(3, [1, 2], [10.0], sum=12.0, min=1.0)],
                          type="histogram", temporality="delta")
        lib.record_log({"event": "login", "ok": True}, severity_number=9, severity_text="INFO",
                       time_unix_nano=20, trace_id=1, span_id=2, attributes={"user": "u"})
        lib.flush()
        stats = lib.stats()
        assert (stats.traces.rows_written, stats.metrics.rows_written, stats.logs.rows_written) == (1, 3, 1)
        assert stats.traces.rejected_invalid == 0

    [span] = read_rows(out_dir, "traces")
    assert span["name"] == "GET /items"
    assert span["trace_id"] == bytes(range(1, 17))
    assert span["span_id"] == b"\x01" * 8
    assert span["parent_span_id"] == (7).to_bytes(8, "big")
    assert span["kind"] == 2 and span["status_code"] == 2 and span["status_message"] == "boom"
    assert span["end_time_unix_nano"] - span["start_time_unix_nano"] == 1000
    a = attrs(span["attributes"])
    assert (a["s"], a["i"], a["f"], a["b"], a["raw"], a["none"]) == ("x", 3, 1.5, True, b"\x00\xff", None)
    assert isinstance(a["list"], bytes) and isinstance(a["map"], bytes)  # nested: OTLP bytes
    assert span["events"][0]["name"] == "retry"
    assert span["links"][0]["trace_state"] == "a=b"
    assert attrs(span["resource_attributes"]) == {"service.name": "py"}

    points = read_rows(out_dir, "metrics")
    by_name = {}
    for p in points:
        by_name.setdefault(p["metric_name"], []).append(p)
    assert [p["value_int"] for p in by_name["requests"]] == [5, None]
    assert [p["value_double"] for p in by_name["requests"]] == [None, 2.5]
    assert by_name["requests"][0]["aggregation_temporality"] == 2
    [h] = by_name["latency"]
    assert h["metric_type"] == "histogram" and h["aggregation_temporality"] == 1

    [log] = read_rows(out_dir, "logs")
    assert log["severity_number"] == 9 and log["severity_text"] == "INFO"
    assert log["body"]["type"] == 6
    assert log["trace_id"] == (1).to_bytes(16, "big")


def test_keyword_configuration_maps_onto_toml():
    text = otlp_arrow.to_toml({"output_dir": "/x", "storage": {"max_batch_rows": 100},
                               "ring.traces": "64MiB", "ffi.resource": {"service.name": "s"}})
    assert 'output_dir = "/x"' in text
    assert '[storage]\nmax_batch_rows = 100' in text
    assert '[ring]\ntraces = "64MiB"' in text
    assert '[ffi.resource]\n"service.name" = "s"' in text


def test_errors_raise_with_the_last_error_message(out_dir):
    with pytest.raises(otlp_arrow.ConfigError) as e:
        otlp_arrow.Library(output_dir=str(out_dir), storage={"compression": "snappy"})
    assert e.value.status == 6 and "snappy" in e.value.last_error
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        with pytest.raises(otlp_arrow.InvalidArgument) as e:
            lib.record_span("x", trace_id=1, span_id=1, kind=42)
        assert "unknown span kind 42" in e.value.last_error
        with pytest.raises(otlp_arrow.InvalidArgument):
            lib.record_span("bad \udcff surrogate", trace_id=1, span_id=1)
        with pytest.raises(otlp_arrow.InvalidArgument):
            lib.record_log(severity_number=99)
        assert lib.stats().traces.rejected_invalid == 2
    with pytest.raises(otlp_arrow.Closed):
        lib.record_span("x", trace_id=1, span_id=1)
    lib.close()  # idempotent
    assert lib.closed


def test_full_ring_raises_full_and_is_counted(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir), ring={"traces": "4KiB"}) as lib:
        name = "n" * 400
        with pytest.raises(otlp_arrow.Full):
            for _ in range(100_000):
                lib.record_span(name, trace_id=1, span_id=1)
        assert lib.stats().traces.rejected_full >= 1
        with pytest.raises(otlp_arrow.TooLarge):
            lib.record_span("n" * 1000, trace_id=1, span_id=1)


def test_threads_share_one_library(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        def work(t):
            for i in range(200):
                lib.record_span("t", trace_id=t + 1, span_id=i + 1, attributes={"t": t, "i": i})

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rows = read_rows(out_dir, "traces")
    assert sorted((attrs(r["attributes"])["t"], attrs(r["attributes"])["i"]) for r in rows) == [
        (t, i) for t in range(4) for i in range(200)
    ]


def test_registered_resource_and_scope(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        rid = lib.register_resource({"service.name": "other"}, schema_url="https://s")
        assert lib.register_resource({"service.name": "other"}, schema_url="https://s") == rid
        sid = lib.register_scope("my.lib", "2.0", {"a": 1})
        lib.record_span("x", trace_id=1, span_id=1, resource_id=rid, scope_id=sid)
        with pytest.raises(otlp_arrow.InvalidArgument):
            lib.record_span("x", trace_id=1, span_id=1, resource_id=999)
    [row] = read_rows(out_dir, "traces")
    assert attrs(row["resource_attributes"]) == {"service.name": "other"}
    assert row["resource_schema_url"] == "https://s"
    assert (row["scope_name"], row["scope_version"]) == ("my.lib", "2.0")
    assert attrs(row["scope_attributes"]) == {"a": 1}


def test_more_points_than_one_call_takes_are_split(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        lib.record_metric("g", [otlp_arrow.NumberPoint(i, i + 1, attributes={"i": i}) for i in range(150)])
    assert sorted(r["value_int"] for r in read_rows(out_dir, "metrics")) == list(range(150))


def test_config_text_and_keywords_merge(out_dir):
    text = '[storage]\nmax_batch_rows = 10\n[ffi.resource]\n"service.name" = "a"\n'
    with otlp_arrow.Library(text, output_dir=str(out_dir), storage={"fsync": "never"}) as lib:
        lib.record_span("x", trace_id=1, span_id=1)
    [row] = read_rows(out_dir, "traces")
    assert attrs(row["resource_attributes"]) == {"service.name": "a"}
    endpoints = otlp_arrow.to_toml({"forward": {"endpoints": [{"url": "http://127.0.0.1:4318"}]}})
    assert 'endpoints = [{ url = "http://127.0.0.1:4318" }]' in endpoints


def test_out_of_range_integers_are_refused_not_truncated(out_dir):
    with otlp_arrow.Library(output_dir=str(out_dir)) as lib:
        with pytest.raises(ValueError):
            lib.record_span("x", trace_id=1, span_id=1, attributes={"big": 1 << 70})
        with pytest.raises(ValueError):
            lib.record_log({"nested": [1 << 64]})
