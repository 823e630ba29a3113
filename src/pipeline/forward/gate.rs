//! The retention gate of one signal: files the forwarder still needs are not deleted by age.
//!
//! A finalized file holds rows `first_row..end`, where `end` is the next file's first row (or,
//! for the newest file, its own row count added). Retention may delete it by age only when
//! `end` is at or below the **slowest** cursor of the endpoints that forward the signal. When
//! `max_total_bytes` forces a deletion anyway ([`DeleteReason::TotalBytes`]), the gate raises
//! the signal's **floor** to the first row of the oldest file left: the lanes count the rows
//! below it that they had not sent yet as lost for forwarding and move their cursors past
//! them.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::seam::{first_row, row_range};
use crate::arrow::files::{self, DeleteReason, DeletionGate};
use crate::signal::Signal;
use crate::sync::{AtomicU64, Ordering};

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct ForwardGate {
    dir: PathBuf,
    signal: Signal,
    /// The cursors of every lane of the signal.
    cursors: Vec<Arc<AtomicU64>>,
    /// Rows below this are gone from disk (shared with the lanes).
    floor: Arc<AtomicU64>,
}

impl ForwardGate {
    /// A gate for `signal`'s files in `dir` (the signal directory).
    pub(crate) fn new(
        dir: PathBuf,
        signal: Signal,
        cursors: Vec<Arc<AtomicU64>>,
        floor: Arc<AtomicU64>,
    ) -> ForwardGate {
        ForwardGate {
            dir,
            signal,
            cursors,
            floor,
        }
    }

    fn slowest(&self) -> u64 {
        self.cursors
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The row after the last row of `path`: the next listed file's first row, or its own
    /// range when it is the newest file. `None`: unknown (no row numbers).
    fn end_of(&self, path: &Path) -> Option<u64> {
        let listed = files::list(&self.dir, self.signal).ok()?;
        let pos = listed.iter().position(|f| f.path == path)?;
        for next in &listed[pos + 1..] {
            if let Ok(Some(r)) = first_row(&next.path) {
                return Some(r);
            }
        }
        row_range(path).ok().flatten().map(|r| r.end)
    }
}

impl DeletionGate for ForwardGate {
    fn may_delete(&self, path: &Path) -> bool {
        match first_row(path) {
            // Written before row numbers existed: catch-up never reads it.
            Ok(None) => true,
            Ok(Some(_)) => self.end_of(path).is_some_and(|end| end <= self.slowest()),
            // Unreadable now: keep it and ask again at the next pass.
            Err(_) => false,
        }
    }

    fn deleted(&self, path: &Path, reason: DeleteReason) {
        if reason != DeleteReason::TotalBytes {
            return;
        }
        // Retention deletes oldest first: everything below the oldest file left is gone.
        let oldest = files::list(&self.dir, self.signal)
            .ok()
            .into_iter()
            .flatten()
            .find_map(|f| first_row(&f.path).ok().flatten());
        if let Some(row) = oldest {
            self.floor.fetch_max(row, Ordering::AcqRel);
            if row > self.slowest() {
                tracing::warn!(path = %path.display(), signal = %self.signal,
                    "retention (max_total_bytes) deleted a file that was not forwarded yet");
            }
        }
    }
}
