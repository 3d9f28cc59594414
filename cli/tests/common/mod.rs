//! Helpers shared by the command-line tests.
#![allow(dead_code)]

pub mod check;
pub mod run;

/// The library's test helpers (a GPU context or a skip, seeded data).
#[path = "../../../tests/common/mod.rs"]
mod library;

// Not every test file uses them.
#[allow(unused_imports)]
pub use library::*;

/// The backends a test compares the command line with: the CPU, and the
/// GPU when there is an adapter (any, software included; with
/// REQUIRE_GPU=1 a missing one fails the test).
pub fn backends() -> Vec<(&'static str, gpu_cluster::Context)> {
    let mut b = vec![("cpu", gpu_cluster::Context::cpu())];
    if let Some(gpu) = gpu() {
        b.push(("gpu", gpu));
    }
    b
}
