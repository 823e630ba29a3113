//! [`LogsDecoder`]: `ResourceLogs` records -> rows of [`schema::logs`], one per log record.
//!
//! `body` is an `AnyValue` like an attribute value: null when the record has no body, type
//! tag 0 when it has an empty one; a body occurring twice merges as prost merges it.
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use arrow_array::types::{Int32Type, UInt32Type};
use arrow_array::{ArrayRef, RecordBatch};

use super::attributes::{AnyCol, AnyFold, Attrs};
use super::columns::{Fixed, Prim, Strs, Times, columns, finish_times};
use super::common::{CommonCols, Items, Names, walk};
use super::error::DecodeError;
use super::reader::{Reader, Text};
use super::{Decoder, batch, transact};
use crate::arrow::schema;
use crate::signal::Signal;
use crate::wire::fields::log_record as lr;

const NAMES: Names = Names {
    resource_items: "ResourceLogs",
    scope_items: "ScopeLogs",
    item: "LogRecord",
};

/// Decodes `ResourceLogs` records into [`schema::logs`] batches. See [`Decoder`].
pub struct LogsDecoder {
    cols: LogCols,
    rows: usize,
}

impl fmt::Debug for LogsDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogsDecoder")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Default for LogsDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl LogsDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        LogsDecoder {
            cols: LogCols::default(),
            rows: 0,
        }
    }
}

impl Decoder for LogsDecoder {
    fn signal(&self) -> Signal {
        Signal::Logs
    }

    fn append(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        transact(&mut self.cols, &mut self.rows, |cols| cols.record(record))
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> RecordBatch {
        let rows = core::mem::take(&mut self.rows);
        batch(schema::logs(), self.cols.finish(), rows)
    }
}

#[derive(Debug, Default)]
struct LogCols {
    common: CommonCols,
    time_unix_nano: Times,
    observed_time_unix_nano: Times,
    severity_number: Prim<Int32Type>,
    severity_text: Strs,
    body: AnyCol,
    attributes: Attrs,
    dropped_attributes_count: Prim<UInt32Type>,
    flags: Prim<UInt32Type>,
    trace_id: Fixed<16>,
    span_id: Fixed<8>,
    event_name: Strs,
    /// Scratch for merged nested attribute values (not a column).
    buf: Vec<u8>,
    /// Scratch for a merged nested body value, apart from `buf` because attributes may be
    /// parsed while the body's fold is still open.
    body_buf: Vec<u8>,
}

columns!(LogCols {
    common,
    time_unix_nano,
    observed_time_unix_nano,
    severity_number,
    severity_text,
    body,
    attributes,
    dropped_attributes_count,
    flags,
    trace_id,
    span_id,
    event_name,
});

impl Items for LogCols {
    #[inline]
    fn item(&mut self, buf: &mut Vec<u8>, r: Reader<'_>) -> Result<usize, DecodeError> {
        self.log_record(buf, r).map(|()| 1)
    }

    #[inline]
    fn common(&mut self) -> &mut CommonCols {
        &mut self.common
    }
}

impl LogCols {
    fn record(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        self.common.start_record();
        let mut buf = core::mem::take(&mut self.buf);
        let rows = walk(record, &NAMES, &mut buf, self);
        self.buf = buf;
        rows
    }

    fn log_record(&mut self, buf: &mut Vec<u8>, mut r: Reader<'_>) -> Result<(), DecodeError> {
        let (mut time, mut observed, mut severity_number, mut severity_text) =
            (0, 0, 0, Text::EMPTY);
        let (mut dropped, mut flags, mut event_name) = (0, 0, Text::EMPTY);
        let (mut trace_id, mut span_id) = (None, None);
        let mut body = AnyFold::new(&mut self.body_buf);
        while let Some(f) = r.next()? {
            match f.num {
                lr::TIME_UNIX_NANO => time = f.fixed64("LogRecord.time_unix_nano")?,
                lr::SEVERITY_NUMBER => severity_number = f.int32("LogRecord.severity_number")?,
                lr::SEVERITY_TEXT => severity_text = f.str("LogRecord.severity_text")?,
                lr::BODY => body.feed(f.message("LogRecord.body")?)?,
                lr::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                lr::DROPPED_ATTRIBUTES_COUNT => {
                    dropped = f.uint32("LogRecord.dropped_attributes_count")?;
                }
                lr::FLAGS => flags = f.fixed32("LogRecord.flags")?,
                lr::TRACE_ID => trace_id = f.id::<16>("LogRecord.trace_id")?,
                lr::SPAN_ID => span_id = f.id::<8>("LogRecord.span_id")?,
                lr::OBSERVED_TIME_UNIX_NANO => {
                    observed = f.fixed64("LogRecord.observed_time_unix_nano")?;
                }
                lr::EVENT_NAME => event_name = f.str("LogRecord.event_name")?,
                _ => {}
            }
        }
        self.time_unix_nano.push(time as i64);
        self.observed_time_unix_nano.push(observed as i64);
        self.severity_number.push(severity_number);
        self.severity_text.push(severity_text);
        self.body.push(body.finish());
        self.attributes.end_row();
        self.dropped_attributes_count.push(dropped);
        self.flags.push(flags);
        self.trace_id.push_opt(trace_id);
        self.span_id.push_opt(span_id);
        self.event_name.push(event_name);
        Ok(())
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut out = Vec::with_capacity(19);
        self.common.finish(&mut out);
        out.push(finish_times(&mut self.time_unix_nano));
        out.push(finish_times(&mut self.observed_time_unix_nano));
        out.push(Arc::new(self.severity_number.finish()));
        out.push(Arc::new(self.severity_text.finish()));
        out.push(Arc::new(self.body.finish()));
        out.push(Arc::new(self.attributes.finish()));
        out.push(Arc::new(self.dropped_attributes_count.finish()));
        out.push(Arc::new(self.flags.finish()));
        out.push(Arc::new(self.trace_id.finish()));
        out.push(Arc::new(self.span_id.finish()));
        out.push(Arc::new(self.event_name.finish()));
        out
    }
}
