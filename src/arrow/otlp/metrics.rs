//! Metrics rows -> data point views, regrouped into `Metric`s.
//!
//! A row is one data point with its metric's header (`metric_name`, `metric_description`,
//! `metric_unit`, `metric_metadata`, `metric_type`, `aggregation_temporality`,
//! `is_monotonic`). Consecutive rows of the same scope with the same header are the points of
//! one `Metric`. The `Metric` message and its data message (`gauge`, `sum`, ...) are written
//! here, around the encoder's point views; `aggregation_temporality` is written as the stored
//! number, so any value round-trips.
//!
//! Columns that do not apply to a point's type are ignored; nullable columns that do apply
//! map as follows: `value_double` / `value_int` (at most one set) give the `value` oneof, both
//! null no value; histogram `sum` / `min` / `max` are present iff non-null; an exponential
//! histogram's `positive` / `negative` buckets are present iff their offset or counts column
//! is non-null; other nulls (a histogram's `count`, a summary's `sum`, ...) are the proto3
//! default.
#![forbid(unsafe_code)]

use core::ops::Range;

use arrow_array::{
    Array, BooleanArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array, ListArray,
    StringArray, UInt64Array,
};

use super::ReverseError;
use super::attributes::{MapCols, MapRow};
use super::columns::{
    CommonCols, F64List, Table, U64List, list_range, opt, opt_id, opt_str_len, same_at,
    write_opt_str,
};
use super::plan::Source;
use super::traces::child_range;
use crate::arrow::schema::metric_type;
use crate::wire::encode::{
    Attributes, Buckets, Encode, EncodeError, Exemplar, ExponentialHistogramDataPoint,
    HistogramDataPoint, NumberDataPoint, NumberValue, Quantile, SummaryDataPoint, Writer, tag_len,
    varint_len,
};
use crate::wire::fields::{data, metric, scope_items};

/// The five kinds of `Metric.data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            metric_type::GAUGE => Kind::Gauge,
            metric_type::SUM => Kind::Sum,
            metric_type::HISTOGRAM => Kind::Histogram,
            metric_type::EXPONENTIAL_HISTOGRAM => Kind::ExponentialHistogram,
            metric_type::SUMMARY => Kind::Summary,
            _ => return None,
        })
    }

    /// The `Metric` field of this kind's data message.
    fn field(self) -> u32 {
        match self {
            Kind::Gauge => metric::GAUGE,
            Kind::Sum => metric::SUM,
            Kind::Histogram => metric::HISTOGRAM,
            Kind::ExponentialHistogram => metric::EXPONENTIAL_HISTOGRAM,
            Kind::Summary => metric::SUMMARY,
        }
    }
}

/// The columns of a metrics batch.
#[derive(Debug)]
pub(super) struct MetricsCols<'b> {
    common: CommonCols<'b>,
    name: &'b StringArray,
    description: &'b StringArray,
    unit: &'b StringArray,
    metadata: MapCols<'b>,
    metric_type: &'b StringArray,
    temporality: &'b Int32Array,
    monotonic: &'b BooleanArray,
    start: &'b [i64],
    time: &'b [i64],
    attributes: MapCols<'b>,
    flags: &'b [u32],
    value_double: &'b Float64Array,
    value_int: &'b Int64Array,
    count: &'b UInt64Array,
    sum: &'b Float64Array,
    min: &'b Float64Array,
    max: &'b Float64Array,
    bucket_counts: U64List<'b>,
    explicit_bounds: F64List<'b>,
    scale: &'b Int32Array,
    zero_count: &'b UInt64Array,
    zero_threshold: &'b Float64Array,
    positive_offset: &'b Int32Array,
    positive_counts: U64List<'b>,
    negative_offset: &'b Int32Array,
    negative_counts: U64List<'b>,
    quantiles: &'b ListArray,
    quantile: &'b [f64],
    quantile_value: &'b [f64],
    exemplars: &'b ListArray,
    exemplar: ExemplarCols<'b>,
}

#[derive(Debug)]
struct ExemplarCols<'b> {
    filtered_attributes: MapCols<'b>,
    time: &'b [i64],
    value_double: &'b Float64Array,
    value_int: &'b Int64Array,
    span_id: &'b FixedSizeBinaryArray,
    trace_id: &'b FixedSizeBinaryArray,
}

/// Index of a row's point in the vector of its kind.
#[derive(Debug, Clone, Copy)]
struct Slot {
    kind: Kind,
    index: usize,
}

/// The `value` oneof from a double and an int column (at most one may be set).
fn number_value(
    d: &Float64Array,
    i: &Int64Array,
    j: usize,
    column: &'static str,
) -> Result<Option<NumberValue>, ReverseError> {
    match (opt(d, j), opt(i, j)) {
        (None, None) => Ok(None),
        (Some(v), None) => Ok(Some(NumberValue::Double(v))),
        (None, Some(v)) => Ok(Some(NumberValue::Int(v))),
        (Some(_), Some(_)) => Err(ReverseError::InvalidValue {
            column: column.to_owned(),
            row: j,
            reason: "both value_double and value_int are set",
        }),
    }
}

impl<'b> MetricsCols<'b> {
    pub(super) fn new(t: &Table<'b>) -> Result<Self, ReverseError> {
        let (quantiles, q) = t.list_of_structs("quantile_values", "quantile_values")?;
        let (exemplars, e) = t.list_of_structs("exemplars", "exemplars")?;
        Ok(MetricsCols {
            common: CommonCols::new(t)?,
            name: t.utf8("metric_name")?,
            description: t.utf8("metric_description")?,
            unit: t.utf8("metric_unit")?,
            metadata: t.map("metric_metadata")?,
            metric_type: t.utf8("metric_type")?,
            temporality: t.i32s("aggregation_temporality")?,
            monotonic: t.boolean("is_monotonic")?,
            start: t.times("start_time_unix_nano")?,
            time: t.times("time_unix_nano")?,
            attributes: t.map("attributes")?,
            flags: t.u32s("flags")?,
            value_double: t.f64s("value_double")?,
            value_int: t.i64s("value_int")?,
            count: t.u64s("count")?,
            sum: t.f64s("sum")?,
            min: t.f64s("min")?,
            max: t.f64s("max")?,
            bucket_counts: t.u64_list("bucket_counts")?,
            explicit_bounds: t.f64_list("explicit_bounds")?,
            scale: t.i32s("scale")?,
            zero_count: t.u64s("zero_count")?,
            zero_threshold: t.f64s("zero_threshold")?,
            positive_offset: t.i32s("positive_offset")?,
            positive_counts: t.u64_list("positive_bucket_counts")?,
            negative_offset: t.i32s("negative_offset")?,
            negative_counts: t.u64_list("negative_bucket_counts")?,
            quantiles,
            quantile: q.f64s("quantile")?.values(),
            quantile_value: q.f64s("value")?.values(),
            exemplars,
            exemplar: ExemplarCols {
                filtered_attributes: e.map("filtered_attributes")?,
                time: e.times("time_unix_nano")?,
                value_double: e.f64s("value_double")?,
                value_int: e.i64s("value_int")?,
                span_id: e.ids("span_id", 8)?,
                trace_id: e.ids("trace_id", 16)?,
            },
        })
    }

    /// Whether rows `a` and `b` are points of the same metric (same header).
    fn same_metric(&self, a: usize, b: usize) -> bool {
        same_at(self.metric_type, a, b)
            && same_at(self.name, a, b)
            && same_at(self.description, a, b)
            && same_at(self.unit, a, b)
            && opt(self.temporality, a) == opt(self.temporality, b)
            && opt_bool(self.monotonic, a) == opt_bool(self.monotonic, b)
            && self.metadata.rows_equal(a, b)
    }

    fn buckets(&self, offset: &Int32Array, counts: &U64List<'b>, r: usize) -> Option<Buckets<'b>> {
        let o = opt(offset, r);
        let c = counts.get(r);
        (o.is_some() || c.is_some()).then(|| Buckets {
            offset: o.unwrap_or(0),
            bucket_counts: c.unwrap_or(&[]),
        })
    }

    /// Builds the point views of `rows` and calls `f` with them as a plan [`Source`].
    pub(super) fn with_source<R>(
        &self,
        rows: Range<usize>,
        f: impl FnOnce(&dyn Source) -> R,
    ) -> Result<R, ReverseError> {
        let mut kinds = Vec::with_capacity(rows.len());
        for r in rows.clone() {
            let k = Kind::parse(self.metric_type.value(r)).ok_or(ReverseError::InvalidValue {
                column: "metric_type".to_owned(),
                row: r,
                reason: "not one of gauge, sum, histogram, exponential_histogram, summary",
            })?;
            kinds.push(k);
        }
        let exs = child_range(self.exemplars, &rows);
        let qs = child_range(self.quantiles, &rows);
        // Attribute lists first: the views below hold references into these vectors.
        let attrs: Vec<MapRow<'_>> = rows.clone().map(|r| self.attributes.row(r)).collect();
        let metadata: Vec<MapRow<'_>> = rows.clone().map(|r| self.metadata.row(r)).collect();
        let ex = &self.exemplar;
        let ex_attrs: Vec<MapRow<'_>> =
            exs.clone().map(|j| ex.filtered_attributes.row(j)).collect();
        let mut exemplars = Vec::with_capacity(exs.len());
        for (j, filtered_attributes) in exs.clone().zip(&ex_attrs) {
            exemplars.push(Exemplar {
                filtered_attributes,
                time_unix_nano: ex.time[j] as u64,
                value: number_value(ex.value_double, ex.value_int, j, "exemplars")?,
                span_id: opt_id(ex.span_id, j),
                trace_id: opt_id(ex.trace_id, j),
            });
        }
        let quantiles: Vec<Quantile> = qs
            .clone()
            .map(|j| Quantile {
                quantile: self.quantile[j],
                value: self.quantile_value[j],
            })
            .collect();

        let mut numbers = Vec::new();
        let mut histograms = Vec::new();
        let mut exponentials = Vec::new();
        let mut summaries = Vec::new();
        let mut slots = Vec::with_capacity(rows.len());
        for (i, r) in rows.clone().enumerate() {
            let kind = kinds[i];
            let er = list_range(self.exemplars, r);
            let exemplars = &exemplars[er.start - exs.start..er.end - exs.start];
            let attributes = &attrs[i];
            let start_time_unix_nano = self.start[r] as u64;
            let time_unix_nano = self.time[r] as u64;
            let flags = self.flags[r];
            let index = match kind {
                Kind::Gauge | Kind::Sum => {
                    numbers.push(NumberDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        value: number_value(self.value_double, self.value_int, r, "value_double")?,
                        exemplars,
                        flags,
                    });
                    numbers.len() - 1
                }
                Kind::Histogram => {
                    histograms.push(HistogramDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        count: opt(self.count, r).unwrap_or(0),
                        sum: opt(self.sum, r),
                        bucket_counts: self.bucket_counts.get(r).unwrap_or(&[]),
                        explicit_bounds: self.explicit_bounds.get(r).unwrap_or(&[]),
                        exemplars,
                        flags,
                        min: opt(self.min, r),
                        max: opt(self.max, r),
                    });
                    histograms.len() - 1
                }
                Kind::ExponentialHistogram => {
                    exponentials.push(ExponentialHistogramDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        count: opt(self.count, r).unwrap_or(0),
                        sum: opt(self.sum, r),
                        scale: opt(self.scale, r).unwrap_or(0),
                        zero_count: opt(self.zero_count, r).unwrap_or(0),
                        positive: self.buckets(self.positive_offset, &self.positive_counts, r),
                        negative: self.buckets(self.negative_offset, &self.negative_counts, r),
                        flags,
                        exemplars,
                        min: opt(self.min, r),
                        max: opt(self.max, r),
                        zero_threshold: opt(self.zero_threshold, r).unwrap_or(0.0),
                    });
                    exponentials.len() - 1
                }
                Kind::Summary => {
                    let qr = list_range(self.quantiles, r);
                    summaries.push(SummaryDataPoint {
                        attributes,
                        start_time_unix_nano,
                        time_unix_nano,
                        count: opt(self.count, r).unwrap_or(0),
                        sum: opt(self.sum, r).unwrap_or(0.0),
                        quantile_values: &quantiles[qr.start - qs.start..qr.end - qs.start],
                        flags,
                    });
                    summaries.len() - 1
                }
            };
            slots.push(Slot { kind, index });
        }
        Ok(f(&MetricsSource {
            cols: self,
            base: rows.start,
            slots: &slots,
            metadata: &metadata,
            numbers: &numbers,
            histograms: &histograms,
            exponentials: &exponentials,
            summaries: &summaries,
        }))
    }
}

struct MetricsSource<'s, 'b> {
    cols: &'s MetricsCols<'b>,
    base: usize,
    slots: &'s [Slot],
    metadata: &'s [MapRow<'s>],
    numbers: &'s [NumberDataPoint<'s, MapRow<'s>>],
    histograms: &'s [HistogramDataPoint<'s, MapRow<'s>>],
    exponentials: &'s [ExponentialHistogramDataPoint<'s, MapRow<'s>>],
    summaries: &'s [SummaryDataPoint<'s, MapRow<'s>>],
}

/// A nullable boolean as an `Option`.
fn opt_bool(a: &BooleanArray, i: usize) -> Option<bool> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// Length of a varint field that proto3 omits when 0.
fn opt_varint_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        tag_len(field) + varint_len(v)
    }
}

fn write_opt_varint(w: &mut Writer<'_>, field: u32, v: u64) -> Result<(), EncodeError> {
    if v == 0 {
        Ok(())
    } else {
        w.varint_field(field, v)
    }
}

impl MetricsSource<'_, '_> {
    /// `aggregation_temporality` and `is_monotonic` of row `r` as written in the data
    /// message (an `int32` enum: negative values sign-extend, as prost writes them).
    fn tail(&self, i: usize) -> (u64, u64) {
        let r = self.base + i;
        let c = self.cols;
        match self.slots[i].kind {
            Kind::Gauge | Kind::Summary => (0, 0),
            Kind::Sum => (
                i64::from(opt(c.temporality, r).unwrap_or(0)) as u64,
                u64::from(opt_bool(c.monotonic, r).unwrap_or(false)),
            ),
            Kind::Histogram | Kind::ExponentialHistogram => {
                (i64::from(opt(c.temporality, r).unwrap_or(0)) as u64, 0)
            }
        }
    }
}

impl Source for MetricsSource<'_, '_> {
    fn depth(&self) -> usize {
        4
    }
    fn item_field(&self) -> u32 {
        data::DATA_POINTS
    }
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn first_new_level(&self, i: usize) -> usize {
        let r = self.base + i;
        match self.cols.common.first_new_level(r) {
            Some(l) => l,
            None if !self.cols.same_metric(r - 1, r) => 2,
            None => 4,
        }
    }
    fn field(&self, level: usize, i: usize) -> u32 {
        match level {
            0 | 1 => CommonCols::field(level),
            2 => scope_items::ITEMS,
            _ => self.slots[i].kind.field(),
        }
    }
    fn own_len(&self, level: usize, i: usize) -> usize {
        let r = self.base + i;
        let c = self.cols;
        match level {
            0 | 1 => c.common.own_len(level, r),
            2 => {
                opt_str_len(metric::NAME, c.name.value(r))
                    + opt_str_len(metric::DESCRIPTION, c.description.value(r))
                    + opt_str_len(metric::UNIT, c.unit.value(r))
                    + self.metadata[i].attributes_len(metric::METADATA)
            }
            _ => {
                let (temporality, monotonic) = self.tail(i);
                opt_varint_len(data::AGGREGATION_TEMPORALITY, temporality)
                    + opt_varint_len(data::IS_MONOTONIC, monotonic)
            }
        }
    }
    fn item_len(&self, i: usize) -> usize {
        let s = self.slots[i];
        match s.kind {
            Kind::Gauge | Kind::Sum => self.numbers[s.index].encoded_len(),
            Kind::Histogram => self.histograms[s.index].encoded_len(),
            Kind::ExponentialHistogram => self.exponentials[s.index].encoded_len(),
            Kind::Summary => self.summaries[s.index].encoded_len(),
        }
    }
    fn write_pre(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let r = self.base + i;
        let c = self.cols;
        match level {
            0 | 1 => c.common.write_pre(level, r, w),
            // `Metric` fields in number order: name, description, unit, then the data
            // message (the child), then metadata (12).
            2 => {
                write_opt_str(w, metric::NAME, c.name.value(r))?;
                write_opt_str(w, metric::DESCRIPTION, c.description.value(r))?;
                write_opt_str(w, metric::UNIT, c.unit.value(r))
            }
            _ => Ok(()),
        }
    }
    fn write_post(&self, level: usize, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match level {
            0 | 1 => self.cols.common.write_post(level, self.base + i, w),
            2 => self.metadata[i].encode_attributes(metric::METADATA, w),
            _ => {
                let (temporality, monotonic) = self.tail(i);
                write_opt_varint(w, data::AGGREGATION_TEMPORALITY, temporality)?;
                write_opt_varint(w, data::IS_MONOTONIC, monotonic)
            }
        }
    }
    fn write_item(&self, i: usize, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let s = self.slots[i];
        match s.kind {
            Kind::Gauge | Kind::Sum => self.numbers[s.index].encode_to(w),
            Kind::Histogram => self.histograms[s.index].encode_to(w),
            Kind::ExponentialHistogram => self.exponentials[s.index].encode_to(w),
            Kind::Summary => self.summaries[s.index].encode_to(w),
        }
    }
    fn coerced(&self) -> &[usize] {
        &[]
    }
}
