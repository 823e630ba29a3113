#!/usr/bin/env bash
# The one command that installs what the tests need and runs them all.
# Used as-is by CI (.ci/run). Safe to re-run; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1

step "python packages (readers, OpenTelemetry SDK clients, the otlp_arrow package's tests)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r tests/python/requirements.txt pytest
# Missing Python modules fail the Python checks instead of skipping them.
export REQUIRE_PYTHON_CHECKS=1

step "cbindgen 0.29.4 (the header drift test regenerates include/otlp_arrow.h)"
if ! cbindgen --version 2>/dev/null | grep -q '0.29.4'; then
    cargo install cbindgen --version 0.29.4 --locked
fi
# A missing cbindgen fails the drift test instead of skipping it.
export REQUIRE_CBINDGEN=1

step "format"
cargo fmt --all --check

step "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --features otlp-arrow/fuzzing -- -D warnings

step "core builds as no_std without alloc"
cargo build --no-default-features --lib

step "tests (unit, integration, doc, fuzz corpus replay)"
cargo test --workspace --features otlp-arrow/fuzzing

step "loom models (crate-specific cfg, separate target dir)"
RUSTFLAGS="--cfg otlp_arrow_loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
    cargo test --release --no-default-features --test loom_ring --test loom_breaker

step "benchmarks compile and run once"
cargo test --benches
cargo test -p otlp-arrow-ffi --benches

step "C ABI: header as C11/C++17, C example and error-path tests under valgrind, pyarrow check"
bash ffi/tests/run_c_tests.sh

step "Python package otlp_arrow (ctypes) and its OpenTelemetry SDK exporters"
# The shared library was built (debug) by the C tests above.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore ./ffi/python
OTLP_ARROW_LIB="${CARGO_TARGET_DIR:-$PWD/target}/debug/libotlp_arrow.so" python3 -m pytest -q ffi/python/tests

step "all passed"
