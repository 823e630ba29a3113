//! `otlp_arrow_record_span`, `otlp_arrow_record_metric`, `otlp_arrow_record_log`: one C view
//! in, one ring record out, encoded straight into the claimed slot.
//!
//! Each call: check the view ([`crate::check`]: pointers, lengths, enum numbers, UTF-8, size
//! budget) -> build the encoder's view over the C memory (strings and attribute arrays are
//! borrowed, not converted: [`crate::strict`] or, with `invalid_utf8 = "replace"`,
//! [`crate::lossy`]) -> `encoded_len` -> claim a slot of exactly that length -> `encode_exact`
//! -> commit. The record is one `ResourceSpans` / `ResourceMetrics` / `ResourceLogs` body:
//! the registered resource and scope bytes, then the item. No allocation, no lock, no syscall
//! (unless `ring.full_policy = "wait"` meets a full ring).
//!
//! The encoder's views hold events, links and data points as Rust slices of its own structs,
//! so those are built in fixed-size arrays on the stack ([`StackVec`]): at most
//! [`OTLP_ARROW_MAX_EVENTS`] events and [`OTLP_ARROW_MAX_LINKS`] links per span (the rest are
//! counted in `dropped_events_count` / `dropped_links_count`, as the OpenTelemetry SDKs'
//! span limits do) and [`OTLP_ARROW_MAX_POINTS`] data points per metric call (more is
//! `OTLP_ARROW_INVALID_ARGUMENT`: split the points over several calls). A span without events
//! and links — the common case — takes a path without those arrays.
//!
//! Nearly every span (`invalid_utf8 = "reject"`, no events or links, string / int / double /
//! bool attributes) takes the hot path of [`crate::span_fast`] instead: one walk that checks
//! the span and encodes its attributes into a stack buffer, then plain stores into the slot.
//! It gives up (having done nothing) on anything else, errors included, and the span then
//! takes the general path here, so errors are always found and named by the code below.

use core::mem::MaybeUninit;

use core_crate::ring::{Claim, WriteError};
use core_crate::signal::Signal;
use core_crate::wire::encode::{
    AggregationTemporality, Attributes, Buckets, Encode, EncodeError, Event,
    ExponentialHistogramDataPoint, HistogramDataPoint, Link, LogRecord, Metric, MetricData,
    NumberDataPoint, NumberValue, Part, PreEncoded, Quantile, ResourceMetrics, ResourceSpans,
    SeverityNumber, Span, SpanKind, Status, StatusCode, SummaryDataPoint, Value, Writer,
    len_field_len,
};

use crate::check::{Budget, Utf8, check_attributes, check_value, checked_bytes, slice};
use crate::library::Inner;
use crate::lossy::{self, LossyAttrs, LossyBody, SCRATCH_BYTES, Scratch};
use crate::registry::Entry;
use crate::status::Error;
use crate::strict::{self, StrictKv, StrictValue};
use crate::types::{
    otlp_arrow_attribute, otlp_arrow_event, otlp_arrow_link, otlp_arrow_log, otlp_arrow_metric,
    otlp_arrow_span, otlp_arrow_str, otlp_arrow_value,
};

/// Events encoded per span; more are added to `dropped_events_count`.
pub const OTLP_ARROW_MAX_EVENTS: usize = 128;
/// Links encoded per span; more are added to `dropped_links_count`.
pub const OTLP_ARROW_MAX_LINKS: usize = 128;
/// Data points per `otlp_arrow_record_metric` call.
pub const OTLP_ARROW_MAX_POINTS: usize = 64;
/// Summary quantiles per `otlp_arrow_record_metric` call (all points together).
pub const OTLP_ARROW_MAX_QUANTILES: usize = 1024;

/// A fixed-capacity vector on the stack for `Copy` items (no drop, no allocation).
pub(crate) struct StackVec<T: Copy, const N: usize> {
    items: [MaybeUninit<T>; N],
    len: usize,
}

impl<T: Copy, const N: usize> StackVec<T, N> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        StackVec {
            items: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// Appends `v`; `false` (and `v` dropped) when full.
    #[inline(always)]
    pub(crate) fn push(&mut self, v: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                slot.write(v);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    #[inline(always)]
    pub(crate) fn as_slice(&self) -> &[T] {
        // SAFETY: the first `len` items were written by `push`; `MaybeUninit<T>` has `T`'s
        // layout.
        unsafe { core::slice::from_raw_parts(self.items.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: Copy, const N: usize> core::fmt::Debug for StackVec<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StackVec").field("len", &self.len).finish()
    }
}

/// How checked C memory becomes the encoder's view: [`Strict`] or [`Lossy`].
///
/// Every method may only be called on memory that [`crate::check`] accepted in this call with
/// the policy the mode belongs to.
pub(crate) trait Mode<'a> {
    /// The attribute list type of the record.
    type Attrs: Attributes + ?Sized + 'a;
    /// The log body value type.
    type Body: Value + ?Sized + 'a;
    /// What holds a log body while the record is encoded.
    type BodyHolder: 'a;

    /// A checked attribute array.
    fn attrs(&self, ptr: *const otlp_arrow_attribute, len: usize) -> &'a Self::Attrs;
    /// A checked string field.
    fn text(&mut self, s: &otlp_arrow_str) -> Result<&'a str, Error>;
    /// A checked log body.
    fn body(&mut self, v: &'a otlp_arrow_value) -> Result<Self::BodyHolder, Error>;
    /// The body in a holder.
    fn body_ref(h: &Self::BodyHolder) -> &Self::Body;
}

/// `invalid_utf8 = "reject"`: everything was checked as UTF-8, views borrow it as it is.
#[derive(Debug)]
pub(crate) struct Strict;

impl<'a> Mode<'a> for Strict {
    type Attrs = [StrictKv];
    type Body = StrictValue;
    type BodyHolder = &'a StrictValue;

    #[inline(always)]
    fn attrs(&self, ptr: *const otlp_arrow_attribute, len: usize) -> &'a [StrictKv] {
        // SAFETY: (trait contract) checked with `Utf8::Reject` in this call.
        unsafe { strict::attributes(checked_slice(ptr, len)) }
    }

    #[inline(always)]
    fn text(&mut self, s: &otlp_arrow_str) -> Result<&'a str, Error> {
        // SAFETY: (trait contract) checked with `Utf8::Reject` in this call.
        Ok(unsafe { crate::check::checked_str(s) })
    }

    #[inline(always)]
    fn body(&mut self, v: &'a otlp_arrow_value) -> Result<&'a StrictValue, Error> {
        // SAFETY: (trait contract) checked with `Utf8::Reject` in this call.
        Ok(unsafe { strict::value(v) })
    }

    #[inline(always)]
    fn body_ref<'h>(h: &'h &'a StrictValue) -> &'h StrictValue {
        h
    }
}

/// `invalid_utf8 = "replace"`: strings repaired while encoding, or into the scratch.
#[derive(Debug)]
pub(crate) struct Lossy<'a> {
    scratch: Scratch<'a>,
}

impl<'a> Mode<'a> for Lossy<'a> {
    type Attrs = LossyAttrs;
    type Body = LossyBody<'a>;
    type BodyHolder = LossyBody<'a>;

    fn attrs(&self, ptr: *const otlp_arrow_attribute, len: usize) -> &'a LossyAttrs {
        // SAFETY: (trait contract) checked in this call.
        unsafe { lossy::attributes(checked_slice(ptr, len)) }
    }

    fn text(&mut self, s: &otlp_arrow_str) -> Result<&'a str, Error> {
        // SAFETY: (trait contract) checked in this call.
        self.scratch.text(unsafe { checked_bytes(s) })
    }

    fn body(&mut self, v: &'a otlp_arrow_value) -> Result<LossyBody<'a>, Error> {
        if v.type_ == crate::check::value_type::STRING {
            // SAFETY: the tag names the member; checked in this call.
            let s = unsafe { v.data.string_value };
            return self.text(&s).map(LossyBody::Text);
        }
        Ok(LossyBody::Other(v))
    }

    fn body_ref<'h>(h: &'h LossyBody<'a>) -> &'h LossyBody<'a> {
        h
    }
}

/// A slice that a check accepted.
///
/// # Safety
/// `ptr`/`len` passed [`crate::check::slice`] in this call.
#[inline(always)]
unsafe fn checked_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: checked non-NULL, aligned and in bounds; valid for the call.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// Sizes `record`, claims a slot, encodes into it, commits.
#[inline(always)]
fn write<R: Encode>(
    lib: &Inner,
    signal: Signal,
    record: &R,
    encode_exact: impl FnOnce(&R, &mut [u8]) -> Result<(), EncodeError>,
) -> Result<(), Error> {
    let len = record.encoded_len();
    // Each policy's claim on its own branch, with the ring's small error (see
    // `Inner::claim_now`).
    if lib.waits() {
        fill(
            lib,
            signal,
            len,
            lib.claim_waiting(signal, len),
            record,
            encode_exact,
        )
    } else {
        fill(
            lib,
            signal,
            len,
            lib.claim_now(signal, len),
            record,
            encode_exact,
        )
    }
}

/// [`write`]'s encode and commit into the slot `claimed` (or the claim's error).
#[inline(always)]
fn fill<R: Encode>(
    lib: &Inner,
    signal: Signal,
    len: usize,
    claimed: Result<Claim<'_>, WriteError>,
    record: &R,
    encode_exact: impl FnOnce(&R, &mut [u8]) -> Result<(), EncodeError>,
) -> Result<(), Error> {
    let mut claim = match claimed {
        Ok(claim) => claim,
        Err(e) => return Err(lib.claim_error(signal, len, e)),
    };
    // A failure here means the caller changed the memory during the call; the claim is
    // dropped, which turns it into padding.
    encode_exact(record, claim.payload_mut())
        .map_err(|_| Error::Invalid("the record changed while it was being encoded"))?;
    claim.commit();
    Ok(())
}

fn status_code(v: u32) -> Result<StatusCode, Error> {
    i32::try_from(v)
        .ok()
        .and_then(StatusCode::from_i32)
        .ok_or(Error::UnknownEnum {
            what: "span status code",
            value: v.into(),
        })
}

fn span_kind(v: u32) -> Result<SpanKind, Error> {
    i32::try_from(v)
        .ok()
        .and_then(SpanKind::from_i32)
        .ok_or(Error::UnknownEnum {
            what: "span kind",
            value: v.into(),
        })
}

fn temporality(v: u32) -> Result<AggregationTemporality, Error> {
    i32::try_from(v)
        .ok()
        .and_then(AggregationTemporality::from_i32)
        .ok_or(Error::UnknownEnum {
            what: "aggregation temporality",
            value: v.into(),
        })
}

fn severity(v: u32) -> Result<SeverityNumber, Error> {
    i32::try_from(v)
        .ok()
        .and_then(SeverityNumber::from_i32)
        .ok_or(Error::UnknownEnum {
            what: "severity number",
            value: v.into(),
        })
}

// --------------------------------------------------------------------------------------------
// Spans

/// Checks a span: enums, strings, attributes, events and links (those that will be encoded).
///
/// # Safety
/// `s` and everything it points to follow the [`crate::types`] contracts.
pub(crate) unsafe fn check_span(s: &otlp_arrow_span, b: &mut Budget) -> Result<(), Error> {
    span_kind(s.kind)?;
    status_code(s.status_code)?;
    // SAFETY: (whole block) forwarded to the caller.
    unsafe {
        b.str(&s.name, "span name")?;
        b.str(&s.trace_state, "span trace_state")?;
        b.str(&s.status_message, "span status message")?;
        check_attributes(s.attributes, s.attributes_len, 0, b)?;
        let events = slice(s.events, s.events_len, "span events pointer is NULL")?;
        for e in events.iter().take(OTLP_ARROW_MAX_EVENTS) {
            b.str(&e.name, "event name")?;
            check_attributes(e.attributes, e.attributes_len, 0, b)?;
        }
        let links = slice(s.links, s.links_len, "span links pointer is NULL")?;
        for l in links.iter().take(OTLP_ARROW_MAX_LINKS) {
            b.str(&l.trace_state, "link trace_state")?;
            check_attributes(l.attributes, l.attributes_len, 0, b)?;
        }
    }
    Ok(())
}

/// Records one span.
///
/// # Safety
/// `s` and everything it points to follow the [`crate::types`] contracts.
pub(crate) unsafe fn record_span(lib: &Inner, s: &otlp_arrow_span) -> Result<(), Error> {
    if lib.utf8 == Utf8::Reject && s.events_len == 0 && s.links_len == 0 {
        // The hot path; `None` (nothing done) for a span it does not take, errors included.
        // SAFETY: forwarded to the caller.
        match unsafe { crate::span_fast::record(lib, s) } {
            crate::span_fast::Outcome::Recorded => return Ok(()),
            crate::span_fast::Outcome::Refused(r) => return Err(r.error(lib)),
            crate::span_fast::Outcome::Declined => {}
        }
    }
    let mut budget = Budget::new(lib.max_record_len(Signal::Traces), lib.utf8);
    // SAFETY: forwarded to the caller.
    unsafe { check_span(s, &mut budget) }?;
    match lib.utf8 {
        Utf8::Reject => encode_span(lib, s, Strict),
        Utf8::Replace => record_span_lossy(lib, s),
    }
}

/// The repairing path, out of line so the strict path's stack frame stays small.
#[inline(never)]
fn record_span_lossy(lib: &Inner, s: &otlp_arrow_span) -> Result<(), Error> {
    let mut buf = [0u8; SCRATCH_BYTES];
    let mode = Lossy {
        scratch: Scratch::new(&mut buf),
    };
    encode_span(lib, s, mode)
}

#[inline(always)]
fn encode_span<'a, M: Mode<'a>>(
    lib: &Inner,
    s: &'a otlp_arrow_span,
    mut m: M,
) -> Result<(), Error> {
    let resource = lib.resources.get(s.resource_id)?;
    let scope = lib.scopes.get(s.scope_id)?;
    let span = span_view(s, &mut m)?;
    if s.events_len == 0 && s.links_len == 0 {
        write_span(lib, resource, scope, &span)
    } else {
        write_span_with_events(lib, resource, scope, span, s, m)
    }
}

/// The encoder's view of a span that [`check_span`] accepted, without its events and links.
#[inline(always)]
pub(crate) fn span_view<'a, M: Mode<'a>>(
    s: &'a otlp_arrow_span,
    m: &mut M,
) -> Result<Span<'a, M::Attrs>, Error> {
    let status_code = status_code(s.status_code)?;
    let status_message = m.text(&s.status_message)?;
    Ok(Span {
        trace_id: s.trace_id,
        span_id: s.span_id,
        trace_state: m.text(&s.trace_state)?,
        parent_span_id: (s.parent_span_id != [0; 8]).then_some(s.parent_span_id),
        flags: s.flags,
        name: m.text(&s.name)?,
        kind: span_kind(s.kind)?,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: m.attrs(s.attributes, s.attributes_len),
        dropped_attributes_count: s.dropped_attributes_count,
        events: &[],
        dropped_events_count: s.dropped_events_count,
        links: &[],
        dropped_links_count: s.dropped_links_count,
        status: (status_code != StatusCode::Unset || !status_message.is_empty()).then_some(
            Status {
                code: status_code,
                message: status_message,
            },
        ),
    })
}

#[inline(never)]
fn write_span_with_events<'a, M: Mode<'a>>(
    lib: &Inner,
    resource: &Entry,
    scope: &Entry,
    span: Span<'a, M::Attrs>,
    s: &'a otlp_arrow_span,
    mut m: M,
) -> Result<(), Error> {
    // SAFETY: both slices were checked by `check_span` in this call.
    let (events, links): (&[otlp_arrow_event], &[otlp_arrow_link]) = unsafe {
        (
            checked_slice(s.events, s.events_len),
            checked_slice(s.links, s.links_len),
        )
    };
    let mut ev = StackVec::<Event<'a, M::Attrs>, OTLP_ARROW_MAX_EVENTS>::new();
    for e in events.iter().take(OTLP_ARROW_MAX_EVENTS) {
        ev.push(Event {
            time_unix_nano: e.time_unix_nano,
            name: m.text(&e.name)?,
            attributes: m.attrs(e.attributes, e.attributes_len),
            dropped_attributes_count: e.dropped_attributes_count,
        });
    }
    let mut lv = StackVec::<Link<'a, M::Attrs>, OTLP_ARROW_MAX_LINKS>::new();
    for l in links.iter().take(OTLP_ARROW_MAX_LINKS) {
        lv.push(Link {
            trace_id: l.trace_id,
            span_id: l.span_id,
            trace_state: m.text(&l.trace_state)?,
            attributes: m.attrs(l.attributes, l.attributes_len),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        });
    }
    let extra = |n: usize, max: usize| u32::try_from(n.saturating_sub(max)).unwrap_or(u32::MAX);
    let span = Span {
        dropped_events_count: span
            .dropped_events_count
            .saturating_add(extra(events.len(), OTLP_ARROW_MAX_EVENTS)),
        dropped_links_count: span
            .dropped_links_count
            .saturating_add(extra(links.len(), OTLP_ARROW_MAX_LINKS)),
        events: ev.as_slice(),
        links: lv.as_slice(),
        ..span
    };
    write_span(lib, resource, scope, &span)
}

#[inline(always)]
fn write_span<A: Attributes + ?Sized>(
    lib: &Inner,
    resource: &Entry,
    scope: &Entry,
    span: &Span<'_, A>,
) -> Result<(), Error> {
    let record = ResourceSpans {
        resource: Part::Encoded(PreEncoded::from_bytes(&resource.bytes)),
        resource_schema_url: &resource.schema_url,
        scope: Part::Encoded(PreEncoded::from_bytes(&scope.bytes)),
        scope_schema_url: &scope.schema_url,
        spans: core::slice::from_ref(span),
    };
    write(lib, Signal::Traces, &record, ResourceSpans::encode_exact)
}

// --------------------------------------------------------------------------------------------
// Metrics

/// Checks a metric: type, temporality, point count, every point's attributes and arrays.
///
/// # Safety
/// `m` and everything it points to follow the [`crate::types`] contracts.
unsafe fn check_metric(m: &otlp_arrow_metric, b: &mut Budget) -> Result<(), Error> {
    use crate::types::otlp_arrow_metric_type as T;
    if m.points_len > OTLP_ARROW_MAX_POINTS {
        return Err(Error::Invalid(
            "more than OTLP_ARROW_MAX_POINTS data points in one call",
        ));
    }
    let n = m.points_len;
    // SAFETY: (whole block) forwarded to the caller.
    unsafe {
        b.str(&m.name, "metric name")?;
        b.str(&m.description, "metric description")?;
        b.str(&m.unit, "metric unit")?;
        match m.metric_type {
            t if t == T::Gauge as u32 || t == T::Sum as u32 => {
                if t == T::Sum as u32 {
                    temporality(m.aggregation_temporality)?;
                }
                for p in slice(m.number_points, n, "number_points is NULL")? {
                    check_attributes(p.attributes, p.attributes_len, 0, b)?;
                    if p.value_type > 2 {
                        return Err(Error::UnknownEnum {
                            what: "number value type",
                            value: p.value_type.into(),
                        });
                    }
                }
            }
            t if t == T::Histogram as u32 => {
                temporality(m.aggregation_temporality)?;
                for p in slice(m.histogram_points, n, "histogram_points is NULL")? {
                    check_attributes(p.attributes, p.attributes_len, 0, b)?;
                    let c = slice(
                        p.bucket_counts,
                        p.bucket_counts_len,
                        "bucket_counts is NULL",
                    )?;
                    let e = slice(
                        p.explicit_bounds,
                        p.explicit_bounds_len,
                        "explicit_bounds is NULL",
                    )?;
                    b.bytes(8 * (c.len() + e.len()))?;
                }
            }
            t if t == T::ExponentialHistogram as u32 => {
                temporality(m.aggregation_temporality)?;
                for p in slice(
                    m.exponential_histogram_points,
                    n,
                    "exponential_histogram_points is NULL",
                )? {
                    check_attributes(p.attributes, p.attributes_len, 0, b)?;
                    let pos = slice(
                        p.positive_bucket_counts,
                        p.positive_bucket_counts_len,
                        "positive_bucket_counts is NULL",
                    )?;
                    let neg = slice(
                        p.negative_bucket_counts,
                        p.negative_bucket_counts_len,
                        "negative_bucket_counts is NULL",
                    )?;
                    b.bytes(10 * (pos.len() + neg.len()))?;
                }
            }
            t if t == T::Summary as u32 => {
                let mut quantiles = 0usize;
                for p in slice(m.summary_points, n, "summary_points is NULL")? {
                    check_attributes(p.attributes, p.attributes_len, 0, b)?;
                    let q = slice(
                        p.quantile_values,
                        p.quantile_values_len,
                        "quantile_values is NULL",
                    )?;
                    quantiles += q.len();
                    if quantiles > OTLP_ARROW_MAX_QUANTILES {
                        return Err(Error::Invalid(
                            "more than OTLP_ARROW_MAX_QUANTILES quantiles in one call",
                        ));
                    }
                    b.bytes(18 * q.len())?;
                }
            }
            other => {
                return Err(Error::UnknownEnum {
                    what: "metric type",
                    value: other.into(),
                });
            }
        }
    }
    Ok(())
}

/// Records one metric with its points.
///
/// # Safety
/// `m` and everything it points to follow the [`crate::types`] contracts.
pub(crate) unsafe fn record_metric(lib: &Inner, m: &otlp_arrow_metric) -> Result<(), Error> {
    let mut budget = Budget::new(lib.max_record_len(Signal::Metrics), lib.utf8);
    // SAFETY: forwarded to the caller.
    unsafe { check_metric(m, &mut budget) }?;
    match lib.utf8 {
        Utf8::Reject => encode_metric(lib, m, Strict),
        Utf8::Replace => record_metric_lossy(lib, m),
    }
}

/// The repairing path, out of line so the strict path's stack frame stays small.
#[inline(never)]
fn record_metric_lossy(lib: &Inner, m: &otlp_arrow_metric) -> Result<(), Error> {
    let mut buf = [0u8; SCRATCH_BYTES];
    let mode = Lossy {
        scratch: Scratch::new(&mut buf),
    };
    encode_metric(lib, m, mode)
}

#[inline(never)]
fn encode_metric<'a, M: Mode<'a>>(
    lib: &Inner,
    m: &'a otlp_arrow_metric,
    mut mode: M,
) -> Result<(), Error> {
    use crate::types::otlp_arrow_metric_type as T;
    let resource = lib.resources.get(m.resource_id)?;
    let scope = lib.scopes.get(m.scope_id)?;
    let name = mode.text(&m.name)?;
    let description = mode.text(&m.description)?;
    let unit = mode.text(&m.unit)?;
    let metadata = mode.attrs(core::ptr::null(), 0);
    let n = m.points_len;
    let metric = |data| Metric {
        name,
        description,
        unit,
        data,
        metadata,
    };
    let flag = |b: u8, v: f64| (b != 0).then_some(v);
    // SAFETY: (all `checked_slice` calls) `check_metric` accepted these pointers and lengths.
    let t = m.metric_type;
    if t == T::Gauge as u32 || t == T::Sum as u32 {
        let mut points = StackVec::<NumberDataPoint<'a, M::Attrs>, OTLP_ARROW_MAX_POINTS>::new();
        // SAFETY: see above.
        for p in unsafe { checked_slice(m.number_points, n) } {
            points.push(NumberDataPoint {
                attributes: mode.attrs(p.attributes, p.attributes_len),
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                value: match p.value_type {
                    1 => Some(NumberValue::Double(p.as_double)),
                    2 => Some(NumberValue::Int(p.as_int)),
                    _ => None,
                },
                exemplars: &[],
                flags: p.flags,
            });
        }
        let data_points = points.as_slice();
        let data = if t == T::Gauge as u32 {
            MetricData::Gauge { data_points }
        } else {
            MetricData::Sum {
                data_points,
                aggregation_temporality: temporality(m.aggregation_temporality)?,
                is_monotonic: m.is_monotonic != 0,
            }
        };
        write_metric(lib, resource, scope, &metric(data))
    } else if t == T::Histogram as u32 {
        let mut points = StackVec::<HistogramDataPoint<'a, M::Attrs>, OTLP_ARROW_MAX_POINTS>::new();
        // SAFETY: see above.
        for p in unsafe { checked_slice(m.histogram_points, n) } {
            points.push(HistogramDataPoint {
                attributes: mode.attrs(p.attributes, p.attributes_len),
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                count: p.count,
                sum: flag(p.has_sum, p.sum),
                // SAFETY: see above.
                bucket_counts: unsafe { checked_slice(p.bucket_counts, p.bucket_counts_len) },
                // SAFETY: see above.
                explicit_bounds: unsafe { checked_slice(p.explicit_bounds, p.explicit_bounds_len) },
                exemplars: &[],
                flags: p.flags,
                min: flag(p.has_min, p.min),
                max: flag(p.has_max, p.max),
            });
        }
        let data = MetricData::Histogram {
            data_points: points.as_slice(),
            aggregation_temporality: temporality(m.aggregation_temporality)?,
        };
        write_metric(lib, resource, scope, &metric(data))
    } else if t == T::ExponentialHistogram as u32 {
        let mut points =
            StackVec::<ExponentialHistogramDataPoint<'a, M::Attrs>, OTLP_ARROW_MAX_POINTS>::new();
        let buckets = |offset: i32, counts: &'a [u64]| {
            (offset != 0 || !counts.is_empty()).then_some(Buckets {
                offset,
                bucket_counts: counts,
            })
        };
        // SAFETY: see above.
        for p in unsafe { checked_slice(m.exponential_histogram_points, n) } {
            points.push(ExponentialHistogramDataPoint {
                attributes: mode.attrs(p.attributes, p.attributes_len),
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                count: p.count,
                sum: flag(p.has_sum, p.sum),
                scale: p.scale,
                zero_count: p.zero_count,
                positive: buckets(p.positive_offset, unsafe {
                    // SAFETY: see above.
                    checked_slice(p.positive_bucket_counts, p.positive_bucket_counts_len)
                }),
                negative: buckets(p.negative_offset, unsafe {
                    // SAFETY: see above.
                    checked_slice(p.negative_bucket_counts, p.negative_bucket_counts_len)
                }),
                flags: p.flags,
                exemplars: &[],
                min: flag(p.has_min, p.min),
                max: flag(p.has_max, p.max),
                zero_threshold: p.zero_threshold,
            });
        }
        let data = MetricData::ExponentialHistogram {
            data_points: points.as_slice(),
            aggregation_temporality: temporality(m.aggregation_temporality)?,
        };
        write_metric(lib, resource, scope, &metric(data))
    } else {
        // Summary (the check refused every other type).
        // SAFETY: see above.
        let raw = unsafe { checked_slice(m.summary_points, n) };
        let mut quantiles = StackVec::<Quantile, OTLP_ARROW_MAX_QUANTILES>::new();
        for p in raw {
            // SAFETY: see above.
            for q in unsafe { checked_slice(p.quantile_values, p.quantile_values_len) } {
                quantiles.push(Quantile {
                    quantile: q.quantile,
                    value: q.value,
                });
            }
        }
        let all = quantiles.as_slice();
        let mut at = 0;
        let mut points = StackVec::<SummaryDataPoint<'a, M::Attrs>, OTLP_ARROW_MAX_POINTS>::new();
        for p in raw {
            let end = (at + p.quantile_values_len).min(all.len());
            points.push(SummaryDataPoint {
                attributes: mode.attrs(p.attributes, p.attributes_len),
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                count: p.count,
                sum: p.sum,
                quantile_values: &all[at..end],
                flags: p.flags,
            });
            at = end;
        }
        let data = MetricData::Summary {
            data_points: points.as_slice(),
        };
        write_metric(lib, resource, scope, &metric(data))
    }
}

fn write_metric<A: Attributes + ?Sized>(
    lib: &Inner,
    resource: &Entry,
    scope: &Entry,
    metric: &Metric<'_, A>,
) -> Result<(), Error> {
    let record = ResourceMetrics {
        resource: Part::Encoded(PreEncoded::from_bytes(&resource.bytes)),
        resource_schema_url: &resource.schema_url,
        scope: Part::Encoded(PreEncoded::from_bytes(&scope.bytes)),
        scope_schema_url: &scope.schema_url,
        metrics: core::slice::from_ref(metric),
    };
    write(lib, Signal::Metrics, &record, ResourceMetrics::encode_exact)
}

// --------------------------------------------------------------------------------------------
// Logs

/// Records one log record.
///
/// # Safety
/// `l` and everything it points to follow the [`crate::types`] contracts.
pub(crate) unsafe fn record_log(lib: &Inner, l: &otlp_arrow_log) -> Result<(), Error> {
    let mut budget = Budget::new(lib.max_record_len(Signal::Logs), lib.utf8);
    severity(l.severity_number)?;
    // SAFETY: (whole block) forwarded to the caller.
    let body = unsafe {
        budget.str(&l.severity_text, "severity text")?;
        budget.str(&l.event_name, "event name")?;
        check_attributes(l.attributes, l.attributes_len, 0, &mut budget)?;
        let body = crate::check::opt_ref(l.body)?;
        if let Some(v) = body {
            check_value(v, 0, &mut budget)?;
        }
        body
    };
    match lib.utf8 {
        Utf8::Reject => encode_log(lib, l, body, Strict),
        Utf8::Replace => record_log_lossy(lib, l, body),
    }
}

#[inline(never)]
fn record_log_lossy(
    lib: &Inner,
    l: &otlp_arrow_log,
    body: Option<&otlp_arrow_value>,
) -> Result<(), Error> {
    let mut buf = [0u8; SCRATCH_BYTES];
    let mode = Lossy {
        scratch: Scratch::new(&mut buf),
    };
    encode_log(lib, l, body, mode)
}

#[inline(always)]
fn encode_log<'a, M: Mode<'a>>(
    lib: &Inner,
    l: &'a otlp_arrow_log,
    body: Option<&'a otlp_arrow_value>,
    mut m: M,
) -> Result<(), Error> {
    let resource = lib.resources.get(l.resource_id)?;
    let scope = lib.scopes.get(l.scope_id)?;
    let holder = match body {
        Some(v) => Some(m.body(v)?),
        None => None,
    };
    let log = LogRecord {
        time_unix_nano: l.time_unix_nano,
        observed_time_unix_nano: l.observed_time_unix_nano,
        severity_number: severity(l.severity_number)?,
        severity_text: m.text(&l.severity_text)?,
        body: holder.as_ref().map(M::body_ref),
        attributes: m.attrs(l.attributes, l.attributes_len),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
        trace_id: (l.trace_id != [0; 16]).then_some(l.trace_id),
        span_id: (l.span_id != [0; 8]).then_some(l.span_id),
        event_name: m.text(&l.event_name)?,
    };
    write(
        lib,
        Signal::Logs,
        &LogsRecord {
            resource,
            scope,
            log: &log,
        },
        |r, slot| match r.encode(slot) {
            Ok(n) if n == slot.len() => Ok(()),
            Ok(_) => Err(EncodeError::LengthMismatch),
            Err(e) => Err(e),
        },
    )
}

/// A `ResourceLogs` ring record written by hand: the crate's `ResourceLogs` view holds log
/// records whose body is the crate's own `AnyValue`, while here the body is a C value
/// ([`StrictValue`] / [`LossyBody`]) that must not be converted (a nested body would need an
/// allocation). The layout is the crate's (`wire::encode` record docs); a test checks the bytes
/// against `ResourceLogs` for bodies both can express.
struct LogsRecord<'r, A: ?Sized, V: ?Sized> {
    resource: &'r Entry,
    scope: &'r Entry,
    log: &'r LogRecord<'r, A, V>,
}

// OTLP field numbers of `ResourceLogs` and `ScopeLogs` (logs.proto), fixed by the protocol.
const RESOURCE: u32 = 1;
const SCOPE_LOGS: u32 = 2;
const SCHEMA_URL: u32 = 3;
const SCOPE: u32 = 1;
const LOG_RECORDS: u32 = 2;

fn opt_str_len(field: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        len_field_len(field, s.len())
    }
}

impl<A: Attributes + ?Sized, V: Value + ?Sized> LogsRecord<'_, A, V> {
    fn scope_body_len(&self, log_len: usize) -> usize {
        len_field_len(SCOPE, self.scope.bytes.len())
            + len_field_len(LOG_RECORDS, log_len)
            + opt_str_len(SCHEMA_URL, &self.scope.schema_url)
    }
}

impl<A: Attributes + ?Sized, V: Value + ?Sized> Encode for LogsRecord<'_, A, V> {
    fn encoded_len(&self) -> usize {
        len_field_len(RESOURCE, self.resource.bytes.len())
            + len_field_len(SCOPE_LOGS, self.scope_body_len(self.log.encoded_len()))
            + opt_str_len(SCHEMA_URL, &self.resource.schema_url)
    }

    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let log_len = self.log.encoded_len();
        w.bytes_field(RESOURCE, &self.resource.bytes)?;
        w.message_with_len(SCOPE_LOGS, self.scope_body_len(log_len), |w| {
            w.bytes_field(SCOPE, &self.scope.bytes)?;
            w.message_with_len(LOG_RECORDS, log_len, |w| self.log.encode_to(w))?;
            if !self.scope.schema_url.is_empty() {
                w.bytes_field(SCHEMA_URL, self.scope.schema_url.as_bytes())?;
            }
            Ok(())
        })?;
        if !self.resource.schema_url.is_empty() {
            w.bytes_field(SCHEMA_URL, self.resource.schema_url.as_bytes())?;
        }
        Ok(())
    }
}

// --------------------------------------------------------------------------------------------
// Exports

/// Records one finished span into the traces ring (resource and scope by id).
///
/// Returns `OTLP_ARROW_OK`, or, with nothing recorded: `OTLP_ARROW_INVALID_ARGUMENT` (NULL
/// `lib` or `span`, a NULL pointer with a non-zero length, invalid UTF-8 under `reject`, an
/// unknown kind / status code / value type / resource or scope id, nesting deeper than
/// `OTLP_ARROW_MAX_DEPTH`), `OTLP_ARROW_FULL` (ring full: counted, returned at once unless
/// `ring.full_policy = "wait"`), `OTLP_ARROW_TOO_LARGE`, `OTLP_ARROW_CLOSED`.
///
/// Thread-safe: any number of threads may record on one handle at once. Does not allocate or
/// lock; `span` and what it points to are only read, during the call.
///
/// # Safety
/// `lib` is NULL or an open handle (see `otlp_arrow_close`); `span` is NULL or points to a
/// valid `otlp_arrow_span` whose pointers follow the borrowed-view contracts, not modified
/// during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_record_span(
    lib: *const crate::library::otlp_arrow,
    span: *const otlp_arrow_span,
) -> crate::status::otlp_arrow_status {
    crate::error::boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { crate::library::inner(lib) }?;
        // SAFETY: forwarded to the caller.
        let span = unsafe { crate::check::opt_ref(span) }?.ok_or(Error::Invalid("span is NULL"))?;
        // SAFETY: forwarded to the caller.
        unsafe { record_span(inner, span) }.inspect_err(|e| inner.count_refusal(Signal::Traces, e))
    })
}

/// Records one metric with up to `OTLP_ARROW_MAX_POINTS` data points into the metrics ring
/// (one ring record; one stored row per point).
///
/// Returns as `otlp_arrow_record_span` (`OTLP_ARROW_INVALID_ARGUMENT` also for an unknown
/// metric type, temporality or number type, or too many points / quantiles). Thread-safe, no
/// allocation, no lock.
///
/// # Safety
/// As `otlp_arrow_record_span`, for `metric`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_record_metric(
    lib: *const crate::library::otlp_arrow,
    metric: *const otlp_arrow_metric,
) -> crate::status::otlp_arrow_status {
    crate::error::boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { crate::library::inner(lib) }?;
        // SAFETY: forwarded to the caller.
        let metric = unsafe { crate::check::opt_ref(metric) }?.ok_or(Error::Invalid("metric is NULL"))?;
        // SAFETY: forwarded to the caller.
        unsafe { record_metric(inner, metric) }.inspect_err(|e| inner.count_refusal(Signal::Metrics, e))
    })
}

/// Records one log record into the logs ring.
///
/// Returns as `otlp_arrow_record_span` (`OTLP_ARROW_INVALID_ARGUMENT` also for a severity
/// number above 24). Thread-safe, no allocation, no lock.
///
/// # Safety
/// As `otlp_arrow_record_span`, for `log`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_record_log(
    lib: *const crate::library::otlp_arrow,
    log: *const otlp_arrow_log,
) -> crate::status::otlp_arrow_status {
    crate::error::boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { crate::library::inner(lib) }?;
        // SAFETY: forwarded to the caller.
        let log = unsafe { crate::check::opt_ref(log) }?.ok_or(Error::Invalid("log is NULL"))?;
        // SAFETY: forwarded to the caller.
        unsafe { record_log(inner, log) }.inspect_err(|e| inner.count_refusal(Signal::Logs, e))
    })
}

#[cfg(test)]
mod tests {
    use core_crate::wire::encode::{AnyValue, KeyValue, ResourceLogs};

    use super::*;

    #[test]
    fn hand_written_logs_record_matches_the_crates_resource_logs() {
        for (schema_r, schema_s) in [("", ""), ("https://r", "https://s")] {
            let resource = Entry::new(b"\x0a\x03abc".as_slice().into(), schema_r.into());
            let scope = Entry::new(b"\x0a\x01s".as_slice().into(), schema_s.into());
            let attrs = [KeyValue::new("k", AnyValue::Int(3))];
            let body = AnyValue::String("hello");
            let log: LogRecord<'_> = LogRecord {
                time_unix_nano: 5,
                severity_number: SeverityNumber::Warn,
                severity_text: "WARN",
                body: Some(&body),
                attributes: &attrs,
                trace_id: Some([1; 16]),
                ..LogRecord::default()
            };
            let ours = LogsRecord {
                resource: &resource,
                scope: &scope,
                log: &log,
            };
            let theirs = ResourceLogs {
                resource: Part::Encoded(PreEncoded::from_bytes(&resource.bytes)),
                resource_schema_url: schema_r,
                scope: Part::Encoded(PreEncoded::from_bytes(&scope.bytes)),
                scope_schema_url: schema_s,
                log_records: core::slice::from_ref(&log),
            };
            let (mut a, mut b) = (
                vec![0u8; ours.encoded_len()],
                vec![0u8; theirs.encoded_len()],
            );
            assert_eq!(ours.encode(&mut a).unwrap(), a.len());
            assert_eq!(theirs.encode(&mut b).unwrap(), b.len());
            assert_eq!(a, b);
        }
    }

    fn value(type_: u32, data: crate::types::otlp_arrow_value_data) -> otlp_arrow_value {
        otlp_arrow_value { type_, data }
    }

    fn string(s: &str) -> otlp_arrow_value {
        value(
            1,
            crate::types::otlp_arrow_value_data {
                string_value: otlp_arrow_str::of(s),
            },
        )
    }

    /// The hot path checks attribute UTF-8 while copying into its buffer: an invalid key or
    /// string value (first or later attribute, short or long, with any value type) fails the
    /// call with `OTLP_ARROW_INVALID_ARGUMENT` naming the field before anything is claimed
    /// (no byte of the ring is used, no claim aborted); valid non-ASCII strings are accepted.
    #[test]
    fn invalid_utf8_found_while_copying_claims_nothing() {
        use crate::status::{OTLP_ARROW_INVALID_ARGUMENT, OTLP_ARROW_OK};
        use crate::types::otlp_arrow_value_data as D;
        let dir = std::env::temp_dir().join(format!("otlp-arrow-ffi-abort-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = format!(
            "output_dir = {:?}\n[storage]\nfsync = \"never\"\n",
            dir.display().to_string()
        );
        let mut h = core::ptr::null_mut();
        // SAFETY: valid config bytes and out pointer.
        let st = unsafe {
            crate::library::otlp_arrow_open(config.as_ptr().cast(), config.len(), &mut h)
        };
        assert_eq!(st, OTLP_ARROW_OK);
        // SAFETY: a handle just opened.
        let lib = unsafe { crate::library::inner(h) }.unwrap();
        let ring = lib.pipeline().ring(Signal::Traces);
        let raw = |b: &'static [u8]| otlp_arrow_str {
            ptr: b.as_ptr().cast(),
            len: b.len(),
        };
        let bad_long: &'static [u8] = b"0123456789abcdef0123456789abcdef012345\xc3";
        let attr =
            |k: otlp_arrow_str, v: otlp_arrow_value| otlp_arrow_attribute { key: k, value: v };
        let sv = |v: otlp_arrow_str| value(1, D { string_value: v });
        let ok = attr(otlp_arrow_str::of("http.method"), string("GET"));
        let cases: Vec<(Vec<otlp_arrow_attribute>, &str)> = vec![
            (vec![attr(raw(b"k\xff"), string("v"))], "attribute key"),
            (
                vec![attr(otlp_arrow_str::of("k"), sv(raw(b"\xe2\x82")))],
                "string value",
            ),
            (
                vec![ok, attr(raw(b"\x80"), value(3, D { int_value: 1 }))],
                "attribute key",
            ),
            (
                vec![
                    ok,
                    attr(raw(b"\xc0\xafx"), value(4, D { double_value: 1.0 })),
                ],
                "attribute key",
            ),
            (
                vec![ok, attr(raw(b"b\xfe"), value(2, D { bool_value: 1 }))],
                "attribute key",
            ),
            (
                vec![ok, ok, attr(otlp_arrow_str::of("long"), sv(raw(bad_long)))],
                "string value",
            ),
            // A valid non-ASCII string before an invalid one: the slow check goes on.
            (
                vec![
                    attr(otlp_arrow_str::of("caf\u{e9}"), string("cr\u{e8}me")),
                    attr(otlp_arrow_str::of("k"), sv(raw(&[b'x'; 300][..299]))),
                    attr(otlp_arrow_str::of("k"), sv(raw(b"\xed\xa0\x80"))),
                ],
                "string value",
            ),
        ];
        let span = |attrs: &[otlp_arrow_attribute]| otlp_arrow_span {
            resource_id: 0,
            scope_id: 0,
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: [0; 8],
            trace_state: otlp_arrow_str::of(""),
            name: otlp_arrow_str::of("GET /x"),
            kind: 2,
            flags: 0,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            events: core::ptr::null(),
            events_len: 0,
            links: core::ptr::null(),
            links_len: 0,
            dropped_links_count: 0,
            status_code: 0,
            status_message: otlp_arrow_str::of(""),
        };
        let last_error = || {
            let mut buf = [0u8; 256];
            // SAFETY: a valid buffer and its length.
            let n =
                unsafe { crate::error::otlp_arrow_last_error(buf.as_mut_ptr().cast(), buf.len()) };
            String::from_utf8_lossy(&buf[..n.min(255)]).into_owned()
        };
        for (i, (attrs, field)) in cases.iter().enumerate() {
            let before = ring.stats();
            // SAFETY: a valid view of memory owned by the test.
            let st = unsafe { otlp_arrow_record_span(h, &span(attrs)) };
            assert_eq!(st, OTLP_ARROW_INVALID_ARGUMENT, "case {i}");
            let msg = last_error();
            assert!(
                msg.contains(&format!("{field} is not UTF-8")),
                "case {i}: {msg}"
            );
            let after = ring.stats();
            assert_eq!(after.aborted, before.aborted, "case {i}");
            assert_eq!(after.claimed_bytes, before.claimed_bytes, "case {i}");
        }
        let accents = "\u{e9}".repeat(40);
        let valid = [
            attr(
                otlp_arrow_str::of("caf\u{e9}"),
                string("cr\u{e8}me br\u{fb}l\u{e9}e"),
            ),
            attr(otlp_arrow_str::of("k"), sv(otlp_arrow_str::of(&accents))),
            attr(
                otlp_arrow_str::of("\u{1F600}"),
                value(3, D { int_value: 7 }),
            ),
        ];
        let before = ring.stats();
        // SAFETY: as above.
        let st = unsafe { otlp_arrow_record_span(h, &span(&valid)) };
        assert_eq!(st, OTLP_ARROW_OK, "{}", last_error());
        assert_eq!(ring.stats().aborted, before.aborted);
        // SAFETY: the handle from open; no other call is running.
        let st = unsafe { crate::library::otlp_arrow_close(h) };
        assert_eq!(st, OTLP_ARROW_OK);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stack_vec_keeps_its_capacity() {
        let mut v = StackVec::<u32, 2>::new();
        assert!(v.push(1) && v.push(2));
        assert!(!v.push(3));
        assert_eq!(v.as_slice(), &[1, 2]);
    }

    /// An open handle in its own directory, closed (and the directory removed) on drop.
    struct TestLib {
        h: *mut crate::library::otlp_arrow,
        dir: std::path::PathBuf,
    }

    impl TestLib {
        fn open(tag: &str, extra: &str) -> TestLib {
            let dir =
                std::env::temp_dir().join(format!("otlp-arrow-ffi-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let config = format!(
                "output_dir = {:?}\n[storage]\nfsync = \"never\"\n{extra}",
                dir.display().to_string()
            );
            let mut h = core::ptr::null_mut();
            // SAFETY: valid config bytes and out pointer.
            let st = unsafe {
                crate::library::otlp_arrow_open(config.as_ptr().cast(), config.len(), &mut h)
            };
            assert_eq!(st, crate::status::OTLP_ARROW_OK, "{}", last_error());
            TestLib { h, dir }
        }

        fn stats(&self, signal: Signal) -> core_crate::ring::RingStats {
            // SAFETY: a handle opened by `open` and not yet closed.
            let lib = unsafe { crate::library::inner(self.h) }.unwrap();
            lib.pipeline().ring(signal).stats()
        }

        /// Runs `call`; asserts it returned OK and committed one record into `signal`'s ring.
        fn assert_recorded(
            &self,
            signal: Signal,
            what: &str,
            call: impl FnOnce() -> crate::status::otlp_arrow_status,
        ) {
            let before = self.stats(signal);
            let st = call();
            assert_eq!(st, crate::status::OTLP_ARROW_OK, "{what}: {}", last_error());
            let after = self.stats(signal);
            assert!(
                after.claimed_bytes > before.claimed_bytes,
                "{what}: nothing claimed"
            );
            assert_eq!(after.aborted, before.aborted, "{what}: aborted");
        }

        /// Runs `call`; asserts `OTLP_ARROW_INVALID_ARGUMENT`, a last error containing `msg`
        /// and nothing claimed in `signal`'s ring.
        fn assert_refused(
            &self,
            signal: Signal,
            msg: &str,
            call: impl FnOnce() -> crate::status::otlp_arrow_status,
        ) {
            let before = self.stats(signal);
            let st = call();
            assert_eq!(st, crate::status::OTLP_ARROW_INVALID_ARGUMENT, "{msg}");
            let err = last_error();
            assert!(err.contains(msg), "expected {msg:?} in {err:?}");
            assert_eq!(
                self.stats(signal).claimed_bytes,
                before.claimed_bytes,
                "{msg}"
            );
        }
    }

    impl Drop for TestLib {
        fn drop(&mut self) {
            // SAFETY: the handle from open; no other call is running.
            let st = unsafe { crate::library::otlp_arrow_close(self.h) };
            assert_eq!(st, crate::status::OTLP_ARROW_OK);
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn last_error() -> String {
        let mut buf = [0u8; 512];
        // SAFETY: a valid buffer and its length.
        let n = unsafe { crate::error::otlp_arrow_last_error(buf.as_mut_ptr().cast(), buf.len()) };
        String::from_utf8_lossy(&buf[..n.min(511)]).into_owned()
    }

    fn raw(b: &'static [u8]) -> otlp_arrow_str {
        otlp_arrow_str {
            ptr: b.as_ptr().cast(),
            len: b.len(),
        }
    }

    fn metric(metric_type: u32) -> otlp_arrow_metric {
        otlp_arrow_metric {
            resource_id: 0,
            scope_id: 0,
            name: otlp_arrow_str::of("m"),
            description: otlp_arrow_str::of("d"),
            unit: otlp_arrow_str::of("ms"),
            metric_type,
            aggregation_temporality: 2,
            is_monotonic: 1,
            number_points: core::ptr::null(),
            histogram_points: core::ptr::null(),
            exponential_histogram_points: core::ptr::null(),
            summary_points: core::ptr::null(),
            points_len: 0,
        }
    }

    fn span_view(
        attrs: &[otlp_arrow_attribute],
        events: &[otlp_arrow_event],
        links: &[otlp_arrow_link],
    ) -> otlp_arrow_span {
        otlp_arrow_span {
            resource_id: 0,
            scope_id: 0,
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: [3; 8],
            trace_state: otlp_arrow_str::of(""),
            name: otlp_arrow_str::of("GET /x"),
            kind: 2,
            flags: 0,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            events: events.as_ptr(),
            events_len: events.len(),
            links: links.as_ptr(),
            links_len: links.len(),
            dropped_links_count: 0,
            status_code: 2,
            status_message: otlp_arrow_str::of("bad"),
        }
    }

    fn log_view(body: *const otlp_arrow_value, attrs: &[otlp_arrow_attribute]) -> otlp_arrow_log {
        otlp_arrow_log {
            resource_id: 0,
            scope_id: 0,
            time_unix_nano: 1,
            observed_time_unix_nano: 2,
            severity_number: 13,
            flags: 1,
            severity_text: otlp_arrow_str::of("WARN"),
            body,
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            dropped_attributes_count: 0,
            trace_id: [1; 16],
            span_id: [2; 8],
            event_name: otlp_arrow_str::of("e"),
        }
    }

    /// Every metric type is recorded under both UTF-8 policies; every malformed metric
    /// (NULL arrays with a length, unknown enums, too many points or quantiles) is refused
    /// with `OTLP_ARROW_INVALID_ARGUMENT` naming the problem, and nothing is claimed.
    #[test]
    fn every_metric_type_is_recorded_and_malformed_ones_refused() {
        use crate::types::{
            otlp_arrow_exponential_histogram_point as EPoint, otlp_arrow_histogram_point as HPoint,
            otlp_arrow_number_point as NPoint, otlp_arrow_quantile as Q,
            otlp_arrow_summary_point as SPoint,
        };
        let attrs = [otlp_arrow_attribute {
            key: otlp_arrow_str::of("host"),
            value: string("a"),
        }];
        let number = |value_type: u32| NPoint {
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            value_type,
            flags: 0,
            as_double: 1.5,
            as_int: -3,
        };
        let numbers = [number(1), number(2), number(0)];
        let counts = [1u64, 2, 3];
        let bounds = [1.0f64, 2.0];
        let hist = HPoint {
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            count: 6,
            sum: 9.0,
            min: 0.5,
            max: 4.0,
            bucket_counts: counts.as_ptr(),
            bucket_counts_len: counts.len(),
            explicit_bounds: bounds.as_ptr(),
            explicit_bounds_len: bounds.len(),
            flags: 0,
            has_sum: 1,
            has_min: 1,
            has_max: 0,
        };
        let expo = EPoint {
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            count: 7,
            sum: 3.0,
            min: 0.1,
            max: 2.0,
            zero_count: 1,
            zero_threshold: 0.01,
            positive_bucket_counts: counts.as_ptr(),
            positive_bucket_counts_len: counts.len(),
            negative_bucket_counts: counts.as_ptr(),
            negative_bucket_counts_len: 0,
            scale: 2,
            positive_offset: -1,
            negative_offset: 0,
            flags: 0,
            has_sum: 1,
            has_min: 0,
            has_max: 1,
        };
        // The second point has an empty negative side with an offset (still encoded).
        let expos = [
            expo,
            EPoint {
                negative_offset: 4,
                ..expo
            },
        ];
        let quantiles = [
            Q {
                quantile: 0.5,
                value: 1.0,
            },
            Q {
                quantile: 0.99,
                value: 7.0,
            },
        ];
        let summary = SPoint {
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            start_time_unix_nano: 1,
            time_unix_nano: 2,
            count: 4,
            sum: 8.0,
            quantile_values: quantiles.as_ptr(),
            quantile_values_len: quantiles.len(),
            flags: 0,
        };
        let summaries = [
            summary,
            SPoint {
                quantile_values_len: 1,
                ..summary
            },
        ];
        let good = [
            (
                "gauge",
                otlp_arrow_metric {
                    number_points: numbers.as_ptr(),
                    points_len: numbers.len(),
                    ..metric(1)
                },
            ),
            (
                "sum",
                otlp_arrow_metric {
                    number_points: numbers.as_ptr(),
                    points_len: numbers.len(),
                    ..metric(2)
                },
            ),
            (
                "histogram",
                otlp_arrow_metric {
                    histogram_points: &hist,
                    points_len: 1,
                    ..metric(3)
                },
            ),
            (
                "exponential histogram",
                otlp_arrow_metric {
                    exponential_histogram_points: expos.as_ptr(),
                    points_len: expos.len(),
                    ..metric(4)
                },
            ),
            (
                "summary",
                otlp_arrow_metric {
                    summary_points: summaries.as_ptr(),
                    points_len: summaries.len(),
                    ..metric(5)
                },
            ),
        ];
        let many_numbers = [number(1); OTLP_ARROW_MAX_POINTS + 1];
        let many_quantiles = [quantiles[0]; OTLP_ARROW_MAX_QUANTILES / 2 + 1];
        let big_summary = SPoint {
            quantile_values: many_quantiles.as_ptr(),
            quantile_values_len: many_quantiles.len(),
            ..summary
        };
        let big_summaries = [big_summary, big_summary];
        let null_counts = HPoint {
            bucket_counts: core::ptr::null(),
            ..hist
        };
        let null_bounds = HPoint {
            explicit_bounds: core::ptr::null(),
            ..hist
        };
        let null_pos = EPoint {
            positive_bucket_counts: core::ptr::null(),
            ..expo
        };
        let null_neg = EPoint {
            negative_bucket_counts: core::ptr::null(),
            negative_bucket_counts_len: 1,
            ..expo
        };
        let null_quantiles = SPoint {
            quantile_values: core::ptr::null(),
            ..summary
        };
        let bad_number = [number(3)];
        let bad: Vec<(&str, otlp_arrow_metric)> = vec![
            (
                "more than OTLP_ARROW_MAX_POINTS",
                otlp_arrow_metric {
                    number_points: many_numbers.as_ptr(),
                    points_len: many_numbers.len(),
                    ..metric(1)
                },
            ),
            ("metric type", metric(9)),
            (
                "number_points is NULL",
                otlp_arrow_metric {
                    points_len: 1,
                    ..metric(1)
                },
            ),
            (
                "number value type",
                otlp_arrow_metric {
                    number_points: bad_number.as_ptr(),
                    points_len: 1,
                    ..metric(1)
                },
            ),
            (
                "aggregation temporality",
                otlp_arrow_metric {
                    aggregation_temporality: 7,
                    ..metric(2)
                },
            ),
            (
                "aggregation temporality",
                otlp_arrow_metric {
                    aggregation_temporality: 7,
                    ..metric(3)
                },
            ),
            (
                "aggregation temporality",
                otlp_arrow_metric {
                    aggregation_temporality: 7,
                    ..metric(4)
                },
            ),
            (
                "histogram_points is NULL",
                otlp_arrow_metric {
                    points_len: 1,
                    ..metric(3)
                },
            ),
            (
                "bucket_counts is NULL",
                otlp_arrow_metric {
                    histogram_points: &null_counts,
                    points_len: 1,
                    ..metric(3)
                },
            ),
            (
                "explicit_bounds is NULL",
                otlp_arrow_metric {
                    histogram_points: &null_bounds,
                    points_len: 1,
                    ..metric(3)
                },
            ),
            (
                "exponential_histogram_points is NULL",
                otlp_arrow_metric {
                    points_len: 1,
                    ..metric(4)
                },
            ),
            (
                "positive_bucket_counts is NULL",
                otlp_arrow_metric {
                    exponential_histogram_points: &null_pos,
                    points_len: 1,
                    ..metric(4)
                },
            ),
            (
                "negative_bucket_counts is NULL",
                otlp_arrow_metric {
                    exponential_histogram_points: &null_neg,
                    points_len: 1,
                    ..metric(4)
                },
            ),
            (
                "summary_points is NULL",
                otlp_arrow_metric {
                    points_len: 1,
                    ..metric(5)
                },
            ),
            (
                "quantile_values is NULL",
                otlp_arrow_metric {
                    summary_points: &null_quantiles,
                    points_len: 1,
                    ..metric(5)
                },
            ),
            (
                "more than OTLP_ARROW_MAX_QUANTILES",
                otlp_arrow_metric {
                    summary_points: big_summaries.as_ptr(),
                    points_len: big_summaries.len(),
                    ..metric(5)
                },
            ),
            (
                "metric name is not UTF-8",
                otlp_arrow_metric {
                    name: raw(b"m\xff"),
                    ..metric(1)
                },
            ),
        ];
        for (tag, policy) in [
            ("metrics-reject", ""),
            ("metrics-replace", "[ffi]\ninvalid_utf8 = \"replace\"\n"),
        ] {
            let lib = TestLib::open(tag, policy);
            for (what, m) in &good {
                // SAFETY: a valid view of memory owned by the test.
                lib.assert_recorded(Signal::Metrics, what, || unsafe {
                    otlp_arrow_record_metric(lib.h, m)
                });
            }
            for (msg, m) in &bad {
                if policy.is_empty() || !msg.ends_with("not UTF-8") {
                    // SAFETY: as above.
                    lib.assert_refused(Signal::Metrics, msg, || unsafe {
                        otlp_arrow_record_metric(lib.h, m)
                    });
                }
            }
            // Under `replace` the invalid name is repaired and recorded.
            if !policy.is_empty() {
                let m = otlp_arrow_metric {
                    name: raw(b"m\xff"),
                    ..metric(1)
                };
                // SAFETY: as above.
                lib.assert_recorded(Signal::Metrics, "repaired name", || unsafe {
                    otlp_arrow_record_metric(lib.h, &m)
                });
            }
            // SAFETY: NULL is allowed and refused.
            lib.assert_refused(Signal::Metrics, "metric is NULL", || unsafe {
                otlp_arrow_record_metric(lib.h, core::ptr::null())
            });
        }
    }

    /// Spans with events and links (the general path) are recorded under both policies, also
    /// past `OTLP_ARROW_MAX_EVENTS` / `OTLP_ARROW_MAX_LINKS`; invalid UTF-8 in an event or link
    /// is refused under `reject` and repaired under `replace`; unknown enums and NULL arrays
    /// with a length are refused on the fast and the general path alike.
    #[test]
    fn spans_with_events_and_links_and_their_errors() {
        let attrs = [otlp_arrow_attribute {
            key: otlp_arrow_str::of("k"),
            value: string("v"),
        }];
        let event = otlp_arrow_event {
            time_unix_nano: 5,
            name: otlp_arrow_str::of("exception"),
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            dropped_attributes_count: 1,
        };
        let link = otlp_arrow_link {
            trace_id: [7; 16],
            span_id: [8; 8],
            trace_state: otlp_arrow_str::of("a=b"),
            attributes: attrs.as_ptr(),
            attributes_len: attrs.len(),
            dropped_attributes_count: 0,
            flags: 1,
        };
        let events = [event; OTLP_ARROW_MAX_EVENTS + 2];
        let links = [link; OTLP_ARROW_MAX_LINKS + 2];
        let bad_event = [otlp_arrow_event {
            name: raw(b"ex\xc3"),
            ..event
        }];
        let bad_link = [otlp_arrow_link {
            trace_state: raw(b"\xff"),
            ..link
        }];
        let bad_attr = [otlp_arrow_attribute {
            key: otlp_arrow_str::of("k"),
            value: value(
                1,
                crate::types::otlp_arrow_value_data {
                    string_value: raw(b"v\xfe"),
                },
            ),
        }];
        for (tag, policy) in [
            ("spans-reject", ""),
            ("spans-replace", "[ffi]\ninvalid_utf8 = \"replace\"\n"),
        ] {
            let replace = !policy.is_empty();
            let lib = TestLib::open(tag, policy);
            let good = [
                ("plain", span_view(&attrs, &[], &[])),
                (
                    "one event and link",
                    span_view(&attrs, &events[..1], &links[..1]),
                ),
                ("events only", span_view(&[], &events[..3], &[])),
                ("links only", span_view(&[], &[], &links[..3])),
                ("past the limits", span_view(&attrs, &events, &links)),
            ];
            for (what, s) in &good {
                // SAFETY: a valid view of memory owned by the test.
                lib.assert_recorded(Signal::Traces, what, || unsafe {
                    otlp_arrow_record_span(lib.h, s)
                });
            }
            let utf8 = [
                ("event name is not UTF-8", span_view(&[], &bad_event, &[])),
                (
                    "link trace_state is not UTF-8",
                    span_view(&[], &[], &bad_link),
                ),
                (
                    "string value is not UTF-8",
                    span_view(&bad_attr, &events[..1], &[]),
                ),
                (
                    "span name is not UTF-8",
                    otlp_arrow_span {
                        name: raw(b"\xc0"),
                        ..span_view(&[], &events[..1], &[])
                    },
                ),
            ];
            for (msg, s) in &utf8 {
                if replace {
                    // SAFETY: as above.
                    lib.assert_recorded(Signal::Traces, msg, || unsafe {
                        otlp_arrow_record_span(lib.h, s)
                    });
                } else {
                    // SAFETY: as above.
                    lib.assert_refused(Signal::Traces, msg, || unsafe {
                        otlp_arrow_record_span(lib.h, s)
                    });
                }
            }
            for ev in [&[][..], &events[..1]] {
                let bad = [
                    (
                        "span kind",
                        otlp_arrow_span {
                            kind: 9,
                            ..span_view(&[], ev, &[])
                        },
                    ),
                    (
                        "span status code",
                        otlp_arrow_span {
                            status_code: 7,
                            ..span_view(&[], ev, &[])
                        },
                    ),
                    (
                        "span events pointer is NULL",
                        otlp_arrow_span {
                            events: core::ptr::null(),
                            events_len: 1,
                            ..span_view(&[], &[], &links[..1])
                        },
                    ),
                    (
                        "span links pointer is NULL",
                        otlp_arrow_span {
                            links: core::ptr::null(),
                            links_len: 1,
                            ..span_view(&[], ev, &[])
                        },
                    ),
                ];
                for (msg, s) in &bad {
                    // SAFETY: as above (the NULL arrays are refused before any read).
                    lib.assert_refused(Signal::Traces, msg, || unsafe {
                        otlp_arrow_record_span(lib.h, s)
                    });
                }
            }
            // SAFETY: NULL is allowed and refused.
            lib.assert_refused(Signal::Traces, "span is NULL", || unsafe {
                otlp_arrow_record_span(lib.h, core::ptr::null())
            });
        }
    }

    /// Logs with and without a body, string or not, are recorded under both policies; an
    /// invalid UTF-8 body is refused under `reject` and repaired under `replace`; an unknown
    /// severity and a NULL log are refused.
    #[test]
    fn logs_are_recorded_under_both_policies_and_errors_refused() {
        use crate::types::otlp_arrow_value_data as D;
        let attrs = [otlp_arrow_attribute {
            key: otlp_arrow_str::of("k"),
            value: value(3, D { int_value: 4 }),
        }];
        let text = string("hello");
        let int = value(3, D { int_value: 42 });
        let bad_text = value(
            1,
            D {
                string_value: raw(b"he\xffllo"),
            },
        );
        for (tag, policy) in [
            ("logs-reject", ""),
            ("logs-replace", "[ffi]\ninvalid_utf8 = \"replace\"\n"),
        ] {
            let replace = !policy.is_empty();
            let lib = TestLib::open(tag, policy);
            for (what, body) in [
                ("no body", core::ptr::null()),
                ("string body", &raw const text),
                ("int body", &raw const int),
            ] {
                let l = log_view(body, &attrs);
                // SAFETY: a valid view of memory owned by the test.
                lib.assert_recorded(Signal::Logs, what, || unsafe {
                    otlp_arrow_record_log(lib.h, &l)
                });
            }
            let l = log_view(&raw const bad_text, &[]);
            if replace {
                // SAFETY: as above.
                lib.assert_recorded(Signal::Logs, "repaired body", || unsafe {
                    otlp_arrow_record_log(lib.h, &l)
                });
            } else {
                // SAFETY: as above.
                lib.assert_refused(Signal::Logs, "is not UTF-8", || unsafe {
                    otlp_arrow_record_log(lib.h, &l)
                });
            }
            let l = otlp_arrow_log {
                severity_number: 25,
                ..log_view(core::ptr::null(), &[])
            };
            // SAFETY: as above.
            lib.assert_refused(Signal::Logs, "severity number", || unsafe {
                otlp_arrow_record_log(lib.h, &l)
            });
            // SAFETY: NULL is allowed and refused.
            lib.assert_refused(Signal::Logs, "log is NULL", || unsafe {
                otlp_arrow_record_log(lib.h, core::ptr::null())
            });
        }
    }

    #[test]
    fn stack_vec_debug_shows_its_length() {
        let mut v = StackVec::<u8, 4>::new();
        assert!(v.push(9));
        assert_eq!(format!("{v:?}"), "StackVec { len: 1 }");
    }
}
