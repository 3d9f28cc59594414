//! `meanshift --save-model`, `kmeans --save-model` and `predict --model`:
//! a saved model (either kind) labels its own data as the fit did and new
//! points as the library's `predict` does;
//! `knn --save-model` and `knn --model`: a saved index answers as the
//! search that saved it; a model that cannot be used is exit status 2 with
//! one line.

mod common;

use common::check::parse_lines;
use common::run::{Scratch, assert_has, fails, meanshift_args, ok, ok_with_summary, run, stderr};

use std::fs;

use gpu_cluster::{KMeansFit, MeanShiftFit, Points};

/// A test's files.
struct Dir(Scratch);

impl std::ops::Deref for Dir {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        &self.0
    }
}

impl Dir {
    fn new() -> Self {
        Dir(Scratch::new())
    }

    /// `n` seeded points in [-50, 50]^2 as CSV, some far from every blob.
    fn new_points(&self, name: &str, n: usize) -> String {
        let values = common::uniform(n, 2, 50.0, 11);
        let text: String = values
            .chunks(2)
            .map(|r| format!("{},{}\n", r[0], r[1]))
            .collect();
        self.write(name, &text)
    }

    /// Fits mean shift with bandwidth 3 on the CPU to `data`, with `extra`,
    /// saving the model as `name`; returns the model's path.
    fn save_meanshift(&self, data: &str, name: &str, extra: &[&str]) -> String {
        let model = self.path(name);
        ok(&meanshift_args(
            data,
            "3",
            &[&["--save-model", &model][..], extra].concat(),
        ));
        model
    }

    /// Saves the index of a 1-nearest-neighbour search of `data` on the CPU
    /// as `name`, with `extra`; returns the model's path.
    fn save_knn(&self, data: &str, name: &str, extra: &[&str]) -> String {
        let model = self.path(name);
        let args = ["knn", data, "--k", "1", "--backend", "cpu"];
        ok(&[&args[..], &["--save-model", &model], extra].concat());
        model
    }
}

/// `predict --model MODEL INPUT --backend cpu`.
fn predict<'a>(model: &'a str, input: &'a str) -> [&'a str; 6] {
    ["predict", "--model", model, input, "--backend", "cpu"]
}

/// Points read from a CSV of numbers, as the CLI reads them (Rust's `f32`
/// parse of each field).
fn read_csv(path: &str) -> Points {
    let rows: Vec<Vec<f32>> = fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    Points::from_rows(&rows).unwrap()
}

#[test]
fn predict_on_the_training_data_gives_the_fit_labels() {
    let dir = Dir::new();
    let data = dir.blobs();
    let (model, labels) = (dir.path("model.json"), dir.path("labels.txt"));
    let printed = ok(&meanshift_args(
        &data,
        "3",
        &["--save-model", &model, "--labels", &labels],
    ));
    assert_eq!(printed, "");
    let fitted = dir.read("labels.txt");
    let predicted = ok(&predict(&model, &data));
    assert_eq!(predicted, fitted);
    assert!(parse_lines::<i32>(&fitted).iter().all(|&l| l >= 0));
    // The file is the library's model: the same labels, and the document
    // starts with its envelope.
    let fit = MeanShiftFit::load(&model).expect("the library reads it");
    assert_eq!(fit.labels(), parse_lines::<i32>(&fitted));
    assert!(
        dir.read("model.json")
            .starts_with(r#"{"format":"gpu-cluster/meanshift","version":1,"#)
    );
    // --labels FILE works for predict too, and the summary is one line.
    let predicted = dir.path("predicted.txt");
    let (out, summary) =
        ok_with_summary(&[&predict(&model, &data)[..], &["--labels", &predicted]].concat());
    assert!(out.is_empty());
    assert_eq!(dir.read("predicted.txt"), fitted);
    assert_has(
        &summary,
        &[
            "predict: 200 points x 2 labelled",
            "standard mode",
            "flat kernel",
            "bandwidth 3",
            "backend cpu",
        ],
    );
}

#[test]
fn predict_on_new_points_gives_the_library_predict() {
    let dir = Dir::new();
    let data = dir.blobs();
    let fresh = dir.new_points("new.csv", 300);
    for (name, extra) in [
        ("standard.json", &[][..]),
        ("unassigned.json", &["--no-cluster-all"][..]),
        (
            "blurring.json",
            &["--mode", "blurring", "--max-iter", "3"][..],
        ),
    ] {
        let model = dir.save_meanshift(&data, name, extra);
        let fit = MeanShiftFit::load(&model).expect("the library reads it");
        let want = fit.predict(&read_csv(&fresh)).expect("predicts");
        let got: Vec<i32> = parse_lines(&ok(&predict(&model, &fresh)));
        assert_eq!(got, want, "{name}");
        if name == "unassigned.json" {
            assert!(got.contains(&-1), "far points are unassigned");
            assert!(got.iter().any(|&l| l >= 0));
        } else {
            assert!(got.iter().all(|&l| l >= 0), "{name}");
        }
    }
}

#[test]
fn predict_reads_input_like_the_other_commands() {
    let dir = Dir::new();
    let data = dir.blobs();
    let model = dir.save_meanshift(&data, "model.json", &[]);
    let plain = ok(&predict(&model, &data));
    // The same points behind a header, with an extra column first and the
    // coordinates picked by name, separated by semicolons.
    let text = fs::read_to_string(&data).unwrap();
    let mut framed = String::from("id;x;y\n");
    for (i, line) in text.lines().enumerate() {
        framed.push_str(&format!("{};{}\n", i + 100, line.replace(',', ";")));
    }
    let framed = dir.write("framed.csv", &framed);
    let picked = ok(&[&predict(&model, &framed)[..], &["--columns", "x,y"]].concat());
    assert_eq!(picked, plain);
}

#[test]
fn a_model_that_cannot_be_used_exits_2_with_one_line() {
    let dir = Dir::new();
    let data = dir.blobs();
    let model = dir.save_meanshift(&data, "model.json", &[]);
    let text = dir.read("model.json");
    // The saved model edited by `from` -> `to`, as `name`.
    let edited = |name: &str, from: &str, to: &str| dir.write(name, &text.replace(from, to));
    let cases = [
        (dir.path("missing.json"), "cannot read model"),
        (dir.write("empty.json", ""), "is not JSON"),
        (dir.write("text.json", "centres: 1, 2\n"), "is not JSON"),
        (data.clone(), "is not a gpu-cluster model"),
        // A format predict does not read: the message names the ones it
        // does.
        (
            edited("other.json", "meanshift\"", "dbscan\""),
            "its format is \"gpu-cluster/dbscan\"; predict reads \"gpu-cluster/meanshift\" and \"gpu-cluster/kmeans\"",
        ),
        (
            edited("seven.json", "\"gpu-cluster/meanshift\"", "7"),
            "its format is 7",
        ),
        // A mean-shift document labelled k-means is read as k-means, and
        // is not a valid one.
        (
            edited("relabelled.json", "meanshift\"", "kmeans\""),
            "missing field `inertia`",
        ),
        (
            edited("future.json", "\"version\":1", "\"version\":2"),
            "format version 2",
        ),
        (
            dir.write("ragged.json", &text.replacen("]]", "],[1.0]]", 1)),
            "centers: row",
        ),
        (
            edited("nan.json", "\"bandwidth\":3.0", "\"bandwidth\":null"),
            "is invalid",
        ),
        // The error names the model file.
        (dir.write("named.json", "{}"), "named.json"),
    ];
    for (bad, needle) in &cases {
        fails(2, &predict(bad, &data), needle);
    }
    // Points of another width than the centres.
    let wide = dir.write("wide.csv", "1,2,3\n4,5,6\n");
    fails(2, &predict(&model, &wide), "3 columns, but the model");
    // Usage: --model is required.
    let out = run(&["predict", &data]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--model"), "{}", stderr(&out));
}

#[test]
fn save_model_is_checked_before_any_work() {
    let dir = Dir::new();
    let data = dir.blobs();
    fails(
        1,
        &meanshift_args(&data, "3", &["--save-model", &dir.no_dir("model.json")]),
        "cannot write",
    );
    dir.fails_one_file_two_outputs(
        &["meanshift", &data, "--bandwidth", "3"],
        "--save-model",
        "--centers",
    );
    fails(
        2,
        &["meanshift", &data, "--bandwidth", "3", "--save-model", "-"],
        "--save-model needs a file",
    );
    // A bad parameter: no model is written.
    let model = dir.path("model.json");
    fails(
        2,
        &meanshift_args(&data, "-1", &["--save-model", &model]),
        "bandwidth",
    );
    assert!(!std::path::Path::new(&model).exists());
    // predict checks its --labels before reading the model.
    let absent = format!("{}/", dir.path("absent"));
    fails(
        1,
        &["predict", "--model", &model, &data, "--labels", &absent],
        "cannot write",
    );
}

#[test]
fn a_saved_knn_index_answers_as_the_search_that_saved_it() {
    let dir = Dir::new();
    let data = dir.blobs();
    let queries = dir.new_points("queries.csv", 30);
    let search = ["--k", "4", "--queries", &queries, "--backend", "cpu"];
    for metric in ["euclidean", "sqeuclidean", "cosine", "inner_product"] {
        let model = dir.path(&format!("{metric}.json"));
        let distances = dir.path(&format!("{metric}-d.csv"));
        let saved = ok(&[
            &["knn", &data, "--metric", metric][..],
            &search,
            &["--distances", &distances, "--save-model", &model],
        ]
        .concat());
        let index = gpu_cluster::KnnIndex::load(&gpu_cluster::Context::cpu(), &model)
            .expect("a valid index");
        assert_eq!(index.metric().name(), metric);
        assert_eq!(index.len(), 200);
        let loaded_distances = dir.path(&format!("{metric}-d2.csv"));
        let loaded = ok(&[
            &["knn", "--model", &model][..],
            &search,
            &["--distances", &loaded_distances],
        ]
        .concat());
        assert_eq!(loaded, saved, "{metric}");
        assert_eq!(
            fs::read_to_string(&loaded_distances).unwrap(),
            fs::read_to_string(&distances).unwrap(),
            "{metric}"
        );
    }
    // Without --queries the model's own points are searched, each leaving
    // itself out with --exclude-self, as from INPUT.
    let model = dir.path("euclidean.json");
    let own = ["--k", "3", "--exclude-self", "--backend", "cpu"];
    let from_input = ok(&[&["knn", &data][..], &own].concat());
    let from_model = ok(&[&["knn", "--model", &model][..], &own].concat());
    assert_eq!(from_model, from_input);
    let out = run(&[
        "knn",
        "--model",
        &model,
        "--radius",
        "2",
        "--backend",
        "cpu",
    ]);
    assert!(
        stderr(&out).contains(&format!("model {model}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn knn_model_options_that_cannot_be_used_exit_2_with_one_line() {
    let dir = Dir::new();
    let data = dir.blobs();
    let model = dir.save_knn(&data, "index.json", &[]);
    fails(2, &["knn", "--k", "1"], "required");
    let again = dir.path("again.json");
    for extra in [
        &[data.as_str()][..],
        &["--metric", "cosine"],
        &["--save-model", again.as_str()],
    ] {
        fails(
            2,
            &[&["knn", "--model", &model, "--k", "1"][..], extra].concat(),
            "cannot be used with",
        );
    }
    let on_cpu = |model: &str, k: &str, needle: &str| {
        fails(
            2,
            &["knn", "--model", model, "--k", k, "--backend", "cpu"],
            needle,
        );
    };
    on_cpu(&dir.path("missing.json"), "1", "cannot read model");
    let meanshift = dir.save_meanshift(&data, "meanshift.json", &[]);
    on_cpu(&meanshift, "1", "is not a nearest-neighbour model");
    on_cpu(&model, "500", "index.json holds 200 points");
    // The model file is checked before the search: nothing is computed
    // when it cannot be written.
    fails(
        1,
        &[
            "knn",
            &data,
            "--k",
            "1",
            "--backend",
            "cpu",
            "--save-model",
            "/no/such/dir/i.json",
        ],
        "cannot write /no/such/dir/i.json",
    );
}

#[test]
fn predict_takes_a_kmeans_model_too() {
    let dir = Dir::new();
    let data = dir.blobs();
    let fresh = dir.new_points("new.csv", 300);
    let (model, labels) = (dir.path("kmeans.json"), dir.path("labels.txt"));
    ok(&[
        "kmeans",
        &data,
        "--k",
        "4",
        "--seed",
        "2",
        "--backend",
        "cpu",
        "--save-model",
        &model,
        "--labels",
        &labels,
    ]);
    assert!(
        dir.read("kmeans.json")
            .starts_with(r#"{"format":"gpu-cluster/kmeans","version":1,"#)
    );
    let fit = KMeansFit::load(&model).expect("the library reads it");
    // The training data: the fit's labels.
    let fitted = dir.read("labels.txt");
    assert_eq!(fit.labels(), parse_lines::<i32>(&fitted));
    let (out, summary) = ok_with_summary(&predict(&model, &data));
    assert_eq!(out, fitted);
    assert_has(
        &summary,
        &[
            "predict: 200 points x 2 labelled with 4 clusters of",
            "(k-means, inertia ",
            "backend cpu",
        ],
    );
    // New points: the library's predict, and every point has a cluster.
    let want = fit.predict(&read_csv(&fresh)).expect("predicts");
    let got: Vec<i32> = parse_lines(&ok(&predict(&model, &fresh)));
    assert_eq!(got, want);
    assert!(got.iter().all(|&l| (0..4).contains(&l)));
    // On the GPU too, where there is one.
    if common::gpu().is_some() {
        let on_gpu = ["predict", "--model", &model, &fresh, "--backend", "gpu"];
        assert_eq!(parse_lines::<i32>(&ok(&on_gpu)), want);
    }
    // Points of another width than the centres.
    let wide = dir.write("wide.csv", "1,2,3\n4,5,6\n");
    fails(2, &predict(&model, &wide), "3 columns, but the model");
    // A k-means document that is not valid: the k-means reader's message.
    let text = dir.read("kmeans.json");
    let bad = dir.write("bad.json", &text.replace("\"labels\":[", "\"labels\":[9,"));
    fails(
        2,
        &predict(&bad, &data),
        "labels[0] is 9: the model has 4 clusters",
    );
    let future = dir.write(
        "future.json",
        &text.replace("\"version\":1", "\"version\":2"),
    );
    fails(2, &predict(&future, &data), "format version 2");
}

#[test]
fn predict_refuses_a_knn_index_saying_what_it_is() {
    let dir = Dir::new();
    let data = dir.blobs();
    let index = dir.save_knn(&data, "index.json", &["--indices", &dir.path("i.csv")]);
    fails(
        2,
        &predict(&index, &data),
        "its format is \"gpu-cluster/knn\" (a nearest-neighbour index: search it with `gpu-cluster knn --model`)",
    );
}
