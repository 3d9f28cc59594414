//! `gpu-cluster dbscan`: read points (and weights), fit, write labels and
//! core points, and summarise the run on stderr.

use std::time::Instant;

use gpu_cluster::{Dbscan, Points};

use crate::args::{DbscanArgs, backend_name, count, explain};
use crate::fail::Failure;
use crate::input::{read_points_with, read_weights};
use crate::note;
use crate::output::{check_writable, destination, write_lines};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &DbscanArgs) -> Result<(), Failure> {
    let labels_to = destination(args.labels.as_deref());
    let core_to = args.core.as_deref().map(|p| destination(Some(p)));
    if labels_to.is_none() && core_to == Some(None) {
        return Err(Failure::Input(
            "--core - writes to stdout, where the labels go: give --labels a file".into(),
        ));
    }
    check_writable(labels_to.into_iter().chain(core_to.flatten()))?;
    check_params(args)?;
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    let (db, given) = with_weights(params(args), args, &points)?;
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let progress = Progress::start("dbscan");
    let db = match progress.observer() {
        Some(observer) => db.observer(observer),
        None => db,
    };
    let fit = db.fit(&ctx, &points);
    progress.finish();
    let fit = fit.map_err(|e| explain(e, &args.input, &info))?;
    let fit_time = started.elapsed();
    // Files first, stdout last: if a file cannot be written, nothing has
    // gone to stdout yet, so a pipeline sees a failure and no partial
    // labels.
    match core_to {
        Some(None) => {
            write_lines(labels_to, fit.labels())?;
            write_lines(None, fit.core_sample_indices())?;
        }
        Some(Some(path)) => {
            write_lines(Some(path), fit.core_sample_indices())?;
            write_lines(labels_to, fit.labels())?;
        }
        None => write_lines(labels_to, fit.labels())?,
    }
    let noise = fit.labels().iter().filter(|&&l| l < 0).count();
    note(format_args!(
        "dbscan: {} from {} x {}{given}; {}, {}; eps {}, min_samples {}; \
         backend {}: {ctx}; fit {:.1} ms{open_time}; input {info}",
        count(fit.n_clusters(), "cluster"),
        count(points.len(), "point"),
        points.dim(),
        count(noise, "noise point"),
        count(fit.core_sample_indices().len(), "core point"),
        args.eps,
        args.min_samples,
        backend_name(&ctx),
        fit_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// The library parameters the flags describe. Values are checked by the
/// library at fit time, so the CLI and the API reject the same things.
fn params(args: &DbscanArgs) -> Dbscan {
    Dbscan::new(args.eps, args.min_samples)
}

/// `--eps` and `--min-samples`, before the input is read or a device
/// opened; in the words the library's check gives at fit time.
fn check_params(args: &DbscanArgs) -> Result<(), Failure> {
    if !(args.eps.is_finite() && args.eps > 0.0) {
        return Err(Failure::Input(format!(
            "invalid --eps = {}: must be finite and > 0",
            args.eps
        )));
    }
    if args.min_samples == 0 {
        return Err(Failure::Input(
            "invalid --min-samples = 0: must be at least 1".into(),
        ));
    }
    Ok(())
}

/// `db` with the weights `--sample-weights` names, checked against the
/// points of INPUT so a mismatch names both files; and the words the
/// summary gives them (" (weighted)").
fn with_weights(
    db: Dbscan,
    args: &DbscanArgs,
    points: &Points,
) -> Result<(Dbscan, &'static str), Failure> {
    let Some(path) = &args.sample_weights else {
        return Ok((db, ""));
    };
    let weights = read_weights(path, true, points, &args.input)?;
    Ok((db.sample_weights(weights), " (weighted)"))
}
