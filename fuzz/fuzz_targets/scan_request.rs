//! Runs the three OTLP request scanners on arbitrary bytes; see `otlp_arrow::fuzzing::scan`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| otlp_arrow::fuzzing::scan::run(data));
