//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status` (std has
//! no API for another process's usage; Linux only).
//!
//! CPU time is `utime + stime` of the whole thread group (fields 14 and 15 of `stat`, in clock
//! ticks; `getconf CLK_TCK` gives the tick, 100 when it cannot be asked). Peak RSS is `VmHWM`,
//! the high-water mark of the resident set since the process started.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// One reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProcSample {
    /// User + system CPU time of all threads so far.
    pub(crate) cpu: Duration,
    /// Peak resident set size so far, bytes.
    pub(crate) peak_rss: u64,
    /// Resident set size now, bytes.
    pub(crate) rss: u64,
}

/// Reads `pid`'s counters.
///
/// # Errors
/// The process is gone or `/proc` is not readable / not in the expected format.
pub(crate) fn sample(pid: u32) -> Result<ProcSample, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let ticks = cpu_ticks(&stat).ok_or_else(|| format!("/proc/{pid}/stat: unexpected format"))?;
    let kib =
        |key: &str| status_kib(&status, key).ok_or_else(|| format!("/proc/{pid}/status: no {key}"));
    Ok(ProcSample {
        cpu: ticks_to_duration(ticks),
        peak_rss: kib("VmHWM")? * 1024,
        rss: kib("VmRSS")? * 1024,
    })
}

/// One thread's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ThreadSample {
    /// `comm`, at most 15 bytes: `otlp-arrow-drain-traces` reads `otlp-arrow-drai`.
    pub(crate) name: String,
    /// User + system CPU time so far.
    pub(crate) cpu: Duration,
    /// Time spent runnable but waiting for a CPU (`schedstat` field 2): contention for the
    /// cores, as opposed to blocking (I/O, locks, sleeps), which is neither.
    pub(crate) runqueue: Duration,
}

/// The counters of each thread of `pid` so far, by thread id.
///
/// # Errors
/// The process is gone or `/proc` is not readable.
pub(crate) fn threads(pid: u32) -> Result<BTreeMap<u32, ThreadSample>, String> {
    let dir = format!("/proc/{pid}/task");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        // A thread may end between the listing and the read: skip it.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let name = stat
            .find('(')
            .zip(stat.rfind(')'))
            .map(|(a, b)| stat[a + 1..b].to_owned())
            .unwrap_or_default();
        let runqueue = std::fs::read_to_string(entry.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
            .map_or(Duration::ZERO, Duration::from_nanos);
        if let Some(ticks) = cpu_ticks(&stat) {
            let cpu = ticks_to_duration(ticks);
            out.insert(
                tid,
                ThreadSample {
                    name,
                    cpu,
                    runqueue,
                },
            );
        }
    }
    Ok(out)
}

/// CPU and run-queue time spent between two [`threads`] readings, summed per thread name,
/// largest CPU first.
pub(crate) fn thread_cpu_between(
    before: &BTreeMap<u32, ThreadSample>,
    after: &BTreeMap<u32, ThreadSample>,
) -> Vec<ThreadSample> {
    let mut by_name: BTreeMap<&str, ThreadSample> = BTreeMap::new();
    for (tid, t) in after {
        let base = before.get(tid).cloned().unwrap_or_default();
        let sum = by_name.entry(&t.name).or_insert_with(|| ThreadSample {
            name: t.name.clone(),
            ..ThreadSample::default()
        });
        sum.cpu += t.cpu.saturating_sub(base.cpu);
        sum.runqueue += t.runqueue.saturating_sub(base.runqueue);
    }
    let mut out: Vec<ThreadSample> = by_name.into_values().collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.cpu));
    out
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_sec() as f64)
}

/// `utime + stime` from a `stat` line. The command name (field 2) is in parentheses and may
/// hold spaces or parentheses, so fields are counted after the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) 12.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of `status`, in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

fn clock_ticks_per_sec() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// This thread's CPU time (`/proc/thread-self/schedstat`, first field, nanoseconds).
pub(crate) fn thread_cpu() -> Result<Duration, String> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .map_err(|e| format!("/proc/thread-self/schedstat: {e}"))?;
    s.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("unexpected schedstat {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "4242 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 2000 300";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn parses_status_sizes() {
        let status = "Name:\tx\nVmHWM:\t  10240 kB\nVmRSS:\t   2048 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(10240));
        assert_eq!(status_kib(status, "VmRSS"), Some(2048));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.peak_rss >= s.rss && s.rss > 0, "{s:?}");
        let threads = threads(std::process::id()).unwrap();
        assert!(threads.contains_key(&std::process::id()), "{threads:?}");
    }

    #[test]
    fn thread_cpu_is_summed_per_name() {
        let ms = Duration::from_millis;
        let t = |name: &str, cpu, runqueue| ThreadSample {
            name: name.to_owned(),
            cpu: ms(cpu),
            runqueue: ms(runqueue),
        };
        let before = BTreeMap::from([(1, t("a", 10, 1)), (2, t("b", 5, 0)), (3, t("b", 5, 0))]);
        let after = BTreeMap::from([
            (1, t("a", 15, 2)),
            (2, t("b", 25, 3)),
            (3, t("b", 5, 4)),
            (4, t("c", 1, 0)),
        ]);
        assert_eq!(
            thread_cpu_between(&before, &after),
            vec![t("b", 20, 7), t("a", 5, 1), t("c", 1, 0)]
        );
    }
}
