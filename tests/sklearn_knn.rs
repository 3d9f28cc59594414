//! Known answers from scikit-learn's `NearestNeighbors` (and numpy for the
//! inner product), kept under `tests/data/sklearn_knn/` with the script
//! and versions that made them (see its README). Every case runs through
//! the library on both backends (the command line runs them too:
//! `cli/tests/sklearn_knn.rs`): indices must be equal, distances within
//! `f32` rounding of scikit-learn's `float64` values (1e-4 relative plus
//! 5e-3 absolute, the README's bound: a distance of 0 between duplicates
//! computed from norms can be off by 4e-3 in `f32`; this library computes
//! differences, which are exact there, but the bound is the data's).

mod common;

use std::path::Path;

use common::knn_cases::{Case, cases};
use gpu_cluster::{Context, NearestNeighbors};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_knn")
}

fn run_library(case: &Case, ctx: &Context) {
    let what = format!("{} on {ctx}", case.name);
    let index = NearestNeighbors::new()
        .metric(case.metric)
        .fit(ctx, &case.data)
        .unwrap();
    let q = case.queries.as_ref();
    if let Some(k) = case.k {
        let nn = index.kneighbors(q, k).unwrap();
        let i: Vec<&[u32]> = (0..nn.len()).map(|r| nn.indices(r)).collect();
        let d: Vec<&[f32]> = (0..nn.len()).map(|r| nn.distances(r)).collect();
        case.check(&what, &i, &d);
    } else {
        let radius = case.radius.expect("k or radius");
        let nn = index.radius_neighbors(q, radius).unwrap();
        let i: Vec<&[u32]> = (0..nn.len()).map(|r| nn.indices(r)).collect();
        let d: Vec<&[f32]> = (0..nn.len()).map(|r| nn.distances(r)).collect();
        case.check(&what, &i, &d);
    }
}

#[test]
fn the_library_matches_scikit_learn() {
    let gpu = common::gpu();
    for case in cases(&root()) {
        run_library(&case, &Context::cpu());
        if let Some(gpu) = &gpu {
            run_library(&case, gpu);
        }
    }
}
