//! `meanshift --tol / --seeds / --sample-weights`, `estimate-bandwidth`,
//! singular nouns in the summaries, and `MeanShift::fit_predict`: the binary
//! as a user runs it, checked against the library on the same data.

mod common;

use common::check::{assert_centres, parse_rows};
use common::run::{
    Scratch, assert_has, fails, fixture, meanshift_args, ok, ok_with_stderr, ok_with_summary,
};

use std::fs;

use gpu_cluster::{BandwidthEstimate, Blobs, Context, MeanShift, MeanShiftFit, Points};
use npyz::WriterBuilder;

/// The toy points of `toy.csv`, row-major.
const TOY: [f32; 12] = [1., 1., 2., 1., 1., 0., 4., 7., 3., 5., 3., 6.];

fn toy_points() -> Points {
    Points::new(&TOY, 2).unwrap()
}

fn toy_csv() -> String {
    fixture("toy.csv")
}

/// Writes a 2-D little-endian `float32` `.npy` with `cols` columns to
/// `name` in `dir`; returns its path.
fn npy(dir: &Scratch, name: &str, values: &[f32], cols: usize) -> String {
    let path = dir.path(name);
    let shape = [(values.len() / cols) as u64, cols as u64];
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(fs::File::create(&path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
    path
}

/// `meanshift` on the toy set with bandwidth 2 on the CPU, plus `extra`.
fn toy_args<'a>(toy: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    meanshift_args(toy, "2", extra)
}

/// Labels as the CLI writes them: one per line.
fn lines<T: ToString>(values: &[T]) -> String {
    values.iter().map(|v| v.to_string() + "\n").collect()
}

/// Asserts that `text`, the centres as written, are `fit`'s centres to the
/// precision of the work (see [`assert_centres`]).
fn assert_written(text: &str, fit: &MeanShiftFit, what: &str) {
    let written: Vec<f64> = parse_rows(text).concat();
    assert_centres(&written, &fit.centers().to_f64(), fit.offset(), what);
}

#[test]
fn tol_is_passed_to_the_library() {
    let toy = toy_csv();
    for tol in ["0", "0.5", "1e-3"] {
        let lib = MeanShift::new(2.0)
            .tol(tol.parse().unwrap())
            .fit(&Context::cpu(), &toy_points())
            .unwrap();
        let (labels, summary) = ok_with_summary(&toy_args(&toy, &["--tol", tol]));
        assert_eq!(labels, lines(lib.labels()), "--tol {tol}");
        let iterations = format!("; {} iteration", lib.n_iter());
        assert_has(&summary, &[&iterations]);
    }
    // Blurring until stable says which threshold it met.
    let (_, summary) = ok_with_summary(&toy_args(&toy, &["--mode", "blurring", "--tol", "0.25"]));
    assert_has(&summary, &["(stable: "]);
    for bad in ["-1", "nan", "inf", "1e40"] {
        fails(2, &toy_args(&toy, &["--tol", bad]), "invalid --tol = ");
    }
    fails(2, &toy_args(&toy, &["--tol", "small"]), "--tol");
    let help = ok(&["meanshift", "--help"]);
    assert_has(&help, &["--tol <F>", "[default: 0.001]"]);
}

#[test]
fn seeds_from_a_file_match_the_library() {
    let dir = Scratch::new();
    let toy = toy_csv();
    let seeds = dir.write("seeds.csv", "x,y\n1,1\n3,6\n");
    let centres = dir.path("centres.csv");
    let lib = MeanShift::new(2.0)
        .seeds(Points::new(&[1., 1., 3., 6.], 2).unwrap())
        .fit(&Context::cpu(), &toy_points())
        .unwrap();
    let (labels, summary) =
        ok_with_summary(&toy_args(&toy, &["--seeds", &seeds, "--centers", &centres]));
    assert_eq!(labels, lines(lib.labels()));
    assert_written(&dir.read("centres.csv"), &lib, "seeds");
    assert_has(&summary, &["2 clusters from 6 points x 2 (2 seeds)"]);
    // One seed far from every point: the library's "no point in range".
    let far = dir.write("far.csv", "100,100\n");
    fails(2, &toy_args(&toy, &["--seeds", &far]), "no point within");
}

#[test]
fn bad_seeds_exit_2_naming_the_flag() {
    let dir = Scratch::new();
    let toy = toy_csv();
    let seeds = dir.write("seeds.csv", "1,1\n");
    let wide = dir.write("wide.csv", "1,1,1\n");
    let ragged = dir.write("ragged.csv", "1,1\n2\n");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--seeds", &wide],
            "--seeds ", // then the file, "1 column" wording checked below
        ),
        (&["--seeds", &ragged], "line 2 has 1 values"),
        (&["--seeds", &dir.path("missing.csv")], "cannot open"),
        (
            &["--seeds", &seeds, "--mode", "blurring"],
            "--seeds applies to --mode standard only",
        ),
        (&["--seeds", &seeds, "--bin-seeding"], "--seeds"),
        (&["--seeds", &seeds, "--bin-seeding"], "--bin-seeding"),
    ];
    for (extra, needle) in cases {
        let args = toy_args(&toy, extra);
        fails(2, &args, needle);
        fails(2, &args, "--seeds");
    }
    fails(
        2,
        &toy_args(&toy, &["--seeds", &wide]),
        "wide.csv: 3 columns, the points in",
    );
}

#[test]
fn sample_weights_match_the_library() {
    let dir = Scratch::new();
    let toy = toy_csv();
    let weights = [1.0f32, 1.0, 4.0, 0.0, 2.5, 1.0];
    let lib = MeanShift::new(2.0)
        .sample_weights(weights.to_vec())
        .fit(&Context::cpu(), &toy_points())
        .unwrap();
    // Text with a header, blank lines and CRLF; a 1-column CSV; a .npy.
    let files = [
        dir.write("w.txt", "weight\r\n1\r\n1\r\n\r\n4\r\n0\r\n2.5\r\n1\r\n"),
        dir.write("w.csv", &lines(&weights)),
        npy(&dir, "w.npy", &weights, 1),
    ];
    for file in &files {
        let centres = dir.path("centres.csv");
        let (labels, summary) = ok_with_summary(&toy_args(
            &toy,
            &["--sample-weights", file, "--centers", &centres],
        ));
        assert_eq!(labels, lines(lib.labels()), "{file}");
        assert_written(&dir.read("centres.csv"), &lib, file);
        assert_has(&summary, &["from 6 points x 2 (weighted)"]);
    }
    // The weights move the centre: unweighted, it is (4/3, 2/3).
    assert_ne!(
        lib.centers().row(lib.labels()[0] as usize),
        [4. / 3., 2. / 3.]
    );
}

#[test]
fn bad_sample_weights_exit_2_naming_the_flag() {
    let dir = Scratch::new();
    let toy = toy_csv();
    let cases = [
        (
            dir.write("five.txt", "1\n1\n1\n1\n1\n"),
            "5 weights for the 6 points in",
        ),
        (
            dir.write("neg.txt", "1\n1\n-1\n1\n1\n1\n"),
            "line 3: -1 is not a weight",
        ),
        (
            dir.write("nan.txt", "1\nNaN\n1\n1\n1\n1\n"),
            "line 2: NaN is not a weight",
        ),
        (
            dir.write("big.txt", "1e39\n1\n1\n1\n1\n1\n"),
            "line 1: 1e39 is not a weight",
        ),
        (
            dir.write("text.txt", "1\n1\nheavy\n1\n1\n1\n"),
            "line 3: \"heavy\" is not a number",
        ),
        (
            dir.write("two.csv", "1,1\n1,1\n1,1\n1,1\n1,1\n1,1\n"),
            "line 1: \"1,1\" is not a number",
        ),
        (npy(&dir, "two.npy", &[1.0; 12], 2), "2 columns"),
        (
            npy(&dir, "neg.npy", &[1., 1., 1., -2., 1., 1.], 1),
            "element [3, 0] is -2",
        ),
        (dir.path("missing.txt"), "cannot read"),
    ];
    for (file, needle) in &cases {
        let args = toy_args(&toy, &["--sample-weights", file]);
        fails(2, &args, needle);
        fails(2, &args, &format!("--sample-weights {file}: "));
    }
}

#[test]
fn library_errors_name_flags_and_count_columns_from_1() {
    let dir = Scratch::new();
    let toy = toy_csv();
    fails(
        2,
        &toy_args(&toy, &["--mode", "blurring", "--max-iter", "200000"]),
        "invalid --max-iter = 200000",
    );
    fails(
        2,
        &toy_args(&toy, &["--bin-seeding", "--min-bin-freq", "0"]),
        "invalid --min-bin-freq = 0",
    );
    // The second column spans more than the f32 stages allow.
    let spread = dir.write("spread.csv", "0,0\n1,2e15\n");
    fails(
        2,
        &meanshift_args(&spread, "1", &[]),
        "spread.csv: column 2 spans ",
    );
    fails(
        2,
        &["estimate-bandwidth", &spread, "--backend", "cpu"],
        "column 2 spans",
    );
}

#[test]
fn estimate_bandwidth_matches_the_library() {
    let dir = Scratch::new();
    let toy = toy_csv();
    let h = BandwidthEstimate::new(0.5)
        .estimate(&Context::cpu(), &toy_points())
        .unwrap();
    let args = [
        "estimate-bandwidth",
        &toy,
        "--quantile",
        "0.5",
        "--backend",
        "cpu",
    ];
    let (printed, summary) = ok_with_summary(&args);
    assert_eq!(printed, format!("{h}\n"));
    assert_has(
        &summary,
        &[
            &format!("estimate-bandwidth: bandwidth {h} from 6 points x 2"),
            "quantile 0.5: k = 3 neighbours",
            "backend cpu: CPU",
            " ms",
        ],
    );
    // meanshift estimates the same bandwidth.
    let (_, fit) = ok_with_summary(&["meanshift", &toy, "--quantile", "0.5", "--backend", "cpu"]);
    assert_has(&fit, &[&format!("bandwidth {h} (estimated, quantile 0.5)")]);

    // A subset of the blobs, drawn with a seed.
    let blobs = dir.blobs_with("blobs.npy", &[]);
    let points = Blobs::default().generate().unwrap().points;
    for (extra, estimate, used) in [
        (
            &[][..],
            BandwidthEstimate::default(),
            "from 1500 points x 2; quantile 0.3: k = 450 neighbours",
        ),
        (
            &["--n-samples", "100", "--seed", "7"][..],
            BandwidthEstimate {
                n_samples: Some(100),
                seed: 7,
                ..BandwidthEstimate::default()
            },
            "from 100 of 1500 points (seed 7) x 2; quantile 0.3: k = 30 neighbours",
        ),
    ] {
        let h = estimate.estimate(&Context::cpu(), &points).unwrap();
        let args = [
            &["estimate-bandwidth", &blobs, "--backend", "cpu"][..],
            extra,
        ]
        .concat();
        let (printed, summary) = ok_with_summary(&args);
        assert_eq!(printed, format!("{h}\n"), "{extra:?}");
        assert_has(&summary, &[used]);
    }
    // Another seed draws another subset.
    let subset = |seed: &str| {
        ok(&[
            "estimate-bandwidth",
            &blobs,
            "--n-samples",
            "100",
            "--seed",
            seed,
            "--backend",
            "cpu",
        ])
    };
    assert_ne!(subset("8"), subset("7"));

    let help = ok(&["estimate-bandwidth", "--help"]);
    assert_has(
        &help,
        &[
            "--quantile <Q>",
            "[default: 0.3]",
            "--n-samples <N>",
            "[default: all points]",
            "--seed <S>",
            "[default: 0]",
        ],
    );
    assert_has(&ok(&["--help"]), &["estimate-bandwidth"]);
}

#[test]
fn bad_estimate_bandwidth_parameters_exit_2() {
    let toy = toy_csv();
    let with = |extra: &[&'static str]| {
        let base = ["estimate-bandwidth", toy.as_str(), "--backend", "cpu"];
        [&base[..], extra].concat()
    };
    let cases: [(&[&str], &str); 7] = [
        (
            &["--quantile", "0"],
            "invalid quantile = 0: must be in (0, 1]",
        ),
        (&["--quantile", "1.5"], "invalid quantile = 1.5"),
        (&["--quantile", "-0.1"], "invalid quantile = -0.1"),
        (&["--quantile", "nan"], "invalid quantile = NaN"),
        (
            &["--n-samples", "0"],
            "invalid --n-samples = 0: must be at least 1",
        ),
        (&["--n-samples", "-1"], "--n-samples"),
        (&["--quantile", "most"], "--quantile"),
    ];
    for (extra, needle) in cases {
        fails(2, &with(extra), needle);
    }
    fails(2, &["estimate-bandwidth", "missing.csv"], "cannot open");
    fails(2, &["estimate-bandwidth"], "INPUT");
    // Every point's first neighbour is itself: k = int(6 x 0.3) = 1, so the
    // estimate is 0, as scikit-learn's is, and said so.
    let (out, summary) = ok_with_summary(&with(&[]));
    assert_eq!(out, "0\n");
    assert_has(
        &summary,
        &["bandwidth 0 (every point's k-th nearest neighbour is at distance 0)"],
    );
}

#[test]
fn summaries_say_1_cluster_1_iteration_1_point_1_neighbour() {
    let dir = Scratch::new();
    let one = dir.write("one.csv", "3,4\n");
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [args, &["--backend", "cpu"][..]].concat()
    }

    // No iteration moves a lone seed: scikit-learn counts 0 too.
    let (_, summary) = ok_with_summary(&with(&["meanshift", &one, "--bandwidth", "1"]));
    assert_has(
        &summary,
        &["meanshift: 1 cluster from 1 point x 2; 0 iterations (converged)"],
    );
    let (_, summary) = ok_with_summary(&with(&[
        "meanshift",
        &one,
        "--bandwidth",
        "1",
        "--mode",
        "blurring",
        "--max-iter",
        "1",
    ]));
    assert_has(&summary, &["1 iteration (as many as asked)"]);

    let (_, summary) = ok_with_summary(&with(&["knn", &one, "--k", "1"]));
    assert_has(&summary, &["knn: 1 point x 2 against themselves"]);
    let (_, summary) = ok_with_summary(&with(&["knn", &one, "--radius", "1", "--queries", &one]));
    assert_has(
        &summary,
        &[
            "knn: 1 query x 2 against 1 point;",
            "radius 1: 1 neighbour, 1 to 1 per query",
        ],
    );
    let wide = dir.write("wide.csv", "3\n");
    let narrow_queries = with(&["knn", &one, "--k", "1", "--queries", &wide]);
    fails(2, &narrow_queries, "--queries ");
    fails(2, &narrow_queries, "the queries have 1 column,");

    let out = dir.path("b.csv");
    let (_, summary) = ok_with_summary(&[
        "blobs",
        "--out",
        &out,
        "--clusters",
        "1",
        "--per-cluster",
        "1",
    ]);
    assert_has(&summary, &["blobs: 1 point x 2 (1 cluster of 1, seed "]);
}

#[test]
fn fit_predict_gives_the_labels_of_the_fit() {
    let ctx = Context::cpu();
    let toy_csv = toy_csv();
    for ms in [
        MeanShift::new(2.0),
        MeanShift::new(2.0).blurring(3),
        MeanShift::new(2.0)
            .cluster_all(false)
            .bin_seeding(true)
            .min_bin_freq(2),
    ] {
        let fit: MeanShiftFit = ms.fit(&ctx, &toy_points()).unwrap();
        let labels = ms.fit_predict(&ctx, &toy_points()).unwrap();
        assert_eq!(labels, fit.labels(), "{ms:?}");
    }
    let labels = MeanShift::new(2.0)
        .fit_predict(&ctx, &toy_points())
        .unwrap();
    assert_eq!(ok(&toy_args(&toy_csv, &[])), lines(&labels));
    // Errors are the fit's.
    assert_eq!(
        MeanShift::new(-1.0).fit_predict(&ctx, &toy_points()),
        Err(MeanShift::new(-1.0).fit(&ctx, &toy_points()).unwrap_err())
    );
}

/// On a GPU the command prints what the library computes there. Skipped
/// without an adapter, unless REQUIRE_GPU=1.
#[test]
fn estimate_bandwidth_on_the_gpu() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let dir = Scratch::new();
    let blobs = dir.blobs_with("blobs.npy", &[]);
    let points = Blobs::default().generate().unwrap().points;
    let h = BandwidthEstimate::default()
        .estimate(&ctx, &points)
        .unwrap();
    // Not ok_with_summary: some drivers add lines of their own on stderr.
    let (printed, summary) = ok_with_stderr(&["estimate-bandwidth", &blobs, "--backend", "gpu"]);
    assert_eq!(printed, format!("{h}\n"));
    assert_has(&summary, &["backend gpu: "]);
}
