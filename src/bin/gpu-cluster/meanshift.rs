//! `gpu-cluster meanshift`: read points, fit, write labels and centres, and
//! summarise the run on stderr.

use std::time::Instant;

use gpu_cluster::{BackendKind, BandwidthEstimate, MeanShift, MeanShiftFit, Mode, StopReason};

use crate::args::{MeanShiftArgs, MethodArg, ModeArg};
use crate::fail::Failure;
use crate::input::read_points;
use crate::note;
use crate::output::{write_csv, write_lines};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &MeanShiftArgs) -> Result<(), Failure> {
    check_args(args)?;
    let points = read_points(&args.input)?;
    let opened = Instant::now();
    let ctx = args.backend.open()?;
    // Opening a GPU (driver start-up, adapter probing) can take longer than
    // a small fit; say so, so the fit time is not misread.
    let open_time = match ctx.backend() {
        BackendKind::Gpu => format!(
            " (device opened in {:.1} ms)",
            opened.elapsed().as_secs_f64() * 1e3
        ),
        BackendKind::Cpu => String::new(),
    };
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
    write_lines(args.labels.as_deref(), fit.labels())?;
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
        match ctx.backend() {
            BackendKind::Gpu => "gpu",
            BackendKind::Cpu => "cpu",
        },
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
