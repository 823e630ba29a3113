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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};
    use std::sync::{Arc, Mutex};

    /// An in-memory file that records the size of every `write` call it gets.
    #[derive(Debug, Clone, Default)]
    struct MemFile {
        log: Arc<Mutex<(Vec<u8>, Vec<usize>)>>,
    }

    impl MemFile {
        fn contents(&self) -> Vec<u8> {
            self.log.lock().unwrap().0.clone()
        }
        fn write_sizes(&self) -> Vec<usize> {
            self.log.lock().unwrap().1.clone()
        }
    }

    impl Read for MemFile {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }

    impl Seek for MemFile {
        fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
            Ok(0)
        }
    }

    impl Write for MemFile {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut log = self.log.lock().unwrap();
            log.0.extend_from_slice(data);
            log.1.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl FsFile for MemFile {
        fn sync_all(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn sync_data(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            let len = usize::try_from(len).unwrap();
            self.log.lock().unwrap().0.truncate(len);
            Ok(())
        }
        fn len(&mut self) -> io::Result<u64> {
            Ok(self.log.lock().unwrap().0.len() as u64)
        }
    }

    fn sink() -> (FileSink, MemFile) {
        let file = MemFile::default();
        // The spare buffer's old contents must not reach the file.
        (
            FileSink::new(Box::new(file.clone()), b"stale".to_vec()),
            file,
        )
    }

    #[test]
    fn small_writes_reach_the_file_in_one_write_on_flush() {
        let (mut s, file) = sink();
        s.write_all(b"abc").unwrap();
        s.write_all(b"defg").unwrap();
        assert_eq!(s.on_disk(), 0);
        assert!(file.write_sizes().is_empty());
        s.flush().unwrap();
        assert_eq!(file.contents(), b"abcdefg");
        assert_eq!(file.write_sizes(), [7]);
        assert_eq!(s.on_disk(), 7);
        // Nothing buffered: a second flush writes nothing.
        s.flush().unwrap();
        assert_eq!(file.write_sizes(), [7]);
        assert_eq!(s.on_disk(), 7);
    }

    #[test]
    fn a_full_buffer_spills_before_it_grows_past_the_limit() {
        let (mut s, file) = sink();
        let first = vec![1u8; SPILL_BYTES - 10];
        s.write_all(&first).unwrap();
        assert!(file.write_sizes().is_empty());
        // Would exceed the limit: the buffer goes out first, the new bytes are buffered.
        s.write_all(&[2u8; 20]).unwrap();
        assert_eq!(file.write_sizes(), [SPILL_BYTES - 10]);
        assert_eq!(s.on_disk(), (SPILL_BYTES - 10) as u64);
        s.flush().unwrap();
        assert_eq!(file.write_sizes(), [SPILL_BYTES - 10, 20]);
        assert_eq!(s.on_disk(), (SPILL_BYTES + 10) as u64);
        let bytes = file.contents();
        assert_eq!(bytes.len(), SPILL_BYTES + 10);
        assert!(bytes[..SPILL_BYTES - 10].iter().all(|&b| b == 1));
        assert!(bytes[SPILL_BYTES - 10..].iter().all(|&b| b == 2));
    }

    #[test]
    fn large_writes_go_straight_to_the_file_after_the_buffer() {
        let (mut s, file) = sink();
        s.write_all(b"head").unwrap();
        let big = vec![7u8; SPILL_BYTES];
        assert_eq!(s.write(&big).unwrap(), SPILL_BYTES);
        // In order: the buffered prefix, then the large buffer in one piece.
        assert_eq!(file.write_sizes(), [4, SPILL_BYTES]);
        assert_eq!(s.on_disk(), (SPILL_BYTES + 4) as u64);
        assert_eq!(&file.contents()[..4], b"head");
        s.flush().unwrap();
        assert_eq!(file.write_sizes().len(), 2, "nothing was left buffered");
    }

    #[test]
    fn after_take_writes_are_refused_and_nothing_more_reaches_the_file() {
        let (mut s, file) = sink();
        s.write_all(b"kept").unwrap();
        s.flush().unwrap();
        s.write_all(b"dropped").unwrap();
        assert!(s.file_mut().is_some());
        let (taken, buf) = s.take();
        assert!(taken.is_some());
        assert!(buf.is_empty(), "buffered bytes are discarded");
        assert!(s.file_mut().is_none());
        // A write larger than the buffer limit needs the file at once.
        let e = s.write(&vec![0u8; SPILL_BYTES + 1]).unwrap_err();
        assert_eq!(e.to_string(), "file already closed");
        // A small one is buffered, and refused on flush.
        s.write_all(b"late").unwrap();
        let e = s.flush().unwrap_err();
        assert_eq!(e.to_string(), "file already closed");
        assert_eq!(file.contents(), b"kept");
        assert_eq!(s.on_disk(), 4);
        let (again, _) = s.take();
        assert!(again.is_none());
    }
}
