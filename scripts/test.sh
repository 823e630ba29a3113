#!/usr/bin/env bash
# The one command that installs what the tests need and runs them all.
# Used as-is by CI (.ci/run). Safe to re-run; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1

step "python packages for the reader checks (pyarrow, duckdb, polars)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r tests/python/requirements.txt
# Missing Python modules fail the Python checks instead of skipping them.
export REQUIRE_PYTHON_CHECKS=1

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

step "all passed"
