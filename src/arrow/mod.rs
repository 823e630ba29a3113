//! Storage: OTLP wire records -> Arrow record batches -> rotated, crash-safe Arrow IPC files.
//!
//! - [`schema`]: the column contract of the stored files (see `docs/SCHEMA.md`).
//! - [`decode`]: OTLP wire records straight into record batches of those schemas.
#![forbid(unsafe_code)]

pub mod decode;
pub mod schema;
