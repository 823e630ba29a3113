//! The pipeline: one ring, one drain thread and one file writer per signal, built from a
//! [`Config`]; the embedded entry point that the service, the C ABI and Rust embedders share.
//!
//! [`Pipeline::start`] allocates the three rings (their sizes are all the memory records can
//! take), opens the writers (which recover files a crash left behind) and starts the drain
//! threads. Producers — in-process encoders, the OTLP receivers — write `Resource*` records into
//! [`Pipeline::ring`]; [`Pipeline::flush`] makes everything committed so far durable in
//! finalized files; [`Pipeline::shutdown`] drains, finalizes and reports what, if anything, could
//! not be written before the deadline. Nothing is finished on drop except a best-effort stop.
//!
//! With `[[forward.endpoints]]` configured, the pipeline also runs the [`forward`]er: each
//! drain offers its decoded records to the forwarder's taps, and each writer's retention asks
//! the forwarder before deleting a file by age. [`Pipeline::start_with`] takes
//! [`PipelineHooks`], e.g. a callback on every circuit-breaker transition (so a host
//! application can shed load while its collector is down); [`Pipeline::shutdown`] stops the
//! forwarder after the drains, within the same deadline.
//!
//! A pipeline holds its output directory's [`lock`] for its whole life: a second pipeline on
//! the same directory (in this process or another) fails to start with
//! [`PipelineError::Lock`] instead of corrupting the first one's files.
#![forbid(unsafe_code)]

pub mod forward;
pub mod lock;

use std::sync::Arc;
use std::time::Duration;

use crate::arrow::decode::decoder_for;
use crate::arrow::drain::{self, DrainHandle, DrainOptions, DrainStatsSnapshot, FlushError};
use crate::arrow::files::RetentionPolicy;
use crate::arrow::stats::{StorageStats, StorageStatsSnapshot};
use crate::arrow::tap::RowWatermarks;
use crate::arrow::writer::{Compression, SignalWriter, StorageError, SyncPolicy, WriterOptions};
use crate::config::{self, Config};
use crate::otlp::forward::{ExporterStatsSnapshot, ForwardError};
use crate::ring::{Ring, RingError, RingStats};
use crate::signal::Signal;
use forward::{BreakerCallback, ForwardLaneStats, Forwarder, Prepared};
use lock::{DirLock, LockError};

/// Why a pipeline could not start.
#[derive(Debug)]
pub enum PipelineError {
    /// A ring size from the configuration is not usable.
    Ring(Signal, RingError),
    /// The output directory or a recovery step failed.
    Storage(StorageError),
    /// A drain thread could not be spawned.
    Thread(std::io::Error),
    /// A forward endpoint cannot be used (URL, TLS files, credentials over http://, ...).
    Forward(ForwardError),
    /// The output directory is in use by another pipeline, or its lock file failed.
    Lock(LockError),
}

impl core::fmt::Display for PipelineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PipelineError::Ring(s, e) => write!(f, "ring.{s}: {e}"),
            PipelineError::Storage(e) => write!(f, "{e}"),
            PipelineError::Thread(e) => write!(f, "starting a drain thread: {e}"),
            PipelineError::Forward(e) => write!(f, "{e}"),
            PipelineError::Lock(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// Counters of one signal's path through the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalStats {
    /// The ring: capacity, bytes in use, records read, refusals.
    pub ring: RingStats,
    /// The drain thread: decode errors, retries, losses at shutdown.
    pub drain: DrainStatsSnapshot,
    /// The writer: rows, batches, files, bytes, errors, recovery, retention.
    pub storage: StorageStatsSnapshot,
}

/// What a shutdown did, per signal.
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Per signal, in [`Signal::ALL`] order: final counters and the close error, if any.
    pub signals: Vec<(Signal, SignalStats, Option<String>)>,
    /// Forwarding counters at the end, per (endpoint, signal); empty without forwarding.
    pub forward: Vec<ForwardLaneStats>,
}

impl ShutdownReport {
    /// Rows and records that could not be written before the deadline, over all signals.
    pub fn lost(&self) -> u64 {
        self.signals
            .iter()
            .map(|(_, s, _)| s.drain.lost_rows + s.drain.lost_records)
            .sum()
    }
}

struct Lane {
    ring: Arc<Ring>,
    storage: Arc<StorageStats>,
    marks: Arc<RowWatermarks>,
    drain: Option<DrainHandle>,
}

/// What an embedder can hook into a pipeline ([`Pipeline::start_with`]).
#[derive(Clone, Default)]
pub struct PipelineHooks {
    /// Called on every circuit-breaker transition of every forward endpoint, on the forwarder
    /// thread (keep it short and non-blocking). The event names the endpoint (URL, redacted),
    /// the transition and the new state: e.g. shed load while the breaker is open.
    pub on_breaker: Option<BreakerCallback>,
}

impl core::fmt::Debug for PipelineHooks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PipelineHooks")
            .field(
                "on_breaker",
                &self.on_breaker.as_ref().map(|_| "Fn(BreakerEvent)"),
            )
            .finish()
    }
}

/// Rings, drain threads and writers for traces, metrics and logs, and the forwarder.
pub struct Pipeline {
    lanes: [Lane; 3],
    deadline: Duration,
    forwarder: Option<Forwarder>,
    /// Held until the drains have stopped ([`Drop`] stops them before the fields drop).
    _lock: DirLock,
}

impl core::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pipeline")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// The writer options a configuration asks for.
pub fn writer_options(config: &Config) -> WriterOptions {
    let s = &config.storage;
    WriterOptions {
        max_file_bytes: s.max_file_bytes,
        max_file_age: s.max_file_age,
        retention: RetentionPolicy {
            max_age: (!s.retention.is_zero()).then_some(s.retention),
            max_total_bytes: (s.max_total_bytes != 0).then_some(s.max_total_bytes),
        },
        compression: match s.compression {
            config::Compression::None => Compression::None,
            config::Compression::Zstd => Compression::Zstd,
            config::Compression::Lz4 => Compression::Lz4,
        },
        zstd_level: s.zstd_level,
        sync: match s.fsync {
            config::Fsync::Never => SyncPolicy::Never,
            config::Fsync::OnFinalize => SyncPolicy::OnFinalize,
            config::Fsync::EveryBatch => SyncPolicy::EveryBatch,
        },
    }
}

/// The drain options a configuration asks for.
pub fn drain_options(config: &Config) -> DrainOptions {
    DrainOptions {
        max_batch_rows: config.storage.max_batch_rows as usize,
        flush_interval: config.storage.flush_interval,
        ..DrainOptions::default()
    }
}

impl Pipeline {
    /// Builds the rings, opens the writers (recovering crashed files) and starts the drains.
    ///
    /// # Errors
    /// [`PipelineError`] naming the signal or path that failed.
    pub fn start(config: &Config) -> Result<Pipeline, PipelineError> {
        Pipeline::start_with(config, PipelineHooks::default())
    }

    /// [`Pipeline::start`] with `hooks`. Forwarding starts when `config.forward.endpoints` is
    /// not empty: the endpoints' exporters are built first (a bad endpoint fails the start
    /// before any file is touched), then each signal's writer gets the forwarder's deletion
    /// gate and its drain the forwarder's tap, and the forwarder thread starts last.
    ///
    /// # Errors
    /// [`PipelineError`] naming the signal, path or endpoint that failed.
    pub fn start_with(config: &Config, hooks: PipelineHooks) -> Result<Pipeline, PipelineError> {
        let options = writer_options(config);
        let prepared = Prepared::new(config, hooks.on_breaker).map_err(PipelineError::Forward)?;
        // Before any file is opened: crash recovery must never touch another pipeline's files.
        let lock = DirLock::acquire(&config.output_dir).map_err(PipelineError::Lock)?;
        let mut lanes = Vec::with_capacity(3);
        let mut marks: Vec<Arc<RowWatermarks>> = Vec::with_capacity(3);
        for signal in Signal::ALL {
            let size = config.ring.size(signal) as usize;
            let ring =
                Arc::new(Ring::with_capacity(size).map_err(|e| PipelineError::Ring(signal, e))?);
            let storage = Arc::new(StorageStats::default());
            let mut writer =
                SignalWriter::open(&config.output_dir, signal, options.clone(), storage.clone())
                    .map_err(PipelineError::Storage)?;
            let mut dopts = drain_options(config);
            let mut tap = None;
            if let Some(p) = &prepared {
                writer.set_deletion_gate(p.gate(signal));
                dopts.first_row_floor = p.row_floor(signal);
                tap = p.tap(signal);
            }
            let drain =
                drain::spawn_with_tap(ring.clone(), decoder_for(signal), writer, dopts, tap)
                    .map_err(PipelineError::Thread)?;
            marks.push(drain.watermarks());
            lanes.push(Lane {
                ring,
                storage,
                marks: drain.watermarks(),
                drain: Some(drain),
            });
        }
        let lanes: [Lane; 3] = lanes
            .try_into()
            .unwrap_or_else(|_| unreachable!("three signals"));
        let forwarder = match prepared {
            Some(p) => {
                let marks: [Arc<RowWatermarks>; 3] = marks
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("three signals"));
                Some(p.start(marks).map_err(PipelineError::Thread)?)
            }
            None => None,
        };
        Ok(Pipeline {
            lanes,
            deadline: config.shutdown.deadline,
            forwarder,
            _lock: lock,
        })
    }

    fn lane(&self, signal: Signal) -> &Lane {
        &self.lanes[signal as usize]
    }

    /// The ring that takes `signal`'s `Resource*` records (kind [`Signal::record_kind`]).
    pub fn ring(&self, signal: Signal) -> &Arc<Ring> {
        &self.lane(signal).ring
    }

    /// How far `signal`'s rows have been numbered and written (see [`crate::arrow::tap`]).
    pub fn watermarks(&self, signal: Signal) -> &Arc<RowWatermarks> {
        &self.lane(signal).marks
    }

    /// Counters of one signal.
    pub fn stats(&self, signal: Signal) -> SignalStats {
        let lane = self.lane(signal);
        SignalStats {
            ring: lane.ring.stats(),
            drain: lane
                .drain
                .as_ref()
                .map(DrainHandle::stats)
                .unwrap_or_default(),
            storage: lane.storage.snapshot(),
        }
    }

    /// Forwarding counters per (endpoint, signal), endpoints in configuration order; empty
    /// without forwarding.
    pub fn forward_stats(&self) -> Vec<ForwardLaneStats> {
        self.forwarder
            .as_ref()
            .map(Forwarder::stats)
            .unwrap_or_default()
    }

    /// Transport counters per endpoint (requests, retries, drops by reason, breaker state);
    /// empty without forwarding.
    pub fn exporter_stats(&self) -> Vec<ExporterStatsSnapshot> {
        self.forwarder
            .as_ref()
            .map(Forwarder::exporter_stats)
            .unwrap_or_default()
    }

    /// Makes every record committed before this call durable in finalized `.arrow` files, for
    /// all three signals, waiting up to `timeout` in all.
    ///
    /// # Errors
    /// The first signal's [`FlushError`].
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = std::time::Instant::now() + timeout;
        let mut first_error = None;
        for lane in &self.lanes {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if let Some(drain) = &lane.drain
                && let Err(e) = drain.flush(left)
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops the drains: everything in the rings is written and every file finalized, within
    /// the configured shutdown deadline; what could not be written is counted in the report.
    /// Then the forwarder, with what is left of the deadline: it sends what is queued and in
    /// flight while its endpoints are available; the rest stays on disk for the next start.
    /// Call once producers have stopped.
    pub fn shutdown(mut self) -> ShutdownReport {
        let deadline = self.deadline;
        self.stop(deadline)
    }

    fn stop(&mut self, deadline: Duration) -> ShutdownReport {
        let start = std::time::Instant::now();
        let mut report = ShutdownReport::default();
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let signal = Signal::ALL[i];
            if let Some(drain) = lane.drain.take() {
                let left = deadline.saturating_sub(start.elapsed());
                let r = drain.stop(left);
                let stats = SignalStats {
                    ring: lane.ring.stats(),
                    drain: r.stats,
                    storage: lane.storage.snapshot(),
                };
                report.signals.push((signal, stats, r.close_error));
            }
        }
        if let Some(mut f) = self.forwarder.take() {
            f.stop(deadline.saturating_sub(start.elapsed()));
            report.forward = f.stats();
        }
        report
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let deadline = self.deadline;
        let _ = self.stop(deadline);
    }
}
