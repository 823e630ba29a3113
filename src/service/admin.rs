//! The admin endpoint (hyper, HTTP/1.1, plain text; `admin.addr`, default 127.0.0.1:13133).
//!
//! | request | answer |
//! |---|---|
//! | `GET /health` | 200 `ok` while the process is up (liveness: it says nothing about storage) |
//! | `GET /ready` | 200 `ready`, or 503 `not ready: <reason>; <reason>` ([`health`](super::health) lists the rules; shutting down is one reason) |
//! | `GET /metrics` | 200, Prometheus text format 0.0.4 ([`metrics`]) |
//! | another method on those paths | 405 with `Allow: GET` |
//! | another path | 404 |
//!
//! The endpoint never touches the data path: it reads relaxed counters and takes the
//! pipeline's stats lock briefly. A ticker samples the counters once a second for the readiness
//! rules. There is no TLS here: keep `admin.addr` on loopback (the service warns otherwise).
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::metrics;
use super::state::Shared;

/// How often the readiness tracker samples the counters.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Longest a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The answer to one request (no I/O: testable as is).
pub(crate) fn route(shared: &Shared, method: &Method, path: &str, now: Instant) -> Reply {
    if !matches!(path, "/health" | "/ready" | "/metrics") {
        return reply(StatusCode::NOT_FOUND, TEXT, "not found\n".to_owned());
    }
    if method != Method::GET {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "only GET is allowed\n".to_owned(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    match path {
        "/health" => reply(StatusCode::OK, TEXT, "ok\n".to_owned()),
        "/ready" => {
            let problems = shared.problems(now);
            if problems.is_empty() {
                reply(StatusCode::OK, TEXT, "ready\n".to_owned())
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    TEXT,
                    format!("not ready: {}\n", problems.join("; ")),
                )
            }
        }
        _ => reply(
            StatusCode::OK,
            metrics::CONTENT_TYPE,
            metrics::render(&shared.metrics_input(now)),
        ),
    }
}

/// Serves the admin endpoint on `listener` until `shutdown` completes, then closes its
/// connections gracefully (bounded by the caller).
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: do not spin on it.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let r = route(&shared, req.method(), req.uri().path(), Instant::now());
                    async move { Ok::<_, Infallible>(r) }
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT);
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
            // Atomic loads under a lock held for microseconds: fine on a runtime thread.
            _ = ticker.tick() => shared.sample(Instant::now()),
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
