//! The reverse path: stored Arrow record batches -> OTLP `Export*ServiceRequest` bytes.
//!
//! `otlp-arrow cat` and the forwarder's catch-up from files read batches with the
//! [`schema`](crate::arrow::schema) of their signal and need OTLP protobuf again. This module
//! turns rows back into requests with the crate's zero-allocation wire encoder
//! ([`crate::wire::encode`]): a row becomes an encoder view (`Span`, a data point,
//! `LogRecord`) whose strings, bytes and packed number lists borrow the Arrow buffers, and
//! whose attributes are an adapter over the row's range of the attributes `Map` column (no
//! string is copied; nested `array_value` / `kvlist_value` bytes are written verbatim).
//! Allocation is a few vectors of views per call, none per value.
//!
//! # Grouping
//!
//! Consecutive rows with the same resource (attributes, dropped count, schema URL) are one
//! `Resource*` message; within it, consecutive rows with the same scope (name, version,
//! attributes, dropped count, schema URL) one `Scope*` entry; for metrics, consecutive points
//! with the same metric header (name, description, unit, metadata, type, temporality,
//! monotonic) one `Metric`. Rows are never reordered, so non-adjacent equal groups stay apart
//! (as they were received), and adjacent equal groups of the input (two ring records of one
//! resource, say) merge. Messages are written in prost's field order, so the output is what
//! prost writes for the same message tree.
//!
//! # What comes back
//!
//! Every column is reproduced, with these choices where the stored form does not say:
//! - `resource` and `scope` are always written (possibly empty messages);
//! - a span's `status` is written unless its code is 0 (unset) and its message empty: a span
//!   stored without status and one with an empty status have the same row, and writing none
//!   makes `rows -> request -> rows -> request` byte-stable;
//! - null optional ids (`parent_span_id`, a log record's or an exemplar's ids) are omitted;
//! - a log body that is null is omitted, one with type tag 0 is an empty `AnyValue`; an
//!   attribute whose value struct is null is a `KeyValue` without `value`;
//! - metrics: see the `metrics` module (oneof / optional fields from null-ness).
//!
//! `kind`, `status_code` and `severity_number` go through the encoder's typed enums, which
//! know only the values OTLP defines. A stored value outside them (proto3 enums are open, and
//! the receiver accepts any) is written as 0 and counted in
//! [`RequestStats::coerced_enums`]; it is never silently dropped without a count.
//! `aggregation_temporality` is written as stored.
//!
//! # Errors
//!
//! A batch that does not match the schema (a missing column, another type, an `AnyValue`
//! whose `type` tag is unknown or whose tagged member is null, an unknown `metric_type`, a
//! point with both `value_double` and `value_int`) gives a [`ReverseError`], never a panic.
//! Columns are found by name; extra columns are ignored. Nested `ArrayValue` /
//! `KeyValueList` bytes are not parsed (the decoder stored them from validated records).
//!
//! # Cutting requests
//!
//! [`BatchEncoder`] prepares a batch once and encodes any row range: a whole request
//! ([`BatchEncoder::encode_request`]), the longest prefix that fits [`Limits`] on bytes and
//! items ([`BatchEncoder::encode_request_limited`], exact: the length of every prefix is known
//! before anything is written), or each `Resource*` body on its own
//! ([`BatchEncoder::resource_records`], the ring-record form). The free functions
//! ([`traces_request`], [`request`], ...) are shorthands for a whole batch.
//!
//! ```
//! use otlp_arrow::arrow::otlp::{BatchEncoder, Limits};
//! use otlp_arrow::arrow::schema;
//! use otlp_arrow::signal::Signal;
//!
//! let batch = arrow_array::RecordBatch::new_empty(schema::logs());
//! let encoder = BatchEncoder::new(Signal::Logs, &batch)?;
//! let mut out = Vec::new();
//! let mut next = 0;
//! while next < encoder.num_rows() {
//!     let limits = Limits { max_bytes: 4 << 20, max_items: 512 };
//!     let stats = encoder.encode_request_limited(next..encoder.num_rows(), limits, &mut out)?;
//!     next = stats.rows.end;
//!     // send `out`, then out.clear()
//! #   out.clear();
//! }
//! # Ok::<(), otlp_arrow::arrow::otlp::ReverseError>(())
//! ```
#![forbid(unsafe_code)]

mod attributes;
mod columns;
mod logs;
mod metrics;
mod plan;
mod traces;

use core::fmt;
use core::ops::Range;

use arrow_array::RecordBatch;

use crate::signal::Signal;
use crate::wire::encode::{EncodeError, Writer};
use columns::Table;
use plan::{Plan, Source, Stop};

/// Why a batch could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReverseError {
    /// A column the schema requires is not in the batch (`column` is its path, e.g.
    /// `events.attributes`).
    MissingColumn {
        /// Path of the column.
        column: String,
    },
    /// A column has another Arrow type than the schema's.
    ColumnType {
        /// Path of the column.
        column: String,
        /// The type the schema gives it.
        expected: &'static str,
    },
    /// A value cannot be encoded (see the [module docs](self#errors)).
    InvalidValue {
        /// Path of the column.
        column: String,
        /// Index in that column's array (a row for top-level columns).
        row: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The requested rows are not inside the batch.
    RowRange {
        /// The requested rows.
        rows: Range<usize>,
        /// Rows in the batch.
        batch_rows: usize,
    },
    /// The encoder failed: a bug in this module (a length computed differently from what
    /// was written), never caused by the input.
    Encode(EncodeError),
}

impl ReverseError {
    /// The same error with `prefix.` in front of its column path.
    fn under(self, prefix: &str) -> Self {
        let join = |c: String| {
            if c.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{c}")
            }
        };
        match self {
            Self::MissingColumn { column } => Self::MissingColumn {
                column: join(column),
            },
            Self::ColumnType { column, expected } => Self::ColumnType {
                column: join(column),
                expected,
            },
            Self::InvalidValue {
                column,
                row,
                reason,
            } => Self::InvalidValue {
                column: join(column),
                row,
                reason,
            },
            other => other,
        }
    }
}

impl fmt::Display for ReverseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingColumn { column } => write!(f, "column `{column}` is missing"),
            Self::ColumnType { column, expected } => {
                write!(f, "column `{column}` is not of type {expected}")
            }
            Self::InvalidValue {
                column,
                row,
                reason,
            } => write!(f, "column `{column}`, index {row}: {reason}"),
            Self::RowRange { rows, batch_rows } => write!(
                f,
                "rows {}..{} are not inside a batch of {batch_rows} rows",
                rows.start, rows.end
            ),
            Self::Encode(e) => write!(f, "encoding failed: {e}"),
        }
    }
}

impl std::error::Error for ReverseError {}

impl From<EncodeError> for ReverseError {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

/// What one call encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// The batch rows encoded (a prefix of the rows asked for when a limit stopped it).
    pub rows: Range<usize>,
    /// `Resource*` messages written.
    pub resources: usize,
    /// `Scope*` entries written.
    pub scopes: usize,
    /// `Metric` messages written (0 for traces and logs).
    pub metrics: usize,
    /// Items written: spans, data points or log records (`rows.len()`).
    pub items: usize,
    /// Bytes appended to the output.
    pub bytes: usize,
    /// Enum values (`kind`, `status_code`, `severity_number`) the encoder cannot represent,
    /// written as 0 (see the [module docs](self#what-comes-back)).
    pub coerced_enums: usize,
}

/// Bounds for [`BatchEncoder::encode_request_limited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request in bytes. A single item larger than this is still encoded, alone,
    /// so that a caller always makes progress.
    pub max_bytes: usize,
    /// Most items (spans, data points, log records) per request; 0 counts as 1.
    pub max_items: usize,
}

impl Limits {
    /// No limit.
    pub const NONE: Limits = Limits {
        max_bytes: usize::MAX,
        max_items: usize::MAX,
    };
}

/// One `Resource*` message body (without the request's field tag and length), as handed to
/// the callback of [`BatchEncoder::resource_records`].
#[derive(Debug, Clone)]
pub struct ResourceRecord<'a> {
    /// The message body: the same form as a ring record.
    pub bytes: &'a [u8],
    /// The batch rows it holds (`rows.len()` items).
    pub rows: Range<usize>,
}

/// A batch prepared for encoding: its columns looked up, typed and validated once, so that
/// any number of row ranges can then be encoded cheaply.
#[derive(Debug)]
pub struct BatchEncoder<'b> {
    rows: usize,
    cols: Cols<'b>,
}

#[derive(Debug)]
enum Cols<'b> {
    Traces(traces::TracesCols<'b>),
    Metrics(metrics::MetricsCols<'b>),
    Logs(logs::LogsCols<'b>),
}

/// Rows prepared in the first attempt when a byte limit may stop a request early: the views
/// of a candidate range are built before the cut is known. When the first candidate ends
/// within the limit, the next one is as many rows as the limit would hold at the rows'
/// average size so far (at least twice as many, at most the item cap), so a request far below
/// the byte limit costs one small extra attempt instead of a series of doublings.
const FIRST_CANDIDATE: usize = 256;

impl<'b> BatchEncoder<'b> {
    /// Prepares `batch`, which must have `signal`'s schema (columns found by name).
    pub fn new(signal: Signal, batch: &'b RecordBatch) -> Result<Self, ReverseError> {
        let t = Table::of_batch(batch);
        let cols = match signal {
            Signal::Traces => Cols::Traces(traces::TracesCols::new(&t)?),
            Signal::Metrics => Cols::Metrics(metrics::MetricsCols::new(&t)?),
            Signal::Logs => Cols::Logs(logs::LogsCols::new(&t)?),
        };
        Ok(BatchEncoder {
            rows: batch.num_rows(),
            cols,
        })
    }

    /// The signal of the batch.
    pub fn signal(&self) -> Signal {
        match self.cols {
            Cols::Traces(_) => Signal::Traces,
            Cols::Metrics(_) => Signal::Metrics,
            Cols::Logs(_) => Signal::Logs,
        }
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Appends one `Export*ServiceRequest` holding `rows` to `out`.
    pub fn encode_request(
        &self,
        rows: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<RequestStats, ReverseError> {
        self.encode_request_limited(rows, Limits::NONE, out)
    }

    /// Appends one `Export*ServiceRequest` holding the longest prefix of `rows` within
    /// `limits` (at least one row when `rows` is not empty) to `out`. The returned
    /// [`RequestStats::rows`] says where it stopped: continue from `rows.end`.
    ///
    /// On error `out` is left as it was.
    pub fn encode_request_limited(
        &self,
        rows: Range<usize>,
        limits: Limits,
        out: &mut Vec<u8>,
    ) -> Result<RequestStats, ReverseError> {
        self.check(&rows)?;
        let cap = rows.len().min(limits.max_items.max(1));
        let mut candidate = if limits.max_bytes == usize::MAX {
            cap
        } else {
            cap.min(FIRST_CANDIDATE)
        };
        loop {
            let range = rows.start..rows.start + candidate;
            let done = self.with_source(range, |src| -> Result<_, ReverseError> {
                let plan = plan::build(src, limits.max_bytes);
                if plan.stop() == Stop::End && candidate < cap {
                    return Ok(Err(plan.total()));
                }
                write_request(&plan, src, out)?;
                Ok(Ok(stats(&plan, src, rows.start)))
            })??;
            match done {
                Ok(s) => return Ok(s),
                Err(total) => {
                    // Rows the limit holds at this average size (integer math; the plan of
                    // the next candidate still stops exactly at the limit).
                    let fit = (limits.max_bytes / total.max(1)).saturating_mul(candidate);
                    candidate = fit.max(candidate.saturating_mul(2)).min(cap);
                }
            }
        }
    }

    /// Calls `f` with each `Resource*` message body of `rows`, in order, and returns the
    /// totals (`bytes` counts the bodies, without request framing).
    pub fn resource_records(
        &self,
        rows: Range<usize>,
        mut f: impl FnMut(ResourceRecord<'_>),
    ) -> Result<RequestStats, ReverseError> {
        self.check(&rows)?;
        let base = rows.start;
        self.with_source(rows, |src| {
            let plan = plan::build(src, usize::MAX);
            let mut scratch = Vec::new();
            let mut bytes = 0;
            plan.for_each_resource(src, |body, r, write| {
                scratch.clear();
                scratch.resize(body, 0);
                let mut w = Writer::new(&mut scratch);
                write(&mut w)?;
                if w.remaining() != 0 {
                    return Err(EncodeError::LengthMismatch);
                }
                bytes += body;
                f(ResourceRecord {
                    bytes: &scratch,
                    rows: base + r.start..base + r.end,
                });
                Ok(())
            })?;
            let mut s = stats(&plan, src, base);
            s.bytes = bytes;
            Ok(s)
        })?
    }

    fn check(&self, rows: &Range<usize>) -> Result<(), ReverseError> {
        if rows.start <= rows.end && rows.end <= self.rows {
            Ok(())
        } else {
            Err(ReverseError::RowRange {
                rows: rows.clone(),
                batch_rows: self.rows,
            })
        }
    }

    fn with_source<R>(
        &self,
        rows: Range<usize>,
        f: impl FnOnce(&dyn Source) -> R,
    ) -> Result<R, ReverseError> {
        match &self.cols {
            Cols::Traces(c) => c.with_source(rows, f),
            Cols::Metrics(c) => c.with_source(rows, f),
            Cols::Logs(c) => c.with_source(rows, f),
        }
    }
}

/// Appends the planned request to `out`; on error `out` is truncated back.
fn write_request(plan: &Plan, src: &dyn Source, out: &mut Vec<u8>) -> Result<(), ReverseError> {
    let old = out.len();
    out.resize(old + plan.total(), 0);
    let mut w = Writer::new(&mut out[old..]);
    let r = plan.write_request(src, &mut w).and_then(|()| {
        if w.remaining() == 0 {
            Ok(())
        } else {
            Err(EncodeError::LengthMismatch)
        }
    });
    if let Err(e) = r {
        out.truncate(old);
        return Err(e.into());
    }
    Ok(())
}

fn stats(plan: &Plan, src: &dyn Source, base: usize) -> RequestStats {
    let n = plan.rows();
    RequestStats {
        rows: base..base + n,
        resources: plan.groups(0),
        scopes: plan.groups(1),
        metrics: plan.groups(2),
        items: n,
        bytes: plan.total(),
        coerced_enums: src.coerced().iter().filter(|&&i| i < n).count(),
    }
}

/// Appends the rows of `batch` (traces schema) to `out` as one `ExportTraceServiceRequest`.
pub fn traces_request(
    batch: &RecordBatch,
    out: &mut Vec<u8>,
) -> Result<RequestStats, ReverseError> {
    request(Signal::Traces, batch, out)
}

/// Appends the rows of `batch` (metrics schema) to `out` as one
/// `ExportMetricsServiceRequest`.
pub fn metrics_request(
    batch: &RecordBatch,
    out: &mut Vec<u8>,
) -> Result<RequestStats, ReverseError> {
    request(Signal::Metrics, batch, out)
}

/// Appends the rows of `batch` (logs schema) to `out` as one `ExportLogsServiceRequest`.
pub fn logs_request(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<RequestStats, ReverseError> {
    request(Signal::Logs, batch, out)
}

/// Appends the rows of `batch` (with `signal`'s schema) to `out` as one request.
pub fn request(
    signal: Signal,
    batch: &RecordBatch,
    out: &mut Vec<u8>,
) -> Result<RequestStats, ReverseError> {
    BatchEncoder::new(signal, batch)?.encode_request(0..batch.num_rows(), out)
}

/// Calls `f` with each `Resource*` message body of `rows` of `batch` (see
/// [`BatchEncoder::resource_records`]).
pub fn resource_records(
    signal: Signal,
    batch: &RecordBatch,
    rows: Range<usize>,
    f: impl FnMut(ResourceRecord<'_>),
) -> Result<RequestStats, ReverseError> {
    BatchEncoder::new(signal, batch)?.resource_records(rows, f)
}

#[cfg(test)]
mod tests;
