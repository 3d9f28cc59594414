//! Our side of the peer benchmark (`bench/run` drives it): writes the data
//! files the peers read and times this crate's backends on them, printing
//! one JSON line per data file and per measurement on stdout.
//!
//! ```text
//! cargo run --release --example bench -- [--n 1500,5000,15000] [--d 2]
//!     [--kernels gaussian] [--modes blurring,blur1,standard,standard-bin]
//!     [--iterations 5] [--bandwidth 2.5] [--reps 3] [--warmup 1]
//!     [--distances direct] [--backends gpu,cpu] [--software-max-n 5000]
//!     [--gpu-max-n N]
//!     [--cpu-max-n N] [--time-budget S] [--require-hardware]
//!     [--data-dir bench/data] [--data-only] [--probe]
//!     [--knn-data X.npy --knn-queries Q.npy] [--knn-k 10]
//!     [--knn-recall-queries 100]
//!     [--kmeans-data X.npy --kmeans-init C.npy] [--kmeans-max-iter 50]
//!     [--dbscan-data X.npy] [--dbscan-eps 0.3] [--dbscan-min-samples 10]
//!     [--dbscan-labels PREFIX] [--round R]
//! ```
//!
//! Data: for every N in `--n` and D in `--d`, blobs of 250 points each
//! (`N / 250` blobs, so density stays fixed as N grows: the centroid cube's
//! side grows with the number of blobs), per-coordinate standard deviation
//! `sqrt(5 * 2 / D)` so a blob has the same radius in every D and the
//! bandwidth sees the same neighbourhoods. N = 1500, D = 2 is exactly the
//! reference workload (`Blobs::default()`). Each set is written to
//! `DATA_DIR/blobs_n{N}_d{D}.npy` (float32, C order) and announced by a
//! `{"kind":"data",...}` line.
//!
//! Modes, each a `{"kind":"ours",...}` line per backend:
//! - `blurring`: `MeanShift::new(h).kernel(k).blurring(iterations)` fit
//!   (upload, iterations, readback, merging and labelling);
//! - `blur1`: one blurring iteration, `meanshift::blur(.., 1)`;
//! - `standard`: scikit-learn's mean shift, flat kernel, every point a seed;
//! - `standard-bin`: the same with bin seeding;
//! - `knn`: exact k-nearest neighbours (`--modes knn`, alone or with the
//!   others): `NearestNeighbors::new().metric(Metric::SqEuclidean)
//!   .fit(ctx, &data)?.kneighbors(Some(&queries), k)`, index build and
//!   search in every timed run (what faiss's `IndexFlatL2` + `add` +
//!   `search` does). It does not use the blob sets: it reads the float32
//!   `.npy` files `--knn-data` (N x D) and `--knn-queries` (Q x D) that
//!   `bench/peers/knn_peers.py` wrote and times, so both sides time the same
//!   bytes. Its line (`"workload":"knn"`) gives seconds, queries/s and pair
//!   evaluations/s (N x Q / s), each array's fingerprint (shape and the
//!   wrapping sum of `(i + 1) * bits[i]` over its `f32` bit patterns, as
//!   `knn_peers.py` computes it), and recall@k against an exact `f64`
//!   answer (direct differences, ties by lower index) on
//!   `--knn-recall-queries` evenly spaced queries, computed untimed before
//!   any timing. Every timed run builds a new index, so on a GPU each one
//!   uploads the data (as the PyTorch peer does); `first_s` is the first
//!   call's time (the warm-up's), which on a GPU also builds the pipelines.
//!   `--round R` puts `"round":R` on the line (`bench/run` interleaves ours
//!   and the peers in rounds).
//! - `kmeans`: k-means, Lloyd's iterations from given initial centres
//!   (`--modes kmeans`): `KMeans::new(k).init(KMeansInit::Given(c))
//!   .max_iter(M).tol(0.0).fit(ctx, &data)`, M = `--kmeans-max-iter`, so it
//!   runs M iterations unless no label changes before (strict convergence,
//!   as scikit-learn stops with `tol=0`). Like `knn` it reads the float32
//!   `.npy` files that `bench/peers/kmeans_peers.py` wrote, the points
//!   (`--kmeans-data`, N x D) and the initial centres (`--kmeans-init`,
//!   k x D), and its peers start from the same centres on the same bytes.
//!   Its line (`"workload":"kmeans"`) gives seconds per fit (host points to
//!   host centres and labels), the iterations run and seconds per
//!   iteration, both arrays' fingerprints, and the final inertia
//!   recomputed untimed in `f64` from the fit's centres and labels, as
//!   `kmeans_peers.py` does for every peer (`own_inertia` is the fit's
//!   own `inertia()`), so the table can show both sides did the same work.
//!   `first_s` and `--round` as for `knn`.
//! - `dbscan`: DBSCAN (`--modes dbscan`): `Dbscan::new(eps, min_samples)
//!   .fit(ctx, &data)`, eps = `--dbscan-eps`, min_samples =
//!   `--dbscan-min-samples`. It reads the float32 `.npy` file that
//!   `bench/peers/dbscan_peers.py` wrote (`--dbscan-data`, N x D), which its
//!   peers fit too. Its line (`"workload":"dbscan"`) gives seconds per fit
//!   (host points to host labels, the neighbour index built in each), the
//!   clusters, noise points and core points found, and the data's
//!   fingerprint. With `--dbscan-labels PREFIX` it also writes the last
//!   fit's labels, untimed, to `PREFIX-{backend}.npy` (int32, `cpu` or
//!   `gpu`), which `dbscan_peers.py` compares with scikit-learn's.
//!   `first_s` and `--round` as for `knn`.
//!
//! `--kernels` applies to the blurring modes; standard modes use
//! `--standard-kernel` (flat, the only kernel scikit-learn has).
//!
//! Backends: `gpu` is whatever adapter `Context::gpu()` opens (any, software
//! included, honouring `WGPU_BACKEND`); a software adapter is marked
//! `"software":true` (its timings say nothing about GPUs) and skipped above
//! `--software-max-n` points (data points N, for `knn`). `cpu` is the CPU
//! twin. Each measurement is `--warmup` untimed runs, then `--reps` timed
//! ones (fewer where `--time-budget` seconds of timed runs are used up
//! first; at least one);
//! the median is reported. A GPU context keeps the dataset resident between
//! runs, as it would for a user repeating fits. Every `ours` line also
//! gives `gpu_ms`: the kernel time per timed rep that the device itself
//! measured (`Context::gpu_time`, from timestamps around each compute
//! pass), so that wall time splits into kernels and overhead (uploads,
//! submission, waiting, readback); `null` on the CPU and on adapters
//! without timestamp queries.
//!
//! Each backend is opened before any data is made, and described by a
//! `{"kind":"adapter",...}` line (name, vendor, device type, driver) and a
//! line on stderr. With `--require-hardware`, a software adapter (or none)
//! for the `gpu` backend is refused with an error before anything is timed:
//! for runs whose figures must come from a real GPU. `--probe` opens the
//! GPU, prints its adapter line and exits (non-zero where no adapter opens,
//! or where `--require-hardware` refuses it).

use std::cell::RefCell;
use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use gpu_cluster::meanshift::{Distances, Method};
use gpu_cluster::{
    Blobs, Context, Dbscan, DbscanFit, GpuOptions, KMeans, KMeansFit, KMeansInit, Kernel,
    MeanShift, Metric, NearestNeighbors, Neighbors, Points, meanshift,
};
use npyz::{DType, Endianness, NpyFile, Order, TypeChar, WriterBuilder};

/// Points per blob: the reference workload's.
const PER_BLOB: usize = 250;
/// Blobs in the reference workload.
const REF_BLOBS: usize = 6;

#[derive(Parser, Debug)]
#[command(about = "Times this crate's mean shift on blobs and writes the data for the peers")]
struct Args {
    /// Numbers of points (rounded to a multiple of 250 blobs' points).
    #[arg(long, value_delimiter = ',', default_value = "1500,5000,15000")]
    n: Vec<usize>,
    /// Dimensions.
    #[arg(long, value_delimiter = ',', default_value = "2")]
    d: Vec<usize>,
    /// Kernels for the blurring modes.
    #[arg(long, value_delimiter = ',', default_value = "gaussian")]
    kernels: Vec<Kernel>,
    /// Kernel for the standard modes.
    #[arg(long, default_value = "flat")]
    standard_kernel: Kernel,
    /// Modes: blurring, blur1, standard, standard-bin, knn, kmeans, dbscan.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "blurring,blur1,standard,standard-bin"
    )]
    modes: Vec<String>,
    /// Mean shift's distance formulations (`MeanShift::distances`):
    /// direct, expanded; each mean-shift measurement runs once per entry.
    /// An expanded `blur1` goes through a one-iteration blurring fit (its
    /// merging and labelling included), as `meanshift::blur` has no such
    /// option.
    #[arg(long, value_delimiter = ',', default_value = "direct")]
    distances: Vec<String>,
    /// Blurring iterations of the `blurring` mode.
    #[arg(long, default_value_t = 5)]
    iterations: usize,
    /// Bandwidth.
    #[arg(long, default_value_t = 2.5)]
    bandwidth: f32,
    /// Timed repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Backends: gpu, cpu.
    #[arg(long, value_delimiter = ',', default_value = "gpu,cpu")]
    backends: Vec<String>,
    /// On a software adapter, skip data sets larger than this.
    #[arg(long, default_value_t = 5000)]
    software_max_n: usize,
    /// On any GPU adapter, skip data sets larger than this (none skipped by
    /// default).
    #[arg(long)]
    gpu_max_n: Option<usize>,
    /// On the CPU twin, skip data sets larger than this (none skipped by
    /// default).
    #[arg(long)]
    cpu_max_n: Option<usize>,
    /// Stop adding timed repetitions to a measurement once its timed runs
    /// took this many seconds in all (at least one runs).
    #[arg(long)]
    time_budget: Option<f64>,
    /// Refuse a software GPU adapter (or none): exit with an error before
    /// timing anything.
    #[arg(long)]
    require_hardware: bool,
    /// Open the GPU with `GpuOptions::trusted_shaders`: the audited stages
    /// built without wgpu's runtime checks (the device run's A/B).
    #[arg(long)]
    trusted_shaders: bool,
    /// Open the GPU, print its adapter line and exit.
    #[arg(long)]
    probe: bool,
    /// Where the .npy data files go.
    #[arg(long, default_value = "bench/data")]
    data_dir: PathBuf,
    /// Only write the data files; time nothing.
    #[arg(long)]
    data_only: bool,
    /// The `knn` mode's data: an N x D float32 .npy file.
    #[arg(long)]
    knn_data: Option<PathBuf>,
    /// The `knn` mode's queries: a Q x D float32 .npy file.
    #[arg(long)]
    knn_queries: Option<PathBuf>,
    /// Neighbours per query in the `knn` mode.
    #[arg(long, default_value_t = 10)]
    knn_k: usize,
    /// Queries checked against an exact f64 answer in the `knn` mode.
    #[arg(long, default_value_t = 100)]
    knn_recall_queries: usize,
    /// The `kmeans` mode's points: an N x D float32 .npy file.
    #[arg(long)]
    kmeans_data: Option<PathBuf>,
    /// The `kmeans` mode's initial centres: a k x D float32 .npy file.
    #[arg(long)]
    kmeans_init: Option<PathBuf>,
    /// Lloyd iterations of the `kmeans` mode (at most: tol is 0, so fewer
    /// only on strict convergence).
    #[arg(long, default_value_t = 50)]
    kmeans_max_iter: usize,
    /// The `dbscan` mode's points: an N x D float32 .npy file.
    #[arg(long)]
    dbscan_data: Option<PathBuf>,
    /// The `dbscan` mode's neighbourhood radius.
    #[arg(long, default_value_t = 0.3)]
    dbscan_eps: f32,
    /// The `dbscan` mode's core-point threshold (neighbours, self included).
    #[arg(long, default_value_t = 10)]
    dbscan_min_samples: usize,
    /// Write the `dbscan` mode's labels to PREFIX-{backend}.npy (int32).
    #[arg(long)]
    dbscan_labels: Option<String>,
    /// A round number put on the `knn`, `kmeans` and `dbscan` lines
    /// (bench/run's interleaving).
    #[arg(long)]
    round: Option<usize>,
}

const MODES: [&str; 7] = [
    "blurring",
    "blur1",
    "standard",
    "standard-bin",
    "knn",
    "kmeans",
    "dbscan",
];

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    if let Some(m) = args.modes.iter().find(|m| !MODES.contains(&m.as_str())) {
        return Err(format!("unknown mode {m:?}: use {}", MODES.join(", ")).into());
    }
    if args.reps == 0 {
        return Err("--reps must be >= 1".into());
    }
    if let Some(b) = args.time_budget.filter(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(format!("--time-budget must be a positive number of seconds, got {b}").into());
    }

    if args.probe {
        return match open_gpu(args)? {
            Some(_) => Ok(()),
            None => Err("no GPU adapter opened".into()),
        };
    }
    let meanshift_modes: Vec<&String> = args
        .modes
        .iter()
        .filter(|m| !matches!(m.as_str(), "knn" | "kmeans" | "dbscan"))
        .collect();
    let wants_knn = args.modes.iter().any(|m| m == "knn");
    let wants_kmeans = args.modes.iter().any(|m| m == "kmeans");
    if wants_kmeans && (args.kmeans_data.is_none() || args.kmeans_init.is_none()) {
        return Err(
            "--modes kmeans needs --kmeans-data and --kmeans-init (float32 .npy files: \
                    bench/peers/kmeans_peers.py --data-only --save-dir DIR writes them)"
                .into(),
        );
    }
    let distances = args
        .distances
        .iter()
        .map(|d| match d.as_str() {
            "direct" => Ok((Distances::Direct, "direct")),
            "expanded" => Ok((Distances::Expanded, "expanded")),
            _ => Err(format!("unknown --distances {d:?}: use direct or expanded")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let wants_dbscan = args.modes.iter().any(|m| m == "dbscan");
    if wants_dbscan && args.dbscan_data.is_none() {
        return Err("--modes dbscan needs --dbscan-data (a float32 .npy file: \
                    bench/peers/dbscan_peers.py --data-only --save-dir DIR writes it)"
            .into());
    }
    if args.kmeans_max_iter == 0 {
        return Err("--kmeans-max-iter must be >= 1".into());
    }
    if wants_knn && (args.knn_data.is_none() || args.knn_queries.is_none()) {
        return Err(
            "--modes knn needs --knn-data and --knn-queries (float32 .npy files: \
                    bench/peers/knn_peers.py --data-only --save-dir DIR writes them)"
                .into(),
        );
    }

    // Every backend first, so a refused adapter costs no data and no time.
    let mut contexts = Vec::new();
    if !args.data_only {
        for backend in &args.backends {
            match backend.as_str() {
                "cpu" => {
                    let ctx = Context::cpu();
                    adapter_line("cpu", &ctx);
                    contexts.push(("cpu", ctx));
                }
                "gpu" => {
                    if let Some(ctx) = open_gpu(args)? {
                        contexts.push(("gpu", ctx));
                    }
                }
                other => return Err(format!("unknown backend {other:?}: use gpu or cpu").into()),
            }
        }
    }

    // The kNN arrays (and their exact answer on a subset) after the
    // backends too, then the mean-shift data sets.
    let knn = if wants_knn && !args.data_only {
        Some(KnnData::load(args)?)
    } else {
        None
    };
    let kmeans = if wants_kmeans && !args.data_only {
        Some(KMeansData::load(args)?)
    } else {
        None
    };
    let dbscan = match &args.dbscan_data {
        Some(file) if wants_dbscan && !args.data_only => Some(read_npy_f32(file)?),
        _ => None,
    };
    let mut sets = Vec::new();
    let ms_dims: &[usize] = if meanshift_modes.is_empty() {
        &[]
    } else {
        std::fs::create_dir_all(&args.data_dir)?;
        &args.d
    };
    for &d in ms_dims {
        for &n in &args.n {
            let (points, blobs) = data(n, d)?;
            let file = args
                .data_dir
                .join(format!("blobs_n{}_d{d}.npy", points.len()));
            write_npy(&file, &points)?;
            let mut line = Json::new("data");
            line.str("file", &file.display().to_string())
                .num("n", points.len())
                .num("d", d)
                .num("blobs", blobs)
                .float("bandwidth", f64::from(args.bandwidth));
            println!("{}", line.finish());
            sets.push((file, points));
        }
    }
    if args.data_only {
        return Ok(());
    }

    for (backend, ctx) in &contexts {
        let backend = *backend;
        for (file, x) in &sets {
            if let Some(reason) = too_big(args, backend, ctx, x.len()) {
                let mut line = Json::new("skip");
                line.str("backend", backend)
                    .str("adapter", &ctx.to_string())
                    .num("n", x.len())
                    .num("d", x.dim())
                    .str("reason", &reason);
                println!("{}", line.finish());
                continue;
            }
            for &mode in &meanshift_modes {
                let kernels = if mode.starts_with("standard") {
                    vec![args.standard_kernel]
                } else {
                    args.kernels.clone()
                };
                for (kernel, &(distances, distances_name)) in kernels
                    .iter()
                    .flat_map(|&k| distances.iter().map(move |d| (k, d)))
                {
                    let m = match measure(args, ctx, x, mode, kernel, distances) {
                        Ok(m) => m,
                        Err(e) => {
                            // A workload this data cannot run (e.g. bin
                            // seeding with no point near any bin): say so
                            // and go on with the others.
                            let mut line = Json::new("error");
                            line.str("backend", backend)
                                .str("adapter", &ctx.to_string())
                                .num("n", x.len())
                                .num("d", x.dim())
                                .str("kernel", kernel.name())
                                .str("mode", mode)
                                .str("distances", distances_name)
                                .str("error", &e.to_string());
                            println!("{}", line.finish());
                            continue;
                        }
                    };
                    let mut line = Json::new("ours");
                    line.str("backend", backend)
                        .str("adapter", &ctx.to_string())
                        .bool("software", ctx.is_software())
                        .str("file", &file.display().to_string())
                        .num("n", x.len())
                        .num("d", x.dim())
                        .str("kernel", kernel.name())
                        .str("mode", mode)
                        .str("distances", distances_name)
                        .float("bandwidth", f64::from(args.bandwidth))
                        .num("iterations", m.iterations)
                        .num("reps", m.times_ms.len())
                        .num("reps_asked", args.reps)
                        .num("warmup", args.warmup)
                        .float("median_ms", median(&m.times_ms))
                        .float(
                            "min_ms",
                            m.times_ms.iter().copied().fold(f64::INFINITY, f64::min),
                        )
                        .floats("times_ms", &m.times_ms)
                        .opt_float("gpu_ms", m.gpu_ms)
                        .opt_num("clusters", m.clusters)
                        .opt_num("pair_evals", m.pair_evals);
                    println!("{}", line.finish());
                }
            }
        }
        if let Some(kd) = &knn {
            knn_run(args, backend, ctx, kd);
        }
        if let Some(km) = &kmeans {
            kmeans_run(args, backend, ctx, km);
        }
        if let Some(db) = &dbscan {
            dbscan_run(args, backend, ctx, db);
        }
        // The launch shapes the GPU chose (timed on hardware adapters).
        for shape in ctx.tuned_shapes() {
            let mut line = Json::new("shape");
            line.str("backend", backend)
                .str("adapter", &ctx.to_string())
                .num("d", shape.dim)
                .str("op", shape.op)
                .str("variant", &shape.variant)
                .num("max_queries", shape.max_queries)
                .num("workgroup", shape.workgroup as usize)
                .num("queries_per_thread", shape.queries_per_thread as usize)
                .num("tile_rows", shape.tile_rows as usize)
                .str("shape", &shape.to_string());
            println!("{}", line.finish());
            eprintln!("bench: {backend}: launch shape {shape}");
        }
    }
    Ok(())
}

/// Why `backend` is not run on `n` data points, if it is not: a software
/// adapter above `--software-max-n`, or `--gpu-max-n` / `--cpu-max-n`.
fn too_big(args: &Args, backend: &str, ctx: &Context, n: usize) -> Option<String> {
    if ctx.is_software() && n > args.software_max_n {
        return Some(format!(
            "software adapter, N > --software-max-n {}",
            args.software_max_n
        ));
    }
    let (max, flag) = match backend {
        "gpu" => (args.gpu_max_n, "--gpu-max-n"),
        _ => (args.cpu_max_n, "--cpu-max-n"),
    };
    max.filter(|&max| n > max)
        .map(|max| format!("N > {flag} {max}"))
}

/// Opens the GPU backend and describes it (a JSON line and a line on
/// stderr). `None` (after a `skip` line) where no adapter opens; an error
/// where `--require-hardware` refuses what opened, or finds nothing.
fn open_gpu(args: &Args) -> Result<Option<Context>, Box<dyn Error>> {
    let options = GpuOptions {
        trusted_shaders: args.trusted_shaders,
        ..GpuOptions::default()
    };
    let ctx = match Context::gpu_with(&options) {
        Ok(ctx) => ctx,
        Err(e) => {
            if args.require_hardware {
                return Err(refusal(&format!("no GPU adapter opened: {e}")).into());
            }
            let mut line = Json::new("skip");
            line.str("backend", "gpu")
                .str("reason", &format!("no GPU adapter: {e}"));
            println!("{}", line.finish());
            eprintln!("bench: gpu: no adapter: {e}");
            return Ok(None);
        }
    };
    adapter_line("gpu", &ctx);
    if args.require_hardware && ctx.is_software() {
        return Err(refusal(&format!("the GPU adapter is a software one: {ctx}")).into());
    }
    Ok(Some(ctx))
}

/// The loud message of `--require-hardware`.
fn refusal(what: &str) -> String {
    format!(
        "REFUSED (--require-hardware): {what}.\n\
         bench: its timings would not be GPU figures; nothing was timed.\n\
         bench: check the vendor's Vulkan driver (VK_DRIVER_FILES, WGPU_BACKEND, \
         a libvulkan.so.1 loader), or drop --require-hardware to time it anyway \
         (rows are then marked software)."
    )
}

/// A `{"kind":"adapter",...}` line describing one backend, and a line on
/// stderr saying which adapter the timings come from.
fn adapter_line(backend: &str, ctx: &Context) {
    let mut line = Json::new("adapter");
    line.str("backend", backend)
        .str("adapter", &ctx.to_string())
        .bool("software", ctx.is_software());
    if let Some(info) = ctx.adapter_info() {
        line.str("name", &info.name)
            .str("vendor", &format!("{:#06x}", info.vendor))
            .str("device", &format!("{:#06x}", info.device))
            .str("device_type", &format!("{:?}", info.device_type))
            .str("driver", &info.driver)
            .str("driver_info", &info.driver_info)
            .str("api", &info.backend.to_string());
    }
    println!("{}", line.finish());
    let note = if ctx.is_software() {
        " (SOFTWARE adapter: its timings are not GPU figures)"
    } else {
        ""
    };
    eprintln!("bench: {backend}: {ctx}{note}");
}

/// `n` points (rounded to whole blobs) in `dim` dimensions at the reference
/// workload's density; N = 1500, D = 2 is the reference workload itself.
fn data(n: usize, dim: usize) -> Result<(Points, usize), Box<dyn Error>> {
    if dim == 0 {
        return Err("--d must be >= 1".into());
    }
    let blobs = (n as f64 / PER_BLOB as f64).round().max(1.0) as usize;
    let reference = Blobs::default();
    let spec = Blobs {
        clusters: blobs,
        per_cluster: PER_BLOB,
        dim,
        std: if dim == 2 {
            reference.std
        } else {
            (5.0f32 * 2.0 / dim as f32).sqrt()
        },
        spread: if blobs == REF_BLOBS && dim == 2 {
            reference.spread
        } else {
            // Same volume per blob as the reference workload's 6 blobs in
            // [-35, 35]^2, i.e. the same density in 2-D; the side grows as
            // blobs^(1/D).
            (f64::from(reference.spread) * (blobs as f64 / REF_BLOBS as f64).powf(1.0 / dim as f64))
                as f32
        },
        ..reference
    };
    Ok((spec.generate()?.points, blobs))
}

fn write_npy(path: &Path, x: &Points) -> Result<(), Box<dyn Error>> {
    write_npy_of(path, &[x.len() as u64, x.dim() as u64], x.as_slice())
}

/// `values` (C order, `shape`) as a .npy file of npyz's default dtype for
/// `T` (`<f4` for the points, `<i4` for the `dbscan` mode's labels).
fn write_npy_of<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    values: &[T],
) -> Result<(), Box<dyn Error>> {
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(BufWriter::new(File::create(path)?))
        .begin_nd()?;
    w.extend(values.iter().copied())?;
    w.finish()?;
    Ok(())
}

struct Measured {
    times_ms: Vec<f64>,
    /// Mean device-measured kernel time of a timed rep, where the adapter
    /// has timestamp queries.
    gpu_ms: Option<f64>,
    clusters: Option<usize>,
    iterations: usize,
    pair_evals: Option<u64>,
}

/// Warm-up runs, then timed ones, of one mode on one backend.
fn measure(
    args: &Args,
    ctx: &Context,
    x: &Points,
    mode: &str,
    kernel: Kernel,
    distances: Distances,
) -> Result<Measured, Box<dyn Error>> {
    let h = args.bandwidth;
    let n2 = (x.len() as u64) * (x.len() as u64);
    let once = || -> Result<(Option<usize>, usize), Box<dyn Error>> {
        Ok(match mode {
            "blurring" => {
                let fit = MeanShift::new(h)
                    .kernel(kernel)
                    .distances(distances)
                    .blurring(args.iterations)
                    .fit(ctx, x)?;
                (Some(fit.n_clusters()), fit.n_iter())
            }
            "blur1" if distances != Distances::Direct => {
                let fit = MeanShift::new(h)
                    .kernel(kernel)
                    .distances(distances)
                    .method(Method::Dense)
                    .blurring(1)
                    .fit(ctx, x)?;
                std::hint::black_box(fit);
                (None, 1)
            }
            "blur1" => {
                let moved = meanshift::blur(ctx, x, kernel, h, 1)?;
                std::hint::black_box(moved);
                (None, 1)
            }
            _ => {
                let fit = MeanShift::new(h)
                    .kernel(kernel)
                    .distances(distances)
                    .bin_seeding(mode == "standard-bin")
                    .fit(ctx, x)?;
                (Some(fit.n_clusters()), fit.n_iter())
            }
        })
    };
    let clock = KernelClock::new(ctx);
    let (times, _, (clusters, iterations)) = timed_runs(args, || clock.time(once))?;
    let gpu_ms = clock.mean_ms(times.len());
    let times_ms = times.iter().map(|t| t * 1e3).collect();
    // Nominal pair evaluations: N^2 per blurring iteration (what the peers'
    // batched blurring computes too). Standard mode's depends on how long
    // each seed climbs, which a fit does not report: none given.
    let pair_evals = match mode {
        "blurring" => Some(n2 * args.iterations as u64),
        "blur1" => Some(n2),
        _ => None,
    };
    Ok(Measured {
        times_ms,
        gpu_ms,
        clusters,
        iterations,
        pair_evals,
    })
}

/// The `knn` workload's arrays, as `knn_peers.py` wrote them, and the exact
/// answer on a subset of the queries (computed once, untimed).
struct KnnData {
    data_file: PathBuf,
    query_file: PathBuf,
    x: Points,
    q: Points,
    data_fingerprint: String,
    queries_fingerprint: String,
    k: usize,
    /// The checked queries (evenly spaced) ...
    subset: Vec<usize>,
    /// ... their exact k nearest (row-major, subset x k) ...
    exact: Vec<u32>,
    /// ... and those neighbours' squared distances in f64.
    exact_d2: Vec<f64>,
}

impl KnnData {
    fn load(args: &Args) -> Result<Self, Box<dyn Error>> {
        let (Some(data_file), Some(query_file)) = (&args.knn_data, &args.knn_queries) else {
            return Err("--modes knn needs --knn-data and --knn-queries".into());
        };
        let (x, data_fingerprint) = read_npy_f32(data_file)?;
        let (q, queries_fingerprint) = read_npy_f32(query_file)?;
        if x.dim() != q.dim() {
            return Err(format!(
                "{} has {} dimensions, {} has {}",
                data_file.display(),
                x.dim(),
                query_file.display(),
                q.dim()
            )
            .into());
        }
        let k = args.knn_k;
        if k == 0 || k > x.len() {
            return Err(format!("--knn-k must be between 1 and N = {}, got {k}", x.len()).into());
        }
        let m = args.knn_recall_queries.clamp(1, q.len());
        let subset: Vec<usize> = (0..m).map(|i| i * q.len() / m).collect();
        let (exact, exact_d2) = exact_knn(&x, &q, &subset, k);
        Ok(KnnData {
            data_file: data_file.clone(),
            query_file: query_file.clone(),
            x,
            q,
            data_fingerprint,
            queries_fingerprint,
            k,
            subset,
            exact,
            exact_d2,
        })
    }

    /// Mean over the checked queries of |found ∩ exact| / k, and the largest
    /// relative error of the reported squared distances.
    fn check(&self, nn: &Neighbors) -> (f64, f64) {
        let k = self.k;
        let mut hits = 0usize;
        let mut err = 0.0f64;
        for (j, &i) in self.subset.iter().enumerate() {
            let exact = &self.exact[j * k..(j + 1) * k];
            hits += nn.indices(i).iter().filter(|f| exact.contains(f)).count();
            for (&got, &want) in nn
                .distances(i)
                .iter()
                .zip(&self.exact_d2[j * k..(j + 1) * k])
            {
                err = err.max((f64::from(got) - want).abs() / want.max(f64::MIN_POSITIVE));
            }
        }
        (hits as f64 / (k * self.subset.len()) as f64, err)
    }
}

/// A float32 C-order 2-D .npy file, and its fingerprint (shape and the
/// wrapping sum of `(i + 1) * bits[i]`, as knn_peers.py computes it).
fn read_npy_f32(path: &Path) -> Result<(Points, String), Box<dyn Error>> {
    let what = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let npy = NpyFile::new(BufReader::new(File::open(path).map_err(|e| what(&e))?))
        .map_err(|e| what(&e))?;
    let &[n, d] = npy.shape() else {
        return Err(what(&format!(
            "expected a 2-D array, found shape {:?}",
            npy.shape()
        ))
        .into());
    };
    let f32_le = matches!(npy.dtype(), DType::Plain(t)
        if t.endianness() == Endianness::Little
            && t.type_char() == TypeChar::Float
            && t.size_field() == 4);
    if !f32_le || npy.order() != Order::C {
        return Err(what(&format!(
            "expected little-endian float32 (<f4) in C order, found {} ({:?} order)",
            npy.dtype().descr(),
            npy.order()
        ))
        .into());
    }
    let v = npy.into_vec::<f32>().map_err(|e| what(&e))?;
    let sum = v.iter().enumerate().fold(0u64, |acc, (i, x)| {
        acc.wrapping_add(u64::from(x.to_bits()).wrapping_mul(i as u64 + 1))
    });
    let fingerprint = format!("{n}x{d}:{sum:016x}");
    Ok((Points::from_vec(v, d as usize)?, fingerprint))
}

/// The exact k nearest data rows of each query in `subset`: squared
/// distances in f64 by direct differences, ties by lower index.
fn exact_knn(x: &Points, q: &Points, subset: &[usize], k: usize) -> (Vec<u32>, Vec<f64>) {
    let one = |i: usize| {
        let qi = q.row(i);
        let mut d2: Vec<(f64, u32)> = x
            .rows()
            .enumerate()
            .map(|(j, r)| {
                let s = r
                    .iter()
                    .zip(qi)
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum::<f64>();
                (s, j as u32)
            })
            .collect();
        let cmp = |a: &(f64, u32), b: &(f64, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if k < d2.len() {
            d2.select_nth_unstable_by(k - 1, cmp);
        }
        d2.truncate(k);
        d2.sort_by(cmp);
        d2
    };
    // Spread over the machine's cores: untimed, but it should not hold
    // the run up.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = subset.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<(f64, u32)>> = std::thread::scope(|s| {
        let handles: Vec<_> = subset
            .chunks(per)
            .map(|c| s.spawn(move || c.iter().flat_map(|&i| one(i)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("exact kNN thread"))
            .collect()
    });
    parts.into_iter().flatten().map(|(d, j)| (j, d)).unzip()
}

/// Times the `knn` workload on one backend and prints its line (or a skip
/// or error line).
fn knn_run(args: &Args, backend: &str, ctx: &Context, kd: &KnnData) {
    let base = |kind: &str| {
        let mut line = Json::new(kind);
        line.str("workload", "knn")
            .str("mode", "knn")
            .str("backend", backend)
            .str("adapter", &ctx.to_string())
            .bool("software", ctx.is_software())
            .num("n", kd.x.len())
            .num("q", kd.q.len())
            .num("d", kd.x.dim())
            .num("k", kd.k)
            .opt_num("round", args.round);
        line
    };
    if let Some(reason) = too_big(args, backend, ctx, kd.x.len()) {
        let mut line = base("skip");
        line.str("reason", &reason);
        println!("{}", line.finish());
        eprintln!("bench: {backend}: knn not run: {reason}");
        return;
    }
    let once = || -> Result<Neighbors, Box<dyn Error>> {
        let index = NearestNeighbors::new()
            .metric(Metric::SqEuclidean)
            .fit(ctx, &kd.x)?;
        Ok(index.kneighbors(Some(&kd.q), kd.k)?)
    };
    let clock = KernelClock::new(ctx);
    let result = timed_runs(args, || clock.time(once));
    let (times, first, nn) = match result {
        Ok(r) => r,
        Err(e) => {
            let mut line = base("error");
            line.str("error", &e.to_string());
            println!("{}", line.finish());
            eprintln!("bench: {backend}: knn failed: {e}");
            return;
        }
    };
    let (recall, dist_err) = kd.check(&nn);
    let med = median(&times);
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let pairs = (kd.x.len() as u64) * (kd.q.len() as u64);
    let q = kd.q.len() as f64;
    let mut line = base("ours");
    line.str("metric", Metric::SqEuclidean.name())
        .str("data", &kd.data_file.display().to_string())
        .str("queries", &kd.query_file.display().to_string())
        .str("data_fingerprint", &kd.data_fingerprint)
        .str("queries_fingerprint", &kd.queries_fingerprint)
        .num("reps", times.len())
        .num("reps_asked", args.reps)
        .num("warmup", args.warmup)
        .float6("median_s", med)
        .float6("best_s", best)
        .float6("first_s", first)
        .floats6("times_s", &times)
        .opt_float("gpu_ms", clock.mean_ms(times.len()))
        .float("queries_per_s", q / med)
        .float("queries_per_s_best", q / best)
        .num("pair_evals", pairs)
        .float("pair_evals_per_s", pairs as f64 / med)
        .float("pair_evals_per_s_best", pairs as f64 / best)
        .float6("recall_at_k", recall)
        .num("recall_queries", kd.subset.len())
        .num("max_dist_rel_err", format!("{dist_err:.3e}"))
        .opt_float("loadavg_1m", loadavg())
        .str(
            "note",
            "NearestNeighbors fit + kneighbors (squared euclidean) in each timed run",
        );
    println!("{}", line.finish());
    eprintln!(
        "bench: {backend}: knn N={} Q={} D={} k={}: median {med:.3} s (best {best:.3}, first {first:.3}), \
         {:.0} queries/s, {:.3e} pairs/s, recall@{} {recall:.4}{}",
        kd.x.len(),
        kd.q.len(),
        kd.x.dim(),
        kd.k,
        q / med,
        pairs as f64 / med,
        kd.k,
        if ctx.is_software() {
            " (SOFTWARE adapter: not a GPU timing)"
        } else {
            ""
        }
    );
}

/// The `kmeans` workload's arrays, as `kmeans_peers.py` wrote them.
struct KMeansData {
    data_file: PathBuf,
    init_file: PathBuf,
    x: Points,
    init: Points,
    data_fingerprint: String,
    init_fingerprint: String,
}

impl KMeansData {
    fn load(args: &Args) -> Result<Self, Box<dyn Error>> {
        let (Some(data_file), Some(init_file)) = (&args.kmeans_data, &args.kmeans_init) else {
            return Err("--modes kmeans needs --kmeans-data and --kmeans-init".into());
        };
        let (x, data_fingerprint) = read_npy_f32(data_file)?;
        let (init, init_fingerprint) = read_npy_f32(init_file)?;
        if x.dim() != init.dim() {
            return Err(format!(
                "{} has {} dimensions, {} has {}",
                data_file.display(),
                x.dim(),
                init_file.display(),
                init.dim()
            )
            .into());
        }
        if init.is_empty() || init.len() > x.len() {
            return Err(format!(
                "{}: k = {} initial centres, must be between 1 and N = {}",
                init_file.display(),
                init.len(),
                x.len()
            )
            .into());
        }
        Ok(KMeansData {
            data_file: data_file.clone(),
            init_file: init_file.clone(),
            x,
            init,
            data_fingerprint,
            init_fingerprint,
        })
    }

    /// `sum_i |x_i - c_{l_i}|^2` in `f64` from the fit's centres (their
    /// `f64` values) and labels: what `kmeans_peers.py` computes for every
    /// peer.
    fn inertia(&self, fit: &KMeansFit) -> f64 {
        let dim = self.x.dim();
        let centres = fit.cluster_centers().to_f64();
        self.x
            .rows()
            .zip(fit.labels())
            .map(|(r, &l)| {
                let c = &centres[l as usize * dim..(l as usize + 1) * dim];
                r.iter()
                    .zip(c)
                    .map(|(&a, &b)| (f64::from(a) - b).powi(2))
                    .sum::<f64>()
            })
            .sum()
    }
}

/// Times the `kmeans` workload on one backend and prints its line (or a
/// skip or error line).
fn kmeans_run(args: &Args, backend: &str, ctx: &Context, km: &KMeansData) {
    let k = km.init.len();
    let base = |kind: &str| {
        let mut line = Json::new(kind);
        line.str("workload", "kmeans")
            .str("mode", "kmeans")
            .str("backend", backend)
            .str("adapter", &ctx.to_string())
            .bool("software", ctx.is_software())
            .num("n", km.x.len())
            .num("d", km.x.dim())
            .num("k", k)
            .num("max_iter", args.kmeans_max_iter)
            .opt_num("round", args.round);
        line
    };
    if let Some(reason) = too_big(args, backend, ctx, km.x.len()) {
        let mut line = base("skip");
        line.str("reason", &reason);
        println!("{}", line.finish());
        eprintln!("bench: {backend}: kmeans not run: {reason}");
        return;
    }
    let model = KMeans::new(k)
        .init(KMeansInit::Given(km.init.clone()))
        .max_iter(args.kmeans_max_iter)
        .tol(0.0);
    let clock = KernelClock::new(ctx);
    let result = timed_runs(args, || {
        clock.time(|| -> Result<KMeansFit, Box<dyn Error>> { Ok(model.fit(ctx, &km.x)?) })
    });
    let (times, first, fit) = match result {
        Ok(r) => r,
        Err(e) => {
            let mut line = base("error");
            line.str("error", &e.to_string());
            println!("{}", line.finish());
            eprintln!("bench: {backend}: kmeans failed: {e}");
            return;
        }
    };
    let med = median(&times);
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let n_iter = fit.n_iter();
    let inertia = km.inertia(&fit);
    let mut used = vec![false; k];
    for &l in fit.labels() {
        used[l as usize] = true;
    }
    let clusters_used = used.iter().filter(|&&u| u).count();
    let mut line = base("ours");
    line.str("data", &km.data_file.display().to_string())
        .str("init", &km.init_file.display().to_string())
        .str("data_fingerprint", &km.data_fingerprint)
        .str("init_fingerprint", &km.init_fingerprint)
        .num("reps", times.len())
        .num("reps_asked", args.reps)
        .num("warmup", args.warmup)
        .float6("median_s", med)
        .float6("best_s", best)
        .float6("first_s", first)
        .floats6("times_s", &times)
        .opt_float("gpu_ms", clock.mean_ms(times.len()))
        .num("n_iter", n_iter)
        .num("s_per_iter", format!("{:.9}", med / n_iter.max(1) as f64))
        .num(
            "s_per_iter_best",
            format!("{:.9}", best / n_iter.max(1) as f64),
        )
        .opt_num("inertia", Some(inertia).filter(|v| v.is_finite()))
        .opt_num("own_inertia", Some(fit.inertia()).filter(|v| v.is_finite()))
        .num("clusters_used", clusters_used)
        .opt_float("loadavg_1m", loadavg())
        .str(
            "note",
            "KMeans::new(k).init(KMeansInit::Given(c)).max_iter(M).tol(0.0).fit in each timed run",
        );
    println!("{}", line.finish());
    eprintln!(
        "bench: {backend}: kmeans N={} D={} k={k}: median {med:.3} s (best {best:.3}, first {first:.3}), \
         {n_iter} iterations, {:.3} ms/iteration, inertia {inertia:.8e}{}",
        km.x.len(),
        km.x.dim(),
        med / n_iter.max(1) as f64 * 1e3,
        if ctx.is_software() {
            " (SOFTWARE adapter: not a GPU timing)"
        } else {
            ""
        }
    );
}

/// Times the `dbscan` workload on one backend on the points `db` (as
/// `read_npy_f32` returns them) and prints its line (or a skip or error
/// line); writes the labels where `--dbscan-labels` asks.
fn dbscan_run(args: &Args, backend: &str, ctx: &Context, db: &(Points, String)) {
    let (x, fingerprint) = db;
    let file = args.dbscan_data.as_deref().unwrap_or(Path::new("?"));
    let (eps, min_samples) = (args.dbscan_eps, args.dbscan_min_samples);
    let base = |kind: &str| {
        let mut line = Json::new(kind);
        line.str("workload", "dbscan")
            .str("mode", "dbscan")
            .str("backend", backend)
            .str("adapter", &ctx.to_string())
            .bool("software", ctx.is_software())
            .num("n", x.len())
            .num("d", x.dim())
            .num("eps", eps)
            .num("min_samples", min_samples)
            .opt_num("round", args.round);
        line
    };
    if let Some(reason) = too_big(args, backend, ctx, x.len()) {
        let mut line = base("skip");
        line.str("reason", &reason);
        println!("{}", line.finish());
        eprintln!("bench: {backend}: dbscan not run: {reason}");
        return;
    }
    let model = Dbscan::new(eps, min_samples);
    let clock = KernelClock::new(ctx);
    let result = timed_runs(args, || {
        clock.time(|| -> Result<DbscanFit, Box<dyn Error>> { Ok(model.fit(ctx, x)?) })
    })
    .and_then(|(times, first, fit)| {
        let labels_file = args
            .dbscan_labels
            .as_ref()
            .map(|prefix| PathBuf::from(format!("{prefix}-{backend}.npy")));
        if let Some(path) = &labels_file {
            write_npy_of(path, &[fit.labels().len() as u64], fit.labels())?;
        }
        Ok((times, first, fit, labels_file))
    });
    let (times, first, fit, labels_file) = match result {
        Ok(r) => r,
        Err(e) => {
            let mut line = base("error");
            line.str("error", &e.to_string());
            println!("{}", line.finish());
            eprintln!("bench: {backend}: dbscan failed: {e}");
            return;
        }
    };
    let med = median(&times);
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let noise = fit.labels().iter().filter(|&&l| l < 0).count();
    let mut line = base("ours");
    line.str("data", &file.display().to_string())
        .str("data_fingerprint", fingerprint)
        .num("reps", times.len())
        .num("reps_asked", args.reps)
        .num("warmup", args.warmup)
        .float6("median_s", med)
        .float6("best_s", best)
        .float6("first_s", first)
        .floats6("times_s", &times)
        .opt_float("gpu_ms", clock.mean_ms(times.len()))
        .num("clusters", fit.n_clusters())
        .num("noise", noise)
        .num("core_points", fit.core_sample_indices().len());
    match &labels_file {
        Some(path) => line.str("labels_file", &path.display().to_string()),
        None => line.opt_num("labels_file", None::<u8>),
    };
    line.opt_float("loadavg_1m", loadavg()).str(
        "note",
        "Dbscan::new(eps, min_samples).fit in each timed run (the neighbour index built in each)",
    );
    println!("{}", line.finish());
    eprintln!(
        "bench: {backend}: dbscan N={} D={} eps={eps} min_samples={min_samples}: median {med:.3} s \
         (best {best:.3}, first {first:.3}), {} clusters, {noise} noise, {} core{}",
        x.len(),
        x.dim(),
        fit.n_clusters(),
        fit.core_sample_indices().len(),
        if ctx.is_software() {
            " (SOFTWARE adapter: not a GPU timing)"
        } else {
            ""
        }
    );
}

/// The 1-minute load average (Linux), to show other work on the machine.
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// A one-line JSON object, written by hand (no JSON dependency).
struct Json(String);

impl Json {
    fn new(kind: &str) -> Self {
        let mut j = Json(String::from("{"));
        j.str("kind", kind);
        j
    }
    fn key(&mut self, k: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "\"{k}\":");
        &mut self.0
    }
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        let s = self.key(k);
        s.push('"');
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(s, "\\u{:04x}", c as u32);
                }
                c => s.push(c),
            }
        }
        s.push('"');
        self
    }
    fn num(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.key(k), "{v}");
        self
    }
    fn opt_num(&mut self, k: &str, v: Option<impl std::fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => {
                self.key(k).push_str("null");
                self
            }
        }
    }
    fn float(&mut self, k: &str, v: f64) -> &mut Self {
        let _ = write!(self.key(k), "{}", fmt_float(v));
        self
    }
    /// Six decimals: seconds.
    fn float6(&mut self, k: &str, v: f64) -> &mut Self {
        let _ = write!(self.key(k), "{}", fmt_float6(v));
        self
    }
    fn opt_float(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.float(k, v),
            None => {
                self.key(k).push_str("null");
                self
            }
        }
    }
    fn floats6(&mut self, k: &str, v: &[f64]) -> &mut Self {
        let items: Vec<String> = v.iter().map(|x| fmt_float6(*x)).collect();
        let _ = write!(self.key(k), "[{}]", items.join(","));
        self
    }
    fn floats(&mut self, k: &str, v: &[f64]) -> &mut Self {
        let items: Vec<String> = v.iter().map(|x| fmt_float(*x)).collect();
        let _ = write!(self.key(k), "[{}]", items.join(","));
        self
    }
    fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        let _ = write!(self.key(k), "{v}");
        self
    }
    fn finish(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

fn fmt_float(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "null".into()
    }
}

fn fmt_float6(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        "null".into()
    }
}

/// The kernel time the device measures for each call it times (see
/// `Context::gpu_time`), so that a line can report the kernels' share of
/// its wall time: `gpu_ms`, the mean over the timed reps, `null` on the
/// CPU and on adapters without timestamp queries.
struct KernelClock<'c> {
    ctx: &'c Context,
    /// Milliseconds per call, warm-up runs first.
    ms: RefCell<Vec<f64>>,
}

impl<'c> KernelClock<'c> {
    fn new(ctx: &'c Context) -> Self {
        Self {
            ctx,
            ms: RefCell::new(Vec::new()),
        }
    }

    /// Runs `once`, noting the kernel time it took.
    fn time<T>(&self, once: impl FnOnce() -> T) -> T {
        let before = self.ctx.gpu_time();
        let out = once();
        if let (Some(before), Some(after)) = (before, self.ctx.gpu_time()) {
            self.ms
                .borrow_mut()
                .push((after - before).as_secs_f64() * 1e3);
        }
        out
    }

    /// The mean kernel time of the last `reps` calls (the timed ones,
    /// which follow the warm-up), or `None` where none was measured.
    fn mean_ms(&self, reps: usize) -> Option<f64> {
        let ms = self.ms.borrow();
        let timed = &ms[ms.len().saturating_sub(reps)..];
        (!timed.is_empty() && reps > 0).then(|| timed.iter().sum::<f64>() / timed.len() as f64)
    }
}

/// `--warmup` untimed runs of `once`, then up to `--reps` timed ones
/// (fewer once `--time-budget` seconds are spent): the times, the first
/// run's time (warm-up included: the cold start), and the last result.
fn timed_runs<T>(
    args: &Args,
    once: impl Fn() -> Result<T, Box<dyn Error>>,
) -> Result<(Vec<f64>, f64, T), Box<dyn Error>> {
    let timed = || -> Result<(f64, T), Box<dyn Error>> {
        let t = Instant::now();
        let out = once()?;
        Ok((t.elapsed().as_secs_f64(), out))
    };
    let mut first = None;
    for _ in 0..args.warmup {
        let (t, _) = timed()?;
        first.get_or_insert(t);
    }
    let mut times = Vec::with_capacity(args.reps);
    let mut last = None;
    for _ in 0..args.reps {
        let (t, out) = timed()?;
        first.get_or_insert(t);
        times.push(t);
        last = Some(out);
        if args
            .time_budget
            .is_some_and(|b| times.iter().sum::<f64>() >= b)
        {
            break;
        }
    }
    Ok((times, first.unwrap_or(f64::NAN), last.expect("reps >= 1")))
}
