//! Humane sizes (`"64MiB"`, `4096`) and durations (`"250ms"`, `"1h30m"`, `"7d"`): parsers,
//! canonical formatters, and the serde adapters the configuration fields use.
//!
//! Promises: parsing never panics and never silently rounds (overflow is an error); formatting
//! is exact, so `parse(format(x)) == x` for every value; errors say what was expected.
#![forbid(unsafe_code)]

use core::fmt;
use std::time::Duration;

/// Why a size or duration string was refused. Its `Display` says what was expected; it never
/// repeats the input (the caller shows the value next to the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    problem: String,
}

impl UnitError {
    fn new(problem: impl Into<String>) -> UnitError {
        UnitError {
            problem: problem.into(),
        }
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem)
    }
}

impl std::error::Error for UnitError {}

/// What a size looks like, for error messages.
pub(crate) const SIZE_EXPECTED: &str =
    "a size: a byte count such as 4096 or a string such as \"64KiB\", \"16MiB\", \"1GiB\"";
/// What a duration looks like, for error messages.
pub(crate) const DURATION_EXPECTED: &str =
    "a duration string such as \"250ms\", \"1s\", \"5m\", \"1h30m\", \"7d\"";

const SIZE_UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
];
const SIZE_UNIT_NAMES: &str =
    "B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)";

/// Parses a size in bytes: digits (`_` separators allowed), optionally followed by a unit,
/// case-insensitive: `B`, `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024) or `KB`, `MB`, `GB`,
/// `TB` (powers of 1000). Spaces around the number and unit are allowed: `"64 MiB"`.
///
/// ```
/// use otlp_arrow::config::parse_size;
/// assert_eq!(parse_size("64MiB"), Ok(64 << 20));
/// assert_eq!(parse_size("4096"), Ok(4096));
/// assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
/// assert!(parse_size("1.5GiB").is_err());
/// ```
///
/// # Errors
/// [`UnitError`] for an empty string, a missing number, an unknown unit, or a value above
/// `u64::MAX` bytes.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number = parse_digits(number).ok_or_else(|| {
        UnitError::new(format!(
            "expected {SIZE_EXPECTED} (a whole number, then an optional unit)"
        ))
    })?;
    let unit = unit.trim_start();
    let multiplier = if unit.is_empty() {
        1
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| unit.eq_ignore_ascii_case(name))
            .map(|&(_, m)| m)
            .ok_or_else(|| {
                UnitError::new(format!(
                    "unknown size unit, expected one of {SIZE_UNIT_NAMES}"
                ))
            })?
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| UnitError::new("size too large, expected at most 2^64 - 1 bytes"))
}

/// The canonical text of a size: the largest binary unit that divides it exactly
/// (`"16MiB"`, `"1GiB"`), or the plain byte count (`"4097"`, `"0"`). [`parse_size`] reads it
/// back exactly.
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    for (name, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes.trailing_zeros() >= shift {
            return format!("{}{name}", bytes >> shift);
        }
    }
    bytes.to_string()
}

const DURATION_UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];
const DURATION_UNIT_NAMES: &str = "ns, us, ms, s, m (or min), h, d";

/// Parses a duration: one or more `<whole number><unit>` parts, optionally separated by
/// spaces, added up (`"1h30m"`, `"1m 30s"`); units `ns`, `us` (`µs`), `ms`, `s`, `m` (`min`),
/// `h`, `d`. A lone `"0"` is zero. A number without a unit is refused: `"5"` could mean
/// seconds or milliseconds, and guessing wrong silently is worse than an error.
///
/// ```
/// use otlp_arrow::config::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
/// assert!(parse_duration("5").is_err());
/// ```
///
/// # Errors
/// [`UnitError`] for an empty string, a missing or unknown unit, a fraction, or a total above
/// `u64::MAX` nanoseconds (about 584 years).
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(UnitError::new(format!("expected {DURATION_EXPECTED}")));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits_end);
        let number = parse_digits(number).ok_or_else(|| {
            UnitError::new(format!(
                "expected {DURATION_EXPECTED} (whole numbers, each with a unit)"
            ))
        })?;
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if unit.is_empty() {
            return Err(UnitError::new(format!(
                "missing duration unit, expected one of {DURATION_UNIT_NAMES} after each number"
            )));
        }
        let nanos_per = DURATION_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, n)| n)
            .ok_or_else(|| {
                UnitError::new(format!(
                    "unknown duration unit, expected one of {DURATION_UNIT_NAMES}"
                ))
            })?;
        total = number
            .checked_mul(nanos_per)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| UnitError::new("duration too long, expected at most 584 years"))?;
        rest = after.trim_start();
    }
    Ok(Duration::from_nanos(total))
}

/// The canonical text of a duration: the largest unit that divides it exactly (`"7d"`,
/// `"90s"`, `"250ms"`, `"0s"`). [`parse_duration`] reads it back exactly for every duration up
/// to `u64::MAX` nanoseconds; longer ones are written in whole seconds (`Duration::MAX` is not a
/// useful setting, and this keeps formatting infallible).
pub fn format_duration(duration: Duration) -> String {
    let Ok(nanos) = u64::try_from(duration.as_nanos()) else {
        return format!("{}s", duration.as_secs());
    };
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (name, per) in [
        ("d", 86_400_000_000_000u64),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos % per == 0 {
            return format!("{}{name}", nanos / per);
        }
    }
    format!("{nanos}ns")
}

/// Digits with optional `_` separators (not leading); `None` if empty or above `u64::MAX`.
fn parse_digits(text: &str) -> Option<u64> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    text.bytes()
        .filter(|&b| b != b'_')
        .try_fold(0u64, |acc, b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
}

/// `#[serde(with = "size")]`: a `u64` byte count written as [`format_size`], read from an
/// integer or a [`parse_size`] string.
pub(crate) mod size {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_size(*bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(SizeVisitor)
    }

    struct SizeVisitor;

    impl Visitor<'_> for SizeVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(super::SIZE_EXPECTED)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v)
                .map_err(|_| E::custom("negative size, expected a size of 0 or more bytes"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            super::parse_size(v).map_err(E::custom)
        }
    }
}

/// `#[serde(with = "duration")]`: a [`Duration`] written as [`format_duration`], read from a
/// [`parse_duration`] string (bare integers are refused: their unit would be a guess).
pub(crate) mod duration {
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_str(DurationVisitor)
    }

    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(super::DURATION_EXPECTED)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            super::parse_duration(v).map_err(E::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1_048_576"), Ok(1 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size(" 64 MiB "), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size("3KB"), Ok(3000));
        assert_eq!(parse_size("5B"), Ok(5));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn sizes_refused_with_reason() {
        for bad in [
            "", "MiB", "-1", "1.5GiB", "_1", "0x10", "16 XB", "16 Mi B", "1e6",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be refused");
        }
        let unit = parse_size("16XB").unwrap_err().to_string();
        assert!(
            unit.contains("unknown size unit") && unit.contains("MiB"),
            "{unit}"
        );
        let overflow = parse_size("18446744073709551616").unwrap_err().to_string();
        assert!(overflow.contains("expected"), "{overflow}");
        assert!(
            parse_size("16777216TiB")
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
    }

    #[test]
    fn sizes_format_round_trip() {
        assert_eq!(format_size(0), "0");
        assert_eq!(format_size(16 << 20), "16MiB");
        assert_eq!(format_size(1 << 30), "1GiB");
        assert_eq!(format_size(1536), "1536");
        assert_eq!(format_size(4097), "4097");
        for n in [0, 1, 1023, 1024, 1025, 3 << 20, 5 << 40, u64::MAX, 1 << 63] {
            assert_eq!(parse_size(&format_size(n)), Ok(n), "{n}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 1m 30s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10 s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("15us"), Ok(Duration::from_micros(15)));
        assert_eq!(parse_duration("15µs"), Ok(Duration::from_micros(15)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
    }

    #[test]
    fn durations_refused_with_reason() {
        for bad in [
            "", "5", "s", "1.5s", "-1s", "1S", "1y", "1 h 30", "1h-30m", "ms5",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        let unit = parse_duration("5").unwrap_err().to_string();
        assert!(unit.contains("missing duration unit"), "{unit}");
        let unknown = parse_duration("3y").unwrap_err().to_string();
        assert!(
            unknown.contains("unknown duration unit") && unknown.contains("ms"),
            "{unknown}"
        );
        assert!(
            parse_duration("214749d")
                .unwrap_err()
                .to_string()
                .contains("too long")
        );
        assert_eq!(
            parse_duration("213503d").map(|d| d.as_secs()),
            Ok(213_503 * 86_400)
        );
    }

    #[test]
    fn durations_format_round_trip() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(604_800)), "7d");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(
            format_duration(Duration::from_nanos(1_000_001)),
            "1000001ns"
        );
        for d in [
            Duration::from_nanos(1),
            Duration::from_micros(7),
            Duration::from_secs(3600),
            Duration::from_secs(86_400 * 3 + 1),
            Duration::from_nanos(u64::MAX),
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{d:?}");
        }
        assert_eq!(format_duration(Duration::MAX), format!("{}s", u64::MAX));
    }
}
