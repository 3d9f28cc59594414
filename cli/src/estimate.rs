//! `gpu-cluster estimate-bandwidth`: scikit-learn's `estimate_bandwidth` on
//! a file; the bandwidth on stdout, a summary on stderr.

use std::time::Instant;

use gpu_cluster::BandwidthEstimate;

use crate::args::{EstimateArgs, backend_name, count, explain};
use crate::fail::Failure;
use crate::input::read_points_with;
use crate::note;
use crate::output::write_lines;
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &EstimateArgs) -> Result<(), Failure> {
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    let estimate = BandwidthEstimate {
        quantile: args.quantile,
        n_samples: args.n_samples,
        seed: args.seed,
    };
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let progress = Progress::start("estimate-bandwidth");
    let h = estimate.estimate(&ctx, &points);
    progress.finish();
    let time = started.elapsed();
    // The library's rule, for the messages: k of the rows it used.
    let rows = args.n_samples.map_or(points.len(), |m| m.min(points.len()));
    let k = ((rows as f64 * args.quantile) as usize).max(1);
    let h = h.map_err(|e| explain(e, &args.input, &info))?;
    write_lines(None, &[h])?;
    let used = if rows < points.len() {
        let all = count(points.len(), "point");
        format!("{rows} of {all} (seed {})", args.seed)
    } else {
        count(rows, "point")
    };
    // scikit-learn's estimate can be 0; mean shift then takes each
    // distinct point as a cluster (flat kernel) or refuses (the others).
    let zero = match h {
        0.0 => " (every point's k-th nearest neighbour is at distance 0)",
        _ => "",
    };
    note(format_args!(
        "estimate-bandwidth: bandwidth {h}{zero} from {used} x {}; quantile {}: k = {} (each point \
         its own first); backend {}: {ctx}; {:.1} ms{open_time}; input {info}",
        points.dim(),
        args.quantile,
        count(k, "neighbour"),
        backend_name(&ctx),
        time.as_secs_f64() * 1e3,
    ));
    Ok(())
}
