//! The reverse path's rate (stored batch -> OTLP request bytes), the forwarder's catch-up
//! from files, on the same typical requests as `benches/scan.rs`.
//!
//! The batch is made once, outside the timing, by the storage decoder from the request's
//! `Resource*` records. Peers, throughput in items (spans, data points, log records):
//! - `0-otlp-arrow`: `BatchEncoder::new` (column lookup and validation) and one
//!   `encode_request` over all rows, into a reused `Vec`;
//! - `1-otlp-arrow-cut-256`: the same batch cut into requests of at most 256 items and 64 KiB
//!   with `encode_request_limited`, as the forwarder sends them;
//! - `2-prost-encode`: prost encoding the equivalent `Export*ServiceRequest` from its already
//!   built object tree (a lower bound for any path that builds prost structs from rows first:
//!   building them is not counted).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::arrow::decode::decoder_for;
use otlp_arrow::arrow::otlp::{BatchEncoder, Limits};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::scan::scan;
use prost::Message;
use std::hint::black_box;

#[path = "support/requests.rs"]
mod requests;

use requests::{logs, metrics, traces};

/// The stored batch of a request: its `Resource*` records through the decoder.
fn stored(signal: Signal, request: &[u8]) -> arrow_array::RecordBatch {
    let mut decoder = decoder_for(signal);
    for chunk in scan(signal, request).unwrap().chunks() {
        decoder.append(chunk.bytes()).unwrap();
    }
    decoder.finish()
}

/// Encodes a prebuilt prost request into the buffer.
type EncodeTree = Box<dyn Fn(&mut Vec<u8>)>;

fn bench(c: &mut Criterion) {
    let cases: [(&str, Signal, Vec<u8>); 3] = [
        ("traces", Signal::Traces, traces()),
        ("metrics", Signal::Metrics, metrics()),
        ("logs", Signal::Logs, logs()),
    ];
    let cut = Limits {
        max_bytes: 64 << 10,
        max_items: 256,
    };
    for (name, signal, request) in &cases {
        let batch = stored(*signal, request);
        let rows = batch.num_rows();
        let mut out = Vec::with_capacity(request.len() * 2);
        let mut group = c.benchmark_group(format!("reverse/{name}"));
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function("0-otlp-arrow", |b| {
            b.iter(|| {
                out.clear();
                let enc = BatchEncoder::new(*signal, black_box(&batch)).unwrap();
                enc.encode_request(0..rows, &mut out).unwrap().bytes
            })
        });
        group.bench_function("1-otlp-arrow-cut-256", |b| {
            b.iter(|| {
                let enc = BatchEncoder::new(*signal, black_box(&batch)).unwrap();
                let (mut next, mut bytes) = (0, 0);
                while next < rows {
                    out.clear();
                    let s = enc
                        .encode_request_limited(next..rows, cut, &mut out)
                        .unwrap();
                    next = s.rows.end;
                    bytes += s.bytes;
                }
                bytes
            })
        });
        // The prost tree is built once, outside the timing: only its encoding is measured.
        let tree: EncodeTree = match signal {
            Signal::Traces => {
                let t = ExportTraceServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
            Signal::Metrics => {
                let t = ExportMetricsServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
            Signal::Logs => {
                let t = ExportLogsServiceRequest::decode(request.as_slice()).unwrap();
                Box::new(move |o| t.encode(o).unwrap())
            }
        };
        group.bench_function("2-prost-encode", |b| {
            b.iter(|| {
                out.clear();
                tree(black_box(&mut out));
                out.len()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
