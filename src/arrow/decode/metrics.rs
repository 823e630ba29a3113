//! [`MetricsDecoder`]: `ResourceMetrics` records -> rows of [`schema::metrics`], one per data
//! point.
//!
//! A `Metric` is read in three cheap passes over its bytes before any of its points are
//! appended, because its fields may come in any order: (1) name, description, unit and which
//! `data` member is set; (2) `aggregation_temporality` / `is_monotonic` of that member; (3) the
//! points. The `data` oneof follows prost: a later member replaces an earlier one, and the same
//! member occurring again merges (its points concatenate, scalars take the last value), so the
//! points are those of the last run of occurrences of the final member.
//!
//! Columns that do not apply to a point's `metric_type` are null: `aggregation_temporality` on
//! gauge and summary, `is_monotonic` except on sum, the histogram / exponential-histogram /
//! summary columns elsewhere. `positive_*` / `negative_*` are null when the point has no such
//! `Buckets` message (so an absent one and an empty one stay distinct).
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;

use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_schema::{FieldRef, Fields};

use super::attributes::{Attrs, parse_kv};
use super::columns::{
    Bools, Column, Fixed, Offsets, Prim, Strs, Times, columns, finish_times, list_item,
    struct_fields,
};
use super::common::{CommonCols, Items, Names, walk};
use super::error::DecodeError;
use super::reader::{Reader, Text};
use super::{Decoder, batch, transact};
use crate::arrow::schema::{self, metric_type};
use crate::signal::Signal;
use crate::wire::fields::{
    buckets, data, exemplar, exp_histogram_point as ehp, histogram_point as hp, metric,
    number_point as np, quantile, summary_point as sp,
};

const NAMES: Names = Names {
    resource_items: "ResourceMetrics",
    scope_items: "ScopeMetrics",
    item: "Metric",
};

/// Decodes `ResourceMetrics` records into [`schema::metrics`] batches. See [`Decoder`].
pub struct MetricsDecoder {
    cols: MetricCols,
    rows: usize,
}

impl fmt::Debug for MetricsDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsDecoder")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Default for MetricsDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        MetricsDecoder {
            cols: MetricCols::default(),
            rows: 0,
        }
    }
}

impl Decoder for MetricsDecoder {
    fn signal(&self) -> Signal {
        Signal::Metrics
    }

    fn append(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        transact(&mut self.cols, &mut self.rows, |cols| cols.record(record))
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> RecordBatch {
        let rows = core::mem::take(&mut self.rows);
        batch(schema::metrics(), self.cols.finish(), rows)
    }
}

/// A nullable `List<T>` column of non-null primitives.
#[derive(Debug)]
struct PrimList<T: ArrowPrimitiveType> {
    offsets: Offsets,
    values: Prim<T>,
    item: FieldRef,
}

impl<T: ArrowPrimitiveType> Column for PrimList<T> {
    fn fits(&self) -> bool {
        self.offsets.fits()
    }
    fn commit(&mut self) {
        self.offsets.commit();
        self.values.commit();
    }
    fn rollback(&mut self) {
        self.offsets.rollback();
        self.values.rollback();
    }
}

impl<T: ArrowPrimitiveType> PrimList<T> {
    fn new(column: &str) -> Self {
        PrimList {
            offsets: Offsets::default(),
            values: Prim::default(),
            item: list_item(&schema::metrics(), column),
        }
    }

    /// Ends the row: a list of the values pushed since the last row, or null.
    fn end_row(&mut self, present: bool) {
        if present {
            self.offsets.push(self.values.len());
        } else {
            self.offsets.push_null(self.values.len());
        }
    }

    fn finish(&mut self) -> ArrayRef {
        let (offsets, nulls) = self.offsets.finish();
        Arc::new(ListArray::new(
            self.item.clone(),
            offsets,
            Arc::new(self.values.finish()),
            nulls,
        ))
    }
}

/// `quantile_values`.
#[derive(Debug)]
struct Quantiles {
    offsets: Offsets,
    quantile: Prim<Float64Type>,
    value: Prim<Float64Type>,
    item: FieldRef,
    fields: Fields,
}

columns!(Quantiles {
    offsets,
    quantile,
    value
});

impl Default for Quantiles {
    fn default() -> Self {
        let item = list_item(&schema::metrics(), "quantile_values");
        Quantiles {
            fields: struct_fields(item.data_type()),
            item,
            offsets: Offsets::default(),
            quantile: Prim::default(),
            value: Prim::default(),
        }
    }
}

impl Quantiles {
    fn push(&mut self, mut r: Reader<'_>) -> Result<(), DecodeError> {
        let (mut q, mut v) = (0.0, 0.0);
        while let Some(f) = r.next()? {
            match f.num {
                quantile::QUANTILE => q = f.double("ValueAtQuantile.quantile")?,
                quantile::VALUE => v = f.double("ValueAtQuantile.value")?,
                _ => {}
            }
        }
        self.quantile.push(q);
        self.value.push(v);
        Ok(())
    }

    fn end_row(&mut self, present: bool) {
        if present {
            self.offsets.push(self.value.len());
        } else {
            self.offsets.push_null(self.value.len());
        }
    }

    fn finish(&mut self) -> ArrayRef {
        let (offsets, nulls) = self.offsets.finish();
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.quantile.finish()),
            Arc::new(self.value.finish()),
        ];
        let values = StructArray::new(self.fields.clone(), children, None);
        Arc::new(ListArray::new(
            self.item.clone(),
            offsets,
            Arc::new(values),
            nulls,
        ))
    }
}

/// `exemplars` (never null; empty where a point has none or cannot have any).
#[derive(Debug)]
struct Exemplars {
    offsets: Offsets,
    filtered_attributes: Attrs,
    time_unix_nano: Times,
    value_double: Prim<Float64Type>,
    value_int: Prim<Int64Type>,
    span_id: Fixed<8>,
    trace_id: Fixed<16>,
    item: FieldRef,
    fields: Fields,
}

columns!(Exemplars {
    offsets,
    filtered_attributes,
    time_unix_nano,
    value_double,
    value_int,
    span_id,
    trace_id,
});

impl Default for Exemplars {
    fn default() -> Self {
        let item = list_item(&schema::metrics(), "exemplars");
        Exemplars {
            fields: struct_fields(item.data_type()),
            item,
            offsets: Offsets::default(),
            filtered_attributes: Attrs::default(),
            time_unix_nano: Times::default(),
            value_double: Prim::default(),
            value_int: Prim::default(),
            span_id: Fixed::default(),
            trace_id: Fixed::default(),
        }
    }
}

impl Exemplars {
    fn push(&mut self, mut r: Reader<'_>, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        let (mut time, mut value, mut span_id, mut trace_id) = (0, Number::None, None, None);
        while let Some(f) = r.next()? {
            match f.num {
                exemplar::TIME_UNIX_NANO => time = f.fixed64("Exemplar.time_unix_nano")?,
                exemplar::AS_DOUBLE => value = Number::Double(f.double("Exemplar.as_double")?),
                exemplar::AS_INT => value = Number::Int(f.fixed64("Exemplar.as_int")? as i64),
                exemplar::SPAN_ID => span_id = f.id::<8>("Exemplar.span_id")?,
                exemplar::TRACE_ID => trace_id = f.id::<16>("Exemplar.trace_id")?,
                exemplar::FILTERED_ATTRIBUTES => self
                    .filtered_attributes
                    .push_kv(f.message("KeyValue")?, buf)?,
                _ => {}
            }
        }
        self.filtered_attributes.end_row();
        self.time_unix_nano.push(time as i64);
        self.value_double.push_opt(value.double());
        self.value_int.push_opt(value.int());
        self.span_id.push_opt(span_id);
        self.trace_id.push_opt(trace_id);
        Ok(())
    }

    fn end_row(&mut self) {
        self.offsets.push(self.time_unix_nano.len());
    }

    fn finish(&mut self) -> ArrayRef {
        let (offsets, nulls) = self.offsets.finish();
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.filtered_attributes.finish()),
            finish_times(&mut self.time_unix_nano),
            Arc::new(self.value_double.finish()),
            Arc::new(self.value_int.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_id.finish()),
        ];
        let values = StructArray::new(self.fields.clone(), children, None);
        Arc::new(ListArray::new(
            self.item.clone(),
            offsets,
            Arc::new(values),
            nulls,
        ))
    }
}

/// A `NumberDataPoint` / `Exemplar` value oneof.
#[derive(Debug, Clone, Copy)]
enum Number {
    None,
    Double(f64),
    Int(i64),
}

impl Number {
    fn double(self) -> Option<f64> {
        match self {
            Number::Double(d) => Some(d),
            _ => None,
        }
    }
    fn int(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// The scalar columns of one data point row; `None` is null.
#[derive(Debug, Default)]
struct Point {
    start: u64,
    time: u64,
    flags: u32,
    value_double: Option<f64>,
    value_int: Option<i64>,
    count: Option<u64>,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    /// `bucket_counts` and `explicit_bounds` are lists (histogram points), else null.
    histogram: bool,
    scale: Option<i32>,
    zero_count: Option<u64>,
    zero_threshold: Option<f64>,
    /// `Some(offset)` when the point has a `positive` message (its list is then non-null).
    positive_offset: Option<i32>,
    negative_offset: Option<i32>,
    /// `quantile_values` is a list (summary points), else null.
    summary: bool,
}

/// What every row of one `Metric` repeats.
#[derive(Debug)]
struct MetricCtx<'a> {
    metric: Reader<'a>,
    name: Text<'a>,
    description: Text<'a>,
    unit: Text<'a>,
    has_metadata: bool,
    metric_type: &'static str,
    temporality: Option<i32>,
    monotonic: Option<bool>,
}

#[derive(Debug)]
struct MetricCols {
    common: CommonCols,
    metric_name: Strs,
    metric_description: Strs,
    metric_unit: Strs,
    metric_metadata: Attrs,
    metric_type: Strs,
    aggregation_temporality: Prim<Int32Type>,
    is_monotonic: Bools,
    start_time_unix_nano: Times,
    time_unix_nano: Times,
    attributes: Attrs,
    flags: Prim<UInt32Type>,
    value_double: Prim<Float64Type>,
    value_int: Prim<Int64Type>,
    count: Prim<UInt64Type>,
    sum: Prim<Float64Type>,
    min: Prim<Float64Type>,
    max: Prim<Float64Type>,
    bucket_counts: PrimList<UInt64Type>,
    explicit_bounds: PrimList<Float64Type>,
    scale: Prim<Int32Type>,
    zero_count: Prim<UInt64Type>,
    zero_threshold: Prim<Float64Type>,
    positive_offset: Prim<Int32Type>,
    positive_bucket_counts: PrimList<UInt64Type>,
    negative_offset: Prim<Int32Type>,
    negative_bucket_counts: PrimList<UInt64Type>,
    quantile_values: Quantiles,
    exemplars: Exemplars,
    /// Scratch for merged nested attribute values (not a column).
    buf: Vec<u8>,
}

columns!(MetricCols {
    common,
    metric_name,
    metric_description,
    metric_unit,
    metric_metadata,
    metric_type,
    aggregation_temporality,
    is_monotonic,
    start_time_unix_nano,
    time_unix_nano,
    attributes,
    flags,
    value_double,
    value_int,
    count,
    sum,
    min,
    max,
    bucket_counts,
    explicit_bounds,
    scale,
    zero_count,
    zero_threshold,
    positive_offset,
    positive_bucket_counts,
    negative_offset,
    negative_bucket_counts,
    quantile_values,
    exemplars,
});

impl Default for MetricCols {
    fn default() -> Self {
        MetricCols {
            common: CommonCols::default(),
            metric_name: Strs::default(),
            metric_description: Strs::default(),
            metric_unit: Strs::default(),
            metric_metadata: Attrs::default(),
            metric_type: Strs::default(),
            aggregation_temporality: Prim::default(),
            is_monotonic: Bools::default(),
            start_time_unix_nano: Times::default(),
            time_unix_nano: Times::default(),
            attributes: Attrs::default(),
            flags: Prim::default(),
            value_double: Prim::default(),
            value_int: Prim::default(),
            count: Prim::default(),
            sum: Prim::default(),
            min: Prim::default(),
            max: Prim::default(),
            bucket_counts: PrimList::new("bucket_counts"),
            explicit_bounds: PrimList::new("explicit_bounds"),
            scale: Prim::default(),
            zero_count: Prim::default(),
            zero_threshold: Prim::default(),
            positive_offset: Prim::default(),
            positive_bucket_counts: PrimList::new("positive_bucket_counts"),
            negative_offset: Prim::default(),
            negative_bucket_counts: PrimList::new("negative_bucket_counts"),
            quantile_values: Quantiles::default(),
            exemplars: Exemplars::default(),
            buf: Vec::new(),
        }
    }
}

impl Items for MetricCols {
    #[inline]
    fn item(&mut self, buf: &mut Vec<u8>, r: Reader<'_>) -> Result<usize, DecodeError> {
        self.metric(buf, r)
    }

    #[inline]
    fn common(&mut self) -> &mut CommonCols {
        &mut self.common
    }
}

impl MetricCols {
    fn record(&mut self, record: &[u8]) -> Result<usize, DecodeError> {
        self.common.start_record();
        let mut buf = core::mem::take(&mut self.buf);
        let rows = walk(record, &NAMES, &mut buf, self);
        self.buf = buf;
        rows
    }

    fn metric(&mut self, buf: &mut Vec<u8>, r: Reader<'_>) -> Result<usize, DecodeError> {
        // Pass 1: the metric's own fields, and where the final `data` member's run starts.
        let (mut name, mut description, mut unit, mut has_metadata) =
            (Text::EMPTY, Text::EMPTY, Text::EMPTY, false);
        let mut kind = 0;
        let mut run = None;
        let mut m = r;
        while let Some(f) = m.next()? {
            match f.num {
                metric::NAME => name = f.str("Metric.name")?,
                metric::DESCRIPTION => description = f.str("Metric.description")?,
                metric::UNIT => unit = f.str("Metric.unit")?,
                metric::METADATA => {
                    f.bytes("Metric.metadata")?;
                    has_metadata = true;
                }
                metric::GAUGE
                | metric::SUM
                | metric::HISTOGRAM
                | metric::EXPONENTIAL_HISTOGRAM
                | metric::SUMMARY => {
                    f.bytes("Metric.data")?;
                    if f.num != kind {
                        kind = f.num;
                        run = Some(f);
                    }
                }
                _ => {}
            }
        }
        let Some(run) = run else {
            validate_metadata(r, has_metadata, buf)?;
            return Ok(0);
        };
        let (what, metric_type) = match kind {
            metric::GAUGE => ("Gauge", metric_type::GAUGE),
            metric::SUM => ("Sum", metric_type::SUM),
            metric::HISTOGRAM => ("Histogram", metric_type::HISTOGRAM),
            metric::EXPONENTIAL_HISTOGRAM => {
                ("ExponentialHistogram", metric_type::EXPONENTIAL_HISTOGRAM)
            }
            _ => ("Summary", metric_type::SUMMARY),
        };
        // Pass 2: temporality and monotonicity, merged over the run.
        let has_temporality = matches!(
            kind,
            metric::SUM | metric::HISTOGRAM | metric::EXPONENTIAL_HISTOGRAM
        );
        let (mut temporality, mut monotonic) = (0, false);
        let mut d = r.starting_at(&run);
        while let Some(f) = d.next()? {
            if f.num != kind {
                continue;
            }
            let mut x = f.message(what)?;
            while let Some(g) = x.next()? {
                match g.num {
                    data::AGGREGATION_TEMPORALITY if has_temporality => {
                        temporality = g.int32("aggregation_temporality")?;
                    }
                    data::IS_MONOTONIC if kind == metric::SUM => {
                        monotonic = g.bool("Sum.is_monotonic")?;
                    }
                    _ => {}
                }
            }
        }
        let ctx = MetricCtx {
            metric: r.rewind(),
            name,
            description,
            unit,
            has_metadata,
            metric_type,
            temporality: has_temporality.then_some(temporality),
            monotonic: (kind == metric::SUM).then_some(monotonic),
        };
        // Pass 3: the points.
        let mut rows = 0;
        let mut d = r.starting_at(&run);
        while let Some(f) = d.next()? {
            if f.num != kind {
                continue;
            }
            let mut x = f.message(what)?;
            while let Some(g) = x.next()? {
                if g.num != data::DATA_POINTS {
                    continue;
                }
                let p = match kind {
                    metric::GAUGE | metric::SUM => {
                        self.number_point(g.message("NumberDataPoint")?, buf)?
                    }
                    metric::HISTOGRAM => {
                        self.histogram_point(g.message("HistogramDataPoint")?, buf)?
                    }
                    metric::EXPONENTIAL_HISTOGRAM => {
                        self.exp_histogram_point(g.message("ExponentialHistogramDataPoint")?, buf)?
                    }
                    _ => self.summary_point(g.message("SummaryDataPoint")?, buf)?,
                };
                self.push_point(&p);
                self.push_metric(&ctx, buf)?;
                rows += 1;
            }
        }
        if rows == 0 {
            validate_metadata(r, has_metadata, buf)?;
        }
        Ok(rows)
    }

    fn number_point(&mut self, mut r: Reader<'_>, buf: &mut Vec<u8>) -> Result<Point, DecodeError> {
        let mut p = Point::default();
        let mut value = Number::None;
        while let Some(f) = r.next()? {
            match f.num {
                np::START_TIME_UNIX_NANO => {
                    p.start = f.fixed64("NumberDataPoint.start_time_unix_nano")?
                }
                np::TIME_UNIX_NANO => p.time = f.fixed64("NumberDataPoint.time_unix_nano")?,
                np::AS_DOUBLE => value = Number::Double(f.double("NumberDataPoint.as_double")?),
                np::AS_INT => value = Number::Int(f.fixed64("NumberDataPoint.as_int")? as i64),
                np::EXEMPLARS => self.exemplars.push(f.message("Exemplar")?, buf)?,
                np::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                np::FLAGS => p.flags = f.uint32("NumberDataPoint.flags")?,
                _ => {}
            }
        }
        p.value_double = value.double();
        p.value_int = value.int();
        Ok(p)
    }

    fn histogram_point(
        &mut self,
        mut r: Reader<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<Point, DecodeError> {
        let mut p = Point {
            histogram: true,
            ..Point::default()
        };
        let mut count = 0;
        while let Some(f) = r.next()? {
            match f.num {
                hp::START_TIME_UNIX_NANO => {
                    p.start = f.fixed64("HistogramDataPoint.start_time_unix_nano")?;
                }
                hp::TIME_UNIX_NANO => p.time = f.fixed64("HistogramDataPoint.time_unix_nano")?,
                hp::COUNT => count = f.fixed64("HistogramDataPoint.count")?,
                hp::SUM => p.sum = Some(f.double("HistogramDataPoint.sum")?),
                hp::BUCKET_COUNTS => {
                    let col = &mut self.bucket_counts.values;
                    f.each_fixed64("HistogramDataPoint.bucket_counts", |v| col.push(v))?;
                }
                hp::EXPLICIT_BOUNDS => {
                    let col = &mut self.explicit_bounds.values;
                    f.each_fixed64("HistogramDataPoint.explicit_bounds", |v| {
                        col.push(f64::from_bits(v));
                    })?;
                }
                hp::EXEMPLARS => self.exemplars.push(f.message("Exemplar")?, buf)?,
                hp::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                hp::FLAGS => p.flags = f.uint32("HistogramDataPoint.flags")?,
                hp::MIN => p.min = Some(f.double("HistogramDataPoint.min")?),
                hp::MAX => p.max = Some(f.double("HistogramDataPoint.max")?),
                _ => {}
            }
        }
        p.count = Some(count);
        Ok(p)
    }

    fn exp_histogram_point(
        &mut self,
        mut r: Reader<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<Point, DecodeError> {
        let mut p = Point::default();
        let (mut count, mut scale, mut zero_count, mut zero_threshold) = (0, 0, 0, 0.0);
        while let Some(f) = r.next()? {
            match f.num {
                ehp::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                ehp::START_TIME_UNIX_NANO => {
                    p.start = f.fixed64("ExponentialHistogramDataPoint.start_time_unix_nano")?;
                }
                ehp::TIME_UNIX_NANO => {
                    p.time = f.fixed64("ExponentialHistogramDataPoint.time_unix_nano")?;
                }
                ehp::COUNT => count = f.fixed64("ExponentialHistogramDataPoint.count")?,
                ehp::SUM => p.sum = Some(f.double("ExponentialHistogramDataPoint.sum")?),
                ehp::SCALE => scale = f.sint32("ExponentialHistogramDataPoint.scale")?,
                ehp::ZERO_COUNT => {
                    zero_count = f.fixed64("ExponentialHistogramDataPoint.zero_count")?
                }
                ehp::POSITIVE => {
                    let offset = p.positive_offset.unwrap_or(0);
                    let col = &mut self.positive_bucket_counts.values;
                    p.positive_offset = Some(buckets_into(f.message("Buckets")?, offset, col)?);
                }
                ehp::NEGATIVE => {
                    let offset = p.negative_offset.unwrap_or(0);
                    let col = &mut self.negative_bucket_counts.values;
                    p.negative_offset = Some(buckets_into(f.message("Buckets")?, offset, col)?);
                }
                ehp::FLAGS => p.flags = f.uint32("ExponentialHistogramDataPoint.flags")?,
                ehp::EXEMPLARS => self.exemplars.push(f.message("Exemplar")?, buf)?,
                ehp::MIN => p.min = Some(f.double("ExponentialHistogramDataPoint.min")?),
                ehp::MAX => p.max = Some(f.double("ExponentialHistogramDataPoint.max")?),
                ehp::ZERO_THRESHOLD => {
                    zero_threshold = f.double("ExponentialHistogramDataPoint.zero_threshold")?;
                }
                _ => {}
            }
        }
        p.count = Some(count);
        p.scale = Some(scale);
        p.zero_count = Some(zero_count);
        p.zero_threshold = Some(zero_threshold);
        Ok(p)
    }

    fn summary_point(
        &mut self,
        mut r: Reader<'_>,
        buf: &mut Vec<u8>,
    ) -> Result<Point, DecodeError> {
        let mut p = Point {
            summary: true,
            ..Point::default()
        };
        let (mut count, mut sum) = (0, 0.0);
        while let Some(f) = r.next()? {
            match f.num {
                sp::START_TIME_UNIX_NANO => {
                    p.start = f.fixed64("SummaryDataPoint.start_time_unix_nano")?
                }
                sp::TIME_UNIX_NANO => p.time = f.fixed64("SummaryDataPoint.time_unix_nano")?,
                sp::COUNT => count = f.fixed64("SummaryDataPoint.count")?,
                sp::SUM => sum = f.double("SummaryDataPoint.sum")?,
                sp::QUANTILE_VALUES => self.quantile_values.push(f.message("ValueAtQuantile")?)?,
                sp::ATTRIBUTES => self.attributes.push_kv(f.message("KeyValue")?, buf)?,
                sp::FLAGS => p.flags = f.uint32("SummaryDataPoint.flags")?,
                _ => {}
            }
        }
        p.count = Some(count);
        p.sum = Some(sum);
        Ok(p)
    }

    /// Ends the point's row in the point columns (its child values are already pushed).
    fn push_point(&mut self, p: &Point) {
        self.start_time_unix_nano.push(p.start as i64);
        self.time_unix_nano.push(p.time as i64);
        self.attributes.end_row();
        self.flags.push(p.flags);
        self.value_double.push_opt(p.value_double);
        self.value_int.push_opt(p.value_int);
        self.count.push_opt(p.count);
        self.sum.push_opt(p.sum);
        self.min.push_opt(p.min);
        self.max.push_opt(p.max);
        self.bucket_counts.end_row(p.histogram);
        self.explicit_bounds.end_row(p.histogram);
        self.scale.push_opt(p.scale);
        self.zero_count.push_opt(p.zero_count);
        self.zero_threshold.push_opt(p.zero_threshold);
        self.positive_offset.push_opt(p.positive_offset);
        self.positive_bucket_counts
            .end_row(p.positive_offset.is_some());
        self.negative_offset.push_opt(p.negative_offset);
        self.negative_bucket_counts
            .end_row(p.negative_offset.is_some());
        self.quantile_values.end_row(p.summary);
        self.exemplars.end_row();
    }

    /// The metric columns of one row.
    fn push_metric(&mut self, m: &MetricCtx<'_>, buf: &mut Vec<u8>) -> Result<(), DecodeError> {
        self.metric_name.push(m.name);
        self.metric_description.push(m.description);
        self.metric_unit.push(m.unit);
        if m.has_metadata {
            let mut r = m.metric;
            while let Some(f) = r.next()? {
                if f.num == metric::METADATA {
                    self.metric_metadata.push_kv(f.message("KeyValue")?, buf)?;
                }
            }
        }
        self.metric_metadata.end_row();
        self.metric_type.push(Text::from_str(m.metric_type));
        self.aggregation_temporality.push_opt(m.temporality);
        self.is_monotonic.push_opt(m.monotonic);
        Ok(())
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut out = Vec::with_capacity(36);
        self.common.finish(&mut out);
        out.push(Arc::new(self.metric_name.finish()));
        out.push(Arc::new(self.metric_description.finish()));
        out.push(Arc::new(self.metric_unit.finish()));
        out.push(Arc::new(self.metric_metadata.finish()));
        out.push(Arc::new(self.metric_type.finish()));
        out.push(Arc::new(self.aggregation_temporality.finish()));
        out.push(Arc::new(self.is_monotonic.finish()));
        out.push(finish_times(&mut self.start_time_unix_nano));
        out.push(finish_times(&mut self.time_unix_nano));
        out.push(Arc::new(self.attributes.finish()));
        out.push(Arc::new(self.flags.finish()));
        out.push(Arc::new(self.value_double.finish()));
        out.push(Arc::new(self.value_int.finish()));
        out.push(Arc::new(self.count.finish()));
        out.push(Arc::new(self.sum.finish()));
        out.push(Arc::new(self.min.finish()));
        out.push(Arc::new(self.max.finish()));
        out.push(self.bucket_counts.finish());
        out.push(self.explicit_bounds.finish());
        out.push(Arc::new(self.scale.finish()));
        out.push(Arc::new(self.zero_count.finish()));
        out.push(Arc::new(self.zero_threshold.finish()));
        out.push(Arc::new(self.positive_offset.finish()));
        out.push(self.positive_bucket_counts.finish());
        out.push(Arc::new(self.negative_offset.finish()));
        out.push(self.negative_bucket_counts.finish());
        out.push(self.quantile_values.finish());
        out.push(self.exemplars.finish());
        out
    }
}

/// Reads one `Buckets` occurrence: pushes its counts, returns the (merged) offset.
fn buckets_into(
    mut r: Reader<'_>,
    mut offset: i32,
    counts: &mut Prim<UInt64Type>,
) -> Result<i32, DecodeError> {
    while let Some(f) = r.next()? {
        match f.num {
            buckets::OFFSET => offset = f.sint32("Buckets.offset")?,
            buckets::BUCKET_COUNTS => {
                f.each_varint("Buckets.bucket_counts", |v| counts.push(v))?;
            }
            _ => {}
        }
    }
    Ok(offset)
}

/// Parses a metric's metadata without appending it (for a metric no row carried).
fn validate_metadata(
    r: Reader<'_>,
    has_metadata: bool,
    buf: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    if !has_metadata {
        return Ok(());
    }
    let mut r = r.rewind();
    while let Some(f) = r.next()? {
        if f.num == metric::METADATA {
            parse_kv(f.message("KeyValue")?, buf)?;
        }
    }
    Ok(())
}
