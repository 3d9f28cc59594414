//! `gpu-cluster knn`, run as a user runs it: the built binary on tiny files
//! whose neighbours can be worked out by hand, on the CPU and (where there is
//! an adapter, or with REQUIRE_GPU=1) the GPU; the output files, the
//! one-line messages and the exit statuses (0 success, 2 bad input or usage,
//! 1 run-time failure).

mod common;

use common::check::{parse_lists, parse_rows};
use common::run::{Scratch, assert_has, assert_help, fails, meanshift_args, ok, ok_with_stderr};

/// Points on a line: 0, 1, 3, 3, 8. Their mean is 3, so the library's
/// centring is exact and every distance is an integer, on either backend.
/// Points 2 and 3 are duplicates.
const LINE: &str = "0\n1\n3\n3\n8\n";

/// Five 2-D points for the angular metrics: (1, 0), (0, 2), (3, 4), (2, 0)
/// (the direction of point 0) and (-1, 0) (the opposite one).
const PLANE: &str = "x,y\n1,0\n0,2\n3,4\n2,0\n-1,0\n";

/// CSV rows of floats, each checked to be in Rust's shortest round-trip
/// form; an empty line is an empty row.
fn float_rows(text: &str) -> Vec<Vec<f32>> {
    let rows: Vec<Vec<f32>> = parse_lists(text);
    for (line, row) in text.lines().zip(&rows) {
        for (v, x) in line.split(',').filter(|v| !v.is_empty()).zip(row) {
            assert_eq!(x.to_string(), v, "not the shortest form");
        }
    }
    rows
}

fn assert_close(got: &[Vec<f32>], want: &[&[f32]], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "{got:?} vs {want:?}");
        for (a, b) in g.iter().zip(w.iter()) {
            assert!((a - b).abs() <= tol, "{got:?} vs {want:?}");
        }
    }
}

/// `knn INPUT`, then `extra`, on `backend`.
fn knn<'a>(input: &'a str, extra: &[&'a str], backend: &'a str) -> Vec<&'a str> {
    [&["knn", input][..], extra, &["--backend", backend]].concat()
}

/// Two nearest neighbours of each point but itself by `metric`, their
/// distances to `dist`.
fn two_others<'a>(metric: &'a str, dist: &'a str) -> [&'a str; 7] {
    [
        "--k",
        "2",
        "--exclude-self",
        "--metric",
        metric,
        "--distances",
        dist,
    ]
}

/// The backends to run: the CPU, and the GPU when there is an adapter (any,
/// software included; with REQUIRE_GPU=1 a missing one fails the test).
fn backends() -> Vec<&'static str> {
    common::backends().into_iter().map(|(b, _)| b).collect()
}

/// A temporary directory holding `line.csv` and `plane.csv`.
struct Files {
    dir: Scratch,
    line: String,
    plane: String,
}

impl std::ops::Deref for Files {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        &self.dir
    }
}

impl Files {
    fn new() -> Self {
        let dir = Scratch::new();
        let line = dir.write("line.csv", LINE);
        let plane = dir.write("plane.csv", PLANE);
        Files { dir, line, plane }
    }
}

/// Without --queries each point is its own neighbour at distance 0; equal
/// distances go to the lower index, so point 3 finds its duplicate 2 first.
#[test]
fn euclidean_each_point_finds_itself() {
    let f = Files::new();
    for backend in backends() {
        let dist = f.path("d.csv");
        let (out, summary) =
            ok_with_stderr(&knn(&f.line, &["--k", "2", "--distances", &dist], backend));
        assert_eq!(out, "0,1\n1,0\n2,3\n2,3\n4,2\n", "{backend}");
        assert_eq!(f.read("d.csv"), "0,1\n0,1\n0,0\n0,0\n0,5\n", "{backend}");
        assert_has(
            &summary,
            &[
                "knn: 5 points x 1 against themselves (each finding itself)",
                "; k 2;",
                "euclidean metric",
                &format!("backend {backend}: "),
                " ms",
            ],
        );
    }
}

/// --exclude-self leaves each point out by index, not by distance: the
/// duplicates 2 and 3 stay each other's nearest at distance 0.
#[test]
fn exclude_self_keeps_duplicates() {
    let f = Files::new();
    let (idx, dist, idx2) = (f.path("i.csv"), f.path("d.csv"), f.path("i2.csv"));
    for backend in backends() {
        // Two neighbours each, leaving itself out, to `outputs`.
        let to = |outputs: &[&str]| {
            let args = [&["--k", "2", "--exclude-self"][..], outputs].concat();
            ok_with_stderr(&knn(&f.line, &args, backend))
        };
        let (printed, _) = to(&["--indices", &idx, "--distances", &dist]);
        assert_eq!(printed, "", "indices go to the file, not stdout");
        assert_eq!(f.read("i.csv"), "1,2\n0,2\n3,1\n2,1\n2,3\n", "{backend}");
        assert_eq!(f.read("d.csv"), "1,3\n1,2\n0,2\n0,2\n5,5\n", "{backend}");
        // `--indices -` is stdout, like no --indices.
        let (dashed, _) = to(&["--indices", "-"]);
        assert_eq!(dashed, f.read("i.csv"));
        // And the distances can go to stdout while the indices go to a file.
        let (out, summary) = to(&["--indices", &idx2, "--distances", "-"]);
        assert!(summary.contains("each leaving itself out"));
        assert_eq!(out, f.read("d.csv"));
        assert_eq!(f.read("i2.csv"), f.read("i.csv"));
    }
}

/// FAISS's IndexFlatL2 distances: the squares, same order.
#[test]
fn sqeuclidean_distances_are_squares() {
    let f = Files::new();
    let dist = f.path("d.csv");
    let args = two_others("sqeuclidean", &dist);
    for backend in backends() {
        let idx = ok(&knn(&f.line, &args, backend));
        assert_eq!(idx, "1,2\n0,2\n3,1\n2,1\n2,3\n", "{backend}");
        assert_eq!(f.read("d.csv"), "1,9\n1,4\n0,4\n0,4\n25,25\n", "{backend}");
    }
}

/// 1 - cos: (1, 0) and (2, 0) are at distance 0, (3, 4) is 1 - 3/5 = 0.4
/// from both, (0, 2) is 1 - 4/5 = 0.2 from (3, 4), (-1, 0) is 2 from the
/// x axis. The header row of plane.csv is skipped.
#[test]
fn cosine_known_answer() {
    let f = Files::new();
    let dist = f.path("d.csv");
    let args = two_others("cosine", &dist);
    for backend in backends() {
        let idx = ok(&knn(&f.plane, &args, backend));
        assert_eq!(idx, "3,2\n2,0\n1,0\n0,2\n1,2\n", "{backend}");
        let want: [&[f32]; 5] = [
            &[0.0, 0.4],
            &[0.2, 1.0],
            &[0.2, 0.4],
            &[0.0, 0.4],
            &[1.0, 1.6],
        ];
        assert_close(&float_rows(&f.read("d.csv")), &want, 1e-6);
    }
}

/// Inner products, largest first, against queries from another file: from
/// (1, 1) the products are 1, 2, 7, 2, -1 and the tie 2 = 2 goes to the
/// lower index; from (0, -1) they are 0, -2, -4, 0, 0.
#[test]
fn inner_product_with_queries_from_a_file() {
    let f = Files::new();
    let queries = f.write("q.csv", "1,1\n0,-1\n");
    let dist = f.path("d.csv");
    let args = [
        "--queries",
        &queries,
        "--k",
        "3",
        "--metric",
        "inner_product",
        "--distances",
        &dist,
    ];
    for backend in backends() {
        let (out, summary) = ok_with_stderr(&knn(&f.plane, &args, backend));
        assert_eq!(out, "2,1,3\n0,3,4\n", "{backend}");
        assert_eq!(f.read("d.csv"), "7,2,2\n0,0,0\n", "{backend}");
        assert!(
            summary.contains("2 queries x 2 against 5 points"),
            "{summary}"
        );
        assert!(summary.contains("inner_product metric"), "{summary}");
    }
}

/// --radius: every point within the distance, inclusive, sorted; a query
/// with none gets an empty row.
#[test]
fn radius_rows_vary_in_length_and_may_be_empty() {
    let f = Files::new();
    let queries = f.write("q.csv", "2\n10\n-0.5\n");
    let dist = f.path("d.csv");
    for backend in backends() {
        let own = ["--radius", "1", "--exclude-self", "--distances", &dist];
        let (out, summary) = ok_with_stderr(&knn(&f.line, &own, backend));
        assert_eq!(out, "1\n0\n3\n2\n\n", "{backend}");
        assert_eq!(f.read("d.csv"), "1\n1\n0\n0\n\n", "{backend}");
        assert!(
            summary.contains("radius 1: 4 neighbours, 0 to 1 per query"),
            "{summary}"
        );
        // Queries from a file: 2 is exactly 1 from 1, 3 and 3 (index
        // order breaks the tie); nothing is within 1.5 of 10.
        let from_file = [
            "--queries",
            &queries,
            "--radius",
            "1.5",
            "--distances",
            &dist,
        ];
        let out = ok(&knn(&f.line, &from_file, backend));
        assert_eq!(out, "1,2,3\n\n0,1\n", "{backend}");
        assert_close(
            &float_rows(&f.read("d.csv")),
            &[&[1.0, 1.0, 1.0], &[], &[0.5, 1.5]],
            0.0,
        );
    }
}

/// A 10 x 10 integer grid: distances are exact on both backends and full
/// of ties, so the GPU must give the CPU's output byte for byte.
#[test]
fn gpu_matches_cpu_on_a_grid_of_ties() {
    if common::gpu().is_none() {
        return;
    }
    let f = Files::new();
    let grid: String = (0..100)
        .map(|i| format!("{},{}\n", i % 10, i / 10))
        .collect();
    let grid = f.write("grid.csv", &grid);
    for extra in [
        &["--k", "8", "--exclude-self", "--metric", "sqeuclidean"][..],
        &["--k", "13"],
        &["--radius", "1.5", "--metric", "euclidean"],
    ] {
        let mut outputs = Vec::new();
        for backend in ["cpu", "gpu"] {
            let name = format!("d_{backend}.csv");
            let dist = f.path(&name);
            let args = [extra, &["--distances", &dist]].concat();
            outputs.push((ok(&knn(&grid, &args, backend)), f.read(&name)));
        }
        assert_eq!(outputs[0], outputs[1], "{extra:?}");
        assert_eq!(parse_rows::<u32>(&outputs[0].0).len(), 100);
    }
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let f = Files::new();
    let line = f.line.as_str();
    let q2 = f.write("q2.csv", "1,2\n");
    let cases: [(&[&str], &str); 14] = [
        (&["--k", "0"], "invalid k = 0"),
        (
            &["--k", "6"],
            "invalid k = 6: must be between 1 and the number of points",
        ),
        (&["--k", "5", "--exclude-self"], "invalid k = 5"),
        (&["--k", "6"], "holds 5 points"),
        (&["--k", "-1"], "--k"),
        (&["--radius", "-1"], "invalid radius = -1"),
        (&["--radius", "nan"], "invalid radius = NaN"),
        (
            &["--k", "1", "--queries", &q2],
            "the queries have 2 columns",
        ),
        (&["--radius", "1", "--queries", &q2], "q2.csv"),
        (&["--k", "1", "--metric", "manhattan"], "'manhattan'"),
        (
            &["--k", "1", "--queries", line, "--exclude-self"],
            "--exclude-self",
        ),
        (&["--k", "1", "--radius", "1"], "cannot be used with"),
        (&[], "--k"),
        (&["--k", "1", "--distances", "-"], "--distances -"),
    ];
    for (extra, needle) in cases {
        fails(2, &knn(line, extra, "cpu"), needle);
    }
    // Bad input files, as for every command.
    let missing = f.path("missing.csv");
    fails(2, &knn(&missing, &["--k", "1"], "cpu"), "cannot open");
    let ragged = f.write("ragged.csv", "1,2\n3\n");
    fails(
        2,
        &knn(line, &["--k", "1", "--queries", &ragged], "cpu"),
        "line 2 has 1 values",
    );
    fails(2, &["knn", "--k", "1"], "INPUT");
    // Two outputs in one file: the second would overwrite the first.
    f.fails_one_file_two_outputs(&["knn", line, "--k", "1"], "--indices", "--distances");
}

/// Output paths are checked before any work: an unwritable one is the
/// run-time failure meanshift reports (exit 1, "cannot write"), reported
/// before the input is even read, and it leaves no other output behind.
#[test]
fn unwritable_output_fails_before_any_work() {
    let f = Files::new();
    let no_dir = f.no_dir("out.csv");
    let idx = f.path("i.csv");
    let base = knn(&f.line, &["--k", "1"], "cpu");
    f.cannot_write(&base, "--indices");
    f.cannot_write(&base, "--distances");
    fails(
        1,
        &[&base[..], &["--indices", &idx, "--distances", &no_dir]].concat(),
        "cannot write",
    );
    assert!(!f.dir.dir().join("i.csv").exists(), "no partial output");
    // Before reading the input: the missing file is not what is reported.
    let missing = f.path("missing.csv");
    fails(
        1,
        &knn(&missing, &["--k", "1", "--indices", &no_dir], "cpu"),
        "cannot write",
    );
    // The check leaves an existing file as it was when the run then fails.
    f.fails_keeping(
        &knn(&f.line, &["--k", "9"], "cpu"),
        "--indices",
        "invalid k",
    );
}

/// The same output rules hold for meanshift: `--labels -` is stdout, and an
/// unwritable output is reported before the input is read.
#[test]
fn meanshift_shares_the_output_rules() {
    let f = Files::new();
    let args = meanshift_args(&f.line, "2", &[]);
    let plain = ok(&args);
    assert_eq!(plain.lines().count(), 5);
    assert_eq!(ok(&[&args[..], &["--labels", "-"]].concat()), plain);
    assert!(!f.dir.dir().join("-").exists());
    let no_dir = f.no_dir("labels.txt");
    let missing = f.path("missing.csv");
    fails(
        1,
        &[
            "meanshift",
            &missing,
            "--bandwidth",
            "2",
            "--labels",
            &no_dir,
        ],
        "cannot write",
    );
}

#[test]
fn help_lists_every_option_and_default() {
    assert_help(
        "knn",
        &[
            "--k <N>",
            "--radius <F>",
            "--queries <FILE>",
            "[default: euclidean] [possible values: euclidean, sqeuclidean, cosine, inner_product]",
            "--exclude-self",
            "[default: auto] [possible values: auto, gpu, cpu]",
            "--indices <FILE>",
            "[default: stdout]",
            "--distances <FILE>",
        ],
    );
}
