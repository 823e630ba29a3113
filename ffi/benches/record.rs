//! `otlp_arrow_record_span` through the rlib (the same code C calls) against the Rust
//! OpenTelemetry SDK's span start + 8 attributes + end with a `BatchSpanProcessor` (its
//! exporter counts and discards batches, so only the SDK's own path is timed; the spans the
//! processor dropped are printed after each SDK run).
//!
//! One span: a name and 8 attributes (4 strings, 2 ints, a double, a bool), ids, times.
//! `1-thread` times one producer; `2-threads` times two producers recording at once
//! (`iter_custom` + `Barrier`, wall time of the slower per span). The library's drain thread
//! writes real files meanwhile (a temp dir, `fsync = "never"`). The traces ring has the
//! configuration's default size (16 MiB): a ring far larger than the caches (an earlier
//! version used 256 MiB) times DRAM write-allocate traffic rather than the record path. The
//! drain (one thread turning records into Arrow batches) is slower than two producers, so the
//! bench waits, untimed, for the ring to drain every 12k spans (about a quarter of the ring),
//! so every timed call finds room. It then asserts that no call met `OTLP_ARROW_FULL` (zero
//! drops while the ring has room, 1 and 2 threads).
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ::otlp_arrow::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};

/// Keeps the views' strings alive.
struct Data {
    attrs: [otlp_arrow_attribute; 8],
}

fn sv(s: &'static str) -> otlp_arrow_value {
    otlp_arrow_value {
        type_: otlp_arrow_value_type::String as u32,
        data: otlp_arrow_value_data {
            string_value: otlp_arrow_str::of(s),
        },
    }
}

fn kv(k: &'static str, value: otlp_arrow_value) -> otlp_arrow_attribute {
    otlp_arrow_attribute {
        key: otlp_arrow_str::of(k),
        value,
    }
}

fn data() -> Data {
    Data {
        attrs: [
            kv("http.method", sv("GET")),
            kv("http.route", sv("/api/v1/items/{id}")),
            kv("http.scheme", sv("https")),
            kv("net.peer.name", sv("client.example.com")),
            kv(
                "http.status_code",
                otlp_arrow_value {
                    type_: 3,
                    data: otlp_arrow_value_data { int_value: 200 },
                },
            ),
            kv(
                "http.response_content_length",
                otlp_arrow_value {
                    type_: 3,
                    data: otlp_arrow_value_data { int_value: 5120 },
                },
            ),
            kv(
                "sampling.ratio",
                otlp_arrow_value {
                    type_: 4,
                    data: otlp_arrow_value_data { double_value: 0.25 },
                },
            ),
            kv(
                "cache.hit",
                otlp_arrow_value {
                    type_: 2,
                    data: otlp_arrow_value_data { bool_value: 1 },
                },
            ),
        ],
    }
}

fn span(d: &Data, i: u64) -> otlp_arrow_span {
    otlp_arrow_span {
        resource_id: 0,
        scope_id: 0,
        trace_id: [7; 16],
        span_id: i.to_le_bytes(),
        parent_span_id: [0; 8],
        trace_state: otlp_arrow_str {
            ptr: std::ptr::null(),
            len: 0,
        },
        name: otlp_arrow_str::of("GET /api/v1/items/{id}"),
        kind: 2,
        flags: 0,
        start_time_unix_nano: 1_700_000_000_000_000_000 + i,
        end_time_unix_nano: 1_700_000_000_000_001_000 + i,
        attributes: d.attrs.as_ptr(),
        attributes_len: 8,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        events: std::ptr::null(),
        events_len: 0,
        links: std::ptr::null(),
        links_len: 0,
        dropped_links_count: 0,
        status_code: 0,
        status_message: otlp_arrow_str {
            ptr: std::ptr::null(),
            len: 0,
        },
    }
}

struct Handle(*mut otlp_arrow, std::path::PathBuf);
// SAFETY: the handle is thread-safe for record calls (documented C ABI contract).
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

fn open() -> Handle {
    let dir = std::env::temp_dir().join(format!("otlp-arrow-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = format!(
        "output_dir = {:?}\n[ring]\ntraces = \"16MiB\"\n[storage]\nfsync = \"never\"\nmax_total_bytes = \"256MiB\"\n",
        dir.display().to_string()
    );
    let mut lib = std::ptr::null_mut();
    // SAFETY: valid config bytes and out pointer.
    let s = unsafe { otlp_arrow_open(config.as_ptr().cast(), config.len(), &mut lib) };
    assert_eq!(s, OTLP_ARROW_OK);
    Handle(lib, dir)
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: open handle, no calls running.
        unsafe { otlp_arrow_close(self.0) };
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// The SDK peer's exporter: counts the spans it is handed and discards them, so only the
/// SDK's own path is timed and the spans its batch processor dropped can be counted.
#[derive(Debug)]
struct Discard(Arc<AtomicU64>);

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        black_box(batch);
        Ok(())
    }
}

/// A provider with a default `BatchSpanProcessor` (queue of 2048, batches of 512) over
/// [`Discard`], and the count of spans exported through it.
fn sdk() -> (SdkTracerProvider, Arc<AtomicU64>) {
    let exported = Arc::new(AtomicU64::new(0));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard(exported.clone())).build())
        .build();
    (provider, exported)
}

fn sdk_span(tracer: &opentelemetry_sdk::trace::SdkTracer) {
    let mut span = tracer
        .span_builder("GET /api/v1/items/{id}")
        .with_kind(SpanKind::Server)
        .start(tracer);
    span.set_attributes([
        KeyValue::new("http.method", "GET"),
        KeyValue::new("http.route", "/api/v1/items/{id}"),
        KeyValue::new("http.scheme", "https"),
        KeyValue::new("net.peer.name", "client.example.com"),
        KeyValue::new("http.status_code", 200i64),
        KeyValue::new("http.response_content_length", 5120i64),
        KeyValue::new("sampling.ratio", 0.25),
        KeyValue::new("cache.hit", true),
    ]);
    span.end();
}

/// Times `threads` threads doing `iters / threads` operations each; `op(i)`.
fn parallel(threads: usize, iters: u64, op: Arc<dyn Fn(u64) + Send + Sync>) -> Duration {
    let per = iters.div_ceil(threads as u64);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (barrier, op) = (barrier.clone(), op.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for i in 0..per {
                    op(t as u64 * per + i);
                }
                start.elapsed()
            })
        })
        .collect();
    barrier.wait();
    let max = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap();
    // Per-span wall time of the slowest thread, scaled to the requested iteration count.
    max.mul_f64(iters as f64 / (per * threads as u64) as f64)
}

/// Waits (outside the timed region) until the drain has emptied the traces ring, so every
/// timed call finds room: the bench measures recording, not a full ring.
fn drained(lib: &Handle) {
    // SAFETY: open handle.
    unsafe { otlp_arrow_flush(lib.0, 60_000) };
}

/// Spans per timed chunk: ~330 bytes each (plus the 8-byte header), so a chunk uses about a
/// quarter of the 16 MiB ring.
const CHUNK: u64 = 12_000;

/// Runs `timed(n)` over `iters` spans in chunks, draining the ring (untimed) before each.
fn chunked(lib: &Handle, iters: u64, mut timed: impl FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        drained(lib);
        total += timed(n);
        left -= n;
    }
    total
}

fn bench(c: &mut Criterion) {
    let lib = Arc::new(open());
    let full = Arc::new(AtomicU64::new(0));
    let mut g = c.benchmark_group("record_span");
    g.throughput(Throughput::Elements(1));
    for threads in [1usize, 2] {
        let id = if threads == 1 {
            "1-thread"
        } else {
            "2-threads"
        };
        let (l, f) = (lib.clone(), full.clone());
        let op: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |i| {
            let d = data();
            let s = span(&d, i);
            // SAFETY: open handle, valid view.
            match unsafe { otlp_arrow_record_span(l.0, black_box(&s)) } {
                OTLP_ARROW_OK => {}
                OTLP_ARROW_FULL => {
                    f.fetch_add(1, Ordering::Relaxed);
                }
                other => panic!("status {other}"),
            }
        });
        g.bench_function(BenchmarkId::new("0-otlp-arrow-c-abi", id), |b| {
            if threads == 1 {
                let d = data();
                b.iter_custom(|iters| {
                    chunked(&lib, iters, |n| {
                        let start = Instant::now();
                        for i in 0..n {
                            let s = span(&d, i);
                            // SAFETY: open handle, valid view.
                            let st = unsafe { otlp_arrow_record_span(lib.0, black_box(&s)) };
                            if st == OTLP_ARROW_FULL {
                                full.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        start.elapsed()
                    })
                })
            } else {
                b.iter_custom(|iters| chunked(&lib, iters, |n| parallel(threads, n, op.clone())))
            }
        });
        let (provider, exported) = sdk();
        let tracer = Arc::new(provider.tracer("bench"));
        // Spans ended, warm-up included: `parallel` runs `iters.div_ceil(threads)` per thread.
        let mut ended = 0u64;
        g.bench_function(BenchmarkId::new("1-opentelemetry-sdk-batch", id), |b| {
            if threads == 1 {
                b.iter_custom(|iters| {
                    ended += iters;
                    let start = Instant::now();
                    for _ in 0..iters {
                        sdk_span(&tracer);
                    }
                    start.elapsed()
                })
            } else {
                let t = tracer.clone();
                let op: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |_| sdk_span(&t));
                b.iter_custom(|iters| {
                    ended += iters.div_ceil(threads as u64) * threads as u64;
                    parallel(threads, iters, op.clone())
                })
            }
        });
        // What is still queued is exported by the flush; what is missing then was dropped
        // (the processor drops a span when its queue is full).
        let _ = provider.force_flush();
        let exported = exported.load(Ordering::Relaxed);
        println!(
            "opentelemetry-sdk {id}: {ended} spans ended, {exported} exported, {} dropped ({:.1}%)",
            ended.saturating_sub(exported),
            100.0 * ended.saturating_sub(exported) as f64 / ended.max(1) as f64
        );
        let _ = provider.shutdown();
    }
    g.finish();
    let mut counters = otlp_arrow_counters {
        size: size_of::<otlp_arrow_counters>(),
        ..Default::default()
    };
    // SAFETY: open handle, valid out struct.
    unsafe { otlp_arrow_stats(lib.0, &mut counters) };
    println!(
        "otlp-arrow: OTLP_ARROW_FULL seen {} times (ring rejected_full {}), ring capacity {} bytes",
        full.load(Ordering::Relaxed),
        counters.traces.rejected_full,
        counters.traces.ring_capacity
    );
    // The contract: while the ring has room, no producer (1 or 2 threads) is refused.
    assert_eq!(
        full.load(Ordering::Relaxed),
        0,
        "OTLP_ARROW_FULL with room in the ring"
    );
    assert_eq!(counters.traces.rejected_full, 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
