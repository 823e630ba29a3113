//! [`RequestBuilder`]: `Export*ServiceRequest` bodies from ring records, by concatenation.
//!
//! A ring record is the body of one `Resource{Spans,Metrics,Logs}` message. In all three
//! requests that message is field 1, so a request body is, per record, the tag byte `0x0a`
//! (field 1, wire type LEN), the record's length as a varint, and the record's bytes. Nothing is
//! decoded or re-encoded; the records were validated when they entered the ring.
#![forbid(unsafe_code)]

use bytes::{BufMut, BytesMut};

use super::ExportRequest;
use crate::signal::Signal;

/// Field 1, wire type LEN.
const TAG: u8 = 0x0a;

/// Builds request bodies by concatenating ring records (each a `Resource{Spans,Metrics,Logs}`
/// message body: framed here as field 1, wire type LEN, varint length, bytes), bounded by max
/// bytes / items.
///
/// The buffer is reused: [`take`](Self::take) hands out the bytes built so far and keeps the
/// allocation for the next request once the previous one is dropped.
#[derive(Debug)]
pub struct RequestBuilder {
    signal: Signal,
    max_bytes: usize,
    max_items: u64,
    buf: BytesMut,
    items: u64,
}

/// Bytes the framing of a record of `len` bytes takes: tag and varint length.
const fn framing(len: usize) -> usize {
    let mut n = 1;
    let mut v = len as u64;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    1 + n
}

impl RequestBuilder {
    /// An empty builder for `signal`'s requests of at most `max_bytes` body bytes and
    /// `max_items` items (each at least 1).
    pub fn new(signal: Signal, max_bytes: usize, max_items: u64) -> Self {
        RequestBuilder {
            signal,
            max_bytes: max_bytes.max(1),
            max_items: max_items.max(1),
            buf: BytesMut::new(),
            items: 0,
        }
    }

    /// A builder with the limits of `endpoint` (`max_request_bytes`, `max_request_items`).
    pub fn for_endpoint(signal: Signal, endpoint: &crate::config::ForwardEndpoint) -> Self {
        RequestBuilder::new(
            signal,
            usize::try_from(endpoint.max_request_bytes).unwrap_or(usize::MAX),
            u64::from(endpoint.max_request_items),
        )
    }

    /// Appends `record` (holding `items` items). `false` (and nothing appended) when the record
    /// would exceed a limit and the builder is not empty; a single record over the limit is
    /// still accepted alone.
    pub fn try_push(&mut self, record: &[u8], items: u64) -> bool {
        let add = framing(record.len()) + record.len();
        if !self.is_empty() {
            let bytes = self.buf.len().saturating_add(add);
            let total = self.items.saturating_add(items);
            if bytes > self.max_bytes || total > self.max_items {
                return false;
            }
        }
        if self.buf.capacity() - self.buf.len() < add {
            // First request: reserve the limit at once, so later pushes do not reallocate.
            let want = if self.buf.is_empty() {
                add.max(self.max_bytes.min(1 << 20))
            } else {
                add
            };
            self.buf.reserve(want);
        }
        self.buf.put_u8(TAG);
        let mut v = record.len() as u64;
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
        self.buf.put_slice(record);
        self.items = self.items.saturating_add(items);
        true
    }

    /// Nothing pushed since the last [`take`](Self::take). (A record with 0 items still counts
    /// as content.)
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Items pushed since the last take.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Body bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The signal requests are built for.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The request built so far; the builder is empty afterwards.
    pub fn take(&mut self) -> ExportRequest {
        let body = self.buf.split().freeze();
        let items = std::mem::take(&mut self.items);
        ExportRequest {
            signal: self.signal,
            body,
            items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn resource_spans(n: usize, name_len: usize) -> ResourceSpans {
        ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..n)
                    .map(|i| Span {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        name: format!("{i:0>name_len$}"),
                        ..Span::default()
                    })
                    .collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }
    }

    #[test]
    fn concatenation_decodes_to_the_same_messages() {
        // Sizes around the 1- and 2-byte varint boundary (127/128) and a 3-byte one.
        let messages: Vec<ResourceSpans> = [(1, 3), (1, 100), (2, 60), (40, 500), (0, 0)]
            .into_iter()
            .map(|(n, l)| resource_spans(n, l))
            .collect();
        let mut b = RequestBuilder::new(Signal::Traces, usize::MAX, u64::MAX);
        for m in &messages {
            assert!(b.try_push(&m.encode_to_vec(), m.scope_spans[0].spans.len() as u64));
        }
        let expected = ExportTraceServiceRequest {
            resource_spans: messages.clone(),
        };
        assert_eq!(b.len(), expected.encoded_len());
        let req = b.take();
        assert_eq!(req.signal, Signal::Traces);
        assert_eq!(req.items, 1 + 1 + 2 + 40);
        assert_eq!(&req.body[..], &expected.encode_to_vec()[..]);
        let decoded = ExportTraceServiceRequest::decode(req.body).unwrap();
        assert_eq!(decoded, expected);
        assert!(b.is_empty());
        assert_eq!(b.items(), 0);
    }

    #[test]
    fn logs_too() {
        let rl = ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("hi".into())),
                    }),
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        };
        let mut b = RequestBuilder::new(Signal::Logs, 1 << 20, 10);
        assert!(b.try_push(&rl.encode_to_vec(), 1));
        assert!(b.try_push(&rl.encode_to_vec(), 1));
        let decoded = ExportLogsServiceRequest::decode(b.take().body).unwrap();
        assert_eq!(decoded.resource_logs, vec![rl.clone(), rl]);
    }

    #[test]
    fn limits_refuse_without_appending_but_one_record_always_fits() {
        let small = resource_spans(1, 10).encode_to_vec();
        let framed = framing(small.len()) + small.len();
        let mut b = RequestBuilder::new(Signal::Traces, 2 * framed, 3);
        assert!(b.try_push(&small, 1));
        assert!(b.try_push(&small, 1));
        assert!(!b.try_push(&small, 1), "byte limit");
        assert_eq!(b.len(), 2 * framed);
        let first = b.take();
        assert_eq!(first.items, 2);

        // Items limit.
        assert!(b.try_push(&small, 3));
        assert!(!b.try_push(&small, 1), "item limit");
        assert_eq!(b.take().items, 3);

        // A record over both limits is still taken alone, then nothing joins it.
        let big = resource_spans(10, 100).encode_to_vec();
        assert!(b.try_push(&big, 10));
        assert!(!b.try_push(&small, 0));
        let req = b.take();
        assert_eq!(req.items, 10);
        assert_eq!(req.body.len(), framing(big.len()) + big.len());
        // `first` is still intact although the buffer was reused.
        let decoded = ExportTraceServiceRequest::decode(first.body).unwrap();
        assert_eq!(decoded.resource_spans.len(), 2);
    }

    #[test]
    fn endpoint_limits() {
        let mut e = crate::config::ForwardEndpoint::new("http://c:4317");
        e.max_request_items = 2;
        let mut b = RequestBuilder::for_endpoint(Signal::Metrics, &e);
        assert_eq!(b.signal(), Signal::Metrics);
        assert!(b.try_push(b"", 2));
        assert!(!b.try_push(b"", 1));
    }

    #[test]
    fn framing_lengths() {
        assert_eq!(framing(0), 2);
        assert_eq!(framing(127), 2);
        assert_eq!(framing(128), 3);
        assert_eq!(framing(16_383), 3);
        assert_eq!(framing(16_384), 4);
    }
}
