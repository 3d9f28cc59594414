//! The reference workload, end to end: six Gaussian blobs (1500 points in
//! 2-D), five iterations of blurring mean shift with a gaussian kernel of
//! bandwidth 2.5, on the GPU (any adapter there is) and on the CPU twin,
//! timed side by side, with pictures.
//!
//! ```text
//! cargo run --release --example blobs [-- [--seed S] [--out-dir DIR]]
//! ```
//!
//! Writes `blobs.png` (points coloured by cluster, true centroids as large X
//! marks) and `blobs.gif` (the iterations animated) to the current directory,
//! or to `--out-dir`, and prints where. With no GPU adapter the GPU side
//! falls back to the CPU twin, with a note saying so.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod common;

use common::{
    Args, FAMILY, INK, MUTED, absolute, centroid_mark, colour, format_duration, format_point,
    nearest, square_bounds, squared_distance, use_bundled_font,
};
use gpu_cluster::{Blobs, BlobsData, Context, Kernel, MeanShift, MeanShiftFit, Points};
use plotters::prelude::*;

/// The reference workload's parameters.
const BANDWIDTH: f32 = 2.5;
const ITERATIONS: usize = 5;
/// Timed fits per backend, after one warm-up fit; the median is reported.
const RUNS: usize = 9;

fn usage() -> String {
    format!(
        "usage: cargo run --release --example blobs [-- [--seed S] [--out-dir DIR]]\n\n  \
         --seed S       seed of the blobs generator (default: {})\n  \
         --out-dir DIR  where to write blobs.png and blobs.gif (default: .)\n  \
         -h, --help     this text",
        Blobs::DEFAULT_SEED
    )
}

fn main() -> ExitCode {
    common::main_with(Blobs::DEFAULT_SEED, &usage(), run)
}

/// One side of the comparison.
struct Side {
    name: &'static str,
    ctx: Context,
    fit: MeanShiftFit,
    median: Duration,
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let blobs = Blobs {
        seed: args.seed,
        ..Blobs::default()
    };
    let data = blobs.generate()?;
    let params = MeanShift::new(BANDWIDTH)
        .kernel(Kernel::Gaussian)
        .blurring(ITERATIONS);

    println!(
        "Blobs: {} points in {}-D, {} blobs of {}, seed {}",
        data.points.len(),
        data.points.dim(),
        blobs.clusters,
        blobs.per_cluster,
        blobs.seed
    );
    println!(
        "Blurring mean shift: gaussian kernel, bandwidth {BANDWIDTH}, {ITERATIONS} iterations\n"
    );

    let mut sides = Vec::new();
    match Context::gpu() {
        Ok(gpu) => {
            let software = if gpu.is_software() {
                "  [software adapter: correct, but its timings say nothing about GPUs]"
            } else {
                ""
            };
            println!("GPU: {gpu}{software}");
            match time_fit(&params, &gpu, &data.points) {
                Ok((fit, median)) => sides.push(Side {
                    name: "GPU",
                    ctx: gpu,
                    fit,
                    median,
                }),
                Err(e) => println!("     The GPU fit failed ({e}): showing the CPU twin only."),
            }
        }
        Err(e) => {
            println!("GPU: none ({e})");
            println!(
                "     Falling back to the CPU twin. For a GPU, install its driver (Vulkan, Metal, DX12\n     \
                 or GL); on Linux without one, Mesa's software Vulkan works: apt-get install\n     \
                 mesa-vulkan-drivers libvulkan1, then run with WGPU_BACKEND=vulkan."
            );
        }
    }
    let cpu = Context::cpu();
    println!("CPU: {cpu}");
    let (fit, median) = time_fit(&params, &cpu, &data.points)?;
    sides.push(Side {
        name: "CPU",
        ctx: cpu,
        fit,
        median,
    });

    print_table(&sides);
    let main = &sides[0];
    print_clusters(&main.fit, &data);
    if let [gpu, cpu] = &sides[..] {
        print_agreement(&gpu.fit, &cpu.fit);
    }

    // The animation needs every iteration's positions: one more fit that
    // reads them back after each iteration (not timed).
    let traced = params
        .clone()
        .record_trajectory(true)
        .fit(&main.ctx, &data.points)?;
    let mut frames = vec![data.points.clone()];
    frames.extend(traced.trajectory().iter().cloned());

    use_bundled_font()?;
    std::fs::create_dir_all(&args.out_dir)?;
    let png = args.out_dir.join("blobs.png");
    let gif = args.out_dir.join("blobs.gif");
    draw_png(&png, &data, &main.fit, blobs.seed, &main.ctx.to_string())?;
    println!("\nwrote {}", absolute(&png).display());
    draw_gif(&gif, &data, &main.fit, &frames)?;
    println!("wrote {}", absolute(&gif).display());
    Ok(())
}

/// One warm-up fit, then the median of [`RUNS`] timed fits. A fit is the
/// whole job: upload (a byte comparison once the data are resident on the
/// device), the iterations, readback, merging and labelling.
fn time_fit(
    params: &MeanShift,
    ctx: &Context,
    x: &Points,
) -> Result<(MeanShiftFit, Duration), Box<dyn Error>> {
    let fit = params.fit(ctx, x)?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let again = params.fit(ctx, x)?;
        times.push(start.elapsed());
        if again.labels() != fit.labels() {
            println!("     warning: a repeated fit on {ctx} gave different labels");
        }
    }
    times.sort();
    Ok((fit, times[RUNS / 2]))
}

fn print_table(sides: &[Side]) {
    print!("\n{:<38}", "");
    for s in sides {
        print!("{:>12}", s.name);
    }
    print!("\n{:<38}", "clusters");
    for s in sides {
        print!("{:>12}", s.fit.n_clusters());
    }
    print!(
        "\n{:<38}",
        format!("fit time (median of {RUNS}, after warm-up)")
    );
    for s in sides {
        print!("{:>12}", format_duration(s.median));
    }
    println!(
        "\n(fit time = upload or resident-data check + {ITERATIONS} iterations + readback + merging and labelling)"
    );
}

/// Each cluster's centre and size next to the nearest true centroid.
fn print_clusters(fit: &MeanShiftFit, data: &BlobsData) {
    println!("\ncluster  centre              points   nearest true centroid   distance");
    for (k, c) in fit.centers().rows().enumerate() {
        let (t, d2) = nearest(c, &data.centroids);
        let truth = data.centroids.row(t);
        println!(
            "{k:>7}  {:<18}  {:>6}   {:<22}  {:>8.3}",
            format_point(c),
            fit.counts()[k],
            format_point(truth),
            d2.sqrt()
        );
    }
}

fn print_agreement(gpu: &MeanShiftFit, cpu: &MeanShiftFit) {
    let same_labels = gpu
        .labels()
        .iter()
        .zip(cpu.labels())
        .filter(|(a, b)| a == b)
        .count();
    let max_centre_gap = if gpu.n_clusters() == cpu.n_clusters() {
        gpu.centers()
            .rows()
            .zip(cpu.centers().rows())
            .map(|(a, b)| squared_distance(a, b).sqrt())
            .fold(0.0f32, f32::max)
    } else {
        f32::INFINITY
    };
    let centres = if max_centre_gap == 0.0 {
        "identical centres".to_string()
    } else {
        format!("centres at most {max_centre_gap:.1e} apart")
    };
    println!(
        "\nGPU vs CPU: {same_labels} of {} labels equal, {centres}",
        gpu.labels().len()
    );
}

/// Points coloured by cluster, true centroids as X marks, found centres as
/// rings, with a side panel listing the clusters.
fn draw_png(
    path: &Path,
    data: &BlobsData,
    fit: &MeanShiftFit,
    seed: u64,
    device: &str,
) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (1100, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(104);
    let k = fit.n_clusters();
    let plural = if k == 1 { "" } else { "s" };
    header.draw(&Text::new(
        format!("Blurring mean shift finds {k} cluster{plural}"),
        (36, 18),
        (FAMILY, 34).into_font().color(&INK),
    ))?;
    let small = (FAMILY, 16).into_font().color(&MUTED);
    header.draw(&Text::new(
        format!(
            "{} points from {} Gaussian blobs (seed {seed}), gaussian kernel, bandwidth \
             {BANDWIDTH}, {ITERATIONS} iterations",
            data.points.len(),
            data.centroids.len(),
        ),
        (38, 58),
        small.clone(),
    ))?;
    header.draw(&Text::new(format!("Computed on {device}"), (38, 80), small))?;
    let (plot, panel) = body.split_horizontally(804);

    let (xr, yr) = square_bounds(data);
    let mut chart = ChartBuilder::on(&plot)
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
    chart.draw_series(
        data.points
            .rows()
            .zip(fit.labels())
            .map(|(p, &l)| Circle::new((p[0], p[1]), 3, colour(l).mix(0.75).filled())),
    )?;
    chart.draw_series(
        fit.centers()
            .rows()
            .map(|c| Circle::new((c[0], c[1]), 20, INK.stroke_width(2))),
    )?;
    centroid_mark(&mut chart, &data.centroids, 13)?;

    // Side panel: one line per cluster, then the markers.
    let text = (FAMILY, 17).into_font().color(&INK);
    let mut y = 36;
    panel.draw(&Text::new(
        "clusters",
        (16, y),
        (FAMILY, 20).into_font().color(&INK),
    ))?;
    y += 38;
    for (label, count) in fit.counts().iter().enumerate().take(20) {
        panel.draw(&Circle::new((26, y + 9), 8, colour(label as i32).filled()))?;
        panel.draw(&Text::new(
            format!("{label}: {count} points"),
            (44, y),
            text.clone(),
        ))?;
        y += 30;
    }
    if k > 20 {
        panel.draw(&Text::new(
            format!("... {} more", k - 20),
            (44, y),
            text.clone(),
        ))?;
        y += 30;
    }
    y += 24;
    panel.draw(&Cross::new((26, y + 9), 11, WHITE.stroke_width(9)))?;
    panel.draw(&Cross::new((26, y + 9), 11, INK.stroke_width(4)))?;
    panel.draw(&Text::new("true centroid", (48, y), text.clone()))?;
    y += 36;
    panel.draw(&Circle::new((26, y + 9), 13, INK.stroke_width(2)))?;
    panel.draw(&Text::new("found centre", (48, y), text))?;
    root.present()?;
    Ok(())
}

/// The iterations animated: the starting positions, then each iteration,
/// with a few interpolated frames in between, coloured by the final
/// clusters. The GIF backend has one delay for all frames, so an iteration
/// is held by repeating its frame.
fn draw_gif(
    path: &Path,
    data: &BlobsData,
    fit: &MeanShiftFit,
    frames: &[Points],
) -> Result<(), Box<dyn Error>> {
    const DELAY_MS: u32 = 100;
    const HOLD: usize = 5; // frames shown at each iteration: 0.5 s
    const TWEEN: usize = 4; // interpolated frames between iterations
    const FINAL_HOLD: usize = 15; // 1.5 s on the result before looping
    let root = BitMapBackend::gif(path, (560, 600), DELAY_MS)?.into_drawing_area();
    let last = frames.len() - 1;
    for (i, frame) in frames.iter().enumerate() {
        let title = match i {
            0 => format!("Start: {} points", frame.len()),
            _ => format!("Blurring mean shift, iteration {i} of {last}"),
        };
        let hold = if i == last { FINAL_HOLD } else { HOLD };
        for _ in 0..hold {
            draw_frame(&root, data, fit, frame.as_slice(), &title)?;
        }
        if let Some(next) = frames.get(i + 1) {
            let title = format!("Blurring mean shift, iteration {i} \u{2192} {}", i + 1);
            for s in 1..=TWEEN {
                let t = s as f32 / (TWEEN + 1) as f32;
                let mixed: Vec<f32> = frame
                    .as_slice()
                    .iter()
                    .zip(next.as_slice())
                    .map(|(a, b)| a + t * (b - a))
                    .collect();
                draw_frame(&root, data, fit, &mixed, &title)?;
            }
        }
    }
    Ok(())
}

/// One frame of the animation: `positions` (2-D, row-major) coloured by the
/// fit's labels, with the true centroids.
fn draw_frame(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    data: &BlobsData,
    fit: &MeanShiftFit,
    positions: &[f32],
    title: &str,
) -> Result<(), Box<dyn Error>> {
    root.fill(&WHITE)?;
    let (xr, yr) = square_bounds(data);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 24).into_font().color(&INK))
        .margin(16)
        .x_label_area_size(30)
        .y_label_area_size(36)
        .build_cartesian_2d(xr, yr)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .axis_style(MUTED)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FAMILY, 13).into_font().color(&MUTED))
        .draw()?;
    // Where the points started, faintly, then the true centroids, then the
    // current positions on top (they end as one dot per cluster on its X).
    chart.draw_series(
        data.points
            .rows()
            .zip(fit.labels())
            .map(|(p, &l)| Circle::new((p[0], p[1]), 2, colour(l).mix(0.15).filled())),
    )?;
    chart.draw_series(
        data.centroids
            .rows()
            .map(|r| Cross::new((r[0], r[1]), 9, MUTED.stroke_width(2))),
    )?;
    chart.draw_series(
        positions
            .chunks_exact(2)
            .zip(fit.labels())
            .map(|(p, &l)| Circle::new((p[0], p[1]), 4, colour(l).filled())),
    )?;
    root.present()?;
    Ok(())
}
