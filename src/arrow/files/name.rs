//! File names: `{signal}-{YYYYMMDD}T{hhmmss}.{nnnnnnnnn}Z-{seq}.arrow[.partial]`.
//!
//! Example: `traces-20261201T074512.123456789Z-000000.arrow`. The time is the UTC wall time at
//! which the writer created the file, to the nanosecond; `seq` (six digits) breaks ties between
//! files created in the same nanosecond. Every field has a fixed width, so **lexical order of the
//! names is time order** (and, within one directory, creation order: the writer never names a
//! new file at or below the newest name already there, see [`FileName::next`]).
//!
//! A name is ours only if it parses *and* formats back to exactly the same string (no leading
//! `+`, no out-of-range month, no year 0000...), so a foreign file that merely looks similar is
//! never touched.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::signal::Signal;

/// Suffix of finalized files: complete Arrow IPC streams.
pub const FINALIZED_SUFFIX: &str = ".arrow";
/// Suffix of files being written (and of crashed ones awaiting recovery). Does not end in
/// `.arrow`, so globs for finalized files never pick up a file in progress.
pub const PARTIAL_SUFFIX: &str = ".arrow.partial";

/// Largest `seq`; one more file in the same nanosecond moves to the next nanosecond instead.
pub const MAX_SEQ: u32 = 999_999;

const NANOS_PER_SEC: u64 = 1_000_000_000;
/// The stem after `{signal}-`: `YYYYMMDDThhmmss.nnnnnnnnnZ-ssssss`.
const STEM_TAIL_LEN: usize = 33;

/// Whether a file of ours is finished or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileState {
    /// `*.arrow.partial`: being written, or left by a crash (repaired by recovery).
    InProgress,
    /// `*.arrow`: a complete Arrow IPC stream.
    Finalized,
}

impl FileState {
    /// The suffix of a file in this state.
    pub const fn suffix(self) -> &'static str {
        match self {
            FileState::InProgress => PARTIAL_SUFFIX,
            FileState::Finalized => FINALIZED_SUFFIX,
        }
    }
}

/// The identity of one stored file: signal, creation time and tie-breaking sequence.
///
/// Ordering (`Ord`) is by signal, then time, then sequence: for one signal, the same as the
/// lexical order of the file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileName {
    signal: Signal,
    time_ns: u64,
    seq: u32,
}

impl FileName {
    /// A name for `signal` at `time_ns` nanoseconds after the Unix epoch; `None` if `seq` is
    /// above [`MAX_SEQ`].
    pub const fn new(signal: Signal, time_ns: u64, seq: u32) -> Option<FileName> {
        if seq > MAX_SEQ {
            return None;
        }
        Some(FileName {
            signal,
            time_ns,
            seq,
        })
    }

    /// The next name a writer should use at `now`: `now` itself with sequence 0 unless that
    /// does not sort after `newest` (the newest name in the directory, or the writer's previous
    /// file). Then the name stays at `newest`'s time with the next sequence, so names keep
    /// increasing even when the wall clock steps back or two files open in one nanosecond.
    pub fn next(signal: Signal, now: SystemTime, newest: Option<FileName>) -> FileName {
        let now_ns = unix_nanos(now);
        match newest {
            Some(n) if now_ns <= n.time_ns => {
                if n.seq < MAX_SEQ {
                    FileName {
                        signal,
                        time_ns: n.time_ns,
                        seq: n.seq + 1,
                    }
                } else {
                    FileName {
                        signal,
                        time_ns: n.time_ns.saturating_add(1),
                        seq: 0,
                    }
                }
            }
            _ => FileName {
                signal,
                time_ns: now_ns,
                seq: 0,
            },
        }
    }

    /// Parses a file name (no directory). `None` if it is not exactly one of ours.
    pub fn parse(file_name: &str) -> Option<(FileName, FileState)> {
        let (stem, state) = if let Some(stem) = file_name.strip_suffix(PARTIAL_SUFFIX) {
            (stem, FileState::InProgress)
        } else if let Some(stem) = file_name.strip_suffix(FINALIZED_SUFFIX) {
            (stem, FileState::Finalized)
        } else {
            return None;
        };
        let (prefix, tail) = stem.split_once('-')?;
        let signal = Signal::ALL.into_iter().find(|s| s.as_str() == prefix)?;
        let b = tail.as_bytes();
        if b.len() != STEM_TAIL_LEN
            || b[8] != b'T'
            || b[15] != b'.'
            || b[25] != b'Z'
            || b[26] != b'-'
        {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[4..6])?;
        let day = digits(&b[6..8])?;
        let hour = digits(&b[9..11])?;
        let minute = digits(&b[11..13])?;
        let second = digits(&b[13..15])?;
        let nanos = digits(&b[16..25])?;
        let seq = digits(&b[27..33])?;
        if !(1..=12).contains(&month) || day < 1 || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year as i64, month as u32, day as u32);
        let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
        let time_ns = secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?;
        let name = FileName::new(signal, time_ns, u32::try_from(seq).ok()?)?;
        // Strictness: a day past the month's end (20260231) would normalise to another date;
        // only names that format back identically are ours.
        (name.to_string() == stem).then_some((name, state))
    }

    /// The signal whose directory this file belongs in.
    pub const fn signal(&self) -> Signal {
        self.signal
    }

    /// Creation time, nanoseconds since the Unix epoch (UTC).
    pub const fn time_unix_nanos(&self) -> u64 {
        self.time_ns
    }

    /// Creation time.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.time_ns)
    }

    /// The tie-breaking sequence.
    pub const fn seq(&self) -> u32 {
        self.seq
    }

    /// The file name (no directory) in `state`.
    pub fn file_name(&self, state: FileState) -> String {
        format!("{self}{}", state.suffix())
    }
}

/// The stem: the file name without its suffix.
impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.time_ns / NANOS_PER_SEC;
        let nanos = self.time_ns % NANOS_PER_SEC;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let sod = secs % 86_400;
        write!(
            f,
            "{}-{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{nanos:09}Z-{:06}",
            self.signal.as_str(),
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            self.seq
        )
    }
}

/// Nanoseconds since the Unix epoch; times before it count as the epoch, times past
/// `u64::MAX` ns (year 2554) as that.
pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn digits(b: &[u8]) -> Option<u64> {
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`] (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        // 2026-12-01T07:45:12.123456789Z
        let secs = days_from_civil(2026, 12, 1) as u64 * 86_400 + 7 * 3600 + 45 * 60 + 12;
        let n = FileName::new(Signal::Traces, secs * NANOS_PER_SEC + 123_456_789, 42).unwrap();
        assert_eq!(
            n.file_name(FileState::Finalized),
            "traces-20261201T074512.123456789Z-000042.arrow"
        );
        assert_eq!(
            n.file_name(FileState::InProgress),
            "traces-20261201T074512.123456789Z-000042.arrow.partial"
        );
        assert_eq!(
            FileName::parse("traces-20261201T074512.123456789Z-000042.arrow"),
            Some((n, FileState::Finalized))
        );
        let epoch = FileName::new(Signal::Logs, 0, 0).unwrap();
        assert_eq!(epoch.to_string(), "logs-19700101T000000.000000000Z-000000");
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for z in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn rejects_names_that_are_not_exactly_ours() {
        for bad in [
            "traces-20261201T074512.123456789Z-000042.arrow.tmp",
            "traces-20261201T074512.123456789Z-000042",
            "trace-20261201T074512.123456789Z-000042.arrow",
            "traces-20261301T074512.123456789Z-000042.arrow", // month 13
            "traces-20260231T074512.123456789Z-000042.arrow", // Feb 31
            "traces-20261201T244512.123456789Z-000042.arrow", // hour 24
            "traces-20261201T074512.12345678Z-0000042.arrow", // widths
            "traces-2026120 T074512.123456789Z-000042.arrow",
            "traces-+0261201T074512.123456789Z-000042.arrow",
            "traces-20261201T074512.123456789Z-000042.arrow.partial.arrow",
            "notes.txt",
            ".arrow",
        ] {
            assert_eq!(FileName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_is_strictly_increasing_even_when_the_clock_steps_back() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = FileName::next(Signal::Metrics, t, None);
        assert_eq!((a.time_unix_nanos(), a.seq()), (unix_nanos(t), 0));
        let b = FileName::next(Signal::Metrics, t, Some(a));
        let c = FileName::next(Signal::Metrics, t - Duration::from_secs(60), Some(b));
        let d = FileName::next(Signal::Metrics, t + Duration::from_secs(1), Some(c));
        assert!(a < b && b < c && c < d);
        assert_eq!((c.time_unix_nanos(), c.seq()), (a.time_unix_nanos(), 2));
        let full = FileName::new(Signal::Metrics, 5, MAX_SEQ).unwrap();
        let e = FileName::next(Signal::Metrics, UNIX_EPOCH, Some(full));
        assert_eq!((e.time_unix_nanos(), e.seq()), (6, 0));
        let names: Vec<String> = [a, b, c, d, e]
            .iter()
            .map(|n| n.file_name(FileState::Finalized))
            .collect();
        assert!(names[..4].is_sorted());
    }
}
