//! The ledger of one (endpoint, signal): which global rows the endpoint has acknowledged.
//!
//! The **cursor** says "every row below it was acknowledged by the endpoint, or dropped as
//! non-retryable (counted), or found missing from the files (counted)". Acknowledgements above
//! the cursor (requests complete out of order) are kept in a [`RangeSet`]; the cursor advances
//! over the contiguous acknowledged prefix, and each advance is persisted in the **cursor file**
//! `<output_dir>/<signal>/.forward/<endpoint-id>.cursor` by atomic replacement (write a temporary
//! file, fsync it, rename it over the old one, fsync the directory), so a crash leaves either
//! the old or the new cursor, never a torn one.
//!
//! The acknowledged ranges above the cursor are persisted with it (at most
//! [`MAX_PERSISTED_RANGES`], the lowest; a restart resends rows of ranges beyond that).
//!
//! **Write batching.** Each write costs two fsyncs (file and directory) on the forwarder's
//! thread, so the file is not rewritten after every acknowledgement but after every
//! [`PersistPolicy::max_acks`]-th one, or once the oldest unwritten acknowledgement is
//! [`PersistPolicy::max_delay`] old (checked on every pass of the lane's loop, at least every
//! poll interval), and always when the lane stops. At a crash, the acknowledgements not yet in
//! the file are fewer than `max_acks` requests, so a restart resends at most the requests in
//! flight plus `max_acks - 1` acknowledged requests. The forwarder uses `max_acks =
//! max_in_flight`: at most `2 * max_in_flight - 1` requests are resent.
//!
//! A cursor file that is missing (first start, new endpoint) or corrupt (anything but the exact
//! format below) means cursor 0: forwarding starts again from the oldest file on disk, and rows
//! older than that are counted as missing. The format: a header line, the cursor, then one line
//! per acknowledged range above it (`start end`, half-open, ascending, not touching):
//!
//! ```text
//! otlp-arrow forward cursor v1
//! 123456
//! 123500 123600
//! ```
#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ranges::RangeSet;
use crate::sync::{AtomicU64, Ordering};

const MAGIC: &str = "otlp-arrow forward cursor v1";

/// Acknowledged ranges above the cursor kept in the cursor file (the lowest ones).
pub(crate) const MAX_PERSISTED_RANGES: usize = 1024;

/// What [`read_cursor`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CursorLoad {
    /// A valid cursor file: the cursor and the acknowledged ranges above it.
    Loaded(u64, Vec<Range<u64>>),
    /// No cursor file: start from the oldest file on disk.
    Missing,
    /// A file that is not a cursor file (the reason): start from the oldest file on disk.
    Corrupt(String),
}

impl CursorLoad {
    /// The cursor to start from.
    pub(crate) fn cursor(&self) -> u64 {
        match self {
            CursorLoad::Loaded(c, _) => *c,
            CursorLoad::Missing | CursorLoad::Corrupt(_) => 0,
        }
    }
}

/// Reads the cursor file at `path`.
pub(crate) fn read_cursor(path: &Path) -> CursorLoad {
    match fs::read(path) {
        Ok(bytes) => match parse(&bytes) {
            Ok((cursor, acked)) => CursorLoad::Loaded(cursor, acked),
            Err(why) => CursorLoad::Corrupt(why),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => CursorLoad::Missing,
        Err(e) => CursorLoad::Corrupt(format!("cannot read it: {e}")),
    }
}

fn decimal(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the cursor is not a decimal number".to_owned());
    }
    s.parse()
        .map_err(|_| "the cursor is out of range".to_owned())
}

fn parse(bytes: &[u8]) -> Result<(u64, Vec<Range<u64>>), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err("not newline-terminated lines".to_owned());
    };
    let mut lines = body.split('\n');
    if lines.next() != Some(MAGIC) {
        return Err("no otlp-arrow cursor header".to_owned());
    }
    let cursor = decimal(lines.next().unwrap_or_default())?;
    let mut acked = Vec::new();
    let mut floor = cursor;
    for line in lines {
        let (a, b) = line
            .split_once(' ')
            .ok_or_else(|| "a range line is not two decimal numbers".to_owned())?;
        let (a, b) = (decimal(a)?, decimal(b)?);
        // Ascending, above the cursor, not touching, not empty.
        if a <= floor || b <= a {
            return Err("the ranges are not ascending above the cursor".to_owned());
        }
        acked.push(a..b);
        floor = b;
    }
    Ok((cursor, acked))
}

/// Writes `cursor` and the `acked` ranges above it to `path` atomically (tmp + fsync +
/// rename + directory fsync).
pub(crate) fn write_cursor(path: &Path, cursor: u64, acked: &RangeSet) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        let mut text = format!("{MAGIC}\n{cursor}\n");
        for r in acked.iter().take(MAX_PERSISTED_RANGES) {
            text.push_str(&format!("{} {}\n", r.start, r.end));
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename is durable only once the directory is (where the platform allows opening it).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// When the ledger rewrites its file (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersistPolicy {
    /// Write after this many acknowledgements not yet written (at least 1; 1 = every one).
    pub(crate) max_acks: usize,
    /// Write once the oldest acknowledgement not yet written is this old.
    pub(crate) max_delay: Duration,
}

impl PersistPolicy {
    /// A write after every acknowledgement.
    pub(crate) const EVERY_ACK: PersistPolicy = PersistPolicy {
        max_acks: 1,
        max_delay: Duration::ZERO,
    };
}

/// Acknowledged rows of one (endpoint, signal), and its persisted cursor.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// `None`: not persisted (tests).
    file: Option<PathBuf>,
    cursor: u64,
    /// Acknowledged rows at or above `cursor` (never touching it: those are folded in).
    acked: RangeSet,
    /// `cursor`, for readers on other threads (the deletion gate, stats).
    shared: Arc<AtomicU64>,
    /// Ledger writes that failed (the next acknowledgement tries again).
    persist_errors: u64,
    /// Whether the file is behind the state (not yet written, or the write failed).
    dirty: bool,
    policy: PersistPolicy,
    /// Acknowledgements since the last successful write, and when the first of them came.
    unwritten: usize,
    unwritten_since: Option<Instant>,
}

impl Ledger {
    /// A ledger persisted in `file`, starting at `cursor` with nothing acknowledged above it.
    pub(crate) fn new(file: Option<PathBuf>, cursor: u64) -> Ledger {
        Ledger {
            file,
            cursor,
            acked: RangeSet::new(),
            shared: Arc::new(AtomicU64::new(cursor)),
            persist_errors: 0,
            dirty: false,
            policy: PersistPolicy::EVERY_ACK,
            unwritten: 0,
            unwritten_since: None,
        }
    }

    /// The same ledger, writing its file as `policy` says (default: after every
    /// acknowledgement).
    pub(crate) fn with_policy(mut self, policy: PersistPolicy) -> Ledger {
        self.policy = PersistPolicy {
            max_acks: policy.max_acks.max(1),
            max_delay: policy.max_delay,
        };
        self
    }

    /// A ledger resuming what [`read_cursor`] found in `file`.
    pub(crate) fn resume(file: PathBuf, load: &CursorLoad) -> Ledger {
        let mut l = Ledger::new(Some(file), load.cursor());
        if let CursorLoad::Loaded(_, acked) = load {
            for r in acked {
                l.acked.insert(r.clone());
            }
        }
        l
    }

    /// All rows below this are done.
    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The cursor as other threads see it.
    pub(crate) fn shared(&self) -> Arc<AtomicU64> {
        self.shared.clone()
    }

    /// Rows acknowledged above the cursor (out of order).
    pub(crate) fn acked_above(&self) -> &RangeSet {
        &self.acked
    }

    /// Ledger writes that failed.
    pub(crate) fn persist_errors(&self) -> u64 {
        self.persist_errors
    }

    /// Whether the file is behind the state (a write failed).
    #[cfg(test)]
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Records `rows` as done (acknowledged, or dropped and counted) and persists the ledger
    /// when the [`PersistPolicy`] says so. Returns whether the cursor advanced.
    pub(crate) fn ack(&mut self, rows: Range<u64>) -> bool {
        let rows = rows.start.max(self.cursor)..rows.end;
        if rows.is_empty() {
            return false;
        }
        self.acked.insert(rows);
        let advanced = self.fold();
        self.dirty = true;
        self.unwritten += 1;
        self.unwritten_since.get_or_insert_with(Instant::now);
        self.persist_if_due();
        advanced
    }

    /// Writes the ledger if the [`PersistPolicy`] says it is time (enough acknowledgements, or
    /// the oldest unwritten one old enough).
    pub(crate) fn persist_if_due(&mut self) {
        if !self.dirty {
            return;
        }
        let due = self.unwritten >= self.policy.max_acks
            || self
                .unwritten_since
                .is_some_and(|t| t.elapsed() >= self.policy.max_delay);
        if due {
            self.persist();
        }
    }

    /// Folds an acknowledged range that starts at the cursor into it.
    fn fold(&mut self) -> bool {
        let Some(first) = self.acked.first() else {
            return false;
        };
        if first.start > self.cursor {
            return false;
        }
        self.acked.remove(first.clone());
        self.cursor = first.end;
        self.shared.store(self.cursor, Ordering::Release);
        true
    }

    /// Writes the ledger if it changed since the last successful write.
    pub(crate) fn persist(&mut self) {
        if !self.dirty {
            return;
        }
        let Some(file) = &self.file else {
            self.dirty = false;
            self.unwritten = 0;
            self.unwritten_since = None;
            return;
        };
        match write_cursor(file, self.cursor, &self.acked) {
            Ok(()) => {
                self.dirty = false;
                self.unwritten = 0;
                self.unwritten_since = None;
            }
            Err(e) => {
                self.persist_errors += 1;
                tracing::warn!(path = %file.display(), error = %e,
                    "cannot write the forward cursor; will retry at the next acknowledgement");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // lists of ranges, one of them
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "otlp-arrow-ledger-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn in_order_acks_advance_the_cursor() {
        let mut l = Ledger::new(None, 0);
        assert!(l.ack(0..10));
        assert!(l.ack(10..25));
        assert_eq!(l.cursor(), 25);
        assert!(l.acked_above().is_empty());
        assert_eq!(l.shared().load(Ordering::Acquire), 25);
    }

    #[test]
    fn out_of_order_acks_wait_for_the_prefix() {
        let mut l = Ledger::new(None, 100);
        assert!(!l.ack(120..130));
        assert!(!l.ack(140..150));
        assert_eq!(l.cursor(), 100);
        assert_eq!(l.acked_above().rows(), 20);
        assert!(!l.ack(130..140), "still a hole at 100..120");
        assert_eq!(l.cursor(), 100);
        assert!(l.ack(100..120));
        assert_eq!(l.cursor(), 150);
        assert!(l.acked_above().is_empty());
        // Old acknowledgements (a duplicate request) change nothing.
        assert!(!l.ack(90..150));
        assert_eq!(l.cursor(), 150);
    }

    #[test]
    fn the_cursor_and_out_of_order_acks_survive_a_restart() {
        let dir = temp("restart");
        let file = dir.join("traces/.forward/ep.cursor");
        assert_eq!(read_cursor(&file), CursorLoad::Missing);
        {
            let mut l = Ledger::new(Some(file.clone()), 0);
            l.ack(0..40);
            l.ack(60..80); // above a hole
            l.ack(90..95);
            assert!(!l.is_dirty());
        }
        let load = read_cursor(&file);
        assert_eq!(load, CursorLoad::Loaded(40, vec![60..80, 90..95]));
        let mut l = Ledger::resume(file.clone(), &load);
        assert_eq!(l.cursor(), 40);
        assert_eq!(
            l.acked_above().rows(),
            25,
            "60..80 and 90..95 are not sent again"
        );
        l.ack(40..60);
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(80, vec![90..95]));
        assert!(!file.with_extension("cursor.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn batched_writes_lag_by_fewer_than_max_acks() {
        let dir = temp("batched");
        let file = dir.join("traces/.forward/ep.cursor");
        let mut l = Ledger::new(Some(file.clone()), 0).with_policy(PersistPolicy {
            max_acks: 3,
            max_delay: Duration::from_secs(3600),
        });
        l.ack(0..10);
        l.ack(10..20);
        assert!(l.is_dirty());
        assert_eq!(
            read_cursor(&file),
            CursorLoad::Missing,
            "2 of 3 acks: not yet"
        );
        l.persist_if_due();
        assert_eq!(
            read_cursor(&file),
            CursorLoad::Missing,
            "not old enough either"
        );
        l.ack(30..40);
        assert!(!l.is_dirty());
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(20, vec![30..40]));
        // The delay alone also writes.
        let mut l = Ledger::resume(file.clone(), &read_cursor(&file)).with_policy(PersistPolicy {
            max_acks: 100,
            max_delay: Duration::ZERO,
        });
        l.ack(20..30);
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(40, vec![]));
        // And a stop (`persist`) writes whatever is left.
        let mut l = l.with_policy(PersistPolicy {
            max_acks: 100,
            max_delay: Duration::from_secs(3600),
        });
        l.ack(40..50);
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(40, vec![]));
        l.persist();
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(50, vec![]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_cursor_files_start_over() {
        let dir = temp("corrupt");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.cursor");
        for (bytes, why) in [
            (&b""[..], "newline"),
            (b"something else\n", "header"),
            (b"otlp-arrow forward cursor v1\n", "decimal"),
            (b"otlp-arrow forward cursor v1\n12x\n", "decimal"),
            (b"otlp-arrow forward cursor v1\n-1\n", "decimal"),
            (
                b"otlp-arrow forward cursor v1\n99999999999999999999\n",
                "range",
            ),
            (b"otlp-arrow forward cursor v1\n12\n13\n", "two decimal"),
            (b"otlp-arrow forward cursor v1\n12\n13 x\n", "decimal"),
            (b"otlp-arrow forward cursor v1\n12\n10 20\n", "ascending"),
            (
                b"otlp-arrow forward cursor v1\n12\n20 30\n30 40\n",
                "ascending",
            ),
            (b"otlp-arrow forward cursor v1\n12\n20 20\n", "ascending"),
            (b"otlp-arrow forward cursor v1\n12", "newline"),
            (b"\xff\xfe", "UTF-8"),
        ] {
            fs::write(&file, bytes).unwrap();
            match read_cursor(&file) {
                CursorLoad::Corrupt(reason) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{bytes:?}: {other:?}"),
            }
            assert_eq!(read_cursor(&file).cursor(), 0);
        }
        fs::write(&file, b"otlp-arrow forward cursor v1\n12\n").unwrap();
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(12, vec![]));
        fs::write(&file, b"otlp-arrow forward cursor v1\n12\n14 20\n").unwrap();
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(12, vec![14..20]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_is_counted_and_retried() {
        let dir = temp("fail");
        fs::create_dir_all(&dir).unwrap();
        // A directory where the cursor's parent should be: writes fail.
        let blocker = dir.join("blocked");
        fs::write(&blocker, b"a file, not a directory").unwrap();
        let mut l = Ledger::new(Some(blocker.join("ep.cursor")), 0);
        l.ack(0..5);
        assert_eq!(l.cursor(), 5);
        assert_eq!(l.persist_errors(), 1);
        assert!(l.is_dirty());
        fs::remove_file(&blocker).unwrap();
        l.persist();
        assert!(!l.is_dirty());
        assert_eq!(
            read_cursor(&blocker.join("ep.cursor")),
            CursorLoad::Loaded(5, vec![])
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
