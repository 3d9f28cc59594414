//! Blurring mean shift, one gaussian iteration (bandwidth 2.5) per measured
//! call, on the GPU and on the CPU twin, for N = 1500 (the reference
//! workload's size), 10 000 and 100 000 points (GPU only: the CPU twin takes
//! too long there) in D = 2 and 32.
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
//! in 2-D and the bandwidth sees the same neighbourhoods.
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
const CPU_SIZES: [usize; 2] = [1_500, 10_000];

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
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat);
    for &dim in &DIMS {
        for &n in sizes {
            let x = data(n, dim);
            group.throughput(Throughput::Elements((n * n) as u64));
            group.bench_with_input(BenchmarkId::new(format!("d{dim}"), n), &x, |b, x| {
                b.iter(|| {
                    meanshift::blur(ctx, black_box(x), Kernel::Gaussian, BANDWIDTH, 1)
                        .expect("blur")
                });
            });
        }
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
    blur_iteration(c, "blurring_iteration_cpu", &ctx, &CPU_SIZES);
}

criterion_group!(benches, gpu, cpu);
criterion_main!(benches);
