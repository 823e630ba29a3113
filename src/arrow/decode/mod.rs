//! OTLP wire records straight into Arrow record batches.
//!
//! A ring record is one `ResourceSpans` / `ResourceMetrics` / `ResourceLogs` message (the bytes
//! inside the outer field-1 tag of an `Export*ServiceRequest`). A drain thread holds one
//! [`Decoder`] per signal, [`append`](Decoder::append)s each record it reads, and calls
//! [`finish`](Decoder::finish) to take a [`RecordBatch`] with the signal's schema
//! ([`schema::traces`], [`schema::metrics`], [`schema::logs`]; one row per span / data point /
//! log record).
//!
//! What it promises:
//! - **No object tree, no per-record allocation.** Fields are read from the record bytes by a
//!   bounds-checked protobuf reader and pushed into reused column buffers; strings and bytes
//!   are borrowed from the record until copied into their column. A resource's (scope's)
//!   attributes are parsed for its first row and copied within the column for the others.
//!   Allocation happens only when a column buffer grows, and once per column in `finish` (the
//!   finished buffers move into the batch; the next batch starts at the last one's size).
//!   `tests/arrow_decode.rs` counts allocations: zero per record in the steady state.
//! - **A malformed record is rejected whole.** Every column remembers its length at the last
//!   accepted record; on any error the decoder truncates back to it, so nothing of the record
//!   stays, `rows()` does not move and the next record decodes as if the bad one never came.
//!   The [`DecodeError`] says which message or field, at which byte, and what was wrong.
//! - **prost semantics** (the reference the tests compare against): fields in any order,
//!   unknown fields skipped, a later scalar wins, repeated scalars packed or not, singular
//!   messages that occur twice merge, missing fields are proto3 defaults. Strings must be
//!   UTF-8. Ids must be empty or exactly 16 (trace) / 8 (span) bytes; an empty id is null in a
//!   nullable id column and all zeros in a non-nullable one (`trace_id`, `span_id`, a link's
//!   ids). Nested `ArrayValue` / `KeyValueList` attribute values are kept as their protobuf
//!   bytes, not parsed (see `docs/SCHEMA.md`).
//! - **Never panics on input, never builds an invalid batch.** The batch is checked against
//!   the schema by `RecordBatch::try_new`; offsets past Arrow's 2 GiB limit reject the record
//!   with [`DecodeErrorKind::BatchFull`] instead of wrapping.
#![deny(unsafe_code)]

mod attributes;
mod columns;
mod common;
mod error;
mod logs;
mod metrics;
mod reader;
#[allow(unsafe_code)] // the one exception; see its docs
mod strings;
mod traces;

use arrow_array::RecordBatch;

pub use error::{DecodeError, DecodeErrorKind};
pub use logs::LogsDecoder;
pub use metrics::MetricsDecoder;
pub use traces::TracesDecoder;

use crate::signal::Signal;
use columns::Column;

#[cfg(doc)]
use crate::arrow::schema;

/// Decodes one signal's ring records into Arrow record batches (object-safe, so a drain thread
/// can hold a `Box<dyn Decoder>`).
pub trait Decoder: Send {
    /// The signal whose records this decoder takes.
    fn signal(&self) -> Signal;

    /// Appends every item (span / data point / log record) of one record and returns how many
    /// rows that added. A malformed record is rejected whole: nothing of it is appended and the
    /// decoder is exactly as before the call.
    fn append(&mut self, record: &[u8]) -> Result<usize, DecodeError>;

    /// Rows buffered since the last [`finish`](Decoder::finish).
    fn rows(&self) -> usize;

    /// The rows so far as a batch with the signal's schema (possibly empty). The decoder is
    /// then empty and reuses its buffers for the next batch.
    ///
    /// Never panics on any input accepted by `append`; a panic here would mean a broken
    /// internal invariant (a bug).
    fn finish(&mut self) -> RecordBatch;

    /// A new, empty decoder of the same kind (a drain keeps two or three, so that one is
    /// finished on its writer thread while the next batch decodes into another).
    fn new_empty(&self) -> Box<dyn Decoder> {
        decoder_for(self.signal())
    }
}

/// A new decoder for `signal`.
pub fn decoder_for(signal: Signal) -> Box<dyn Decoder> {
    match signal {
        Signal::Traces => Box::new(TracesDecoder::new()),
        Signal::Metrics => Box::new(MetricsDecoder::new()),
        Signal::Logs => Box::new(LogsDecoder::new()),
    }
}

/// Runs `decode` as one transaction over `cols`: commits on success (and adds the rows to
/// `rows`), rolls back on error or when an offset no longer fits.
fn transact<C: Column>(
    cols: &mut C,
    rows: &mut usize,
    decode: impl FnOnce(&mut C) -> Result<usize, DecodeError>,
) -> Result<usize, DecodeError> {
    match decode(cols) {
        Ok(n) if cols.fits() => {
            cols.commit();
            *rows += n;
            Ok(n)
        }
        Ok(_) => {
            cols.rollback();
            Err(DecodeError::new(DecodeErrorKind::BatchFull, 0, "batch"))
        }
        Err(e) => {
            cols.rollback();
            Err(e)
        }
    }
}

/// Builds the batch; the columns are consistent by construction (see [`Decoder::finish`]).
fn batch(
    schema: arrow_schema::SchemaRef,
    columns: Vec<arrow_array::ArrayRef>,
    rows: usize,
) -> RecordBatch {
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    match RecordBatch::try_new_with_options(schema, columns, &options) {
        Ok(b) => b,
        Err(e) => panic!("decoder invariant broken: columns do not match the schema: {e}"),
    }
}
