//! [`Shared`]: what the running service's tasks share: the receiver context, the pipeline
//! (until shutdown takes it), the readiness tracker and the receivers' liveness.
//!
//! The admin endpoint reads the pipeline's counters through here while the service runs. At
//! shutdown the pipeline is taken out (its `shutdown` consumes it); from then on the counters
//! shown are the last ones read, replaced by the final ones once the pipeline has stopped, so
//! `/metrics` never goes blank during a long drain.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::health::Health;
use super::metrics::MetricsInput;
use crate::otlp::forward::ExporterStatsSnapshot;
use crate::otlp::{ReceiverContext, Transport};
use crate::pipeline::forward::ForwardLaneStats;
use crate::pipeline::{Pipeline, ShutdownReport, SignalStats};
use crate::signal::Signal;
use crate::sync::{AtomicBool, Ordering};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data here are plain counters: a panic elsewhere does not make them unusable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A receiver's liveness: whether it is configured and whether its server task has ended.
#[derive(Debug)]
struct Listener {
    enabled: bool,
    stopped: AtomicBool,
}

/// State shared by the service's tasks (see the module docs).
#[derive(Debug)]
pub(crate) struct Shared {
    started: Instant,
    ctx: Arc<ReceiverContext>,
    pipeline: Mutex<Option<Pipeline>>,
    last: Mutex<[SignalStats; 3]>,
    /// The forwarder's last counters (per lane, per exporter).
    last_forward: Mutex<(Vec<ForwardLaneStats>, Vec<ExporterStatsSnapshot>)>,
    health: Mutex<Health>,
    grpc: Listener,
    http: Listener,
}

impl Shared {
    pub(crate) fn new(
        started: Instant,
        ctx: Arc<ReceiverContext>,
        pipeline: Pipeline,
        grpc_enabled: bool,
        http_enabled: bool,
    ) -> Shared {
        let listener = |enabled| Listener {
            enabled,
            stopped: AtomicBool::new(false),
        };
        Shared {
            started,
            ctx,
            pipeline: Mutex::new(Some(pipeline)),
            last: Mutex::new([SignalStats::default(); 3]),
            last_forward: Mutex::new((Vec::new(), Vec::new())),
            health: Mutex::new(Health::new()),
            grpc: listener(grpc_enabled),
            http: listener(http_enabled),
        }
    }

    pub(crate) fn ctx(&self) -> &Arc<ReceiverContext> {
        &self.ctx
    }

    fn listener(&self, transport: Transport) -> &Listener {
        match transport {
            Transport::Grpc => &self.grpc,
            Transport::Http => &self.http,
        }
    }

    /// Called when a receiver's server task ends, for whatever reason.
    pub(crate) fn mark_stopped(&self, transport: Transport) {
        self.listener(transport)
            .stopped
            .store(true, Ordering::Release);
    }

    /// The pipeline's counters now (or the last ones read, once shutdown took the pipeline).
    pub(crate) fn signal_stats(&self) -> [SignalStats; 3] {
        let pipeline = lock(&self.pipeline);
        let mut last = lock(&self.last);
        if let Some(p) = pipeline.as_ref() {
            *last = Signal::ALL.map(|s| p.stats(s));
        }
        *last
    }

    /// The forwarder's counters now (or the last ones read): per lane, per exporter.
    pub(crate) fn forward_stats(&self) -> (Vec<ForwardLaneStats>, Vec<ExporterStatsSnapshot>) {
        let pipeline = lock(&self.pipeline);
        let mut last = lock(&self.last_forward);
        if let Some(p) = pipeline.as_ref() {
            *last = (p.forward_stats(), p.exporter_stats());
        }
        last.clone()
    }

    /// Takes the pipeline out for shutdown (once; `None` after).
    pub(crate) fn take_pipeline(&self) -> Option<Pipeline> {
        self.signal_stats();
        self.forward_stats();
        lock(&self.pipeline).take()
    }

    /// Records the final counters of a finished shutdown.
    pub(crate) fn set_final(&self, report: &ShutdownReport) {
        if !report.forward.is_empty() {
            lock(&self.last_forward).0 = report.forward.clone();
        }
        let mut last = lock(&self.last);
        for (signal, stats, _) in &report.signals {
            if let Some(i) = Signal::ALL.iter().position(|s| s == signal) {
                last[i] = *stats;
            }
        }
    }

    /// Feeds one sample of the counters to the readiness tracker.
    pub(crate) fn sample(&self, now: Instant) {
        let stats = self.signal_stats();
        lock(&self.health).observe(now, &stats);
    }

    /// Why the service is not ready at `now` (samples first); empty when ready.
    pub(crate) fn problems(&self, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        if self.ctx.is_shutting_down() {
            out.push("shutting down".to_owned());
        }
        for t in Transport::ALL {
            let l = self.listener(t);
            if l.enabled && l.stopped.load(Ordering::Acquire) {
                out.push(format!("{} receiver is not running", t.as_str()));
            }
        }
        self.sample(now);
        out.extend(lock(&self.health).problems(now));
        out
    }

    /// Everything `/metrics` shows, at `now`.
    pub(crate) fn metrics_input(&self, now: Instant) -> MetricsInput {
        let ready = self.problems(now).is_empty();
        let forward = self.forward_stats();
        MetricsInput {
            uptime: now.saturating_duration_since(self.started),
            ready,
            receivers: self.ctx.snapshot(),
            signals: self.signal_stats(),
            exporters: forward.1,
            forward: forward.0,
        }
    }
}
