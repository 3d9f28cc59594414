//! Helpers shared by the command-line tests.
#![allow(dead_code)]

pub mod run;

/// The library's test helpers (a GPU context or a skip, seeded data).
#[path = "../../../tests/common/mod.rs"]
mod library;

// Not every test file uses them.
#[allow(unused_imports)]
pub use library::*;
