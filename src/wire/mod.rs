//! OTLP protobuf on the wire, without allocation.
//!
//! The ring's record format is the OTLP wire format (DESIGN.md, principle 1). This module owns
//! both directions of it for the core:
//!
//! - [`encode`]: borrowed views of spans, metric points, log records, resources and scopes are
//!   encoded straight into a caller's `&mut [u8]`, after an exact `encoded_len` so a ring slot
//!   of the right size can be claimed first.
//! - [`scan`]: a validating scanner over `Export{Trace,Metrics,Logs}ServiceRequest` bytes that
//!   yields each `Resource*` sub-message as a borrowed slice with its item count, and rejects
//!   malformed input with an error that says where.
//!
//! Nothing here allocates, locks or needs `std`.
#![forbid(unsafe_code)]

pub mod encode;
pub(crate) mod fields;
pub mod scan;
