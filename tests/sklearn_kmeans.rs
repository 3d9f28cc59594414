//! Known answers from scikit-learn's `KMeans` (Lloyd), kept under
//! `tests/data/sklearn_kmeans/` with the script and versions that made them
//! (see its README). Every case runs on the CPU twin and, where there is an
//! adapter, on the GPU.
//!
//! Given initial centres: labels and `n_iter` must equal scikit-learn's
//! (the script checked that no decision lies within float32 rounding),
//! centres within 1e-4 (the data span tens of units, and `given_offset`
//! sits near 1e4, where an uncentred `f32` would be 1e-3 off), inertia
//! within 1e-5 relative (float32 data and centres against float64).
//! k-means++ and random init: the inertia within 1% of scikit-learn's best.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::knn_cases::rows;
use gpu_cluster::{Context, KMeans, KMeansInit, Points};

struct Case {
    name: String,
    data: Points,
    init: Option<Points>,
    weights: Option<Vec<f32>>,
    kind: String,
    k: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    inertia: f64,
    n_iter: Option<usize>,
    labels: Vec<i32>,
    centers: Vec<Vec<f64>>,
}

fn field<'a>(json: &'a str, key: &str) -> &'a str {
    json.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("\"{key}\": ")))
        .unwrap_or_else(|| panic!("case.json has no {key}"))
        .trim_end_matches(',')
        .trim_matches('"')
}

fn points(path: &Path) -> Points {
    let r: Vec<Vec<f32>> = rows(path);
    Points::from_rows(&r).unwrap()
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_kmeans");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "cases missing under {}", root.display());
    dirs.into_iter()
        .map(|dir| {
            let json = fs::read_to_string(dir.join("case.json")).unwrap();
            let opt = |f: &str| dir.join(f).exists().then(|| dir.join(f));
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                data: points(&dir.join("data.csv")),
                init: opt("init.csv").map(|p| points(&p)),
                weights: opt("weights.csv").map(|p| rows::<f32>(&p).concat()),
                kind: field(&json, "init").to_string(),
                k: field(&json, "k").parse().unwrap(),
                n_init: field(&json, "n_init").parse().unwrap(),
                max_iter: field(&json, "max_iter").parse().unwrap(),
                tol: field(&json, "tol").parse().unwrap(),
                inertia: field(&json, "inertia").parse().unwrap(),
                n_iter: field(&json, "n_iter").parse().ok(),
                labels: opt("labels.csv")
                    .map(|p| rows::<i32>(&p).concat())
                    .unwrap_or_default(),
                centers: opt("centers.csv").map(|p| rows(&p)).unwrap_or_default(),
            }
        })
        .collect()
}

fn run(case: &Case, ctx: &Context) {
    let what = format!("{} on {ctx}", case.name);
    let init = match case.kind.as_str() {
        "given" => KMeansInit::Given(case.init.clone().unwrap()),
        "k-means++" => KMeansInit::KMeansPlusPlus,
        "random" => KMeansInit::Random,
        other => panic!("{what}: unknown init {other}"),
    };
    let mut km = KMeans::new(case.k)
        .init(init)
        .n_init(case.n_init)
        .max_iter(case.max_iter)
        .tol(case.tol)
        .seed(0);
    if let Some(w) = &case.weights {
        km = km.sample_weights(w.clone());
    }
    let fit = km.fit(ctx, &case.data).unwrap();
    if case.kind != "given" {
        assert!(
            fit.inertia() <= 1.01 * case.inertia,
            "{what}: inertia {} vs scikit-learn's best {}",
            fit.inertia(),
            case.inertia
        );
        return;
    }
    assert_eq!(fit.labels(), &case.labels[..], "{what}: labels");
    assert_eq!(Some(fit.n_iter()), case.n_iter, "{what}: n_iter");
    let got = fit.cluster_centers().to_f64();
    for (c, want) in case.centers.iter().enumerate() {
        for (f, &w) in want.iter().enumerate() {
            let g = got[c * want.len() + f];
            assert!(
                (g - w).abs() <= 1e-4,
                "{what}: centre {c} coordinate {f}: {g} vs {w}"
            );
        }
    }
    assert!(
        (fit.inertia() - case.inertia).abs() <= 1e-5 * case.inertia.max(1.0),
        "{what}: inertia {} vs {}",
        fit.inertia(),
        case.inertia
    );
}

#[test]
fn the_library_matches_scikit_learn() {
    let gpu = common::gpu();
    for case in cases() {
        run(&case, &Context::cpu());
        if let Some(gpu) = &gpu {
            run(&case, gpu);
        }
    }
}
