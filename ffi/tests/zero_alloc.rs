//! The record path allocates nothing: `otlp_arrow_record_span` / `_metric` / `_log` (strict
//! and repairing UTF-8 policies) are called under a global allocator that counts the
//! allocations made by the calling thread only (the drain thread allocates for its batches,
//! which is allowed and not counted).
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::null;

use ::otlp_arrow::*;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a thread-local `Cell` with a
// const initializer (no allocation, no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn counted(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

fn s(v: &str) -> otlp_arrow_str {
    otlp_arrow_str::of(v)
}

#[test]
fn recording_does_not_allocate() {
    for policy in ["reject", "replace"] {
        let dir = std::env::temp_dir().join(format!(
            "otlp-arrow-ffi-alloc-{policy}-{}",
            std::process::id()
        ));
        let config = format!(
            "output_dir = {:?}\n[storage]\nfsync = \"never\"\n[ffi]\ninvalid_utf8 = \"{policy}\"\n",
            dir.display().to_string()
        );
        let mut lib = std::ptr::null_mut();
        // SAFETY: valid config and out pointer.
        let status = unsafe { otlp_arrow_open(config.as_ptr().cast(), config.len(), &mut lib) };
        assert_eq!(status, OTLP_ARROW_OK);
        let nested = [otlp_arrow_value {
            type_: 3,
            data: otlp_arrow_value_data { int_value: 1 },
        }];
        let attrs = [
            otlp_arrow_attribute {
                key: s("http.method"),
                value: otlp_arrow_value {
                    type_: 1,
                    data: otlp_arrow_value_data {
                        string_value: s("GET"),
                    },
                },
            },
            otlp_arrow_attribute {
                key: s("list"),
                value: otlp_arrow_value {
                    type_: 5,
                    data: otlp_arrow_value_data {
                        array_value: otlp_arrow_array {
                            values: nested.as_ptr(),
                            len: 1,
                        },
                    },
                },
            },
        ];
        let events = [otlp_arrow_event {
            time_unix_nano: 1,
            name: s("e"),
            attributes: attrs.as_ptr(),
            attributes_len: 2,
            dropped_attributes_count: 0,
        }];
        let mut span: otlp_arrow_span = otlp_arrow_span {
            resource_id: 0,
            scope_id: 0,
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: [0; 8],
            trace_state: otlp_arrow_str::default(),
            name: s("GET /"),
            kind: 2,
            flags: 0,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            attributes: attrs.as_ptr(),
            attributes_len: 2,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            events: null(),
            events_len: 0,
            links: null(),
            links_len: 0,
            dropped_links_count: 0,
            status_code: 0,
            status_message: otlp_arrow_str::default(),
        };
        let point = otlp_arrow_number_point {
            attributes: attrs.as_ptr(),
            attributes_len: 2,
            start_time_unix_nano: 0,
            time_unix_nano: 1,
            value_type: 2,
            flags: 0,
            as_double: 0.0,
            as_int: 4,
        };
        let metric = otlp_arrow_metric {
            resource_id: 0,
            scope_id: 0,
            name: s("m"),
            description: otlp_arrow_str::default(),
            unit: otlp_arrow_str::default(),
            metric_type: 1,
            aggregation_temporality: 0,
            is_monotonic: 0,
            number_points: &point,
            histogram_points: null(),
            exponential_histogram_points: null(),
            summary_points: null(),
            points_len: 1,
        };
        let log = otlp_arrow_log {
            resource_id: 0,
            scope_id: 0,
            time_unix_nano: 1,
            observed_time_unix_nano: 1,
            severity_number: 9,
            flags: 0,
            severity_text: s("INFO"),
            body: &attrs[1].value,
            attributes: attrs.as_ptr(),
            attributes_len: 2,
            dropped_attributes_count: 0,
            trace_id: [0; 16],
            span_id: [0; 8],
            event_name: otlp_arrow_str::default(),
        };
        let record_all = |span: &otlp_arrow_span| {
            // SAFETY: open handle and valid views.
            unsafe {
                assert_eq!(otlp_arrow_record_span(lib, span), OTLP_ARROW_OK);
                assert_eq!(otlp_arrow_record_metric(lib, &metric), OTLP_ARROW_OK);
                assert_eq!(otlp_arrow_record_log(lib, &log), OTLP_ARROW_OK);
            }
        };
        record_all(&span); // warm-up (lazy statics, first use of thread-locals)
        assert_eq!(
            counted(|| (0..200).for_each(|_| record_all(&span))),
            0,
            "{policy}"
        );
        span.events = events.as_ptr();
        span.events_len = 1;
        assert_eq!(
            counted(|| (0..200).for_each(|_| record_all(&span))),
            0,
            "{policy} with events"
        );
        // SAFETY: open handle, no other calls.
        assert_eq!(unsafe { otlp_arrow_close(lib) }, OTLP_ARROW_OK);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
