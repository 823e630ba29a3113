//! Fuzz model for `wire::scan`: runs the three scanners on arbitrary bytes and checks the
//! invariants that need no reference decoder (prost-based checks live in `tests/wire_scan.rs`).
//!
//! Whatever the input: no panic; the validating iterator and `scan` agree (same chunks, same
//! error); errors point inside the input and format. When a signal accepts the input: items
//! summed over chunks equal the totals; chunk, scope and item slices lie inside the input at
//! their offsets; fields tile each message exactly; each chunk re-scans alone with the same
//! item count; and the chunks re-framed into a new request (what forwarding does) scan again
//! to the same chunks.
#![forbid(unsafe_code)]

use crate::wire::scan::{ResourceChunk, Scanner, Signal, scan, scan_resource};
use std::vec::Vec;

/// Checks one input against all three signals; panics on a broken invariant.
pub fn run(data: &[u8]) {
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        check_signal(signal, data);
    }
}

fn check_signal(signal: Signal, data: &[u8]) {
    let streamed: Vec<_> = Scanner::new(signal, data).collect();
    match scan(signal, data) {
        Ok(request) => {
            assert!(
                streamed.iter().all(Result::is_ok),
                "scan accepted, Scanner failed"
            );
            let streamed: Vec<ResourceChunk<'_>> = streamed.into_iter().flatten().collect();
            let chunks: Vec<ResourceChunk<'_>> = request.chunks().collect();
            assert_eq!(chunks, streamed, "validated and re-walked chunks differ");
            assert_eq!(chunks.len(), request.resources());
            let items: u64 = chunks.iter().map(|c| u64::from(c.items())).sum();
            assert_eq!(items, request.items());
            for chunk in &chunks {
                check_chunk(signal, data, chunk);
            }
            check_reframed(signal, &chunks);
        }
        Err(error) => {
            // The iterator yields the chunks before the error, then the same error, then stops.
            let last = streamed.last().expect("an error must be yielded");
            assert_eq!(last.as_ref().err(), Some(&error));
            assert!(streamed[..streamed.len() - 1].iter().all(Result::is_ok));
            assert!(error.offset() <= data.len(), "error offset past the input");
            let text = std::format!("{error}");
            assert!(text.starts_with("at byte "), "{text}");
        }
    }
}

/// `inner` is `data[offset..offset + inner.len()]` (same memory, not just equal bytes).
fn assert_within(data: &[u8], inner: &[u8], offset: usize) {
    let at = data
        .get(offset..offset + inner.len())
        .expect("slice outside the input");
    assert!(core::ptr::eq(at, inner), "slice not at its offset");
}

/// The fields of a message tile its bytes exactly, in order.
fn assert_fields_tile(
    data: &[u8],
    bytes: &[u8],
    offset: usize,
    fields: crate::wire::scan::Fields<'_>,
) {
    let mut next = offset;
    for field in fields {
        assert_eq!(field.offset, next, "fields leave a gap");
        assert_within(data, field.raw, field.offset);
        let value_at = field.offset + field.raw.len() - field.value.len();
        assert_within(data, field.value, value_at);
        next += field.raw.len();
    }
    assert_eq!(
        next,
        offset + bytes.len(),
        "fields do not cover the message"
    );
}

fn check_chunk(signal: Signal, data: &[u8], chunk: &ResourceChunk<'_>) {
    assert_eq!(chunk.signal(), signal);
    assert_within(data, chunk.bytes(), chunk.offset());
    assert_fields_tile(data, chunk.bytes(), chunk.offset(), chunk.fields());

    let alone = scan_resource(signal, chunk.bytes()).expect("a validated chunk re-scans");
    assert_eq!(alone.items(), chunk.items());

    let mut items = 0u32;
    for scope in chunk.scopes() {
        assert_within(data, scope.bytes(), scope.offset());
        assert_fields_tile(data, scope.bytes(), scope.offset(), scope.fields());
        let mut in_scope = 0u32;
        for item in scope.items() {
            assert_within(data, item.bytes(), item.offset());
            if signal != Signal::Metrics {
                assert_eq!(item.count(), 1);
            }
            in_scope += item.count();
        }
        assert_eq!(in_scope, scope.item_count());
        items += in_scope;
        let _ = (scope.scope(), scope.schema_url());
    }
    assert_eq!(items, chunk.items());
    if let Some(resource) = chunk.resource() {
        assert!(chunk.bytes().as_ptr_range().contains(&resource.as_ptr()) || resource.is_empty());
    }
    let _ = chunk.schema_url();
}

/// Frames every chunk as field 1 of a fresh request, as the forwarder does; it must scan to
/// the same chunk bytes and counts.
fn check_reframed(signal: Signal, chunks: &[ResourceChunk<'_>]) {
    let mut request = Vec::new();
    for chunk in chunks {
        request.push(0x0a);
        let mut len = chunk.bytes().len() as u64;
        while len >= 0x80 {
            request.push((len as u8) | 0x80);
            len >>= 7;
        }
        request.push(len as u8);
        request.extend_from_slice(chunk.bytes());
    }
    let again = scan(signal, &request).expect("re-framed chunks scan");
    let again: Vec<_> = again.chunks().collect();
    assert_eq!(again.len(), chunks.len());
    for (a, b) in again.iter().zip(chunks) {
        assert_eq!((a.bytes(), a.items()), (b.bytes(), b.items()));
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    /// Fixed inputs replayed on every `cargo test`: valid and invalid, all framing corners.
    #[test]
    fn replays_fixed_inputs() {
        let inputs: &[&[u8]] = &[
            b"",
            &[0x0a, 0x00],
            &[0x0a, 0x00, 0x0a, 0x00],
            // ResourceSpans { scope_spans: [ScopeSpans { spans: [Span { ids }] }] }
            &[
                0x0a, 0x20, 0x12, 0x1e, 0x12, 0x1c, 0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                12, 13, 14, 15, 16, 0x12, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
            ],
            // truncated length, overlong varint, group, field 0, wire type 7
            &[0x0a, 0x05, 0x00],
            &[
                0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
            ],
            &[0x0b, 0x0c],
            &[0x00],
            &[0x0f],
            // unknown fields of every valid wire type at the request level
            &[
                0x10, 0x01, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0x01, 0xff, 0x2d, 0, 0, 0, 0,
            ],
            // deeply nested bytes that are not a valid request
            &[0x0a; 64],
            &[0x12; 64],
            &[0xff; 16],
        ];
        for input in inputs {
            run(input);
        }
        let one_span = crate::wire::scan::scan_traces(inputs[3]).expect("valid");
        assert_eq!((one_span.resources(), one_span.items()), (1, 1));
    }
}
