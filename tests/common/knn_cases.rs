//! The kNN known answers under `tests/data/sklearn_knn/` (see its README):
//! reading the cases and checking results against them.

use std::fs;
use std::path::{Path, PathBuf};

use gpu_cluster::{Metric, Points};

pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub data: Points,
    pub queries: Option<Points>,
    pub metric: Metric,
    pub k: Option<usize>,
    pub radius: Option<f32>,
    pub indices: Vec<Vec<u32>>,
    pub distances: Vec<Vec<f64>>,
}

pub fn rows<T: std::str::FromStr>(path: &Path) -> Vec<Vec<T>>
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

/// Every case under `root` (the repository's `tests/data/sklearn_knn`).
pub fn cases(root: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
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
    pub fn check(&self, what: &str, indices: &[&[u32]], distances: &[&[f32]]) {
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
}
