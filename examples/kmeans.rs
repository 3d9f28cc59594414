//! k-means on the reference blobs, end to end: scikit-learn's `KMeans`
//! (k-means++, k = 6) on the GPU (any adapter there is) and on the CPU
//! twin, timed side by side, with pictures.
//!
//! ```text
//! cargo run --release --example kmeans [-- [--seed S] [--out-dir DIR]]
//! ```
//!
//! Writes `kmeans.png` (points coloured by cluster, the found centres as
//! rings, the true centroids as large X marks) and `kmeans.gif` (the Lloyd
//! iterations animated: each point takes the colour of its nearest centre,
//! the centres move to their clusters' means) to the current directory, or
//! to `--out-dir`, and prints where. On these blobs k-means++ starts so
//! close to the answer that Lloyd needs two iterations, so the animation
//! starts from random points instead, where the iterations have work to do.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod common;

use common::{
    Args, FAMILY, INK, MUTED, absolute, centroid_mark, colour, format_duration, format_point,
    nearest, square_bounds, use_bundled_font,
};
use gpu_cluster::{Blobs, BlobsData, Context, KMeans, KMeansFit, KMeansInit, Points};
use plotters::prelude::*;

/// The clusters asked for: the blobs' count.
const K: usize = 6;
/// The seed of the k-means++ draw.
const KMEANS_SEED: u64 = 0;
/// The seed of the animation's random start.
const ANIMATION_SEED: u64 = 5;
/// Timed fits per backend, after one warm-up fit; the median is reported.
const RUNS: usize = 9;

fn usage() -> String {
    format!(
        "usage: cargo run --release --example kmeans [-- [--seed S] [--out-dir DIR]]\n\n  \
         --seed S       seed of the blobs generator (default: {})\n  \
         --out-dir DIR  where to write kmeans.png and kmeans.gif (default: .)\n  \
         -h, --help     this text",
        Blobs::DEFAULT_SEED
    )
}

fn main() -> ExitCode {
    common::main_with(Blobs::DEFAULT_SEED, &usage(), run)
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let blobs = Blobs {
        seed: args.seed,
        ..Blobs::default()
    };
    let data = blobs.generate()?;
    let params = KMeans::new(K).seed(KMEANS_SEED);
    println!(
        "Blobs: {} points in {}-D, {} blobs of {}, seed {}",
        data.points.len(),
        data.points.dim(),
        blobs.clusters,
        blobs.per_cluster,
        blobs.seed
    );
    println!("k-means: k = {K}, k-means++ (seed {KMEANS_SEED}), scikit-learn's defaults\n");

    let mut sides: Vec<(&str, Context, KMeansFit, Duration)> = Vec::new();
    match Context::gpu() {
        Ok(gpu) => {
            let software = if gpu.is_software() {
                "  [software adapter: correct, but its timings say nothing about GPUs]"
            } else {
                ""
            };
            println!("GPU: {gpu}{software}");
            let (fit, median) = time_fit(&params, &gpu, &data.points)?;
            sides.push(("GPU", gpu, fit, median));
        }
        Err(e) => println!("GPU: none ({e}); the CPU twin only"),
    }
    let cpu = Context::cpu();
    println!("CPU: {cpu}");
    let (fit, median) = time_fit(&params, &cpu, &data.points)?;
    sides.push(("CPU", cpu, fit, median));

    println!(
        "\n{:<10}{:>10}{:>12}{:>16}",
        "", "clusters", "iterations", "fit time"
    );
    for (name, _, fit, median) in &sides {
        println!(
            "{name:<10}{:>10}{:>12}{:>16}",
            fit.n_clusters(),
            fit.n_iter(),
            format_duration(*median)
        );
    }
    println!("(fit time: median of {RUNS} after a warm-up; k-means++, Lloyd iterations, labels)");
    let (_, ctx, main, _) = &sides[0];
    print_clusters(main, &data);
    if let [(_, _, gpu, _), (_, _, cpu, _)] = &sides[..] {
        let same = gpu.labels() == cpu.labels();
        let bits = gpu.cluster_centers() == cpu.cluster_centers();
        println!(
            "\nGPU vs CPU: {} labels, {} centres, inertia {} vs {}",
            if same { "identical" } else { "different" },
            if bits { "bit-identical" } else { "different" },
            gpu.inertia(),
            cpu.inertia()
        );
    }

    // The animation: one run from random points, after 1, 2, ...
    // iterations. The same seed draws the same start each time and the
    // steps are deterministic, so fit i is the run's i-th iteration.
    let random = KMeans::new(K)
        .init(KMeansInit::Random)
        .n_init(1)
        .seed(ANIMATION_SEED);
    let n_iter = random.fit(ctx, &data.points)?.n_iter();
    let steps = (1..=n_iter)
        .map(|i| random.clone().max_iter(i).fit(ctx, &data.points))
        .collect::<Result<Vec<_>, _>>()?;

    use_bundled_font()?;
    std::fs::create_dir_all(&args.out_dir)?;
    let png = args.out_dir.join("kmeans.png");
    let gif = args.out_dir.join("kmeans.gif");
    draw_png(&png, &data, main, &ctx.to_string())?;
    println!("\nwrote {}", absolute(&png).display());
    draw_gif(&gif, &data, &steps)?;
    println!("wrote {}", absolute(&gif).display());
    Ok(())
}

/// One warm-up fit, then the median of [`RUNS`] timed fits.
fn time_fit(
    params: &KMeans,
    ctx: &Context,
    x: &Points,
) -> Result<(KMeansFit, Duration), Box<dyn Error>> {
    let fit = params.fit(ctx, x)?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let again = params.fit(ctx, x)?;
        times.push(start.elapsed());
        if again != fit {
            println!("     warning: a repeated fit on {ctx} gave a different result");
        }
    }
    times.sort();
    Ok((fit, times[RUNS / 2]))
}

/// Each cluster's centre and size next to the nearest true centroid.
fn print_clusters(fit: &KMeansFit, data: &BlobsData) {
    let mut sizes = vec![0usize; fit.n_clusters()];
    for &l in fit.labels() {
        sizes[l as usize] += 1;
    }
    println!("\ncluster  centre              points   nearest true centroid   distance");
    for (k, c) in fit.cluster_centers().rows().enumerate() {
        let (t, d2) = nearest(c, &data.centroids);
        println!(
            "{k:>7}  {:<18}  {:>6}   {:<22}  {:>8.3}",
            format_point(c),
            sizes[k],
            format_point(data.centroids.row(t)),
            d2.sqrt()
        );
    }
    println!("inertia {:.1}, {} iterations", fit.inertia(), fit.n_iter());
}

/// Points coloured by cluster, found centres as rings, true centroids as
/// X marks.
fn draw_png(
    path: &Path,
    data: &BlobsData,
    fit: &KMeansFit,
    device: &str,
) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (900, 940)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(104);
    header.draw(&Text::new(
        format!("k-means finds {K} clusters in {} iterations", fit.n_iter()),
        (36, 18),
        (FAMILY, 34).into_font().color(&INK),
    ))?;
    let small = (FAMILY, 16).into_font().color(&MUTED);
    header.draw(&Text::new(
        format!(
            "{} points from {} Gaussian blobs, k-means++ (seed {KMEANS_SEED}), inertia {:.0}; \
             rings: found centres, X: true centroids",
            data.points.len(),
            data.centroids.len(),
            fit.inertia()
        ),
        (38, 58),
        small.clone(),
    ))?;
    header.draw(&Text::new(format!("Computed on {device}"), (38, 80), small))?;
    let (xr, yr) = square_bounds(data);
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(xr, yr)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xe8, 0xe8, 0xe8))
        .axis_style(MUTED)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, 15).into_font().color(&MUTED))
        .draw()?;
    draw_clusters(&mut chart, data, fit, 11)?;
    root.present()?;
    Ok(())
}

/// The points in their clusters' colours, the true centroids as X marks,
/// and each found centre as a ring in its cluster's colour around them.
fn draw_clusters<DB: DrawingBackend>(
    chart: &mut common::Chart<'_, '_, DB>,
    data: &BlobsData,
    fit: &KMeansFit,
    mark: i32,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    chart
        .draw_series(
            data.points
                .rows()
                .zip(fit.labels())
                .map(|(p, &l)| Circle::new((p[0], p[1]), 3, colour(l).mix(0.75).filled())),
        )
        .map_err(|e| e.to_string())?;
    centroid_mark(chart, &data.centroids, mark)?;
    for (k, c) in fit.cluster_centers().rows().enumerate() {
        let at = (c[0], c[1]);
        let r = 2 * mark;
        chart
            .draw_series([
                Circle::new(at, r, WHITE.stroke_width(7)),
                Circle::new(at, r, colour(k as i32).stroke_width(4)),
            ])
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The Lloyd iterations: each frame is the fit after that many iterations,
/// held half a second, the last one longer.
fn draw_gif(path: &Path, data: &BlobsData, steps: &[KMeansFit]) -> Result<(), Box<dyn Error>> {
    const DELAY_MS: u32 = 100;
    const HOLD: usize = 6;
    const FINAL_HOLD: usize = 20;
    let root = BitMapBackend::gif(path, (560, 600), DELAY_MS)?.into_drawing_area();
    let (xr, yr) = square_bounds(data);
    for (i, fit) in steps.iter().enumerate() {
        let title = format!(
            "k-means from random points: iteration {} of {}",
            i + 1,
            steps.len()
        );
        let hold = if i + 1 == steps.len() {
            FINAL_HOLD
        } else {
            HOLD
        };
        for _ in 0..hold {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&title, (FAMILY, 24).into_font().color(&INK))
                .margin(16)
                .x_label_area_size(30)
                .y_label_area_size(36)
                .build_cartesian_2d(xr.clone(), yr.clone())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_y_mesh()
                .axis_style(MUTED)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style((FAMILY, 13).into_font().color(&MUTED))
                .draw()?;
            draw_clusters(&mut chart, data, fit, 8)?;
            root.present()?;
        }
    }
    Ok(())
}
