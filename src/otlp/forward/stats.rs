//! The counters of one [`Exporter`](super::Exporter), their snapshot, and the Prometheus text
//! for the service's `/metrics`.
//!
//! Families rendered by [`render_prometheus`] (all with the label `endpoint`, the exporter's
//! redacted URL; "items" are spans, metric data points and log records):
//!
//! | family | type | extra labels | meaning |
//! |---|---|---|---|
//! | `otlp_arrow_forward_requests_total` | counter | | `export` calls |
//! | `otlp_arrow_forward_attempts_total` | counter | | requests put on the wire, retries included |
//! | `otlp_arrow_forward_retries_total` | counter | | attempts after a retryable failure |
//! | `otlp_arrow_forward_items_sent_total` | counter | | items of requests sent at least once |
//! | `otlp_arrow_forward_items_accepted_total` | counter | | items acknowledged (not rejected) |
//! | `otlp_arrow_forward_items_rejected_total` | counter | | items the server rejected in a partial success |
//! | `otlp_arrow_forward_requests_dropped_total` | counter | `reason` | non-retryable answers ([`DropReason`]) |
//! | `otlp_arrow_forward_items_dropped_total` | counter | `reason` | items of those requests |
//! | `otlp_arrow_forward_requests_deferred_total` | counter | | requests given up at their deadline (left to catch-up) |
//! | `otlp_arrow_forward_items_deferred_total` | counter | | items of those requests |
//! | `otlp_arrow_forward_breaker_state` | gauge (0/1) | `state` (`closed`, `open`, `half_open`) | one sample is 1 |
//! | `otlp_arrow_forward_breaker_transitions_total` | counter | `transition` | breaker transitions |
//! | `otlp_arrow_forward_breaker_rejected_total` | counter | | attempts the breaker refused (each wait counts once per refusal) |
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use super::{BreakerState, DropReason};
use crate::breaker::Counters;
use crate::sync::{AtomicU64, Ordering};

/// The live counters (Relaxed: statistics, ordered with nothing).
#[derive(Debug, Default)]
pub(super) struct StatsCells {
    pub(super) requests: AtomicU64,
    pub(super) attempts: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) items_sent: AtomicU64,
    pub(super) items_accepted: AtomicU64,
    pub(super) items_rejected: AtomicU64,
    pub(super) dropped_requests: [AtomicU64; 6],
    pub(super) dropped_items: [AtomicU64; 6],
    pub(super) deferred_requests: AtomicU64,
    pub(super) deferred_items: AtomicU64,
}

pub(super) fn add(cell: &AtomicU64, n: u64) {
    cell.fetch_add(n, Ordering::Relaxed);
}

fn get(cell: &AtomicU64) -> u64 {
    cell.load(Ordering::Relaxed)
}

impl StatsCells {
    pub(super) fn snapshot(
        &self,
        endpoint: &str,
        breaker_state: BreakerState,
        breaker: Counters,
    ) -> ExporterStatsSnapshot {
        ExporterStatsSnapshot {
            endpoint: endpoint.to_owned(),
            requests: get(&self.requests),
            attempts: get(&self.attempts),
            retries: get(&self.retries),
            items_sent: get(&self.items_sent),
            items_accepted: get(&self.items_accepted),
            items_rejected: get(&self.items_rejected),
            dropped_requests: self.dropped_requests.each_ref().map(get),
            dropped_items: self.dropped_items.each_ref().map(get),
            deferred_requests: get(&self.deferred_requests),
            deferred_items: get(&self.deferred_items),
            breaker_state,
            breaker,
        }
    }
}

/// The counters of one exporter at one moment (each read on its own; not a consistent cut).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExporterStatsSnapshot {
    /// The exporter's [`name`](super::Exporter::name): its URL, user info redacted.
    pub endpoint: String,
    /// `export` calls.
    pub requests: u64,
    /// Requests put on the wire, retries included.
    pub attempts: u64,
    /// Attempts made after a retryable failure.
    pub retries: u64,
    /// Items of requests sent at least once.
    pub items_sent: u64,
    /// Items acknowledged and not rejected.
    pub items_accepted: u64,
    /// Items the server rejected (partial success).
    pub items_rejected: u64,
    /// Dropped requests, indexed by [`DropReason::index`].
    pub dropped_requests: [u64; 6],
    /// Items of dropped requests, indexed by [`DropReason::index`].
    pub dropped_items: [u64; 6],
    /// Requests that reached their deadline unsent or unacknowledged.
    pub deferred_requests: u64,
    /// Items of deferred requests.
    pub deferred_items: u64,
    /// The breaker's state when the snapshot was taken.
    pub breaker_state: BreakerState,
    /// The breaker's transition and rejection counters.
    pub breaker: Counters,
}

impl ExporterStatsSnapshot {
    /// Requests dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped_requests[reason.index()]
    }

    /// Requests dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_requests.iter().sum()
    }

    /// Times the breaker opened (from closed, or again after a failed probe).
    pub fn breaker_opened(&self) -> u64 {
        self.breaker.closed_to_open + self.breaker.half_open_to_open
    }

    /// Times the breaker closed again.
    pub fn breaker_closed(&self) -> u64 {
        self.breaker.half_open_to_closed
    }
}

/// Lower-case state name, as on metrics.
pub(super) const fn state_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends the forwarder families (module docs) for `exporters` to `out`, in the Prometheus
/// text format 0.0.4 the service's `/metrics` uses (`# HELP`, `# TYPE`, `otlp_arrow_` prefix).
/// Nothing is written for an empty slice.
pub fn render_prometheus(exporters: &[ExporterStatsSnapshot], out: &mut String) {
    if exporters.is_empty() {
        return;
    }
    type Get = fn(&ExporterStatsSnapshot) -> u64;
    let simple: [(&str, &str, Get); 9] = [
        ("forward_requests_total", "Export calls.", |s| s.requests),
        (
            "forward_attempts_total",
            "Export requests put on the wire, retries included.",
            |s| s.attempts,
        ),
        (
            "forward_retries_total",
            "Attempts made after a retryable failure.",
            |s| s.retries,
        ),
        (
            "forward_items_sent_total",
            "Items of requests sent at least once.",
            |s| s.items_sent,
        ),
        (
            "forward_items_accepted_total",
            "Items acknowledged by the endpoint.",
            |s| s.items_accepted,
        ),
        (
            "forward_items_rejected_total",
            "Items the endpoint rejected in a partial success.",
            |s| s.items_rejected,
        ),
        (
            "forward_requests_deferred_total",
            "Requests given up at their deadline; left on disk for catch-up.",
            |s| s.deferred_requests,
        ),
        (
            "forward_items_deferred_total",
            "Items of deferred requests.",
            |s| s.deferred_items,
        ),
        (
            "forward_breaker_rejected_total",
            "Attempts the circuit breaker refused.",
            |s| s.breaker.rejected,
        ),
    ];
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP otlp_arrow_{name} {help}");
        let _ = writeln!(out, "# TYPE otlp_arrow_{name} {kind}");
    };
    for (name, help, get) in simple {
        family(out, name, "counter", help);
        for s in exporters {
            let _ = writeln!(
                out,
                "otlp_arrow_{name}{{endpoint=\"{}\"}} {}",
                escape(&s.endpoint),
                get(s)
            );
        }
    }
    for (name, help, items) in [
        (
            "forward_requests_dropped_total",
            "Requests dropped after a non-retryable answer.",
            false,
        ),
        (
            "forward_items_dropped_total",
            "Items of dropped requests.",
            true,
        ),
    ] {
        family(out, name, "counter", help);
        for s in exporters {
            for r in DropReason::ALL {
                let v = if items {
                    s.dropped_items[r.index()]
                } else {
                    s.dropped_requests[r.index()]
                };
                let _ = writeln!(
                    out,
                    "otlp_arrow_{name}{{endpoint=\"{}\",reason=\"{}\"}} {v}",
                    escape(&s.endpoint),
                    r.as_str()
                );
            }
        }
    }
    family(
        out,
        "forward_breaker_state",
        "gauge",
        "Circuit breaker state (1 for the current one).",
    );
    for s in exporters {
        for state in [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen,
        ] {
            let _ = writeln!(
                out,
                "otlp_arrow_forward_breaker_state{{endpoint=\"{}\",state=\"{}\"}} {}",
                escape(&s.endpoint),
                state_name(state),
                u8::from(s.breaker_state == state)
            );
        }
    }
    family(
        out,
        "forward_breaker_transitions_total",
        "counter",
        "Circuit breaker transitions.",
    );
    for s in exporters {
        let b = &s.breaker;
        for (t, v) in [
            ("closed_to_open", b.closed_to_open),
            ("open_to_half_open", b.open_to_half_open),
            ("half_open_to_closed", b.half_open_to_closed),
            ("half_open_to_open", b.half_open_to_open),
            ("half_open_expired", b.half_open_expired),
        ] {
            let _ = writeln!(
                out,
                "otlp_arrow_forward_breaker_transitions_total{{endpoint=\"{}\",transition=\"{t}\"}} {v}",
                escape(&s.endpoint)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_every_family_once_with_help_and_type() {
        let cells = StatsCells::default();
        add(&cells.requests, 3);
        add(&cells.dropped_requests[DropReason::TooLarge.index()], 2);
        let snap = cells.snapshot(
            "http://a\"b:4317",
            BreakerState::Open,
            Counters {
                closed_to_open: 1,
                ..Counters::default()
            },
        );
        assert_eq!(snap.dropped(DropReason::TooLarge), 2);
        assert_eq!(snap.dropped_total(), 2);
        assert_eq!(snap.breaker_opened(), 1);
        let mut page = String::new();
        render_prometheus(&[snap], &mut page);
        assert!(
            page.contains("otlp_arrow_forward_requests_total{endpoint=\"http://a\\\"b:4317\"} 3")
        );
        assert!(page.contains(
            "otlp_arrow_forward_requests_dropped_total{endpoint=\"http://a\\\"b:4317\",reason=\"too_large\"} 2"
        ));
        assert!(page.contains("state=\"open\"} 1"));
        assert!(page.contains("state=\"closed\"} 0"));
        assert!(page.contains("transition=\"closed_to_open\"} 1"));
        let helps = page.lines().filter(|l| l.starts_with("# HELP")).count();
        let types = page.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!(helps, 13);
        assert_eq!(types, 13);
        let mut empty = String::new();
        render_prometheus(&[], &mut empty);
        assert!(empty.is_empty());
    }
}
