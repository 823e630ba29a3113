//! The embedded OTLP receivers (gRPC and HTTP), for a library opened with
//! `[ffi] receivers = true`.
//!
//! They run on one thread of their own with a single-threaded tokio runtime, feeding the same
//! rings as the in-process producers, and are stopped (new requests refused, requests in
//! flight finished, bounded by the shutdown deadline) before the pipeline drains at close.
//! Which listeners start, and where, is `[receiver]`'s business, exactly as for the service.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use core_crate::config::Config;
use core_crate::otlp::{ReceiverContext, TlsIdentity, serve_grpc, serve_http};
use core_crate::pipeline::Pipeline;
use core_crate::signal::Signal;

/// The receivers' thread and how to stop it.
#[derive(Debug)]
pub(crate) struct Receivers {
    ctx: Arc<ReceiverContext>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Receivers {
    /// Binds the configured listeners (so a port in use fails the open) and starts serving.
    pub(crate) fn start(config: &Config, pipeline: &Pipeline) -> Result<Receivers, String> {
        let rc = &config.receiver;
        let mut ctx = ReceiverContext::new(
            rc,
            pipeline.ring(Signal::Traces).clone(),
            pipeline.ring(Signal::Metrics).clone(),
            pipeline.ring(Signal::Logs).clone(),
        );
        if let Some(tls) = TlsIdentity::from_config(&rc.tls).map_err(|e| e.to_string())? {
            ctx = ctx.with_tls(tls);
        }
        let ctx = Arc::new(ctx);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("starting the receivers' runtime: {e}"))?;
        let bind = |on: bool, addr| -> Result<Option<tokio::net::TcpListener>, String> {
            if !on {
                return Ok(None);
            }
            let _guard = runtime.enter();
            let std =
                std::net::TcpListener::bind(addr).map_err(|e| format!("binding {addr}: {e}"))?;
            std.set_nonblocking(true).map_err(|e| e.to_string())?;
            tokio::net::TcpListener::from_std(std)
                .map(Some)
                .map_err(|e| e.to_string())
        };
        let grpc = bind(rc.grpc_enabled, rc.grpc_addr)?;
        let http = bind(rc.http_enabled, rc.http_addr)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread_ctx = Arc::clone(&ctx);
        let thread = std::thread::Builder::new()
            .name("otlp-arrow-receivers".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let (tx, _) = tokio::sync::watch::channel(false);
                    let shutdown = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    };
                    let g = grpc.map(|l| {
                        tokio::spawn(serve_grpc(
                            Arc::clone(&thread_ctx),
                            l,
                            shutdown(tx.subscribe()),
                        ))
                    });
                    let h = http.map(|l| {
                        tokio::spawn(serve_http(
                            Arc::clone(&thread_ctx),
                            l,
                            shutdown(tx.subscribe()),
                        ))
                    });
                    let _ = stopped.await;
                    let _ = tx.send(true);
                    if let Some(g) = g {
                        let _ = g.await;
                    }
                    if let Some(h) = h {
                        let _ = h.await;
                    }
                });
            })
            .map_err(|e| format!("starting the receivers' thread: {e}"))?;
        Ok(Receivers {
            ctx,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Refuses new requests, lets those in flight finish (up to `deadline`), joins the thread.
    pub(crate) fn stop(mut self, deadline: Duration) {
        self.ctx.begin_shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let start = std::time::Instant::now();
            while !thread.is_finished() && start.elapsed() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
            // Past the deadline the thread is left to finish on its own (a client holding a
            // request open); its rings stay alive through the context's `Arc`s.
        }
    }
}
