//! The in-process stand-in for `otlp-arrow serve`: the same library pieces the service wires
//! together — [`Pipeline`] (rings, drain threads, writers), a [`ReceiverContext`] over its
//! rings, [`serve_grpc`] and [`serve_http`] on a default multi-thread tokio runtime — and the
//! same stop order (refuse new requests, stop the servers, drain and finalize).
//!
//! It has no admin endpoint, no logging setup and no forwarding; everything on the data path
//! is the library's own code. Used by the smoke test (in this process) and by `run` when no
//! `otlp-arrow` binary is found (as a child process, `serve-inproc`, labelled as the stand-in
//! in every table).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otlp_arrow::config::{Config, Overrides};
use otlp_arrow::otlp::{ReceiverContext, serve_grpc, serve_http};
use otlp_arrow::pipeline::{Pipeline, ShutdownReport};
use otlp_arrow::signal::Signal;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::args::Args;

/// A running stand-in.
#[derive(Debug)]
pub(crate) struct Standin {
    /// Where OTLP/gRPC listens.
    pub(crate) grpc_addr: SocketAddr,
    /// Where OTLP/HTTP listens.
    pub(crate) http_addr: SocketAddr,
    ctx: Arc<ReceiverContext>,
    pipeline: Pipeline,
    grace: Duration,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<Result<(), String>>>,
}

impl Standin {
    /// Starts the pipeline, then binds and serves `config.receiver`'s addresses (port 0 picks
    /// a free port). Call inside a tokio runtime with I/O and time enabled.
    ///
    /// # Errors
    /// What failed to start, as text.
    ///
    /// `nodelay` sets `TCP_NODELAY` on the listening sockets, which Linux copies to every
    /// accepted socket: what the service does **not** do (an experiment, see
    /// `docs/BENCHMARKS.md`, "Service load"); `false` is the service's behaviour.
    pub(crate) async fn start(config: &Config, nodelay: bool) -> Result<Standin, String> {
        let pipeline = Pipeline::start(config).map_err(|e| format!("pipeline: {e}"))?;
        let ring = |s| Arc::clone(pipeline.ring(s));
        let ctx = Arc::new(ReceiverContext::new(
            &config.receiver,
            ring(Signal::Traces),
            ring(Signal::Metrics),
            ring(Signal::Logs),
        ));
        let bind = |addr: SocketAddr| async move {
            listener(addr, nodelay).map_err(|e| format!("binding {addr}: {e}"))
        };
        let grpc = bind(config.receiver.grpc_addr).await?;
        let http = bind(config.receiver.http_addr).await?;
        let grpc_addr = grpc.local_addr().map_err(|e| e.to_string())?;
        let http_addr = http.local_addr().map_err(|e| e.to_string())?;
        let (stop_grpc, grpc_stopped) = oneshot::channel::<()>();
        let (stop_http, http_stopped) = oneshot::channel::<()>();
        let grpc_task = tokio::spawn({
            let ctx = Arc::clone(&ctx);
            async move {
                serve_grpc(ctx, grpc, async move {
                    let _ = grpc_stopped.await;
                })
                .await
                .map_err(|e| format!("gRPC server: {e}"))
            }
        });
        let http_task = tokio::spawn({
            let ctx = Arc::clone(&ctx);
            async move {
                serve_http(ctx, http, async move {
                    let _ = http_stopped.await;
                })
                .await
                .map_err(|e| format!("HTTP server: {e}"))
            }
        });
        Ok(Standin {
            grpc_addr,
            http_addr,
            ctx,
            pipeline,
            // The service's share of the shutdown deadline for the servers.
            grace: config.shutdown.deadline / 4,
            stops: vec![stop_grpc, stop_http],
            tasks: vec![grpc_task, http_task],
        })
    }

    /// Refuses new requests, stops both servers (at most a quarter of the shutdown deadline),
    /// then drains the rings and finalizes every file.
    ///
    /// # Errors
    /// A server that failed, as text (the pipeline is still shut down).
    pub(crate) async fn stop(self) -> Result<ShutdownReport, String> {
        self.ctx.begin_shutdown();
        for stop in self.stops {
            let _ = stop.send(());
        }
        let mut first_error = None;
        for task in self.tasks {
            match tokio::time::timeout(self.grace, task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(format!("server task: {e}"));
                }
                Err(_) => {
                    first_error.get_or_insert("a server did not stop in time".to_owned());
                }
            }
        }
        let pipeline = self.pipeline;
        let report = tokio::task::spawn_blocking(move || pipeline.shutdown())
            .await
            .map_err(|e| format!("pipeline shutdown: {e}"))?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// A listener on `addr`, as `TcpListener::bind` makes it (`SO_REUSEADDR`, backlog 1024), with
/// `TCP_NODELAY` on it when asked.
fn listener(addr: SocketAddr, nodelay: bool) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    if nodelay {
        socket.set_nodelay(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// `serve-inproc --config F --output-dir D --grpc-addr A --http-addr A [--admin-addr A]`: the
/// flags of `otlp-arrow serve` (the admin address is accepted and not served). Serves until
/// SIGTERM or SIGINT, then stops as the service does; exits 0 when nothing was lost.
/// `--nodelay true`: see [`Standin::start`].
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let mut args = Args::parse(args)?;
    let file = args.take("config");
    let overrides = Overrides {
        output_dir: args.take("output-dir").map(Into::into),
        grpc_addr: args.take("grpc-addr"),
        http_addr: args.take("http-addr"),
        admin_addr: args.take("admin-addr"),
        ..Overrides::default()
    };
    let nodelay = args.parsed("nodelay", false)?;
    args.finish()?;
    let config = Config::resolve(
        file.as_deref().map(std::path::Path::new),
        std::env::vars_os(),
        &overrides,
    )
    .map_err(|e| format!("configuration: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp-arrow")
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let standin = Standin::start(&config, nodelay).await?;
        eprintln!(
            "otlp-arrow-load stand-in listening grpc={} http={} nodelay={nodelay}, writing {}",
            standin.grpc_addr,
            standin.http_addr,
            config.output_dir.display()
        );
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        standin.stop().await
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    let rows: Vec<String> = report
        .signals
        .iter()
        .map(|(s, stats, _)| format!("{s}={}", stats.storage.rows_written))
        .collect();
    eprintln!(
        "otlp-arrow-load stand-in stopped: rows {}, lost {}",
        rows.join(" "),
        report.lost()
    );
    if let Some((s, _, Some(e))) = report.signals.iter().find(|(_, _, e)| e.is_some()) {
        return Err(format!("closing {s}: {e}"));
    }
    if report.lost() != 0 {
        return Err(format!("{} items lost at shutdown", report.lost()));
    }
    Ok(())
}
