//! [`SignalWriter`]: one signal's record batches -> rotated, crash-safe Arrow IPC stream files.
//!
//! One writer per signal, owned by that signal's drain thread (`Send`, not shared; a
//! synchronous API, no async runtime). Time is always a parameter (`now`), so rotation and
//! retention are deterministic in tests.
//!
//! Life of a file (names and layout: [`crate::arrow::files`]):
//!
//! 1. the first [`write`](SignalWriter::write) creates `<name>.arrow.partial` (`O_EXCL`) and
//!    writes the schema and the batch; later writes append. After every batch the bytes are
//!    handed to the OS, so a killed process loses at most the batch being written;
//! 2. the file is **finalized** when it reaches [`WriterOptions::max_file_bytes`] (bytes the
//!    file accepted, counted, not estimated; a file may exceed it by the last batch), when it is
//!    older than [`WriterOptions::max_file_age`] (checked by `write` and `tick`), and at
//!    [`finalize`](SignalWriter::finalize) / [`close`](SignalWriter::close): end-of-stream
//!    marker, `fsync` of the file, atomic rename to `<name>.arrow`, `fsync` of the directory
//!    (the syncs per [`SyncPolicy`]). Every error is returned. Nothing is finalized on `Drop`:
//!    a writer dropped without `close` leaves a `.partial` that the next `open` recovers;
//! 3. **retention** runs after each finalize and in [`tick`](SignalWriter::tick).
//!
//! Every file records the global row number of its first row in its schema metadata
//! ([`FIRST_ROW_KEY`](crate::arrow::files::FIRST_ROW_KEY)); a file's rows are exactly
//! `first_row..first_row + num_rows`. [`open`](SignalWriter::open) continues numbering after
//! the newest file, [`set_first_row_floor`](SignalWriter::set_first_row_floor) raises it.
//!
//! Files never hold zero batches: a file is created only to hold a batch, and one whose first
//! batch failed is deleted.
//!
//! # Errors and what the caller does
//!
//! [`write`](SignalWriter::write) returns `Err` only when the batch is **not** stored; then the
//! drain thread keeps the records in the ring and retries with [`Backoff`] if
//! [`StorageError::is_retryable`]. `Ok` means the batch is in a file (in progress, finalized,
//! or awaiting repair). After a failed write the file in progress is closed at once, keeping
//! its complete batches: truncated to the end of the last good batch, given its end marker and
//! renamed (the "salvage"); if even that fails it stays `.partial` and the next `tick` repairs
//! it with the crash-recovery code. The next write starts a new file, recreating the directory
//! if it was removed. Failures that happen after a batch was stored (finalizing a full file) do
//! not fail that write: they are counted in [`StorageStats`] and returned by the next `tick`.
//!
//! If the directory (or the file in progress) is removed while a file is open, the writer
//! notices before the next batch, counts the vanished file's rows as lost (`lost_rows`) and
//! writes the batch to a new file in a recreated directory.
#![forbid(unsafe_code)]

mod backoff;
mod sink;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::RecordBatch;
use arrow_ipc::CompressionType;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::{ArrowError, SchemaRef};

pub use crate::arrow::files::{StorageError, StorageOp};
pub use backoff::Backoff;

use crate::arrow::files::fs::{Fs, RealFs};
use crate::arrow::files::{
    DeletionGate, END_OF_STREAM, FileName, FileState, RetentionPolicy, apply_retention_with,
    list_with, next_row_after, recover_dir_with, schema_with_first_row, seal, signal_dir,
};
use crate::arrow::schema;
use crate::arrow::stats::StorageStats;
use crate::signal::Signal;
use sink::FileSink;

/// Body compression of the record batches (Arrow IPC buffer compression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Uncompressed: readable by every Arrow reader, but about 7x the bytes of zstd for
    /// telemetry, and writing them (the page-cache copy) costs more than compressing.
    None,
    /// Zstandard at [`WriterOptions::zstd_level`] (the default): small files, read back fast.
    #[default]
    Zstd,
    /// LZ4 frame: as cheap to write as zstd at level -1, but larger files, and arrow-ipc's
    /// LZ4 decoder (lz4_flex) reads repetitive columns about 3.8x slower.
    Lz4,
}

impl Compression {
    fn ipc(self) -> Option<CompressionType> {
        match self {
            Compression::None => None,
            Compression::Zstd => Some(CompressionType::ZSTD),
            Compression::Lz4 => Some(CompressionType::LZ4_FRAME),
        }
    }

    /// The arrow-ipc write options [`SignalWriter`] uses for this codec: `zstd_level` applies
    /// to [`Compression::Zstd`] only (arrow-ipc refuses a level for the others).
    ///
    /// # Errors
    /// A zstd level outside zstd's range (-131072 to 22).
    pub fn ipc_write_options(self, zstd_level: i32) -> Result<IpcWriteOptions, ArrowError> {
        let level = (self == Compression::Zstd).then_some(zstd_level);
        IpcWriteOptions::default()
            .try_with_compression(self.ipc())?
            .try_with_compression_level(level)
    }
}

/// When the writer calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SyncPolicy {
    /// Never: finalized files survive a process crash (the OS has the bytes) but not
    /// necessarily a power loss. Recovery still repairs whatever is on disk.
    Never,
    /// Before each rename to `.arrow` (file) and after it (directory): a finalized file is
    /// complete on disk even after a power loss. Batches of the file in progress may be lost
    /// to a power loss (not to a process crash).
    #[default]
    OnFinalize,
    /// Additionally after every batch (`fdatasync`) and after creating each file: at most the
    /// batch being written is lost to a power loss. Costs one disk flush per batch.
    EveryBatch,
}

/// How a [`SignalWriter`] rotates, compresses, syncs and retains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Finalize a file once it holds at least this many bytes. Default 64 MiB.
    pub max_file_bytes: u64,
    /// Finalize a file once it is this old (since its creation). Default 60 s.
    pub max_file_age: Duration,
    /// Retention of finalized files. Default: 7 days, 1 GiB per signal.
    pub retention: RetentionPolicy,
    /// Default [`Compression::Zstd`].
    pub compression: Compression,
    /// The level of [`Compression::Zstd`] (zstd's range, -131072 to 22). Default -1 (zstd's
    /// fast mode): lz4's write cost, smaller files; 1 is a third smaller again, at about 1.3x
    /// the write cost.
    pub zstd_level: i32,
    /// Default [`SyncPolicy::OnFinalize`].
    pub sync: SyncPolicy,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_file_bytes: 64 << 20,
            max_file_age: Duration::from_secs(60),
            retention: RetentionPolicy {
                max_age: Some(Duration::from_secs(7 * 24 * 3600)),
                max_total_bytes: Some(1 << 30),
            },
            compression: Compression::Zstd,
            zstd_level: -1,
            sync: SyncPolicy::OnFinalize,
        }
    }
}

/// The file in progress.
struct OpenFile {
    name: FileName,
    /// Global row number of its first row (recorded in its schema metadata).
    first_row: u64,
    partial: PathBuf,
    opened_at: SystemTime,
    writer: StreamWriter<FileSink>,
    /// Bytes of complete messages (the schema and every batch written successfully).
    good_len: u64,
    /// Of `good_len`, bytes already added to `bytes_written`.
    counted: u64,
    batches: u64,
    rows: u64,
}

impl fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenFile")
            .field("partial", &self.partial)
            .field("good_len", &self.good_len)
            .field("batches", &self.batches)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// Writes one signal's batches to rotated Arrow IPC stream files (see the module docs).
pub struct SignalWriter {
    dir: PathBuf,
    signal: Signal,
    schema: SchemaRef,
    options: WriterOptions,
    ipc: IpcWriteOptions,
    fs: Arc<dyn Fs>,
    stats: Arc<StorageStats>,
    gate: Option<Box<dyn DeletionGate>>,
    current: Option<OpenFile>,
    /// The newest name in the directory or used by this writer: new names sort after it.
    newest: Option<FileName>,
    /// A `.partial` other than the current one awaits repair (a failed salvage).
    needs_recovery: bool,
    /// An error that happened after its batch was stored; returned by the next `tick`.
    deferred: Option<StorageError>,
    /// The sink buffer, kept across files.
    spare: Vec<u8>,
    /// Global row number the next batch's first row gets (unless the caller says otherwise).
    next_row: u64,
}

impl fmt::Debug for SignalWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalWriter")
            .field("dir", &self.dir)
            .field("signal", &self.signal)
            .field("options", &self.options)
            .field("current", &self.current)
            .field("next_row", &self.next_row)
            .field("needs_recovery", &self.needs_recovery)
            .finish_non_exhaustive()
    }
}

/// The schema of `signal`'s files.
pub fn schema_for(signal: Signal) -> SchemaRef {
    match signal {
        Signal::Traces => schema::traces(),
        Signal::Metrics => schema::metrics(),
        Signal::Logs => schema::logs(),
    }
}

impl SignalWriter {
    /// Opens the writer of `signal` under `output_dir` (its files go to
    /// `<output_dir>/<signal>/`): creates the directory if needed, recovers crashed `.partial`
    /// files, applies retention. `Err` if the directory cannot be created or listed, or the
    /// options are unusable; a file that cannot be recovered now is counted, retried by `tick`,
    /// and its error returned by the first `tick`.
    pub fn open(
        output_dir: &Path,
        signal: Signal,
        options: WriterOptions,
        stats: Arc<StorageStats>,
    ) -> Result<Self, StorageError> {
        Self::open_with(RealFs::shared(), output_dir, signal, options, stats)
    }

    pub(crate) fn open_with(
        fs: Arc<dyn Fs>,
        output_dir: &Path,
        signal: Signal,
        options: WriterOptions,
        stats: Arc<StorageStats>,
    ) -> Result<Self, StorageError> {
        let dir = signal_dir(output_dir, signal);
        let ipc = options
            .compression
            .ipc_write_options(options.zstd_level)
            .map_err(|e| StorageError::arrow(StorageOp::CreateFile, &dir, e))?;
        fs.create_dir_all(&dir)
            .map_err(|e| StorageError::io(StorageOp::CreateDir, &dir, e))?;
        let mut w = SignalWriter {
            dir,
            signal,
            schema: schema_for(signal),
            options,
            ipc,
            fs,
            stats,
            gate: None,
            current: None,
            newest: None,
            needs_recovery: false,
            deferred: None,
            spare: Vec::new(),
            next_row: 0,
        };
        if let Some(e) = w.recover()? {
            w.defer(e);
        }
        let files = list_with(&*w.fs, &w.dir, signal)?;
        w.newest = files.last().map(|f| f.name);
        // Numbering continues after the newest file (only it is read, unless it has no
        // number); an unreadable file is passed over and its error reported by `tick`.
        let (next_row, unreadable) = next_row_after(&*w.fs, &files);
        w.next_row = next_row;
        if let Some(e) = unreadable {
            w.defer(e);
        }
        Ok(w)
    }

    /// Sets the gate retention asks before deleting a file by age (see [`DeletionGate`]).
    pub fn set_deletion_gate(&mut self, gate: Option<Box<dyn DeletionGate>>) {
        self.gate = gate;
    }

    /// The signal directory this writer owns.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The schema every batch must have.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The options.
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// The counters this writer updates.
    pub fn stats(&self) -> &Arc<StorageStats> {
        &self.stats
    }

    /// The global row number the next batch's first row gets: one past the last row written
    /// (or, after `open`, past the newest file's last row; see [`crate::arrow::tap`]).
    pub fn next_row(&self) -> u64 {
        self.next_row
    }

    /// Raises [`next_row`](Self::next_row) to at least `floor` (e.g. the forwarder's cursor, so
    /// numbers an upstream already acknowledged are never given to new rows). A file in
    /// progress is finalized before the next batch if this leaves a gap after its rows.
    pub fn set_first_row_floor(&mut self, floor: u64) {
        self.next_row = self.next_row.max(floor);
    }

    /// The `.partial` file in progress, if one is open.
    pub fn in_progress(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.partial.as_path())
    }

    /// Appends `batch` (which must have the signal's schema) to the file in progress, opening
    /// one if needed and rotating first if the open file is too old. Its rows get the global
    /// numbers from [`next_row`](Self::next_row) on. Empty batches are ignored. `Err` means the
    /// batch was not stored (see the module docs).
    pub fn write(&mut self, batch: &RecordBatch, now: SystemTime) -> Result<(), StorageError> {
        self.write_at(batch, self.next_row, now)
    }

    /// [`write`](Self::write) for a batch whose first row has the global number `first_row`
    /// (the drain numbers rows as it decodes them). `first_row` may be above
    /// [`next_row`](Self::next_row) (rows in between were lost: the file in progress is
    /// finalized first, so every file's rows stay contiguous) but not below it (numbers are
    /// never reused: such a batch is refused, not retryable). On success `next_row` becomes
    /// `first_row + batch.num_rows()`.
    pub fn write_at(
        &mut self,
        batch: &RecordBatch,
        first_row: u64,
        now: SystemTime,
    ) -> Result<(), StorageError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if first_row < self.next_row {
            self.stats.counters().write_errors(1);
            return Err(StorageError::arrow(
                StorageOp::WriteBatch,
                &self.dir,
                ArrowError::InvalidArgumentError(format!(
                    "row {first_row} was already numbered (next is {})",
                    self.next_row
                )),
            ));
        }
        let same = Arc::ptr_eq(batch.schema_ref(), &self.schema)
            || batch.schema_ref().fields() == self.schema.fields();
        if !same {
            self.stats.counters().write_errors(1);
            return Err(StorageError::schema_mismatch(&self.dir));
        }
        self.check_vanished();
        let gap = |c: &OpenFile| c.first_row + c.rows != first_row;
        if self
            .current
            .as_ref()
            .is_some_and(|c| self.due(c, now) || gap(c))
        {
            // The old file is abandoned (salvaged or queued for repair) on failure; this batch
            // can still go to a new file, so the error waits for `tick`.
            if let Err(e) = self.finalize_current() {
                self.defer(e);
            }
            self.retention_counted(now);
        }
        let mut cur = match self.current.take() {
            Some(c) => c,
            None => self.open_file(now, first_row)?,
        };
        if let Err(e) = self.append(&mut cur, batch) {
            self.stats.counters().write_errors(1);
            self.abandon(cur);
            return Err(e);
        }
        self.next_row = first_row + batch.num_rows() as u64;
        let full = cur.good_len >= self.options.max_file_bytes;
        self.current = Some(cur);
        if full {
            if let Err(e) = self.finalize_current() {
                self.defer(e);
            }
            self.retention_counted(now);
        }
        Ok(())
    }

    /// Finalizes the file in progress, if any (returns its new path), then applies retention
    /// (whose errors are counted and left for `tick`). Every batch written before this call
    /// is then in a finalized file. On `Err` the file was closed anyway and stays `.partial`
    /// until `tick` (or the next `open`) repairs it; no batch is lost (unless the file itself
    /// was removed, which is counted in `lost_rows`).
    pub fn finalize(&mut self, now: SystemTime) -> Result<Option<PathBuf>, StorageError> {
        let r = self.finalize_current();
        self.retention_counted(now);
        r
    }

    /// Periodic work: finalizes the file in progress if it is older than `max_file_age`,
    /// repairs files a failed write left behind, applies retention. Returns the first error of
    /// these, or else one deferred from an earlier `write` or `open`.
    pub fn tick(&mut self, now: SystemTime) -> Result<(), StorageError> {
        let mut first = None;
        self.check_vanished();
        if self.current.as_ref().is_some_and(|c| self.due(c, now))
            && let Err(e) = self.finalize_current()
        {
            first.get_or_insert(e);
        }
        if self.needs_recovery {
            match self.recover() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.retention(now) {
            first.get_or_insert(e);
        }
        match first.or_else(|| self.deferred.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Shutdown: finalizes the file in progress, repairs leftovers, applies retention, and
    /// returns the path finalized or the first error (finalize, repair, or deferred).
    pub fn close(mut self, now: SystemTime) -> Result<Option<PathBuf>, StorageError> {
        self.check_vanished();
        let finalized = self.finalize_current();
        let repaired = if self.needs_recovery {
            self.recover()
        } else {
            Ok(None)
        };
        self.retention_counted(now);
        let path = finalized?;
        if let Some(e) = repaired? {
            return Err(e);
        }
        match self.deferred.take() {
            Some(e) => Err(e),
            None => Ok(path),
        }
    }

    fn due(&self, c: &OpenFile, now: SystemTime) -> bool {
        let age = now.duration_since(c.opened_at).unwrap_or(Duration::ZERO);
        age >= self.options.max_file_age || c.good_len >= self.options.max_file_bytes
    }

    fn defer(&mut self, e: StorageError) {
        self.deferred.get_or_insert(e);
    }

    fn sync_files(&self) -> bool {
        self.options.sync != SyncPolicy::Never
    }

    /// Creates a new `.partial` holding the schema (with `first_row` in its metadata).
    fn open_file(&mut self, now: SystemTime, first_row: u64) -> Result<OpenFile, StorageError> {
        let r = self.try_open_file(now, first_row);
        if r.is_err() {
            self.stats.counters().write_errors(1);
        }
        r
    }

    fn try_open_file(&mut self, now: SystemTime, first_row: u64) -> Result<OpenFile, StorageError> {
        self.fs
            .create_dir_all(&self.dir)
            .map_err(|e| StorageError::io(StorageOp::CreateDir, &self.dir, e))?;
        let name = FileName::next(self.signal, now, self.newest);
        self.newest = Some(name);
        let partial = self.dir.join(name.file_name(FileState::InProgress));
        let file = self
            .fs
            .create_new(&partial)
            .map_err(|e| StorageError::io(StorageOp::CreateFile, &partial, e))?;
        let sink = FileSink::new(file, std::mem::take(&mut self.spare));
        let schema = schema_with_first_row(&self.schema, first_row);
        let started = StreamWriter::try_new_with_options(sink, &schema, self.ipc.clone())
            .and_then(|mut w| w.flush().map(|()| w));
        let mut writer = match started {
            Ok(w) => w,
            Err(e) => {
                // The file holds at most a torn schema: no data, delete it.
                if self.fs.remove_file(&partial).is_err() {
                    self.needs_recovery = true;
                }
                return Err(StorageError::arrow(StorageOp::CreateFile, &partial, e));
            }
        };
        if self.options.sync == SyncPolicy::EveryBatch
            && let Err(e) = self.fs.sync_dir(&self.dir)
        {
            drop(writer.get_mut().take());
            if self.fs.remove_file(&partial).is_err() {
                self.needs_recovery = true;
            }
            return Err(StorageError::io(StorageOp::SyncDir, &self.dir, e));
        }
        let good_len = writer.get_ref().on_disk();
        self.stats.counters().bytes_written(good_len);
        Ok(OpenFile {
            name,
            first_row,
            partial,
            opened_at: now,
            writer,
            good_len,
            counted: good_len,
            batches: 0,
            rows: 0,
        })
    }

    /// Writes `batch` and hands its bytes to the OS (and the disk, per policy).
    fn append(&self, cur: &mut OpenFile, batch: &RecordBatch) -> Result<(), StorageError> {
        let p = &cur.partial;
        cur.writer
            .write(batch)
            .and_then(|()| cur.writer.flush())
            .map_err(|e| StorageError::arrow(StorageOp::WriteBatch, p, e))?;
        if self.options.sync == SyncPolicy::EveryBatch
            && let Some(f) = cur.writer.get_mut().file_mut()
        {
            f.sync_data()
                .map_err(|e| StorageError::io(StorageOp::SyncFile, p, e))?;
        }
        cur.good_len = cur.writer.get_ref().on_disk();
        cur.batches += 1;
        cur.rows += batch.num_rows() as u64;
        let c = self.stats.counters();
        c.batches_written(1);
        c.rows_written(batch.num_rows() as u64);
        c.bytes_written(cur.good_len - cur.counted);
        cur.counted = cur.good_len;
        Ok(())
    }

    /// End marker, sync, rename, directory sync. On failure the file is abandoned.
    fn finalize_current(&mut self) -> Result<Option<PathBuf>, StorageError> {
        let Some(mut cur) = self.current.take() else {
            return Ok(None);
        };
        let final_path = self.dir.join(cur.name.file_name(FileState::Finalized));
        if let Err(e) = cur.writer.finish() {
            let e = StorageError::arrow(StorageOp::FinishFile, &cur.partial, e);
            return Err(self.fail(cur, e));
        }
        let end = cur.writer.get_ref().on_disk();
        if self.sync_files() {
            let synced = match cur.writer.get_mut().file_mut() {
                Some(f) => f.sync_all(),
                None => Err(io::Error::other("file already closed")),
            };
            if let Err(e) = synced {
                let e = StorageError::io(StorageOp::SyncFile, &cur.partial, e);
                return Err(self.fail(cur, e));
            }
        }
        let (file, buf) = cur.writer.get_mut().take();
        drop(file);
        self.spare = buf;
        if let Err(e) = self.fs.rename(&cur.partial, &final_path) {
            let e = StorageError::io(StorageOp::Rename, &cur.partial, e);
            return Err(self.fail(cur, e));
        }
        let c = self.stats.counters();
        c.files_finalized(1);
        c.bytes_written(end - cur.counted);
        if self.sync_files()
            && let Err(e) = self.fs.sync_dir(&self.dir)
        {
            self.stats.counters().write_errors(1);
            return Err(StorageError::io(StorageOp::SyncDir, &self.dir, e));
        }
        Ok(Some(final_path))
    }

    fn fail(&mut self, cur: OpenFile, e: StorageError) -> StorageError {
        self.stats.counters().write_errors(1);
        self.abandon(cur);
        e
    }

    /// Closes a file after a failure, keeping its complete batches (see the module docs).
    fn abandon(&mut self, mut cur: OpenFile) {
        let (file, buf) = cur.writer.get_mut().take();
        self.spare = buf;
        if cur.batches == 0 {
            drop(file);
            match self.fs.remove_file(&cur.partial) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(_) => self.needs_recovery = true,
            }
            return;
        }
        let file = match file {
            Some(f) => Ok(f),
            None => self.fs.open_rw(&cur.partial),
        };
        let final_path = self.dir.join(cur.name.file_name(FileState::Finalized));
        let sealed = match file {
            Ok(f) => seal(
                &*self.fs,
                f,
                cur.good_len,
                self.sync_files(),
                &cur.partial,
                &final_path,
                &self.dir,
            ),
            Err(e) => Err(StorageError::io(StorageOp::Recover, &cur.partial, e)),
        };
        let exists = |p: &Path| self.fs.exists(p).unwrap_or(true);
        let c = self.stats.counters();
        match sealed {
            // `Err` with the final file present: renamed, only the directory sync failed.
            Ok(()) | Err(_) if exists(&final_path) => {
                if sealed.is_err() {
                    c.write_errors(1);
                }
                c.files_finalized(1);
                c.salvaged_files(1);
                c.bytes_written(END_OF_STREAM.len() as u64);
            }
            Err(_) if !exists(&cur.partial) => self.count_lost(&cur),
            _ => {
                // Still `.partial`: the crash-recovery code repairs it at the next `tick`.
                c.write_errors(1);
                self.needs_recovery = true;
            }
        }
    }

    fn count_lost(&self, cur: &OpenFile) {
        let c = self.stats.counters();
        c.lost_files(1);
        c.lost_rows(cur.rows);
    }

    /// Drops the file in progress if it was removed under us (e.g. with its directory).
    fn check_vanished(&mut self) {
        let gone = self
            .current
            .as_ref()
            .is_some_and(|c| matches!(self.fs.exists(&c.partial), Ok(false)));
        if gone && let Some(cur) = self.current.take() {
            self.count_lost(&cur);
        }
    }

    /// Repairs `.partial` files other than the one in progress. Outer `Err`: the directory
    /// cannot be listed; inner: the first file that could not be repaired (still pending).
    fn recover(&mut self) -> Result<Option<StorageError>, StorageError> {
        let skip = self.current.as_ref().map(|c| c.partial.clone());
        let report = recover_dir_with(
            &*self.fs,
            &self.dir,
            self.signal,
            skip.as_deref(),
            &self.stats,
        )
        .inspect_err(|_| self.stats.counters().write_errors(1))?;
        self.needs_recovery = !report.errors.is_empty();
        self.stats
            .counters()
            .write_errors(report.errors.len() as u64);
        Ok(report.errors.into_iter().next())
    }

    fn retention(&mut self, now: SystemTime) -> Result<(), StorageError> {
        let report = apply_retention_with(
            &*self.fs,
            &self.dir,
            self.signal,
            &self.options.retention,
            self.gate.as_deref(),
            now,
            &self.stats,
        )
        .inspect_err(|_| self.stats.counters().retention_errors(1))?;
        match report.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Retention whose errors are only counted (they recur, and are returned, at `tick`).
    fn retention_counted(&mut self, now: SystemTime) {
        let _ = self.retention(now);
    }
}

#[cfg(test)]
mod tests;
