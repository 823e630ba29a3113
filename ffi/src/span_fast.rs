//! The hot path of `otlp_arrow_record_span`: a span with `invalid_utf8 = "reject"`, no events,
//! no links, and only string, int, double and bool attributes (nearly every span), written
//! straight into its ring slot with plain stores.
//!
//! 1. [`plan`] checks what the record needs (enum numbers, pointers, lengths, the size budget,
//!    the UTF-8 of the span's own strings, the resource and scope ids) and, in the same walk
//!    over the attributes, writes their `KeyValue` entries into a stack buffer of
//!    [`SCRATCH_BYTES`] (so the attributes' C memory is read once, and the record's exact
//!    length is known before anything is claimed). It *refuses nothing*: anything it does
//!    not take (a NULL pointer, an unknown or nested value type, attributes larger than the
//!    buffer, an unknown id...) makes it return `None`, and the caller takes the general path
//!    ([`crate::record`]'s `check_span` and the crate's encoder), which finds and reports the
//!    error exactly as for every other record, or encodes the unusual span. So every error
//!    message and its order are the general path's.
//! 2. Attribute keys and string values are checked as UTF-8 while they are copied: the
//!    copied words are OR-ed together, and only if a byte is not ASCII are the copied
//!    strings checked with `from_utf8` ([`first_invalid_utf8`]); an invalid one fails the
//!    call naming the field, before anything is claimed. Each string is read once.
//! 3. [`write`] claims a slot of exactly the planned length and [`encode`] writes the record
//!    front to back through a raw pointer: the registered resource and scope fields (framed
//!    once at registration, [`Entry::field`]), the span's fields, the buffered entries (one
//!    `memcpy`), the tail.
//!
//! Why not the crate's bounds-checked `Writer`: through it the same span cost ~2,000
//! instructions (a bounds check and a position store per field, the entry shape re-derived
//! per attribute, the attribute walk done twice in full); here it is a few stores per field.
//!
//! The bytes are exactly those of the general encoder (`ResourceSpans` with pre-encoded
//! resource and scope over [`crate::strict`]'s views): the layout below follows
//! `otlp_arrow::wire::encode` field for field, and tests (one of them a proptest) compare the
//! two on every value type and on lengths around each varint boundary.
//!
//! Soundness: every length and scalar the record is sized and written from is read once, by
//! [`plan`] (the attributes are copied straight into the buffer, each entry only after its
//! length was checked against the room left there, and it is that copy that is checked as
//! UTF-8 and committed), so the slot's stores fill exactly the bytes planned for them
//! whatever the caller does to its memory meanwhile. The span's own three strings are
//! checked by `plan` and copied by `encode` from the caller's memory, as the general path
//! does (the C contract says they do not change during the call).

use core::mem::MaybeUninit;
use core::ptr;

use core_crate::ring::{Claim, WriteError};
use core_crate::signal::Signal;
use core_crate::wire::encode::{encode_key_value, key_value_len, varint_len as general_varint_len};

use crate::check::{
    Budget, HIGH_BITS, MAX_NODES, Utf8, ascii_bits, check_value, is_utf8, value_type,
};
use crate::library::Inner;
use crate::registry::{Entry, Registry};
use crate::status::Error;
use crate::strict;
use crate::types::{otlp_arrow_attribute, otlp_arrow_span, otlp_arrow_str};

// One-byte tags (field number << 3 | wire type) of every field the hot path writes.
const RECORD_SCOPE_SPANS: u8 = 0x12; // ResourceSpans.scope_spans (2, LEN)
const SCOPE_SPANS: u8 = 0x12; // ScopeSpans.spans (2, LEN)
const TRACE_ID: u8 = 0x0a; // Span.trace_id (1, LEN)
const SPAN_ID: u8 = 0x12; // Span.span_id (2, LEN)
const TRACE_STATE: u8 = 0x1a; // Span.trace_state (3, LEN)
const PARENT_SPAN_ID: u8 = 0x22; // Span.parent_span_id (4, LEN)
const NAME: u8 = 0x2a; // Span.name (5, LEN)
const KIND: u8 = 0x30; // Span.kind (6, VARINT)
const START: u8 = 0x39; // Span.start_time_unix_nano (7, I64)
const END: u8 = 0x41; // Span.end_time_unix_nano (8, I64)
const ATTRIBUTE: u8 = 0x4a; // Span.attributes (9, LEN)
const ATTRIBUTES_FIELD: u32 = 9; // Span.attributes, for the crate's encoder
const DROPPED_ATTRIBUTES: u8 = 0x50; // Span.dropped_attributes_count (10, VARINT)
const DROPPED_EVENTS: u8 = 0x60; // Span.dropped_events_count (12, VARINT)
const DROPPED_LINKS: u8 = 0x70; // Span.dropped_links_count (14, VARINT)
const STATUS: u8 = 0x7a; // Span.status (15, LEN)
const FLAGS: [u8; 2] = [0x85, 0x01]; // Span.flags (16, I32): a two-byte tag
const STATUS_MESSAGE: u8 = 0x12; // Status.message (2, LEN)
const STATUS_CODE: u8 = 0x18; // Status.code (3, VARINT)
const KV_KEY: u8 = 0x0a; // KeyValue.key (1, LEN)
const KV_VALUE: u8 = 0x12; // KeyValue.value (2, LEN)
const STRING_VALUE: u8 = 0x0a; // AnyValue.string_value (1, LEN)
const BOOL_VALUE: u8 = 0x10; // AnyValue.bool_value (2, VARINT)
const INT_VALUE: u8 = 0x18; // AnyValue.int_value (3, VARINT)
const DOUBLE_VALUE: u8 = 0x21; // AnyValue.double_value (4, I64)

/// Bytes of attribute entries the hot path encodes on the stack; a span with more takes the
/// general path.
pub(crate) const SCRATCH_BYTES: usize = 4096;

/// Largest `SpanKind` and `StatusCode` numbers.
const MAX_KIND: u32 = 5;
const MAX_STATUS_CODE: u32 = 2;

/// Everything [`encode`] needs, read once by [`plan`].
struct Plan<'a> {
    resource: &'a Entry,
    scope: &'a Entry,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: [u8; 8],
    trace_state: &'a [u8],
    name: &'a [u8],
    kind: u8,
    start: u64,
    end: u64,
    /// The attributes' `KeyValue` entries (tags, lengths and all).
    entries: &'a [u8],
    /// The attribute strings' bytes OR-ed together (see [`copy_bits`]).
    bits: u64,
    dropped_attributes: u32,
    dropped_events: u32,
    dropped_links: u32,
    /// Whether any of the trace state, dropped counts, status and flags is set (see
    /// [`plan`]); when not, none of them is written.
    rare: bool,
    /// Status body length, `None` when the field is omitted.
    status_len: Option<usize>,
    status_code: u8,
    status_message: &'a [u8],
    flags: u32,
    span_len: usize,
    scope_body: usize,
    total: usize,
}

/// What [`record`] did. Small on purpose, and the crate's [`Error`] is built from it only
/// on failure ([`Refused::error`], cold): on the usual path a `Result` with the larger
/// `Error` was assembled through the stack in overlapping parts, and reading those back
/// waited for the record's stores to the ring (see `Inner::claim_now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Recorded and committed.
    Recorded,
    /// Not a span the hot path takes; nothing was done: take the general path.
    Declined,
    /// Refused; nothing was committed.
    Refused(Refused),
}

/// Why the hot path refused a span it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A copied key or string value is not UTF-8 (the field, as the general path names it).
    InvalidUtf8(&'static str),
    /// The ring refused a claim of this many bytes.
    Claim(WriteError, usize),
    /// A claimed slot of another length than planned (cannot happen).
    SlotLength,
}

impl Refused {
    /// The crate's error for this refusal.
    #[cold]
    #[inline(never)]
    pub(crate) fn error(self, lib: &Inner) -> Error {
        match self {
            Refused::InvalidUtf8(field) => Error::InvalidUtf8(field),
            Refused::Claim(e, len) => lib.claim_error(Signal::Traces, len, e),
            Refused::SlotLength => Error::Invalid("internal: slot length"),
        }
    }
}

/// Records `s` through the hot path, or returns [`Outcome::Declined`] (having done nothing)
/// if the span is not one it takes; the caller then takes the general path.
///
/// # Safety
/// `s` and everything it points to follow the [`crate::types`] contracts.
#[inline(always)]
pub(crate) unsafe fn record(lib: &Inner, s: &otlp_arrow_span) -> Outcome {
    // The policy first: each branch has its own plan, which stays in registers and locals
    // (handed to an out-of-line write, it had to be stored whole first: ~35 instructions).
    if lib.waits() {
        // SAFETY: forwarded to the caller.
        return unsafe { record_waiting(lib, s) };
    }
    // SAFETY: forwarded to the caller.
    unsafe { plan_and(lib, s, write) }
}

/// [`record`] with the `wait` full policy, out of line (see `Inner::claim_now`).
///
/// # Safety
/// As [`record`].
#[cold]
#[inline(never)]
unsafe fn record_waiting(lib: &Inner, s: &otlp_arrow_span) -> Outcome {
    // SAFETY: forwarded to the caller.
    unsafe { plan_and(lib, s, write_waiting) }
}

/// Plans `s` and, unless a copied string is not UTF-8, has `write` claim, write and commit
/// it.
///
/// # Safety
/// As [`record`].
#[inline(always)]
unsafe fn plan_and(
    lib: &Inner,
    s: &otlp_arrow_span,
    write: impl FnOnce(&Inner, &Plan<'_>) -> Outcome,
) -> Outcome {
    let mut scratch = MaybeUninit::<[u8; SCRATCH_BYTES]>::uninit();
    let max = lib.max_record_len(Signal::Traces);
    // SAFETY: forwarded to the caller.
    let Some(plan) = (unsafe { plan(s, max, &lib.resources, &lib.scopes, &mut scratch) }) else {
        return Outcome::Declined;
    };
    if plan.bits & HIGH_BITS != 0
        && let Err(field) = first_invalid_utf8(plan.entries)
    {
        return Outcome::Refused(Refused::InvalidUtf8(field));
    }
    write(lib, &plan)
}

/// Bytes of `v` as a varint: the crate's `varint_len` with the two-byte case (record and
/// span lengths, most ints) answered by a compare too.
#[inline(always)]
const fn varint_len(v: u64) -> usize {
    if v < 0x80 {
        1
    } else if v < 0x4000 {
        2
    } else {
        general_varint_len(v)
    }
}

/// The length of a length-delimited field with a one-byte tag and a `len`-byte body.
#[inline(always)]
const fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// [`field_len`], or 0 for an empty body (proto3 omits empty strings).
#[inline(always)]
const fn opt_field_len(len: usize) -> usize {
    if len == 0 { 0 } else { field_len(len) }
}

/// A varint field with a one-byte tag, omitted when 0.
#[inline(always)]
const fn opt_varint_len(v: u64) -> usize {
    if v == 0 { 0 } else { 1 + varint_len(v) }
}

/// A string of the span's own (name, trace state, status message): pointer, length, budget
/// and UTF-8, as [`crate::check::Budget::str`] checks it; `None` for anything it would
/// refuse.
///
/// # Safety
/// `s` follows the [`otlp_arrow_str`] contract.
#[inline(always)]
unsafe fn span_text<'a>(s: &otlp_arrow_str, bytes: &mut usize, max: usize) -> Option<&'a [u8]> {
    // SAFETY: forwarded to the caller.
    let b = unsafe { text(s, bytes, max) }?;
    is_utf8(b).then_some(b)
}

/// A string's bytes, counted in the budget; `None` for NULL with a length, or past `max`.
///
/// # Safety
/// `s` follows the [`otlp_arrow_str`] contract.
#[inline(always)]
unsafe fn text<'a>(s: &otlp_arrow_str, bytes: &mut usize, max: usize) -> Option<&'a [u8]> {
    let (p, len) = (s.ptr.cast::<u8>(), s.len);
    if len == 0 {
        return Some(&[]);
    }
    if p.is_null() {
        return None;
    }
    *bytes = bytes.saturating_add(len);
    if *bytes > max {
        return None;
    }
    // SAFETY: non-NULL, `len <= max <= isize::MAX` (just counted); the caller guarantees
    // `len` readable bytes for the call.
    Some(unsafe { core::slice::from_raw_parts(p, len) })
}

/// Checks the span and encodes its attributes into `scratch` (see the [module docs](self)).
///
/// # Safety
/// As [`record`].
#[inline(always)]
unsafe fn plan<'a>(
    s: &'a otlp_arrow_span,
    max_record_len: usize,
    resources: &'a Registry,
    scopes: &'a Registry,
    scratch: &'a mut MaybeUninit<[u8; SCRATCH_BYTES]>,
) -> Option<Plan<'a>> {
    // Every scalar read once, into a local: the lengths and the stores below use the same
    // values.
    let (kind, status_code, flags) = (s.kind, s.status_code, s.flags);
    let (start, end, parent) = (
        s.start_time_unix_nano,
        s.end_time_unix_nano,
        s.parent_span_id,
    );
    let dropped = (
        s.dropped_attributes_count,
        s.dropped_events_count,
        s.dropped_links_count,
    );
    if kind > MAX_KIND || status_code > MAX_STATUS_CODE {
        return None;
    }
    // As `Budget::new`: never above `isize::MAX`.
    let max = max_record_len.min(isize::MAX as usize);
    let mut bytes = 0usize;
    // SAFETY: (whole block) forwarded to the caller.
    let (name, trace_state, status_message) = unsafe {
        (
            span_text(&s.name, &mut bytes, max)?,
            span_text(&s.trace_state, &mut bytes, max)?,
            span_text(&s.status_message, &mut bytes, max)?,
        )
    };
    let (ap, n) = (s.attributes, s.attributes_len);
    let attrs: &[otlp_arrow_attribute] = if n == 0 {
        &[]
    } else {
        if ap.is_null() || n > MAX_NODES || !ap.is_aligned() {
            return None;
        }
        // SAFETY: non-NULL, aligned, `n * 40 <= 2^16 * 40`; the caller guarantees `n` valid
        // attributes for the call.
        unsafe { core::slice::from_raw_parts(ap, n) }
    };
    let first = scratch.as_mut_ptr().cast::<u8>();
    // SAFETY: `first` is the start of `SCRATCH_BYTES` writable bytes; the caller's contract
    // covers `attrs`.
    let (entries_end, bits) = unsafe { encode_attributes(first, attrs, SCRATCH_BYTES) }?;
    // SAFETY: `first..entries_end` is the prefix of the buffer that `encode_attributes`
    // wrote.
    let attrs_len = unsafe { entries_end.offset_from(first) } as usize;
    // The budget counts string bytes, which the entries hold and then some: refusing past
    // `max` on the entries' length is conservative (the general path then decides), and the
    // buffer bounds the sum.
    if bytes + attrs_len > max {
        return None;
    }
    // SAFETY: initialised by `encode_attributes`.
    let entries = unsafe { core::slice::from_raw_parts(first.cast_const(), attrs_len) };
    let resource = resources.get(s.resource_id).ok()?;
    let scope = scopes.get(s.scope_id).ok()?;
    // The fields most spans leave empty or zero, tested at once: with none of them set their
    // lengths and stores are skipped with one branch.
    let rare = (dropped.0 | dropped.1 | dropped.2 | flags | status_code) as usize
        | trace_state.len()
        | status_message.len()
        != 0;
    let status_len = (status_code != 0 || !status_message.is_empty())
        .then(|| opt_field_len(status_message.len()) + opt_varint_len(status_code.into()));
    let rare_len = if rare {
        opt_field_len(trace_state.len())
            + opt_varint_len(dropped.0.into())
            + opt_varint_len(dropped.1.into())
            + opt_varint_len(dropped.2.into())
            + status_len.map_or(0, field_len)
            + if flags != 0 { 6 } else { 0 }
    } else {
        0
    };
    let span_len = 28
        + if parent != [0; 8] { 10 } else { 0 }
        + opt_field_len(name.len())
        + opt_varint_len(kind.into())
        + if start != 0 { 9 } else { 0 }
        + if end != 0 { 9 } else { 0 }
        + entries.len()
        + rare_len;
    let scope_body = scope.field.len() + field_len(span_len) + scope.schema_url_field.len();
    let total = resource.field.len() + field_len(scope_body) + resource.schema_url_field.len();
    Some(Plan {
        resource,
        scope,
        trace_id: s.trace_id,
        span_id: s.span_id,
        parent_span_id: parent,
        trace_state,
        name,
        kind: kind as u8,
        start,
        end,
        entries,
        bits,
        dropped_attributes: dropped.0,
        dropped_events: dropped.1,
        dropped_links: dropped.2,
        rare,
        status_len,
        status_code: status_code as u8,
        status_message,
        flags,
        span_len,
        scope_body,
        total,
    })
}

/// Claim, write, commit (see the [module docs](self)), with the `reject` full policy.
#[inline(always)]
fn write(lib: &Inner, p: &Plan<'_>) -> Outcome {
    // See `Inner::claim_now` for why the claim is taken this way.
    match lib.claim_now(Signal::Traces, p.total) {
        Ok(claim) => fill(claim, p),
        Err(e) => Outcome::Refused(Refused::Claim(e, p.total)),
    }
}

/// [`write`] with the `wait` full policy.
#[inline(always)]
fn write_waiting(lib: &Inner, p: &Plan<'_>) -> Outcome {
    match lib.claim_waiting(Signal::Traces, p.total) {
        Ok(claim) => fill(claim, p),
        Err(e) => Outcome::Refused(Refused::Claim(e, p.total)),
    }
}

/// Writes the planned record into `claim` and commits it.
#[inline(always)]
fn fill(mut claim: Claim<'_>, p: &Plan<'_>) -> Outcome {
    if !encode(p, claim.payload_mut()) {
        return Outcome::Refused(Refused::SlotLength);
    }
    claim.commit();
    Outcome::Recorded
}

/// Writes the planned record into `slot`, which must be exactly `p.total` bytes long (a
/// claimed slot is; anything else is refused, nothing written: `false`).
#[inline(always)]
fn encode(p: &Plan<'_>, slot: &mut [u8]) -> bool {
    if slot.len() != p.total {
        return false;
    }
    let start = slot.as_mut_ptr();
    // SAFETY: (whole block) `start` is a `p.total`-byte slot, and the stores write exactly
    // the bytes `plan` counted, from the very values it counted them from. The borrowed
    // strings are valid for the call (`plan` checked them).
    unsafe {
        let mut o = start;
        // `ResourceSpans.resource` (field 1), framed at registration.
        o = put_bytes(o, &p.resource.field);
        o = put(o, [RECORD_SCOPE_SPANS]);
        o = put_varint(o, p.scope_body as u64);
        // `ScopeSpans.scope` (field 1), framed at registration.
        o = put_bytes(o, &p.scope.field);
        o = put(o, [SCOPE_SPANS]);
        o = put_varint(o, p.span_len as u64);
        let span_start = o;
        o = put(o, [TRACE_ID, 16]);
        o = put(o, p.trace_id);
        o = put(o, [SPAN_ID, 8]);
        o = put(o, p.span_id);
        if p.rare {
            o = put_opt_len_field(o, TRACE_STATE, p.trace_state);
        }
        if p.parent_span_id != [0; 8] {
            o = put(o, [PARENT_SPAN_ID, 8]);
            o = put(o, p.parent_span_id);
        }
        o = put_opt_len_field(o, NAME, p.name);
        if p.kind != 0 {
            o = put(o, [KIND, p.kind]);
        }
        if p.start != 0 {
            o = put(o, [START]);
            o = put(o, p.start.to_le_bytes());
        }
        if p.end != 0 {
            o = put(o, [END]);
            o = put(o, p.end.to_le_bytes());
        }
        copy(o, p.entries.as_ptr(), p.entries.len());
        o = o.add(p.entries.len());
        if p.rare {
            o = put_opt_varint(o, DROPPED_ATTRIBUTES, p.dropped_attributes.into());
            o = put_opt_varint(o, DROPPED_EVENTS, p.dropped_events.into());
            o = put_opt_varint(o, DROPPED_LINKS, p.dropped_links.into());
            if let Some(len) = p.status_len {
                o = put(o, [STATUS]);
                o = put_varint(o, len as u64);
                o = put_opt_len_field(o, STATUS_MESSAGE, p.status_message);
                if p.status_code != 0 {
                    o = put(o, [STATUS_CODE, p.status_code]);
                }
            }
            if p.flags != 0 {
                o = put(o, FLAGS);
                o = put(o, p.flags.to_le_bytes());
            }
        }
        debug_assert_eq!(o.offset_from(span_start) as usize, p.span_len);
        // `ScopeSpans.schema_url` and `ResourceSpans.schema_url` (field 3), framed at
        // registration (empty when the URL is, as it usually is).
        o = put_opt_bytes(o, &p.scope.schema_url_field);
        o = put_opt_bytes(o, &p.resource.schema_url_field);
        debug_assert_eq!(o.offset_from(start) as usize, p.total);
    }
    true
}

/// Checks the attributes and writes their entries at `o`, within `room` bytes; returns the
/// end and the copied string bytes OR-ed together (see [`copy_bits`]), or `None` for an
/// attribute the hot path does not take (a NULL pointer with a length, a value that is not a
/// string, int, double or bool) or entries that do not fit `room`. Nothing is written past
/// `o + room`.
///
/// Out of line on purpose: in its own function the loop keeps its state in registers (in
/// line, the caller's many live values made it spill; ~40 instructions per span).
///
/// # Safety
/// `o..o + room` is writable; `attrs` follow the [`crate::types`] contracts.
#[inline(never)]
unsafe fn encode_attributes(
    mut o: *mut u8,
    attrs: &[otlp_arrow_attribute],
    room: usize,
) -> Option<(*mut u8, u64)> {
    let mut bits = 0u64;
    let end = o as usize + room;
    // While `o` is at or below this, the largest common-shape entry (2 + 127 bytes) fits:
    // one compare per attribute instead of one per entry length.
    let limit = end.saturating_sub(2 + 127);
    for a in attrs {
        let (kp, kl) = (a.key.ptr.cast::<u8>(), a.key.len);
        let d = &a.value.data;
        let t = a.value.type_;
        // The common shape: a key of 1..=127 bytes and an entry under 128 bytes, so every
        // length in it is one byte; sized with a few additions, written with plain stores.
        // (The compiler turns the four type tests into a jump table; testing strings on
        // their own first avoids it but measured no fewer instructions per span.)
        if kl.wrapping_sub(1) < 127 && !kp.is_null() && o as usize <= limit {
            let key_part = kl + 2;
            // SAFETY: (whole block) the tag names the union member read; a string is read
            // only once its pointer is non-NULL and its length is below 128, and the caller
            // guarantees it that many readable bytes. Each entry is
            // written only where `limit` leaves room for any entry of this shape.
            unsafe {
                let n = if t == value_type::STRING {
                    let (vp, vl) = (d.string_value.ptr.cast::<u8>(), d.string_value.len);
                    let body = key_part.wrapping_add(4).wrapping_add(vl);
                    // A NULL pointer (with length 0, allowed) is left to `other_entry`:
                    // one test here instead of two.
                    if vl < 128 && body < 128 && !vp.is_null() {
                        let q = put(o, [ATTRIBUTE, body as u8, KV_KEY, kl as u8]);
                        let kb = copy_bits(q, kp, kl);
                        let q = put(
                            q.add(kl),
                            [KV_VALUE, (2 + vl) as u8, STRING_VALUE, vl as u8],
                        );
                        bits |= kb | copy_bits(q, vp, vl);
                        2 + body
                    } else {
                        0
                    }
                } else if t == value_type::INT {
                    let v = d.int_value as u64;
                    let vlen = varint_len(v);
                    let body = key_part + 3 + vlen;
                    if body < 128 {
                        let q = put(o, [ATTRIBUTE, body as u8, KV_KEY, kl as u8]);
                        bits |= copy_bits(q, kp, kl);
                        let q = put(q.add(kl), [KV_VALUE, (1 + vlen) as u8, INT_VALUE]);
                        put_varint(q, v);
                        2 + body
                    } else {
                        0
                    }
                } else if t == value_type::DOUBLE {
                    let body = key_part + 11;
                    if body < 128 {
                        let q = put(o, [ATTRIBUTE, body as u8, KV_KEY, kl as u8]);
                        bits |= copy_bits(q, kp, kl);
                        let q = put(q.add(kl), [KV_VALUE, 9, DOUBLE_VALUE]);
                        put(q, d.double_value.to_bits().to_le_bytes());
                        2 + body
                    } else {
                        0
                    }
                } else if t == value_type::BOOL {
                    let body = key_part + 4;
                    if body < 128 {
                        let q = put(o, [ATTRIBUTE, body as u8, KV_KEY, kl as u8]);
                        bits |= copy_bits(q, kp, kl);
                        let b = u8::from(d.bool_value != 0);
                        put(q.add(kl), [KV_VALUE, 2, BOOL_VALUE, b]);
                        2 + body
                    } else {
                        0
                    }
                } else {
                    0
                };
                if n != 0 {
                    o = o.add(n);
                    continue;
                }
            }
        }
        // Anything else (an empty or long key, a long value, a NULL pointer, another value
        // type): out of line.
        // `o` never passes `end`: every entry was written within it.
        let room = end - o as usize;
        // SAFETY: forwarded to the caller; `o..o + room` is writable.
        let n = unsafe { other_entry(o, a, room, &mut bits) }?;
        // SAFETY: `other_entry` wrote `n <= room` bytes at `o`.
        o = unsafe { o.add(n) };
    }
    Some((o, bits))
}

/// An entry that is not of the common shape (out of line: rare): an empty key, a length of
/// two bytes or more somewhere, or one that does not fit `room`; or an attribute the hot
/// path does not take. Returns the bytes written and ORs the copied strings' bytes into
/// `bits`, or `None` (nothing written) for a NULL pointer with a length, a value that is not
/// a string, int, double or bool, or an entry that does not fit `room`.
///
/// # Safety
/// As [`encode_attributes`], for one attribute.
#[inline(never)]
unsafe fn other_entry(
    o: *mut u8,
    a: &otlp_arrow_attribute,
    room: usize,
    bits: &mut u64,
) -> Option<usize> {
    // Every field read once, into a local: the length and the stores use the same values.
    let (kp, kl) = (a.key.ptr.cast::<u8>(), a.key.len);
    let t = a.value.type_;
    if kl != 0 && kp.is_null() {
        return None;
    }
    /// The `AnyValue` member: its tag and what follows the tag.
    enum Member {
        Str(*const u8, usize),
        Varint(u8, u64),
        Double(u64),
    }
    let d = &a.value.data;
    // SAFETY: (every arm) the tag names the union member read; the last forwards the
    // caller's contract, with the key's pointer checked just above.
    let m = unsafe {
        match t {
            value_type::STRING => {
                let v = d.string_value;
                if v.len != 0 && v.ptr.is_null() {
                    return None;
                }
                Member::Str(v.ptr.cast::<u8>(), v.len)
            }
            value_type::INT => Member::Varint(INT_VALUE, d.int_value as u64),
            value_type::DOUBLE => Member::Double(d.double_value.to_bits()),
            value_type::BOOL => Member::Varint(BOOL_VALUE, u64::from(d.bool_value != 0)),
            _ => return encoded_entry(o, a, kp, kl, room),
        }
    };
    let vl = match m {
        Member::Str(_, vl) => vl,
        _ => 0,
    };
    // Bounded by the room (a few KiB) first, so the arithmetic below cannot overflow.
    if kl > room || vl > room {
        return None;
    }
    let member_len = match m {
        Member::Str(_, vl) => field_len(vl),
        Member::Varint(_, v) => 1 + varint_len(v),
        Member::Double(_) => 9,
    };
    let body = opt_field_len(kl) + field_len(member_len);
    let n = field_len(body);
    if n > room {
        return None;
    }
    // SAFETY: (whole block) `n <= room` bytes are written, exactly as sized above; the
    // strings' pointers are non-NULL (or their lengths 0) and their lengths bounded by the
    // room, and the caller guarantees that many readable bytes.
    unsafe {
        let mut p = put(o, [ATTRIBUTE]);
        p = put_varint(p, body as u64);
        if kl != 0 {
            let key = core::slice::from_raw_parts(kp, kl);
            p = put_len_field(p, KV_KEY, key);
            *bits |= ascii_bits(key);
        }
        p = put(p, [KV_VALUE]);
        p = put_varint(p, member_len as u64);
        match m {
            Member::Str(vp, vl) => {
                let v: &[u8] = if vl == 0 {
                    &[]
                } else {
                    core::slice::from_raw_parts(vp, vl)
                };
                p = put_len_field(p, STRING_VALUE, v);
                *bits |= ascii_bits(v);
            }
            Member::Varint(tag, v) => {
                p = put(p, [tag]);
                p = put_varint(p, v);
            }
            Member::Double(bits) => {
                p = put(p, [DOUBLE_VALUE]);
                p = put(p, bits.to_le_bytes());
            }
        }
        debug_assert_eq!(p.offset_from(o) as usize, n);
    }
    Some(n)
}

/// An attribute whose value is none of the four above (the empty value, bytes, an array, a
/// key-value list): its key and value tree checked whole, as the general path checks them
/// ([`check_value`], UTF-8 included), then its entry written by the crate's encoder into
/// the room (zeroed first: the encoder writes into initialised bytes). `None` (nothing
/// committed, the general path decides) for anything the checks refuse or that does not fit.
///
/// # Safety
/// As [`other_entry`]; `kp` is non-NULL or `kl == 0`, read from `a` by the caller.
#[cold]
#[inline(never)]
unsafe fn encoded_entry(
    o: *mut u8,
    a: &otlp_arrow_attribute,
    kp: *const u8,
    kl: usize,
    room: usize,
) -> Option<usize> {
    if kl > room {
        return None;
    }
    let key: &[u8] = if kl == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, `kl` bounded by the room; the caller guarantees the bytes.
        unsafe { core::slice::from_raw_parts(kp, kl) }
    };
    let key = core::str::from_utf8(key).ok()?;
    // The tree's strings and bytes must fit the room too.
    let mut budget = Budget::new(room, Utf8::Reject);
    // SAFETY: forwarded to the caller.
    unsafe { check_value(&a.value, 0, &mut budget) }.ok()?;
    // SAFETY: `check_value` accepted this very value with `Utf8::Reject` just above.
    let value = unsafe { strict::value(&a.value) };
    let n = key_value_len(ATTRIBUTES_FIELD, key, value);
    if n > room {
        return None;
    }
    // SAFETY: `o..o + n` is within the writable room; zeroed, it is an initialised `[u8]`
    // that nothing else refers to while the encoder writes it.
    let out = unsafe {
        ptr::write_bytes(o, 0, n);
        core::slice::from_raw_parts_mut(o, n)
    };
    (encode_key_value(ATTRIBUTES_FIELD, key, value, out) == Ok(n)).then_some(n)
}

/// Checks the UTF-8 of the keys and string values in the encoded `entries` (what will be
/// committed, not the C memory they were copied from), in order, key before value: `Err`
/// names the first invalid field. Only called when a copied byte was not ASCII.
#[cold]
#[inline(never)]
fn first_invalid_utf8(entries: &[u8]) -> Result<(), &'static str> {
    let mut rest = entries;
    while !rest.is_empty() {
        // An entry: its tag, length and body (written by `encode_attributes`, so well
        // formed; anything else is refused).
        let (body, next) = field(rest).ok_or("attribute key")?;
        rest = next;
        let mut body = body;
        if body.first() == Some(&KV_KEY) {
            let (key, after) = field(body).ok_or("attribute key")?;
            if core::str::from_utf8(key).is_err() {
                return Err("attribute key");
            }
            body = after;
        }
        let (member, _) = field(body).ok_or("string value")?;
        if member.first() == Some(&STRING_VALUE) {
            let (v, _) = field(member).ok_or("string value")?;
            if core::str::from_utf8(v).is_err() {
                return Err("string value");
            }
        }
    }
    Ok(())
}

/// Splits a length-delimited field with a one-byte tag off the front of `b`: its body and
/// what follows it.
fn field(b: &[u8]) -> Option<(&[u8], &[u8])> {
    // The tag's byte, then at most five length bytes (the buffer is a few KiB).
    let mut len = 0usize;
    for (i, shift) in (1..6).zip((0..35).step_by(7)) {
        let byte = *b.get(i)?;
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            let rest = b.get(i + 1..)?;
            return (len <= rest.len()).then(|| rest.split_at(len));
        }
    }
    None
}

/// Stores `b` at `o`; returns the end.
///
/// # Safety
/// `o` has room for `N` bytes.
#[inline(always)]
unsafe fn put<const N: usize>(o: *mut u8, b: [u8; N]) -> *mut u8 {
    // SAFETY: forwarded to the caller; unaligned stores.
    unsafe {
        ptr::write_unaligned(o.cast::<[u8; N]>(), b);
        o.add(N)
    }
}

/// Stores `v` as a varint at `o`; returns the end.
///
/// # Safety
/// `o` has room for `varint_len(v)` bytes.
#[inline(always)]
unsafe fn put_varint(mut o: *mut u8, mut v: u64) -> *mut u8 {
    // SAFETY: forwarded to the caller: one store per byte of the varint.
    unsafe {
        // One and two bytes (nearly every length and count) without the loop.
        if v < 0x80 {
            *o = v as u8;
            return o.add(1);
        }
        if v < 0x4000 {
            put(o, [(v as u8) | 0x80, (v >> 7) as u8]);
            return o.add(2);
        }
        while v >= 0x80 {
            *o = (v as u8) | 0x80;
            o = o.add(1);
            v >>= 7;
        }
        *o = v as u8;
        o.add(1)
    }
}

/// A varint field with a one-byte tag, nothing when `v == 0`.
///
/// # Safety
/// `o` has room for `opt_varint_len(v)` bytes.
#[inline(always)]
unsafe fn put_opt_varint(o: *mut u8, tag: u8, v: u64) -> *mut u8 {
    if v == 0 {
        return o;
    }
    // SAFETY: forwarded to the caller.
    unsafe { put_varint(put(o, [tag]), v) }
}

/// Copies `b` to `o`; returns the end.
///
/// # Safety
/// `o` has room for `b.len()` bytes.
#[inline(always)]
unsafe fn put_bytes(o: *mut u8, b: &[u8]) -> *mut u8 {
    // SAFETY: forwarded to the caller.
    unsafe {
        copy(o, b.as_ptr(), b.len());
        o.add(b.len())
    }
}

/// [`put_bytes`], tested for empty first (a schema URL field usually is).
///
/// # Safety
/// `o` has room for `b.len()` bytes.
#[inline(always)]
unsafe fn put_opt_bytes(o: *mut u8, b: &[u8]) -> *mut u8 {
    if b.is_empty() {
        return o;
    }
    // SAFETY: forwarded to the caller.
    unsafe { put_bytes(o, b) }
}

/// A length-delimited field with a one-byte tag: tag, length, bytes.
///
/// # Safety
/// `o` has room for `field_len(b.len())` bytes.
#[inline(always)]
unsafe fn put_len_field(o: *mut u8, tag: u8, b: &[u8]) -> *mut u8 {
    // SAFETY: forwarded to the caller.
    unsafe {
        let o = put_varint(put(o, [tag]), b.len() as u64);
        copy(o, b.as_ptr(), b.len());
        o.add(b.len())
    }
}

/// [`put_len_field`], nothing for empty bytes.
///
/// # Safety
/// `o` has room for `opt_field_len(b.len())` bytes.
#[inline(always)]
unsafe fn put_opt_len_field(o: *mut u8, tag: u8, b: &[u8]) -> *mut u8 {
    if b.is_empty() {
        return o;
    }
    // SAFETY: forwarded to the caller.
    unsafe { put_len_field(o, tag, b) }
}

/// Copies `n` bytes from `src` to `dst` (not overlapping): up to 64 bytes with a few
/// overlapping fixed-size moves, longer with `memcpy`.
///
/// # Safety
/// `src` has `n` readable bytes, `dst` room for `n`.
#[inline(always)]
unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: forwarded to the caller: every load and store is within the `n` bytes.
    unsafe {
        if n <= 32 {
            copy_bits(dst, src, n);
        } else if n <= 64 {
            // In 16-byte words: as `[u8; 32]` values the two halves went through the stack.
            let a = ptr::read_unaligned(src.cast::<u128>());
            let b = ptr::read_unaligned(src.add(16).cast::<u128>());
            let c = ptr::read_unaligned(src.add(n - 32).cast::<u128>());
            let d = ptr::read_unaligned(src.add(n - 16).cast::<u128>());
            ptr::write_unaligned(dst.cast::<u128>(), a);
            ptr::write_unaligned(dst.add(16).cast::<u128>(), b);
            ptr::write_unaligned(dst.add(n - 32).cast::<u128>(), c);
            ptr::write_unaligned(dst.add(n - 16).cast::<u128>(), d);
        } else {
            ptr::copy_nonoverlapping(src, dst, n);
        }
    }
}

/// Copies `n` bytes (short ones with overlapping moves, longer with a 16-byte loop) and
/// returns them
/// OR-ed together into a word: no bit of [`HIGH_BITS`] set iff every byte is ASCII. The
/// word is made from the registers that are stored, so it describes the bytes written; the
/// test costs one OR per load.
///
/// # Safety
/// `src` has `n` readable bytes, `dst` room for `n`; they do not overlap.
#[inline(always)]
unsafe fn copy_bits(dst: *mut u8, src: *const u8, n: usize) -> u64 {
    // SAFETY: forwarded to the caller; every access below is within `[0, n)` of its pointer
    // (the two moves of a size class overlap in the middle).
    unsafe {
        // Keys and short values are mostly 8..=16 bytes: that class is tested first.
        if n >= 8 {
            if n <= 16 {
                let a = ptr::read_unaligned(src.cast::<u64>());
                let b = ptr::read_unaligned(src.add(n - 8).cast::<u64>());
                ptr::write_unaligned(dst.cast::<u64>(), a);
                ptr::write_unaligned(dst.add(n - 8).cast::<u64>(), b);
                a | b
            } else if n <= 32 {
                let a = ptr::read_unaligned(src.cast::<u128>());
                let b = ptr::read_unaligned(src.add(n - 16).cast::<u128>());
                ptr::write_unaligned(dst.cast::<u128>(), a);
                ptr::write_unaligned(dst.add(n - 16).cast::<u128>(), b);
                let w = a | b;
                (w as u64) | ((w >> 64) as u64)
            } else {
                let mut acc = 0u128;
                let mut i = 0;
                while i + 16 < n {
                    let a = ptr::read_unaligned(src.add(i).cast::<u128>());
                    ptr::write_unaligned(dst.add(i).cast::<u128>(), a);
                    acc |= a;
                    i += 16;
                }
                let b = ptr::read_unaligned(src.add(n - 16).cast::<u128>());
                ptr::write_unaligned(dst.add(n - 16).cast::<u128>(), b);
                acc |= b;
                (acc as u64) | ((acc >> 64) as u64)
            }
        } else if n >= 4 {
            let a = ptr::read_unaligned(src.cast::<u32>());
            let b = ptr::read_unaligned(src.add(n - 4).cast::<u32>());
            ptr::write_unaligned(dst.cast::<u32>(), a);
            ptr::write_unaligned(dst.add(n - 4).cast::<u32>(), b);
            u64::from(a | b)
        } else if n > 0 {
            // Indexes 0, n/2 and n-1 cover every byte of a 1..=3 byte string.
            let (a, b, c) = (*src, *src.add(n / 2), *src.add(n - 1));
            *dst = a;
            *dst.add(n / 2) = b;
            *dst.add(n - 1) = c;
            u64::from(a | b | c)
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests;
