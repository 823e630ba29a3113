//! Logs rows -> `LogRecord` views: one log record per row; a null `body` is no body, a body
//! with type tag 0 an empty `AnyValue` that is present.
#![forbid(unsafe_code)]

use core::ops::Range;

use arrow_array::{FixedSizeBinaryArray, StringArray};

use super::ReverseError;
use super::attributes::{Cell, MapCols, MapRow, ValueCols};
use super::columns::{CommonCols, Table, opt_id};
use super::plan::Source;
use crate::wire::encode::{Encode, EncodeError, LogRecord, SeverityNumber, Writer};
use crate::wire::fields::scope_items;

/// The columns of a logs batch.
#[derive(Debug)]
pub(super) struct LogsCols<'b> {
    common: CommonCols<'b>,
    time: &'b [i64],
    observed_time: &'b [i64],
    severity_number: &'b [i32],
    severity_text: &'b StringArray,
    body: ValueCols<'b>,
    attributes: MapCols<'b>,
    dropped_attributes: &'b [u32],
    flags: &'b [u32],
    trace_id: &'b FixedSizeBinaryArray,
    span_id: &'b FixedSizeBinaryArray,
    event_name: &'b StringArray,
}

impl<'b> LogsCols<'b> {
    pub(super) fn new(t: &Table<'b>) -> Result<Self, ReverseError> {
        Ok(LogsCols {
            common: CommonCols::new(t)?,
            time: t.times("time_unix_nano")?,
            observed_time: t.times("observed_time_unix_nano")?,
            severity_number: t.i32s("severity_number")?.values(),
            severity_text: t.utf8("severity_text")?,
            body: t.any_value("body")?,
            attributes: t.map("attributes")?,
            dropped_attributes: t.u32s("dropped_attributes_count")?,
            flags: t.u32s("flags")?,
            trace_id: t.ids("trace_id", 16)?,
            span_id: t.ids("span_id", 8)?,
            event_name: t.utf8("event_name")?,
        })
    }

    /// Builds the log record views of `rows` and calls `f` with them as a plan [`Source`].
    pub(super) fn with_source<R>(
        &self,
        rows: Range<usize>,
        f: impl FnOnce(&dyn Source) -> R,
    ) -> Result<R, ReverseError> {
        // Attribute lists and bodies first: the views hold references into these vectors.
        let attrs: Vec<MapRow<'_>> = rows.clone().map(|r| self.attributes.row(r)).collect();
        let bodies: Vec<Option<Cell<'_>>> = rows.clone().map(|r| self.body.cell(r)).collect();
        let mut coerced = Vec::new();
        let mut logs = Vec::with_capacity(rows.len());
        for (i, r) in rows.clone().enumerate() {
            let severity_number =
                SeverityNumber::from_i32(self.severity_number[r]).unwrap_or_else(|| {
                    coerced.push(i);
                    SeverityNumber::Unspecified
                });
            logs.push(LogRecord {
                time_unix_nano: self.time[r] as u64,
                observed_time_unix_nano: self.observed_time[r] as u64,
                severity_number,
                severity_text: self.severity_text.value(r),
                body: bodies[i].as_ref(),
                attributes: &attrs[i],
                dropped_attributes_count: self.dropped_attributes[r],
                flags: self.flags[r],
                trace_id: opt_id(self.trace_id, r),
                span_id: opt_id(self.span_id, r),
                event_name: self.event_name.value(r),
            });
        }
        Ok(f(&LogsSource {
            cols: self,
            base: rows.start,
            logs: &logs,
            coerced: &coerced,
        }))
    }
}

struct LogsSource<'s, 'b> {
    cols: &'s LogsCols<'b>,
    base: usize,
    logs: &'s [LogRecord<'s, MapRow<'s>, Cell<'s>>],
    coerced: &'s [usize],
}

impl Source for LogsSource<'_, '_> {
    fn depth(&self) -> usize {
        2
    }
    fn item_field(&self) -> u32 {
        scope_items::ITEMS
    }
    fn len(&self) -> usize {
        self.logs.len()
    }
    fn first_new_level(&self, i: usize) -> usize {
        self.cols.common.first_new_level(self.base + i).unwrap_or(2)
    }
    fn field(&self, level: usize, _i: usize) -> u32 {
        CommonCols::field(level)
    }
    fn own_len(&self, level: usize, i: usize) -> usize {
        self.cols.common.own_len(level, self.base + i)
    }
    fn item_len(&self, i: usize) -> usize {
        self.logs[i].encoded_len()
    }
    fn write_pre(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.cols.common.write_pre(level, self.base + i, w)
    }
    fn write_post(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.cols.common.write_post(level, self.base + i, w)
    }
    fn write_item(&self, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.logs[i].encode_to(w)
    }
    fn coerced(&self) -> &[usize] {
        self.coerced
    }
}
