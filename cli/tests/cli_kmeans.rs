//! `gpu-cluster kmeans`, run as a user runs it: the labels and centres are
//! the library's on the same data (on the CPU twin and, where there is an
//! adapter, on the GPU), with initial centres from a file and with sample
//! weights; a saved model predicts; bad input is exit status 2 with one
//! line, an unwritable output exit 1 before any work.

mod common;

use common::check::{assert_centres, parse_lines, parse_rows};
use common::run::{Scratch, assert_has, assert_help, fails, ok, ok_with_stderr, run, stderr};

use gpu_cluster::io::read_points;
use gpu_cluster::{Context, KMeans, KMeansFit, KMeansInit, Points};

/// Asserts that `centers`, as written, are the fit's centres to the
/// precision of the work (see [`assert_centres`]).
fn assert_written(centers: &[Vec<f64>], fit: &KMeansFit, what: &str) {
    let values = fit.cluster_centers().to_f64();
    assert_centres(&centers.concat(), &values, fit.offset(), what);
}

/// Runs `kmeans` with `args` after the input, labels and centres to files;
/// returns the labels, the centres and the summary line.
fn kmeans(dir: &Scratch, input: &str, args: &[&str]) -> (Vec<i32>, Vec<Vec<f64>>, String) {
    let (labels, centers, summary) =
        dir.labels_and("kmeans", input, ("--centers", "centers.csv"), args);
    (parse_lines(&labels), parse_rows(&centers), summary)
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
            assert_has(
                &summary,
                &[
                    &format!("kmeans: {} clusters from 200 points x 2;", fit.n_clusters()),
                    &format!("inertia {};", fit.inertia()),
                    &format!("backend {backend}: "),
                    "input ",
                ],
            );
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
    let wide = dir.write("wide.csv", "0,0,0\n1,1,1\n5,5,5\n");
    let ragged = dir.write("ragged.csv", "0,0\n1\n");
    for (k, init, needle) in [
        ("2", start.as_str(), "--init"),
        ("2", start.as_str(), "3 centres for --k 2"),
        ("3", wide.as_str(), "--init"),
        ("3", wide.as_str(), "3 columns, the points in"),
        ("2", ragged.as_str(), "--init "),
        // A name that is neither a method nor a file.
        (
            "2",
            "kmeans++",
            "--init kmeans++: no such file; give k-means++, random or a file of centres",
        ),
    ] {
        let args = [
            "kmeans",
            &data,
            "--backend",
            "cpu",
            "--k",
            k,
            "--init",
            init,
        ];
        fails(2, &args, needle);
    }
}

#[test]
fn sample_weights_weight_the_fit_as_in_the_library() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let points = read_points(&data).unwrap();
    let weights: Vec<f32> = (0..200).map(|i| 0.25 * (1 + i % 7) as f32).collect();
    let (text, file) = dir.weights("w.txt", &weights);
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
    let negative = dir.write("neg.txt", &text.replacen("0.25\n", "-1\n", 1));
    let zeros = dir.write("zeros.txt", &"0\n".repeat(200));
    for (file, needle) in [
        (&short, "2 weights for the 200 points"),
        (&negative, "--sample-weights"),
        (&zeros, "invalid --sample-weights = all 0"),
    ] {
        fails(
            2,
            &[&base[..], &["--sample-weights", file]].concat(),
            needle,
        );
    }
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
    assert_eq!(parse_lines::<i32>(&printed), fit.labels());
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
    let (out, summary) = ok_with_stderr(&["kmeans", &one, "--k", "1", "--backend", "cpu"]);
    assert_eq!(out, "0\n");
    assert!(
        summary.starts_with("kmeans: 1 cluster from 1 point x 1; 1 iteration, inertia 0;"),
        "{summary:?}"
    );
    assert!(summary.contains("init k-means++ (seed 0);"), "{summary:?}");
    // Several runs are counted.
    let data = dir.blobs();
    let (_, summary) = ok_with_stderr(&[
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
        summary.contains("init random (seed 0, best of 10 runs);"),
        "{summary}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = Scratch::new();
    let data = dir.blobs();
    let base = ["kmeans", data.as_str(), "--backend", "cpu"];
    let cases: [(&[&str], &str); 8] = [
        (&["--k", "0"], "invalid --k = 0: must be >= 1"),
        (
            &["--k", "201"],
            "invalid --k = 201: must be at most the number of points;",
        ),
        (&["--k", "201"], "holds 200 points"),
        (&["--k", "2", "--n-init", "0"], "invalid --n-init = 0"),
        (&["--k", "2", "--max-iter", "0"], "invalid --max-iter = 0"),
        (&["--k", "2", "--tol", "-1"], "invalid --tol = -1"),
        (&["--k", "2", "--init", ""], "--init"),
        (&["--k", "-3"], "--k"),
    ];
    for (extra, needle) in cases {
        fails(2, &[&base[..], extra].concat(), needle);
    }
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
    let base = ["kmeans", data.as_str(), "--k", "2", "--backend", "cpu"];
    for flag in ["--labels", "--centers", "--save-model"] {
        dir.cannot_write(&base, flag);
    }
    // Before reading the input: the missing file is not what is reported.
    let missing = dir.path("missing.csv");
    fails(
        1,
        &[
            "kmeans",
            &missing,
            "--k",
            "2",
            "--labels",
            &dir.no_dir("out.csv"),
        ],
        "cannot write",
    );
    // An existing file is left as it was when the run then fails.
    dir.fails_keeping(
        &["kmeans", &data, "--k", "900", "--backend", "cpu"],
        "--centers",
        "invalid --k = 900",
    );
    dir.fails_one_file_two_outputs(&base, "--labels", "--centers");
}

#[test]
fn help_lists_every_option_and_default() {
    assert_help(
        "kmeans",
        &[
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
        ],
    );
}
