//! Catch-up: rows that were not sent live, read back from the stored files.
//!
//! Each stored file records the global number of its first row (schema metadata key
//! `otlp_arrow.first_row`); its rows are `first_row..first_row + num_rows`, and the files of a
//! signal, oldest first, hold increasing row numbers. [`CatchupReader::next_request`] finds the
//! file holding a gap's first row, reads record batches forward to it (finalized files and the
//! `.partial` file, but only rows below `RowWatermarks::written()`, which are complete in the
//! file), slices the batch to the gap and encodes an `Export*ServiceRequest` with
//! [`BatchEncoder::encode_request_limited`] (the reverse path), within the endpoint's request
//! limits. When the request ends with its batch and the gap goes on, it is filled up from the
//! next batches of the same file (the encodings concatenate: a request is a sequence of
//! `Resource*` messages), so requests are as large as the limits allow whatever the batch
//! sizes (a drain writes batches as they come, down to one record; 8,200-row batches and
//! 8,192-item requests would otherwise make every other request 8 rows).
//!
//! Rows that no file holds (deleted by retention, lost at shutdown, in a file of an older
//! version without the metadata key, or in a batch that cannot be encoded) are reported as
//! [`Step::Missing`]: the caller counts them and moves on, so one bad file never stalls the
//! cursor. The reader keeps the current file open and positioned, so consecutive gaps (the
//! common case: ascending) cost one sequential read of the files.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;

use super::seam::{ExportRequest, first_row};
use crate::arrow::files::{self, FileState};
use crate::arrow::otlp::{BatchEncoder, Limits};
use crate::signal::Signal;

/// What [`CatchupReader::next_request`] produced.
#[derive(Debug)]
pub(crate) enum Step {
    /// A request holding `rows` (a prefix of the gap).
    Request {
        /// The request.
        request: ExportRequest,
        /// Its global rows.
        rows: Range<u64>,
    },
    /// No file holds these rows (a prefix of the gap); `why` for the log.
    Missing {
        /// The rows.
        rows: Range<u64>,
        /// Why.
        why: &'static str,
    },
    /// The rows are not readable yet (or a transient read error): try again later.
    NotYet,
}

#[derive(Debug, Clone)]
struct Indexed {
    path: PathBuf,
    state: FileState,
    first_row: u64,
}

/// The open file and the batch last read from it.
struct Open {
    path: PathBuf,
    partial: bool,
    /// Global number of the file's first row.
    file_first: u64,
    /// `None` while [`Open::prefetch`] has it.
    reader: Option<FileReader>,
    /// The next batch being read on its own thread (finalized files only).
    prefetch: Option<std::thread::JoinHandle<(FileReader, Option<ReadResult>)>>,
    /// The last batch read and its first global row.
    batch: Option<(RecordBatch, u64)>,
    /// Global row after the last batch read.
    next: u64,
    /// What the reader returned after the last batch, when that was not used yet (an error
    /// or the end, met while filling a request up): the next read returns it first.
    peeked: Option<Option<ReadResult>>,
}

type FileReader = StreamReader<BufReader<File>>;
type ReadResult = Result<RecordBatch, arrow_schema::ArrowError>;

impl Open {
    /// The next batch of the file: the one left over from filling a request, the one read
    /// ahead, or one read now.
    fn next_batch(&mut self) -> Option<ReadResult> {
        if let Some(next) = self.peeked.take() {
            return next;
        }
        if let Some(thread) = self.prefetch.take() {
            return match thread.join() {
                Ok((reader, next)) => {
                    self.reader = Some(reader);
                    next
                }
                // A panic in arrow-ipc (a bug): passed on, as if the read had been done
                // here (the lane then stops catch-up until the next start; nothing is lost).
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
        match self.reader.as_mut() {
            Some(r) => r.next(),
            // Not reached: a reader that could not be given a thread drops the open file.
            None => Some(Err(arrow_schema::ArrowError::IpcError(
                "the catch-up reader was lost".to_owned(),
            ))),
        }
    }

    /// Starts reading the next batch on its own thread, so that decompressing it overlaps
    /// with encoding (and sending) the current one: reading is the largest part of
    /// catch-up's CPU (about half with zstd files, three quarters with lz4) and this way runs
    /// on the second core. Only in finalized files: in a
    /// `.partial` the next batch may not be complete yet (and is not read before the rows
    /// below `written` ask for it). `Err` when no thread could be started: the reader went
    /// with it, the caller drops the open file (it is opened again when needed).
    fn start_prefetch(&mut self) -> Result<(), ()> {
        if self.partial || self.prefetch.is_some() || self.peeked.is_some() {
            return Ok(());
        }
        let Some(mut reader) = self.reader.take() else {
            return Ok(());
        };
        let thread = std::thread::Builder::new()
            .name("otlp-arrow-forward-read".to_owned())
            .spawn(move || {
                let next = reader.next();
                (reader, next)
            });
        match thread {
            Ok(t) => {
                self.prefetch = Some(t);
                Ok(())
            }
            Err(_) => Err(()),
        }
    }
}

impl core::fmt::Debug for Open {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Open")
            .field("path", &self.path)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Reads row ranges of one signal's files as OTLP requests.
#[derive(Debug)]
pub(crate) struct CatchupReader {
    dir: PathBuf,
    signal: Signal,
    limits: Limits,
    /// Files with a first row, oldest first (refreshed when a row is not found in it).
    index: Vec<Indexed>,
    open: Option<Open>,
    /// Largest request body so far: the capacity of the next one's buffer.
    last_len: usize,
    /// Files skipped because they have no `otlp_arrow.first_row` or it cannot be read.
    pub(crate) unnumbered_files: u64,
}

impl CatchupReader {
    /// A reader of `signal`'s files in `dir` (the signal directory), making requests within
    /// `limits`.
    pub(crate) fn new(dir: PathBuf, signal: Signal, limits: Limits) -> CatchupReader {
        CatchupReader {
            dir,
            signal,
            limits,
            index: Vec::new(),
            open: None,
            last_len: 0,
            unnumbered_files: 0,
        }
    }

    /// Re-lists the directory, reading the first row of files not seen before.
    fn refresh(&mut self) -> std::io::Result<()> {
        let listed = match files::list(&self.dir, self.signal) {
            Ok(l) => l,
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => Vec::new(),
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let known_rows: std::collections::HashMap<&PathBuf, u64> =
            self.index.iter().map(|i| (&i.path, i.first_row)).collect();
        let mut index = Vec::with_capacity(listed.len());
        let mut unnumbered = 0;
        for f in listed {
            let known = known_rows.get(&f.path).copied();
            let first = match known {
                Some(r) => Some(r),
                None => match first_row(&f.path) {
                    Ok(Some(r)) => Some(r),
                    Ok(None) => {
                        unnumbered += 1;
                        None
                    }
                    // Renamed or deleted since the listing: the next refresh sees it.
                    Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => None,
                    Err(e) => {
                        // A `.partial` whose schema is not written yet is normal; others are
                        // logged and skipped (their rows are reported missing).
                        if f.state == FileState::Finalized {
                            unnumbered += 1;
                            tracing::warn!(path = %f.path.display(), error = %e,
                                "catch-up skips a file whose first row cannot be read");
                        }
                        None
                    }
                },
            };
            if let Some(first_row) = first {
                index.push(Indexed {
                    path: f.path,
                    state: f.state,
                    first_row,
                });
            }
        }
        // Row order is the order of names; keep it robust against a copied file anyway.
        index.sort_by_key(|i| i.first_row);
        drop(known_rows);
        self.index = index;
        self.unnumbered_files = unnumbered;
        Ok(())
    }

    /// A request for a prefix of `gap`, which must lie below `written` (rows a reader can
    /// open now).
    pub(crate) fn next_request(&mut self, gap: Range<u64>, written: u64) -> Step {
        let gap = gap.start..gap.end.min(written);
        if gap.is_empty() {
            return Step::NotYet;
        }
        match self.try_next(gap.clone(), true) {
            Ok(step) => step,
            Err(e) => {
                tracing::warn!(signal = %self.signal, error = %e,
                    "catch-up cannot read the files now; will retry");
                self.open = None;
                Step::NotYet
            }
        }
    }

    fn try_next(&mut self, gap: Range<u64>, retry: bool) -> std::io::Result<Step> {
        // Is the open file positioned at or before the gap, and does it hold it?
        let usable = self.open.as_ref().is_some_and(|o| {
            let at = o.batch.as_ref().map_or(o.next, |(_, first)| *first);
            at <= gap.start
        });
        if !usable {
            self.open = None;
            self.refresh()?;
            let pos = self.index.partition_point(|i| i.first_row <= gap.start);
            if pos == 0 {
                // Below every file (or no file at all).
                let end = self
                    .index
                    .first()
                    .map_or(gap.end, |i| i.first_row.min(gap.end));
                return Ok(Step::Missing {
                    rows: gap.start..end,
                    why: "not in any stored file (deleted, or never written)",
                });
            }
            let f = self.index[pos - 1].clone();
            let file = match File::open(&f.path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && retry => {
                    // Renamed (.partial -> .arrow) or deleted meanwhile: list again.
                    self.index.clear();
                    return self.try_next(gap, false);
                }
                Err(e) => return Err(e),
            };
            let reader = StreamReader::try_new(BufReader::with_capacity(1 << 16, file), None)
                .map_err(std::io::Error::other)?;
            self.open = Some(Open {
                path: f.path,
                partial: f.state == FileState::InProgress,
                file_first: f.first_row,
                reader: Some(reader),
                prefetch: None,
                batch: None,
                next: f.first_row,
                peeked: None,
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(Step::NotYet);
        };
        // Read forward to the batch holding gap.start.
        loop {
            if let Some((batch, first)) = &open.batch {
                let end = first + batch.num_rows() as u64;
                if gap.start < end {
                    break;
                }
            }
            match open.next_batch() {
                Some(Ok(batch)) => {
                    let first = open.next;
                    open.next += batch.num_rows() as u64;
                    open.batch = Some((batch, first));
                }
                Some(Err(e)) => {
                    let partial = open.partial;
                    self.open = None;
                    if partial {
                        // A batch being appended: the rows are below `written` only once it
                        // is complete, so this is a race with the writer. Later.
                        return Ok(Step::NotYet);
                    }
                    tracing::warn!(error = %e, "catch-up stops reading a damaged file");
                    return Ok(self.missing_to_next_file(gap, "in a damaged file"));
                }
                None => {
                    let (partial, file_first) = (open.partial, open.file_first);
                    self.open = None;
                    if partial {
                        // More rows may have been appended since, or it was renamed and a
                        // new file follows; look again next time.
                        return Ok(Step::NotYet);
                    }
                    // The gap starts after this file's last row: in a later file, or in none.
                    self.refresh()?;
                    let later = self
                        .index
                        .iter()
                        .map(|i| i.first_row)
                        .find(|&r| r > file_first);
                    return Ok(match later {
                        Some(r) if r <= gap.start && retry => {
                            return self.try_next(gap, false);
                        }
                        Some(r) if r > gap.start => Step::Missing {
                            rows: gap.start..r.min(gap.end),
                            why: "not in any stored file (lost before it was written)",
                        },
                        Some(_) => Step::NotYet,
                        // No later file although the rows are below `written`: every file
                        // holding rows below `written` existed before it was loaded, so these
                        // rows were numbered but never stored (a previous run lost them at
                        // its shutdown). A second listing rules out a race with a rename.
                        None if retry => return self.try_next(gap, false),
                        None => Step::Missing {
                            rows: gap.clone(),
                            why: "not in any stored file (lost before it was written)",
                        },
                    });
                }
            }
        }
        let Some((batch, first)) = &open.batch else {
            return Ok(Step::NotYet);
        };
        let first = *first;
        let local =
            (gap.start - first) as usize..((gap.end - first) as usize).min(batch.num_rows());
        let encoder = match BatchEncoder::new(self.signal, batch) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up skips a batch that cannot be encoded");
                let rows = gap.start..first + batch.num_rows() as u64;
                return Ok(Step::Missing {
                    rows,
                    why: "in a batch that cannot be encoded",
                });
            }
        };
        // A fresh buffer the size of the last request: it becomes the request body without a
        // copy (`Bytes::from(Vec)`).
        let mut body = Vec::with_capacity(self.last_len);
        let stats = match encoder.encode_request_limited(local, self.limits, &mut body) {
            Ok(stats) => stats,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up skips rows that cannot be encoded");
                return Ok(Step::Missing {
                    rows: gap.start..first + batch.num_rows() as u64,
                    why: "in a batch that cannot be encoded",
                });
            }
        };
        let mut rows = first + stats.rows.start as u64..first + stats.rows.end as u64;
        let mut items = stats.items as u64;
        let batch_end = first + batch.num_rows() as u64;
        // The request ended with its batch while the gap goes on: fill it up from the next
        // batches of the same file (a request is a sequence of `Resource*` messages, so the
        // encodings of consecutive batches concatenate), so that a request is not cut short
        // at every batch boundary (a drain writes batches of any size, down to one record).
        if rows.end == batch_end {
            self.fill_from_next_batches(&gap, &mut rows, &mut items, &mut body);
        }
        self.last_len = self.last_len.max(body.len());
        if self
            .open
            .as_mut()
            .is_some_and(|o| o.start_prefetch().is_err())
        {
            self.open = None;
        }
        let request = ExportRequest {
            signal: self.signal,
            body: bytes::Bytes::from(body),
            items,
        };
        Ok(Step::Request { request, rows })
    }

    /// Appends to a request that holds `rows` (ending at the open batch's end) the next rows
    /// of `gap` from the following batches of the open file, within the limits. Stops at the
    /// first batch that cannot be read or encoded, at the file's end and at the gap's end
    /// (rows below `written`, so complete in the file): what stopped it is left for the next
    /// [`CatchupReader::next_request`], which handles it as before (the unread result is kept
    /// in [`Open::peeked`]; a batch read but not used is the open batch).
    fn fill_from_next_batches(
        &mut self,
        gap: &Range<u64>,
        rows: &mut Range<u64>,
        items: &mut u64,
        body: &mut Vec<u8>,
    ) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let max_items = self.limits.max_items.max(1) as u64;
        while rows.end < gap.end && *items < max_items && body.len() < self.limits.max_bytes {
            let next = open.next_batch();
            let batch = match next {
                Some(Ok(batch)) => batch,
                other => {
                    open.peeked = Some(other);
                    return;
                }
            };
            let first = open.next;
            open.next += batch.num_rows() as u64;
            open.batch = Some((batch, first));
            let Some((batch, _)) = &open.batch else {
                return;
            };
            if first != rows.end {
                return;
            }
            let Ok(encoder) = BatchEncoder::new(self.signal, batch) else {
                return;
            };
            let local = 0..((gap.end - first) as usize).min(batch.num_rows());
            let limits = Limits {
                max_bytes: self.limits.max_bytes - body.len(),
                max_items: (max_items - *items) as usize,
            };
            let old = body.len();
            let Ok(stats) = encoder.encode_request_limited(local, limits, body) else {
                return;
            };
            if body.len() > self.limits.max_bytes {
                // Its first row alone is over what is left: it starts the next request.
                body.truncate(old);
                return;
            }
            rows.end = first + stats.rows.end as u64;
            *items += stats.items as u64;
            if stats.rows.end < batch.num_rows() {
                return;
            }
        }
    }

    /// Rows from `gap.start` to the next file's first row (or the gap's end) are in no file.
    fn missing_to_next_file(&self, gap: Range<u64>, why: &'static str) -> Step {
        let next = self
            .index
            .iter()
            .map(|i| i.first_row)
            .find(|&r| r > gap.start)
            .unwrap_or(gap.end);
        Step::Missing {
            rows: gap.start..next.min(gap.end).max(gap.start + 1),
            why,
        }
    }
}
