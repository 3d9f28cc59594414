//! The kNN known answers from scikit-learn (`tests/data/sklearn_knn/` at
//! the repository root, with the script and versions that made them)
//! through `gpu-cluster knn`, on both backends: the same checks as the
//! library's `tests/sklearn_knn.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::knn_cases::{Case, cases, rows};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/sklearn_knn")
}

fn run_cli(case: &Case, backend: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let (idx, dist) = (out_dir.path().join("i.csv"), out_dir.path().join("d.csv"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-cluster"));
    cmd.arg("knn")
        .arg(case.dir.join("data.csv"))
        .args(["--metric", case.metric.name(), "--backend", backend])
        .arg("--indices")
        .arg(&idx)
        .arg("--distances")
        .arg(&dist);
    match (case.k, case.radius) {
        (Some(k), _) => cmd.args(["--k", &k.to_string()]),
        (None, Some(r)) => cmd.args(["--radius", &r.to_string()]),
        _ => unreachable!("k or radius"),
    };
    match &case.queries {
        Some(_) => cmd.arg("--queries").arg(case.dir.join("queries.csv")),
        None => cmd.arg("--exclude-self"),
    };
    let out = cmd.output().unwrap();
    let what = format!("{} (CLI, {backend})", case.name);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let i: Vec<Vec<u32>> = rows(&idx);
    let d: Vec<Vec<f32>> = rows(&dist);
    let i: Vec<&[u32]> = i.iter().map(Vec::as_slice).collect();
    let d: Vec<&[f32]> = d.iter().map(Vec::as_slice).collect();
    case.check(&what, &i, &d);
}

#[test]
fn the_command_line_matches_scikit_learn() {
    let gpu = common::gpu().is_some();
    for case in cases(&root()) {
        run_cli(&case, "cpu");
        if gpu {
            run_cli(&case, "gpu");
        }
    }
}
