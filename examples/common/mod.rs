//! What the examples share: the bundled font, the colours, a square plot
//! window, the true-centroid mark, and small printing helpers.
//!
//! Every example compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gpu_cluster::{BlobsData, Points};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// DejaVu Sans, shipped in the repository (licence beside it), so text draws
/// on machines without system fonts.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The only font family the pictures use.
pub const FAMILY: &str = "sans-serif";

/// Cluster colours (Tableau 10), cycled when there are more clusters.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);

/// The chart type of every plot: `f32` on both axes.
pub type Chart<'a, 'b, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
>;

/// Makes the bundled font the one text is drawn with.
pub fn use_bundled_font() -> Result<(), Box<dyn Error>> {
    register_font(FAMILY, FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font could not be read")?;
    Ok(())
}

/// A cluster's colour; noise (-1) is grey.
pub fn colour(label: i32) -> RGBColor {
    usize::try_from(label).map_or(MUTED, |l| PALETTE[l % PALETTE.len()])
}

/// A square window around the data and the centroids, with a margin, so
/// both axes have the same scale.
pub fn square_bounds(data: &BlobsData) -> (std::ops::Range<f32>, std::ops::Range<f32>) {
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for r in data.points.rows().chain(data.centroids.rows()) {
        for a in 0..2 {
            lo[a] = lo[a].min(r[a]);
            hi[a] = hi[a].max(r[a]);
        }
    }
    let half = (0..2).map(|a| hi[a] - lo[a]).fold(0.0f32, f32::max) * 0.54 + 1.0;
    let mid = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    (
        (mid[0] - half)..(mid[0] + half),
        (mid[1] - half)..(mid[1] + half),
    )
}

/// A large X with a white halo, visible over any colour.
pub fn centroid_mark<DB: DrawingBackend>(
    chart: &mut Chart<'_, '_, DB>,
    centroids: &Points,
    size: i32,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let at = |r: &[f32]| (r[0], r[1]);
    chart
        .draw_series(
            centroids
                .rows()
                .map(|r| Cross::new(at(r), size, WHITE.stroke_width(9))),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            centroids
                .rows()
                .map(|r| Cross::new(at(r), size, INK.stroke_width(4))),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1e4 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.1} s", ms / 1e3)
    }
}

pub fn format_point(p: &[f32]) -> String {
    let parts: Vec<String> = p.iter().map(|v| format!("{v:.2}")).collect();
    format!("({})", parts.join(", "))
}

pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the row of `rows` nearest to `p`, and the squared distance.
pub fn nearest(p: &[f32], rows: &Points) -> (usize, f32) {
    rows.rows()
        .map(|r| squared_distance(p, r))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f32::INFINITY))
}

/// The examples' arguments: `--seed S` for the blobs and `--out-dir DIR`
/// for the pictures. `Ok(None)` asks for the usage text.
pub struct Args {
    pub seed: u64,
    pub out_dir: PathBuf,
}

pub fn parse_args(default_seed: u64) -> Result<Option<Args>, String> {
    let mut args = Args {
        seed: default_seed,
        out_dir: PathBuf::from("."),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--seed" => {
                let v = value()?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a non-negative integer"))?;
            }
            "--out-dir" => args.out_dir = PathBuf::from(value()?),
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    Ok(Some(args))
}

/// Runs an example's `run` with its parsed arguments: usage on `--help`
/// (exit 0) or a bad argument (exit 2), one error line on failure (exit 1).
pub fn main_with(
    default_seed: u64,
    usage: &str,
    run: impl FnOnce(&Args) -> Result<(), Box<dyn Error>>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let args = match parse_args(default_seed) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
