//! Proof that the hot paths do not allocate: a counting global allocator, armed only on the
//! test's own thread, sees zero allocations across 100,000 ring claim/commit/read cycles,
//! breaker calls and wire encodes, after construction.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

// Both per thread: tests run in parallel, and only this thread's allocations are counted.
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    if ARMED.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with the counter armed on this thread and returns how many allocations it made.
fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn counter_sees_allocations() {
    // The instrument itself must work, or the zero results below mean nothing.
    let n = allocations_in(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert_eq!(n, 1);
}

#[test]
fn ring_cycles_do_not_allocate() {
    use otlp_arrow::ring::Ring;
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let producer = ring.producer();
    let mut consumer = ring.consumer().unwrap();
    let record = [7u8; 256];
    let mut sum = 0u64;
    let n = allocations_in(|| {
        for i in 0..100_000u32 {
            let mut claim = producer.try_claim(i % 3, 256).unwrap();
            claim.payload_mut().copy_from_slice(&record);
            claim.commit();
            producer.try_write(9, &record[..i as usize % 200]).unwrap();
            let _aborted = producer.try_claim(1, 16).unwrap();
            consumer.read(8, |kind, payload| {
                sum += u64::from(kind) + payload.len() as u64
            });
        }
        consumer.drain(64, |kind, payload| {
            sum += u64::from(kind) + payload.len() as u64
        });
        std::hint::black_box(ring.stats());
    });
    assert_eq!(n, 0, "ring hot path allocated");
    assert!(sum > 0);
    assert_eq!(ring.stats().records_read, 200_000);
}

#[test]
fn breaker_calls_do_not_allocate() {
    use otlp_arrow::breaker::{Breaker, Policy};
    let breaker = Breaker::new(Policy::new(3, 1_000_000, 1, 1).unwrap());
    let mut transitions = 0u32;
    let n = allocations_in(|| {
        for i in 0..100_000u64 {
            let now = i * 10_000; // 10 us apart: the breaker opens, half-opens and closes again
            if let Ok(permit) = breaker.allow(now) {
                let outcome = if i % 50 < 4 {
                    permit.failure(now)
                } else {
                    permit.success(now)
                };
                transitions += u32::from(outcome.is_some());
            }
            std::hint::black_box(breaker.state());
        }
        std::hint::black_box(breaker.counters());
    });
    assert_eq!(n, 0, "breaker allocated");
    assert!(
        transitions > 10,
        "the loop must exercise transitions, saw {transitions}"
    );
}

#[test]
fn wire_encodes_do_not_allocate() {
    use otlp_arrow::ring::Ring;
    use otlp_arrow::wire::encode::{
        AnyValue, Encode, Event, KeyValue, Part, PreEncoded, Resource, ResourceSpans, Scope, Span,
        SpanKind,
    };
    let res_attrs = [KeyValue::new("service.name", AnyValue::String("checkout"))];
    let mut res_buf = [0u8; 64];
    let resource = PreEncoded::encode(
        &Resource {
            attributes: &res_attrs[..],
            dropped_attributes_count: 0,
        },
        &mut res_buf,
    )
    .unwrap();
    let nested = [AnyValue::Int(1), AnyValue::String("two")];
    let attrs = [
        KeyValue::new("http.method", AnyValue::String("GET")),
        KeyValue::new("http.status_code", AnyValue::Int(200)),
        KeyValue::new("sampled", AnyValue::Bool(true)),
        KeyValue::new("ratio", AnyValue::Double(0.25)),
        KeyValue::new("blob", AnyValue::Bytes(b"\x00\x01")),
        KeyValue::new("list", AnyValue::Array(&nested)),
    ];
    let events = [Event {
        time_unix_nano: 5,
        name: "retry",
        attributes: &attrs[..2],
        dropped_attributes_count: 0,
    }];
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let producer = ring.producer();
    let mut consumer = ring.consumer().unwrap();
    let mut bytes = 0usize;
    let n = allocations_in(|| {
        for i in 0..100_000u64 {
            let span: Span<'_> = Span {
                trace_id: [1; 16],
                span_id: (i + 1).to_le_bytes(),
                name: "GET /cart",
                kind: SpanKind::Server,
                start_time_unix_nano: i,
                end_time_unix_nano: i + 10,
                attributes: &attrs,
                events: &events,
                ..Span::default()
            };
            let record = ResourceSpans {
                resource: Part::Encoded(resource),
                scope: Part::View(Scope {
                    name: "lib",
                    ..Scope::default()
                }),
                spans: core::slice::from_ref(&span),
                ..ResourceSpans::default()
            };
            let len = record.encoded_len();
            let mut claim = producer.try_claim(1, len).unwrap();
            record.encode_exact(claim.payload_mut()).unwrap();
            claim.commit();
            consumer.read(4, |_, p| bytes += p.len());
        }
    });
    assert_eq!(n, 0, "wire encode allocated");
    assert!(bytes > 100_000 * 100);
}

#[test]
fn span_record_hot_path_does_not_allocate() {
    use otlp_arrow::ring::Ring;
    use otlp_arrow::wire::encode::{AnyValue, KeyValue, PreEncoded, Span, SpanKind, SpanRecord};
    let long = "v".repeat(200);
    let attrs = [
        KeyValue::new("http.method", AnyValue::String("GET")),
        KeyValue::new("http.status_code", AnyValue::Int(200)),
        KeyValue::new("sampled", AnyValue::Bool(true)),
        KeyValue::new("ratio", AnyValue::Double(0.25)),
        KeyValue::new("long", AnyValue::String(&long)),
        KeyValue::new("list", AnyValue::Array(&[AnyValue::Int(1)])),
    ];
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let producer = ring.producer();
    let mut consumer = ring.consumer().unwrap();
    let mut bytes = 0usize;
    let n = allocations_in(|| {
        for i in 0..100_000u64 {
            let span: Span<'_> = Span {
                trace_id: [1; 16],
                span_id: (i + 1).to_le_bytes(),
                name: "GET /cart",
                kind: SpanKind::Server,
                start_time_unix_nano: i,
                end_time_unix_nano: i + 10,
                attributes: &attrs,
                ..Span::default()
            };
            let record = SpanRecord {
                resource: PreEncoded::from_bytes(b"\x0a\x05\x0a\x03svc"),
                resource_schema_url: "",
                scope: PreEncoded::from_bytes(b"\x0a\x03lib"),
                scope_schema_url: "",
                span: &span,
            };
            let plan = record.lengths();
            let mut claim = producer.try_claim(1, plan.total()).unwrap();
            record.encode_exact(&plan, claim.payload_mut()).unwrap();
            claim.commit();
            consumer.read(4, |_, p| bytes += p.len());
        }
    });
    assert_eq!(n, 0, "span record encode allocated");
    assert!(bytes > 100_000 * 200);
}
