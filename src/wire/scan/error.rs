//! [`ScanError`]: what was wrong with a request, at which byte, and where in the message tree.
//!
//! The error is `Copy`, allocation-free and at most 128 bytes. Inside the scanner it never
//! travels: the failing primitive writes it into the scan's [`Slot`] and returns the
//! zero-sized [`Failed`]; each level appends its own path segment while `Failed` propagates
//! *out* (cold path), so the happy path neither maintains a breadcrumb stack nor moves large
//! `Result`s. The path keeps at most
//! [`Path::CAPACITY`] segments: when nesting is deeper, the innermost [`Path::LEAF`] segments and
//! the outermost ones are kept and the middle is elided (shown as `…`).
#![forbid(unsafe_code)]

use core::cell::Cell;
use core::fmt;

/// Generates [`FieldName`], the field names that can appear in a [`Path`], with their proto spelling.
macro_rules! names {
    ($($variant:ident = $text:literal,)*) => {
        /// A proto field name in a [`Path`] (`repr(u8)` to keep [`ScanError`] small).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub(crate) enum FieldName {
            $($variant,)*
            /// A field the scanner does not know; its number is the segment's index.
            Unknown,
        }

        impl FieldName {
            /// The proto field name, snake_case as in the `.proto` files.
            pub(crate) const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown => "",
                }
            }
        }
    };
}

names! {
    ResourceSpans = "resource_spans",
    ResourceMetrics = "resource_metrics",
    ResourceLogs = "resource_logs",
    Resource = "resource",
    ScopeSpans = "scope_spans",
    ScopeMetrics = "scope_metrics",
    ScopeLogs = "scope_logs",
    SchemaUrl = "schema_url",
    Scope = "scope",
    Spans = "spans",
    Metrics = "metrics",
    LogRecords = "log_records",
    Attributes = "attributes",
    DroppedAttributesCount = "dropped_attributes_count",
    EntityRefs = "entity_refs",
    Type = "type",
    IdKeys = "id_keys",
    DescriptionKeys = "description_keys",
    Name = "name",
    Version = "version",
    Key = "key",
    Value = "value",
    KeyStrindex = "key_strindex",
    StringValue = "string_value",
    BoolValue = "bool_value",
    IntValue = "int_value",
    DoubleValue = "double_value",
    ArrayValue = "array_value",
    KvlistValue = "kvlist_value",
    BytesValue = "bytes_value",
    StringValueStrindex = "string_value_strindex",
    Values = "values",
    TraceId = "trace_id",
    SpanId = "span_id",
    TraceState = "trace_state",
    ParentSpanId = "parent_span_id",
    Flags = "flags",
    Kind = "kind",
    StartTimeUnixNano = "start_time_unix_nano",
    EndTimeUnixNano = "end_time_unix_nano",
    Events = "events",
    DroppedEventsCount = "dropped_events_count",
    Links = "links",
    DroppedLinksCount = "dropped_links_count",
    Status = "status",
    TimeUnixNano = "time_unix_nano",
    Message = "message",
    Code = "code",
    Description = "description",
    Unit = "unit",
    Gauge = "gauge",
    Sum = "sum",
    Histogram = "histogram",
    ExponentialHistogram = "exponential_histogram",
    Summary = "summary",
    Metadata = "metadata",
    DataPoints = "data_points",
    AggregationTemporality = "aggregation_temporality",
    IsMonotonic = "is_monotonic",
    AsDouble = "as_double",
    AsInt = "as_int",
    Exemplars = "exemplars",
    Count = "count",
    BucketCounts = "bucket_counts",
    ExplicitBounds = "explicit_bounds",
    Min = "min",
    Max = "max",
    Scale = "scale",
    ZeroCount = "zero_count",
    Positive = "positive",
    Negative = "negative",
    ZeroThreshold = "zero_threshold",
    Offset = "offset",
    QuantileValues = "quantile_values",
    Quantile = "quantile",
    FilteredAttributes = "filtered_attributes",
    ObservedTimeUnixNano = "observed_time_unix_nano",
    SeverityNumber = "severity_number",
    SeverityText = "severity_text",
    Body = "body",
    EventName = "event_name",
}

/// Index value meaning "this segment is not an element of a repeated field".
const NO_INDEX: u32 = u32::MAX;

/// One step of a [`Path`]: a field name and, for repeated fields, the element's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathSegment {
    /// The proto field name (`"spans"`, `"trace_id"`...); empty for a field unknown to the
    /// scanner, whose number is then in `index`.
    pub field: &'static str,
    /// The element index for repeated fields (0-based, among occurrences of that field in its
    /// message); the field number for unknown fields; `None` for singular fields.
    pub index: Option<u32>,
}

impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field, self.index) {
            ("", Some(number)) => write!(f, "#{number}"),
            (field, Some(index)) => write!(f, "{field}[{index}]"),
            (field, None) => f.write_str(field),
        }
    }
}

/// Where in the message tree an error is: `resource_spans[2].scope_spans[0].spans[5].trace_id`.
///
/// Fixed capacity, no allocation. Segments are stored innermost first (the order in which the
/// failing scanner levels add them); [`Path::iter`] yields them outermost first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    names: [FieldName; Path::CAPACITY],
    indexes: [u32; Path::CAPACITY],
    len: u8,
    elided: bool,
}

impl Path {
    /// Most segments a path keeps.
    pub const CAPACITY: usize = 16;
    /// Innermost segments always kept when a deeper path is elided.
    pub const LEAF: usize = 4;

    const EMPTY: Path = Path {
        names: [FieldName::Unknown; Path::CAPACITY],
        indexes: [NO_INDEX; Path::CAPACITY],
        len: 0,
        elided: false,
    };

    /// Appends an outer segment. When full, the segment next to the kept leaf part is dropped,
    /// so the path keeps its innermost `LEAF` and its outermost `CAPACITY - LEAF` segments.
    fn push_outer(&mut self, name: FieldName, index: u32) {
        let len = usize::from(self.len);
        if len < Self::CAPACITY {
            self.names[len] = name;
            self.indexes[len] = index;
            self.len += 1;
        } else {
            self.names.copy_within(Self::LEAF + 1.., Self::LEAF);
            self.indexes.copy_within(Self::LEAF + 1.., Self::LEAF);
            self.names[Self::CAPACITY - 1] = name;
            self.indexes[Self::CAPACITY - 1] = index;
            self.elided = true;
        }
    }

    /// Number of segments kept.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when the error is at the request's top level (no segment).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when middle segments were dropped because the path was deeper than
    /// [`Path::CAPACITY`]; they sat between the first `CAPACITY - LEAF` and the last `LEAF`
    /// segments that [`Path::iter`] yields.
    pub fn is_elided(&self) -> bool {
        self.elided
    }

    /// The segments, outermost first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = PathSegment> + ExactSizeIterator + '_ {
        (0..self.len()).rev().map(|i| self.segment(i))
    }

    fn segment(&self, i: usize) -> PathSegment {
        let name = self.names[i];
        let index = self.indexes[i];
        PathSegment {
            field: name.as_str(),
            index: (index != NO_INDEX).then_some(index),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for i in (0..self.len()).rev() {
            if i + 1 != self.len() {
                f.write_str(".")?;
            }
            if self.elided && i + 1 == Self::LEAF {
                f.write_str("….")?;
            }
            fmt::Display::fmt(&self.segment(i), f)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

/// Protobuf wire types, as the scanner names them in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireType {
    /// 0: varint (`int32`, `uint64`, `bool`, enums...).
    Varint,
    /// 1: 8 bytes (`fixed64`, `sfixed64`, `double`).
    I64,
    /// 2: length-delimited (`string`, `bytes`, messages, packed repeated scalars).
    Len,
    /// 3: start group (deprecated; never used by OTLP, always refused).
    StartGroup,
    /// 4: end group (deprecated; never used by OTLP, always refused).
    EndGroup,
    /// 5: 4 bytes (`fixed32`, `float`).
    I32,
    /// 6 or 7: not a protobuf wire type.
    Invalid(u8),
}

impl WireType {
    pub(crate) const fn from_bits(bits: u8) -> Self {
        match bits {
            0 => Self::Varint,
            1 => Self::I64,
            2 => Self::Len,
            3 => Self::StartGroup,
            4 => Self::EndGroup,
            5 => Self::I32,
            other => Self::Invalid(other),
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Varint => f.write_str("VARINT (0)"),
            Self::I64 => f.write_str("I64 (1)"),
            Self::Len => f.write_str("LEN (2)"),
            Self::StartGroup => f.write_str("SGROUP (3)"),
            Self::EndGroup => f.write_str("EGROUP (4)"),
            Self::I32 => f.write_str("I32 (5)"),
            Self::Invalid(bits) => write!(f, "invalid ({bits})"),
        }
    }
}

/// The wire type(s) a known field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// Exactly this wire type.
    One(WireType),
    /// A repeated scalar: packed (`LEN`) or one unpacked element of this wire type.
    PackedOr(WireType),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::One(wire) => fmt::Display::fmt(wire, f),
            Self::PackedOr(wire) => write!(f, "LEN (2, packed) or {wire}"),
        }
    }
}

/// What was wrong. The [`ScanError`] says where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A varint (tag, length or value) runs past the end of its enclosing message.
    TruncatedVarint,
    /// A varint has more than 10 bytes.
    VarintTooLong,
    /// A 10-byte varint whose last byte is above 1: the value does not fit 64 bits.
    VarintOverflow,
    /// A tag whose varint does not fit 32 bits (field numbers end at 2^29 - 1).
    TagTooLarge,
    /// A tag with field number 0.
    FieldNumberZero,
    /// A length prefix larger than what is left of the enclosing message.
    LengthPastEnd {
        /// The declared length.
        len: u64,
        /// Bytes left in the enclosing message after the length prefix.
        available: usize,
    },
    /// A fixed-width value (`fixed32`/`fixed64`/`double`) cut off by the end of its message.
    TruncatedFixed {
        /// Bytes the value needs (4 or 8).
        needed: u8,
        /// Bytes left in the enclosing message.
        available: usize,
    },
    /// Group wire types (3, 4) are refused everywhere, also in unknown fields: deprecated,
    /// never used by OTLP, and skipping them would need unbounded nesting.
    GroupWireType(WireType),
    /// Wire type 6 or 7, which protobuf does not define.
    InvalidWireType(u8),
    /// A known field with a wire type its proto type does not allow.
    WrongWireType {
        /// What the field's proto type allows.
        expected: Expected,
        /// What the tag said.
        got: WireType,
    },
    /// A `string` field that is not valid UTF-8 (the error offset is the first bad byte).
    InvalidUtf8,
    /// A trace or span id of the wrong length.
    IdLength {
        /// The id's length (16 for trace ids, 8 for span ids).
        expected: u8,
        /// Whether an empty id is also allowed here.
        empty_allowed: bool,
        /// The length received.
        got: usize,
    },
    /// A span's own `trace_id` or `span_id` made only of zero bytes (invalid per OTLP).
    ZeroId,
    /// A span without its required `trace_id` or `span_id` (offset: start of the span).
    MissingId,
    /// A packed `fixed64`/`double` field whose length is not a multiple of 8.
    PackedLength {
        /// The packed field's length.
        len: usize,
    },
    /// Messages nested deeper than [`MAX_NESTING`](super::MAX_NESTING) levels (through
    /// `AnyValue` arrays and key-value lists).
    TooDeep,
    /// More than `u32::MAX` items (spans, data points, log records) in one `Resource*` message.
    TooManyItems,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TruncatedVarint => f.write_str("varint runs past the end of its message"),
            Self::VarintTooLong => f.write_str("varint longer than 10 bytes"),
            Self::VarintOverflow => f.write_str("varint overflows 64 bits (10th byte > 1)"),
            Self::TagTooLarge => f.write_str("tag does not fit 32 bits"),
            Self::FieldNumberZero => f.write_str("field number 0 is invalid"),
            Self::LengthPastEnd { len, available } => write!(
                f,
                "length {len} runs past the end of its message ({available} bytes left)"
            ),
            Self::TruncatedFixed { needed, available } => write!(
                f,
                "fixed-width value needs {needed} bytes, only {available} left in its message"
            ),
            Self::GroupWireType(wire) => write!(f, "group wire type {wire} is not supported"),
            Self::InvalidWireType(bits) => write!(f, "invalid wire type {bits}"),
            Self::WrongWireType { expected, got } => {
                write!(f, "wrong wire type: expected {expected}, got {got}")
            }
            Self::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Self::IdLength {
                expected,
                empty_allowed,
                got,
            } => {
                if empty_allowed {
                    write!(f, "expected 0 or {expected} bytes, got {got}")
                } else {
                    write!(f, "expected {expected} bytes, got {got}")
                }
            }
            Self::ZeroId => f.write_str("all-zero id is invalid"),
            Self::MissingId => f.write_str("required id is missing"),
            Self::PackedLength { len } => {
                write!(f, "packed length {len} is not a multiple of 8")
            }
            Self::TooDeep => write!(
                f,
                "messages nested deeper than {} levels",
                super::MAX_NESTING
            ),
            Self::TooManyItems => f.write_str("more than 4294967295 items in one resource"),
        }
    }
}

/// A request the scanner refused: what ([`ErrorKind`]), at which byte offset of the input, and
/// where in the message tree ([`Path`]).
///
/// `Display` gives a message fit for an OTLP `InvalidArgument` status or an HTTP 400 body:
/// `at byte 1234, resource_spans[2].scope_spans[0].spans[5].trace_id: expected 16 bytes, got 15`.
/// Offsets count from the start of the bytes that were scanned (the request, or the single
/// `Resource*` message given to [`scan_resource`](super::scan_resource)).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScanError {
    offset: usize,
    kind: ErrorKind,
    path: Path,
}

impl ScanError {
    /// A new error without path; scanner levels add their segments as it propagates.
    pub(crate) fn new(offset: usize, kind: ErrorKind) -> Self {
        Self {
            offset,
            kind,
            path: Path::EMPTY,
        }
    }

    /// Adds the enclosing field `name` (singular) to the path.
    pub(crate) fn within(mut self, name: FieldName) -> Self {
        self.path.push_outer(name, NO_INDEX);
        self
    }

    /// Adds the enclosing repeated field `name`, element `index`, to the path.
    pub(crate) fn within_index(mut self, name: FieldName, index: u32) -> Self {
        // A real index is at most u32::MAX - 1: an element needs at least 2 bytes of input.
        self.path.push_outer(name, index.min(NO_INDEX - 1));
        self
    }

    /// Byte offset of the offending element (tag, length prefix, value or first bad byte).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where in the message tree.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}", self.offset)?;
        if !self.path.is_empty() {
            write!(f, ", {}", self.path)?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl fmt::Debug for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanError")
            .field("offset", &self.offset)
            .field("kind", &self.kind)
            .field("path", &format_args!("{}", self.path))
            .finish()
    }
}

impl core::error::Error for ScanError {}

/// An error happened; its details are in the scan's [`Slot`]. Zero-sized, so the scanner's
/// internal `Result`s fit in registers and the hot path never moves a [`ScanError`] around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failed;

/// The scanner's internal result.
pub(crate) type Scan<T> = Result<T, Failed>;

/// Where a scan records its error: written once by the failing primitive, then extended with
/// one path segment per level while [`Failed`] propagates out (cold paths only).
#[derive(Debug)]
pub(crate) struct Slot(Cell<ScanError>);

impl Slot {
    pub(crate) const fn new() -> Self {
        Self(Cell::new(ScanError {
            offset: 0,
            kind: ErrorKind::TruncatedVarint,
            path: Path::EMPTY,
        }))
    }

    /// Records a new error (without path) and returns the marker to propagate.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&self, offset: usize, kind: ErrorKind) -> Failed {
        self.0.set(ScanError::new(offset, kind));
        Failed
    }

    /// Adds an enclosing field to the recorded error's path; `index` is `None` for singular
    /// fields.
    #[cold]
    #[inline(never)]
    pub(crate) fn push(&self, name: FieldName, index: Option<u32>) {
        let error = self.0.get();
        self.0.set(match index {
            Some(index) => error.within_index(name, index),
            None => error.within(name),
        });
    }

    /// The recorded error.
    pub(crate) fn error(&self) -> ScanError {
        self.0.get()
    }
}

/// Adds path segments to a failed result on the way out (no cost on `Ok`).
pub(crate) trait At: Sized {
    /// The failure happened inside singular field `name`.
    fn at(self, slot: &Slot, name: FieldName) -> Self;
    /// The failure happened inside element `index` of repeated field `name`.
    fn at_index(self, slot: &Slot, name: FieldName, index: u32) -> Self;
}

impl<T> At for Scan<T> {
    #[inline(always)]
    fn at(self, slot: &Slot, name: FieldName) -> Self {
        if self.is_err() {
            slot.push(name, None);
        }
        self
    }

    #[inline(always)]
    fn at_index(self, slot: &Slot, name: FieldName, index: u32) -> Self {
        if self.is_err() {
            slot.push(name, Some(index));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_reads_outermost_first() {
        let e = ScanError::new(42, ErrorKind::InvalidUtf8)
            .within(FieldName::TraceState)
            .within_index(FieldName::Spans, 5)
            .within_index(FieldName::ScopeSpans, 0)
            .within_index(FieldName::ResourceSpans, 2);
        assert_eq!(
            e.to_string(),
            "at byte 42, resource_spans[2].scope_spans[0].spans[5].trace_state: invalid UTF-8"
        );
        let segments: std::vec::Vec<_> = e.path().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            segments,
            [
                "resource_spans[2]",
                "scope_spans[0]",
                "spans[5]",
                "trace_state"
            ]
        );
    }

    #[test]
    fn unknown_field_segment_shows_its_number() {
        let e = ScanError::new(7, ErrorKind::TruncatedVarint).within_index(FieldName::Unknown, 99);
        assert_eq!(e.path().to_string(), "#99");
    }

    #[test]
    fn deep_paths_keep_both_ends() {
        let mut e = ScanError::new(0, ErrorKind::TooDeep).within(FieldName::StringValue);
        for i in 0..40 {
            e = e
                .within_index(FieldName::Values, i)
                .within(FieldName::ArrayValue);
        }
        let e = e
            .within_index(FieldName::Attributes, 1)
            .within_index(FieldName::Spans, 3);
        assert!(e.path().is_elided());
        assert_eq!(e.path().len(), Path::CAPACITY);
        let text = e.path().to_string();
        assert!(
            text.starts_with("spans[3].attributes[1].array_value.values[39]."),
            "{text}"
        );
        assert!(
            text.ends_with(".….values[1].array_value.values[0].string_value"),
            "{text}"
        );
    }

    #[test]
    fn error_is_small_and_copy() {
        fn is_copy<T: Copy>() {}
        is_copy::<ScanError>();
        assert!(core::mem::size_of::<ScanError>() <= 128);
    }
}
