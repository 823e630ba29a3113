//! Crash recovery: turn each `*.arrow.partial` left behind into a complete `.arrow` file.
//!
//! A writer that died (SIGKILL, power loss, panic) leaves its file in progress as a `.partial`:
//! a valid prefix of an Arrow IPC stream, possibly followed by a torn message. The stream
//! framing makes the complete prefix easy to find:
//!
//! ```text
//!  message := 0xFFFFFFFF | i32 metadata_len | Message flatbuffer (metadata_len bytes, padded)
//!             | body (Message.bodyLength bytes)
//!  legacy  := i32 metadata_len | flatbuffer | body          (pre-1.0 writers, no continuation)
//!  end     := 0xFFFFFFFF 0x00000000                        (legacy: 0x00000000)
//!  stream  := schema message, { dictionary | record batch message }, end
//! ```
//!
//! Recovery walks the messages (reading only their metadata, seeking over bodies), stops at the
//! first one that is incomplete or not well-formed, then decodes the complete record batches
//! with arrow's own `StreamReader` (which validates them) so that a tail that is complete by
//! length but garbage by content (unsynced pages after a power loss) is cut too. It then
//! truncates the file after the last good message, appends the end-of-stream marker, syncs the
//! file, renames it to `.arrow` and syncs the directory. A file without a single complete record
//! batch (its schema message may be torn too) holds no data and is deleted: storage never leaves
//! zero-batch files behind.
//!
//! Zero-filled tails read as a legacy end-of-stream marker; they are cut like any other tail.
#![forbid(unsafe_code)]

use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use arrow_ipc::MessageHeader;
use arrow_ipc::reader::StreamReader;

use super::error::{StorageError, StorageOp};
use super::fs::{Fs, FsFile, RealFs};
use super::name::FileState;
use super::{ListedFile, list_with};
use crate::arrow::stats::StorageStats;
use crate::signal::Signal;

/// The Arrow IPC end-of-stream marker: continuation token then a zero metadata length.
pub const END_OF_STREAM: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
const CONTINUATION: u32 = 0xFFFF_FFFF;

/// What recovery did to one `.partial` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// Repaired into the finalized file `path`, which holds `batches` complete batches
    /// (`rows` rows); `bytes_cut` bytes of torn tail were removed.
    Repaired {
        /// The finalized file.
        path: PathBuf,
        /// Complete record batches kept.
        batches: u64,
        /// Rows in them.
        rows: u64,
        /// Bytes removed from the end of the original file.
        bytes_cut: u64,
    },
    /// Deleted: it held no complete record batch.
    Deleted {
        /// The deleted `.partial` file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
}

/// The result of recovering a directory: one outcome per file handled, and the errors of the
/// files that could not be handled (they stay `.partial`; a later recovery tries again).
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Files repaired or deleted, oldest first.
    pub outcomes: Vec<RecoveryOutcome>,
    /// Files that could not be recovered.
    pub errors: Vec<StorageError>,
}

/// Recovers every `.partial` file of `signal` in `dir` (a signal directory such as
/// `<output_dir>/traces`), counting into `stats`. Files not named by us are not touched. `Err`
/// only if the directory cannot be listed; a missing directory has nothing to recover.
pub fn recover_dir(
    dir: &Path,
    signal: Signal,
    stats: &StorageStats,
) -> Result<RecoveryReport, StorageError> {
    recover_dir_with(&RealFs, dir, signal, None, stats)
}

pub(crate) fn recover_dir_with(
    fs: &dyn Fs,
    dir: &Path,
    signal: Signal,
    skip: Option<&Path>,
    stats: &StorageStats,
) -> Result<RecoveryReport, StorageError> {
    let files = match list_with(fs, dir, signal) {
        Ok(files) => files,
        Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut report = RecoveryReport::default();
    for f in files {
        if f.state != FileState::InProgress || Some(f.path.as_path()) == skip {
            continue;
        }
        match recover_file(fs, dir, &f, stats) {
            Ok(outcome) => report.outcomes.push(outcome),
            Err(e) => report.errors.push(e),
        }
    }
    Ok(report)
}

/// Where the complete messages of a stream end.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) schema_seen: bool,
    /// The schema's [`FIRST_ROW_KEY`](super::FIRST_ROW_KEY): absent, a number, or a value that
    /// is not one (described).
    pub(crate) first_row: Option<Result<u64, String>>,
    /// Start offset, end offset and row count of each complete record batch message.
    pub(crate) batches: Vec<(u64, u64, u64)>,
    /// End of the last complete message (0 if none).
    pub(crate) end: u64,
    /// A (modern) end-of-stream marker starts at `end`.
    pub(crate) eos: bool,
}

pub(crate) fn scan_messages<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Scan> {
    let mut s = Scan::default();
    let mut meta = Vec::new();
    let mut pos = 0u64;
    loop {
        let left = len - pos;
        let mut word = [0u8; 4];
        if left < 4 {
            break;
        }
        r.read_exact(&mut word)?;
        let (header, meta_len) = if u32::from_le_bytes(word) == CONTINUATION {
            if left < 8 {
                break;
            }
            r.read_exact(&mut word)?;
            (8u64, i32::from_le_bytes(word))
        } else {
            (4u64, i32::from_le_bytes(word))
        };
        if meta_len == 0 {
            s.eos = header == 8;
            break;
        }
        let Ok(meta_len) = u64::try_from(meta_len) else {
            break;
        };
        if header + meta_len > left {
            break;
        }
        meta.resize(meta_len as usize, 0);
        r.read_exact(&mut meta)?;
        let Ok(message) = arrow_ipc::root_as_message(&meta) else {
            break;
        };
        let Ok(body) = u64::try_from(message.bodyLength()) else {
            break;
        };
        if body > left - header - meta_len {
            break;
        }
        match message.header_type() {
            MessageHeader::Schema if !s.schema_seen => {
                s.schema_seen = true;
                s.first_row = super::rows::first_row_of(&message).transpose();
            }
            MessageHeader::DictionaryBatch if s.schema_seen => {}
            MessageHeader::RecordBatch if s.schema_seen => {
                let Some(rows) = message
                    .header_as_record_batch()
                    .and_then(|b| u64::try_from(b.length()).ok())
                else {
                    break;
                };
                s.batches.push((pos, pos + header + meta_len + body, rows));
            }
            _ => break,
        }
        let Ok(skip) = i64::try_from(body) else {
            break;
        };
        r.seek_relative(skip)?;
        pos += header + meta_len + body;
        s.end = pos;
    }
    Ok(s)
}

/// How much of the scanned prefix arrow decodes: (end of the last good record batch, batches,
/// rows). Dictionary messages after the last good batch are cut with it: no batch uses them.
fn validate(file: &mut dyn FsFile, s: &Scan) -> io::Result<(u64, u64, u64)> {
    let Some(&(_, last_end, _)) = s.batches.last() else {
        return Ok((0, 0, 0));
    };
    file.seek(SeekFrom::Start(0))?;
    let Ok(mut reader) = StreamReader::try_new(BufReader::new(file.take(last_end)), None) else {
        return Ok((0, 0, 0));
    };
    let (mut keep, mut rows) = (0, 0);
    for (i, &(_, end, expect_rows)) in s.batches.iter().enumerate() {
        match reader.next() {
            Some(Ok(b)) if b.num_rows() as u64 == expect_rows => {
                keep = end;
                rows += expect_rows;
            }
            _ => return Ok((keep, i as u64, rows)),
        }
    }
    Ok((keep, s.batches.len() as u64, rows))
}

fn recover_file(
    fs: &dyn Fs,
    dir: &Path,
    f: &ListedFile,
    stats: &StorageStats,
) -> Result<RecoveryOutcome, StorageError> {
    let err = |e| StorageError::io(StorageOp::Recover, &f.path, e);
    let mut file = fs.open_rw(&f.path).map_err(err)?;
    let len = file.len().map_err(err)?;
    let scan = {
        let mut r = BufReader::new(&mut *file);
        scan_messages(&mut r, len).map_err(err)?
    };
    let (keep, batches, rows) = validate(&mut *file, &scan).map_err(err)?;
    if batches == 0 {
        drop(file);
        fs.remove_file(&f.path)
            .map_err(|e| StorageError::io(StorageOp::Remove, &f.path, e))?;
        stats.counters().recovery_deleted_files(1);
        return Ok(RecoveryOutcome::Deleted {
            path: f.path.clone(),
            bytes: len,
        });
    }
    let had_eos = keep == scan.end && scan.eos;
    let bytes_cut = len - keep - if had_eos { 8 } else { 0 };
    let final_path = dir.join(f.name.file_name(FileState::Finalized));
    seal(fs, file, keep, true, &f.path, &final_path, dir)?;
    let c = stats.counters();
    c.recovered_files(1);
    c.recovered_batches(batches);
    c.recovered_rows(rows);
    c.recovery_bytes_cut(bytes_cut);
    Ok(RecoveryOutcome::Repaired {
        path: final_path,
        batches,
        rows,
        bytes_cut,
    })
}

/// Completes a `.partial` whose first `keep` bytes are complete messages: truncate there,
/// append the end-of-stream marker, optionally sync, rename to `final_path`, optionally sync
/// the directory.
pub(crate) fn seal(
    fs: &dyn Fs,
    mut file: Box<dyn FsFile>,
    keep: u64,
    sync: bool,
    partial: &Path,
    final_path: &Path,
    dir: &Path,
) -> Result<(), StorageError> {
    let err = |e| StorageError::io(StorageOp::Recover, partial, e);
    file.set_len(keep).map_err(err)?;
    file.seek(SeekFrom::Start(keep)).map_err(err)?;
    file.write_all(&END_OF_STREAM).map_err(err)?;
    if sync {
        file.sync_all()
            .map_err(|e| StorageError::io(StorageOp::SyncFile, partial, e))?;
    }
    drop(file);
    fs.rename(partial, final_path)
        .map_err(|e| StorageError::io(StorageOp::Rename, partial, e))?;
    if sync {
        fs.sync_dir(dir)
            .map_err(|e| StorageError::io(StorageOp::SyncDir, dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn scan_stops_at_garbage_and_negative_lengths() {
        // A continuation with a negative length, then junk: nothing complete.
        let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
        bytes.extend_from_slice(&(-5i32).to_le_bytes());
        bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let len = bytes.len() as u64;
        let s = scan_messages(&mut Cursor::new(bytes), len).unwrap();
        assert_eq!((s.schema_seen, s.end, s.eos), (false, 0, false));

        // A length that claims more than the file holds.
        let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
        bytes.extend_from_slice(&1000i32.to_le_bytes());
        bytes.extend_from_slice(&[0; 16]);
        let len = bytes.len() as u64;
        let s = scan_messages(&mut Cursor::new(bytes), len).unwrap();
        assert_eq!(s.end, 0);

        // Metadata that is not a flatbuffer Message.
        let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
        bytes.extend_from_slice(&8i32.to_le_bytes());
        bytes.extend_from_slice(&[0xAB; 8]);
        let len = bytes.len() as u64;
        let s = scan_messages(&mut Cursor::new(bytes), len).unwrap();
        assert_eq!(s.end, 0);

        let s = scan_messages(&mut Cursor::new(END_OF_STREAM.to_vec()), 8).unwrap();
        assert!(s.eos);
    }
}
