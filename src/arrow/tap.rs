//! Global row numbers, and the seam through which a drain hands decoded records to others.
//!
//! Every row a drain thread decodes gets a **global row number**, per signal: a `u64` that only
//! grows, continues across files, rotations and restarts, and is recorded in every stored file
//! (the IPC schema's custom metadata key [`FIRST_ROW_KEY`](crate::arrow::files::FIRST_ROW_KEY)
//! holds the number of the file's first row; a file's rows are exactly
//! `first_row..first_row + num_rows`). The forwarder uses these numbers to say which rows
//! an upstream has acknowledged and to find the rest in the files.
//!
//! - A [`RecordTap`] is offered each record right after it decoded, on the drain thread, in row
//!   order, with the number of its first row and its row count. Records that do not decode are
//!   not offered and get no numbers (they are counted in the drain's `decode_errors`).
//! - [`RowWatermarks`] tell readers how far numbering and storage have got: `decoded()` is the
//!   next number to be assigned; `written()` says every row below it is in a file a reader can
//!   open now.
//!
//! Numbers are never reused within one run of a drain, even for rows lost at shutdown (the
//! deadline passed) or in a file removed under the writer: those rows have numbers that no
//! file holds. At start, numbering continues after the newest file's last row, or at a floor
//! the caller passes (`DrainOptions::first_row_floor`), whichever is larger.
#![forbid(unsafe_code)]

use crate::sync::{AtomicU64, Ordering};

/// Receives every record a drain decoded, with the global row numbers of its rows, on the drain
/// thread, in row order. Must not block (a forwarder queue that is full drops the record from
/// the queue and lets catch-up read it from the files later).
pub trait RecordTap: Send {
    /// `first_row`: global number of the record's first row; `rows`: rows decoded from it
    /// (0 for a record with no items: still offered, so the forwarder sees contiguous ranges).
    fn offer(&mut self, record: &[u8], first_row: u64, rows: u32);
}

/// Row watermarks of one signal, shared (`Arc`) between the drain and readers.
///
/// Both only grow, and `written() <= decoded()` at every instant (the drain stores `decoded`
/// before the rows can be written, and readers load `written` first when they need both).
#[derive(Debug, Default)]
pub struct RowWatermarks {
    decoded: AtomicU64,
    written: AtomicU64,
}

impl RowWatermarks {
    /// Watermarks of a drain whose first row will be `next`: nothing decoded or written yet.
    pub fn starting_at(next: u64) -> Self {
        RowWatermarks {
            decoded: AtomicU64::new(next),
            written: AtomicU64::new(next),
        }
    }

    /// Next global row number the drain will assign (all rows < this were decoded).
    pub fn decoded(&self) -> u64 {
        self.decoded.load(Ordering::Acquire)
    }

    /// All rows < this are in files that a reader can open now (written to the OS, possibly in
    /// the `.partial` file; not necessarily fsynced). Advanced after each successful batch write.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    pub(crate) fn set_decoded(&self, next: u64) {
        self.decoded.store(next, Ordering::Release);
    }

    /// `Release`: a reader that loads `written` with `Acquire` and then opens the file sees the
    /// bytes of those rows (the write(2) that put them there happened before this store).
    pub(crate) fn set_written(&self, next: u64) {
        self.written.store(next, Ordering::Release);
    }
}
