//! [`FileSink`]: the `Write` that arrow's `StreamWriter` writes a file through.
//!
//! It gathers the many small writes arrow makes per message (prefix, flatbuffer, one per
//! buffer, padding) into one buffer and hands it to the file only on `flush` (or when it grows
//! past [`SPILL_BYTES`]), and counts the bytes the file accepted: that count, not an estimate,
//! is what rotation by size compares. Unlike `BufWriter` it has no `Drop` that writes: a sink
//! that is dropped after an error writes nothing more, so the writer knows exactly which prefix
//! of the file is good.
#![forbid(unsafe_code)]

use std::io::{self, Write};

use crate::arrow::files::fs::FsFile;

/// Buffered bytes above which the sink writes through before `flush`.
pub(crate) const SPILL_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub(crate) struct FileSink {
    file: Option<Box<dyn FsFile>>,
    buf: Vec<u8>,
    on_disk: u64,
}

impl FileSink {
    /// `buf` is a spare buffer to reuse (cleared here).
    pub(crate) fn new(file: Box<dyn FsFile>, mut buf: Vec<u8>) -> Self {
        buf.clear();
        FileSink {
            file: Some(file),
            buf,
            on_disk: 0,
        }
    }

    /// Bytes the file has accepted.
    pub(crate) fn on_disk(&self) -> u64 {
        self.on_disk
    }

    pub(crate) fn file_mut(&mut self) -> Option<&mut Box<dyn FsFile>> {
        self.file.as_mut()
    }

    /// Takes the file out (the sink refuses writes afterwards) and the buffer for reuse;
    /// buffered bytes are discarded.
    pub(crate) fn take(&mut self) -> (Option<Box<dyn FsFile>>, Vec<u8>) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        (self.file.take(), buf)
    }

    fn file(&mut self) -> io::Result<&mut Box<dyn FsFile>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already closed"))
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let n = self.buf.len();
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already closed"))?;
        file.write_all(&self.buf)?;
        self.on_disk += n as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Write for FileSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > SPILL_BYTES {
            self.spill()?;
            if data.len() >= SPILL_BYTES {
                // Large buffers (column data) go straight to the file: no copy.
                self.file()?.write_all(data)?;
                self.on_disk += data.len() as u64;
                return Ok(data.len());
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spill()
    }
}
