//! # otlp-arrow
//!
//! An embedded-friendly OpenTelemetry library: application threads and OTLP clients hand it
//! spans, metric points and log records; it holds them in preallocated rings (no allocation and
//! no lock on the hot path), stores them as Arrow IPC files and optionally forwards OTLP.
//!
//! This crate is layered; inner layers never import outer ones:
//!
//! | layer | modules | needs |
//! |---|---|---|
//! | core | [`ring`], [`breaker`], [`wire`] | `no_std`, no `alloc` |
//! | storage | `arrow` | `std` |
//! | transport | [`otlp`] (receivers) | `std` + tokio |
//! | pipeline | `config` | `std` |
//! | faces | `service` (the `otlp-arrow serve` service), `cli` (the `otlp-arrow` command line) | `std` + tokio |
//!
//! Outer layers need the `std` feature (on by default); the transport and pipeline layers
//! arrive with later work. Build the core alone with `--no-default-features`.
#![cfg_attr(not(any(feature = "std", otlp_arrow_loom)), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "std")]
pub mod arrow;
pub mod breaker;
#[cfg(feature = "std")]
pub mod cli;
#[cfg(feature = "std")]
pub mod config;
#[cfg(feature = "std")]
pub mod otlp;
#[cfg(feature = "std")]
pub mod pipeline;
pub mod ring;
#[cfg(feature = "std")]
pub mod service;
pub mod signal;
pub mod wire;

mod sync;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

/// The README's code blocks, compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
