//! One attempt at sending one request, and what came back.
//!
//! Both transports run on hyper's pooled client over [`Connector`]:
//!
//! - **gRPC**: HTTP/2 only, so every request of the exporter is a stream on one shared
//!   connection (the pool keeps one per endpoint and reconnects when it breaks). The gRPC
//!   message framing (flag byte + 32-bit length) is written here around the request body: the
//!   body goes out as it is (gzip once per request, not per attempt), with no codec object
//!   tree. The status is read from the trailers (or from the headers of a trailers-only
//!   answer) by tonic's [`Status::from_header_map`](tonic::Status::from_header_map), which
//!   also decodes `grpc-status-details-bin` for the `RetryInfo`.
//!   Doing the framing here rather than through tonic's client keeps one line between what
//!   *the server said* (a status, classified by [`classify_grpc`]) and what *the transport
//!   did* (a reset, a refused connection, a broken stream: always retryable); tonic's client
//!   folds both into one `Status`, reporting a reset stream as `INTERNAL`, for example.
//! - **HTTP/protobuf**: HTTP/1.1 with keep-alive, `POST <base>/v1/<signal>`, the status
//!   classified by [`classify_http`], `Retry-After` read on 429 and 503.
//!
//! In both, a successful answer's `Export*ServiceResponse` is decoded for `partial_success`
//! (the three responses share one layout: field 1 `{1: int64 rejected, 2: string message}`).
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prost::Message;
use tonic_types::StatusExt;

use super::classify::{Class, classify_grpc, classify_http, parse_retry_after};
use super::connector::Connector;
use super::{ExportRequest, grpc_path, http_path};
use crate::config::{ForwardCompression, ForwardProtocol};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;

/// Largest response body read (responses are tiny; this bounds a broken server).
const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// A request body ready for the wire, built once per export and reused by every attempt.
#[derive(Debug, Clone)]
pub(super) struct Payload {
    /// gRPC: the framed message; HTTP: the (maybe gzipped) body.
    pub(super) bytes: Bytes,
    pub(super) gzip: bool,
}

/// What one attempt produced.
#[derive(Debug)]
pub(super) enum Answer {
    /// Acknowledged; `rejected` items per partial success.
    Accepted {
        rejected: u64,
        message: Option<String>,
    },
    /// Not acknowledged. `class` is never `Success`.
    Failed {
        class: Class,
        message: String,
        /// The server's retry advice (RetryInfo, Retry-After), uncapped.
        server_delay: Option<Duration>,
    },
}

impl Answer {
    fn transport(message: String) -> Answer {
        Answer::Failed {
            class: Class::Retryable,
            message,
            server_delay: None,
        }
    }
}

/// The client of one endpoint.
#[derive(Clone)]
pub(super) struct Transport {
    protocol: ForwardProtocol,
    client: HyperClient<Connector, Full<Bytes>>,
    /// `scheme://authority`.
    origin: String,
    /// HTTP: the base URL's path without a trailing `/` (empty for none).
    base_path: String,
    headers: HeaderMap,
    compression: ForwardCompression,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("protocol", &self.protocol)
            .field("origin", &self.origin)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Must run inside a tokio runtime (the pool spawns connection tasks on first use).
    pub(super) fn new(
        protocol: ForwardProtocol,
        connector: Connector,
        origin: String,
        base_path: String,
        headers: HeaderMap,
        compression: ForwardCompression,
    ) -> Transport {
        let mut builder = HyperClient::builder(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90));
        if protocol == ForwardProtocol::Grpc {
            builder
                .http2_only(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .http2_keep_alive_timeout(Duration::from_secs(10));
        }
        Transport {
            protocol,
            client: builder.build(connector),
            origin,
            base_path,
            headers,
            compression,
        }
    }

    /// The body of `req` as every attempt sends it.
    pub(super) fn payload(&self, req: &ExportRequest) -> Payload {
        let gzip = self.compression == ForwardCompression::Gzip;
        let body = if gzip {
            Bytes::from(gzip_bytes(&req.body))
        } else {
            req.body.clone()
        };
        match self.protocol {
            ForwardProtocol::Http => Payload { bytes: body, gzip },
            ForwardProtocol::Grpc => {
                let mut framed = BytesMut::with_capacity(body.len() + 5);
                framed.put_u8(u8::from(gzip));
                framed.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
                framed.put_slice(&body);
                Payload {
                    bytes: framed.freeze(),
                    gzip,
                }
            }
        }
    }

    /// One attempt, bounded by `timeout`.
    pub(super) async fn send(
        &self,
        req: &ExportRequest,
        payload: &Payload,
        timeout: Duration,
    ) -> Answer {
        let attempt = async {
            match self.protocol {
                ForwardProtocol::Grpc => self.send_grpc(req, payload, timeout).await,
                ForwardProtocol::Http => self.send_http(req, payload).await,
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(answer) => answer,
            Err(_) => Answer::transport(format!("timed out after {timeout:?}")),
        }
    }

    fn request(&self, path: &str, payload: &Payload) -> Result<Request<Full<Bytes>>, Answer> {
        let uri = format!("{}{}", self.origin, path);
        let mut builder = Request::builder().method(Method::POST).uri(uri);
        if let Some(h) = builder.headers_mut() {
            h.extend(self.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        builder
            .body(Full::new(payload.bytes.clone()))
            .map_err(|e| Answer::Failed {
                class: Class::Drop(super::DropReason::BadRequest),
                message: format!("building the request: {e}"),
                server_delay: None,
            })
    }

    async fn send_grpc(&self, req: &ExportRequest, payload: &Payload, timeout: Duration) -> Answer {
        let mut request = match self.request(grpc_path(req.signal), payload) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let h = request.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("grpc-accept-encoding", HeaderValue::from_static("gzip"));
        if payload.gzip {
            h.insert("grpc-encoding", HeaderValue::from_static("gzip"));
        }
        // Milliseconds, at most 8 digits (gRPC's TimeoutValue).
        let ms = timeout.as_millis().clamp(1, 99_999_999);
        if let Ok(v) = HeaderValue::from_str(&format!("{ms}m")) {
            h.insert("grpc-timeout", v);
        }
        let response = match self.client.request(request).await {
            Ok(r) => r,
            Err(e) => return Answer::transport(format!("transport error: {}", error_chain(&e))),
        };
        let (parts, body) = response.into_parts();
        let collected = match http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return Answer::transport(format!("reading the response: {}", error_chain(&*e)));
            }
        };
        if parts.status != StatusCode::OK {
            // A proxy answering for the server: classify as HTTP (gRPC's HTTP-to-status
            // mapping agrees on what is retryable: 429, 502, 503, 504).
            return Answer::Failed {
                class: match classify_http(parts.status.as_u16()) {
                    Class::Success => Class::Drop(super::DropReason::BadResponse),
                    other => other,
                },
                message: format!("HTTP status {} from a gRPC endpoint", parts.status),
                server_delay: retry_after(&parts.headers),
            };
        }
        let trailers = collected.trailers().cloned();
        let status = tonic::Status::from_header_map(&parts.headers)
            .or_else(|| trailers.as_ref().and_then(tonic::Status::from_header_map));
        let Some(status) = status else {
            return Answer::Failed {
                class: Class::Drop(super::DropReason::BadResponse),
                message: "gRPC response without grpc-status".to_owned(),
                server_delay: None,
            };
        };
        if status.code() != tonic::Code::Ok {
            let retry = status.get_details_retry_info();
            let class = classify_grpc(status.code(), retry.is_some());
            return Answer::Failed {
                class: match class {
                    Class::Success => Class::Drop(super::DropReason::BadResponse),
                    other => other,
                },
                message: format!("gRPC status {:?}: {}", status.code(), status.message()),
                server_delay: retry.and_then(|r| r.retry_delay),
            };
        }
        let compressed = parts
            .headers
            .get("grpc-encoding")
            .is_some_and(|v| v.as_bytes() == b"gzip");
        let message = grpc_message(collected.to_bytes(), compressed);
        partial(message.as_deref().unwrap_or(&[]))
    }

    async fn send_http(&self, req: &ExportRequest, payload: &Payload) -> Answer {
        let path = format!("{}{}", self.base_path, http_path(req.signal));
        let mut request = match self.request(&path, payload) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let h = request.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if payload.gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let response = match self.client.request(request).await {
            Ok(r) => r,
            Err(e) => return Answer::transport(format!("transport error: {}", error_chain(&e))),
        };
        let (parts, body) = response.into_parts();
        let bytes = match http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
        {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                return Answer::transport(format!("reading the response: {}", error_chain(&*e)));
            }
        };
        let bytes = if parts
            .headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
        {
            match gunzip(&bytes) {
                Some(b) => Bytes::from(b),
                None => Bytes::new(),
            }
        } else {
            bytes
        };
        match classify_http(parts.status.as_u16()) {
            Class::Success => partial(&bytes),
            class => Answer::Failed {
                class,
                message: format!("HTTP status {}{}", parts.status, status_message(&bytes)),
                server_delay: retry_after(&parts.headers),
            },
        }
    }
}

/// `Retry-After`, if present and well-formed.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// `: <message>` from a `google.rpc.Status` protobuf body, or nothing.
fn status_message(body: &[u8]) -> String {
    match tonic_types::Status::decode(body) {
        Ok(s) if !s.message.is_empty() => format!(": {}", s.message),
        _ => String::new(),
    }
}

/// The accepted answer for a response body (empty = full success). An undecodable body still
/// means "accepted" (the status said so); it just carries no partial success.
fn partial(body: &[u8]) -> Answer {
    let (rejected, message) = match ExportTraceServiceResponse::decode(body) {
        Ok(r) => match r.partial_success {
            Some(p) => (
                u64::try_from(p.rejected_spans).unwrap_or(0),
                Some(p.error_message).filter(|m| !m.is_empty()),
            ),
            None => (0, None),
        },
        Err(_) => (0, None),
    };
    Answer::Accepted { rejected, message }
}

/// The first gRPC message of a response body, inflated if flagged compressed.
fn grpc_message(body: Bytes, encoding_gzip: bool) -> Option<Vec<u8>> {
    let flag = *body.first()?;
    let len = u32::from_be_bytes(body.get(1..5)?.try_into().ok()?) as usize;
    let message = body.get(5..5usize.checked_add(len)?)?;
    match flag {
        0 => Some(message.to_vec()),
        1 if encoding_gzip => gunzip(message),
        _ => None,
    }
}

pub(super) fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(MAX_RESPONSE_BYTES as u64)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// An error and its sources, `: `-joined (hyper's top-level messages alone say little).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    #[test]
    fn partial_success_is_read() {
        let body = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "bad spans".into(),
            }),
        }
        .encode_to_vec();
        match partial(&body) {
            Answer::Accepted { rejected, message } => {
                assert_eq!(rejected, 3);
                assert_eq!(message.as_deref(), Some("bad spans"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            partial(&[]),
            Answer::Accepted {
                rejected: 0,
                message: None
            }
        ));
        assert!(matches!(
            partial(&[0xff, 0xff]),
            Answer::Accepted { rejected: 0, .. }
        ));
    }

    #[test]
    fn grpc_frames() {
        let msg = b"hello".to_vec();
        let mut framed = vec![0, 0, 0, 0, 5];
        framed.extend_from_slice(&msg);
        assert_eq!(grpc_message(Bytes::from(framed), false), Some(msg.clone()));
        let gz = gzip_bytes(&msg);
        let mut framed = vec![1];
        framed.extend_from_slice(&(gz.len() as u32).to_be_bytes());
        framed.extend_from_slice(&gz);
        assert_eq!(grpc_message(Bytes::from(framed.clone()), true), Some(msg));
        assert_eq!(grpc_message(Bytes::from(framed), false), None);
        assert_eq!(
            grpc_message(Bytes::from_static(&[0, 0, 0, 0, 9, 1]), false),
            None
        );
        assert_eq!(grpc_message(Bytes::new(), false), None);
    }
}
