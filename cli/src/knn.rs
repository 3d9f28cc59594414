//! `gpu-cluster knn`: read the points (and the queries), search, write the
//! neighbours' indices and distances, and summarise the run on stderr.

use std::fmt::Display;
use std::path::Path;
use std::time::Instant;

use gpu_cluster::{Error, KnnIndex, NearestNeighbors, Neighbors, Points, RadiusNeighbors};

use crate::args::{KnnArgs, backend_name, count, with_flag};
use crate::fail::Failure;
use crate::input::read_points_with;
use crate::note;
use crate::output::{check_writable, destination, write_rows};
use crate::progress::Progress;

/// Runs the subcommand.
pub fn run(args: &KnnArgs) -> Result<(), Failure> {
    let indices_to = destination(args.indices.as_deref());
    let distances_to = args.distances.as_deref().map(|p| destination(Some(p)));
    if indices_to.is_none() && distances_to == Some(None) {
        return Err(Failure::Input(
            "--distances - writes to stdout, where the indices go: give --indices a file".into(),
        ));
    }
    check_writable(
        indices_to
            .into_iter()
            .chain(distances_to.flatten())
            .chain(args.save_model.as_deref()),
    )?;

    let options = args.read.options();
    // The points: read from INPUT, or held by the saved index (loaded once
    // the context is open).
    let read = args
        .input
        .as_deref()
        .map(|input| read_points_with(input, &options))
        .transpose()?;
    let queries = args
        .queries
        .as_deref()
        .map(|q| read_points_with(q, &options).map(|(points, _)| points))
        .transpose();
    let queries = queries.map_err(|f| with_flag("--queries", f))?;

    let (ctx, open_time) = args.backend.open_timed()?;
    let started = Instant::now();
    let (index, source, input) = match (&read, &args.model) {
        (Some((data, info)), _) => {
            let index = NearestNeighbors::new()
                .metric(args.metric.0)
                .fit(&ctx, data)?;
            (index, args.input.as_deref(), format!("input {info}"))
        }
        (None, Some(model)) => {
            let index = KnnIndex::load(&ctx, model).map_err(|e| match e {
                Error::Model(m) => Failure::Input(m),
                e => e.into(),
            })?;
            let what = format!("model {}", model.display());
            (index, Some(model.as_path()), what)
        }
        // clap requires INPUT or --model.
        (None, None) => return Err(Failure::Input("give INPUT or --model".into())),
    };
    let source = source.unwrap_or(Path::new("-"));
    let data = match &read {
        Some((data, _)) => data.clone(),
        None => index.points().clone(),
    };
    let progress = Progress::start("knn");
    let found = search(args, &index, &data, queries.as_ref());
    progress.finish();
    let found =
        found.map_err(|e| explain(e, source, &data, args.queries.as_deref(), queries.as_ref()))?;
    let search_time = started.elapsed();
    if let Some(path) = &args.save_model {
        index
            .save(path)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
    }

    // Files first, stdout last: if a file cannot be written, nothing has
    // gone to stdout yet, so a pipeline sees a failure and no partial rows.
    match distances_to {
        Some(None) => {
            write_found(&found, indices_to, Part::Indices)?;
            write_found(&found, None, Part::Distances)?;
        }
        Some(Some(path)) => {
            write_found(&found, Some(path), Part::Distances)?;
            write_found(&found, indices_to, Part::Indices)?;
        }
        None => write_found(&found, indices_to, Part::Indices)?,
    }

    let searched = match &queries {
        Some(q) => format!(
            "{} x {} against {}",
            count(q.len(), "query"),
            q.dim(),
            count(data.len(), "point")
        ),
        None => format!(
            "{} x {} against themselves ({})",
            count(data.len(), "point"),
            data.dim(),
            if args.exclude_self {
                "each leaving itself out"
            } else {
                "each finding itself"
            }
        ),
    };
    let size = match &found {
        Found::K(nn) => format!("k {}", nn.k()),
        Found::Radius(r) => {
            let counts = r.offsets().windows(2).map(|w| w[1] - w[0]);
            let (min, max) = counts.fold((usize::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
            format!(
                "radius {}: {}, {min} to {max} per query",
                args.radius.unwrap_or_default(),
                count(r.offsets().last().copied().unwrap_or(0), "neighbour"),
            )
        }
    };
    note(format_args!(
        "knn: {searched}; {size}; {} metric; backend {}: {ctx}; search {:.1} ms{open_time}; {input}",
        index.metric().name(),
        backend_name(&ctx),
        search_time.as_secs_f64() * 1e3,
    ));
    Ok(())
}

/// What a search found: `k` per query, or everything within the radius.
enum Found {
    K(Neighbors),
    Radius(RadiusNeighbors),
}

impl Found {
    fn len(&self) -> usize {
        match self {
            Found::K(nn) => nn.len(),
            Found::Radius(r) => r.len(),
        }
    }
}

/// Which half of the results to write.
#[derive(Clone, Copy)]
enum Part {
    Indices,
    Distances,
}

/// Runs the search the flags ask for on `index`, built over `data`. The
/// queries are `queries`, or the data itself: `None` (each point leaving
/// itself out, by index) with `--exclude-self`, otherwise the data passed
/// explicitly, so each point finds itself.
fn search(
    args: &KnnArgs,
    index: &KnnIndex,
    data: &Points,
    queries: Option<&Points>,
) -> gpu_cluster::Result<Found> {
    let queries = match queries {
        Some(q) => Some(q),
        None if args.exclude_self => None,
        None => Some(data),
    };
    match (args.k, args.radius) {
        (Some(k), _) => index.kneighbors(queries, k).map(Found::K),
        (None, Some(r)) => index.radius_neighbors(queries, r).map(Found::Radius),
        // clap requires one of them; an error rather than a panic anyway.
        (None, None) => Err(Error::InvalidParameter {
            name: "k",
            value: "none".into(),
            reason: "give --k or --radius",
        }),
    }
}

/// The library's error with the files it is about, where it helps: which
/// file has the other dimension, and how many points there are to pick
/// `k` from. `source` is the file the points came from (INPUT or the
/// model), `queries_path` the one the queries came from.
fn explain(
    e: Error,
    source: &Path,
    data: &Points,
    queries_path: Option<&Path>,
    queries: Option<&Points>,
) -> Failure {
    match (&e, queries_path, queries) {
        (Error::DimensionMismatch { .. }, Some(path), Some(q)) => {
            let what = format!(
                "the queries have {}, the points in {} have {}",
                count(q.dim(), "column"),
                source.display(),
                data.dim()
            );
            with_flag("--queries", Failure::input(path, what))
        }
        (Error::InvalidParameter { name: "k", .. }, ..) => Failure::Input(format!(
            "{e}; {} holds {}",
            source.display(),
            count(data.len(), "point")
        )),
        _ => e.into(),
    }
}

/// Writes one CSV row per query: the indices or the distances.
fn write_found(found: &Found, path: Option<&Path>, part: Part) -> Result<(), Failure> {
    fn rows<'a, T: Display + 'a>(
        path: Option<&Path>,
        n: usize,
        row: impl Fn(usize) -> &'a [T],
    ) -> Result<(), Failure> {
        write_rows(path, (0..n).map(row))
    }
    let n = found.len();
    match (found, part) {
        (Found::K(nn), Part::Indices) => rows(path, n, |i| nn.indices(i)),
        (Found::K(nn), Part::Distances) => rows(path, n, |i| nn.distances(i)),
        (Found::Radius(r), Part::Indices) => rows(path, n, |i| r.indices(i)),
        (Found::Radius(r), Part::Distances) => rows(path, n, |i| r.distances(i)),
    }
}
