//! The names the forwarder uses from storage (`crate::arrow`) and transport
//! (`crate::otlp::forward`), in one place, and the [`Transport`] seam that lets the scheduler
//! run against a fake endpoint in tests.
#![forbid(unsafe_code)]

use std::future::Future;

#[cfg(test)]
pub(crate) use crate::arrow::files::FIRST_ROW_KEY;
pub(crate) use crate::arrow::files::{first_row, row_range};
pub(crate) use crate::arrow::tap::{RecordTap, RowWatermarks};
pub(crate) use crate::otlp::forward::{ExportOutcome, ExportRequest, Exporter, RequestBuilder};

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
