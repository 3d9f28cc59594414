//! Mean shift's grid method against dense sums, time against N at D = 2,
//! on the CPU twin or a GPU, as a markdown table.
//!
//! ```text
//! cargo run --release --example grid_scaling -- [--backend cpu|gpu]
//!     [--n 10000,30000,100000,300000,1000000]
//!     [--dense-max-n 100000] [--reps 3] [--bandwidth 2.5] [--flat-bandwidth 2.5]
//!     [--cutoff 3] [--seed 1] [--out FILE]
//! ```
//!
//! Dense sums cost N² per iteration; the grid's cost N x (points within
//! the kernel's support). So the data keep their density as N grows: blobs
//! of 2500 points (std `sqrt(5)`, the reference's), `N / 2500` of them,
//! centroids uniform in `[-spread, spread]^2` with `spread = 35 *
//! sqrt(blobs / 6)`, which keeps the reference's area per blob (6 blobs in
//! `[-35, 35]^2`). Each point then has a bounded number of neighbours at
//! every N (about a blob's worth), and the grid's time should grow like N
//! where the dense time grows like N².
//!
//! Workloads, each timed with `Method::Dense` and `Method::Grid`:
//! - A: blurring mean shift, gaussian kernel, 5 iterations
//!   (`MeanShift::new(h).blurring(5)`), the grid cutting the gaussian at
//!   `c * h` (`--cutoff`, 3 by default): an approximation, so its labels
//!   are compared with dense's by the adjusted Rand index (ARI);
//! - B: standard mean shift (scikit-learn's), flat kernel, bin seeding,
//!   where the grid gives the dense result exactly (ARI 1).
//!
//! Dense runs only up to `--dense-max-n` points. A measurement is a first
//! run and, where that took under 5 s, `--reps` more timed after it (the
//! first then a warm-up); the median is reported. ARI against the blobs'
//! true labels is there for context (touching blobs merge, so it is below 1
//! for both methods). `--backend gpu` times `Context::gpu()`, whatever
//! adapter that opens; the table's head names it and says when it is a
//! software rasteriser, whose timings are not GPU timings.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use gpu_cluster::meanshift::Method;
use gpu_cluster::{Blobs, Context, Kernel, MeanShift, MeanShiftFit, Points};

/// Points per blob.
const PER_BLOB: usize = 2500;
/// A first run longer than this is the measurement's only run.
const SLOW_S: f64 = 5.0;

#[derive(Parser, Debug)]
#[command(about = "Times mean shift's grid against dense sums as N grows, density fixed")]
struct Args {
    /// Numbers of points (rounded to whole blobs of 2500).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10000,30000,100000,300000,1000000"
    )]
    n: Vec<usize>,
    /// Run dense sums only up to this many points (they cost N²).
    #[arg(long, default_value_t = 100_000)]
    dense_max_n: usize,
    /// Timed runs after the warm-up, where the first run was quick.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Bandwidth of workload A (gaussian blurring).
    #[arg(long, default_value_t = 2.5)]
    bandwidth: f32,
    /// Bandwidth of workload B (flat standard mean shift).
    #[arg(long, default_value_t = 2.5)]
    flat_bandwidth: f32,
    /// Where the grid cuts the gaussian, in bandwidths.
    #[arg(long, default_value_t = 3.0)]
    cutoff: f32,
    /// Seed of the blobs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the markdown there.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The context timed: the CPU twin or `Context::gpu()`.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    backend: Backend,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Cpu,
    Gpu,
}

/// The context for `backend`, and how the table's head describes it.
fn context(backend: Backend) -> Result<(Context, String), Box<dyn Error>> {
    Ok(match backend {
        Backend::Cpu => {
            let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
            (
                Context::cpu(),
                format!("CPU twin timings (`Context::cpu()`, {cores} threads), not GPU timings."),
            )
        }
        Backend::Gpu => {
            let ctx = Context::gpu()?;
            let name = ctx.adapter_info().map_or_else(
                || "unknown adapter".to_string(),
                |i| format!("{} ({:?})", i.name, i.backend),
            );
            let what = if ctx.is_software() {
                format!(
                    "`Context::gpu()` on {name}: a software rasteriser on the CPU, so these are not GPU timings."
                )
            } else {
                format!("`Context::gpu()` on {name}.")
            };
            (ctx, what)
        }
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    ari_self_check();
    let args = Args::parse();
    if args.reps == 0 {
        return Err("--reps must be >= 1".into());
    }
    let (ctx, backend) = context(args.backend)?;
    let load_before = load_average();
    let workloads = [
        (
            format!(
                "A: blurring, gaussian, 5 iterations, h = {}, grid cut at {} h",
                args.bandwidth, args.cutoff
            ),
            MeanShift::new(args.bandwidth)
                .blurring(5)
                .gaussian_cutoff(Some(args.cutoff)),
        ),
        (
            format!(
                "B: standard (scikit-learn), flat, bin seeding, h = {}",
                args.flat_bandwidth
            ),
            MeanShift::new(args.flat_bandwidth)
                .kernel(Kernel::Flat)
                .bin_seeding(true),
        ),
    ];
    let mut md = String::new();
    for (title, ms) in &workloads {
        eprintln!("{title}");
        writeln!(md, "\n### {title}\n")?;
        writeln!(
            md,
            "| N | blobs | grid s | dense s | speed-up | clusters grid / dense | \
             ARI grid vs dense | ARI vs truth grid / dense |"
        )?;
        writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for &n in &args.n {
            let blobs = (n / PER_BLOB).max(1);
            let data = Blobs {
                clusters: blobs,
                per_cluster: PER_BLOB,
                dim: 2,
                seed: args.seed,
                spread: 35.0 * (blobs as f32 / 6.0).sqrt(),
                std: 5.0f32.sqrt(),
            }
            .generate()?;
            let truth: Vec<i64> = data.labels.iter().map(|&l| l as i64).collect();
            let n = data.points.len();
            let (grid_s, grid) = time(
                &ctx,
                &ms.clone().method(Method::Grid),
                &data.points,
                args.reps,
            )?;
            if grid.method() != Method::Grid {
                return Err(format!("N = {n}: the grid did not apply (fell back to dense)").into());
            }
            let grid_labels = labels(&grid);
            let dense = if n <= args.dense_max_n {
                Some(time(
                    &ctx,
                    &ms.clone().method(Method::Dense),
                    &data.points,
                    args.reps,
                )?)
            } else {
                None
            };
            let row = match &dense {
                Some((dense_s, dense)) => {
                    let dense_labels = labels(dense);
                    format!(
                        "| {n} | {blobs} | {grid_s:.3} | {dense_s:.3} | {:.1}x | {} / {} | {} | {:.4} / {:.4} |",
                        dense_s / grid_s,
                        grid.n_clusters(),
                        dense.n_clusters(),
                        if grid_labels == dense_labels {
                            "1 (identical)".to_string()
                        } else {
                            format!("{:.4}", ari(&grid_labels, &dense_labels))
                        },
                        ari(&grid_labels, &truth),
                        ari(&dense_labels, &truth),
                    )
                }
                None => format!(
                    "| {n} | {blobs} | {grid_s:.3} | skipped (N²) | - | {} / - | - | {:.4} / - |",
                    grid.n_clusters(),
                    ari(&grid_labels, &truth),
                ),
            };
            eprintln!("{row}");
            writeln!(md, "{row}")?;
        }
    }
    let command: Vec<String> = std::env::args().skip(1).collect();
    let head = format!(
        "## Mean shift: grid against dense, D = 2, density fixed\n\n\
         {backend}\n\
         Command: `cargo run --release --example grid_scaling -- {}`.\n\
         Load average (1, 5, 15 min) before: {load_before}; after: {}.\n\
         Blobs of {PER_BLOB} points, std sqrt(5), spread 35 sqrt(blobs / 6), seed {}; \
         seconds are medians of {} runs after a warm-up where the first run took < {SLOW_S} s, \
         else that one run.\n",
        command.join(" "),
        load_average(),
        args.seed,
        args.reps,
    );
    let md = head + &md;
    print!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md)?;
        eprintln!("\nwrote {}", std::path::absolute(out)?.display());
    }
    Ok(())
}

/// Fits `ms`: the first run alone where it took [`SLOW_S`] or more, else
/// the median of `reps` runs after it. Seconds and the last fit.
fn time(
    ctx: &Context,
    ms: &MeanShift,
    x: &Points,
    reps: usize,
) -> Result<(f64, MeanShiftFit), Box<dyn Error>> {
    let run = || -> Result<(f64, MeanShiftFit), Box<dyn Error>> {
        let start = Instant::now();
        let fit = ms.fit(ctx, x)?;
        Ok((start.elapsed().as_secs_f64(), fit))
    };
    let (first, mut fit) = run()?;
    if first >= SLOW_S {
        return Ok((first, fit));
    }
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (s, f) = run()?;
        times.push(s);
        fit = f;
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], fit))
}

/// The load average from `/proc/loadavg` (Linux), or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "),
    )
}

fn labels(fit: &MeanShiftFit) -> Vec<i64> {
    fit.labels().iter().map(|&l| i64::from(l)).collect()
}

/// The adjusted Rand index of two labellings (Hubert and Arabie): pair
/// counts over the contingency table, in `f64`. 1 where both are a single
/// cluster or all singletons (scikit-learn's convention).
fn ari(a: &[i64], b: &[i64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let pairs = |n: u64| (n * n.saturating_sub(1)) as f64 / 2.0;
    let mut table: HashMap<(i64, i64), u64> = HashMap::new();
    let mut rows: HashMap<i64, u64> = HashMap::new();
    let mut cols: HashMap<i64, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = table.values().map(|&n| pairs(n)).sum();
    let sum_a: f64 = rows.values().map(|&n| pairs(n)).sum();
    let sum_b: f64 = cols.values().map(|&n| pairs(n)).sum();
    let expected = sum_a * sum_b / pairs(a.len() as u64);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// [`ari`] on hand-computed cases (checked at start-up).
fn ari_self_check() {
    let cases: [(&[i64], &[i64], f64); 4] = [
        // Relabelled: the same partition.
        (&[0, 0, 1, 1], &[1, 1, 0, 0], 1.0),
        // Index 2, sums 6 and 3, 15 pairs: (2 - 1.2) / (4.5 - 1.2) = 8/33.
        (&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2], 8.0 / 33.0),
        // Index 1, sums 1 and 2, 6 pairs: (1 - 1/3) / (1.5 - 1/3) = 4/7.
        (&[0, 0, 1, 2], &[0, 0, 1, 1], 4.0 / 7.0),
        // Crossed: index 0, sums 2 and 2: (0 - 2/3) / (2 - 2/3) = -1/2.
        (&[0, 0, 1, 1], &[0, 1, 0, 1], -0.5),
    ];
    for (a, b, want) in cases {
        let got = ari(a, b);
        assert!(
            (got - want).abs() < 1e-12,
            "ari({a:?}, {b:?}) = {got}, want {want}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ari_hand_cases() {
        super::ari_self_check();
    }
}
