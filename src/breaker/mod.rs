//! placeholder (owned by the breaker work)
#![forbid(unsafe_code)]
