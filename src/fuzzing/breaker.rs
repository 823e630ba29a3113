//! placeholder
#![forbid(unsafe_code)]

/// Placeholder until the breaker fuzz model lands.
pub fn run(_data: &[u8]) {}
