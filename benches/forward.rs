//! The forwarding transport's own costs, apart from the network:
//!
//! - `forward_build`: building one `ExportTraceServiceRequest` body from 64 ring records with
//!   [`RequestBuilder`] (concatenation) against what a forwarder that decodes and re-encodes
//!   would do (prost: decode every `ResourceSpans`, encode the request).
//! - `forward_breaker`: what the exporter adds per attempt for the breaker: read the clock,
//!   `allow`, report `success`, against reading the clock alone.
//! - `forward_export_loopback`: one whole `Exporter::export` to an upstream on loopback (gRPC
//!   and HTTP, uncompressed, one request at a time) for scale: the breaker's share is the
//!   ratio of the two groups above.
//!
//! Run with `cargo bench --bench forward -- --warm-up-time 1 --measurement-time 3`.

#[path = "../tests/forward_support/mod.rs"]
mod forward_support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_arrow::breaker::{Breaker, Policy};
use otlp_arrow::config::{
    BreakerConfig, ForwardCompression, ForwardEndpoint, ForwardProtocol, RetryConfig,
};
use otlp_arrow::otlp::forward::{ExportOutcome, Exporter, RequestBuilder};
use otlp_arrow::signal::Signal;
use prost::Message;

/// 64 records of 4 spans each, with a few attributes: a typical small batch.
fn records() -> Vec<Vec<u8>> {
    (0..64)
        .map(|r| {
            ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (0..4)
                        .map(|i| Span {
                            trace_id: vec![r as u8; 16],
                            span_id: vec![i as u8 + 1; 8],
                            name: format!("GET /api/items/{i}"),
                            start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                            end_time_unix_nano: 1_700_000_000_000_100_000 + i,
                            attributes: vec![KeyValue {
                                key: "http.status_code".into(),
                                value: Some(AnyValue {
                                    value: Some(any_value::Value::IntValue(200)),
                                }),
                                ..KeyValue::default()
                            }],
                            ..Span::default()
                        })
                        .collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }
            .encode_to_vec()
        })
        .collect()
}

fn build(c: &mut Criterion) {
    let records = records();
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("forward_build");
    group.throughput(Throughput::Bytes(bytes as u64));
    let mut builder = RequestBuilder::new(Signal::Traces, 4 << 20, 8192);
    group.bench_function("0-otlp-arrow", |b| {
        b.iter(|| {
            for r in &records {
                let _ = builder.try_push(black_box(r), 4);
            }
            // Dropped at once, so the builder reuses its buffer as the forwarder's would
            // once a request is acknowledged.
            black_box(builder.take().body.len())
        })
    });
    let mut out = Vec::with_capacity(2 * bytes);
    group.bench_function("1-prost-decode-encode", |b| {
        b.iter(|| {
            let request = ExportTraceServiceRequest {
                resource_spans: records
                    .iter()
                    .map(|r| ResourceSpans::decode(black_box(&r[..])).unwrap())
                    .collect(),
            };
            out.clear();
            request.encode(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

fn breaker(c: &mut Criterion) {
    let policy = Policy::new(5, 30_000_000_000, 1, 1).unwrap();
    let breaker = Breaker::new(policy);
    let epoch = Instant::now();
    let mut group = c.benchmark_group("forward_breaker");
    group.throughput(Throughput::Elements(1));
    group.bench_function("0-otlp-arrow-clock-allow-success", |b| {
        b.iter(|| {
            let now = epoch.elapsed().as_nanos() as u64;
            let permit = breaker.allow(black_box(now)).unwrap();
            black_box(permit.success(now))
        })
    });
    group.bench_function("1-clock-only", |b| {
        b.iter(|| black_box(epoch.elapsed().as_nanos() as u64))
    });
    group.finish();
}

fn export(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let upstream = rt.block_on(forward_support::Upstream::start());
    upstream.set_recording(false);
    let records = records();
    let mut builder = RequestBuilder::new(Signal::Traces, 4 << 20, 8192);
    for r in &records {
        let _ = builder.try_push(r, 4);
    }
    let request = builder.take();
    let retry = RetryConfig {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        max_elapsed: Duration::from_secs(5),
        max_server_delay: Duration::from_millis(10),
    };
    let mut group = c.benchmark_group("forward_export_loopback");
    group.throughput(Throughput::Elements(records.len() as u64 * 4));
    for (id, protocol) in [
        ("0-otlp-arrow-grpc", ForwardProtocol::Grpc),
        ("1-otlp-arrow-http", ForwardProtocol::Http),
    ] {
        let mut e = ForwardEndpoint::new(upstream.url());
        e.protocol = protocol;
        e.compression = ForwardCompression::None;
        let exporter =
            rt.block_on(async { Exporter::new(&e, &retry, &BreakerConfig::default()).unwrap() });
        group.bench_function(id, |b| {
            b.iter(|| {
                let out = rt.block_on(exporter.export(request.clone()));
                assert!(matches!(out, ExportOutcome::Accepted { .. }));
            })
        });
    }
    group.finish();
    drop(upstream);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = build, breaker, export
}
criterion_main!(benches);
