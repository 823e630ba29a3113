/*
 * Error paths of the C ABI, from C: every call below must fail with the documented status,
 * leave out-parameters alone, explain itself in otlp_arrow_last_error, and record nothing.
 * Run by ffi/tests/run_c_tests.sh (also under valgrind). Argument: an empty scratch directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_arrow.h"

static int passed, failed;

#define EXPECT(cond)                                                                \
    do {                                                                            \
        if (cond) {                                                                 \
            passed++;                                                               \
        } else {                                                                    \
            failed++;                                                               \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                           \
    } while (0)

static char last[512];

static const char *last_error(void) {
    otlp_arrow_last_error(last, sizeof last);
    return last;
}

static otlp_arrow *open_lib(const char *dir, const char *sub, const char *extra) {
    char config[1024];
    int n = snprintf(config, sizeof config, "output_dir = \"%s/%s\"\n%s", dir, sub, extra);
    otlp_arrow *lib = NULL;
    otlp_arrow_status s = otlp_arrow_open(config, (size_t)n, &lib);
    if (s != OTLP_ARROW_OK) {
        fprintf(stderr, "open failed: %s\n", last_error());
        exit(2);
    }
    return lib;
}

static otlp_arrow_span span_named(const char *name, size_t len) {
    otlp_arrow_span span;
    memset(&span, 0, sizeof span);
    span.trace_id[0] = 1;
    span.span_id[0] = 2;
    span.name.ptr = name;
    span.name.len = len;
    return span;
}

static otlp_arrow_counters counters(const otlp_arrow *lib) {
    otlp_arrow_counters c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    otlp_arrow_stats(lib, &c);
    return c;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *dir = argv[1];

    /* Version string and macros agree. */
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", OTLP_ARROW_VERSION_MAJOR,
             OTLP_ARROW_VERSION_MINOR, OTLP_ARROW_VERSION_PATCH);
    EXPECT(otlp_arrow_version() != NULL && strcmp(otlp_arrow_version(), expected) == 0);

    /* close(NULL) is a no-op. */
    EXPECT(otlp_arrow_close(NULL) == OTLP_ARROW_OK);

    /* open: NULL out, NULL config with a length, bad configuration; out left alone. */
    otlp_arrow *untouched = (otlp_arrow *)&passed;
    EXPECT(otlp_arrow_open(NULL, 0, NULL) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(otlp_arrow_open(NULL, 5, &untouched) == OTLP_ARROW_INVALID_ARGUMENT);
    const char *bad = "[storage]\ncompression = \"snappy\"\n";
    EXPECT(otlp_arrow_open(bad, strlen(bad), &untouched) == OTLP_ARROW_CONFIG);
    EXPECT(strstr(last_error(), "snappy") != NULL);
    EXPECT(untouched == (otlp_arrow *)&passed);

    /* A 4 KiB traces ring: its largest record is 512 bytes. */
    otlp_arrow *lib = open_lib(dir, "strict", "[ring]\ntraces = \"4KiB\"\n");

    /* NULL handle and NULL views. */
    otlp_arrow_span span = span_named("ok", 2);
    EXPECT(otlp_arrow_record_span(NULL, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(strstr(last_error(), "handle is NULL") != NULL);
    EXPECT(otlp_arrow_record_span(lib, NULL) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(otlp_arrow_record_metric(lib, NULL) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(otlp_arrow_record_log(lib, NULL) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(otlp_arrow_flush(NULL, 0) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(otlp_arrow_stats(lib, NULL) == OTLP_ARROW_INVALID_ARGUMENT);

    /* NULL string with a non-zero length; NULL attribute array with a length. */
    span = span_named(NULL, 4);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    span = span_named("ok", 2);
    span.attributes_len = 3;
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);

    /* Invalid UTF-8 (reject is the default). */
    const char invalid[] = { 'a', (char)0xff, 'b' };
    span = span_named(invalid, sizeof invalid);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(strstr(last_error(), "not UTF-8") != NULL);

    /* Unknown enum numbers. */
    span = span_named("ok", 2);
    span.kind = 99;
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(strstr(last_error(), "unknown span kind 99") != NULL);
    span.kind = 0;
    span.status_code = 3;
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    span.status_code = 0;
    otlp_arrow_attribute attr;
    memset(&attr, 0, sizeof attr);
    attr.key = OTLP_ARROW_STR_LIT("k");
    attr.value.type = 42;
    span.attributes = &attr;
    span.attributes_len = 1;
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_INVALID_ARGUMENT);
    EXPECT(strstr(last_error(), "unknown value type 42") != NULL);

    otlp_arrow_metric metric;
    memset(&metric, 0, sizeof metric);
    metric.name = OTLP_ARROW_STR_LIT("m");
    EXPECT(otlp_arrow_record_metric(lib, &metric) == OTLP_ARROW_INVALID_ARGUMENT); /* type 0 */
    metric.metric_type = OTLP_ARROW_METRIC_TYPE_SUM;
    metric.aggregation_temporality = 7;
    EXPECT(otlp_arrow_record_metric(lib, &metric) == OTLP_ARROW_INVALID_ARGUMENT);
    metric.aggregation_temporality = OTLP_ARROW_TEMPORALITY_DELTA;
    metric.points_len = OTLP_ARROW_MAX_POINTS + 1;
    EXPECT(otlp_arrow_record_metric(lib, &metric) == OTLP_ARROW_INVALID_ARGUMENT);

    otlp_arrow_log log;
    memset(&log, 0, sizeof log);
    log.severity_number = 25;
    EXPECT(otlp_arrow_record_log(lib, &log) == OTLP_ARROW_INVALID_ARGUMENT);
    log.severity_number = OTLP_ARROW_SEVERITY_INFO;
    log.resource_id = 77;
    EXPECT(otlp_arrow_record_log(lib, &log) == OTLP_ARROW_INVALID_ARGUMENT);

    /* Oversized: 1000 bytes of name can never fit a 512-byte record. */
    char big[1000];
    memset(big, 'x', sizeof big);
    span = span_named(big, sizeof big);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_TOO_LARGE);

    /* last_error truncates like snprintf and returns the full length. */
    char tiny[8];
    size_t full = otlp_arrow_last_error(tiny, sizeof tiny);
    EXPECT(full > sizeof tiny && strlen(tiny) == sizeof tiny - 1);
    EXPECT(otlp_arrow_last_error(NULL, 0) == full);

    /* Nothing above was recorded; refusals are counted. */
    EXPECT(otlp_arrow_flush(lib, 10000) == OTLP_ARROW_OK);
    otlp_arrow_counters c = counters(lib);
    EXPECT(c.traces.rows_written == 0 && c.metrics.rows_written == 0 && c.logs.rows_written == 0);
    EXPECT(c.traces.rejected_too_large == 1);
    EXPECT(c.traces.rejected_invalid == 6);

    /* An older caller's smaller stats struct gets its prefix only. */
    struct { size_t size; uint64_t ring_capacity; uint64_t sentinel; } old;
    old.size = sizeof(size_t) + sizeof(uint64_t);
    old.sentinel = 12345;
    EXPECT(otlp_arrow_stats(lib, (otlp_arrow_counters *)(void *)&old) == OTLP_ARROW_OK);
    EXPECT(old.ring_capacity == 4096 && old.sentinel == 12345);

    /* A valid span still works, then use after close is detected. */
    span = span_named("fine", 4);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_OK);
    EXPECT(otlp_arrow_close(lib) == OTLP_ARROW_OK);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_CLOSED);
    EXPECT(otlp_arrow_flush(lib, 0) == OTLP_ARROW_CLOSED);
    EXPECT(otlp_arrow_close(lib) == OTLP_ARROW_CLOSED);

    /* invalid_utf8 = "replace": the same invalid name is kept, repaired. */
    lib = open_lib(dir, "replace", "[ffi]\ninvalid_utf8 = \"replace\"\n");
    span = span_named(invalid, sizeof invalid);
    EXPECT(otlp_arrow_record_span(lib, &span) == OTLP_ARROW_OK);
    EXPECT(otlp_arrow_close(lib) == OTLP_ARROW_OK);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
