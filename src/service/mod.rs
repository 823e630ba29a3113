//! The `otlp-arrow serve` service: the pipeline, the OTLP gRPC and HTTP receivers and the
//! admin endpoint, started from one [`Config`] and stopped gracefully on SIGINT/SIGTERM.
//!
//! # Start ([`Service::start`])
//!
//! TLS identity loaded (a bad certificate is a startup error), every enabled listener bound
//! (port 0 picks a free port; [`Service::addrs`] has the real ones), then the [`Pipeline`]
//! (rings, writers, crash recovery, drain threads), the [`ReceiverContext`] over its rings, and
//! one tokio task per server. [`run`] logs one startup line, which says what listens where and
//! where files go:
//!
//! ```text
//! otlp-arrow 0.1.0 listening grpc=127.0.0.1:4317 http=127.0.0.1:4318 admin=127.0.0.1:13133, writing ./otlp-data (traces/, metrics/, logs/)
//! ```
//!
//! (`grpc=off` for a disabled listener; ` tls=on` after the addresses when the receivers serve
//! TLS.) Signal handlers are installed before that line is logged, so a signal sent once it
//! is seen is always handled.
//!
//! # Stop ([`Service::shutdown`]), bounded by `shutdown.deadline`
//!
//! 1. [`ReceiverContext::begin_shutdown`]: from here on new requests get `UNAVAILABLE` / 503
//!    and requests waiting for ring room stop waiting;
//! 2. the gRPC and HTTP servers stop accepting and let requests in flight finish, for at most a
//!    quarter of the deadline ([`server_grace`]); a server still busy then is aborted (its
//!    clients see the connection close, so nothing they were told was accepted is dropped);
//! 3. [`Pipeline::shutdown`] with the rest of the deadline: the rings are drained, the last
//!    batches written, every file finalized (`.partial` renamed to `.arrow`). The pipeline is
//!    started with that remaining share as its own deadline, so the whole stop stays within
//!    `shutdown.deadline`;
//! 4. the admin endpoint stops last (it answers `/ready` with 503 during the drain);
//! 5. one summary line: rows written per signal; what was lost, if anything, as an error.
//!
//! A second SIGINT/SIGTERM during the stop exits at once with status 1; files in progress stay
//! `.partial` and are recovered by the next start.
//!
//! # Exit status of [`run`]
//!
//! 0 after a clean stop (everything accepted is in finalized files); 1 when items were lost
//! (counted in the summary and in `otlp_arrow_dropped_total{reason="lost_at_shutdown"}`), when a
//! file could not be closed, or when the service could not start (a listener that cannot
//! bind, storage that cannot be opened); 2 for a configuration problem (including TLS files).
//!
//! # Forwarding
//!
//! With `[[forward.endpoints]]` (or `--forward-endpoint URL`) the pipeline forwards every
//! signal an endpoint takes, live and, for whatever could not be sent live, from the files
//! ([`crate::pipeline::forward`]); `/metrics` shows the transport's and the forwarder's
//! counters. An endpoint that cannot be used (bad URL, TLS files, credentials over
//! `http://`) is a startup error (exit status 1).
#![forbid(unsafe_code)]

pub mod admin;
pub mod health;
pub mod logging;
pub mod metrics;
mod state;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, format_duration};
use crate::otlp::{ReceiverContext, TlsError, TlsIdentity, Transport, serve_grpc, serve_http};
use crate::pipeline::{Pipeline, PipelineError, ShutdownReport};
use crate::signal::Signal;
use state::Shared;

/// Exit status of a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a configuration problem.
pub const EXIT_CONFIG: u8 = 2;

/// Why the service could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceError {
    /// The receivers' TLS files are unusable.
    Tls(TlsError),
    /// A listener could not bind its address.
    Bind {
        /// The configuration key of the address (`receiver.grpc_addr`).
        key: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The pipeline (storage) could not start.
    Pipeline(PipelineError),
    /// The async runtime, a signal handler or a startup task failed.
    Runtime(String),
}

impl ServiceError {
    /// The process exit status for this error: [`EXIT_CONFIG`] for TLS files, else
    /// [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        match self {
            ServiceError::Tls(_) => EXIT_CONFIG,
            ServiceError::Bind { .. } | ServiceError::Pipeline(_) | ServiceError::Runtime(_) => {
                EXIT_FAILURE
            }
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Tls(e) => write!(f, "{e}"),
            ServiceError::Bind { key, addr, source } => {
                write!(f, "cannot listen on {key} = {addr}: {source}")
            }
            ServiceError::Pipeline(e) => write!(f, "cannot start storage: {e}"),
            ServiceError::Runtime(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServiceError {}

/// The addresses the service actually listens on (`None`: that listener is disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddrs {
    /// OTLP/gRPC.
    pub grpc: Option<SocketAddr>,
    /// OTLP/HTTP.
    pub http: Option<SocketAddr>,
    /// Admin (`/health`, `/ready`, `/metrics`).
    pub admin: Option<SocketAddr>,
}

/// The share of `shutdown.deadline` the servers get to finish requests in flight: a quarter
/// (the rest is the pipeline's, to drain and finalize).
pub fn server_grace(deadline: Duration) -> Duration {
    deadline / 4
}

/// What a shutdown did.
#[derive(Debug, Clone)]
pub struct ShutdownSummary {
    /// The pipeline's report: final counters per signal, close errors.
    pub report: ShutdownReport,
    /// Servers that were still busy at the end of their grace period and were aborted.
    pub servers_aborted: Vec<&'static str>,
    /// How long the stop took.
    pub elapsed: Duration,
}

impl ShutdownSummary {
    /// Items (rows and ring records) that could not be written.
    pub fn lost(&self) -> u64 {
        self.report.lost()
    }

    /// Whether everything accepted was written and every file closed.
    pub fn is_clean(&self) -> bool {
        self.lost() == 0 && self.report.signals.iter().all(|(_, _, e)| e.is_none())
    }

    /// 0 when clean, else [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        if self.is_clean() { 0 } else { EXIT_FAILURE }
    }
}

/// A running service.
#[derive(Debug)]
pub struct Service {
    shared: Arc<Shared>,
    addrs: BoundAddrs,
    output_dir: std::path::PathBuf,
    tls: bool,
    deadline: Duration,
    stop_receivers: watch::Sender<bool>,
    stop_admin: watch::Sender<bool>,
    grpc: Option<JoinHandle<()>>,
    http: Option<JoinHandle<()>>,
    admin: Option<JoinHandle<()>>,
}

async fn bind(
    enabled: bool,
    key: &'static str,
    addr: SocketAddr,
) -> Result<Option<TcpListener>, ServiceError> {
    if !enabled {
        return Ok(None);
    }
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| ServiceError::Bind { key, addr, source })
}

fn local_addr(l: &Option<TcpListener>) -> Option<SocketAddr> {
    l.as_ref().and_then(|l| l.local_addr().ok())
}

/// A future that completes once `true` is sent on `rx` (or the sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

impl Service {
    /// Binds the listeners, starts the pipeline and the servers (see the module docs). Must be
    /// called within a tokio runtime with I/O and time enabled.
    ///
    /// # Errors
    /// [`ServiceError`]; nothing is left running on error.
    pub async fn start(config: Config) -> Result<Service, ServiceError> {
        let started = Instant::now();
        let tls = TlsIdentity::from_config(&config.receiver.tls).map_err(ServiceError::Tls)?;
        let r = &config.receiver;
        let grpc_listener = bind(r.grpc_enabled, "receiver.grpc_addr", r.grpc_addr).await?;
        let http_listener = bind(r.http_enabled, "receiver.http_addr", r.http_addr).await?;
        let admin_listener = bind(config.admin.enabled, "admin.addr", config.admin.addr).await?;
        let addrs = BoundAddrs {
            grpc: local_addr(&grpc_listener),
            http: local_addr(&http_listener),
            admin: local_addr(&admin_listener),
        };

        let deadline = config.shutdown.deadline;
        let mut pipeline_config = config.clone();
        pipeline_config.shutdown.deadline = deadline.saturating_sub(server_grace(deadline));
        // The service owns its process, so it may tune malloc for the drains' per-batch
        // buffers (a library does not do that to its host: see the function's docs).
        crate::arrow::drain::raise_malloc_thresholds();
        // Opening the writers runs crash recovery (file I/O): off the async threads.
        let pipeline = tokio::task::spawn_blocking(move || Pipeline::start(&pipeline_config))
            .await
            .map_err(|e| ServiceError::Runtime(format!("starting storage: {e}")))?
            .map_err(ServiceError::Pipeline)?;

        let mut ctx = ReceiverContext::new(
            &config.receiver,
            Arc::clone(pipeline.ring(Signal::Traces)),
            Arc::clone(pipeline.ring(Signal::Metrics)),
            Arc::clone(pipeline.ring(Signal::Logs)),
        );
        let tls_on = tls.is_some();
        if let Some(identity) = tls {
            ctx = ctx.with_tls(identity);
        }
        let ctx = Arc::new(ctx);
        let shared = Arc::new(Shared::new(
            started,
            Arc::clone(&ctx),
            pipeline,
            grpc_listener.is_some(),
            http_listener.is_some(),
        ));

        let (stop_receivers, stop_rx) = watch::channel(false);
        let (stop_admin, admin_rx) = watch::channel(false);
        let grpc = grpc_listener.map(|listener| {
            let (shared, ctx, rx) = (Arc::clone(&shared), Arc::clone(&ctx), stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_grpc(ctx, listener, stopped(rx)).await {
                    tracing::error!("OTLP/gRPC receiver failed: {e}");
                }
                shared.mark_stopped(Transport::Grpc);
            })
        });
        let http = http_listener.map(|listener| {
            let (shared, ctx, rx) = (Arc::clone(&shared), Arc::clone(&ctx), stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_http(ctx, listener, stopped(rx)).await {
                    tracing::error!("OTLP/HTTP receiver failed: {e}");
                }
                shared.mark_stopped(Transport::Http);
            })
        });
        let admin = admin_listener.map(|listener| {
            let shared = Arc::clone(&shared);
            tokio::spawn(admin::serve(shared, listener, stopped(admin_rx)))
        });
        Ok(Service {
            shared,
            addrs,
            output_dir: config.output_dir.clone(),
            tls: tls_on,
            deadline,
            stop_receivers,
            stop_admin,
            grpc,
            http,
            admin,
        })
    }

    /// Where the service listens.
    pub fn addrs(&self) -> BoundAddrs {
        self.addrs
    }

    /// The receiver context (counters, shutting-down flag).
    pub fn receiver_context(&self) -> &Arc<ReceiverContext> {
        self.shared.ctx()
    }

    /// The startup line (see the module docs).
    pub fn startup_line(&self) -> String {
        let show = |a: Option<SocketAddr>| a.map_or_else(|| "off".to_owned(), |a| a.to_string());
        format!(
            "otlp-arrow {} listening grpc={} http={} admin={}{}, writing {} (traces/, metrics/, logs/)",
            env!("CARGO_PKG_VERSION"),
            show(self.addrs.grpc),
            show(self.addrs.http),
            show(self.addrs.admin),
            if self.tls { " tls=on" } else { "" },
            self.output_dir.display(),
        )
    }

    /// The graceful stop (see the module docs); never fails, reports.
    pub async fn shutdown(mut self) -> ShutdownSummary {
        let started = Instant::now();
        let grace = server_grace(self.deadline);
        self.shared.ctx().begin_shutdown();
        let _ = self.stop_receivers.send(true);
        let mut servers_aborted = Vec::new();
        for (name, handle) in [("grpc", self.grpc.take()), ("http", self.http.take())] {
            let Some(mut handle) = handle else { continue };
            let left = grace.saturating_sub(started.elapsed());
            if tokio::time::timeout(left, &mut handle).await.is_err() {
                handle.abort();
                tracing::warn!(
                    "OTLP/{name} receiver still had requests in flight after {}: closed them",
                    format_duration(grace)
                );
                servers_aborted.push(name);
            }
        }
        let report = match self.shared.take_pipeline() {
            Some(pipeline) => tokio::task::spawn_blocking(move || pipeline.shutdown())
                .await
                .unwrap_or_else(|e| {
                    tracing::error!("storage shutdown failed: {e}");
                    ShutdownReport::default()
                }),
            None => ShutdownReport::default(),
        };
        self.shared.set_final(&report);
        let _ = self.stop_admin.send(true);
        if let Some(mut handle) = self.admin.take()
            && tokio::time::timeout(Duration::from_secs(1), &mut handle)
                .await
                .is_err()
        {
            handle.abort();
        }
        ShutdownSummary {
            report,
            servers_aborted,
            elapsed: started.elapsed(),
        }
    }
}

/// Logs the warnings a configuration deserves at start: listeners exposed without TLS.
pub fn log_config_warnings(config: &Config) {
    for (key, addr) in config.non_loopback_without_tls() {
        tracing::warn!(
            "{key} = {addr} is not a loopback address and is served without TLS: anyone who can \
             reach it can {}",
            if key == "admin.addr" {
                "read the service's metrics"
            } else {
                "send telemetry, in clear text"
            }
        );
    }
}

/// Logs the shutdown summary: rows written per signal, and errors for what was lost.
pub fn log_summary(summary: &ShutdownSummary) {
    let rows = |name: &str| {
        summary
            .report
            .signals
            .iter()
            .find(|(s, _, _)| s.as_str() == name)
            .map_or(0, |(_, st, _)| st.storage.rows_written)
    };
    let files: u64 = summary
        .report
        .signals
        .iter()
        .map(|(_, s, _)| s.storage.files_finalized)
        .sum();
    tracing::info!(
        "shutdown complete in {:.1}s: rows written traces={} metrics={} logs={}, {files} file(s) finalized",
        summary.elapsed.as_secs_f64(),
        rows("traces"),
        rows("metrics"),
        rows("logs"),
    );
    for (signal, stats, close_error) in &summary.report.signals {
        let d = &stats.drain;
        if d.lost_rows + d.lost_records > 0 {
            tracing::error!(
                "{signal}: lost at shutdown: {} decoded row(s) not written and {} ring record(s) \
                 never read before the deadline",
                d.lost_rows,
                d.lost_records
            );
        }
        if let Some(e) = close_error {
            tracing::error!("{signal}: closing storage failed: {e}");
        }
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), installed once.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                // No way to wait for a signal: run until killed.
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// Runs the service until SIGINT/SIGTERM, then stops it gracefully; returns the exit status
/// (see the module docs). Installs the global logger from `config.log` first.
pub fn run(config: Config) -> u8 {
    if let Err(e) = logging::init(&config.log) {
        eprintln!("otlp-arrow: {e}");
        return EXIT_CONFIG;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp-arrow")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return EXIT_FAILURE;
        }
    };
    let code = runtime.block_on(serve_until_signal(config));
    // Connection tasks that outlived their server (aborted, or a slow client) must not hold up
    // the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn serve_until_signal(config: Config) -> u8 {
    let mut signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install the SIGINT/SIGTERM handlers: {e}");
            return EXIT_FAILURE;
        }
    };
    log_config_warnings(&config);
    let deadline = config.shutdown.deadline;
    let service = match Service::start(config).await {
        Ok(service) => service,
        Err(e) => {
            tracing::error!("{e}");
            return e.exit_code();
        }
    };
    tracing::info!("{}", service.startup_line());
    let first = signals.next().await;
    tracing::info!(
        "{first} received: shutting down (new requests are refused; deadline {})",
        format_duration(deadline)
    );
    tokio::spawn(async move {
        let second = signals.next().await;
        tracing::error!(
            "{second} received again: exiting now; files in progress stay .partial and are \
             recovered at the next start"
        );
        std::process::exit(i32::from(EXIT_FAILURE));
    });
    let summary = service.shutdown().await;
    log_summary(&summary);
    summary.exit_code()
}

#[cfg(test)]
mod tests;
