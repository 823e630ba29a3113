//! placeholder (owned by the encoder work)
#![forbid(unsafe_code)]
