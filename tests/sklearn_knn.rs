//! Known answers from scikit-learn's `NearestNeighbors` (and numpy for the
//! inner product), kept under `tests/data/sklearn_knn/` with the script
//! and versions that made them (see its README). Every case runs through
//! the library on both backends and through `gpu-cluster knn`: indices
//! must be equal, distances within `f32` rounding of scikit-learn's
//! `float64` values (1e-4 relative plus 5e-3 absolute, the README's bound:
//! a distance of 0 between duplicates computed from norms can be off by
//! 4e-3 in `f32`; this library computes differences, which are exact
//! there, but the bound is the data's).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use gpu_cluster::{Context, Metric, NearestNeighbors, Points};

struct Case {
    name: String,
    dir: PathBuf,
    data: Points,
    queries: Option<Points>,
    metric: Metric,
    k: Option<usize>,
    radius: Option<f32>,
    indices: Vec<Vec<u32>>,
    distances: Vec<Vec<f64>>,
}

fn rows<T: std::str::FromStr>(path: &Path) -> Vec<Vec<T>>
where
    T::Err: std::fmt::Debug,
{
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            l.split(',')
                .filter(|s| !s.is_empty())
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect()
}

fn points(path: &Path) -> Points {
    let r: Vec<Vec<f32>> = rows(path);
    Points::from_rows(&r).unwrap()
}

/// One `"key": value` line of `case.json`.
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    json.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("\"{key}\": ")))
        .unwrap_or_else(|| panic!("case.json has no {key}"))
        .trim_end_matches(',')
        .trim_matches('"')
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_knn");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 9, "cases missing under {}", root.display());
    dirs.into_iter()
        .map(|dir| {
            let json = fs::read_to_string(dir.join("case.json")).unwrap();
            let queries = dir.join("queries.csv");
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                data: points(&dir.join("data.csv")),
                queries: queries.exists().then(|| points(&queries)),
                metric: field(&json, "metric").parse().unwrap(),
                k: field(&json, "k").parse().ok(),
                radius: field(&json, "radius").parse().ok(),
                indices: rows(&dir.join("indices.csv")),
                distances: rows(&dir.join("distances.csv")),
                dir,
            }
        })
        .collect()
}

impl Case {
    fn check(&self, what: &str, indices: &[&[u32]], distances: &[&[f32]]) {
        assert_eq!(indices.len(), self.indices.len(), "{what}: queries");
        for (i, (got, want)) in indices.iter().zip(&self.indices).enumerate() {
            assert_eq!(*got, &want[..], "{what}: query {i} indices");
            assert_eq!(distances[i].len(), got.len(), "{what}: query {i} distances");
            for (g, w) in distances[i].iter().zip(&self.distances[i]) {
                assert!(
                    (f64::from(*g) - w).abs() <= 1e-4 * w.abs() + 5e-3,
                    "{what}: query {i}: {g} vs {w}"
                );
            }
        }
    }

    fn run_library(&self, ctx: &Context) {
        let what = format!("{} on {ctx}", self.name);
        let index = NearestNeighbors::new()
            .metric(self.metric)
            .fit(ctx, &self.data)
            .unwrap();
        let q = self.queries.as_ref();
        if let Some(k) = self.k {
            let nn = index.kneighbors(q, k).unwrap();
            let i: Vec<&[u32]> = (0..nn.len()).map(|r| nn.indices(r)).collect();
            let d: Vec<&[f32]> = (0..nn.len()).map(|r| nn.distances(r)).collect();
            self.check(&what, &i, &d);
        } else {
            let radius = self.radius.expect("k or radius");
            let nn = index.radius_neighbors(q, radius).unwrap();
            let i: Vec<&[u32]> = (0..nn.len()).map(|r| nn.indices(r)).collect();
            let d: Vec<&[f32]> = (0..nn.len()).map(|r| nn.distances(r)).collect();
            self.check(&what, &i, &d);
        }
    }

    fn run_cli(&self, backend: &str) {
        let out_dir = tempfile::tempdir().unwrap();
        let (idx, dist) = (out_dir.path().join("i.csv"), out_dir.path().join("d.csv"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-cluster"));
        cmd.arg("knn")
            .arg(self.dir.join("data.csv"))
            .args(["--metric", self.metric.name(), "--backend", backend])
            .arg("--indices")
            .arg(&idx)
            .arg("--distances")
            .arg(&dist);
        match (self.k, self.radius) {
            (Some(k), _) => cmd.args(["--k", &k.to_string()]),
            (None, Some(r)) => cmd.args(["--radius", &r.to_string()]),
            _ => unreachable!("k or radius"),
        };
        match &self.queries {
            Some(_) => cmd.arg("--queries").arg(self.dir.join("queries.csv")),
            None => cmd.arg("--exclude-self"),
        };
        let out = cmd.output().unwrap();
        let what = format!("{} (CLI, {backend})", self.name);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let i: Vec<Vec<u32>> = rows(&idx);
        let d: Vec<Vec<f32>> = rows(&dist);
        let i: Vec<&[u32]> = i.iter().map(Vec::as_slice).collect();
        let d: Vec<&[f32]> = d.iter().map(Vec::as_slice).collect();
        self.check(&what, &i, &d);
    }
}

#[test]
fn the_library_matches_scikit_learn() {
    let gpu = common::gpu();
    for case in cases() {
        case.run_library(&Context::cpu());
        if let Some(gpu) = &gpu {
            case.run_library(gpu);
        }
    }
}

#[test]
fn the_command_line_matches_scikit_learn() {
    let gpu = common::gpu().is_some();
    for case in cases() {
        case.run_cli("cpu");
        if gpu {
            case.run_cli("gpu");
        }
    }
}
