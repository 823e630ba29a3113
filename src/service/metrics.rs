//! `/metrics`: the service's counters in the Prometheus text exposition format 0.0.4.
//!
//! Every family has `# HELP` and `# TYPE` lines and the `otlp_arrow_` prefix; counters end in
//! `_total`. Labels: `signal` (`traces`, `metrics`, `logs`) and, for the receivers,
//! `transport` (`grpc`, `http`). "Items" are spans, metric data points and log records.
//!
//! | family | type | labels | from |
//! |---|---|---|---|
//! | `otlp_arrow_build_info` | gauge (1) | `version` | the crate version |
//! | `otlp_arrow_uptime_seconds` | gauge | | service start |
//! | `otlp_arrow_ready` | gauge (0/1) | | `/ready` |
//! | `otlp_arrow_receiver_requests_total` | counter | signal, transport | requests that reached ingest |
//! | `otlp_arrow_receiver_requests_refused_total` | counter | signal, transport | refused whole: overload, shutdown |
//! | `otlp_arrow_receiver_requests_invalid_total` | counter | signal, transport | refused whole: malformed, too large |
//! | `otlp_arrow_receiver_items_received_total` | counter | signal, transport | accepted + refused + rejected |
//! | `otlp_arrow_receiver_items_accepted_total` | counter | signal, transport | written to the ring |
//! | `otlp_arrow_receiver_items_refused_total` | counter | signal, transport | refused for overload (client told to retry) |
//! | `otlp_arrow_receiver_items_rejected_total` | counter | signal, transport | rejected as invalid (partial success) |
//! | `otlp_arrow_receiver_bytes_received_total` | counter | signal, transport | request bodies as sent |
//! | `otlp_arrow_ring_capacity_bytes`, `otlp_arrow_ring_in_use_bytes` | gauge | signal | the ring |
//! | `otlp_arrow_ring_records_read_total` | counter | signal | records the drain read |
//! | `otlp_arrow_ring_rejected_full_total`, `otlp_arrow_ring_rejected_too_large_total` | counter | signal | ring writes refused |
//! | `otlp_arrow_storage_rows_written_total`, `_batches_written_total`, `_bytes_written_total`, `_files_finalized_total`, `_write_errors_total`, `_recovered_files_total`, `_recovered_rows_total`, `_retention_deleted_files_total`, `_retention_deleted_bytes_total`, `_salvaged_files_total`, `_lost_files_total` | counter | signal | the writer |
//! | `otlp_arrow_storage_files_on_disk`, `otlp_arrow_storage_bytes_on_disk` | gauge | signal | finalized files at the last listing |
//! | `otlp_arrow_drain_write_retries_total` | counter | signal | failed batch writes retried |
//! | `otlp_arrow_dropped_total` | counter | signal, reason | see below |
//!
//! `otlp_arrow_dropped_total` sums what did not reach a file, by `reason`: `ring_full` (items
//! the receivers refused because the ring was full or the request too large for it; the client
//! was told to retry, so they may well arrive later), `decode_error` (ring records that did not
//! decode; a record holds one or more items), `lost_at_shutdown` (rows decoded but not written,
//! plus ring records never read, when the shutdown deadline passed). Items rejected as invalid
//! are in `otlp_arrow_receiver_items_rejected_total`.
//!
//! With forwarding, the transport's families per endpoint
//! ([`render_prometheus`](crate::otlp::forward::render_prometheus): requests, retries, drops by
//! reason, breaker state and transitions) follow, and then the forwarder's per (endpoint,
//! signal), labels `endpoint` (URL, redacted) and `signal`:
//!
//! | family | type | extra labels | meaning |
//! |---|---|---|---|
//! | `otlp_arrow_forward_signal_requests_total` | counter | `path` (`live`, `catchup`) | requests handed to the transport (items sent / requests = the average request size) |
//! | `otlp_arrow_forward_signal_items_sent_total` | counter | `path` (`live`, `catchup`) | items handed to the transport |
//! | `otlp_arrow_forward_signal_items_acked_total` | counter | `path` (`all`, `catchup`) | items the endpoint acknowledged |
//! | `otlp_arrow_forward_signal_items_not_sent_total` | counter | `reason` (`rejected`, `dropped`, `missing`, `retention`) | items that will never be sent: partial-success rejections, non-retryable errors, rows no file holds, rows retention deleted first |
//! | `otlp_arrow_forward_signal_items_deferred_total` | counter | | items of deferred requests (resent from the files) |
//! | `otlp_arrow_forward_signal_queue_overflow_rows_total` | counter | | live rows the queue could not take (sent from the files) |
//! | `otlp_arrow_forward_signal_cursor` | gauge | | every row below it is done |
//! | `otlp_arrow_forward_signal_lag_rows` | gauge | | rows decoded and not yet done |
//! | `otlp_arrow_forward_signal_in_flight_requests` | gauge | | requests outstanding |
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::time::Duration;

use crate::otlp::forward::ExporterStatsSnapshot;
use crate::otlp::{ReceiverSnapshot, Transport};
use crate::pipeline::SignalStats;
use crate::pipeline::forward::ForwardLaneStats;
use crate::signal::Signal;

/// The Content-Type of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A per-signal family: name, type, help, and how to read its value.
type PerSignal = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SignalStats) -> u64,
);

/// Everything the page shows, sampled by the caller.
#[derive(Debug, Clone, Default)]
pub struct MetricsInput {
    /// Time since the service started.
    pub uptime: Duration,
    /// Whether `/ready` would answer 200.
    pub ready: bool,
    /// The receivers' counters.
    pub receivers: ReceiverSnapshot,
    /// The pipeline's counters, in [`Signal::ALL`] order.
    pub signals: [SignalStats; 3],
    /// The forward transport's counters per endpoint (empty without forwarding).
    pub exporters: Vec<ExporterStatsSnapshot>,
    /// The forwarder's counters per (endpoint, signal) (empty without forwarding).
    pub forward: Vec<ForwardLaneStats>,
}

struct Page {
    out: String,
}

impl Page {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP otlp_arrow_{name} {help}");
        let _ = writeln!(self.out, "# TYPE otlp_arrow_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "otlp_arrow_{name}");
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one sample per signal.
    fn per_signal(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        signals: &[SignalStats; 3],
        get: impl Fn(&SignalStats) -> u64,
    ) {
        self.family(name, kind, help);
        for (s, stats) in Signal::ALL.into_iter().zip(signals) {
            self.sample(name, &[("signal", s.as_str())], get(stats));
        }
    }

    /// A counter family with one sample per signal x transport.
    fn per_receiver(
        &mut self,
        name: &str,
        help: &str,
        receivers: &ReceiverSnapshot,
        get: impl Fn(&crate::otlp::CounterSnapshot) -> u64,
    ) {
        self.family(name, "counter", help);
        for s in Signal::ALL {
            for t in Transport::ALL {
                let labels = [("signal", s.as_str()), ("transport", t.as_str())];
                self.sample(name, &labels, get(&receivers.get(s, t)));
            }
        }
    }
}

/// Label values escape `\`, `"` and newlines (format 0.0.4).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The page.
pub fn render(input: &MetricsInput) -> String {
    let mut p = Page {
        out: String::with_capacity(16 * 1024),
    };
    let r = &input.receivers;
    let s = &input.signals;

    p.family(
        "build_info",
        "gauge",
        "Build of the running otlp-arrow (always 1).",
    );
    p.sample("build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    p.family(
        "uptime_seconds",
        "gauge",
        "Seconds since the service started.",
    );
    p.sample(
        "uptime_seconds",
        &[],
        format!("{:.3}", input.uptime.as_secs_f64()),
    );
    p.family("ready", "gauge", "1 when /ready answers 200, else 0.");
    p.sample("ready", &[], u8::from(input.ready));

    p.per_receiver(
        "receiver_requests_total",
        "OTLP export requests that reached ingest.",
        r,
        |c| c.requests,
    );
    p.per_receiver(
        "receiver_requests_refused_total",
        "Requests refused whole for overload or shutdown (retryable).",
        r,
        |c| c.requests_refused,
    );
    p.per_receiver(
        "receiver_requests_invalid_total",
        "Requests refused whole as malformed or too large.",
        r,
        |c| c.requests_invalid,
    );
    p.per_receiver(
        "receiver_items_received_total",
        "Items (spans, data points, log records) in scannable requests.",
        r,
        |c| c.items_received,
    );
    p.per_receiver(
        "receiver_items_accepted_total",
        "Items written to the ring.",
        r,
        |c| c.items_accepted,
    );
    p.per_receiver(
        "receiver_items_refused_total",
        "Items refused for overload; the client was told to retry.",
        r,
        |c| c.items_refused,
    );
    p.per_receiver(
        "receiver_items_rejected_total",
        "Items rejected as invalid (OTLP partial success; not to be retried).",
        r,
        |c| c.items_rejected,
    );
    p.per_receiver(
        "receiver_bytes_received_total",
        "Request body bytes as received (before decompression).",
        r,
        |c| c.bytes_received,
    );

    p.per_signal(
        "ring_capacity_bytes",
        "gauge",
        "Size of the signal's ring.",
        s,
        |x| x.ring.capacity,
    );
    p.per_signal(
        "ring_in_use_bytes",
        "gauge",
        "Ring bytes claimed and not yet released by the drain.",
        s,
        |x| x.ring.in_use_bytes,
    );
    p.per_signal(
        "ring_records_read_total",
        "counter",
        "Ring records read by the drain.",
        s,
        |x| x.ring.records_read,
    );
    p.per_signal(
        "ring_rejected_full_total",
        "counter",
        "Ring writes refused because the ring was full.",
        s,
        |x| x.ring.rejected_full,
    );
    p.per_signal(
        "ring_rejected_too_large_total",
        "counter",
        "Ring writes refused because the record can never fit.",
        s,
        |x| x.ring.rejected_too_large,
    );

    let storage: [PerSignal; 13] = [
        (
            "storage_rows_written_total",
            "counter",
            "Rows written to files.",
            |x| x.storage.rows_written,
        ),
        (
            "storage_batches_written_total",
            "counter",
            "Record batches written to files.",
            |x| x.storage.batches_written,
        ),
        (
            "storage_bytes_written_total",
            "counter",
            "Bytes written to files.",
            |x| x.storage.bytes_written,
        ),
        (
            "storage_files_finalized_total",
            "counter",
            "Files finalized (renamed to .arrow).",
            |x| x.storage.files_finalized,
        ),
        (
            "storage_write_errors_total",
            "counter",
            "Failed storage operations.",
            |x| x.storage.write_errors,
        ),
        (
            "storage_recovered_files_total",
            "counter",
            "Crashed .partial files repaired at start.",
            |x| x.storage.recovered_files,
        ),
        (
            "storage_recovered_rows_total",
            "counter",
            "Rows kept by crash recovery.",
            |x| x.storage.recovered_rows,
        ),
        (
            "storage_retention_deleted_files_total",
            "counter",
            "Finalized files deleted by retention.",
            |x| x.storage.retention_deleted_files,
        ),
        (
            "storage_retention_deleted_bytes_total",
            "counter",
            "Bytes of the files deleted by retention.",
            |x| x.storage.retention_deleted_bytes,
        ),
        (
            "storage_salvaged_files_total",
            "counter",
            "Files closed early after a failed write, complete batches kept.",
            |x| x.storage.salvaged_files,
        ),
        (
            "storage_lost_files_total",
            "counter",
            "Files in progress that disappeared under the writer.",
            |x| x.storage.lost_files,
        ),
        (
            "storage_files_on_disk",
            "gauge",
            "Finalized files on disk at the last listing.",
            |x| x.storage.files_on_disk,
        ),
        (
            "storage_bytes_on_disk",
            "gauge",
            "Bytes of finalized files on disk at the last listing.",
            |x| x.storage.bytes_on_disk,
        ),
    ];
    for (name, kind, help, get) in storage {
        p.per_signal(name, kind, help, s, get);
    }
    p.per_signal(
        "drain_write_retries_total",
        "counter",
        "Failed batch writes that were retried.",
        s,
        |x| x.drain.write_retries,
    );

    p.family(
        "dropped_total",
        "counter",
        "Telemetry that did not reach a file, by reason: ring_full (items refused, client told to retry), decode_error (ring records), lost_at_shutdown (rows and ring records).",
    );
    for (signal, stats) in Signal::ALL.into_iter().zip(s) {
        let refused: u64 = Transport::ALL
            .iter()
            .map(|&t| r.get(signal, t).items_refused)
            .sum();
        let reasons = [
            ("ring_full", refused),
            ("decode_error", stats.drain.decode_errors),
            (
                "lost_at_shutdown",
                stats.drain.lost_rows + stats.drain.lost_records,
            ),
        ];
        for (reason, n) in reasons {
            p.sample(
                "dropped_total",
                &[("signal", signal.as_str()), ("reason", reason)],
                n,
            );
        }
    }
    crate::otlp::forward::render_prometheus(&input.exporters, &mut p.out);
    render_forward(&mut p, &input.forward);
    p.out
}

/// The forwarder's families (module docs); nothing without forwarding.
fn render_forward(p: &mut Page, lanes: &[ForwardLaneStats]) {
    if lanes.is_empty() {
        return;
    }
    type Get = fn(&ForwardLaneStats) -> u64;
    /// name, type, help, label key, (label value, value) per sample.
    type Labelled = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, Get)],
    );
    let labelled: [Labelled; 4] = [
        (
            "forward_signal_requests_total",
            "counter",
            "Requests handed to the transport, by path (live from the drain, catchup from the files).",
            "path",
            &[
                ("live", |s| s.live_requests),
                ("catchup", |s| s.catchup_requests),
            ],
        ),
        (
            "forward_signal_items_sent_total",
            "counter",
            "Items handed to the transport, by path (live from the drain, catchup from the files).",
            "path",
            &[
                ("live", |s| s.live_items_sent),
                ("catchup", |s| s.catchup_items_sent),
            ],
        ),
        (
            "forward_signal_items_acked_total",
            "counter",
            "Items the endpoint acknowledged (all), and of those the ones read from the files (catchup).",
            "path",
            &[
                ("all", |s| s.items_accepted),
                ("catchup", |s| s.catchup_items_accepted),
            ],
        ),
        (
            "forward_signal_items_not_sent_total",
            "counter",
            "Items that will never be sent, by reason: rejected (partial success), dropped (non-retryable error), missing (in no stored file), retention (deleted by max_total_bytes first).",
            "reason",
            &[
                ("rejected", |s| s.items_rejected),
                ("dropped", |s| s.items_dropped),
                ("missing", |s| s.rows_missing),
                ("retention", |s| s.rows_retention_lost),
            ],
        ),
    ];
    for (name, kind, help, key, values) in labelled {
        p.family(name, kind, help);
        for l in lanes {
            for (v, get) in values {
                let labels = [
                    ("endpoint", l.endpoint.as_str()),
                    ("signal", l.signal.as_str()),
                    (key, v),
                ];
                p.sample(name, &labels, get(l));
            }
        }
    }
    let simple: [(&str, &str, &str, Get); 5] = [
        (
            "forward_signal_items_deferred_total",
            "counter",
            "Items of requests deferred (retries exhausted, breaker open); resent from the files.",
            |s| s.items_deferred,
        ),
        (
            "forward_signal_queue_overflow_rows_total",
            "counter",
            "Live rows the forward queue could not take; sent from the files instead.",
            |s| s.queue_overflow_rows,
        ),
        (
            "forward_signal_cursor",
            "gauge",
            "Every row below this global row number is done (acknowledged or counted).",
            |s| s.cursor,
        ),
        (
            "forward_signal_lag_rows",
            "gauge",
            "Rows decoded but not yet done for this endpoint.",
            |s| s.lag_rows,
        ),
        (
            "forward_signal_in_flight_requests",
            "gauge",
            "Export requests outstanding.",
            |s| s.in_flight,
        ),
    ];
    for (name, kind, help, get) in simple {
        p.family(name, kind, help);
        for l in lanes {
            let labels = [
                ("endpoint", l.endpoint.as_str()),
                ("signal", l.signal.as_str()),
            ];
            p.sample(name, &labels, get(l));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample line as (name, labels, value).
    fn samples(page: &str) -> Vec<(String, String, String)> {
        page.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                (name.to_owned(), labels.to_owned(), value.to_owned())
            })
            .collect()
    }

    #[test]
    fn every_family_has_help_and_type_and_every_sample_a_family() {
        let page = render(&MetricsInput::default());
        let mut families = std::collections::BTreeSet::new();
        let mut typed = std::collections::BTreeSet::new();
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                families.insert(rest.split(' ').next().unwrap().to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let name = parts.next().unwrap().to_owned();
                let kind = parts.next().unwrap();
                assert!(matches!(kind, "counter" | "gauge"), "{line}");
                assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
                typed.insert(name);
            }
        }
        assert_eq!(families, typed);
        for (name, _, value) in samples(&page) {
            assert!(families.contains(&name), "{name} has no HELP/TYPE");
            assert!(name.starts_with("otlp_arrow_"));
            assert!(value.parse::<f64>().is_ok(), "{name} {value}");
        }
    }

    #[test]
    fn counters_carry_their_labels_and_values() {
        let mut input = MetricsInput {
            uptime: Duration::from_millis(1500),
            ready: true,
            ..MetricsInput::default()
        };
        input.receivers.counters[2][1].items_accepted = 7;
        input.receivers.counters[0][0].items_refused = 3;
        input.receivers.counters[0][1].items_refused = 4;
        input.signals[1].storage.rows_written = 11;
        input.signals[2].drain.lost_rows = 1;
        input.signals[2].drain.lost_records = 2;
        let page = render(&input);
        let has = |line: &str| page.lines().any(|l| l == line);
        assert!(has(&format!(
            "otlp_arrow_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(has("otlp_arrow_uptime_seconds 1.500"));
        assert!(has("otlp_arrow_ready 1"));
        assert!(has(
            "otlp_arrow_receiver_items_accepted_total{signal=\"logs\",transport=\"http\"} 7"
        ));
        assert!(has(
            "otlp_arrow_receiver_items_accepted_total{signal=\"logs\",transport=\"grpc\"} 0"
        ));
        assert!(has(
            "otlp_arrow_storage_rows_written_total{signal=\"metrics\"} 11"
        ));
        assert!(has(
            "otlp_arrow_dropped_total{signal=\"traces\",reason=\"ring_full\"} 7"
        ));
        assert!(has(
            "otlp_arrow_dropped_total{signal=\"logs\",reason=\"lost_at_shutdown\"} 3"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
