//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod knn_cases;

use gpu_cluster::{Blobs, Context, GpuOptions, Points};

/// The CPU twin, and a GPU context where there is an adapter (see
/// [`gpu`]): the backends a test runs on.
pub fn contexts() -> Vec<Context> {
    let mut all = vec![Context::cpu()];
    all.extend(gpu());
    all
}

/// A GPU context on whatever adapter is present (software ones included),
/// or `None` with a message when there is none. With `REQUIRE_GPU=1` a
/// missing adapter fails the test instead, so CI really runs the GPU path.
pub fn gpu() -> Option<Context> {
    gpu_with(&GpuOptions::default())
}

/// [`gpu`] with options (e.g. a small binding limit to exercise splitting).
pub fn gpu_with(options: &GpuOptions) -> Option<Context> {
    match Context::gpu_with(options) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_GPU=1 but no GPU context: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU case: {e}");
            None
        }
    }
}

/// Seeded uniform data in `[-scale, scale]^dim`, portable (ChaCha8).
pub fn uniform(n: usize, dim: usize, scale: f32, seed: u64) -> Vec<f32> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Uniform};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new_inclusive(-scale, scale).unwrap();
    (0..n * dim).map(|_| u.sample(&mut rng)).collect()
}

/// The default blobs with `dim` coordinates and `per_cluster` points each.
pub fn blobs(dim: usize, per_cluster: usize) -> Points {
    Blobs {
        dim,
        per_cluster,
        ..Blobs::default()
    }
    .generate()
    .unwrap()
    .points
}
