//! `wire::scan` throughput on typical requests, against prost decoding the same bytes.
//!
//! `0-otlp-arrow`: `scan_*` (full validation) then walking `chunks()` as a receiver does;
//! `1-prost`: `Export*ServiceRequest::decode` (allocates the object tree; checks framing and
//! UTF-8 but not ids). Setup outside `iter`; throughput in request bytes.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_arrow::wire::scan::{Signal, scan};
use prost::Message;
use std::hint::black_box;

#[path = "support/requests.rs"]
mod requests;

use requests::{logs, metrics, traces};

fn bench(c: &mut Criterion) {
    let cases: [(&str, Signal, Vec<u8>); 3] = [
        ("traces", Signal::Traces, traces()),
        ("metrics", Signal::Metrics, metrics()),
        ("logs", Signal::Logs, logs()),
    ];
    for (name, signal, bytes) in &cases {
        let mut group = c.benchmark_group(format!("scan/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("0-otlp-arrow", |b| {
            b.iter(|| {
                let scanned = scan(*signal, black_box(bytes)).unwrap();
                let mut sum = 0usize;
                for chunk in scanned.chunks() {
                    sum += chunk.bytes().len() + chunk.items() as usize;
                }
                sum
            })
        });
        group.bench_function("1-prost", |b| {
            b.iter(|| match signal {
                Signal::Traces => ExportTraceServiceRequest::decode(black_box(bytes.as_slice()))
                    .unwrap()
                    .resource_spans
                    .len(),
                Signal::Metrics => ExportMetricsServiceRequest::decode(black_box(bytes.as_slice()))
                    .unwrap()
                    .resource_metrics
                    .len(),
                Signal::Logs => ExportLogsServiceRequest::decode(black_box(bytes.as_slice()))
                    .unwrap()
                    .resource_logs
                    .len(),
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
