//! DBSCAN on two data sets where it shines: the reference blobs with
//! uniform noise sprinkled over them, and two interleaved moons that no
//! centre-based method separates. On the GPU (any adapter there is) and
//! the CPU twin, with a picture.
//!
//! ```text
//! cargo run --release --example dbscan [-- [--seed S] [--out-dir DIR]]
//! ```
//!
//! Writes `dbscan.png` (both data sets side by side, points coloured by
//! cluster, noise in grey) to the current directory, or to `--out-dir`,
//! and prints where.

use std::error::Error;
use std::f32::consts::PI;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

mod common;

use common::{Args, FAMILY, INK, MUTED, absolute, colour, use_bundled_font};
use gpu_cluster::{Blobs, Context, Dbscan, DbscanFit, Points};
use plotters::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Uniform noise points added over the blobs' window.
const NOISE: usize = 150;
/// Points per moon.
const PER_MOON: usize = 500;

fn usage() -> String {
    format!(
        "usage: cargo run --release --example dbscan [-- [--seed S] [--out-dir DIR]]\n\n  \
         --seed S       seed of the blobs and the noise (default: {})\n  \
         --out-dir DIR  where to write dbscan.png (default: .)\n  \
         -h, --help     this text",
        Blobs::DEFAULT_SEED
    )
}

fn main() -> ExitCode {
    common::main_with(Blobs::DEFAULT_SEED, &usage(), run)
}

/// A data set, the DBSCAN parameters for it, and its title.
struct Panel {
    title: &'static str,
    points: Points,
    eps: f32,
    min_samples: usize,
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let panels = [
        Panel {
            title: "Blobs with uniform noise",
            points: noisy_blobs(args.seed, &mut rng)?,
            eps: 1.6,
            min_samples: 8,
        },
        Panel {
            title: "Two moons",
            points: moons(&mut rng)?,
            eps: 0.15,
            min_samples: 6,
        },
    ];
    let ctx = match Context::gpu() {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("GPU: none ({e}); the CPU twin only");
            Context::cpu()
        }
    };
    let cpu = Context::cpu();
    println!("GPU: {ctx}\nCPU: {cpu}\n");
    let mut fits = Vec::new();
    for p in &panels {
        let params = Dbscan::new(p.eps, p.min_samples);
        let started = Instant::now();
        let fit = params.fit(&ctx, &p.points)?;
        let on_gpu = started.elapsed();
        let started = Instant::now();
        let twin = params.fit(&cpu, &p.points)?;
        let on_cpu = started.elapsed();
        let noise = fit.labels().iter().filter(|&&l| l < 0).count();
        println!(
            "{}: {} points, eps {}, min_samples {}: {} clusters, {noise} noise, {} core \
             points; {:.1} ms on {}, {:.1} ms on the CPU twin; labels {}",
            p.title,
            p.points.len(),
            p.eps,
            p.min_samples,
            fit.n_clusters(),
            fit.core_sample_indices().len(),
            on_gpu.as_secs_f64() * 1e3,
            if ctx.adapter_info().is_some() {
                "the GPU"
            } else {
                "the CPU"
            },
            on_cpu.as_secs_f64() * 1e3,
            if fit == twin {
                "identical"
            } else {
                "DIFFERENT"
            },
        );
        fits.push(fit);
    }
    use_bundled_font()?;
    std::fs::create_dir_all(&args.out_dir)?;
    let png = args.out_dir.join("dbscan.png");
    draw(&png, &panels, &fits, &ctx.to_string())?;
    println!("\nwrote {}", absolute(&png).display());
    Ok(())
}

/// The reference blobs and [`NOISE`] uniform points over their window.
fn noisy_blobs(seed: u64, rng: &mut ChaCha8Rng) -> Result<Points, Box<dyn Error>> {
    let data = Blobs {
        seed,
        ..Blobs::default()
    }
    .generate()?;
    let (xr, yr) = common::square_bounds(&data);
    let mut flat = data.points.into_vec();
    for _ in 0..NOISE {
        flat.push(rng.random_range(xr.clone()));
        flat.push(rng.random_range(yr.clone()));
    }
    Ok(Points::new(&flat, 2)?)
}

/// scikit-learn's `make_moons`: two interleaved half circles, with
/// gaussian noise of 0.06.
fn moons(rng: &mut ChaCha8Rng) -> Result<Points, Box<dyn Error>> {
    let noise = Normal::new(0.0f32, 0.06).map_err(|e| e.to_string())?;
    let mut flat = Vec::with_capacity(4 * PER_MOON);
    for i in 0..PER_MOON {
        let t = PI * i as f32 / (PER_MOON - 1) as f32;
        flat.extend([t.cos(), t.sin()]);
        flat.extend([1.0 - t.cos(), 0.5 - t.sin()]);
    }
    for v in &mut flat {
        *v += noise.sample(rng);
    }
    Ok(Points::new(&flat, 2)?)
}

/// The panels side by side: points coloured by cluster, noise in grey.
fn draw(
    path: &Path,
    panels: &[Panel],
    fits: &[DbscanFit],
    device: &str,
) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (1400, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(100);
    header.draw(&Text::new(
        "DBSCAN finds clusters of any shape and leaves noise out",
        (36, 18),
        (FAMILY, 32).into_font().color(&INK),
    ))?;
    header.draw(&Text::new(
        format!("Grey: noise (label -1). Computed on {device}"),
        (38, 62),
        (FAMILY, 16).into_font().color(&MUTED),
    ))?;
    let areas = body.split_evenly((1, panels.len()));
    for ((area, panel), fit) in areas.iter().zip(panels).zip(fits) {
        let (lo, hi) = bounds(&panel.points);
        let noise = fit.labels().iter().filter(|&&l| l < 0).count();
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{}: {} clusters, {noise} noise (eps {}, min_samples {})",
                    panel.title,
                    fit.n_clusters(),
                    panel.eps,
                    panel.min_samples
                ),
                (FAMILY, 20).into_font().color(&INK),
            )
            .margin(20)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(lo[0]..hi[0], lo[1]..hi[1])?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(0xe8, 0xe8, 0xe8))
            .axis_style(MUTED)
            .label_style((FAMILY, 13).into_font().color(&MUTED))
            .draw()?;
        chart.draw_series(panel.points.rows().zip(fit.labels()).map(|(p, &l)| {
            let style = match l {
                -1 => MUTED.mix(0.5).filled(),
                _ => colour(l).mix(0.85).filled(),
            };
            Circle::new((p[0], p[1]), if l < 0 { 2 } else { 3 }, style)
        }))?;
    }
    root.present()?;
    Ok(())
}

/// The points' bounding box with a margin.
fn bounds(points: &Points) -> ([f32; 2], [f32; 2]) {
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for r in points.rows() {
        for a in 0..2 {
            lo[a] = lo[a].min(r[a]);
            hi[a] = hi[a].max(r[a]);
        }
    }
    let pad = 0.05 * (hi[0] - lo[0]).max(hi[1] - lo[1]);
    ([lo[0] - pad, lo[1] - pad], [hi[0] + pad, hi[1] + pad])
}
