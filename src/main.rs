//! The `otlp-arrow` binary: everything is in the library ([`otlp_arrow::cli`]).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(otlp_arrow::cli::run(std::env::args_os()))
}
