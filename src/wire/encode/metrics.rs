//! `metrics.v1`: [`Metric`] with its five kinds of data ([`MetricData`]) and their data points.
#![forbid(unsafe_code)]

use super::common::{Attributes, KeyValue};
use super::writer::{
    EncodeError, Writer, len_field_len, opt_bytes_len, opt_double_len, opt_fixed64_len,
    opt_varint_len, packed_fixed_len, packed_varint_len, tag_len, zigzag32,
};
use super::{
    Encode, copy_impls, encode_message, encode_repeated, encode_with_items, otlp_enum, repeated_len,
};
use crate::wire::fields::{
    buckets, data, exemplar, exp_histogram_point, histogram_point, metric, number_point, quantile,
    summary_point,
};

otlp_enum! {
    /// `AggregationTemporality`
    pub enum AggregationTemporality {
        /// `AGGREGATION_TEMPORALITY_UNSPECIFIED`
        #[default]
        Unspecified = 0,
        /// `AGGREGATION_TEMPORALITY_DELTA`
        Delta = 1,
        /// `AGGREGATION_TEMPORALITY_CUMULATIVE`
        Cumulative = 2,
    }
}

/// The `value` oneof of `NumberDataPoint` and `Exemplar`: written even when zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberValue {
    /// `as_double`
    Double(f64),
    /// `as_int` (sfixed64)
    Int(i64),
}

/// Length of a set `value` oneof; the two members have the same size.
#[inline]
const fn number_value_len(field_double: u32, v: Option<NumberValue>) -> usize {
    match v {
        Some(_) => tag_len(field_double) + 8,
        None => 0,
    }
}

#[inline]
fn encode_number_value(
    w: &mut Writer<'_>,
    field_double: u32,
    field_int: u32,
    v: Option<NumberValue>,
) -> Result<(), EncodeError> {
    match v {
        Some(NumberValue::Double(d)) => w.double_field(field_double, d),
        Some(NumberValue::Int(i)) => w.fixed64_field(field_int, i as u64),
        None => Ok(()),
    }
}

/// A proto3 `optional double`: written whenever set, even `0.0`.
#[inline]
const fn optional_double_len(field: u32, v: Option<f64>) -> usize {
    match v {
        Some(_) => tag_len(field) + 8,
        None => 0,
    }
}

#[inline]
fn encode_optional_double(
    w: &mut Writer<'_>,
    field: u32,
    v: Option<f64>,
) -> Result<(), EncodeError> {
    match v {
        Some(d) => w.double_field(field, d),
        None => Ok(()),
    }
}

/// A borrowed OTLP `Exemplar`.
#[derive(Debug)]
pub struct Exemplar<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `filtered_attributes`
    pub filtered_attributes: &'a A,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `as_double` / `as_int`; `None` leaves the oneof unset.
    pub value: Option<NumberValue>,
    /// `span_id`; `None` omits it.
    pub span_id: Option<[u8; 8]>,
    /// `trace_id`; `None` omits it.
    pub trace_id: Option<[u8; 16]>,
}

/// A borrowed OTLP `NumberDataPoint` (points of gauges and sums).
#[derive(Debug)]
pub struct NumberDataPoint<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `attributes`
    pub attributes: &'a A,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `as_double` / `as_int`; `None` leaves the oneof unset.
    pub value: Option<NumberValue>,
    /// `exemplars`
    pub exemplars: &'a [Exemplar<'a, A>],
    /// `flags` (`DataPointFlags` bits)
    pub flags: u32,
}

/// A borrowed OTLP `HistogramDataPoint`.
#[derive(Debug)]
pub struct HistogramDataPoint<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `attributes`
    pub attributes: &'a A,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum` (optional: `Some(0.0)` is written)
    pub sum: Option<f64>,
    /// `bucket_counts` (packed fixed64)
    pub bucket_counts: &'a [u64],
    /// `explicit_bounds` (packed double)
    pub explicit_bounds: &'a [f64],
    /// `exemplars`
    pub exemplars: &'a [Exemplar<'a, A>],
    /// `flags`
    pub flags: u32,
    /// `min` (optional)
    pub min: Option<f64>,
    /// `max` (optional)
    pub max: Option<f64>,
}

/// A borrowed `ExponentialHistogramDataPoint.Buckets`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Buckets<'a> {
    /// `offset` (sint32)
    pub offset: i32,
    /// `bucket_counts` (packed uint64 varints)
    pub bucket_counts: &'a [u64],
}

/// A borrowed OTLP `ExponentialHistogramDataPoint`.
#[derive(Debug)]
pub struct ExponentialHistogramDataPoint<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `attributes`
    pub attributes: &'a A,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum` (optional)
    pub sum: Option<f64>,
    /// `scale` (sint32)
    pub scale: i32,
    /// `zero_count`
    pub zero_count: u64,
    /// `positive`; `None` omits the message.
    pub positive: Option<Buckets<'a>>,
    /// `negative`; `None` omits the message.
    pub negative: Option<Buckets<'a>>,
    /// `flags`
    pub flags: u32,
    /// `exemplars`
    pub exemplars: &'a [Exemplar<'a, A>],
    /// `min` (optional)
    pub min: Option<f64>,
    /// `max` (optional)
    pub max: Option<f64>,
    /// `zero_threshold`
    pub zero_threshold: f64,
}

/// A borrowed `SummaryDataPoint.ValueAtQuantile`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quantile {
    /// `quantile`
    pub quantile: f64,
    /// `value`
    pub value: f64,
}

/// A borrowed OTLP `SummaryDataPoint`.
#[derive(Debug)]
pub struct SummaryDataPoint<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `attributes`
    pub attributes: &'a A,
    /// `start_time_unix_nano`
    pub start_time_unix_nano: u64,
    /// `time_unix_nano`
    pub time_unix_nano: u64,
    /// `count`
    pub count: u64,
    /// `sum`
    pub sum: f64,
    /// `quantile_values`
    pub quantile_values: &'a [Quantile],
    /// `flags`
    pub flags: u32,
}

/// The `data` oneof of `Metric`.
#[derive(Debug)]
pub enum MetricData<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `gauge`
    Gauge {
        /// `data_points`
        data_points: &'a [NumberDataPoint<'a, A>],
    },
    /// `sum`
    Sum {
        /// `data_points`
        data_points: &'a [NumberDataPoint<'a, A>],
        /// `aggregation_temporality`
        aggregation_temporality: AggregationTemporality,
        /// `is_monotonic`
        is_monotonic: bool,
    },
    /// `histogram`
    Histogram {
        /// `data_points`
        data_points: &'a [HistogramDataPoint<'a, A>],
        /// `aggregation_temporality`
        aggregation_temporality: AggregationTemporality,
    },
    /// `exponential_histogram`
    ExponentialHistogram {
        /// `data_points`
        data_points: &'a [ExponentialHistogramDataPoint<'a, A>],
        /// `aggregation_temporality`
        aggregation_temporality: AggregationTemporality,
    },
    /// `summary`
    Summary {
        /// `data_points`
        data_points: &'a [SummaryDataPoint<'a, A>],
    },
}

/// A borrowed OTLP `Metric`.
#[derive(Debug)]
pub struct Metric<'a, A: ?Sized = [KeyValue<'a>]> {
    /// `name`
    pub name: &'a str,
    /// `description`
    pub description: &'a str,
    /// `unit`
    pub unit: &'a str,
    /// `gauge` / `sum` / `histogram` / `exponential_histogram` / `summary`
    pub data: MetricData<'a, A>,
    /// `metadata`
    pub metadata: &'a A,
}

copy_impls!(
    Exemplar,
    NumberDataPoint,
    HistogramDataPoint,
    ExponentialHistogramDataPoint,
    SummaryDataPoint,
    MetricData,
    Metric,
);

impl Default for Exemplar<'_> {
    fn default() -> Self {
        Self {
            filtered_attributes: &[],
            time_unix_nano: 0,
            value: None,
            span_id: None,
            trace_id: None,
        }
    }
}

impl Default for NumberDataPoint<'_> {
    fn default() -> Self {
        Self {
            attributes: &[],
            start_time_unix_nano: 0,
            time_unix_nano: 0,
            value: None,
            exemplars: &[],
            flags: 0,
        }
    }
}

impl Default for HistogramDataPoint<'_> {
    fn default() -> Self {
        Self {
            attributes: &[],
            start_time_unix_nano: 0,
            time_unix_nano: 0,
            count: 0,
            sum: None,
            bucket_counts: &[],
            explicit_bounds: &[],
            exemplars: &[],
            flags: 0,
            min: None,
            max: None,
        }
    }
}

impl Default for ExponentialHistogramDataPoint<'_> {
    fn default() -> Self {
        Self {
            attributes: &[],
            start_time_unix_nano: 0,
            time_unix_nano: 0,
            count: 0,
            sum: None,
            scale: 0,
            zero_count: 0,
            positive: None,
            negative: None,
            flags: 0,
            exemplars: &[],
            min: None,
            max: None,
            zero_threshold: 0.0,
        }
    }
}

impl Default for SummaryDataPoint<'_> {
    fn default() -> Self {
        Self {
            attributes: &[],
            start_time_unix_nano: 0,
            time_unix_nano: 0,
            count: 0,
            sum: 0.0,
            quantile_values: &[],
            flags: 0,
        }
    }
}

impl<A: Attributes + ?Sized> Encode for Exemplar<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_fixed64_len(exemplar::TIME_UNIX_NANO, self.time_unix_nano)
            + number_value_len(exemplar::AS_DOUBLE, self.value)
            + self
                .span_id
                .map_or(0, |_| len_field_len(exemplar::SPAN_ID, 8))
            + self
                .trace_id
                .map_or(0, |_| len_field_len(exemplar::TRACE_ID, 16))
            + self
                .filtered_attributes
                .attributes_len(exemplar::FILTERED_ATTRIBUTES)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_fixed64(exemplar::TIME_UNIX_NANO, self.time_unix_nano)?;
        // prost writes the oneof at its lowest number (3), even when `as_int` (6) is set.
        encode_number_value(w, exemplar::AS_DOUBLE, exemplar::AS_INT, self.value)?;
        if let Some(id) = &self.span_id {
            w.bytes_field(exemplar::SPAN_ID, id)?;
        }
        if let Some(id) = &self.trace_id {
            w.bytes_field(exemplar::TRACE_ID, id)?;
        }
        self.filtered_attributes
            .encode_attributes(exemplar::FILTERED_ATTRIBUTES, w)
    }
}

impl<A: Attributes + ?Sized> Encode for NumberDataPoint<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_fixed64_len(
            number_point::START_TIME_UNIX_NANO,
            self.start_time_unix_nano,
        ) + opt_fixed64_len(number_point::TIME_UNIX_NANO, self.time_unix_nano)
            + number_value_len(number_point::AS_DOUBLE, self.value)
            + repeated_len(number_point::EXEMPLARS, self.exemplars)
            + self.attributes.attributes_len(number_point::ATTRIBUTES)
            + opt_varint_len(number_point::FLAGS, self.flags.into())
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_fixed64(
            number_point::START_TIME_UNIX_NANO,
            self.start_time_unix_nano,
        )?;
        w.opt_fixed64(number_point::TIME_UNIX_NANO, self.time_unix_nano)?;
        // prost writes the oneof at its lowest number (4), even when `as_int` (6) is set.
        encode_number_value(w, number_point::AS_DOUBLE, number_point::AS_INT, self.value)?;
        encode_repeated(number_point::EXEMPLARS, self.exemplars, w)?;
        self.attributes
            .encode_attributes(number_point::ATTRIBUTES, w)?;
        w.opt_varint(number_point::FLAGS, self.flags.into())
    }
}

impl<A: Attributes + ?Sized> Encode for HistogramDataPoint<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        use histogram_point as f;
        opt_fixed64_len(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)
            + opt_fixed64_len(f::TIME_UNIX_NANO, self.time_unix_nano)
            + opt_fixed64_len(f::COUNT, self.count)
            + optional_double_len(f::SUM, self.sum)
            + packed_fixed_len(f::BUCKET_COUNTS, self.bucket_counts.len())
            + packed_fixed_len(f::EXPLICIT_BOUNDS, self.explicit_bounds.len())
            + repeated_len(f::EXEMPLARS, self.exemplars)
            + self.attributes.attributes_len(f::ATTRIBUTES)
            + opt_varint_len(f::FLAGS, self.flags.into())
            + optional_double_len(f::MIN, self.min)
            + optional_double_len(f::MAX, self.max)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use histogram_point as f;
        w.opt_fixed64(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)?;
        w.opt_fixed64(f::TIME_UNIX_NANO, self.time_unix_nano)?;
        w.opt_fixed64(f::COUNT, self.count)?;
        encode_optional_double(w, f::SUM, self.sum)?;
        w.packed_fixed64(f::BUCKET_COUNTS, self.bucket_counts)?;
        w.packed_double(f::EXPLICIT_BOUNDS, self.explicit_bounds)?;
        encode_repeated(f::EXEMPLARS, self.exemplars, w)?;
        self.attributes.encode_attributes(f::ATTRIBUTES, w)?;
        w.opt_varint(f::FLAGS, self.flags.into())?;
        encode_optional_double(w, f::MIN, self.min)?;
        encode_optional_double(w, f::MAX, self.max)
    }
}

impl Encode for Buckets<'_> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_varint_len(buckets::OFFSET, zigzag32(self.offset).into())
            + packed_varint_len(buckets::BUCKET_COUNTS, self.bucket_counts)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_varint(buckets::OFFSET, zigzag32(self.offset).into())?;
        w.packed_varint(buckets::BUCKET_COUNTS, self.bucket_counts)
    }
}

impl<A: Attributes + ?Sized> Encode for ExponentialHistogramDataPoint<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        use exp_histogram_point as f;
        self.attributes.attributes_len(f::ATTRIBUTES)
            + opt_fixed64_len(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)
            + opt_fixed64_len(f::TIME_UNIX_NANO, self.time_unix_nano)
            + opt_fixed64_len(f::COUNT, self.count)
            + optional_double_len(f::SUM, self.sum)
            + opt_varint_len(f::SCALE, zigzag32(self.scale).into())
            + opt_fixed64_len(f::ZERO_COUNT, self.zero_count)
            + self
                .positive
                .as_ref()
                .map_or(0, |b| len_field_len(f::POSITIVE, b.encoded_len()))
            + self
                .negative
                .as_ref()
                .map_or(0, |b| len_field_len(f::NEGATIVE, b.encoded_len()))
            + opt_varint_len(f::FLAGS, self.flags.into())
            + repeated_len(f::EXEMPLARS, self.exemplars)
            + optional_double_len(f::MIN, self.min)
            + optional_double_len(f::MAX, self.max)
            + opt_double_len(f::ZERO_THRESHOLD, self.zero_threshold)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use exp_histogram_point as f;
        self.attributes.encode_attributes(f::ATTRIBUTES, w)?;
        w.opt_fixed64(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)?;
        w.opt_fixed64(f::TIME_UNIX_NANO, self.time_unix_nano)?;
        w.opt_fixed64(f::COUNT, self.count)?;
        encode_optional_double(w, f::SUM, self.sum)?;
        w.opt_varint(f::SCALE, zigzag32(self.scale).into())?;
        w.opt_fixed64(f::ZERO_COUNT, self.zero_count)?;
        if let Some(b) = &self.positive {
            encode_message(f::POSITIVE, b, w)?;
        }
        if let Some(b) = &self.negative {
            encode_message(f::NEGATIVE, b, w)?;
        }
        w.opt_varint(f::FLAGS, self.flags.into())?;
        encode_repeated(f::EXEMPLARS, self.exemplars, w)?;
        encode_optional_double(w, f::MIN, self.min)?;
        encode_optional_double(w, f::MAX, self.max)?;
        w.opt_double(f::ZERO_THRESHOLD, self.zero_threshold)
    }
}

impl Encode for Quantile {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_double_len(quantile::QUANTILE, self.quantile)
            + opt_double_len(quantile::VALUE, self.value)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_double(quantile::QUANTILE, self.quantile)?;
        w.opt_double(quantile::VALUE, self.value)
    }
}

impl<A: Attributes + ?Sized> Encode for SummaryDataPoint<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        use summary_point as f;
        opt_fixed64_len(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)
            + opt_fixed64_len(f::TIME_UNIX_NANO, self.time_unix_nano)
            + opt_fixed64_len(f::COUNT, self.count)
            + opt_double_len(f::SUM, self.sum)
            + repeated_len(f::QUANTILE_VALUES, self.quantile_values)
            + self.attributes.attributes_len(f::ATTRIBUTES)
            + opt_varint_len(f::FLAGS, self.flags.into())
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        use summary_point as f;
        w.opt_fixed64(f::START_TIME_UNIX_NANO, self.start_time_unix_nano)?;
        w.opt_fixed64(f::TIME_UNIX_NANO, self.time_unix_nano)?;
        w.opt_fixed64(f::COUNT, self.count)?;
        w.opt_double(f::SUM, self.sum)?;
        encode_repeated(f::QUANTILE_VALUES, self.quantile_values, w)?;
        self.attributes.encode_attributes(f::ATTRIBUTES, w)?;
        w.opt_varint(f::FLAGS, self.flags.into())
    }
}

impl<A: Attributes + ?Sized> MetricData<'_, A> {
    /// The `Metric` field number of this oneof member.
    #[inline]
    const fn field(&self) -> u32 {
        match self {
            Self::Gauge { .. } => metric::GAUGE,
            Self::Sum { .. } => metric::SUM,
            Self::Histogram { .. } => metric::HISTOGRAM,
            Self::ExponentialHistogram { .. } => metric::EXPONENTIAL_HISTOGRAM,
            Self::Summary { .. } => metric::SUMMARY,
        }
    }

    /// Length of the fields after `data_points` (temporality, monotonic).
    #[inline]
    fn tail_len(&self) -> usize {
        match *self {
            Self::Gauge { .. } | Self::Summary { .. } => 0,
            Self::Sum {
                aggregation_temporality,
                is_monotonic,
                ..
            } => {
                opt_varint_len(
                    data::AGGREGATION_TEMPORALITY,
                    aggregation_temporality as u64,
                ) + opt_varint_len(data::IS_MONOTONIC, u64::from(is_monotonic))
            }
            Self::Histogram {
                aggregation_temporality,
                ..
            }
            | Self::ExponentialHistogram {
                aggregation_temporality,
                ..
            } => opt_varint_len(
                data::AGGREGATION_TEMPORALITY,
                aggregation_temporality as u64,
            ),
        }
    }

    #[inline]
    fn encode_tail(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        match *self {
            Self::Gauge { .. } | Self::Summary { .. } => Ok(()),
            Self::Sum {
                aggregation_temporality,
                is_monotonic,
                ..
            } => {
                w.opt_varint(
                    data::AGGREGATION_TEMPORALITY,
                    aggregation_temporality as u64,
                )?;
                w.opt_varint(data::IS_MONOTONIC, u64::from(is_monotonic))
            }
            Self::Histogram {
                aggregation_temporality,
                ..
            }
            | Self::ExponentialHistogram {
                aggregation_temporality,
                ..
            } => w.opt_varint(
                data::AGGREGATION_TEMPORALITY,
                aggregation_temporality as u64,
            ),
        }
    }

    /// Length of the `Gauge` / `Sum` / ... message body.
    #[inline]
    fn body_len(&self) -> usize {
        let points = match *self {
            Self::Gauge { data_points } | Self::Sum { data_points, .. } => {
                repeated_len(data::DATA_POINTS, data_points)
            }
            Self::Histogram { data_points, .. } => repeated_len(data::DATA_POINTS, data_points),
            Self::ExponentialHistogram { data_points, .. } => {
                repeated_len(data::DATA_POINTS, data_points)
            }
            Self::Summary { data_points } => repeated_len(data::DATA_POINTS, data_points),
        };
        points + self.tail_len()
    }

    #[inline]
    fn encode_field(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let (field, tail) = (self.field(), self.tail_len());
        let none = |_: &mut Writer<'_>| Ok(());
        let tail_fn = |w: &mut Writer<'_>| self.encode_tail(w);
        match *self {
            Self::Gauge { data_points } | Self::Sum { data_points, .. } => encode_with_items(
                w,
                field,
                tail,
                none,
                data::DATA_POINTS,
                data_points,
                tail_fn,
            ),
            Self::Histogram { data_points, .. } => encode_with_items(
                w,
                field,
                tail,
                none,
                data::DATA_POINTS,
                data_points,
                tail_fn,
            ),
            Self::ExponentialHistogram { data_points, .. } => encode_with_items(
                w,
                field,
                tail,
                none,
                data::DATA_POINTS,
                data_points,
                tail_fn,
            ),
            Self::Summary { data_points } => encode_with_items(
                w,
                field,
                tail,
                none,
                data::DATA_POINTS,
                data_points,
                tail_fn,
            ),
        }
    }
}

impl<A: Attributes + ?Sized> Encode for Metric<'_, A> {
    #[inline]
    fn encoded_len(&self) -> usize {
        opt_bytes_len(metric::NAME, self.name.as_bytes())
            + opt_bytes_len(metric::DESCRIPTION, self.description.as_bytes())
            + opt_bytes_len(metric::UNIT, self.unit.as_bytes())
            + len_field_len(self.data.field(), self.data.body_len())
            + self.metadata.attributes_len(metric::METADATA)
    }

    #[inline]
    fn encode_to(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.opt_bytes(metric::NAME, self.name.as_bytes())?;
        w.opt_bytes(metric::DESCRIPTION, self.description.as_bytes())?;
        w.opt_bytes(metric::UNIT, self.unit.as_bytes())?;
        self.data.encode_field(w)?;
        self.metadata.encode_attributes(metric::METADATA, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_int_zero_is_written_before_exemplars() {
        let ex = [Exemplar::default()];
        let p: NumberDataPoint<'_> = NumberDataPoint {
            value: Some(NumberValue::Int(0)),
            exemplars: &ex,
            ..NumberDataPoint::default()
        };
        let mut buf = [0u8; 32];
        let n = p.encode(&mut buf).unwrap();
        assert_eq!(n, p.encoded_len());
        // as_int (6, sfixed64) = 0, then exemplars (5) = empty message.
        assert_eq!(&buf[..n], &[0x31, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0]);
    }

    #[test]
    fn optional_doubles_and_sint32() {
        let p: ExponentialHistogramDataPoint<'_> = ExponentialHistogramDataPoint {
            sum: Some(0.0),
            scale: -1,
            positive: Some(Buckets {
                offset: -2,
                bucket_counts: &[300],
            }),
            zero_threshold: -0.0,
            ..ExponentialHistogramDataPoint::default()
        };
        let mut buf = [0u8; 64];
        let n = p.encode(&mut buf).unwrap();
        assert_eq!(n, p.encoded_len());
        let expected: [u8; 19] = [
            0x29, 0, 0, 0, 0, 0, 0, 0, 0, // sum Some(0.0)
            0x30, 1, // scale -1 zigzags to 1
            0x42, 6, 0x08, 3, 0x12, 2, 0xac,
            0x02, // positive { offset -2 -> 3, counts [300] }
        ]; // zero_threshold -0.0 == 0.0 is omitted, as prost omits it
        assert_eq!(&buf[..n], &expected[..]);
    }
}
