//! `meanshift --distances`: the choice reaches the fit (the labels are the
//! library's with the same choice, the summary and the saved model say
//! what ran), 32 coordinates or fewer run direct whatever was asked, and
//! expanded with `--method grid` is the library's parameter error.

mod common;

use common::run::{Scratch, fails, ok, ok_with_summary};

use gpu_cluster::meanshift::Distances;
use gpu_cluster::{Blobs, Context, MeanShift, MeanShiftFit};

/// Blobs of `dim` coordinates, as `blobs` writes them and as the library
/// generates them (`.npy` float32: the same bits).
fn blobs(dir: &Scratch, dim: usize) -> (String, Blobs) {
    let spec = Blobs {
        clusters: 4,
        per_cluster: 30,
        dim,
        ..Blobs::default()
    };
    let path = dir.blobs_with(
        &format!("blobs{dim}.npy"),
        &[
            "--clusters",
            "4",
            "--per-cluster",
            "30",
            "--dim",
            &dim.to_string(),
        ],
    );
    (path, spec)
}

/// The fit the flags of [`fit`] describe, in the library.
fn library() -> MeanShift {
    MeanShift::new(10.0).blurring(3)
}

/// Runs `meanshift` with `distances` on `backend`, saving the model;
/// returns the labels, the summary line and the loaded model.
fn fit(
    dir: &Scratch,
    input: &str,
    backend: &str,
    distances: Option<&str>,
) -> (Vec<i32>, String, MeanShiftFit) {
    let model = dir.path("model.json");
    let mut args = vec![
        "meanshift",
        input,
        "--bandwidth",
        "10",
        "--mode",
        "blurring",
        "--max-iter",
        "3",
        "--backend",
        backend,
        "--save-model",
        &model,
    ];
    if let Some(d) = distances {
        args.extend(["--distances", d]);
    }
    let (out, summary) = ok_with_summary(&args);
    let labels = out.lines().map(|l| l.parse().unwrap()).collect();
    (labels, summary, MeanShiftFit::load(&model).unwrap())
}

#[test]
fn expanded_reaches_the_fit_above_32_columns() {
    let dir = Scratch::new();
    let (input, spec) = blobs(&dir, 40);
    let x = spec.generate().unwrap().points;
    for (backend, ctx) in common::backends() {
        let want = library()
            .distances(Distances::Expanded)
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(want.distances(), Distances::Expanded);
        let (labels, summary, model) = fit(&dir, &input, backend, Some("expanded"));
        assert_eq!(labels, want.labels(), "{backend}");
        assert!(
            summary.contains("; dense, expanded distances;"),
            "{summary}"
        );
        assert_eq!(model.distances(), Distances::Expanded, "{backend}");
        assert_eq!(model.centers(), want.centers(), "{backend}");

        // The default is direct, said as such, with the library's direct
        // fit; on these well-separated blobs the clusters agree.
        let direct = library().fit(&ctx, &x).unwrap();
        let (labels, summary, model) = fit(&dir, &input, backend, None);
        assert_eq!(labels, direct.labels(), "{backend}");
        assert_eq!(labels, want.labels(), "{backend}");
        assert!(summary.contains("; dense, direct distances;"), "{summary}");
        assert_eq!(model.distances(), Distances::Direct, "{backend}");
        let (labels, _, model) = fit(&dir, &input, backend, Some("direct"));
        assert_eq!(labels, direct.labels(), "{backend}");
        assert_eq!(model.distances(), Distances::Direct, "{backend}");
    }
}

#[test]
fn expanded_runs_direct_on_32_columns_or_fewer() {
    let dir = Scratch::new();
    for dim in [2, 32] {
        let (input, spec) = blobs(&dir, dim);
        let x = spec.generate().unwrap().points;
        let want = library().fit(&Context::cpu(), &x).unwrap();
        let (labels, summary, model) = fit(&dir, &input, "cpu", Some("expanded"));
        assert_eq!(labels, want.labels(), "D = {dim}");
        assert!(summary.contains("; dense, direct distances;"), "{summary}");
        assert_eq!(model.distances(), Distances::Direct, "D = {dim}");
    }
}

#[test]
fn expanded_with_the_grid_is_a_parameter_error() {
    let dir = Scratch::new();
    let (input, _) = blobs(&dir, 2);
    for method in ["grid", "dense"] {
        let args = [
            "meanshift",
            &input,
            "--bandwidth",
            "10",
            "--method",
            method,
            "--distances",
            "expanded",
            "--backend",
            "cpu",
        ];
        if method == "grid" {
            fails(
                2,
                &args,
                "invalid --distances = expanded: expanded distances are for the dense sums",
            );
        } else {
            ok(&args);
        }
    }
    fails(
        2,
        &["meanshift", &input, "--distances", "gemm"],
        "[possible values: direct, expanded]",
    );
}
