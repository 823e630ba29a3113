//! placeholder
#![forbid(unsafe_code)]

/// Placeholder until the ring fuzz model lands.
pub fn run(_data: &[u8]) {}
