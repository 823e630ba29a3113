//! The OTLP/HTTP receiver (hyper, HTTP/1.1): `POST /v1/traces`, `/v1/metrics`, `/v1/logs`.
//!
//! - `Content-Type: application/x-protobuf`: the body goes to [`ingest`](super::ingest()) as
//!   raw bytes. `application/json`: the OTLP/JSON mapping (hex ids, lowerCamelCase, 64-bit
//!   integers as strings, enums as numbers) is parsed into opentelemetry-proto's prost structs,
//!   encoded to protobuf, then ingested: for JSON that decode is unavoidable.
//! - `Content-Encoding: gzip` is inflated as a stream into a buffer capped at
//!   `max_decompressed_bytes`: a gzip bomb costs at most that much memory, then gets 413.
//! - The body as sent is capped at `max_message_bytes` (413 beyond, checked against
//!   `Content-Length` first and while reading).
//! - TLS when the context has a [`TlsIdentity`] (`[receiver.tls]`).
//! - Responses are encoded like the request: protobuf or JSON `Export*ServiceResponse`, with
//!   `partial_success` when items were rejected; errors carry a `google.rpc.Status` body.
//!
//! | outcome | status |
//! |---|---|
//! | accepted (maybe partially) | 200 |
//! | malformed (protobuf, JSON or gzip) | 400, `Status` with the error message |
//! | body or inflated body too large | 413 |
//! | other content types or encodings | 415 |
//! | other methods on the three paths | 405 (`Allow: POST`) |
//! | other paths | 404 |
//! | ring full | 429 with `Retry-After` (whole seconds, at least 1) |
//! | request larger than the ring can hold at once | 413 |
//! | shutting down | 503 |
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tonic::Code;

use super::context::{ReceiverContext, Transport};
use super::ingest::IngestError;
use super::response;
use super::tls::TlsIdentity;
use crate::signal::Signal;

/// Longest a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings: a client that never finishes its request head does not hold a
/// connection (or a graceful shutdown) forever.
fn http1() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

/// Serves OTLP/HTTP on `listener` until `shutdown` completes; then stops accepting, lets the
/// requests in flight finish and closes idle keep-alive connections (graceful). A client
/// sending a body very slowly can hold that wait: bound it with `tokio::time::timeout`.
///
/// # Errors
/// None today (accept errors are retried; TLS is validated when the identity is loaded).
pub async fn serve_http(
    ctx: Arc<ReceiverContext>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = ctx.tls().map(TlsIdentity::acceptor);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        // Small responses must not wait for Nagle's algorithm; failing to set
                        // the option only costs latency, so it is not an error.
                        let _ = stream.set_nodelay(true);
                        stream
                    }
                    Err(_) => {
                        // Out of file descriptors and the like: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let ctx = Arc::clone(&ctx);
                let service = hyper::service::service_fn(move |req| {
                    let ctx = Arc::clone(&ctx);
                    async move { Ok::<_, Infallible>(handle(ctx, req).await) }
                });
                // Held from here, so a graceful shutdown also waits for handshakes.
                let watcher = graceful.watcher();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        None => {
                            let conn = http1().serve_connection(TokioIo::new(stream), service);
                            let _ = watcher.watch(conn).await;
                        }
                        Some(acceptor) => {
                            let handshake = acceptor.accept(stream);
                            let Ok(Ok(stream)) =
                                tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await
                            else {
                                return;
                            };
                            let conn = http1().serve_connection(TokioIo::new(stream), service);
                            let _ = watcher.watch(conn).await;
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

type Reply = Response<Full<Bytes>>;

fn plain(status: StatusCode, text: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(text.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn body(status: StatusCode, format: Format, bytes: Vec<u8>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = status;
    let content_type = match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An error reply with a `google.rpc.Status` body in the request's format.
fn status(status: StatusCode, format: Format, code: Code, message: &str) -> Reply {
    let bytes = match format {
        Format::Protobuf => response::status_protobuf(code, message),
        Format::Json => response::status_json(code, message),
    };
    body(status, format, bytes)
}

async fn handle(ctx: Arc<ReceiverContext>, req: Request<Incoming>) -> Reply {
    let signal = match req.uri().path() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        _ => return plain(StatusCode::NOT_FOUND, "not found"),
    };
    if req.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only POST is allowed");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let format = match media_type(req.headers().get(header::CONTENT_TYPE)).as_deref() {
        Some("application/x-protobuf") => Format::Protobuf,
        Some("application/json") => Format::Json,
        _ => {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/x-protobuf or application/json",
            );
        }
    };
    let gzip = match media_type(req.headers().get(header::CONTENT_ENCODING)).as_deref() {
        None | Some("identity") => false,
        Some("gzip") => true,
        Some(_) => {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Encoding must be gzip or identity",
            );
        }
    };
    if ctx.is_shutting_down() {
        ctx.count_refused(signal, Transport::Http);
        return unavailable(format);
    }
    let limits = *ctx.limits();
    let too_large = |what: &str, limit: usize| {
        ctx.count_invalid(signal, Transport::Http);
        status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            Code::ResourceExhausted,
            &format!("{what} larger than {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_message_bytes as u64) {
        return too_large("request body (max_message_bytes)", limits.max_message_bytes);
    }
    let raw = match Limited::new(req.into_body(), limits.max_message_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return too_large("request body (max_message_bytes)", limits.max_message_bytes);
        }
        Err(_) => {
            ctx.count_invalid(signal, Transport::Http);
            return plain(StatusCode::BAD_REQUEST, "could not read the request body");
        }
    };
    ctx.count_bytes(signal, Transport::Http, raw.len());
    // Inflating, JSON and waiting for room are CPU or sleep work: off the runtime threads.
    let heavy = gzip || format == Format::Json || !limits.wait_for_room.is_zero();
    if heavy {
        let ctx2 = Arc::clone(&ctx);
        tokio::task::spawn_blocking(move || process(&ctx2, signal, format, gzip, raw))
            .await
            .unwrap_or_else(|_| unavailable(format))
    } else {
        process(&ctx, signal, format, gzip, raw)
    }
}

fn unavailable(format: Format) -> Reply {
    status(
        StatusCode::SERVICE_UNAVAILABLE,
        format,
        Code::Unavailable,
        "receiver is shutting down",
    )
}

/// The lower-cased media type of a header value, parameters dropped.
fn media_type(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let media = text.split(';').next().unwrap_or("").trim();
    Some(media.to_ascii_lowercase())
}

/// Inflates, converts JSON, ingests and builds the reply.
fn process(ctx: &ReceiverContext, signal: Signal, format: Format, gzip: bool, raw: Bytes) -> Reply {
    let limits = *ctx.limits();
    let bad_request = |message: &str| {
        ctx.count_invalid(signal, Transport::Http);
        status(
            StatusCode::BAD_REQUEST,
            format,
            Code::InvalidArgument,
            message,
        )
    };
    let inflated = if gzip {
        match inflate(&raw, limits.max_decompressed_bytes) {
            Ok(bytes) => Bytes::from(bytes),
            Err(Inflate::TooLarge) => {
                ctx.count_invalid(signal, Transport::Http);
                return status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format,
                    Code::ResourceExhausted,
                    &format!(
                        "decompressed body larger than max_decompressed_bytes ({} bytes)",
                        limits.max_decompressed_bytes
                    ),
                );
            }
            Err(Inflate::Invalid(e)) => return bad_request(&format!("invalid gzip body: {e}")),
        }
    } else {
        raw
    };
    let protobuf = match format {
        Format::Protobuf => inflated,
        Format::Json => match json_to_protobuf(signal, &inflated) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return bad_request(&format!("invalid OTLP/JSON: {e}")),
        },
    };
    match ctx.ingest(signal, Transport::Http, &protobuf) {
        Ok(accepted) => {
            let bytes = match format {
                Format::Protobuf => response::protobuf(signal, &accepted),
                Format::Json => response::json(signal, &accepted),
            };
            body(StatusCode::OK, format, bytes)
        }
        Err(error) => refused(format, &error),
    }
}

/// The reply to a request [`ingest`](super::ingest()) refused.
fn refused(format: Format, error: &IngestError) -> Reply {
    let message = error.to_string();
    match error {
        IngestError::Invalid(_) | IngestError::ItemsTooLarge { .. } => status(
            StatusCode::BAD_REQUEST,
            format,
            Code::InvalidArgument,
            &message,
        ),
        IngestError::Full { retry_after, .. } => {
            let mut r = status(
                StatusCode::TOO_MANY_REQUESTS,
                format,
                Code::ResourceExhausted,
                &message,
            );
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            r
        }
        IngestError::RequestTooLarge { .. } => status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format,
            Code::ResourceExhausted,
            &message,
        ),
        IngestError::ShuttingDown => unavailable(format),
        IngestError::Ring(_) => status(
            StatusCode::INTERNAL_SERVER_ERROR,
            format,
            Code::Internal,
            &message,
        ),
    }
}

enum Inflate {
    TooLarge,
    Invalid(std::io::Error),
}

/// Inflates a gzip body into at most `cap` bytes (one byte more proves it is too large).
fn inflate(gz: &[u8], cap: usize) -> Result<Vec<u8>, Inflate> {
    let mut out = Vec::with_capacity(gz.len().saturating_mul(4).min(cap));
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(gz)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(Inflate::Invalid)?;
    if out.len() > cap {
        return Err(Inflate::TooLarge);
    }
    Ok(out)
}

/// Parses OTLP/JSON of `signal` and encodes it as protobuf.
fn json_to_protobuf(signal: Signal, json: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
    use prost::Message;
    Ok(match signal {
        Signal::Traces => {
            serde_json::from_slice::<trace::v1::ExportTraceServiceRequest>(json)?.encode_to_vec()
        }
        Signal::Metrics => {
            serde_json::from_slice::<metrics::v1::ExportMetricsServiceRequest>(json)?
                .encode_to_vec()
        }
        Signal::Logs => {
            serde_json::from_slice::<logs::v1::ExportLogsServiceRequest>(json)?.encode_to_vec()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn media_types_ignore_case_and_parameters() {
        let v = HeaderValue::from_static("Application/JSON; charset=utf-8");
        assert_eq!(media_type(Some(&v)).as_deref(), Some("application/json"));
        assert_eq!(media_type(None), None);
    }

    #[test]
    fn inflate_caps_output() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 1 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        assert!(matches!(inflate(&gz, 1000), Err(Inflate::TooLarge)));
        assert_eq!(inflate(&gz, 1 << 20).ok().map(|v| v.len()), Some(1 << 20));
        assert!(matches!(
            inflate(b"not gzip", 1000),
            Err(Inflate::Invalid(_))
        ));
    }
}
