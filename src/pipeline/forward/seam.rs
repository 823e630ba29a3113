//! The names the forwarder uses from storage (`crate::arrow`) and transport
//! (`crate::otlp::forward`), in one place, and the [`Transport`] seam that lets the scheduler
//! run against a fake endpoint in tests.
#![forbid(unsafe_code)]

use std::future::Future;

pub(crate) use crate::otlp::forward::{ExportOutcome, ExportRequest, Exporter, RequestBuilder};
#[cfg(test)]
pub(crate) use placeholder::FIRST_ROW_KEY;
pub(crate) use placeholder::{RecordTap, RowWatermarks, first_row, row_range};

/// One endpoint as the scheduler sees it: [`Exporter`] in production, fakes in tests.
pub(crate) trait Transport: Clone + 'static {
    /// Sends `req` (with the transport's retries) and says what became of it.
    fn export(&self, req: ExportRequest) -> impl Future<Output = ExportOutcome> + 'static;
    /// Whether a request would be let through now (the breaker is not open).
    fn is_available(&self) -> bool;
}

impl Transport for Exporter {
    fn export(&self, req: ExportRequest) -> impl Future<Output = ExportOutcome> + 'static {
        let exporter = self.clone();
        async move { Exporter::export(&exporter, req).await }
    }

    fn is_available(&self) -> bool {
        Exporter::is_available(self)
    }
}

/// TEMPORARY stand-ins for the storage seam (`crate::arrow::tap`, `crate::arrow::files`) until
/// branch wt-drain is merged.
#[allow(dead_code, unreachable_pub, missing_docs)]
pub(crate) mod placeholder {
    use crate::arrow::files::StorageError;
    use crate::sync::{AtomicU64, Ordering};
    use std::ops::Range;
    use std::path::Path;

    pub const FIRST_ROW_KEY: &str = "otlp_arrow.first_row";

    pub trait RecordTap: Send {
        fn offer(&mut self, record: &[u8], first_row: u64, rows: u32);
    }

    #[derive(Debug, Default)]
    pub struct RowWatermarks {
        decoded: AtomicU64,
        written: AtomicU64,
    }
    impl RowWatermarks {
        pub fn starting_at(next: u64) -> Self {
            RowWatermarks {
                decoded: AtomicU64::new(next),
                written: AtomicU64::new(next),
            }
        }
        pub fn decoded(&self) -> u64 {
            self.decoded.load(Ordering::Acquire)
        }
        pub fn written(&self) -> u64 {
            self.written.load(Ordering::Acquire)
        }
        pub(crate) fn set_decoded(&self, next: u64) {
            self.decoded.store(next, Ordering::Release);
        }
        pub(crate) fn set_written(&self, next: u64) {
            self.written.store(next, Ordering::Release);
        }
    }

    fn open(path: &Path) -> Result<arrow_ipc::reader::StreamReader<std::fs::File>, StorageError> {
        let f = std::fs::File::open(path)
            .map_err(|e| StorageError::io(crate::arrow::files::StorageOp::ListDir, path, e))?;
        arrow_ipc::reader::StreamReader::try_new(f, None).map_err(|e| {
            StorageError::io(
                crate::arrow::files::StorageOp::ListDir,
                path,
                std::io::Error::other(e.to_string()),
            )
        })
    }

    pub fn first_row(path: &Path) -> Result<Option<u64>, StorageError> {
        let r = open(path)?;
        Ok(r.schema()
            .metadata()
            .get(FIRST_ROW_KEY)
            .and_then(|v| v.parse().ok()))
    }

    pub fn row_range(path: &Path) -> Result<Option<Range<u64>>, StorageError> {
        let r = open(path)?;
        let Some(first) = r
            .schema()
            .metadata()
            .get(FIRST_ROW_KEY)
            .and_then(|v| v.parse().ok())
        else {
            return Ok(None);
        };
        let rows: u64 = r.filter_map(Result::ok).map(|b| b.num_rows() as u64).sum();
        Ok(Some(first..first + rows))
    }
}
