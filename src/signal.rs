//! The three OpenTelemetry signals, as the pipeline routes them.
#![forbid(unsafe_code)]

/// A telemetry signal. Each has its own ring, drain thread, file directory and schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Spans (`ExportTraceServiceRequest`, `ResourceSpans` records).
    Traces,
    /// Metric data points (`ExportMetricsServiceRequest`, `ResourceMetrics` records).
    Metrics,
    /// Log records (`ExportLogsServiceRequest`, `ResourceLogs` records).
    Logs,
}

impl Signal {
    /// All signals, in a fixed order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// Lower-case name: `traces`, `metrics`, `logs`; also the directory name under the output
    /// directory and the label value on metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// The ring record kind used for this signal's `Resource*` records.
    pub const fn record_kind(self) -> u32 {
        match self {
            Signal::Traces => 1,
            Signal::Metrics => 2,
            Signal::Logs => 3,
        }
    }

    /// The signal whose records carry `kind`, if any.
    pub const fn from_record_kind(kind: u32) -> Option<Signal> {
        match kind {
            1 => Some(Signal::Traces),
            2 => Some(Signal::Metrics),
            3 => Some(Signal::Logs),
            _ => None,
        }
    }
}

impl core::fmt::Display for Signal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_names() {
        for s in Signal::ALL {
            assert_eq!(Signal::from_record_kind(s.record_kind()), Some(s));
        }
        assert_eq!(Signal::from_record_kind(0), None);
        assert_eq!(Signal::Metrics.to_string(), "metrics");
    }
}
