//! Command-line arguments. The flags, their names and their defaults are the
//! CLI contract in the design notes: scripts depend on them, so they change
//! only on purpose.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::builder::{BoolishValueParser, PossibleValue};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use gpu_cluster::io::{Columns, Delimiter, ReadInfo, ReadOptions};
use gpu_cluster::meanshift::Distances;
use gpu_cluster::{BackendKind, Blobs, Context, Error, Kernel, Metric};

use crate::fail::Failure;

/// Clustering on any GPU through WebGPU, with a pure-Rust CPU twin.
///
/// Exit status: 0 on success, 2 for bad input or usage (with a one-line
/// message), 1 for a failure at run time (GPU error, unwritable file).
#[derive(Debug, Parser)]
#[command(name = "gpu-cluster", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mean shift: scikit-learn's MeanShift (standard mode) or blurring mean
    /// shift (GBMS). Writes one label per line, to --labels or stdout.
    Meanshift(MeanShiftArgs),
    /// k-means: scikit-learn's KMeans (Lloyd, k-means++ by default).
    /// Writes one label per line, to --labels or stdout.
    Kmeans(KMeansArgs),
    /// DBSCAN: scikit-learn's DBSCAN (euclidean): clusters of points with
    /// at least --min-samples neighbours within --eps, -1 for noise. Writes
    /// one label per line, to --labels or stdout.
    Dbscan(DbscanArgs),
    /// Exact nearest neighbours (scikit-learn's NearestNeighbors, FAISS's
    /// flat index): the k nearest points, or all within --radius, of each
    /// query. Writes one CSV row of indices per query, to --indices or
    /// stdout.
    Knn(KnnArgs),
    /// Generate Gaussian blobs (the reference workload by default).
    Blobs(BlobsArgs),
    /// scikit-learn's estimate_bandwidth: the mean distance from each point
    /// to its k-th nearest neighbour (itself the first), k = max(1,
    /// int(n * Q)). Prints the bandwidth on stdout.
    EstimateBandwidth(EstimateArgs),
    /// Label new points with a model saved by meanshift or kmeans
    /// --save-model: each gets its nearest centre (with a mean-shift
    /// model's cluster_all rule). Writes one label per line, to --labels or
    /// stdout.
    Predict(PredictArgs),
}

/// How to read CSV input (every INPUT, and the queries of `knn`).
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// CSV: the field separator: one character, `tab`, or `space` (runs of
    /// spaces and tabs) [default: sniffed from the first lines: a comma
    /// unless tabs, semicolons or spaces split them evenly]
    #[arg(long, value_name = "C")]
    pub delimiter: Option<Delimiter>,

    /// CSV: whether the first row is a header [default: guessed: names are
    /// a header, numbers are data, a row of both is refused]
    #[arg(long, value_name = "yes|no", value_parser = BoolishValueParser::new())]
    pub header: Option<bool>,

    /// Read only these columns, in this order: 1-based numbers, ranges
    /// (2-4) and header names, comma-separated [default: all, but a pandas
    /// index]
    #[arg(long, value_name = "LIST")]
    pub columns: Option<Columns>,
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            delimiter: self.delimiter,
            header: self.header,
            columns: self.columns.clone(),
        }
    }
}

/// `gpu-cluster meanshift`. Defaults are scikit-learn's `MeanShift`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct MeanShiftArgs {
    /// Points to cluster: .csv (comma-separated numbers, an optional header
    /// row) or .npy (2-D, little-endian float32 or float64, C or Fortran
    /// order).
    pub input: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Kernel bandwidth, > 0 [default: estimated from the data with
    /// --quantile, like scikit-learn's estimate_bandwidth]
    #[arg(long, value_name = "F", conflicts_with = "quantile")]
    pub bandwidth: Option<f32>,

    /// Quantile of the bandwidth estimate, in (0, 1]: the bandwidth is the
    /// mean distance from each point to its k-th nearest neighbour,
    /// k = max(1, int(n * Q)).
    #[arg(long, value_name = "Q", default_value_t = 0.3)]
    pub quantile: f64,

    /// Kernel [default: flat; gaussian with --mode blurring]
    #[arg(long, value_enum)]
    pub kernel: Option<KernelArg>,

    /// standard: seeds climb over the fixed data (scikit-learn). blurring:
    /// every iteration moves all points (GBMS, the reference workload).
    #[arg(long, value_enum, default_value_t = ModeArg::Standard)]
    pub mode: ModeArg,

    /// Iteration cap per seed in standard mode. With --mode blurring: run
    /// exactly N iterations; without it blurring stops when stable (largest
    /// shift <= --tol x bandwidth, or labels unchanged), at most 300
    /// [default: 300]
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,

    /// Convergence threshold relative to the bandwidth, finite and >= 0: a
    /// seed stops when its shift is <= F x bandwidth (scikit-learn's fixed
    /// rule is 1e-3).
    #[arg(long, value_name = "F", default_value_t = 1e-3)]
    pub tol: f32,

    /// Start from the points in this file (same formats and dimension as
    /// INPUT) instead of from every point (standard mode only).
    #[arg(long, value_name = "FILE", conflicts_with = "bin_seeding")]
    pub seeds: Option<PathBuf>,

    /// One weight per point, finite and >= 0, weighting both the means and
    /// the intensities: one number per line (an optional header line), or a
    /// 1-column .npy.
    #[arg(long, value_name = "FILE")]
    pub sample_weights: Option<PathBuf>,

    /// Seed from the occupied cells of a grid of side bandwidth instead of
    /// from every point (standard mode only).
    #[arg(long)]
    pub bin_seeding: bool,

    /// With --bin-seeding, keep only cells holding at least N points.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_bin_freq: usize,

    /// Label points farther than the bandwidth from every centre -1 instead
    /// of giving them the nearest cluster.
    #[arg(long)]
    pub no_cluster_all: bool,

    /// How the kernel sums find their data. dense: every pair (N^2 work);
    /// grid: only the points within the kernel's support, through a grid
    /// (D <= 4, the CPU backend; the dense result for the flat, triangular
    /// and epanechnikov kernels, the gaussian cut at --gaussian-cutoff);
    /// auto: the grid for the compact kernels from 8192 points and 2^23
    /// seed x point pairs where it applies (auto never changes a result);
    /// knn: not available yet. The summary says which ran.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,

    /// How the dense sums compute squared distances on rows of more than 32
    /// coordinates. direct: coordinate by coordinate, the most precise;
    /// expanded: |q|^2 + |x|^2 - 2 q.x from a matrix product (GPU-friendly,
    /// rounds differently; not with --method grid). On 32 coordinates or
    /// fewer both are direct. The summary says which ran.
    #[arg(long, value_enum, default_value_t = DistancesArg::Direct)]
    pub distances: DistancesArg,

    /// Where the grid cuts the gaussian kernel, in bandwidths (> 0), or
    /// `none`: where its f32 weights reach 0 (about 13.2, the dense
    /// result, at a larger cost). The summary gives the bound on the
    /// weight left out.
    #[arg(long, value_name = "C", default_value = "3", value_parser = parse_cutoff)]
    pub gaussian_cutoff: Cutoff,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Write the labels here, one integer per line, -1 for unassigned; `-`
    /// is stdout [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Write the cluster centres here as CSV rows, no header, label k on
    /// row k, to the precision of the work (millimetres at 5e6 m survive;
    /// f32 rounding is not printed as digits); `.npy` writes an array; `-`
    /// is stdout when --labels names a file.
    #[arg(long, value_name = "FILE")]
    pub centers: Option<PathBuf>,

    /// Save the fitted model here as JSON (format gpu-cluster/meanshift,
    /// version 1), for `gpu-cluster predict --model FILE` and the library's
    /// MeanShiftFit::load.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
}

/// `gpu-cluster kmeans`. Defaults are scikit-learn's `KMeans`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct KMeansArgs {
    /// Points to cluster: .csv (comma-separated numbers, an optional header
    /// row) or .npy (2-D, little-endian float32 or float64, C or Fortran
    /// order).
    pub input: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Number of clusters, from 1 to the number of points.
    #[arg(long, value_name = "N")]
    pub k: usize,

    /// Initial centres: k-means++ (greedy, scikit-learn's default), random
    /// (k distinct points), or a FILE of k rows (same formats and dimension
    /// as INPUT; label k is row k).
    #[arg(
        long,
        value_name = "k-means++|random|FILE",
        default_value = "k-means++"
    )]
    pub init: InitArg,

    /// Runs from different initial centres; the one with the lowest
    /// inertia is kept [default: 1 for k-means++ and FILE, 10 for random]
    #[arg(long, value_name = "N")]
    pub n_init: Option<usize>,

    /// Iteration cap per run.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub max_iter: usize,

    /// Convergence threshold relative to the data, finite and >= 0: a run
    /// stops when the total squared shift of the centres is <= F x the mean
    /// of the per-column variances.
    #[arg(long, value_name = "F", default_value_t = 1e-4)]
    pub tol: f64,

    /// Seed of the initial centres' draws (the same centres on every
    /// platform; not numpy's stream).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// One weight per point, finite and >= 0, not all 0, weighting the
    /// means, the inertia and the initial draws: one number per line (an
    /// optional header line), or a 1-column .npy.
    #[arg(long, value_name = "FILE")]
    pub sample_weights: Option<PathBuf>,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Write the labels here, one integer per line; `-` is stdout
    /// [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Write the cluster centres here as CSV rows, no header, label k on
    /// row k, to the precision of the work (millimetres at 5e6 m survive;
    /// f32 rounding is not printed as digits); `.npy` writes an array; `-`
    /// is stdout when --labels names a file.
    #[arg(long, value_name = "FILE")]
    pub centers: Option<PathBuf>,

    /// Save the fitted model here as JSON (format gpu-cluster/kmeans,
    /// version 1), for `gpu-cluster predict --model FILE` and the library's
    /// KMeansFit::load.
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
}

/// `gpu-cluster dbscan`. Defaults are scikit-learn's `DBSCAN`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct DbscanArgs {
    /// Points to cluster: .csv (comma-separated numbers, an optional header
    /// row) or .npy (2-D, little-endian float32 or float64, C or Fortran
    /// order).
    pub input: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Neighbourhood radius, finite and > 0: points at a euclidean distance
    /// of at most F are neighbours.
    #[arg(long, value_name = "F", default_value_t = 0.5)]
    pub eps: f32,

    /// Points (or total weight) a neighbourhood needs for its centre to be
    /// a core point, the point itself included; >= 1.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub min_samples: usize,

    /// One weight per point, finite (negative ones keep their neighbours
    /// from being core), summed instead of counting the neighbours: one
    /// number per line (an optional header line), or a 1-column .npy.
    #[arg(long, value_name = "FILE")]
    pub sample_weights: Option<PathBuf>,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Write the labels here, one integer per line, -1 for noise; `-` is
    /// stdout [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Write the indices of the core points here (0-based rows of INPUT,
    /// ascending), one per line; `-` is stdout (then --labels must name a
    /// file).
    #[arg(long, value_name = "FILE")]
    pub core: Option<PathBuf>,
}

/// `--init`: a method by name, or a file of centres (any other value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitArg {
    KMeansPlusPlus,
    Random,
    File(PathBuf),
}

impl std::str::FromStr for InitArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "k-means++" => Ok(InitArg::KMeansPlusPlus),
            "random" => Ok(InitArg::Random),
            "" => Err("give k-means++, random or a file of centres".into()),
            file => Ok(InitArg::File(PathBuf::from(file))),
        }
    }
}

/// `gpu-cluster predict`: labels from a saved model.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct PredictArgs {
    /// The model, as written by `meanshift --save-model` or `kmeans
    /// --save-model`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,

    /// Points to label, with as many columns as the model's centres: .csv
    /// (comma-separated numbers, an optional header row) or .npy (2-D,
    /// little-endian float32 or float64, C or Fortran order).
    pub input: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Write the labels here, one integer per line, -1 for unassigned; `-`
    /// is stdout [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
}

/// `gpu-cluster estimate-bandwidth`. Defaults are scikit-learn's
/// `estimate_bandwidth`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct EstimateArgs {
    /// Points: .csv (comma-separated numbers, an optional header row) or
    /// .npy (2-D, little-endian float32 or float64, C or Fortran order).
    pub input: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Fraction of the points that make a neighbourhood, in (0, 1].
    #[arg(long, value_name = "Q", default_value_t = 0.3)]
    pub quantile: f64,

    /// Estimate on a random subset of N points, >= 1 (the estimate costs
    /// n^2 distances) [default: all points]
    #[arg(long, value_name = "N")]
    pub n_samples: Option<usize>,

    /// Seed of the subset draw with --n-samples (the same subset on every
    /// platform).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
}

/// `gpu-cluster knn`. Defaults are scikit-learn's `NearestNeighbors`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
#[command(group(ArgGroup::new("size").required(true).args(["k", "radius"])))]
pub struct KnnArgs {
    /// Points to search: .csv (comma-separated numbers, an optional header
    /// row) or .npy (2-D, little-endian float32 or float64, C or Fortran
    /// order). Not with --model, which holds them.
    #[arg(required_unless_present = "model", conflicts_with = "model")]
    pub input: Option<PathBuf>,

    /// Search the index saved in FILE by --save-model (its points and
    /// metric) instead of reading INPUT.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Neighbours per query, from 1 to the number of points (minus one
    /// with --exclude-self). Give --k or --radius.
    #[arg(long, value_name = "N")]
    pub k: Option<usize>,

    /// Instead of --k: every point within this distance (inclusive; for
    /// inner_product: every point whose inner product is at least F), so
    /// rows have any length, empty included.
    #[arg(long, value_name = "F")]
    pub radius: Option<f32>,

    /// Search for the points in this file (same formats and dimension as
    /// INPUT) [default: the points of INPUT, each its own neighbour at
    /// distance 0 unless --exclude-self]
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,

    /// euclidean and sqeuclidean (squared, like FAISS's IndexFlatL2);
    /// cosine: 1 - cos, in [0, 2]; inner_product: largest first, like
    /// FAISS's IndexFlatIP, the "distances" being the inner products.
    #[arg(long, value_enum, default_value_t = MetricArg(Metric::Euclidean), conflicts_with = "model")]
    pub metric: MetricArg,

    /// Leave each point out of its own list (by index, so a duplicate stays
    /// a neighbour at distance 0), like scikit-learn's kneighbors() without
    /// arguments. Only without --queries.
    #[arg(long, conflicts_with = "queries")]
    pub exclude_self: bool,

    /// Where the work runs. auto: a real GPU if there is one, else the CPU
    /// (software GPU adapters are passed over); gpu: any adapter or fail.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Write the neighbours' indices here (0-based rows of INPUT), one CSV
    /// row per query, nearest first; `-` is stdout [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub indices: Option<PathBuf>,

    /// Write the neighbours' distances here, one CSV row per query in the
    /// order of the indices; `-` is stdout (then --indices must name a
    /// file).
    #[arg(long, value_name = "FILE")]
    pub distances: Option<PathBuf>,

    /// Save the index here as JSON (format gpu-cluster/knn, version 1: the
    /// metric and the points), for `gpu-cluster knn --model FILE` and the
    /// library's KnnIndex::load.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub save_model: Option<PathBuf>,
}

/// `--metric`: the library's [`Metric`] under the names it gives them, so
/// the command line and the API cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricArg(pub Metric);

impl ValueEnum for MetricArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [MetricArg; Metric::ALL.len()] = {
            let mut all = [MetricArg(Metric::Euclidean); Metric::ALL.len()];
            let mut i = 0;
            while i < all.len() {
                all[i] = MetricArg(Metric::ALL[i]);
                i += 1;
            }
            all
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

/// `gpu-cluster blobs`. Defaults are the reference workload: 6 blobs of 250
/// points in 2-D, centroids uniform in [-35, 35]^d, variance 5 per
/// coordinate.
#[derive(Debug, Args)]
pub struct BlobsArgs {
    /// Write the points here: .csv (no header) or .npy (float32, C order).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Number of blobs.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub clusters: usize,

    /// Points drawn around each centroid.
    #[arg(long, value_name = "N", default_value_t = 250)]
    pub per_cluster: usize,

    /// Dimension of the points.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub dim: usize,

    /// Seed of the portable generator (the same data on every platform).
    /// The default is checked to give six clusters at least 12 apart that
    /// 5 gaussian blurring iterations with bandwidth 2.5 separate exactly.
    #[arg(long, value_name = "S", default_value_t = Blobs::DEFAULT_SEED)]
    pub seed: u64,

    /// Write the true label of each point here, one per line.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,

    /// Write the true centroids here as CSV rows, no header.
    #[arg(long, value_name = "FILE")]
    pub centroids: Option<PathBuf>,
}

/// `--kernel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    Flat,
    Gaussian,
    Triangular,
    Epanechnikov,
}

impl From<KernelArg> for Kernel {
    fn from(k: KernelArg) -> Self {
        match k {
            KernelArg::Flat => Kernel::Flat,
            KernelArg::Gaussian => Kernel::Gaussian,
            KernelArg::Triangular => Kernel::Triangular,
            KernelArg::Epanechnikov => Kernel::Epanechnikov,
        }
    }
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Standard,
    Blurring,
}

/// `--method`. The sub-quadratic methods are listed so scripts written
/// against the contract get a clear "not available yet" rather than a usage
/// error about an unknown value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    Auto,
    Dense,
    Grid,
    Knn,
}

/// `--distances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistancesArg {
    Direct,
    Expanded,
}

impl From<DistancesArg> for Distances {
    fn from(d: DistancesArg) -> Self {
        match d {
            DistancesArg::Direct => Distances::Direct,
            DistancesArg::Expanded => Distances::Expanded,
        }
    }
}

/// `--gaussian-cutoff`: `c`, or `None` for the radius where the weights
/// reach 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cutoff(pub Option<f32>);

fn parse_cutoff(s: &str) -> Result<Cutoff, String> {
    match s {
        "none" => Ok(Cutoff(None)),
        _ => s
            .parse::<f32>()
            .map(|c| Cutoff(Some(c)))
            .map_err(|_| format!("expected a number of bandwidths or `none`, not {s:?}")),
    }
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Auto,
    Gpu,
    Cpu,
}

impl BackendArg {
    /// Opens the context this choice names.
    pub fn open(self) -> gpu_cluster::Result<Context> {
        match self {
            BackendArg::Auto => Context::auto(),
            BackendArg::Gpu => Context::gpu(),
            BackendArg::Cpu => Ok(Context::cpu()),
        }
    }

    /// [`BackendArg::open`], and for a GPU a note of how long opening took
    /// for the summary (driver start-up and adapter probing can take longer
    /// than a small run, so the run's own time is not misread); empty for
    /// the CPU.
    pub fn open_timed(self) -> gpu_cluster::Result<(Context, String)> {
        let opened = Instant::now();
        let ctx = self.open()?;
        let note = match ctx.backend() {
            BackendKind::Gpu => format!(
                " (device opened in {:.1} ms)",
                opened.elapsed().as_secs_f64() * 1e3
            ),
            BackendKind::Cpu => String::new(),
        };
        Ok((ctx, note))
    }
}

/// The backend a context runs on, as `--backend` names it.
pub fn backend_name(ctx: &Context) -> &'static str {
    match ctx.backend() {
        BackendKind::Gpu => "gpu",
        BackendKind::Cpu => "cpu",
    }
}

/// "1 point", "2 points", "3 queries": `n` and the noun, plural unless `n`
/// is 1 (a final y becomes "ies"; enough for the nouns of the summaries).
pub fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// A library error in the command line's words: a parameter by its flag
/// (`--max-iter`, not `max_iter`) and a column counted from 1. `input` is
/// the file the data came from, read as `info` says.
pub fn explain(e: Error, input: &Path, info: &ReadInfo) -> Failure {
    match e {
        Error::InvalidParameter {
            name,
            value,
            reason,
        } => Failure::Input(format!("invalid {} = {value}: {reason}", flag(name))),
        Error::SpreadTooLarge { col, spread } => Failure::input(
            input,
            format!(
                "column {} spans {spread:e}; the f32 stages allow at most 1e15 (rescale the data)",
                info.file_column(col)
            ),
        ),
        e => e.into(),
    }
}

/// The flag that sets the library parameter `name`. `bandwidth` and
/// `quantile` keep the library's spelling (the flag without its dashes),
/// which the existing messages and their tests use.
fn flag(name: &str) -> &str {
    match name {
        "tol" => "--tol",
        "max_iter" | "iterations" => "--max-iter",
        "min_bin_freq" => "--min-bin-freq",
        "bin_seeding" => "--bin-seeding",
        "seeds" => "--seeds",
        "n_samples" => "--n-samples",
        "k" => "--k",
        "n_init" => "--n-init",
        "sample_weights" => "--sample-weights",
        "eps" => "--eps",
        "min_samples" => "--min-samples",
        "distances" => "--distances",
        other => other,
    }
}

/// A bad-input failure about the file a flag names, with the flag in front
/// ("--seeds s.csv: cannot open: ..."), so the message says which of the
/// files is meant.
pub fn with_flag(flag: &str, failure: Failure) -> Failure {
    match failure {
        Failure::Input(m) => Failure::Input(format!("{flag} {m}")),
        f => f,
    }
}
