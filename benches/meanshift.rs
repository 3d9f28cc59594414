//! Blurring mean shift, one gaussian iteration (bandwidth 2.5) per measured
//! call, on the GPU and on the CPU twin. The GPU runs N = 1500 (the
//! reference workload's size), 10 000 and 100 000 points in D = 2 and 32;
//! the CPU twin (too slow for 100 000) runs N = 1500 and 10 000 in D = 2
//! and 32, and N = 1500 in D = 8, 128 and 1024, which take its other
//! inner loops.
//!
//! ```text
//! cargo bench --bench meanshift
//! WGPU_BACKEND=vulkan cargo bench --bench meanshift -- gpu   # one group
//! ```
//!
//! What one measured call is: `meanshift::blur(ctx, x, Gaussian, 2.5, 1)`,
//! one blurring iteration through the public API: centring, finding the
//! data already resident on the device (uploaded by the first call), the
//! iteration and reading the positions back (O(N D), small next to the N^2
//! pair evaluations at these sizes). Throughput is declared as N * N elements, so
//! criterion's "elem/s" is pair-evaluations per second.
//!
//! The data are blobs (six clusters, as in the reference workload) whose
//! spread is scaled by sqrt(2 / D), so a blob has the same radius in 32-D as
//! in 2-D and the bandwidth sees the same neighbourhoods. Their centroids
//! stay in `[-35, 35]^D`, so from D = 8 on nearly every pair from two
//! different blobs is far beyond where the gaussian weight is 0 in `f32`;
//! the CPU twin drops such rows after a few coordinates (changing no bit),
//! so its figures there hold for well-separated clusters, not for any data.
//!
//! The GPU group runs on whatever adapter `Context::gpu()` opens (honouring
//! `WGPU_BACKEND`) and is skipped with a message when there is none. On a
//! software adapter (Mesa's lavapipe, SwiftShader) the numbers are CPU
//! timings of an emulator: they say nothing about GPUs. Sample sizes are
//! small so the whole run takes a few minutes on a machine with a real GPU.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use gpu_cluster::{Blobs, Context, Kernel, Points, meanshift};

const BANDWIDTH: f32 = 2.5;
const DIMS: [usize; 2] = [2, 32];
const GPU_SIZES: [usize; 3] = [1_500, 10_000, 100_000];
/// The CPU twin's `(dim, n)` cases.
const CPU_CASES: [(usize, usize); 7] = [
    (2, 1_500),
    (2, 10_000),
    (8, 1_500),
    (32, 1_500),
    (32, 10_000),
    (128, 1_500),
    (1024, 1_500),
];

/// `n` points of six blobs in `dim` dimensions (fixed seed).
fn data(n: usize, dim: usize) -> Points {
    let blobs = Blobs {
        clusters: 6,
        per_cluster: n.div_ceil(6),
        dim,
        std: (5.0f32 * 2.0 / dim as f32).sqrt(),
        ..Blobs::default()
    };
    let all = blobs.generate().expect("valid blobs parameters");
    Points::new(&all.points.as_slice()[..n * dim], dim).expect("finite points")
}

fn blur_iteration(c: &mut Criterion, name: &str, ctx: &Context, sizes: &[usize]) {
    let cases: Vec<(usize, usize)> = DIMS
        .iter()
        .flat_map(|&dim| sizes.iter().map(move |&n| (dim, n)))
        .collect();
    blur_cases(c, name, ctx, &cases);
}

/// One benchmark per `(dim, n)` in `cases`, in one group.
fn blur_cases(c: &mut Criterion, name: &str, ctx: &Context, cases: &[(usize, usize)]) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat);
    for &(dim, n) in cases {
        let x = data(n, dim);
        group.throughput(Throughput::Elements((n * n) as u64));
        group.bench_with_input(BenchmarkId::new(format!("d{dim}"), n), &x, |b, x| {
            b.iter(|| {
                meanshift::blur(ctx, black_box(x), Kernel::Gaussian, BANDWIDTH, 1).expect("blur")
            });
        });
    }
    group.finish();
}

fn gpu(c: &mut Criterion) {
    match Context::gpu() {
        Ok(ctx) => {
            let note = if ctx.is_software() {
                " (software adapter: these timings say nothing about GPUs)"
            } else {
                ""
            };
            println!("GPU benchmarks on {ctx}{note}");
            blur_iteration(c, "blurring_iteration_gpu", &ctx, &GPU_SIZES);
        }
        Err(e) => println!("skipping the GPU benchmarks: no adapter ({e})"),
    }
}

fn cpu(c: &mut Criterion) {
    let ctx = Context::cpu();
    println!("CPU benchmarks on {ctx}");
    blur_cases(c, "blurring_iteration_cpu", &ctx, &CPU_CASES);
}

criterion_group!(benches, gpu, cpu);
criterion_main!(benches);
