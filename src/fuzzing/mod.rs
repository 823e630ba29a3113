//! The logic behind the cargo-fuzz targets in `fuzz/`, kept in the library so that
//! `tests/fuzz_corpus.rs` can replay every committed corpus on stable with `cargo test`.
//!
//! Each submodule exposes `pub fn run(data: &[u8])`, which panics only when it finds a bug
//! (a model disagreement or a broken invariant). Not a public API: enabled by the `fuzzing`
//! feature and hidden from the docs.
#![allow(missing_docs)]
#![forbid(unsafe_code)]

pub mod breaker;
pub mod ring;
pub mod scan;
