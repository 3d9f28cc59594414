//! `gpu-cluster meanshift`: read points (and seeds and weights), fit, write
//! labels and centres, and summarise the run on stderr.

use std::path::Path;
use std::time::Instant;

use gpu_cluster::meanshift::{Distances, Method};
use gpu_cluster::{BandwidthEstimate, MeanShift, MeanShiftFit, Mode, Points, StopReason};

use crate::args::{MeanShiftArgs, MethodArg, ModeArg, backend_name, count, explain, with_flag};
use crate::fail::Failure;
use crate::input::{read_points, read_points_with, read_weights};
use crate::note;
use crate::output::{
    check_centres_destination, check_writable, destination, write_centres, write_lines,
};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &MeanShiftArgs) -> Result<(), Failure> {
    check_args(args)?;
    let labels_to = destination(args.labels.as_deref());
    check_centres_destination(labels_to, args.centers.as_deref())?;
    check_writable(
        labels_to
            .into_iter()
            .chain(args.centers.as_deref())
            .chain(args.save_model.as_deref()),
    )?;
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    let (ms, given) = with_files(params(args), args, &points)?;
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let progress = Progress::start("meanshift");
    let ms = match progress.observer() {
        Some(observer) => ms.observer(observer),
        None => ms,
    };
    let fit = ms.fit(&ctx, &points);
    progress.finish();
    let fit = fit.map_err(|e| explain(e, &args.input, &info))?;
    let fit_time = started.elapsed();
    // Centres and model first: if their file cannot be written, nothing has
    // gone to stdout yet, so a pipeline sees a failure and no partial labels.
    if let Some(path) = &args.centers {
        write_centres(path, fit.centers(), fit.offset())?;
    }
    if let Some(path) = &args.save_model {
        fit.save(path)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    write_lines(labels_to, fit.labels())?;
    let bandwidth = match args.bandwidth {
        Some(_) => format!("bandwidth {}", fit.bandwidth()),
        None => format!(
            "bandwidth {} (estimated, quantile {})",
            fit.bandwidth(),
            args.quantile
        ),
    };
    let given = if given.is_empty() {
        String::new()
    } else {
        format!(" ({})", given.join(", "))
    };
    note(format_args!(
        "meanshift: {} from {} x {}{given}; {} ({}); {} mode, {} kernel, {bandwidth}; \
         {}; backend {}: {ctx}; fit {:.1} ms{open_time}; input {info}",
        count(fit.n_clusters(), "cluster"),
        count(points.len(), "point"),
        points.dim(),
        count(fit.n_iter(), "iteration"),
        stop_reason(&fit, args.tol),
        match fit.mode() {
            Mode::Standard => "standard",
            Mode::Blurring => "blurring",
        },
        fit.kernel(),
        method_used(&fit),
        backend_name(&ctx),
        fit_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// How the kernel sums ran, for the summary: dense with the distances it
/// computed, or the grid (always direct) with the bound on the gaussian
/// weight it left out.
fn method_used(fit: &MeanShiftFit) -> String {
    match (fit.method(), fit.gaussian_tail()) {
        (Method::Grid, Some(tail)) => {
            format!(
                "grid (gaussian cut: at most {:.2}% of a window's weight left out)",
                100.0 * tail
            )
        }
        (Method::Grid, None) => "grid".into(),
        _ => match fit.distances() {
            Distances::Expanded => "dense, expanded distances".into(),
            _ => "dense, direct distances".into(),
        },
    }
}

/// Usage errors that clap cannot see, reported before any work.
fn check_args(args: &MeanShiftArgs) -> Result<(), Failure> {
    if args.method == MethodArg::Knn {
        return Err(Failure::Input(
            "--method knn is not available yet: use auto, dense or grid".into(),
        ));
    }
    if args.save_model.as_deref() == Some(Path::new("-")) {
        return Err(Failure::Input(
            "--save-model needs a file: standard output carries the labels".into(),
        ));
    }
    if args.mode == ModeArg::Blurring {
        for (given, flag) in [
            (args.bin_seeding, "--bin-seeding"),
            (args.seeds.is_some(), "--seeds"),
        ] {
            if given {
                return Err(Failure::Input(format!(
                    "{flag} applies to --mode standard only"
                )));
            }
        }
    }
    Ok(())
}

/// The library parameters the flags describe. Values are checked by the
/// library at fit time, so the CLI and the API reject the same things.
fn params(args: &MeanShiftArgs) -> MeanShift {
    let mut ms = match args.bandwidth {
        Some(h) => MeanShift::new(h),
        None => MeanShift::estimated(BandwidthEstimate::new(args.quantile)),
    };
    ms = match (args.mode, args.max_iter) {
        (ModeArg::Standard, Some(n)) => ms.max_iter(n),
        (ModeArg::Standard, None) => ms,
        (ModeArg::Blurring, Some(n)) => ms.blurring(n),
        (ModeArg::Blurring, None) => ms.blurring_until_stable(),
    };
    if let Some(kernel) = args.kernel {
        ms = ms.kernel(kernel.into());
    }
    ms.tol(args.tol)
        .method(match args.method {
            MethodArg::Dense => Method::Dense,
            MethodArg::Grid => Method::Grid,
            MethodArg::Auto | MethodArg::Knn => Method::Auto,
        })
        .distances(args.distances.into())
        .gaussian_cutoff(args.gaussian_cutoff.0)
        .bin_seeding(args.bin_seeding)
        .min_bin_freq(args.min_bin_freq)
        .cluster_all(!args.no_cluster_all)
}

/// `ms` with the seeds and weights the flags name, checked against the
/// points of INPUT so a mismatch names both files; and the words the
/// summary gives them ("2 seeds", "weighted").
fn with_files(
    mut ms: MeanShift,
    args: &MeanShiftArgs,
    points: &Points,
) -> Result<(MeanShift, Vec<String>), Failure> {
    let mut given = Vec::new();
    if let Some(path) = &args.seeds {
        let seeds = read_points(path).map_err(|f| with_flag("--seeds", f))?;
        if seeds.dim() != points.dim() {
            return Err(Failure::Input(format!(
                "--seeds {}: {}, the points in {} have {}",
                path.display(),
                count(seeds.dim(), "column"),
                args.input.display(),
                points.dim()
            )));
        }
        given.push(count(seeds.len(), "seed"));
        ms = ms.seeds(seeds);
    }
    if let Some(path) = &args.sample_weights {
        let weights = read_weights(path, false, points, &args.input)?;
        given.push("weighted".to_string());
        ms = ms.sample_weights(weights);
    }
    Ok((ms, given))
}

/// Why the iterations stopped, in words.
fn stop_reason(fit: &MeanShiftFit, tol: f32) -> String {
    match fit.stop_reason() {
        StopReason::Converged => "converged".into(),
        StopReason::MaxIter => "stopped at --max-iter".into(),
        StopReason::Iterations => "as many as asked".into(),
        StopReason::ShiftBelowTol => format!("stable: largest shift <= {tol} x bandwidth"),
        StopReason::LabelsStable => "stable: labels unchanged".into(),
    }
}
