//! The README's Rust snippets, compiled and run as doctests.

/// The README's Rust snippets compile.
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
