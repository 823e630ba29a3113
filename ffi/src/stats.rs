//! `otlp_arrow_stats`: the counters of an open handle, in a versioned struct.
//!
//! The caller sets `size` to `sizeof(otlp_arrow_counters)` as it was compiled; the library fills
//! `min(size, its own sizeof)` bytes and sets `size` to what it filled. New counters are only
//! ever appended at the end of `otlp_arrow_counters` (never inside `otlp_arrow_signal_counters`,
//! whose layout is frozen), so a caller built against an older header gets exactly the fields
//! it knows, and a newer caller can see from `size` which fields an older library filled.

use std::sync::atomic::Ordering;

use core_crate::signal::Signal;

use crate::error::boundary;
use crate::library::{inner, otlp_arrow};
use crate::status::{Error, otlp_arrow_status};

/// Counters of one signal.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct otlp_arrow_signal_counters {
    /// Ring size in bytes.
    pub ring_capacity: u64,
    /// Bytes in the ring not yet drained.
    pub ring_in_use_bytes: u64,
    /// Records the drain thread has read from the ring (every accepted record, once drained).
    pub records_read: u64,
    /// Records refused because the ring was full (`OTLP_ARROW_FULL`).
    pub rejected_full: u64,
    /// Records refused as too large (`OTLP_ARROW_TOO_LARGE`).
    pub rejected_too_large: u64,
    /// Calls refused with `OTLP_ARROW_INVALID_ARGUMENT`.
    pub rejected_invalid: u64,
    /// Records that did not decode (a bug if ever non-zero for records made here).
    pub decode_errors: u64,
    /// Rows written to files.
    pub rows_written: u64,
    /// Record batches written.
    pub batches_written: u64,
    /// Bytes written to files.
    pub bytes_written: u64,
    /// Files finalized (renamed to `.arrow`).
    pub files_finalized: u64,
    /// Failed storage operations.
    pub write_errors: u64,
    /// Rows lost at shutdown (deadline passed, writes failing).
    pub lost_rows: u64,
    /// Records still in the ring at shutdown, never read.
    pub lost_records: u64,
}

/// Counters of a handle. Set `size` before calling `otlp_arrow_stats`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct otlp_arrow_counters {
    /// In: `sizeof(otlp_arrow_counters)` of the caller. Out: bytes filled.
    pub size: usize,
    /// Spans.
    pub traces: otlp_arrow_signal_counters,
    /// Metric points.
    pub metrics: otlp_arrow_signal_counters,
    /// Log records.
    pub logs: otlp_arrow_signal_counters,
}

/// Fills `*out` with the handle's counters. Set `out->size = sizeof(otlp_arrow_counters)`
/// first: the library fills `min(out->size, its own size)` bytes and stores that in
/// `out->size` (new counters are only ever appended, so older and newer callers both work).
/// Each counter is exact; the set is not one atomic snapshot.
///
/// Returns `OTLP_ARROW_OK`, `OTLP_ARROW_INVALID_ARGUMENT` (NULL `lib` or `out`, `out->size`
/// smaller than the `size` field itself) or `OTLP_ARROW_CLOSED`. Thread-safe.
///
/// # Safety
/// `lib` is NULL or an open handle; `out` is NULL or points to `out->size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn otlp_arrow_stats(
    lib: *const otlp_arrow,
    out: *mut otlp_arrow_counters,
) -> otlp_arrow_status {
    boundary!(status => {
        // SAFETY: forwarded to the caller.
        let inner = unsafe { inner(lib) }?;
        if out.is_null() || !out.cast::<usize>().is_aligned() {
            return Err(Error::Invalid("out is NULL or misaligned"));
        }
        // SAFETY: non-NULL and aligned; the caller's struct starts with `size`.
        let size = unsafe { out.cast::<usize>().read() };
        if size < size_of::<usize>() {
            return Err(Error::Invalid("out->size is smaller than the size field"));
        }
        let mut full = otlp_arrow_counters::default();
        for (signal, slot) in [
            (Signal::Traces, &mut full.traces),
            (Signal::Metrics, &mut full.metrics),
            (Signal::Logs, &mut full.logs),
        ] {
            let s = inner.pipeline().stats(signal);
            let c = &inner.counters[crate::library::lane(signal)];
            *slot = otlp_arrow_signal_counters {
                ring_capacity: s.ring.capacity,
                ring_in_use_bytes: s.ring.in_use_bytes,
                records_read: s.ring.records_read,
                rejected_full: s.ring.rejected_full,
                rejected_too_large: s.ring.rejected_too_large + c.too_large.load(Ordering::Relaxed),
                rejected_invalid: c.invalid.load(Ordering::Relaxed),
                decode_errors: s.drain.decode_errors,
                rows_written: s.storage.rows_written,
                batches_written: s.storage.batches_written,
                bytes_written: s.storage.bytes_written,
                files_finalized: s.storage.files_finalized,
                write_errors: s.storage.write_errors,
                lost_rows: s.drain.lost_rows,
                lost_records: s.drain.lost_records,
            };
        }
        let n = size.min(size_of::<otlp_arrow_counters>());
        full.size = n;
        // SAFETY: the caller guarantees `size >= n` writable bytes at `out`; `full` is a
        // local, so the ranges do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&raw const full).cast::<u8>(),
                out.cast::<u8>(),
                n,
            );
        }
        Ok(())
    })
}
