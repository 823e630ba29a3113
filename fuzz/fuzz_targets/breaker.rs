//! Breaker vs its sequential reference model (logic in `otlp_arrow::fuzzing::breaker`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otlp_arrow::fuzzing::breaker::run(data));
