//! `gpu-cluster dbscan`, run as a user runs it: the labels and core points
//! are the library's on the same data (on the CPU twin and, where there is
//! an adapter, on the GPU), and scikit-learn's on its cases under
//! `tests/data/sklearn_dbscan/`; sample weights; labels on stdout; bad
//! input is exit status 2 with one line, an unwritable output exit 1
//! before any work.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::check::parse_lines;
use common::run::{
    Scratch, assert_erased_before, assert_has, assert_help, fails, ok, ok_with_stderr,
    on_a_terminal, only_the_summary,
};

use gpu_cluster::io::read_points;
use gpu_cluster::{Context, Dbscan};

/// Runs `dbscan` with `args` after the input, labels and core points to
/// files; returns the labels, the core points and the summary line.
fn dbscan(dir: &Scratch, input: &str, args: &[&str]) -> (Vec<i32>, Vec<usize>, String) {
    let (labels, core, summary) = dir.labels_and("dbscan", input, ("--core", "core.txt"), args);
    (parse_lines(&labels), parse_lines(&core), summary)
}

#[test]
fn labels_and_core_points_are_the_librarys() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    for (backend, ctx) in common::backends() {
        for (eps, min_samples) in [("1.5", "5"), ("0.8", "10"), ("3", "1"), ("0.05", "2")] {
            let fit = Dbscan::new(eps.parse().unwrap(), min_samples.parse().unwrap())
                .fit(&ctx, &points)
                .unwrap();
            let args = ["--eps", eps, "--min-samples", min_samples];
            let (labels, core, summary) =
                dbscan(&dir, &data, &[&args[..], &["--backend", backend]].concat());
            assert_eq!(labels, fit.labels(), "{backend} {args:?}");
            assert_eq!(core, fit.core_sample_indices(), "{backend} {args:?}");
            let noise = labels.iter().filter(|&&l| l == -1).count();
            assert_has(
                &summary,
                &[
                    &format!("dbscan: {} cluster", fit.n_clusters()),
                    " from 200 points x 2; ",
                    &format!("{noise} noise point"),
                    &format!("{} core point", core.len()),
                    &format!("; eps {eps}, min_samples {min_samples}; "),
                    &format!("backend {backend}: "),
                    "input ",
                ],
            );
        }
    }
}

/// scikit-learn's own answers (`tests/data/sklearn_dbscan/make_dbscan_cases.py`):
/// the labels, numbered as scikit-learn numbers them, and the core points.
#[test]
fn scikit_learns_cases_through_the_command_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/sklearn_dbscan");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.iter().any(|c| c.ends_with("moons")),
        "the moons case is missing under {}",
        root.display()
    );
    let dir = Scratch::new();
    for case in &cases {
        let json = fs::read_to_string(case.join("case.json")).unwrap();
        let number = |key: &str| -> String {
            json.lines()
                .find_map(|l| l.trim().strip_prefix(&format!("\"{key}\": ")))
                .unwrap_or_else(|| panic!("{}: no {key}", case.display()))
                .trim_end_matches(',')
                .to_string()
        };
        let (eps, min_samples) = (number("eps"), number("min_samples"));
        let want_labels: Vec<i32> =
            parse_lines(&fs::read_to_string(case.join("labels.csv")).unwrap());
        let want_core: Vec<usize> =
            parse_lines(&fs::read_to_string(case.join("core.csv")).unwrap());
        let data = case.join("data.csv").display().to_string();
        let weights = case.join("weights.csv").display().to_string();
        let mut args = vec!["--eps", &eps, "--min-samples", &min_samples];
        if case.join("weights.csv").exists() {
            args.extend(["--sample-weights", &weights]);
        }
        for (backend, _) in common::backends() {
            let all = [&args[..], &["--backend", backend]].concat();
            let (labels, core, summary) = dbscan(&dir, &data, &all);
            assert_eq!(labels, want_labels, "{} on {backend}", case.display());
            assert_eq!(core, want_core, "{} on {backend}", case.display());
            let clusters = number("clusters");
            let noise = number("noise");
            assert!(
                summary.starts_with(&format!("dbscan: {clusters} cluster")),
                "{summary}"
            );
            assert!(
                summary.contains(&format!("; {noise} noise point")),
                "{summary}"
            );
        }
    }
}

#[test]
fn sample_weights_are_summed_as_in_the_library() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    // Negative weights are allowed, as in scikit-learn: they keep their
    // neighbours from being core.
    let weights: Vec<f32> = (0..200).map(|i| 0.5 * (i % 5) as f32 - 0.5).collect();
    let (text, file) = dir.weights("w.txt", &weights);
    for (backend, ctx) in common::backends() {
        let fit = Dbscan::new(1.5, 5)
            .sample_weights(weights.clone())
            .fit(&ctx, &points)
            .unwrap();
        let (labels, core, summary) = dbscan(
            &dir,
            &data,
            &[
                "--eps",
                "1.5",
                "--sample-weights",
                &file,
                "--backend",
                backend,
            ],
        );
        assert_eq!(labels, fit.labels(), "{backend}");
        assert_eq!(core, fit.core_sample_indices(), "{backend}");
        assert!(summary.contains("200 points x 2 (weighted);"), "{summary}");
        // The weights change the answer: unweighted, more points are core.
        let plain = Dbscan::new(1.5, 5).fit(&ctx, &points).unwrap();
        assert_ne!(core, plain.core_sample_indices(), "{backend}");
    }
    let base = ["dbscan", data.as_str(), "--backend", "cpu"];
    let short = dir.write("short.txt", "1\n2\n");
    let inf = dir.write("inf.txt", &text.replacen("-0.5\n", "inf\n", 1));
    let word = dir.write("word.txt", &text.replacen("-0.5\n", "heavy\n", 1));
    let missing = dir.path("missing.txt");
    for (file, needle) in [
        (&short, "--sample-weights"),
        (&short, "2 weights for the 200 points"),
        (&inf, "is not a weight: weights must be finite"),
        (&word, "\"heavy\" is not a number"),
        (&missing, "--sample-weights"),
    ] {
        fails(
            2,
            &[&base[..], &["--sample-weights", file]].concat(),
            needle,
        );
    }
}

#[test]
fn labels_go_to_stdout_by_default_and_for_dash() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let args = ["dbscan", data.as_str(), "--eps", "1.5", "--backend", "cpu"];
    let plain = ok(&args);
    assert_eq!(plain.lines().count(), 200);
    assert_eq!(ok(&[&args[..], &["--labels", "-"]].concat()), plain);
    assert!(!dir.dir().join("-").exists());
    // The core points on stdout, the labels in a file.
    let labels = dir.path("labels.txt");
    let core = ok(&[&args[..], &["--labels", &labels, "--core", "-"]].concat());
    assert_eq!(dir.read("labels.txt"), plain);
    let points = read_points(&data).unwrap();
    let fit = Dbscan::new(1.5, 5).fit(&Context::cpu(), &points).unwrap();
    assert_eq!(parse_lines::<usize>(&core), fit.core_sample_indices());
    // Both cannot go to stdout.
    fails(
        2,
        &[&args[..], &["--core", "-"]].concat(),
        "--core - writes to stdout, where the labels go: give --labels a file",
    );
}

#[test]
fn defaults_are_scikit_learns_and_the_summary_uses_singular_nouns() {
    let dir = Scratch::new();
    // eps 0.5 and min_samples 5 by default: five points within 0.5 of the
    // first make it core, the sixth is noise.
    let five = dir.write("five.csv", "0\n0.1\n0.2\n0.3\n0.4\n9\n");
    let one = dir.write("one.csv", "3.5\n");
    for (input, extra, labels, summary) in [
        (
            &five,
            &[][..],
            "0\n0\n0\n0\n0\n-1\n",
            "dbscan: 1 cluster from 6 points x 1; 1 noise point, 5 core points; \
             eps 0.5, min_samples 5; backend cpu: ",
        ),
        (
            &one,
            &["--min-samples", "1"],
            "0\n",
            "dbscan: 1 cluster from 1 point x 1; 0 noise points, 1 core point;",
        ),
        // All noise: no clusters, no core points.
        (
            &one,
            &[],
            "-1\n",
            "dbscan: 0 clusters from 1 point x 1; 1 noise point, 0 core points;",
        ),
    ] {
        let args = [&["dbscan", input, "--backend", "cpu"][..], extra].concat();
        let (out, err) = ok_with_stderr(&args);
        assert_eq!(out, labels, "{args:?}");
        assert!(err.starts_with(summary), "{err:?}");
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let base = ["dbscan", data.as_str(), "--backend", "cpu"];
    let cases: [(&[&str], &str); 7] = [
        (&["--eps", "0"], "invalid --eps = 0: must be finite and > 0"),
        (&["--eps", "-1"], "invalid --eps = -1"),
        (&["--eps", "inf"], "invalid --eps = inf"),
        (&["--eps", "NaN"], "invalid --eps = NaN"),
        (
            &["--min-samples", "0"],
            "invalid --min-samples = 0: must be at least 1",
        ),
        (&["--min-samples", "-3"], "--min-samples"),
        (&["--eps", "wide"], "--eps"),
    ];
    for (extra, needle) in cases {
        fails(2, &[&base[..], extra].concat(), needle);
    }
    // Input problems are the readers'.
    let missing = dir.path("missing.csv");
    fails(2, &["dbscan", &missing, "--backend", "cpu"], "missing.csv");
    let nan = dir.write("nan.csv", "1,2\nnan,3\n");
    fails(2, &["dbscan", &nan, "--backend", "cpu"], "nan.csv");
    let ragged = dir.write("ragged.csv", "1,2\n3\n");
    fails(2, &["dbscan", &ragged, "--backend", "cpu"], "ragged.csv");
    // A bad parameter is reported before the input is read.
    fails(
        2,
        &["dbscan", &missing, "--eps", "0", "--backend", "cpu"],
        "invalid --eps = 0",
    );
}

/// Outputs are checked before the input is read: a run that could not
/// write its results does not start.
#[test]
fn unwritable_output_fails_before_any_work() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let base = ["dbscan", data.as_str(), "--backend", "cpu"];
    for flag in ["--labels", "--core"] {
        dir.cannot_write(&base, flag);
    }
    // Before reading the input: the missing file is not what is reported.
    let missing = dir.path("missing.csv");
    fails(
        1,
        &["dbscan", &missing, "--core", &dir.no_dir("out.txt")],
        "cannot write",
    );
    // An existing file is left as it was when the run then fails.
    let nan = dir.write("nan.csv", "1,2\nnan,3\n");
    dir.fails_keeping(&["dbscan", &nan, "--backend", "cpu"], "--core", "nan.csv");
    dir.fails_one_file_two_outputs(&base, "--labels", "--core");
}

#[test]
fn help_lists_every_option_and_default() {
    assert_help(
        "dbscan",
        &[
            "--eps <F>",
            "[default: 0.5]",
            "--min-samples <N>",
            "[default: 5]",
            "--sample-weights <FILE>",
            "[default: auto] [possible values: auto, gpu, cpu]",
            "--labels <FILE>",
            "--core <FILE>",
            "--delimiter <C>",
            "--header <yes|no>",
            "--columns <LIST>",
        ],
    );
}

/// On a terminal the neighbourhood searches show as a bar counted in
/// chunks of queries (two passes over two chunks here), erased before the
/// summary; without one, only the summary.
#[test]
fn on_a_terminal_the_searches_show_as_a_bar() {
    let dir = Scratch::new();
    // 12 000 points in 8-D: two chunks of queries, by brute force.
    let data = dir.blobs_with("big.npy", &["--per-cluster", "2000", "--dim", "8"]);
    let labels = dir.path("labels.txt");
    let args = [
        "dbscan",
        &data,
        "--eps",
        "3",
        "--backend",
        "cpu",
        "--labels",
        &labels,
    ];
    only_the_summary(&args);
    let Some(screen) = on_a_terminal(&args) else {
        return;
    };
    assert!(screen.contains("dbscan: neighbourhoods"), "{screen:?}");
    assert!(screen.contains("/4"), "no bar with a total: {screen:?}");
    let summary = assert_erased_before(&screen, "dbscan: ");
    assert!(
        screen[summary..].contains("from 12000 points x 8;"),
        "{screen:?}"
    );
}
