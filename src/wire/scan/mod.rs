//! placeholder (owned by the scanner work)
#![forbid(unsafe_code)]
