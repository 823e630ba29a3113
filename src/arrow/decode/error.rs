//! [`DecodeError`]: why a record was rejected, and where.
#![forbid(unsafe_code)]

use core::fmt;

/// What was wrong with a rejected record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A field, length or varint runs past the end of its enclosing message.
    Truncated,
    /// A varint longer than 10 bytes or above `u64::MAX`.
    InvalidVarint,
    /// A field key above `u32::MAX` or with field number 0.
    InvalidTag,
    /// Wire type 6 or 7, an end-group without its start, or groups nested too deeply.
    InvalidWireType,
    /// A known field arrived with a wire type its declared type does not allow.
    WrongWireType,
    /// A `string` field is not UTF-8.
    InvalidUtf8,
    /// A trace id that is neither empty nor 16 bytes, or a span id neither empty nor 8 bytes.
    InvalidIdLength,
    /// A packed `fixed64`/`double` field whose length is not a multiple of 8.
    InvalidPackedLength,
    /// The record would push a column of the batch past Arrow's 2 GiB (`i32` offset) limit;
    /// call `finish()` and append it again.
    BatchFull,
}

impl DecodeErrorKind {
    fn describe(self) -> &'static str {
        match self {
            DecodeErrorKind::Truncated => "truncated",
            DecodeErrorKind::InvalidVarint => "invalid varint",
            DecodeErrorKind::InvalidTag => "invalid field key",
            DecodeErrorKind::InvalidWireType => "invalid wire type or unmatched group",
            DecodeErrorKind::WrongWireType => "wrong wire type for the field",
            DecodeErrorKind::InvalidUtf8 => "string is not UTF-8",
            DecodeErrorKind::InvalidIdLength => "id has the wrong length",
            DecodeErrorKind::InvalidPackedLength => "packed length is not a multiple of 8",
            DecodeErrorKind::BatchFull => "batch column would exceed 2 GiB; finish the batch first",
        }
    }
}

/// A record the decoder rejected. Nothing of the record was appended.
///
/// Cheap to create and `Copy` (no allocation on the error path either). `Display` gives the
/// message or field being read, the byte offset inside the record, and what was wrong, e.g.
/// `malformed OTLP record: Span.trace_id at byte 57: id has the wrong length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    offset: usize,
    context: &'static str,
}

impl DecodeError {
    pub(crate) const fn new(kind: DecodeErrorKind, offset: usize, context: &'static str) -> Self {
        DecodeError {
            kind,
            offset,
            context,
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Byte offset inside the record (the `Resource*` message bytes) of the field or value at
    /// fault.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The OTLP message or field being read, e.g. `Span.trace_id` or `KeyValue`.
    pub fn context(&self) -> &'static str {
        self.context
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed OTLP record: {} at byte {}: {}",
            self.context,
            self.offset,
            self.kind.describe()
        )
    }
}

impl std::error::Error for DecodeError {}
