//! placeholder
#![forbid(unsafe_code)]

/// Placeholder until the scan fuzz model lands.
pub fn run(_data: &[u8]) {}
