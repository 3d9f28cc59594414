//! `gpu-cluster meanshift`: read points, fit, write labels and centres, and
//! summarise the run on stderr.

use std::time::Instant;

use gpu_cluster::{BandwidthEstimate, MeanShift, MeanShiftFit, Mode, StopReason};

use crate::args::{MeanShiftArgs, MethodArg, ModeArg, backend_name};
use crate::fail::Failure;
use crate::input::read_points;
use crate::note;
use crate::output::{check_writable, destination, write_csv, write_lines};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &MeanShiftArgs) -> Result<(), Failure> {
    check_args(args)?;
    let labels_to = destination(args.labels.as_deref());
    check_writable(labels_to.into_iter().chain(args.centers.as_deref()))?;
    let points = read_points(&args.input)?;
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let progress = Progress::start("meanshift");
    let fit = params(args).fit(&ctx, &points);
    progress.finish();
    let fit = fit?;
    let fit_time = started.elapsed();
    // Centres first: if their file cannot be written, nothing has gone to
    // stdout yet, so a pipeline sees a failure and no partial labels.
    if let Some(path) = &args.centers {
        write_csv(path, fit.centers())?;
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
    note(format_args!(
        "meanshift: {} clusters from {} points x {}; {} iterations ({}); {} mode, {} kernel, {bandwidth}; \
         backend {}: {ctx}; fit {:.1} ms{open_time}",
        fit.n_clusters(),
        points.len(),
        points.dim(),
        fit.n_iter(),
        stop_reason(&fit),
        match fit.mode() {
            Mode::Standard => "standard",
            Mode::Blurring => "blurring",
        },
        fit.kernel(),
        backend_name(&ctx),
        fit_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// Usage errors that clap cannot see, reported before any work.
fn check_args(args: &MeanShiftArgs) -> Result<(), Failure> {
    let unavailable = match args.method {
        MethodArg::Auto | MethodArg::Dense => None,
        MethodArg::Grid => Some("grid"),
        MethodArg::Knn => Some("knn"),
    };
    if let Some(name) = unavailable {
        return Err(Failure::Input(format!(
            "--method {name} is not available yet: use auto or dense"
        )));
    }
    if args.bin_seeding && args.mode == ModeArg::Blurring {
        return Err(Failure::Input(
            "--bin-seeding applies to --mode standard only".into(),
        ));
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
    ms.bin_seeding(args.bin_seeding)
        .min_bin_freq(args.min_bin_freq)
        .cluster_all(!args.no_cluster_all)
}

/// Why the iterations stopped, in words.
fn stop_reason(fit: &MeanShiftFit) -> &'static str {
    match fit.stop_reason() {
        StopReason::Converged => "converged",
        StopReason::MaxIter => "stopped at --max-iter",
        StopReason::Iterations => "as many as asked",
        StopReason::ShiftBelowTol => "stable: largest shift below 1e-3 x bandwidth",
        StopReason::LabelsStable => "stable: labels unchanged",
    }
}
