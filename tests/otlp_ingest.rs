//! `otlp::ingest`: requests of every signal land in the ring item for item, oversized
//! `Resource*` messages are re-framed, a full ring refuses the request whole, invalid items
//! are rejected (partial success) and waiting for room works.

mod otlp_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use otlp_arrow::otlp::{IngestError, IngestOptions, ingest};
use otlp_arrow::ring::Ring;
use otlp_arrow::signal::Signal;
use otlp_common::*;
use prost::Message;

fn opts() -> IngestOptions<'static> {
    IngestOptions {
        wait: Duration::ZERO,
        retry_after: Duration::from_millis(1500),
        cancel: None,
    }
}

#[test]
fn every_signal_lands_item_for_item() {
    let ring = Ring::with_capacity(1 << 20).unwrap();

    let req = traces(3, 2, 5, 10);
    let accepted = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(
        (accepted.items, accepted.records, accepted.rejected_items),
        (30, 3, 0)
    );
    assert_eq!(accepted.error_message, None);
    let records = drain(&ring);
    assert_eq!(records.len(), 3);
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));

    let req = metrics(2, 2, 4, 10);
    let expected_points: u64 = flat_metrics(&req.resource_metrics)
        .iter()
        .map(|f| points(&f.4))
        .sum();
    let accepted = ingest(Signal::Metrics, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(accepted.items, expected_points);
    assert_eq!(accepted.records, 2);
    let records = drain(&ring);
    assert_eq!(
        records_metrics(&records),
        flat_metrics(&req.resource_metrics)
    );

    let req = logs(2, 3, 4, 10);
    let accepted = ingest(Signal::Logs, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.records), (24, 2));
    let records = drain(&ring);
    assert_eq!(records_logs(&records), flat_logs(&req.resource_logs));
}

#[test]
fn whole_chunks_are_copied_byte_for_byte() {
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let req = traces(2, 1, 3, 0);
    ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap();
    let records = drain(&ring);
    for (record, rs) in records.iter().zip(&req.resource_spans) {
        assert_eq!(record.1, rs.encode_to_vec());
    }
}

#[test]
fn empty_request_and_empty_resources_write_nothing() {
    let ring = Ring::with_capacity(4096).unwrap();
    let accepted = ingest(Signal::Traces, &[], &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.records), (0, 0));
    let req = traces(2, 1, 0, 0);
    let accepted = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.records), (0, 0));
    assert!(drain(&ring).is_empty());
}

#[test]
fn oversized_chunks_are_reframed_and_equal_item_for_item() {
    // 16 KiB ring: largest record 2040 bytes; each resource here is several times that.
    let ring = Ring::with_capacity(16 << 10).unwrap();
    let max = ring.max_record_len();

    let req = traces(1, 3, 12, 150);
    let bytes = req.encode_to_vec();
    assert!(req.resource_spans[0].encoded_len() > 2 * max);
    let accepted = ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.rejected_items), (36, 0));
    assert!(accepted.records > 3, "{accepted:?}");
    let records = drain(&ring);
    assert_eq!(records.len(), accepted.records);
    assert!(records.iter().all(|r| r.1.len() <= max));
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));

    let req = logs(1, 2, 20, 150);
    assert!(req.resource_logs[0].encoded_len() > 2 * max);
    let accepted = ingest(Signal::Logs, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(accepted.items, 40);
    let records = drain(&ring);
    assert!(records.len() > 2 && records.iter().all(|r| r.1.len() <= max));
    assert_eq!(records_logs(&records), flat_logs(&req.resource_logs));

    let req = metrics(1, 2, 9, 60);
    assert!(req.resource_metrics[0].encoded_len() > 2 * max);
    let want: u64 = flat_metrics(&req.resource_metrics)
        .iter()
        .map(|f| points(&f.4))
        .sum();
    let accepted = ingest(Signal::Metrics, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(accepted.items, want);
    let records = drain(&ring);
    assert!(records.len() > 2 && records.iter().all(|r| r.1.len() <= max));
    assert_eq!(
        records_metrics(&records),
        flat_metrics(&req.resource_metrics)
    );
}

#[test]
fn an_item_too_large_for_any_record_is_rejected_alone() {
    let ring = Ring::with_capacity(4096).unwrap(); // largest record: 504 bytes
    let mut req = traces(1, 1, 4, 10);
    let big = span(99, 600);
    req.resource_spans[0].scope_spans[0].spans.insert(2, big);
    let accepted = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(accepted.items, 4);
    assert_eq!(
        (accepted.rejected_items, accepted.rejected_too_large),
        (1, 1)
    );
    let message = accepted.error_message.unwrap();
    assert!(
        message.contains("1 spans rejected") && message.contains("504 bytes"),
        "{message}"
    );
    let records = drain(&ring);
    let mut expected = req.clone();
    expected.resource_spans[0].scope_spans[0].spans.remove(2);
    assert_eq!(
        records_traces(&records),
        flat_traces(&expected.resource_spans)
    );

    // Only items too large: refused whole.
    let mut req = traces(1, 1, 0, 0);
    req.resource_spans[0].scope_spans[0]
        .spans
        .push(span(1, 600));
    let err = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap_err();
    assert_eq!(
        err,
        IngestError::ItemsTooLarge {
            items: 1,
            max_record_len: 504
        }
    );
    assert!(drain(&ring).is_empty());
}

#[test]
fn full_ring_refuses_the_whole_request_and_a_retry_lands_once() {
    let ring = Ring::with_capacity(8192).unwrap(); // largest record 1016 bytes
    // Three resources of about 600 bytes each: 1.8 KiB in all.
    let req = traces(3, 1, 2, 200);
    let bytes = req.encode_to_vec();
    // Leave room for about two of them.
    let filler = vec![0x55u8; 1000];
    let producer = ring.producer();
    let mut fillers = 0;
    while ring.capacity() as u64 - ring.in_use_bytes() > 1400 {
        producer.try_write(9, &filler).unwrap();
        fillers += 1;
    }
    let before = ring.stats();
    let err = ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap_err();
    assert_eq!(
        err,
        IngestError::Full {
            retry_after: Duration::from_millis(1500),
            items: 6
        }
    );
    assert!(
        ring.stats().aborted > before.aborted,
        "some claims were held, then aborted"
    );
    // Nothing of the request is visible: only the fillers.
    let records = drain(&ring);
    assert_eq!(records.len(), fillers);
    assert!(records.iter().all(|(kind, _)| *kind == 9));
    // The retry lands exactly once.
    let accepted = ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap();
    assert_eq!(accepted.items, 6);
    let records = drain(&ring);
    assert_eq!(records_traces(&records), flat_traces(&req.resource_spans));
}

#[test]
fn a_request_larger_than_the_ring_can_ever_hold_is_not_full() {
    let ring = Ring::with_capacity(4096).unwrap();
    let req = traces(20, 1, 1, 150);
    assert!(
        req.resource_spans
            .iter()
            .all(|r| r.encoded_len() <= ring.max_record_len())
    );
    let err = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap_err();
    assert!(
        matches!(err, IngestError::RequestTooLarge { limit: 3584, .. }),
        "{err:?}"
    );
    assert!(drain(&ring).is_empty());
}

#[test]
fn waiting_mode_succeeds_once_a_consumer_frees_room() {
    let ring = Arc::new(Ring::with_capacity(8192).unwrap());
    let producer = ring.producer();
    while producer.try_write(9, &[1u8; 500]).is_ok() {}
    let req = traces(2, 1, 2, 100);
    let bytes = req.encode_to_vec();

    // The consumer frees room only after the ingest has met the full ring at least once.
    let consumer_ring = Arc::clone(&ring);
    let consumer = std::thread::spawn(move || {
        let full_before = consumer_ring.stats().rejected_full;
        while consumer_ring.stats().rejected_full == full_before {
            std::thread::yield_now();
        }
        let mut seen = Vec::new();
        let mut c = consumer_ring.consumer().unwrap();
        // Read until both records of the request have arrived.
        while seen.iter().filter(|(k, _)| *k == 1).count() < 2 {
            c.read(16, |kind, payload| seen.push((kind, payload.to_vec())));
            std::thread::yield_now();
        }
        seen
    });
    let wait = IngestOptions {
        wait: Duration::from_secs(30),
        ..opts()
    };
    let accepted = ingest(Signal::Traces, &bytes, &ring, &wait).unwrap();
    assert_eq!(accepted.items, 4);
    let seen = consumer.join().unwrap();
    let request_records: Vec<_> = seen.into_iter().filter(|(k, _)| *k == 1).collect();
    assert_eq!(
        records_traces(&request_records),
        flat_traces(&req.resource_spans)
    );
}

#[test]
fn waiting_stops_on_cancel() {
    let ring = Arc::new(Ring::with_capacity(4096).unwrap());
    let producer = ring.producer();
    while producer.try_write(9, &[1u8; 400]).is_ok() {}
    let cancel = Arc::new(AtomicBool::new(false));
    let (r2, c2) = (Arc::clone(&ring), Arc::clone(&cancel));
    let canceller = std::thread::spawn(move || {
        while r2.stats().rejected_full == 0 {
            std::thread::yield_now();
        }
        c2.store(true, std::sync::atomic::Ordering::Release);
    });
    let req = traces(1, 1, 1, 10).encode_to_vec();
    let wait = IngestOptions {
        wait: Duration::from_secs(60),
        cancel: Some(&cancel),
        ..opts()
    };
    assert_eq!(
        ingest(Signal::Traces, &req, &ring, &wait).unwrap_err(),
        IngestError::ShuttingDown
    );
    canceller.join().unwrap();
}

#[test]
fn partial_success_keeps_exactly_the_valid_spans() {
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let mut req = traces(3, 2, 3, 5);
    // Resource 0, scope 1, span 1: a 15-byte trace id.
    req.resource_spans[0].scope_spans[1].spans[1].trace_id = vec![1; 15];
    // Resource 1, scope 0, span 2: invalid UTF-8 name.
    req.resource_spans[1].scope_spans[0].spans[2].name = "BADUTF8NAME".into();
    // Resource 2: an invalid resource attribute rejects all its 6 spans.
    req.resource_spans[2].resource.as_mut().unwrap().attributes[0].key = "BADUTF8KEY".into();
    let mut bytes = req.encode_to_vec();
    corrupt_utf8(&mut bytes, "BADUTF8NAME");
    corrupt_utf8(&mut bytes, "BADUTF8KEY");

    let accepted = ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.rejected_items), (10, 8));
    let message = accepted.error_message.unwrap();
    assert!(
        message.contains("8 invalid spans rejected")
            && message.contains(
                "resource_spans[0].scope_spans[1].spans[1].trace_id: expected 16 bytes, got 15"
            ),
        "{message}"
    );
    let mut expected = req.clone();
    expected.resource_spans.remove(2);
    expected.resource_spans[1].scope_spans[0].spans.remove(2);
    expected.resource_spans[0].scope_spans[1].spans.remove(1);
    let records = drain(&ring);
    assert_eq!(
        records_traces(&records),
        flat_traces(&expected.resource_spans)
    );
}

#[test]
fn partial_success_for_logs_and_metrics() {
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let mut req = logs(1, 2, 3, 0);
    req.resource_logs[0].scope_logs[0].log_records[0].span_id = vec![1; 7];
    // A bad scope name rejects the whole second scope (3 log records).
    req.resource_logs[0].scope_logs[1]
        .scope
        .as_mut()
        .unwrap()
        .name = "BADSCOPE".into();
    let mut bytes = req.encode_to_vec();
    corrupt_utf8(&mut bytes, "BADSCOPE");
    let accepted = ingest(Signal::Logs, &bytes, &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.rejected_items), (2, 4));
    let mut expected = req.clone();
    expected.resource_logs[0].scope_logs.remove(1);
    expected.resource_logs[0].scope_logs[0]
        .log_records
        .remove(0);
    assert_eq!(
        records_logs(&drain(&ring)),
        flat_logs(&expected.resource_logs)
    );

    // Metric ids 1..=4: sum (3 points), histogram (1), gauge (2), sum (3).
    let mut req = metrics(1, 1, 4, 0);
    // Invalid UTF-8 in metric 3's name: its 2 data points are rejected.
    req.resource_metrics[0].scope_metrics[0].metrics[2].name = "BADMETRIC".into();
    let mut bytes = req.encode_to_vec();
    corrupt_utf8(&mut bytes, "BADMETRIC");
    let accepted = ingest(Signal::Metrics, &bytes, &ring, &opts()).unwrap();
    assert_eq!((accepted.items, accepted.rejected_items), (7, 2));
    assert!(
        accepted
            .error_message
            .unwrap()
            .contains("2 invalid data points rejected")
    );
    let mut expected = req.clone();
    expected.resource_metrics[0].scope_metrics[0]
        .metrics
        .remove(2);
    assert_eq!(
        records_metrics(&drain(&ring)),
        flat_metrics(&expected.resource_metrics)
    );
}

#[test]
fn nothing_valid_or_broken_framing_is_invalid() {
    let ring = Ring::with_capacity(1 << 16).unwrap();
    let mut req = traces(1, 1, 2, 0);
    for s in &mut req.resource_spans[0].scope_spans[0].spans {
        s.span_id = vec![];
    }
    let err = ingest(Signal::Traces, &req.encode_to_vec(), &ring, &opts()).unwrap_err();
    let IngestError::Invalid(e) = &err else {
        panic!("{err:?}")
    };
    assert!(
        e.to_string()
            .contains("resource_spans[0].scope_spans[0].spans[0]"),
        "{e}"
    );

    // The request's own framing is broken: truncated length.
    let mut bytes = traces(2, 1, 2, 0).encode_to_vec();
    bytes.truncate(bytes.len() - 3);
    let err = ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("runs past the end"), "{err}");
    assert!(drain(&ring).is_empty());
}

/// `(resource, scope, metric without its points, one encoded point)` for every data point.
fn flat_points(
    resources: &[opentelemetry_proto::tonic::metrics::v1::ResourceMetrics],
) -> Vec<(String, String, Metric, Vec<u8>)> {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let mut out = Vec::new();
    for r in resources {
        let res = format!("{:?}", r.resource);
        for s in &r.scope_metrics {
            let scope = format!("{:?}", s.scope);
            for m in &s.metrics {
                let mut shell = m.clone();
                let points: Vec<Vec<u8>> = match &mut shell.data {
                    Some(Data::Gauge(g)) => {
                        g.data_points.drain(..).map(|p| p.encode_to_vec()).collect()
                    }
                    Some(Data::Sum(g)) => {
                        g.data_points.drain(..).map(|p| p.encode_to_vec()).collect()
                    }
                    Some(Data::Histogram(g)) => {
                        g.data_points.drain(..).map(|p| p.encode_to_vec()).collect()
                    }
                    other => panic!("unexpected {other:?}"),
                };
                for p in points {
                    out.push((res.clone(), scope.clone(), shell.clone(), p));
                }
            }
        }
    }
    out
}

fn decode_metrics(
    records: &[(u32, Vec<u8>)],
) -> Vec<opentelemetry_proto::tonic::metrics::v1::ResourceMetrics> {
    records
        .iter()
        .map(|(_, b)| {
            opentelemetry_proto::tonic::metrics::v1::ResourceMetrics::decode(&b[..]).unwrap()
        })
        .collect()
}

use opentelemetry_proto::tonic::metrics::v1::Metric;

#[test]
fn a_metric_too_large_alone_is_split_along_its_data_points() {
    use opentelemetry_proto::tonic::metrics::v1::{
        NumberDataPoint, Sum, metric::Data, number_data_point,
    };
    let ring = Ring::with_capacity(16 << 10).unwrap(); // largest record 2040 bytes
    let mut req = metrics(1, 1, 2, 0);
    let point = |i: i64, pad: usize| NumberDataPoint {
        attributes: vec![kv("k", &format!("{i}{}", "p".repeat(pad)))],
        time_unix_nano: (1000 + i) as u64,
        value: Some(number_data_point::Value::AsInt(i)),
        ..NumberDataPoint::default()
    };
    let mut pts: Vec<_> = (0..300).map(|i| point(i, 10)).collect();
    pts.insert(150, point(-1, 3000)); // too large even alone
    let big = Metric {
        name: "big.sum".into(),
        description: "many points".into(),
        unit: "By".into(),
        metadata: vec![kv("m", "v")],
        data: Some(Data::Sum(Sum {
            data_points: pts,
            aggregation_temporality: 1,
            is_monotonic: true,
        })),
    };
    assert!(big.encoded_len() > 4 * ring.max_record_len());
    req.resource_metrics[0].scope_metrics[0]
        .metrics
        .insert(1, big);
    let total: u64 = flat_metrics(&req.resource_metrics)
        .iter()
        .map(|f| points(&f.4))
        .sum();

    let accepted = ingest(Signal::Metrics, &req.encode_to_vec(), &ring, &opts()).unwrap();
    assert_eq!(
        (accepted.items, accepted.rejected_too_large),
        (total - 1, 1)
    );
    let records = drain(&ring);
    assert!(records.len() > 4);
    assert!(records.iter().all(|r| r.1.len() <= ring.max_record_len()));
    let mut expected = req.clone();
    if let Some(Data::Sum(s)) = &mut expected.resource_metrics[0].scope_metrics[0].metrics[1].data {
        s.data_points.remove(150);
    }
    assert_eq!(
        flat_points(&decode_metrics(&records)),
        flat_points(&expected.resource_metrics)
    );
}

/// Principle 1: the fast path allocates a constant number of times per request (the plan and
/// the claims), whatever the number of items, and also when re-framing.
mod allocations {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
    }

    fn note() {
        // `try_with`: the allocator also runs while thread-locals are torn down.
        let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
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

    fn allocations_in(f: impl FnOnce()) -> u64 {
        COUNT.with(|c| c.set(Some(0)));
        f();
        COUNT.with(|c| c.replace(None)).unwrap()
    }

    #[test]
    fn counter_sees_allocations() {
        assert_eq!(
            allocations_in(|| drop(std::hint::black_box(vec![1u8; 8]))),
            1
        );
    }

    #[test]
    fn ingest_allocates_per_request_not_per_item() {
        let ring = Ring::with_capacity(1 << 20).unwrap();
        for (items, pad) in [(1, 0), (500, 10)] {
            let bytes = traces(4, 2, items, pad).encode_to_vec();
            let n = allocations_in(|| {
                ingest(Signal::Traces, &bytes, &ring, &opts()).unwrap();
            });
            assert_eq!(n, 2, "{items} items per scope");
            drain(&ring);
        }
        // Re-framed: still the plan and the claims.
        let small = Ring::with_capacity(64 << 10).unwrap();
        let bytes = traces(1, 2, 60, 200).encode_to_vec();
        let n = allocations_in(|| {
            let accepted = ingest(Signal::Traces, &bytes, &small, &opts()).unwrap();
            assert!(accepted.records > 2);
        });
        assert_eq!(n, 2);
    }
}
