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
//! The acknowledged ranges above the cursor are **not** persisted: after a restart those rows
//! are sent again (duplicates, bounded by the requests that can be in flight at once).
//!
//! A cursor file that is missing (first start, new endpoint) or corrupt (anything but the exact
//! format below) means cursor 0: forwarding starts again from the oldest file on disk, and rows
//! older than that are counted as missing. The format is two lines:
//!
//! ```text
//! otlp-arrow forward cursor v1
//! 123456
//! ```
#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ranges::RangeSet;
use crate::sync::{AtomicU64, Ordering};

const MAGIC: &str = "otlp-arrow forward cursor v1";

/// What [`read_cursor`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CursorLoad {
    /// A valid cursor file.
    Loaded(u64),
    /// No cursor file: start from the oldest file on disk.
    Missing,
    /// A file that is not a cursor file (the reason): start from the oldest file on disk.
    Corrupt(String),
}

impl CursorLoad {
    /// The cursor to start from.
    pub(crate) fn cursor(&self) -> u64 {
        match self {
            CursorLoad::Loaded(c) => *c,
            CursorLoad::Missing | CursorLoad::Corrupt(_) => 0,
        }
    }
}

/// Reads the cursor file at `path`.
pub(crate) fn read_cursor(path: &Path) -> CursorLoad {
    match fs::read(path) {
        Ok(bytes) => parse(&bytes).map_or_else(CursorLoad::Corrupt, CursorLoad::Loaded),
        Err(e) if e.kind() == io::ErrorKind::NotFound => CursorLoad::Missing,
        Err(e) => CursorLoad::Corrupt(format!("cannot read it: {e}")),
    }
}

fn parse(bytes: &[u8]) -> Result<u64, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let mut lines = text.split('\n');
    if lines.next() != Some(MAGIC) {
        return Err("no otlp-arrow cursor header".to_owned());
    }
    let number = lines.next().unwrap_or_default();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the cursor is not a decimal number".to_owned());
    }
    let cursor = number
        .parse()
        .map_err(|_| "the cursor is out of range".to_owned())?;
    if lines.next() != Some("") || lines.next().is_some() {
        return Err("not exactly two lines".to_owned());
    }
    Ok(cursor)
}

/// Writes `cursor` to `path` atomically (tmp + fsync + rename + directory fsync).
pub(crate) fn write_cursor(path: &Path, cursor: u64) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(format!("{MAGIC}\n{cursor}\n").as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename is durable only once the directory is (where the platform allows opening it).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
    /// Cursor values that could not be written (the next advance tries again).
    persist_errors: u64,
    /// The last value written successfully.
    persisted: u64,
}

impl Ledger {
    /// A ledger persisted in `file`, starting at `cursor` (from [`read_cursor`]).
    pub(crate) fn new(file: Option<PathBuf>, cursor: u64) -> Ledger {
        Ledger {
            file,
            cursor,
            acked: RangeSet::new(),
            shared: Arc::new(AtomicU64::new(cursor)),
            persist_errors: 0,
            persisted: cursor,
        }
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
    #[cfg(test)]
    pub(crate) fn acked_above(&self) -> &RangeSet {
        &self.acked
    }

    /// Cursor writes that failed.
    pub(crate) fn persist_errors(&self) -> u64 {
        self.persist_errors
    }

    /// Whether the cursor has moved past what the file holds (a write failed).
    pub(crate) fn is_dirty(&self) -> bool {
        self.persisted != self.cursor
    }

    /// Records `rows` as done (acknowledged, or dropped and counted). Returns whether the
    /// cursor advanced; an advance is persisted at once.
    pub(crate) fn ack(&mut self, rows: Range<u64>) -> bool {
        let rows = rows.start.max(self.cursor)..rows.end;
        if rows.is_empty() {
            return false;
        }
        self.acked.insert(rows);
        self.fold()
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
        self.store();
        true
    }

    fn store(&mut self) {
        self.shared.store(self.cursor, Ordering::Release);
        self.persist();
    }

    /// Writes the cursor if it moved since the last successful write.
    pub(crate) fn persist(&mut self) {
        if !self.is_dirty() {
            return;
        }
        let Some(file) = &self.file else {
            self.persisted = self.cursor;
            return;
        };
        match write_cursor(file, self.cursor) {
            Ok(()) => self.persisted = self.cursor,
            Err(e) => {
                self.persist_errors += 1;
                tracing::warn!(path = %file.display(), error = %e,
                    "cannot write the forward cursor; will retry at the next acknowledgement");
            }
        }
    }
}

#[cfg(test)]
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
    fn the_cursor_survives_a_restart_and_out_of_order_acks_are_resent() {
        let dir = temp("restart");
        let file = dir.join("traces/.forward/ep.cursor");
        assert_eq!(read_cursor(&file), CursorLoad::Missing);
        {
            let mut l = Ledger::new(Some(file.clone()), 0);
            l.ack(0..40);
            l.ack(60..80); // above a hole: not persisted
            assert!(!l.is_dirty());
        }
        let load = read_cursor(&file);
        assert_eq!(load, CursorLoad::Loaded(40));
        let mut l = Ledger::new(Some(file.clone()), load.cursor());
        assert_eq!(l.cursor(), 40);
        assert!(
            l.acked_above().is_empty(),
            "60..80 is sent again after the restart"
        );
        l.ack(40..80);
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(80));
        assert!(!file.with_extension("cursor.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_cursor_files_start_over() {
        let dir = temp("corrupt");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.cursor");
        for (bytes, why) in [
            (&b""[..], "header"),
            (b"otlp-arrow forward cursor v1\n", "decimal"),
            (b"otlp-arrow forward cursor v1\n12x\n", "decimal"),
            (b"otlp-arrow forward cursor v1\n-1\n", "decimal"),
            (
                b"otlp-arrow forward cursor v1\n99999999999999999999\n",
                "range",
            ),
            (b"otlp-arrow forward cursor v1\n12\n13\n", "two lines"),
            (b"otlp-arrow forward cursor v1\n12", "two lines"),
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
        assert_eq!(read_cursor(&file), CursorLoad::Loaded(12));
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
            CursorLoad::Loaded(5)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
