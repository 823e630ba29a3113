//! The file-system seam: every file operation of storage goes through [`Fs`] / [`FsFile`].
//!
//! Production uses [`RealFs`] (plain `std::fs`). Tests swap in `FaultyFs`, which fails chosen
//! operations with chosen OS errors (`ENOSPC`, `EACCES`, ...) or lets writes fill up a byte
//! budget and then fail mid-write, because permission and full-disk errors cannot be produced
//! for real here (tests run as root, on a roomy disk).
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

/// A directory entry: its file name (entries whose names are not UTF-8 are never ours and are
/// skipped) and whether it is a regular file.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) is_file: bool,
}

/// File-system operations storage needs.
pub(crate) trait Fs: Send + Sync + fmt::Debug {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    fn list(&self, dir: &Path) -> io::Result<Vec<Entry>>;
    fn file_len(&self, path: &Path) -> io::Result<u64>;
    /// Whether anything exists at `path` (symlinks not followed).
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Creates a new file for writing; fails if `path` exists (never clobbers).
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing file for reading and writing (recovery).
    fn open_rw(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing file for reading only (row numbers of the newest file).
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes renames and creations in `dir` durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file.
pub(crate) trait FsFile: Read + Write + Seek + Send + fmt::Debug {
    fn sync_all(&mut self) -> io::Result<()>;
    fn sync_data(&mut self) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    fn len(&mut self) -> io::Result<u64>;
}

/// `std::fs`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealFs;

impl RealFs {
    pub(crate) fn shared() -> Arc<dyn Fs> {
        Arc::new(RealFs)
    }
}

impl Fs for RealFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_file = entry.file_type()?.is_file();
            out.push(Entry { name, is_file });
        }
        Ok(out)
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::symlink_metadata(path)?.len())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        match fs::symlink_metadata(path) {
            Ok(_) => Ok(true),
            // A path component that is no longer a directory: nothing is at `path` either.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(f))
    }

    fn open_rw(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Box::new(f))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(File::open(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Linux a directory opened read-only can be fsync'ed; that persists its entries.
        File::open(dir)?.sync_all()
    }
}

impl FsFile for File {
    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn len(&mut self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

#[cfg(test)]
pub(crate) use faulty::{FaultyFs, Op};

#[cfg(test)]
mod faulty {
    //! A [`RealFs`] that fails on demand.
    use super::*;
    use std::sync::Mutex;

    /// Operations a fault can target.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Op {
        CreateDir,
        List,
        CreateNew,
        OpenRw,
        OpenRead,
        Rename,
        Remove,
        SyncDir,
        Write,
        SyncFile,
        SetLen,
    }

    #[derive(Debug)]
    struct Rule {
        op: Op,
        errno: i32,
        skip: u32,
        times: u32,
    }

    #[derive(Debug, Default)]
    struct Plan {
        rules: Vec<Rule>,
        /// Bytes file writes may still store before they fail with `ENOSPC` (a full disk).
        write_budget: Option<u64>,
        calls: Vec<Op>,
    }

    /// Fails operations as planned; everything else goes to the real file system.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct FaultyFs {
        plan: Arc<Mutex<Plan>>,
    }

    impl FaultyFs {
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// The next `times` calls of `op`, after `skip` successful ones, fail with `errno`.
        pub(crate) fn fail(&self, op: Op, errno: i32, skip: u32, times: u32) {
            self.lock().rules.push(Rule {
                op,
                errno,
                skip,
                times,
            });
        }

        /// File writes store at most `bytes` more bytes (the last write may be partial), then
        /// fail with `ENOSPC`. `None` lifts the limit.
        pub(crate) fn write_budget(&self, bytes: Option<u64>) {
            self.lock().write_budget = bytes;
        }

        /// How many times `op` was attempted.
        pub(crate) fn calls(&self, op: Op) -> usize {
            self.lock().calls.iter().filter(|&&o| o == op).count()
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
            self.plan.lock().unwrap_or_else(|p| p.into_inner())
        }

        fn check(&self, op: Op) -> io::Result<()> {
            let mut p = self.lock();
            p.calls.push(op);
            for r in p.rules.iter_mut().filter(|r| r.op == op) {
                if r.skip > 0 {
                    r.skip -= 1;
                } else if r.times > 0 {
                    r.times -= 1;
                    return Err(io::Error::from_raw_os_error(r.errno));
                }
            }
            Ok(())
        }

        pub(crate) fn shared(&self) -> Arc<dyn Fs> {
            Arc::new(self.clone())
        }
    }

    impl Fs for FaultyFs {
        fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
            self.check(Op::CreateDir)?;
            RealFs.create_dir_all(dir)
        }
        fn list(&self, dir: &Path) -> io::Result<Vec<Entry>> {
            self.check(Op::List)?;
            RealFs.list(dir)
        }
        fn file_len(&self, path: &Path) -> io::Result<u64> {
            RealFs.file_len(path)
        }
        fn exists(&self, path: &Path) -> io::Result<bool> {
            RealFs.exists(path)
        }
        fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
            self.check(Op::CreateNew)?;
            let inner = RealFs.create_new(path)?;
            Ok(Box::new(FaultyFile {
                inner,
                fs: self.clone(),
            }))
        }
        fn open_rw(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
            self.check(Op::OpenRw)?;
            let inner = RealFs.open_rw(path)?;
            Ok(Box::new(FaultyFile {
                inner,
                fs: self.clone(),
            }))
        }
        fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
            self.check(Op::OpenRead)?;
            RealFs.open_read(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.check(Op::Rename)?;
            RealFs.rename(from, to)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            self.check(Op::Remove)?;
            RealFs.remove_file(path)
        }
        fn sync_dir(&self, dir: &Path) -> io::Result<()> {
            self.check(Op::SyncDir)?;
            RealFs.sync_dir(dir)
        }
    }

    #[derive(Debug)]
    struct FaultyFile {
        inner: Box<dyn FsFile>,
        fs: FaultyFs,
    }

    impl Read for FaultyFile {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.inner.read(buf)
        }
    }

    impl Seek for FaultyFile {
        fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    impl Write for FaultyFile {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.fs.check(Op::Write)?;
            let allowed = {
                let mut p = self.fs.lock();
                match p.write_budget {
                    None => buf.len(),
                    Some(0) => return Err(io::Error::from_raw_os_error(28)), // ENOSPC
                    Some(left) => {
                        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                        p.write_budget = Some(left - n as u64);
                        n
                    }
                }
            };
            self.inner.write_all(&buf[..allowed])?;
            Ok(allowed)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    impl FsFile for FaultyFile {
        fn sync_all(&mut self) -> io::Result<()> {
            self.fs.check(Op::SyncFile)?;
            self.inner.sync_all()
        }
        fn sync_data(&mut self) -> io::Result<()> {
            self.fs.check(Op::SyncFile)?;
            self.inner.sync_data()
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.fs.check(Op::SetLen)?;
            let old = self.inner.len()?;
            self.inner.set_len(len)?;
            // Truncating frees space on a full disk.
            if let Some(left) = &mut self.fs.lock().write_budget {
                *left += old.saturating_sub(len);
            }
            Ok(())
        }
        fn len(&mut self) -> io::Result<u64> {
            self.inner.len()
        }
    }
}
