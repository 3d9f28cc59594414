//! `gpu-cluster predict`: load a saved model, read new points, label each
//! by its nearest centre, write the labels and summarise the run on stderr.

use std::path::Path;
use std::time::Instant;

use gpu_cluster::{Error, MeanShiftFit, Mode};

use crate::args::{PredictArgs, backend_name, count, explain};
use crate::fail::Failure;
use crate::input::read_points_with;
use crate::note;
use crate::output::{check_writable, destination, write_lines};

/// Runs the subcommand.
pub fn run(args: &PredictArgs) -> Result<(), Failure> {
    let labels_to = destination(args.labels.as_deref());
    check_writable(labels_to)?;
    let fit = load(&args.model)?;
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    let dim = fit.centers().dim();
    if points.dim() != dim {
        return Err(Failure::input(
            &args.input,
            format!(
                "{}, but the model {} has centres of {dim}",
                count(points.dim(), "column"),
                args.model.display()
            ),
        ));
    }
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let labels = fit
        .predict_on(&ctx, &points)
        .map_err(|e| explain(e, &args.input, &info))?;
    let predict_time = started.elapsed();
    write_lines(labels_to, &labels)?;
    let unassigned = labels.iter().filter(|&&l| l < 0).count();
    let unassigned = if unassigned > 0 {
        format!(" ({unassigned} unassigned)")
    } else {
        String::new()
    };
    note(format_args!(
        "predict: {} x {} labelled{unassigned} with {} of {} ({} mode, {} kernel, bandwidth {}); \
         backend {}: {ctx}; predict {:.1} ms{open_time}; input {info}",
        count(points.len(), "point"),
        points.dim(),
        count(fit.n_clusters(), "cluster"),
        args.model.display(),
        match fit.mode() {
            Mode::Standard => "standard",
            Mode::Blurring => "blurring",
        },
        fit.kernel(),
        fit.bandwidth(),
        backend_name(&ctx),
        predict_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// The model in `path`. A file that cannot be read or is not a valid model
/// is bad input (exit 2), its message naming the file and the problem.
fn load(path: &Path) -> Result<MeanShiftFit, Failure> {
    MeanShiftFit::load(path).map_err(|e| match e {
        Error::Model(m) => Failure::Input(m),
        e => e.into(),
    })
}
