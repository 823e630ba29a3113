//! A controllable OTLP upstream on `127.0.0.1:0` for forwarding tests: it speaks OTLP/gRPC
//! (HTTP/2, cleartext or TLS) and OTLP/HTTP protobuf (HTTP/1.1 or HTTP/2) on **one** port,
//! records every request it receives, and answers from a script.
//!
//! ```ignore
//! mod forward_support;
//! use forward_support::{Reply, Upstream};
//!
//! let mut up = Upstream::start().await;           // or Upstream::start_tls(cert, key)
//! up.push(Reply::unavailable());                  // the next request gets UNAVAILABLE / 503
//! up.push(Reply::Ok);                             // then success
//! up.set_default(Reply::Ok);                      // when the script is empty (the default)
//! let url = up.url();                             // "http://127.0.0.1:PORT" (https with TLS)
//! // ... point an exporter at it (gRPC and HTTP both work on this URL) ...
//! up.wait_for_requests(2).await;                  // no sleeps: waits on a counter (10 s cap)
//! let got = up.received();                        // Vec<Received>: path, headers, body
//! up.stop().await;                                // listener and every connection closed
//! up.restart().await;                             // same port again
//! ```
//!
//! Replies ([`Reply`]) are protocol-neutral where they can be: a gRPC status is sent to a
//! gRPC request as is and to an HTTP request as the matching HTTP status (the OTLP mapping:
//! UNAVAILABLE -> 503, RESOURCE_EXHAUSTED -> 429 with `Retry-After` when it has a delay,
//! INVALID_ARGUMENT -> 400, ...). [`Reply::Http`] sends an HTTP status to either (to a gRPC
//! client it looks like a proxy's answer). [`Reply::Delay`] answers late, [`Reply::Reset`]
//! closes the connection with a TCP reset without answering.
//!
//! Bodies are recorded *decompressed* (gRPC frame removed, gzip inflated) in
//! [`Received::body`]; [`Received::wire`] keeps the bytes as they arrived.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// How the upstream answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Success, no partial success.
    Ok,
    /// Success with `partial_success { rejected, message }`.
    Partial { rejected: i64, message: String },
    /// A gRPC status (`retry_info`: a `google.rpc.RetryInfo` with that delay). HTTP requests
    /// get the matching HTTP status, `Retry-After` (whole seconds, rounded up) when
    /// `retry_info` is set.
    Grpc {
        code: Code,
        message: String,
        retry_info: Option<Duration>,
    },
    /// An HTTP status with an optional raw `Retry-After` value and a `google.rpc.Status` body.
    Http {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Close the connection with a TCP reset (SO_LINGER 0), no answer.
    Reset,
}

impl Reply {
    pub fn unavailable() -> Reply {
        Reply::grpc(Code::Unavailable, "upstream unavailable")
    }

    pub fn grpc(code: Code, message: &str) -> Reply {
        Reply::Grpc {
            code,
            message: message.to_owned(),
            retry_info: None,
        }
    }

    pub fn exhausted(retry_info: Option<Duration>) -> Reply {
        Reply::Grpc {
            code: Code::ResourceExhausted,
            message: "upstream overloaded".to_owned(),
            retry_info,
        }
    }

    pub fn http(status: u16, retry_after: Option<&str>) -> Reply {
        Reply::Http {
            status,
            retry_after: retry_after.map(str::to_owned),
            message: format!("status {status}"),
        }
    }

    pub fn delay(by: Duration, then: Reply) -> Reply {
        Reply::Delay(by, Box::new(then))
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `true` for `content-type: application/grpc`.
    pub grpc: bool,
    pub path: String,
    pub headers: HeaderMap,
    /// The request message: gRPC frame removed, gzip inflated.
    pub body: Vec<u8>,
    /// The body bytes as they arrived (gRPC: with the 5-byte frame header).
    pub wire: Vec<u8>,
    /// Whether the message was compressed (gRPC flag 1, or `content-encoding: gzip`).
    pub compressed: bool,
}

struct State {
    /// Keep [`Received`] entries (off for benchmarks: only the count grows).
    record: bool,
    count: usize,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    received: Vec<Received>,
    connections: usize,
    in_flight: usize,
    max_in_flight: usize,
}

impl Default for State {
    fn default() -> State {
        State {
            record: true,
            count: 0,
            script: VecDeque::new(),
            default: None,
            received: Vec::new(),
            connections: 0,
            in_flight: 0,
            max_in_flight: 0,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    count: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The upstream. Dropping it stops it.
pub struct Upstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
    server: Option<JoinHandle<()>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

impl Upstream {
    /// Cleartext, on a fresh port of 127.0.0.1.
    pub async fn start() -> Upstream {
        Upstream::bind("127.0.0.1:0".parse().unwrap(), None).await
    }

    /// TLS with this certificate chain and key (PEM), ALPN `h2` and `http/1.1`.
    pub async fn start_tls(cert_pem: &[u8], key_pem: &[u8]) -> Upstream {
        Upstream::start_tls_inner(cert_pem, key_pem, None).await
    }

    /// TLS that requires a client certificate issued by `client_ca_pem` (mutual TLS).
    pub async fn start_mtls(cert_pem: &[u8], key_pem: &[u8], client_ca_pem: &[u8]) -> Upstream {
        Upstream::start_tls_inner(cert_pem, key_pem, Some(client_ca_pem)).await
    }

    async fn start_tls_inner(
        cert_pem: &[u8],
        key_pem: &[u8],
        client_ca_pem: Option<&[u8]>,
    ) -> Upstream {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca_pem {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    roots.add(cert.unwrap()).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(certs, key).unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Upstream::bind("127.0.0.1:0".parse().unwrap(), Some(Arc::new(config))).await
    }

    async fn bind(addr: SocketAddr, tls: Option<Arc<rustls::ServerConfig>>) -> Upstream {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            count: watch::channel(0).0,
        });
        let mut up = Upstream {
            addr,
            shared,
            tls,
            server: None,
        };
        up.listen().await;
        up
    }

    async fn listen(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(128).unwrap();
        self.addr = listener.local_addr().unwrap();
        self.server = Some(tokio::spawn(serve(
            listener,
            Arc::clone(&self.shared),
            self.tls.clone(),
        )));
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS (the test certificate
    /// names `localhost` and `127.0.0.1`).
    pub fn url(&self) -> String {
        match self.tls {
            None => format!("http://{}", self.addr),
            Some(_) => format!("https://localhost:{}", self.addr.port()),
        }
    }

    /// Appends to the script (answers in order; then the default).
    pub fn push(&self, reply: Reply) {
        self.shared.lock().script.push_back(reply);
    }

    /// The answer once the script is empty (initially [`Reply::Ok`]).
    pub fn set_default(&self, reply: Reply) {
        self.shared.lock().default = Some(reply);
    }

    /// Whether requests are kept for [`received`](Self::received) (default `true`); counting
    /// goes on either way. Benchmarks turn it off so memory stays flat.
    pub fn set_recording(&self, record: bool) {
        self.shared.lock().record = record;
    }

    /// Every request received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// Requests received so far.
    pub fn request_count(&self) -> usize {
        *self.shared.count.borrow()
    }

    /// TCP connections accepted so far (over every start).
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// The most requests that were being handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    /// Waits until at least `n` requests arrived. Panics after 10 s.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut rx = self.shared.count.subscribe();
        let waited = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|c| *c >= n)).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "upstream: waited 10 s for {n} requests, got {}",
            self.request_count()
        );
    }

    /// Stops listening and closes every connection (requests in progress are cut off).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        assert!(self.server.is_none(), "restart: still running");
        self.listen().await;
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, tls: Option<Arc<rustls::ServerConfig>>) {
    // Dropping this set (when the server task is aborted) aborts every connection task.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Closing then sends a reset rather than a FIN: `Reply::Reset` and `stop` cut
        // connections the hard way, as a crashed upstream would.
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        shared.lock().connections += 1;
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        connections.spawn(async move {
            let kill = Arc::new(Notify::new());
            let service = {
                let kill = Arc::clone(&kill);
                hyper::service::service_fn(move |req| {
                    let shared = Arc::clone(&shared);
                    let kill = Arc::clone(&kill);
                    async move { Ok::<_, Infallible>(handle(shared, kill, req).await) }
                })
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let serve = async {
                match tls {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            };
            tokio::select! {
                () = serve => {}
                () = kill.notified() => {}
            }
        });
    }
}

/// A response body: one data frame, then trailers (gRPC) or nothing.
struct OneShot {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for OneShot {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        if let Some(t) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(t))));
        }
        Poll::Ready(None)
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("upstream: body is not valid gzip");
    out
}

struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Response<OneShot> {
    let grpc = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let (parts, body) = req.into_parts();
    let wire = body
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    let (body, compressed) = if grpc {
        let flag = wire.first().copied().unwrap_or(0);
        let message = wire.get(5..).unwrap_or(&[]);
        if flag == 1 {
            (gunzip(message), true)
        } else {
            (message.to_vec(), false)
        }
    } else if parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .is_some_and(|v| v == "gzip")
    {
        (gunzip(&wire), true)
    } else {
        (wire.clone(), false)
    };
    let reply = {
        let mut state = shared.lock();
        if state.record {
            state.received.push(Received {
                grpc,
                path: parts.uri.path().to_owned(),
                headers: parts.headers.clone(),
                body,
                wire,
                compressed,
            });
        }
        state.count += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        shared.count.send_replace(state.count);
        state
            .script
            .pop_front()
            .or_else(|| state.default.clone())
            .unwrap_or(Reply::Ok)
    };
    let _guard = InFlight(Arc::clone(&shared));
    let mut reply = reply;
    while let Reply::Delay(by, then) = reply {
        tokio::time::sleep(by).await;
        reply = *then;
    }
    if grpc {
        grpc_reply(reply, &kill).await
    } else {
        http_reply(reply, &kill).await
    }
}

fn response_body(rejected: i64, message: &str) -> Vec<u8> {
    ExportTraceServiceResponse {
        partial_success: (rejected != 0 || !message.is_empty()).then(|| {
            ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.to_owned(),
            }
        }),
    }
    .encode_to_vec()
}

async fn reset(kill: &Notify) -> ! {
    kill.notify_one();
    std::future::pending().await
}

async fn grpc_reply(reply: Reply, kill: &Notify) -> Response<OneShot> {
    let ok = |rejected: i64, message: &str| {
        let msg = response_body(rejected, message);
        let mut framed = vec![0u8];
        framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        framed.extend_from_slice(&msg);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut r = Response::new(OneShot {
            data: Some(Bytes::from(framed)),
            trailers: Some(trailers),
        });
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        r
    };
    match reply {
        Reply::Ok => ok(0, ""),
        Reply::Partial { rejected, message } => ok(rejected, &message),
        Reply::Grpc {
            code,
            message,
            retry_info,
        } => {
            let status = match retry_info {
                Some(d) => tonic::Status::with_error_details(
                    code,
                    message,
                    ErrorDetails::with_retry_info(Some(d)),
                ),
                None => tonic::Status::new(code, message),
            };
            // Trailers-only: the status in the headers, no body.
            let head: Response<tonic::body::Body> = status.into_http();
            let mut r = Response::new(OneShot {
                data: None,
                trailers: None,
            });
            *r.headers_mut() = head.headers().clone();
            r
        }
        Reply::Http {
            status,
            retry_after,
            message,
        } => http_status(status, retry_after, &message),
        Reply::Delay(..) => unreachable!("delays are resolved by handle"),
        Reply::Reset => reset(kill).await,
    }
}

fn http_status(status: u16, retry_after: Option<String>, message: &str) -> Response<OneShot> {
    let body = tonic_types::Status {
        code: Code::Unknown as i32,
        message: message.to_owned(),
        details: vec![],
    }
    .encode_to_vec();
    let mut r = Response::new(OneShot {
        data: Some(Bytes::from(body)),
        trailers: None,
    });
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    if let Some(v) = retry_after {
        r.headers_mut().insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    r
}

async fn http_reply(reply: Reply, kill: &Notify) -> Response<OneShot> {
    let ok = |rejected: i64, message: &str| {
        let mut r = Response::new(OneShot {
            data: Some(Bytes::from(response_body(rejected, message))),
            trailers: None,
        });
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        r
    };
    match reply {
        Reply::Ok => ok(0, ""),
        Reply::Partial { rejected, message } => ok(rejected, &message),
        Reply::Grpc {
            code,
            message,
            retry_info,
        } => {
            let status = match code {
                Code::Unavailable => 503,
                Code::ResourceExhausted => 429,
                Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
                Code::Unauthenticated => 401,
                Code::PermissionDenied => 403,
                Code::NotFound | Code::Unimplemented => 404,
                Code::DeadlineExceeded => 504,
                _ => 500,
            };
            let retry_after = retry_info.map(|d| d.as_secs_f64().ceil().max(1.0).to_string());
            http_status(status, retry_after, &message)
        }
        Reply::Http {
            status,
            retry_after,
            message,
        } => http_status(status, retry_after, &message),
        Reply::Delay(..) => unreachable!("delays are resolved by handle"),
        Reply::Reset => reset(kill).await,
    }
}
