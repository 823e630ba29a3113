/*
 * otlp-arrow from C: four threads record spans, metric points and log records into one
 * library handle; the main thread flushes, prints the counters and closes.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude ffi/examples/record.c \
 *      target/release/libotlp_arrow.a -lpthread -ldl -lm -o record
 *   ./record ./otlp-data
 *
 * Files appear under ./otlp-data/{traces,metrics,logs}/ as Arrow IPC streams.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_arrow.h"

enum { THREADS = 4, SPANS = 1000, METRICS = 100, LOGS = 500 };

static otlp_arrow *lib;

static otlp_arrow_str str(const char *s) {
    otlp_arrow_str r = { s, strlen(s) };
    return r;
}

static otlp_arrow_attribute int_attr(const char *key, int64_t v) {
    otlp_arrow_attribute a;
    memset(&a, 0, sizeof a);
    a.key = str(key);
    a.value.type = OTLP_ARROW_VALUE_TYPE_INT;
    a.value.data.int_value = v;
    return a;
}

static otlp_arrow_attribute str_attr(const char *key, const char *v) {
    otlp_arrow_attribute a;
    memset(&a, 0, sizeof a);
    a.key = str(key);
    a.value.type = OTLP_ARROW_VALUE_TYPE_STRING;
    a.value.data.string_value = str(v);
    return a;
}

/* Reports a failed call with the library's message for this thread. */
static int check(otlp_arrow_status status, const char *what) {
    if (status != OTLP_ARROW_OK) {
        char msg[256];
        otlp_arrow_last_error(msg, sizeof msg);
        fprintf(stderr, "%s failed (%u): %s\n", what, status, msg);
        return 1;
    }
    return 0;
}

static void *work(void *arg) {
    int64_t thread = (int64_t)(intptr_t)arg;
    long failures = 0;
    for (int64_t i = 0; i < SPANS; i++) {
        otlp_arrow_attribute attrs[] = {
            int_attr("thread", thread), int_attr("i", i),
            str_attr("http.method", "GET"), str_attr("http.route", "/items/{id}"),
        };
        otlp_arrow_span span;
        memset(&span, 0, sizeof span);
        memset(span.trace_id, (int)thread + 1, sizeof span.trace_id);
        memcpy(span.span_id, &i, sizeof i);
        span.name = OTLP_ARROW_STR_LIT("GET /items/{id}");
        span.kind = OTLP_ARROW_SPAN_KIND_SERVER;
        span.start_time_unix_nano = 1700000000000000000ull + (uint64_t)i;
        span.end_time_unix_nano = span.start_time_unix_nano + 1000;
        span.attributes = attrs;
        span.attributes_len = sizeof attrs / sizeof attrs[0];
        failures += check(otlp_arrow_record_span(lib, &span), "record_span");
    }
    for (int64_t i = 0; i < METRICS; i++) {
        otlp_arrow_attribute attrs[] = { int_attr("thread", thread) };
        otlp_arrow_number_point point;
        memset(&point, 0, sizeof point);
        point.attributes = attrs;
        point.attributes_len = 1;
        point.time_unix_nano = 1700000000000000000ull + (uint64_t)i;
        point.value_type = OTLP_ARROW_NUMBER_TYPE_INT;
        point.as_int = i;
        otlp_arrow_metric metric;
        memset(&metric, 0, sizeof metric);
        metric.name = OTLP_ARROW_STR_LIT("example.counter");
        metric.unit = OTLP_ARROW_STR_LIT("1");
        metric.metric_type = OTLP_ARROW_METRIC_TYPE_SUM;
        metric.aggregation_temporality = OTLP_ARROW_TEMPORALITY_CUMULATIVE;
        metric.is_monotonic = 1;
        metric.number_points = &point;
        metric.points_len = 1;
        failures += check(otlp_arrow_record_metric(lib, &metric), "record_metric");
    }
    for (int64_t i = 0; i < LOGS; i++) {
        otlp_arrow_attribute attrs[] = { int_attr("thread", thread), int_attr("i", i) };
        otlp_arrow_value body;
        memset(&body, 0, sizeof body);
        body.type = OTLP_ARROW_VALUE_TYPE_STRING;
        body.data.string_value = OTLP_ARROW_STR_LIT("something happened");
        otlp_arrow_log log;
        memset(&log, 0, sizeof log);
        log.time_unix_nano = 1700000000000000000ull + (uint64_t)i;
        log.severity_number = OTLP_ARROW_SEVERITY_INFO;
        log.severity_text = OTLP_ARROW_STR_LIT("INFO");
        log.body = &body;
        log.attributes = attrs;
        log.attributes_len = 2;
        failures += check(otlp_arrow_record_log(lib, &log), "record_log");
    }
    return (void *)(intptr_t)failures;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "./otlp-data";
    char config[1024];
    /* The same TOML as the service's configuration file; rings big enough for this burst. */
    int n = snprintf(config, sizeof config,
                     "output_dir = \"%s\"\n"
                     "[ring]\ntraces = \"16MiB\"\n"
                     "[ffi.resource]\n\"service.name\" = \"record-example\"\n",
                     dir);
    if (n < 0 || (size_t)n >= sizeof config) return 2;
    printf("otlp-arrow %s\n", otlp_arrow_version());
    if (check(otlp_arrow_open(config, (size_t)n, &lib), "open")) return 1;

    pthread_t threads[THREADS];
    for (intptr_t t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, work, (void *)t);
    long failures = 0;
    for (int t = 0; t < THREADS; t++) {
        void *r;
        pthread_join(threads[t], &r);
        failures += (long)(intptr_t)r;
    }

    failures += check(otlp_arrow_flush(lib, 10000), "flush");
    otlp_arrow_counters c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    failures += check(otlp_arrow_stats(lib, &c), "stats");
    printf("traces:  %llu rows written, %llu rejected full\n",
           (unsigned long long)c.traces.rows_written, (unsigned long long)c.traces.rejected_full);
    printf("metrics: %llu rows written, %llu rejected full\n",
           (unsigned long long)c.metrics.rows_written, (unsigned long long)c.metrics.rejected_full);
    printf("logs:    %llu rows written, %llu rejected full\n",
           (unsigned long long)c.logs.rows_written, (unsigned long long)c.logs.rejected_full);
    failures += check(otlp_arrow_close(lib), "close");
    return failures == 0 ? 0 : 1;
}
