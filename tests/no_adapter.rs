//! `Error::NoAdapter`: `Context::gpu()` when `WGPU_BACKEND` names a backend
//! that this platform does not have.
//!
//! Environment variables are process-wide, so this is a test binary of its
//! own with a single test that sets the variable before anything reads it.

use gpu_cluster::{BackendKind, Context, Error, GpuOptions};

/// A backend wgpu cannot offer on this platform.
#[cfg(target_vendor = "apple")]
const ABSENT_BACKEND: &str = "dx12";
#[cfg(not(target_vendor = "apple"))]
const ABSENT_BACKEND: &str = "metal";

#[test]
fn gpu_context_without_an_adapter() {
    // SAFETY: the only test of this binary sets the variable before any
    // other thread of this process could read the environment.
    unsafe { std::env::set_var("WGPU_BACKEND", ABSENT_BACKEND) };

    for result in [Context::gpu(), Context::gpu_with(&GpuOptions::default())] {
        let err = result.expect_err("no adapter can exist for an absent backend");
        assert!(
            matches!(err, Error::NoAdapter(_)),
            "expected NoAdapter, got {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("no GPU adapter"),
            "message {text:?} does not say so"
        );
    }

    // Context::auto() falls back to the CPU twin instead of failing.
    let ctx = Context::auto().expect("auto never fails for lack of a GPU");
    assert_eq!(ctx.backend(), BackendKind::Cpu);
}
