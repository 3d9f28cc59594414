//! `gpu-cluster kmeans`, run as a user runs it: the labels and centres are
//! the library's on the same data (on the CPU twin and, where there is an
//! adapter, on the GPU), with initial centres from a file and with sample
//! weights; a saved model predicts; bad input is exit status 2 with one
//! line, an unwritable output exit 1 before any work.

mod common;

use common::run::{Scratch, fails, ok, quiet, run, stderr, stdout};

use gpu_cluster::io::read_points;
use gpu_cluster::{Context, KMeans, KMeansFit, KMeansInit, Points};

fn parse_labels(text: &str) -> Vec<i32> {
    text.lines()
        .map(|l| l.parse().expect("an integer label"))
        .collect()
}

/// CSV rows of numbers as `f64`, as written.
fn parse_rows(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .map(|l| l.split(',').map(|v| v.parse().expect("a number")).collect())
        .collect()
}

/// The centres as the CLI writes them: in the input's precision, the
/// `f64` values where the input holds values `f32` cannot, the `f32` ones
/// otherwise.
/// Asserts that `centers`, as written, are the fit's centres to the
/// precision of the work: within half an f32 step of the centred centres'
/// extent, per column, of the centres' f64 values.
fn assert_written(centers: &[Vec<f64>], fit: &KMeansFit, what: &str) {
    let (values, offset) = (fit.cluster_centers().to_f64(), fit.offset());
    let dim = offset.len();
    assert_eq!(centers.concat().len(), values.len(), "{what}");
    for (i, (w, v)) in centers.concat().iter().zip(&values).enumerate() {
        let a = i % dim;
        let extent = values
            .iter()
            .skip(a)
            .step_by(dim)
            .fold(0.0f64, |m, v| m.max((v - offset[a]).abs())) as f32;
        let tol = (f64::from(extent.next_up()) - f64::from(extent)) / 2.0;
        assert!((w - v).abs() <= tol, "{what}: {w} vs {v} (tolerance {tol})");
    }
}

/// Runs `kmeans` with `args` after the input, labels and centres to files;
/// returns the labels, the centres and the summary line.
fn kmeans(dir: &Scratch, input: &str, args: &[&str]) -> (Vec<i32>, Vec<Vec<f64>>, String) {
    let (labels, centers) = (dir.path("labels.txt"), dir.path("centers.csv"));
    let mut all = vec!["kmeans", input, "--labels", &labels, "--centers", &centers];
    all.extend_from_slice(args);
    let err = quiet(&all);
    (
        parse_labels(&dir.read("labels.txt")),
        parse_rows(&dir.read("centers.csv")),
        err,
    )
}

#[test]
fn labels_and_centres_are_the_librarys() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    for (backend, ctx) in common::backends() {
        for (args, km) in [
            (&["--k", "4", "--seed", "3"][..], KMeans::new(4).seed(3)),
            (
                &[
                    "--k", "6", "--init", "random", "--n-init", "2", "--seed", "1",
                ][..],
                KMeans::new(6).init(KMeansInit::Random).n_init(2).seed(1),
            ),
            (
                &["--k", "3", "--max-iter", "2", "--tol", "0"][..],
                KMeans::new(3).max_iter(2).tol(0.0),
            ),
        ] {
            let fit = km.fit(&ctx, &points).unwrap();
            let mut all = args.to_vec();
            all.extend(["--backend", backend]);
            let (labels, centers, summary) = kmeans(&dir, &data, &all);
            assert_eq!(labels, fit.labels(), "{backend} {args:?}");
            assert_written(&centers, &fit, &format!("{backend} {args:?}"));
            for needle in [
                format!("kmeans: {} clusters from 200 points x 2;", fit.n_clusters()),
                format!("inertia {};", fit.inertia()),
                format!("backend {backend}: "),
                "input ".to_string(),
            ] {
                assert!(summary.contains(&needle), "{summary:?} lacks {needle:?}");
            }
            if fit.n_iter() == 2 && args.contains(&"--max-iter") {
                assert!(
                    summary.contains("2 iterations (reached --max-iter)"),
                    "{summary}"
                );
            }
        }
    }
}

#[test]
fn initial_centres_from_a_file() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    let start = dir.write("start.csv", "0,0\n10,10\n-10,-10\n");
    let given = Points::new(&[0.0, 0.0, 10.0, 10.0, -10.0, -10.0], 2).unwrap();
    for (backend, ctx) in common::backends() {
        let fit = KMeans::new(3)
            .init(KMeansInit::Given(given.clone()))
            .fit(&ctx, &points)
            .unwrap();
        let (labels, centers, summary) = kmeans(
            &dir,
            &data,
            &["--k", "3", "--init", &start, "--backend", backend],
        );
        assert_eq!(labels, fit.labels(), "{backend}");
        assert_written(&centers, &fit, backend);
        assert!(
            summary.contains(&format!("init centres from {start};")),
            "{summary}"
        );
    }
    // The file must hold k rows of the input's dimension.
    let base = ["kmeans", data.as_str(), "--backend", "cpu"];
    fails(
        2,
        &[&base[..], &["--k", "2", "--init", &start]].concat(),
        "--init",
    );
    fails(
        2,
        &[&base[..], &["--k", "2", "--init", &start]].concat(),
        "3 centres for --k 2",
    );
    let wide = dir.write("wide.csv", "0,0,0\n1,1,1\n5,5,5\n");
    fails(
        2,
        &[&base[..], &["--k", "3", "--init", &wide]].concat(),
        "--init",
    );
    fails(
        2,
        &[&base[..], &["--k", "3", "--init", &wide]].concat(),
        "3 columns, the points in",
    );
    let ragged = dir.write("ragged.csv", "0,0\n1\n");
    fails(
        2,
        &[&base[..], &["--k", "2", "--init", &ragged]].concat(),
        "--init ",
    );
    // A name that is neither a method nor a file.
    fails(
        2,
        &[&base[..], &["--k", "2", "--init", "kmeans++"]].concat(),
        "--init kmeans++: no such file; give k-means++, random or a file of centres",
    );
}

#[test]
fn sample_weights_weight_the_fit_as_in_the_library() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    let weights: Vec<f32> = (0..200).map(|i| 0.25 * (1 + i % 7) as f32).collect();
    let text: String = std::iter::once("weight\n".to_string())
        .chain(weights.iter().map(|w| format!("{w}\n")))
        .collect();
    let file = dir.write("w.txt", &text);
    for (backend, ctx) in common::backends() {
        let fit = KMeans::new(4)
            .seed(5)
            .sample_weights(weights.clone())
            .fit(&ctx, &points)
            .unwrap();
        let (labels, centers, summary) = kmeans(
            &dir,
            &data,
            &[
                "--k",
                "4",
                "--seed",
                "5",
                "--sample-weights",
                &file,
                "--backend",
                backend,
            ],
        );
        assert_eq!(labels, fit.labels(), "{backend}");
        assert_written(&centers, &fit, backend);
        assert!(summary.contains("200 points x 2 (weighted);"), "{summary}");
        assert!(summary.contains(&format!("inertia {};", fit.inertia())));
    }
    let base = ["kmeans", data.as_str(), "--k", "2", "--backend", "cpu"];
    let short = dir.write("short.txt", "1\n2\n");
    fails(
        2,
        &[&base[..], &["--sample-weights", &short]].concat(),
        "2 weights for the 200 points",
    );
    let negative = dir.write("neg.txt", &text.replacen("0.25\n", "-1\n", 1));
    fails(
        2,
        &[&base[..], &["--sample-weights", &negative]].concat(),
        "--sample-weights",
    );
    let zeros = dir.write("zeros.txt", &"0\n".repeat(200));
    fails(
        2,
        &[&base[..], &["--sample-weights", &zeros]].concat(),
        "invalid --sample-weights = all 0",
    );
}

#[test]
fn far_from_the_origin_the_centres_keep_the_inputs_digits() {
    let dir = Scratch::new();
    let mut text = String::new();
    for i in 0..40 {
        let (dx, dy) = ((i % 5) as f64 * 0.0013, (i / 5) as f64 * 0.0021);
        let base = if i % 2 == 0 { 0.0 } else { 25.0 };
        text.push_str(&format!(
            "{:.4},{:.4}\n",
            512_329.998_5 + base + dx,
            5_123_489.878_1 + base + dy
        ));
    }
    let data = dir.write("utm.csv", &text);
    let points = read_points(&data).unwrap();
    assert!(points.has_f64());
    let fit = KMeans::new(2).fit(&Context::cpu(), &points).unwrap();
    let (labels, centers, _) = kmeans(&dir, &data, &["--k", "2", "--backend", "cpu"]);
    assert_eq!(labels, fit.labels());
    assert_written(&centers, &fit, "far from the origin");
    // Millimetres survive, where f32 has steps of 0.5 m.
    assert!(centers.concat().iter().any(|&v| f64::from(v as f32) != v));
}

#[test]
fn save_model_then_predict_gives_the_fit_labels() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let model = dir.path("model.json");
    let printed = ok(&[
        "kmeans",
        &data,
        "--k",
        "4",
        "--backend",
        "cpu",
        "--save-model",
        &model,
    ]);
    let fit = KMeansFit::load(&model).expect("the library reads it");
    assert_eq!(parse_labels(&printed), fit.labels());
    let predicted = ok(&["predict", "--model", &model, &data, "--backend", "cpu"]);
    assert_eq!(predicted, printed);
    // Standard output is no place for the model.
    fails(
        2,
        &[
            "kmeans",
            &data,
            "--k",
            "4",
            "--backend",
            "cpu",
            "--save-model",
            "-",
        ],
        "--save-model needs a file",
    );
}

#[test]
fn labels_go_to_stdout_by_default_and_for_dash() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let args = ["kmeans", data.as_str(), "--k", "4", "--backend", "cpu"];
    let plain = ok(&args);
    assert_eq!(plain.lines().count(), 200);
    assert_eq!(ok(&[&args[..], &["--labels", "-"]].concat()), plain);
    assert!(!dir.dir().join("-").exists());
}

#[test]
fn the_summary_uses_singular_nouns_for_one() {
    let dir = Scratch::new();
    let one = dir.write("one.csv", "3.5\n");
    let out = run(&["kmeans", &one, "--k", "1", "--backend", "cpu"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\n");
    let summary = stderr(&out);
    assert!(
        summary.starts_with("kmeans: 1 cluster from 1 point x 1; 1 iteration, inertia 0;"),
        "{summary:?}"
    );
    assert!(summary.contains("init k-means++ (seed 0);"), "{summary:?}");
    // Several runs are counted.
    let data = dir.blobs();
    let out = run(&[
        "kmeans",
        &data,
        "--k",
        "2",
        "--init",
        "random",
        "--backend",
        "cpu",
    ]);
    assert!(
        stderr(&out).contains("init random (seed 0, best of 10 runs);"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let base = ["kmeans", data.as_str(), "--backend", "cpu"];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    let with = |extra: &[&'static str]| with(&base, extra);
    fails(2, &with(&["--k", "0"]), "invalid --k = 0: must be >= 1");
    fails(
        2,
        &with(&["--k", "201"]),
        "invalid --k = 201: must be at most the number of points;",
    );
    fails(2, &with(&["--k", "201"]), "holds 200 points");
    fails(
        2,
        &with(&["--k", "2", "--n-init", "0"]),
        "invalid --n-init = 0",
    );
    fails(
        2,
        &with(&["--k", "2", "--max-iter", "0"]),
        "invalid --max-iter = 0",
    );
    fails(2, &with(&["--k", "2", "--tol", "-1"]), "invalid --tol = -1");
    fails(2, &with(&["--k", "2", "--init", ""]), "--init");
    fails(2, &with(&["--k", "-3"]), "--k");
    // --k is required.
    let out = run(&base);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--k"), "{}", stderr(&out));
    // Input problems are the readers'.
    let missing = dir.path("missing.csv");
    fails(
        2,
        &["kmeans", &missing, "--k", "2", "--backend", "cpu"],
        "missing.csv",
    );
    let nan = dir.write("nan.csv", "1,2\nnan,3\n");
    fails(
        2,
        &["kmeans", &nan, "--k", "1", "--backend", "cpu"],
        "nan.csv",
    );
}

/// Outputs are checked before the input is read: a run that could not
/// write its results does not start.
#[test]
fn unwritable_output_fails_before_any_work() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let no_dir = dir.path("no/such/dir/out.csv");
    let a_dir = dir.dir().display().to_string();
    let base = ["kmeans", data.as_str(), "--k", "2", "--backend", "cpu"];
    for flag in ["--labels", "--centers", "--save-model"] {
        fails(1, &[&base[..], &[flag, &no_dir]].concat(), "cannot write");
        fails(1, &[&base[..], &[flag, &a_dir]].concat(), "cannot write");
    }
    // Before reading the input: the missing file is not what is reported.
    let missing = dir.path("missing.csv");
    fails(
        1,
        &["kmeans", &missing, "--k", "2", "--labels", &no_dir],
        "cannot write",
    );
    // An existing file is left as it was when the run then fails.
    let kept = dir.write("kept.csv", "keep me\n");
    fails(
        2,
        &[
            "kmeans",
            &data,
            "--k",
            "900",
            "--backend",
            "cpu",
            "--centers",
            &kept,
        ],
        "invalid --k = 900",
    );
    assert_eq!(dir.read("kept.csv"), "keep me\n");
    // Two outputs naming one file.
    let same = dir.path("same.csv");
    fails(
        2,
        &[&base[..], &["--labels", &same, "--centers", &same]].concat(),
        "named by two outputs",
    );
}

#[test]
fn help_lists_every_option_and_default() {
    let help = ok(&["kmeans", "--help"]);
    for needle in [
        "--k <N>",
        "--init <k-means++|random|FILE>",
        "[default: k-means++]",
        "--n-init <N>",
        "--max-iter <N>",
        "[default: 300]",
        "--tol <F>",
        "[default: 0.0001]",
        "--seed <S>",
        "--sample-weights <FILE>",
        "[default: auto] [possible values: auto, gpu, cpu]",
        "--labels <FILE>",
        "--centers <FILE>",
        "--save-model <FILE>",
        "--delimiter <C>",
        "--columns <LIST>",
    ] {
        assert!(
            help.contains(needle),
            "kmeans --help lacks {needle:?}:\n{help}"
        );
    }
    let top = ok(&["--help"]);
    assert!(top.contains("kmeans"), "{top}");
}
