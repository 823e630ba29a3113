//! Validation of `metrics.v1.Metric`, its five data kinds and their data points, exemplars,
//! exponential-histogram buckets and summary quantiles.
//!
//! A metric's item count is its number of data points (the OTLP partial-success unit for
//! metrics). `Metric.data` is a `oneof`: as protobuf decoders do, when several data fields
//! occur the last kind wins, and repeated occurrences of the same kind merge, so their points
//! add up.
//!
//! Exemplar `trace_id` / `span_id` are empty or exact-length (16 / 8); all-zero is accepted.
#![forbid(unsafe_code)]

use super::common::attribute;
use super::error::{At, ErrorKind, FieldName, Scan};
use super::reader::{IdRule, Reader, Tag};
use crate::wire::fields::{
    buckets, data, exemplar, exp_histogram_point, histogram_point, metric, number_point, quantile,
    summary_point,
};

/// The five `Metric.data` kinds, named by their `Metric` field number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DataKind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl DataKind {
    /// The kind for a `Metric` field number, if it is one of the `data` fields.
    #[inline]
    pub(super) const fn from_field(field: u32) -> Option<Self> {
        match field {
            metric::GAUGE => Some(Self::Gauge),
            metric::SUM => Some(Self::Sum),
            metric::HISTOGRAM => Some(Self::Histogram),
            metric::EXPONENTIAL_HISTOGRAM => Some(Self::ExponentialHistogram),
            metric::SUMMARY => Some(Self::Summary),
            _ => None,
        }
    }

    const fn name(self) -> FieldName {
        match self {
            Self::Gauge => FieldName::Gauge,
            Self::Sum => FieldName::Sum,
            Self::Histogram => FieldName::Histogram,
            Self::ExponentialHistogram => FieldName::ExponentialHistogram,
            Self::Summary => FieldName::Summary,
        }
    }
}

/// Applies `oneof` semantics to a running point count: a new kind replaces, the same kind
/// merges. Returns `None` on `u32` overflow.
#[inline]
pub(super) fn merge_points(
    current: &mut Option<(DataKind, u32)>,
    kind: DataKind,
    points: u32,
) -> Option<()> {
    *current = match *current {
        Some((last, total)) if last == kind => Some((kind, total.checked_add(points)?)),
        _ => Some((kind, points)),
    };
    Some(())
}

/// `metrics.v1.Metric` at nesting `level`; returns its number of data points.
pub(super) fn metric(mut r: Reader<'_, '_>, level: u32) -> Scan<u32> {
    let s = r.slot();
    let mut metadata = 0u32;
    let mut points: Option<(DataKind, u32)> = None;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            metric::NAME => r.string(tag).at(s, FieldName::Name)?,
            metric::DESCRIPTION => r.string(tag).at(s, FieldName::Description)?,
            metric::UNIT => r.string(tag).at(s, FieldName::Unit)?,
            metric::METADATA => attribute(&mut r, tag, level, FieldName::Metadata, &mut metadata)?,
            field => match DataKind::from_field(field) {
                Some(kind) => {
                    let n = r
                        .message(tag, |m| metric_data(m, kind, level + 1))
                        .at(s, kind.name())?;
                    if merge_points(&mut points, kind, n).is_none() {
                        return Err(r.fail(tag.at, ErrorKind::TooManyItems));
                    }
                }
                None => r.skip_unknown(tag)?,
            },
        }
    }
    Ok(points.map_or(0, |(_, n)| n))
}

/// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram` or `Summary`; returns its point count.
/// Fields a kind does not have (e.g. `aggregation_temporality` in a `Gauge`) are unknown there.
fn metric_data(mut r: Reader<'_, '_>, kind: DataKind, level: u32) -> Scan<u32> {
    let s = r.slot();
    let mut points = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match (tag.field, kind) {
            (data::DATA_POINTS, _) => {
                let point_level = level + 1;
                match kind {
                    DataKind::Gauge | DataKind::Sum => {
                        r.message(tag, |m| number_data_point(m, point_level))
                    }
                    DataKind::Histogram => r.message(tag, |m| histogram_data_point(m, point_level)),
                    DataKind::ExponentialHistogram => {
                        r.message(tag, |m| exp_histogram_data_point(m, point_level))
                    }
                    DataKind::Summary => r.message(tag, |m| summary_data_point(m, point_level)),
                }
                .at_index(s, FieldName::DataPoints, points)?;
                // Cannot overflow before the per-resource count does (2+ bytes per point), but
                // stay panic-free and exact anyway.
                points = points
                    .checked_add(1)
                    .ok_or_else(|| r.fail(tag.at, ErrorKind::TooManyItems))?;
            }
            (
                data::AGGREGATION_TEMPORALITY,
                DataKind::Sum | DataKind::Histogram | DataKind::ExponentialHistogram,
            ) => r
                .varint_field(tag)
                .at(s, FieldName::AggregationTemporality)?,
            (data::IS_MONOTONIC, DataKind::Sum) => {
                r.varint_field(tag).at(s, FieldName::IsMonotonic)?
            }
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(points)
}

/// `metrics.v1.NumberDataPoint`.
fn number_data_point(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    use number_point as f;
    let (mut attributes, mut exemplars) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            f::ATTRIBUTES => attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?,
            f::START_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::StartTimeUnixNano)?,
            f::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            f::AS_DOUBLE => r.fixed64(tag).at(s, FieldName::AsDouble)?,
            f::AS_INT => r.fixed64(tag).at(s, FieldName::AsInt)?,
            f::EXEMPLARS => exemplar_field(&mut r, tag, level, &mut exemplars)?,
            f::FLAGS => r.varint_field(tag).at(s, FieldName::Flags)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `metrics.v1.HistogramDataPoint`.
fn histogram_data_point(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    use histogram_point as f;
    let (mut attributes, mut exemplars) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            f::ATTRIBUTES => attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?,
            f::START_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::StartTimeUnixNano)?,
            f::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            f::COUNT => r.fixed64(tag).at(s, FieldName::Count)?,
            f::SUM => r.fixed64(tag).at(s, FieldName::Sum)?,
            f::BUCKET_COUNTS => r.packed_fixed64(tag).at(s, FieldName::BucketCounts)?,
            f::EXPLICIT_BOUNDS => r.packed_fixed64(tag).at(s, FieldName::ExplicitBounds)?,
            f::EXEMPLARS => exemplar_field(&mut r, tag, level, &mut exemplars)?,
            f::FLAGS => r.varint_field(tag).at(s, FieldName::Flags)?,
            f::MIN => r.fixed64(tag).at(s, FieldName::Min)?,
            f::MAX => r.fixed64(tag).at(s, FieldName::Max)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `metrics.v1.ExponentialHistogramDataPoint`.
fn exp_histogram_data_point(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    use exp_histogram_point as f;
    let (mut attributes, mut exemplars) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            f::ATTRIBUTES => attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?,
            f::START_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::StartTimeUnixNano)?,
            f::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            f::COUNT => r.fixed64(tag).at(s, FieldName::Count)?,
            f::SUM => r.fixed64(tag).at(s, FieldName::Sum)?,
            f::SCALE => r.varint_field(tag).at(s, FieldName::Scale)?,
            f::ZERO_COUNT => r.fixed64(tag).at(s, FieldName::ZeroCount)?,
            f::POSITIVE => r.message(tag, exp_buckets).at(s, FieldName::Positive)?,
            f::NEGATIVE => r.message(tag, exp_buckets).at(s, FieldName::Negative)?,
            f::FLAGS => r.varint_field(tag).at(s, FieldName::Flags)?,
            f::EXEMPLARS => exemplar_field(&mut r, tag, level, &mut exemplars)?,
            f::MIN => r.fixed64(tag).at(s, FieldName::Min)?,
            f::MAX => r.fixed64(tag).at(s, FieldName::Max)?,
            f::ZERO_THRESHOLD => r.fixed64(tag).at(s, FieldName::ZeroThreshold)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `ExponentialHistogramDataPoint.Buckets`.
fn exp_buckets(mut r: Reader<'_, '_>) -> Scan<()> {
    let s = r.slot();
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            buckets::OFFSET => r.varint_field(tag).at(s, FieldName::Offset)?,
            buckets::BUCKET_COUNTS => r.packed_varint(tag).at(s, FieldName::BucketCounts)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `metrics.v1.SummaryDataPoint`.
fn summary_data_point(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    use summary_point as f;
    let (mut attributes, mut quantiles) = (0u32, 0u32);
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            f::ATTRIBUTES => attribute(&mut r, tag, level, FieldName::Attributes, &mut attributes)?,
            f::START_TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::StartTimeUnixNano)?,
            f::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            f::COUNT => r.fixed64(tag).at(s, FieldName::Count)?,
            f::SUM => r.fixed64(tag).at(s, FieldName::Sum)?,
            f::QUANTILE_VALUES => {
                r.message(tag, value_at_quantile).at_index(
                    s,
                    FieldName::QuantileValues,
                    quantiles,
                )?;
                quantiles = quantiles.saturating_add(1);
            }
            f::FLAGS => r.varint_field(tag).at(s, FieldName::Flags)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// `SummaryDataPoint.ValueAtQuantile`.
fn value_at_quantile(mut r: Reader<'_, '_>) -> Scan<()> {
    let s = r.slot();
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            quantile::QUANTILE => r.fixed64(tag).at(s, FieldName::Quantile)?,
            quantile::VALUE => r.fixed64(tag).at(s, FieldName::Value)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}

/// One element of a point's repeated `exemplars` field (the point is at `level`).
#[inline(always)]
fn exemplar_field(r: &mut Reader<'_, '_>, tag: Tag, level: u32, index: &mut u32) -> Scan<()> {
    let s = r.slot();
    r.message(tag, |m| exemplar_at(m, level + 1))
        .at_index(s, FieldName::Exemplars, *index)?;
    *index = index.saturating_add(1);
    Ok(())
}

/// `metrics.v1.Exemplar`.
fn exemplar_at(mut r: Reader<'_, '_>, level: u32) -> Scan<()> {
    let s = r.slot();
    let mut attributes = 0u32;
    while !r.at_end() {
        let tag = r.tag()?;
        match tag.field {
            exemplar::FILTERED_ATTRIBUTES => {
                attribute(
                    &mut r,
                    tag,
                    level,
                    FieldName::FilteredAttributes,
                    &mut attributes,
                )?;
            }
            exemplar::TIME_UNIX_NANO => r.fixed64(tag).at(s, FieldName::TimeUnixNano)?,
            exemplar::AS_DOUBLE => r.fixed64(tag).at(s, FieldName::AsDouble)?,
            exemplar::AS_INT => r.fixed64(tag).at(s, FieldName::AsInt)?,
            exemplar::SPAN_ID => r.id(tag, 8, IdRule::Optional).at(s, FieldName::SpanId)?,
            exemplar::TRACE_ID => r.id(tag, 16, IdRule::Optional).at(s, FieldName::TraceId)?,
            _ => r.skip_unknown(tag)?,
        }
    }
    Ok(())
}
