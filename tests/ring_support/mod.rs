//! Shared helper of the pipeline tests (included with `#[path]`): spans encoded straight into
//! a traces ring, the way the receivers and the C ABI put them there.
#![allow(dead_code)]

use otlp_arrow::ring::{Ring, WriteError};
use otlp_arrow::signal::Signal;
use otlp_arrow::wire::encode::{
    AnyValue, Encode, KeyValue, Part, Resource, ResourceSpans, Scope, Span, SpanKind,
};

/// Writes spans `first..first + n` into `ring`, `per` per record (0: one record without
/// spans), and hands each record's bytes to `seen` before committing it.
///
/// Span `k` has span id `k + 1` (big endian, so ids sort like indexes), trace id `[7; 16]`,
/// name `op`, times `k..k + 1` and `attrs`; every record has resource `service.name = tag` and
/// scope `tag`.
pub(crate) fn write_spans(
    ring: &Ring,
    first: u64,
    n: u64,
    per: u64,
    tag: &'static str,
    attrs: &[KeyValue<'_>],
    mut seen: impl FnMut(&[u8]),
) -> Result<(), WriteError> {
    let res = [KeyValue::new("service.name", AnyValue::String(tag))];
    let mut i = first;
    while i < first + n || per == 0 {
        let spans: Vec<Span<'_>> = (i..(i + per).min(first + n))
            .map(|k| Span {
                trace_id: [7; 16],
                span_id: (k + 1).to_be_bytes(),
                name: "op",
                kind: SpanKind::Internal,
                start_time_unix_nano: k,
                end_time_unix_nano: k + 1,
                attributes: attrs,
                ..Span::default()
            })
            .collect();
        let record = ResourceSpans {
            resource: Part::View(Resource {
                attributes: &res[..],
                dropped_attributes_count: 0,
            }),
            scope: Part::View(Scope {
                name: tag,
                ..Scope::default()
            }),
            spans: &spans,
            ..ResourceSpans::default()
        };
        let mut claim = ring
            .producer()
            .try_claim(Signal::Traces.record_kind(), record.encoded_len())?;
        record.encode_exact(claim.payload_mut()).unwrap();
        seen(claim.payload_mut());
        claim.commit();
        i += spans.len() as u64;
        if per == 0 {
            break;
        }
    }
    Ok(())
}
