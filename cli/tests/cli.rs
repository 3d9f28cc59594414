//! The `gpu-cluster` command line, run as a user runs it: the built binary
//! on small files, checking outputs, the one-line messages and the exit
//! statuses scripts rely on (0 success, 2 bad input or usage, 1 run-time
//! failure).

mod common;

use common::check::{parse_lines, parse_rows};
use common::run::{
    Scratch, assert_has, assert_help, fails, fixture, meanshift_args, ok, ok_with_stderr,
    ok_with_summary, stderr,
};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use gpu_cluster::Blobs;
use npyz::{DType, Order, WriterBuilder};

/// scikit-learn's labels for `toy.csv` with bandwidth 2 (its `MeanShift`
/// docstring example).
const TOY_LABELS: [i32; 6] = [1, 1, 1, 0, 0, 0];
/// The toy points, row-major.
const TOY: [f64; 12] = [1., 1., 2., 1., 1., 0., 4., 7., 3., 5., 3., 6.];
/// The reference workload's mean shift, for the default blobs.
const REFERENCE: [&str; 6] = [
    "--mode",
    "blurring",
    "--max-iter",
    "5",
    "--bandwidth",
    "2.5",
];

fn parse_labels(text: &str) -> Vec<i32> {
    parse_lines(text)
}

/// `meanshift` on `toy.csv` with bandwidth 2 on the CPU, plus `extra`: its
/// stdout.
fn toy(extra: &[&str]) -> String {
    ok(&meanshift_args(&fixture("toy.csv"), "2", extra))
}

/// Labels equal up to renaming the clusters: the same partition.
fn assert_same_partition(a: &[i32], b: &[i32]) {
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        for j in 0..a.len() {
            assert_eq!(
                a[i] == a[j],
                b[i] == b[j],
                "points {i} and {j}: {a:?} vs {b:?}"
            );
        }
    }
}

/// Writes `rows x cols` values given row-major to a 2-D `.npy` of `dtype`
/// (e.g. `<f4`) in the given order.
fn write_npy<T: npyz::Serialize + Copy>(
    path: &Path,
    values: &[T],
    cols: usize,
    dtype: &str,
    order: Order,
) {
    let rows = values.len() / cols;
    let stored: Vec<T> = match order {
        Order::C => values.to_vec(),
        Order::Fortran => (0..values.len())
            .map(|i| values[(i % rows) * cols + i / rows])
            .collect(),
    };
    let mut w = npyz::WriteOptions::<T>::new()
        .dtype(DType::Plain(dtype.parse().unwrap()))
        .shape(&[rows as u64, cols as u64])
        .order(order)
        .writer(fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(stored).unwrap();
    w.finish().unwrap();
}

#[test]
fn toy_labels_match_scikit_learn() {
    // The summary: one line with the figures a user looks for.
    let (labels, summary) = ok_with_summary(&meanshift_args(&fixture("toy.csv"), "2", &[]));
    assert_same_partition(&parse_labels(&labels), &TOY_LABELS);
    assert_has(
        &summary,
        &[
            "2 clusters",
            "6 points x 2",
            "iterations (converged)",
            "standard mode",
            "flat kernel",
            "bandwidth 2",
            "backend cpu: CPU",
            " ms",
        ],
    );
}

#[test]
fn labels_and_centres_go_to_files() {
    let dir = Scratch::new();
    let (labels, centres) = (dir.path("labels.txt"), dir.path("centres.csv"));
    let printed = toy(&["--labels", &labels, "--centers", &centres]);
    assert_eq!(printed, "", "labels go to the file, not stdout");
    let labels = parse_labels(&fs::read_to_string(labels).unwrap());
    assert_same_partition(&labels, &TOY_LABELS);
    // Row k is label k's centre, written without a header in the shortest
    // form that reads back to the same f32.
    let text = fs::read_to_string(centres).unwrap();
    let rows: Vec<Vec<f32>> = parse_rows(&text);
    assert_eq!(rows.len(), 2);
    let near =
        |row: &[f32], c: [f32; 2]| (row[0] - c[0]).abs() < 1e-5 && (row[1] - c[1]).abs() < 1e-5;
    assert!(
        near(&rows[labels[0] as usize], [4.0 / 3.0, 2.0 / 3.0]),
        "{text}"
    );
    assert!(near(&rows[labels[3] as usize], [10.0 / 3.0, 6.0]), "{text}");
    for (line, row) in text.lines().zip(&rows) {
        let shortest: Vec<String> = row.iter().map(f32::to_string).collect();
        assert_eq!(line, shortest.join(","));
    }
}

#[test]
fn csv_header_spaces_crlf_and_blank_lines() {
    let header = ok(&meanshift_args(&fixture("toy_header.csv"), "2", &[]));
    assert_eq!(header, toy(&[]));
}

#[test]
fn npy_f32_and_f64_in_c_and_fortran_order() {
    let dir = Scratch::new();
    let expected = toy(&[]);
    let toy32: Vec<f32> = TOY.iter().map(|&v| v as f32).collect();
    for order in [Order::C, Order::Fortran] {
        let f32_path = dir.file(&format!("toy32_{order:?}.npy"));
        let f64_path = dir.file(&format!("toy64_{order:?}.npy"));
        write_npy(&f32_path, &toy32, 2, "<f4", order);
        write_npy(&f64_path, &TOY, 2, "<f8", order);
        for path in [f32_path, f64_path] {
            let path = path.display().to_string();
            let got = ok(&meanshift_args(&path, "2", &[]));
            assert_eq!(got, expected, "{path}");
        }
    }
}

#[test]
fn bin_seeding_and_no_cluster_all_leave_far_points_unassigned() {
    // Bins of side 2 hold at most 2 points here; only the bin at the origin
    // holds 2, so one seed climbs to (4/3, 2/3) and the far group, more
    // than 2 away from it, gets -1.
    let labels = toy(&["--bin-seeding", "--min-bin-freq", "2", "--no-cluster-all"]);
    assert_eq!(parse_labels(&labels), [0, 0, 0, -1, -1, -1]);
}

#[test]
fn blobs_round_trip_through_meanshift() {
    let dir = Scratch::new();
    let (npy, csv) = (dir.path("blobs.npy"), dir.path("blobs.csv"));
    let (truth, centroids) = (dir.path("truth.txt"), dir.path("centroids.csv"));
    let (_, summary) = ok_with_stderr(&[
        "blobs",
        "--out",
        &npy,
        "--labels",
        &truth,
        "--centroids",
        &centroids,
    ]);
    assert!(summary.contains("1500 points x 2"), "{summary}");
    dir.blobs_with("blobs.csv", &[]);

    // The files hold the library's default data, bit for bit.
    let data = Blobs::default().generate().unwrap();
    let from_npy: Vec<f32> = npyz::NpyFile::new(fs::File::open(&npy).unwrap())
        .unwrap()
        .into_vec()
        .unwrap();
    assert_eq!(from_npy, data.points.as_slice());
    let from_csv: Vec<f32> = parse_rows(&dir.read("blobs.csv")).concat();
    assert_eq!(from_csv, data.points.as_slice());
    let truth: Vec<i32> = parse_labels(&dir.read("truth.txt"));
    let expected: Vec<i32> = data.labels.iter().map(|&l| l as i32).collect();
    assert_eq!(truth, expected);
    let centroids: Vec<Vec<f32>> = parse_rows(&dir.read("centroids.csv"));
    assert_eq!(centroids.concat(), data.centroids.as_slice());

    // The reference workload finds the six blobs from either file.
    let args = [&REFERENCE[..], &["--backend", "cpu"]].concat();
    let (from_npy, summary) = ok_with_stderr(&[&["meanshift", npy.as_str()][..], &args].concat());
    assert!(summary.contains("6 clusters"), "{summary}");
    assert!(
        summary.contains("5 iterations (as many as asked)"),
        "{summary}"
    );
    assert!(summary.contains("gaussian kernel"), "{summary}");
    assert_same_partition(&parse_labels(&from_npy), &truth);
    let from_csv = ok(&[&["meanshift", csv.as_str()][..], &args].concat());
    assert_eq!(from_csv, from_npy);
}

#[test]
fn blurring_without_max_iter_stops_by_itself() {
    let (labels, summary) = ok_with_stderr(&meanshift_args(
        &fixture("toy.csv"),
        "2",
        &["--mode", "blurring"],
    ));
    assert!(summary.contains("(stable: "), "{summary}");
    assert_same_partition(&parse_labels(&labels), &TOY_LABELS);
}

#[test]
fn blobs_parameters() {
    let dir = Scratch::new();
    let out = dir.blobs_with(
        "small.csv",
        &[
            "--clusters",
            "3",
            "--per-cluster",
            "4",
            "--dim",
            "5",
            "--seed",
            "7",
        ],
    );
    let rows: Vec<Vec<f32>> = parse_rows(&dir.read("small.csv"));
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.len() == 5));
    let huge = u64::MAX.to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--clusters", "0"], "clusters"),
        (&["--per-cluster", "0"], "per_cluster"),
        (&["--dim", "0"], "dimension"),
        (&["--clusters", &huge, "--per-cluster", &huge], "values"),
    ];
    for (extra, needle) in cases {
        fails(2, &[&["blobs", "--out", &out][..], extra].concat(), needle);
    }
    fails(
        2,
        &["blobs", "--out", &dir.path("x.txt")],
        "unknown file type",
    );
}

#[test]
fn bad_csv_input_exits_2_naming_the_problem() {
    let cases = [
        ("ragged.csv", "line 3 has 3 values, expected 2"),
        ("nan.csv", "line 2, column 2: NaN is not a finite f32"),
        ("inf.csv", "line 3, column 2: -inf is not a finite f32"),
        ("f32_overflow.csv", "line 2, column 2"),
        ("text.csv", "line 3, column 2: \"one\" is not a number"),
        ("empty.csv", "empty"),
        ("header_only.csv", "empty"),
    ];
    for (name, needle) in cases {
        let path = fixture(name);
        let args = meanshift_args(&path, "2", &[]);
        fails(2, &args, needle);
        fails(2, &args, name);
    }
    let missing = fixture("missing.csv");
    fails(
        2,
        &["meanshift", &missing, "--backend", "cpu"],
        "cannot open",
    );
    fails(
        2,
        &["meanshift", &fixture("README.md"), "--backend", "cpu"],
        "unknown file type",
    );
}

#[test]
fn bad_npy_input_exits_2_naming_the_problem() {
    let dir = Scratch::new();
    let one_d = dir.file("one_d.npy");
    npyz::to_file_1d(&one_d, [1.0f32, 2.0, 3.0]).unwrap();
    let three_d = dir.file("three_d.npy");
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[2, 2, 2])
        .writer(fs::File::create(&three_d).unwrap())
        .begin_nd()
        .unwrap();
    w.extend([0.0f32; 8]).unwrap();
    w.finish().unwrap();
    let ints = dir.file("ints.npy");
    write_npy(&ints, &[1i32, 2, 3, 4], 2, "<i4", Order::C);
    let big_endian = dir.file("big_endian.npy");
    write_npy(&big_endian, &[1.0f64, 2.0, 3.0, 4.0], 2, ">f8", Order::C);
    let nan = dir.file("nan.npy");
    write_npy(&nan, &[1.0f32, 2.0, 3.0, f32::NAN], 2, "<f4", Order::C);
    let overflow = dir.file("overflow.npy");
    write_npy(
        &overflow,
        &[1.0f64, 1e300, 3.0, 4.0],
        2,
        "<f8",
        Order::Fortran,
    );
    let empty = dir.file("empty.npy");
    write_npy::<f32>(&empty, &[], 2, "<f4", Order::C);
    let truncated = dir.file("truncated.npy");
    write_npy(&truncated, &[1.0f32; 8], 2, "<f4", Order::C);
    let len = fs::metadata(&truncated).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len - 4)
        .unwrap();
    // A header that claims far more data than the file holds must not make
    // the reader allocate it.
    let claims_huge = dir.file("claims_huge.npy");
    npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[1 << 40, 1 << 20])
        .writer(fs::File::create(&claims_huge).unwrap())
        .write_header_only()
        .unwrap();
    let garbage = dir.file("garbage.npy");
    fs::File::create(&garbage)
        .unwrap()
        .write_all(b"1,2\n3,4\n")
        .unwrap();
    let cases: [(&PathBuf, &str); 10] = [
        (&one_d, "expected a 2-D array, found shape [3]"),
        (&three_d, "expected a 2-D array, found shape [2, 2, 2]"),
        (&ints, "unsupported dtype '<i4'"),
        (&big_endian, "unsupported dtype '>f8'"),
        (&nan, "element [1, 1] is NaN"),
        (&overflow, "element [0, 1] is 1e300"),
        (&empty, "empty"),
        (&truncated, "cannot read the data"),
        (&claims_huge, "truncated"),
        (&garbage, "not a valid .npy file"),
    ];
    for (path, needle) in cases {
        let path = path.display().to_string();
        fails(2, &meanshift_args(&path, "2", &[]), needle);
    }
}

#[test]
fn bad_parameters_exit_2() {
    let toy = fixture("toy.csv");
    let cpu = ["--backend", "cpu"];
    let with = |extra: &[&'static str]| [&["meanshift", toy.as_str()][..], extra, &cpu].concat();
    let cases: [(&[&str], &str); 7] = [
        (
            &["--kernel", "gaussian"],
            "the estimated bandwidth is 0 (quantile 0.3: the k-th neighbours are duplicates) and the gaussian kernel divides by it",
        ),
        (&["--bandwidth", "-1"], "invalid bandwidth = -1"),
        (&["--bandwidth", "0"], "invalid bandwidth = 0"),
        (&["--quantile", "0"], "invalid quantile = 0"),
        (
            &["--bandwidth", "2", "--gaussian-cutoff", "0"],
            "invalid gaussian_cutoff = 0",
        ),
        (&["--method", "knn"], "--method knn is not available yet"),
        (
            &["--bandwidth", "2", "--mode", "blurring", "--bin-seeding"],
            "--bin-seeding",
        ),
    ];
    for (extra, needle) in cases {
        fails(2, &with(extra), needle);
    }
    // The estimate is 0 there, and the flat kernel takes it as
    // scikit-learn does: each distinct point is a cluster of its own.
    let labels = ok(&["meanshift", &toy, "--backend", "cpu"]);
    let mut distinct: Vec<&str> = labels.lines().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!((labels.lines().count(), distinct.len()), (6, 6), "{labels}");
    // Bin seeding that keeps no bin: a parameter error from the library.
    fails(
        2,
        &meanshift_args(&toy, "2", &["--bin-seeding", "--min-bin-freq", "9"]),
        "no bin",
    );
    // Dense and grid give the same labels for the flat kernel, and the
    // summary says which ran.
    let by = |method: &str| ok_with_stderr(&meanshift_args(&toy, "2", &["--method", method]));
    let (dense, dense_note) = by("dense");
    let (grid, grid_note) = by("grid");
    assert_eq!(dense, grid);
    assert!(
        dense_note.contains("; dense, direct distances;"),
        "{dense_note}"
    );
    assert!(grid_note.contains("; grid;"), "{grid_note}");
}

#[test]
fn usage_errors_exit_2() {
    let toy = fixture("toy.csv");
    for args in [
        &[
            "meanshift",
            toy.as_str(),
            "--bandwidth",
            "2",
            "--quantile",
            "0.5",
        ][..],
        &["meanshift", toy.as_str(), "--kernel", "cosine"],
        &["meanshift", toy.as_str(), "--bandwidth", "wide"],
        &["meanshift"],
        &["blobs"],
        &["kmeans", toy.as_str()],
    ] {
        fails(2, args, "");
    }
    fails(2, &[], "a subcommand is required");
    // Clap's detail survives the one line: the typo's suggestion, the
    // possible values, the missing argument's name.
    fails(
        2,
        &["meanshift", toy.as_str(), "--bandwith", "2"],
        "a similar argument exists: '--bandwidth'",
    );
    fails(
        2,
        &["meanshift", toy.as_str(), "--kernel", "cosine"],
        "[possible values: flat, gaussian, triangular, epanechnikov]",
    );
    fails(2, &["meanshift"], "were not provided: <INPUT>");
}

#[test]
fn unwritable_output_exits_1() {
    let dir = Scratch::new();
    let toy = fixture("toy.csv");
    let base = meanshift_args(&toy, "2", &[]);
    dir.cannot_write(&base, "--labels");
    dir.cannot_write(&base, "--centers");
    fails(
        1,
        &["blobs", "--out", &dir.no_dir("out.csv")],
        "cannot write",
    );
    fails(
        1,
        &["blobs", "--out", &dir.no_dir("out.npy")],
        "cannot write",
    );
    let out = dir.path("ok.csv");
    fails(
        1,
        &["blobs", "--out", &out, "--centroids", &dir.dir_arg()],
        "cannot write",
    );
}

#[test]
fn help_lists_every_default() {
    assert_help(
        "meanshift",
        &[
            "--bandwidth <F>",
            "[default: estimated from the data with --quantile",
            "[default: 0.3]",
            "[default: flat; gaussian with --mode blurring]",
            "[default: standard]",
            "[default: 300]",
            "--bin-seeding",
            "[default: 1]",
            "--no-cluster-all",
            "[default: auto] [possible values: auto, dense, grid, knn]",
            "[default: auto] [possible values: auto, gpu, cpu]",
            "[default: stdout]",
            "--centers <FILE>",
        ],
    );
    assert_help(
        "blobs",
        &[
            "--out <FILE>",
            "[default: 6]",
            "[default: 250]",
            "[default: 2]",
            &format!("[default: {}]", Blobs::DEFAULT_SEED),
            "--labels <FILE>",
            "--centroids <FILE>",
        ],
    );
}

/// The GPU backend gives the same labels as the CPU, on the toy set and on
/// the reference workload (well separated, so labels must be identical, not
/// merely close). Skipped without an adapter, unless REQUIRE_GPU=1.
#[test]
fn gpu_backend_matches_cpu() {
    if common::gpu().is_none() {
        return;
    }
    let dir = Scratch::new();
    let blobs = dir.blobs_with("blobs.npy", &[]);
    let toy = fixture("toy.csv");
    for args in [
        &["meanshift", toy.as_str(), "--bandwidth", "2"][..],
        &[&["meanshift", blobs.as_str()][..], &REFERENCE].concat(),
    ] {
        let cpu = ok(&[args, &["--backend", "cpu"]].concat());
        let (gpu, summary) = ok_with_stderr(&[args, &["--backend", "gpu"]].concat());
        assert!(summary.contains("backend gpu"), "{summary}");
        assert_eq!(gpu, cpu, "{args:?}");
    }
}

/// Without a desktop session the graphics stack prints nothing that looks
/// like this tool's errors: opening the GPU says only the summary.
#[test]
fn gpu_runs_without_a_session_are_quiet() {
    if common::gpu().is_none() {
        return;
    }
    let toy = fixture("toy.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpu-cluster"))
        .args(["meanshift", &toy, "--bandwidth", "2", "--backend", "gpu"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "only the summary: {err}");
    assert!(err.starts_with("meanshift: "), "{err}");
}
