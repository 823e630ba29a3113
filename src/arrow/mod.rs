//! Storage: OTLP wire records -> Arrow record batches -> rotated, crash-safe Arrow IPC files.
//!
//! - [`schema`]: the column contract of the stored files (see `docs/SCHEMA.md`).
//! - [`otlp`]: the reverse path, stored batches -> OTLP `Export*ServiceRequest` bytes.
#![forbid(unsafe_code)]

pub mod otlp;
pub mod schema;
