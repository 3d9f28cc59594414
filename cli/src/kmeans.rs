//! `gpu-cluster kmeans`: read points (and initial centres and weights),
//! fit, write labels and centres, and summarise the run on stderr.

use std::path::Path;
use std::time::Instant;

use gpu_cluster::io::ReadInfo;
use gpu_cluster::{Error, KMeans, KMeansInit, Points};

use crate::args::{InitArg, KMeansArgs, backend_name, count, explain, with_flag};
use crate::fail::Failure;
use crate::input::{read_points, read_points_with, read_weights};
use crate::note;
use crate::output::{
    check_centres_destination, check_writable, destination, write_centres, write_lines,
};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &KMeansArgs) -> Result<(), Failure> {
    if args.save_model.as_deref() == Some(Path::new("-")) {
        return Err(Failure::Input(
            "--save-model needs a file: standard output carries the labels".into(),
        ));
    }
    let labels_to = destination(args.labels.as_deref());
    check_centres_destination(labels_to, args.centers.as_deref())?;
    check_writable(
        labels_to
            .into_iter()
            .chain(args.centers.as_deref())
            .chain(args.save_model.as_deref()),
    )?;
    let (points, info) = read_points_with(&args.input, &args.read.options())?;
    check_k(args, &points, &info)?;
    let (km, given) = with_files(params(args), args, &points)?;
    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let progress = Progress::start("kmeans");
    let km = match progress.observer() {
        Some(observer) => km.observer(observer),
        None => km,
    };
    let fit = km.fit(&ctx, &points);
    progress.finish();
    let fit = fit.map_err(|e| explain_fit(e, args, &points, &info))?;
    let fit_time = started.elapsed();
    // Centres and model first: if their file cannot be written, nothing has
    // gone to stdout yet, so a pipeline sees a failure and no partial labels.
    if let Some(path) = &args.centers {
        write_centres(path, fit.cluster_centers(), fit.offset())?;
    }
    if let Some(path) = &args.save_model {
        fit.save(path)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }
    write_lines(labels_to, fit.labels())?;
    let given = if given.is_empty() {
        String::new()
    } else {
        format!(" ({})", given.join(", "))
    };
    let capped = if fit.n_iter() == args.max_iter {
        " (reached --max-iter)"
    } else {
        ""
    };
    note(format_args!(
        "kmeans: {} from {} x {}{given}; {}{capped}, inertia {}; init {}; \
         backend {}: {ctx}; fit {:.1} ms{open_time}; input {info}",
        count(fit.n_clusters(), "cluster"),
        count(points.len(), "point"),
        points.dim(),
        count(fit.n_iter(), "iteration"),
        fit.inertia(),
        init_words(args),
        backend_name(&ctx),
        fit_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// The library parameters the flags describe. Values are checked by the
/// library at fit time, so the CLI and the API reject the same things.
fn params(args: &KMeansArgs) -> KMeans {
    let km = KMeans::new(args.k)
        .max_iter(args.max_iter)
        .tol(args.tol)
        .seed(args.seed);
    match args.n_init {
        Some(n) => km.n_init(n),
        None => km,
    }
}

/// `--k` against the number of points, before any file but INPUT is read
/// or a device opened; in the library's words, which the fit would give.
fn check_k(args: &KMeansArgs, points: &Points, info: &ReadInfo) -> Result<(), Failure> {
    let reason = match args.k {
        0 => "must be >= 1",
        k if k > points.len() => "must be at most the number of points",
        _ => return Ok(()),
    };
    let e = Error::InvalidParameter {
        name: "k",
        value: args.k.to_string(),
        reason,
    };
    Err(explain_fit(e, args, points, info))
}

/// `km` with the initial centres and weights the flags name, checked
/// against the points of INPUT so a mismatch names both files; and the
/// words the summary gives them ("weighted").
fn with_files(
    km: KMeans,
    args: &KMeansArgs,
    points: &Points,
) -> Result<(KMeans, Vec<String>), Failure> {
    let mut given = Vec::new();
    let mut km = match &args.init {
        InitArg::KMeansPlusPlus => km.init(KMeansInit::KMeansPlusPlus),
        InitArg::Random => km.init(KMeansInit::Random),
        InitArg::File(path) if !path.exists() => {
            return Err(Failure::Input(format!(
                "--init {}: no such file; give k-means++, random or a file of centres",
                path.display()
            )));
        }
        InitArg::File(path) => {
            let centres = read_points(path).map_err(|f| with_flag("--init", f))?;
            if centres.dim() != points.dim() {
                return Err(Failure::Input(format!(
                    "--init {}: {}, the points in {} have {}",
                    path.display(),
                    count(centres.dim(), "column"),
                    args.input.display(),
                    points.dim()
                )));
            }
            if centres.len() != args.k {
                return Err(Failure::Input(format!(
                    "--init {}: {} for --k {}: give one row per cluster",
                    path.display(),
                    count(centres.len(), "centre"),
                    args.k
                )));
            }
            km.init(KMeansInit::Given(centres))
        }
    };
    if let Some(path) = &args.sample_weights {
        let weights = read_weights(path, false, points, &args.input)?;
        given.push("weighted".to_string());
        km = km.sample_weights(weights);
    }
    Ok((km, given))
}

/// How the initial centres were chosen, in words: the method and seed and
/// how many runs, or the file.
fn init_words(args: &KMeansArgs) -> String {
    let runs = |default: usize| match args.n_init.unwrap_or(default) {
        1 => String::new(),
        n => format!(", best of {n} runs"),
    };
    match &args.init {
        InitArg::KMeansPlusPlus => format!("k-means++ (seed {}{})", args.seed, runs(1)),
        InitArg::Random => format!("random (seed {}{})", args.seed, runs(10)),
        InitArg::File(path) => format!("centres from {}", path.display()),
    }
}

/// A library error in the command line's words; `--k` out of range also
/// says how many points there are.
fn explain_fit(e: Error, args: &KMeansArgs, points: &Points, info: &ReadInfo) -> Failure {
    let too_many = matches!(&e, Error::InvalidParameter { name: "k", .. }) && args.k > 0;
    match explain(e, &args.input, info) {
        Failure::Input(m) if too_many => Failure::Input(format!(
            "{m}; {} holds {}",
            args.input.display(),
            count(points.len(), "point")
        )),
        f => f,
    }
}
