//! The partial-success error path: keep the valid items of a request the scanner refused.
//!
//! Only reached after [`scan`](crate::wire::scan::scan) failed, so it may allocate. The
//! request's framing is walked leniently (tags and lengths only); each `Resource*` message is
//! validated alone with [`scan_resource`]. In one that fails:
//!
//! - its resource-level fields (all but field 2) are validated as a record of their own;
//!   invalid -> every item under it is rejected;
//! - each scope-level message's own fields likewise; invalid -> every item of that scope;
//! - each item alone, inside a minimal record (`field 2 { field 2 { item } }`, so it sits at
//!   the same nesting level as in the request); invalid -> that item.
//!
//! The valid parts are re-assembled into a new `Resource*` message (resource fields, then each
//! scope with its valid items). If the request's own framing is broken there is no telling
//! where its messages start, and the whole request is invalid. Rejected items are counted as
//! the scanner counts them (data points for metrics); inside bytes whose framing is broken,
//! what can still be delimited is counted, and at least one item.
#![forbid(unsafe_code)]

use super::raw::{RawFields, lenient_fields, lenient_len_fields};
use crate::signal::Signal;
use crate::wire::encode::len_field_len;
use crate::wire::fields::{WT_LEN, data, request, resource_items, scope_items};
use crate::wire::scan::scan_resource;

/// What survived.
#[derive(Debug, Default)]
pub(super) struct Salvaged {
    /// Valid `Resource*` message bodies (validated again by the caller).
    pub(super) records: Vec<Vec<u8>>,
    /// Items rejected as invalid.
    pub(super) rejected: u64,
}

/// Salvages `request`; `None` if its outer framing is broken.
pub(super) fn salvage(signal: Signal, request: &[u8]) -> Option<Salvaged> {
    let mut out = Salvaged::default();
    for field in RawFields::new(request) {
        let field = field.ok()?;
        if field.number != request::RESOURCE_ITEMS {
            continue;
        }
        if field.wire != WT_LEN {
            return None;
        }
        salvage_resource(signal, field.value, &mut out);
    }
    Some(out)
}

fn salvage_resource(signal: Signal, body: &[u8], out: &mut Salvaged) {
    if scan_resource(signal, body).is_ok() {
        out.records.push(body.to_vec());
        return;
    }
    let Ok(fields) = RawFields::new(body).collect::<Result<Vec<_>, _>>() else {
        out.rejected += count_resource(signal, body).max(1);
        return;
    };
    let mut record = Vec::new();
    for f in fields
        .iter()
        .filter(|f| f.number != resource_items::SCOPE_ITEMS)
    {
        record.extend_from_slice(f.raw);
    }
    let scopes = fields
        .iter()
        .filter(|f| f.number == resource_items::SCOPE_ITEMS && f.wire == WT_LEN);
    if scan_resource(signal, &record).is_err() {
        out.rejected += scopes.map(|f| count_scope(signal, f.value)).sum::<u64>();
        return;
    }
    let mut kept_any = false;
    for scope in scopes {
        if let Some(kept) = salvage_scope(signal, scope.value, out) {
            put_len_field(&mut record, resource_items::SCOPE_ITEMS, &kept);
            kept_any = true;
        }
    }
    if kept_any {
        out.records.push(record);
    }
}

/// The valid part of one scope-level message body, if any item in it is valid.
fn salvage_scope(signal: Signal, body: &[u8], out: &mut Salvaged) -> Option<Vec<u8>> {
    let Ok(fields) = RawFields::new(body).collect::<Result<Vec<_>, _>>() else {
        out.rejected += count_scope(signal, body).max(1);
        return None;
    };
    let mut kept = Vec::new();
    for f in fields.iter().filter(|f| f.number != scope_items::ITEMS) {
        kept.extend_from_slice(f.raw);
    }
    let items = fields.iter().filter(|f| f.number == scope_items::ITEMS);
    let mut probe = Vec::new();
    put_len_field(&mut probe, resource_items::SCOPE_ITEMS, &kept);
    if scan_resource(signal, &probe).is_err() {
        out.rejected += items
            .map(|f| count_item(signal, f.value, f.wire))
            .sum::<u64>();
        return None;
    }
    let mut any = false;
    for item in items {
        if item.wire == WT_LEN && item_is_valid(signal, item.value, &mut probe) {
            put_len_field(&mut kept, scope_items::ITEMS, item.value);
            any = true;
        } else {
            out.rejected += count_item(signal, item.value, item.wire);
        }
    }
    any.then_some(kept)
}

/// Validates one item alone, at its nesting level, using `probe` as scratch.
fn item_is_valid(signal: Signal, item: &[u8], probe: &mut Vec<u8>) -> bool {
    probe.clear();
    let scope_len = len_field_len(scope_items::ITEMS, item.len());
    put_header(probe, resource_items::SCOPE_ITEMS, scope_len);
    put_len_field(probe, scope_items::ITEMS, item);
    scan_resource(signal, probe).is_ok()
}

fn count_resource(signal: Signal, body: &[u8]) -> u64 {
    lenient_len_fields(body, resource_items::SCOPE_ITEMS)
        .map(|scope| count_scope(signal, scope))
        .sum()
}

fn count_scope(signal: Signal, body: &[u8]) -> u64 {
    lenient_len_fields(body, scope_items::ITEMS)
        .map(|item| count_item(signal, item, WT_LEN))
        .sum()
}

/// Items an item-level field counts for: 1 for spans and log records; for a metric its data
/// points as far as they can be delimited (a metric whose framing is broken counts 1).
fn count_item(signal: Signal, item: &[u8], wire: u8) -> u64 {
    match signal {
        Signal::Traces | Signal::Logs => 1,
        Signal::Metrics if wire != WT_LEN => 1,
        Signal::Metrics => {
            if RawFields::new(item).any(|f| f.is_err()) {
                return 1;
            }
            // Gauge 5, Sum 7, Histogram 9, ExponentialHistogram 10, Summary 11.
            lenient_fields(item)
                .filter(|f| matches!(f.number, 5 | 7 | 9 | 10 | 11) && f.wire == WT_LEN)
                .map(|f| lenient_len_fields(f.value, data::DATA_POINTS).count() as u64)
                .sum()
        }
    }
}

/// Appends the tag and length of a `LEN` field.
fn put_header(out: &mut Vec<u8>, field: u32, len: usize) {
    put_varint(out, (u64::from(field) << 3) | u64::from(WT_LEN));
    put_varint(out, len as u64);
}

/// Appends a whole `LEN` field.
fn put_len_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    put_header(out, field, body.len());
    out.extend_from_slice(body);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::super::raw::varint;
    use super::*;

    #[test]
    fn broken_outer_framing_is_none() {
        // Field 1, length 5, only one byte follows.
        assert!(salvage(Signal::Traces, &[0x0a, 0x05, 0x00]).is_none());
        // Group wire type at the top.
        assert!(salvage(Signal::Traces, &[0x0b]).is_none());
    }

    #[test]
    fn broken_resource_counts_at_least_one() {
        // Resource field whose body is a truncated varint.
        let s = salvage(Signal::Logs, &[0x0a, 0x01, 0x80]).unwrap();
        assert!(s.records.is_empty());
        assert_eq!(s.rejected, 1);
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(varint(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
    }
}
