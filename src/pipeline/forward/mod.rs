//! The forwarder: sends each signal's rows to every configured OTLP endpoint, live from the
//! drains and, for whatever was not sent live, from the stored files.
//!
//! Per (endpoint, signal) there is a **lane** ([`lane`]): a [`Tap`](queue::Tap) on the drain
//! thread copies each decoded record into the lane's bytes-bounded live queue
//! (`forward.queue_bytes`, never blocking the drain); the lane's loop builds requests from it
//! by concatenating records (no decode, no re-encode), sends them through the endpoint's
//! [`Exporter`](crate::otlp::forward::Exporter) (retry, backoff, circuit breaker), and records
//! each outcome in its **ledger** ([`ledger`]: acknowledged row ranges and a cursor file
//! `<output_dir>/<signal>/.forward/<endpoint-id>.cursor` replaced atomically). Rows that were
//! not sent live (queue full, request deferred, breaker open, process restarted) are **gaps**
//! read back from the files ([`catchup`]) through the reverse path, oldest first, sharing the
//! endpoint's `max_in_flight` requests fairly with live data. A [`DeletionGate`] per signal
//! ([`gate`]) keeps retention from deleting by age files that hold rows at or above the slowest
//! cursor; when `max_total_bytes` forces it, the lost rows are counted.
//!
//! All lanes run on one thread (`otlp-arrow-forward`) with a tokio current-thread runtime, so
//! the forwarder works the same under the service, the C ABI and a plain Rust program; only
//! the catch-up reads (file reading and reverse-path encoding, one request ahead per lane)
//! run on that runtime's blocking pool, so they overlap with sending.
//!
//! # Delivery guarantee
//!
//! At least once, for every row stored in a file that retention keeps until it is forwarded:
//! a row is only ever marked done when the endpoint acknowledged it, or when it was dropped
//! after a non-retryable answer (counted in `items_dropped`), rejected in a partial success
//! (`items_rejected`), or found in no stored file (`rows_missing`, `rows_retention_lost`).
//! The ledger (cursor and the ranges acknowledged out of order above it) is persisted after
//! every `max_in_flight`-th acknowledgement, at least every [`CURSOR_MAX_DELAY`], and when the
//! lane stops, so duplicates come only from (1) requests in flight at a crash or at the end of
//! the shutdown grace plus acknowledged requests not yet in the cursor file at a crash (at most
//! `2 * max_in_flight - 1` requests of `max_request_items` items per lane and restart), (2) a request that timed out or failed on a connection reset after
//! the endpoint had stored it (bounded by the retries of that request), and (3) more than
//! `MAX_PERSISTED_RANGES` (1024) holes above the cursor at a crash (the ranges beyond are
//! resent).
//!
//! A cursor file that is missing or corrupt counts as cursor 0: the lane starts from the
//! oldest file on disk (rows older than that are counted as missing).
#![forbid(unsafe_code)]

mod catchup;
mod gate;
mod lane;
mod ledger;
mod queue;
mod ranges;
mod seam;
mod stats;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use stats::ForwardLaneStats;

use crate::arrow::files::{DeletionGate, signal_dir};
use crate::arrow::otlp::Limits;
use crate::config::Config;
use crate::otlp::forward::{BreakerEvent, Exporter, ExporterStatsSnapshot, ForwardError};
use crate::signal::Signal;
use crate::sync::AtomicU64;
use catchup::CatchupReader;
use lane::{Lane, LaneOptions, Stop};
use ledger::{CursorLoad, Ledger, PersistPolicy, read_cursor};

/// Longest time an acknowledgement waits to be written to the cursor file (see the
/// [delivery guarantee](self#delivery-guarantee)).
pub const CURSOR_MAX_DELAY: Duration = Duration::from_millis(200);
use queue::{LiveQueue, Tap};
use seam::{RecordTap, RowWatermarks};
use stats::LaneStats;

/// Called on every breaker transition of every endpoint, on the forwarder thread (keep it
/// short; it must not block). A host application can shed load while its collector is down.
pub type BreakerCallback = Arc<dyn Fn(BreakerEvent) + Send + Sync>;

/// The cursor file of `endpoint_url` for `signal` under `output_dir`.
pub fn cursor_path(output_dir: &Path, signal: Signal, endpoint_url: &str) -> PathBuf {
    signal_dir(output_dir, signal)
        .join(".forward")
        .join(format!("{}.cursor", endpoint_id(endpoint_url)))
}

/// A stable file-name-safe id of an endpoint: FNV-1a (64 bits) of its URL with user info
/// redacted, in hex. Stable across runs and versions (not `DefaultHasher`).
pub fn endpoint_id(url: &str) -> String {
    let redacted = crate::config::redact_url(url);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in redacted.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

struct PlannedLane {
    endpoint: usize,
    name: String,
    signal: Signal,
    queue: Arc<LiveQueue>,
    ledger: Ledger,
    stats: Arc<LaneStats>,
}

/// What the forwarder needs from the pipeline before the drains start: cursors (for the row
/// number floor), taps and deletion gates per signal. Built by [`Prepared::new`].
pub(crate) struct Prepared {
    runtime: tokio::runtime::Runtime,
    exporters: Vec<Exporter>,
    lanes: Vec<PlannedLane>,
    floors: [Arc<AtomicU64>; 3],
    output_dir: PathBuf,
    options: Vec<LaneOptions>,
}

impl core::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Prepared")
            .field("lanes", &self.lanes.len())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Builds the runtime and one exporter per endpoint, and reads every cursor file.
    /// `Ok(None)` when no endpoint is configured.
    pub(crate) fn new(
        config: &Config,
        on_breaker: Option<BreakerCallback>,
    ) -> Result<Option<Prepared>, ForwardError> {
        let forward = &config.forward;
        if forward.endpoints.is_empty() {
            return Ok(None);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("otlp-arrow-forward")
            .build()
            .map_err(|e| ForwardError::Invalid(format!("cannot start the forward runtime: {e}")))?;
        let mut exporters = Vec::new();
        let mut options = Vec::new();
        {
            let _guard = runtime.enter();
            for endpoint in &forward.endpoints {
                let mut e = Exporter::new(endpoint, &forward.retry, &forward.breaker)?;
                if let Some(cb) = &on_breaker {
                    e = e.with_breaker_callback(cb.clone());
                }
                exporters.push(e);
                options.push(LaneOptions {
                    max_in_flight: endpoint.max_in_flight.max(1) as usize,
                    max_request_bytes: usize::try_from(endpoint.max_request_bytes)
                        .unwrap_or(usize::MAX),
                    max_request_items: u64::from(endpoint.max_request_items.max(1)),
                    ..LaneOptions::default()
                });
            }
        }
        let queue_bytes = usize::try_from(forward.queue_bytes).unwrap_or(usize::MAX);
        let mut lanes = Vec::new();
        for (i, endpoint) in forward.endpoints.iter().enumerate() {
            for &signal in &endpoint.signals {
                let path = cursor_path(&config.output_dir, signal, &endpoint.url);
                let load = read_cursor(&path);
                let name = exporters[i].name().to_owned();
                match &load {
                    CursorLoad::Loaded(..) => {}
                    CursorLoad::Missing => tracing::info!(%signal, endpoint = %name,
                        "no forward cursor yet: forwarding starts from the oldest stored file"),
                    CursorLoad::Corrupt(why) => tracing::warn!(%signal, endpoint = %name,
                        path = %path.display(), why = %why,
                        "the forward cursor file is corrupt: forwarding starts again from the \
                         oldest stored file"),
                }
                lanes.push(PlannedLane {
                    endpoint: i,
                    name,
                    signal,
                    queue: LiveQueue::new(queue_bytes),
                    // Fewer than max_in_flight acknowledged requests are ever unwritten.
                    ledger: Ledger::resume(path, &load).with_policy(PersistPolicy {
                        max_acks: options[i].max_in_flight,
                        max_delay: CURSOR_MAX_DELAY,
                    }),
                    stats: Arc::new(LaneStats::default()),
                });
            }
        }
        Ok(Some(Prepared {
            runtime,
            exporters,
            lanes,
            floors: Default::default(),
            output_dir: config.output_dir.clone(),
            options,
        }))
    }

    fn lanes_of(&self, signal: Signal) -> impl Iterator<Item = &PlannedLane> {
        self.lanes.iter().filter(move |l| l.signal == signal)
    }

    /// The lowest first row number the drain of `signal` may use: the highest cursor, so a row
    /// acknowledged before a restart is never renumbered.
    pub(crate) fn row_floor(&self, signal: Signal) -> u64 {
        self.lanes_of(signal)
            .map(|l| l.ledger.cursor())
            .max()
            .unwrap_or(0)
    }

    /// The tap for `signal`'s drain (`None` when no endpoint forwards it).
    pub(crate) fn tap(&self, signal: Signal) -> Option<Box<dyn RecordTap>> {
        let queues: Vec<_> = self.lanes_of(signal).map(|l| l.queue.clone()).collect();
        (!queues.is_empty()).then(|| Box::new(Tap::new(queues)) as Box<dyn RecordTap>)
    }

    /// The deletion gate for `signal`'s writer (`None` when no endpoint forwards it).
    pub(crate) fn gate(&self, signal: Signal) -> Option<Box<dyn DeletionGate>> {
        let cursors: Vec<_> = self.lanes_of(signal).map(|l| l.ledger.shared()).collect();
        (!cursors.is_empty()).then(|| {
            Box::new(gate::ForwardGate::new(
                signal_dir(&self.output_dir, signal),
                signal,
                cursors,
                self.floors[signal as usize].clone(),
            )) as Box<dyn DeletionGate>
        })
    }

    /// Starts the forwarder thread; `marks` are the drains' watermarks, per signal in
    /// [`Signal::ALL`] order.
    pub(crate) fn start(self, marks: [Arc<RowWatermarks>; 3]) -> std::io::Result<Forwarder> {
        let stop = Stop::new();
        let mut lanes = Vec::new();
        let mut views = Vec::new();
        for l in self.lanes {
            let options = self.options[l.endpoint].clone();
            let limits = Limits {
                max_bytes: options.max_request_bytes,
                max_items: usize::try_from(options.max_request_items).unwrap_or(usize::MAX),
            };
            views.push(LaneView {
                endpoint: l.name.clone(),
                signal: l.signal,
                stats: l.stats.clone(),
                queue: l.queue.clone(),
            });
            lanes.push(Lane {
                signal: l.signal,
                transport: self.exporters[l.endpoint].clone(),
                queue: l.queue,
                ledger: l.ledger,
                catchup: Some(CatchupReader::new(
                    signal_dir(&self.output_dir, l.signal),
                    l.signal,
                    limits,
                )),
                marks: marks[l.signal as usize].clone(),
                floor: self.floors[l.signal as usize].clone(),
                stats: l.stats,
                options,
                builder: None,
            });
        }
        let runtime = self.runtime;
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("otlp-arrow-forward".to_owned())
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let mut set = tokio::task::JoinSet::new();
                    for lane in lanes {
                        let s = s.clone();
                        set.spawn_local(lane.run(s));
                    }
                    while set.join_next().await.is_some() {}
                });
            })?;
        Ok(Forwarder {
            thread: Some(thread),
            stop,
            lanes: views,
            exporters: self.exporters,
        })
    }
}

#[derive(Debug)]
struct LaneView {
    endpoint: String,
    signal: Signal,
    stats: Arc<LaneStats>,
    queue: Arc<LiveQueue>,
}

/// The running forwarder (see the [module docs](self)).
pub struct Forwarder {
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Stop,
    lanes: Vec<LaneView>,
    exporters: Vec<Exporter>,
}

impl core::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Forwarder")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Counters of every (endpoint, signal) lane, endpoints in configuration order.
    pub fn stats(&self) -> Vec<ForwardLaneStats> {
        self.lanes
            .iter()
            .map(|l| {
                let mut s = l.stats.snapshot(&l.endpoint, l.signal);
                s.queue_overflow_rows = l.queue.stats().overflow_rows;
                s
            })
            .collect()
    }

    /// The transport counters of every endpoint (requests, retries, drops by reason, breaker).
    pub fn exporter_stats(&self) -> Vec<ExporterStatsSnapshot> {
        self.exporters.iter().map(Exporter::stats).collect()
    }

    /// Asks the lanes to finish what is queued and in flight, and waits up to `timeout` for
    /// them. Lanes whose endpoint is unavailable stop at once; what is not acknowledged by then
    /// stays on disk and is sent after the next start.
    pub fn stop(&mut self, timeout: Duration) {
        self.stop.request();
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = std::time::Instant::now() + timeout;
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::park_timeout(Duration::from_millis(5));
        }
        if !thread.is_finished() {
            tracing::warn!(
                "forwarding did not finish within the shutdown deadline; unsent rows stay on \
                 disk and are sent after the next start"
            );
            // Requests in flight are abandoned; each lane notices within one poll interval
            // (or when its current outcome arrives) and persists its cursor.
            self.stop.abort();
        }
        let _ = thread.join();
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}
