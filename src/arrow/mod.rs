//! Storage: OTLP wire records -> Arrow record batches -> rotated, crash-safe Arrow IPC files.
//!
//! - [`schema`]: the column contract of the stored files (see `docs/SCHEMA.md`).
#![forbid(unsafe_code)]

pub mod schema;
