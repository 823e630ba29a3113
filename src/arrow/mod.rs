//! Storage: OTLP wire records -> Arrow record batches -> rotated, crash-safe Arrow IPC files.
//!
//! - [`schema`]: the column contract of the stored files (see `docs/SCHEMA.md`).
//! - [`decode`]: OTLP wire records straight into record batches of those schemas.
//! - [`files`]: the on-disk layout: directories, file names, listing, recovery, retention.
//! - [`writer`]: [`writer::SignalWriter`], one signal's batches -> rotated IPC stream files.
//! - [`stats`]: the storage counters.
//! - [`drain`]: the drain thread: ring -> decoder -> writer, batch cutting, flush, shutdown.
//! - [`tap`]: global row numbers ([`RowWatermarks`]) and the [`RecordTap`] the forwarder
//!   receives decoded records through.
//! - [`otlp`]: the reverse path, stored batches -> OTLP `Export*ServiceRequest` bytes.
//!
//! No `unsafe` here but in one place: `decode`'s `strings` module (finishing `Utf8` columns
//! without validating them twice), which allows it explicitly; every other module forbids it.
#![deny(unsafe_code)]

pub mod decode;
pub mod drain;
pub mod files;
pub mod otlp;
pub mod schema;
pub mod stats;
pub mod tap;
pub mod writer;

pub use tap::{RecordTap, RowWatermarks};
