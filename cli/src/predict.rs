//! `gpu-cluster predict`: load a saved model (mean shift or k-means, told
//! apart by the document's "format"), read new points, label each by its
//! nearest centre, write the labels and summarise the run on stderr.

use std::path::Path;
use std::time::Instant;

use gpu_cluster::{Context, Error, KMeansFit, KnnIndex, MeanShiftFit, Mode, Points, model_format};

use crate::args::{PredictArgs, backend_name, count, explain};
use crate::fail::Failure;
use crate::input::read_points_with;
use crate::note;
use crate::output::{check_writable, destination, write_lines};

/// A model `predict` reads.
enum Model {
    MeanShift(MeanShiftFit),
    KMeans(KMeansFit),
}

impl Model {
    fn centers(&self) -> &Points {
        match self {
            Model::MeanShift(fit) => fit.centers(),
            Model::KMeans(fit) => fit.cluster_centers(),
        }
    }

    fn predict_on(&self, ctx: &Context, points: &Points) -> gpu_cluster::Result<Vec<i32>> {
        match self {
            Model::MeanShift(fit) => fit.predict_on(ctx, points),
            Model::KMeans(fit) => fit.predict_on(ctx, points),
        }
    }

    /// What the summary says about the model, after "with N clusters of FILE".
    fn describe(&self) -> String {
        match self {
            Model::MeanShift(fit) => format!(
                "mean shift, {} mode, {} kernel, bandwidth {}",
                match fit.mode() {
                    Mode::Standard => "standard",
                    Mode::Blurring => "blurring",
                },
                fit.kernel(),
                fit.bandwidth(),
            ),
            Model::KMeans(fit) => format!("k-means, inertia {}", fit.inertia()),
        }
    }
}

/// Runs the subcommand.
pub fn run(args: &PredictArgs) -> Result<(), Failure> {
    let labels_to = destination(args.labels.as_deref());
    check_writable(labels_to)?;
    let model = load(&args.model)?;
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    let dim = model.centers().dim();
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
    let labels = model
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
        "predict: {} x {} labelled{unassigned} with {} of {} ({}); \
         backend {}: {ctx}; predict {:.1} ms{open_time}; input {info}",
        count(points.len(), "point"),
        points.dim(),
        count(model.centers().len(), "cluster"),
        args.model.display(),
        model.describe(),
        backend_name(&ctx),
        predict_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// The model in `path`, of the kind its "format" names. A file that
/// cannot be read, is not a model `predict` reads, or is not a valid one
/// is bad input (exit 2), its message naming the file and the problem.
fn load(path: &Path) -> Result<Model, Failure> {
    let model_error = |e: Error| match e {
        Error::Model(m) => Failure::Input(m),
        e => e.into(),
    };
    let format = model_format(path).map_err(model_error)?;
    match format.as_str() {
        MeanShiftFit::MODEL_FORMAT => MeanShiftFit::load(path)
            .map(Model::MeanShift)
            .map_err(model_error),
        KMeansFit::MODEL_FORMAT => KMeansFit::load(path)
            .map(Model::KMeans)
            .map_err(model_error),
        other => {
            let hint = if other == KnnIndex::MODEL_FORMAT {
                " (a nearest-neighbour index: search it with `gpu-cluster knn --model`)"
            } else {
                ""
            };
            Err(Failure::Input(format!(
                "model {} is not a model predict reads: its format is {other:?}{hint}; \
                 predict reads {:?} and {:?}",
                path.display(),
                MeanShiftFit::MODEL_FORMAT,
                KMeansFit::MODEL_FORMAT,
            )))
        }
    }
}
