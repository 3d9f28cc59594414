//! Far from the origin: the command line writes the centres a fit moved
//! back in `f64` in `f64`'s shortest round-trip form, so a survey's
//! millimetres at northing 5e6 m survive (`f32` would round them to 0.5 m);
//! data that `f32` cannot resolve after centring is exit status 2.

mod common;

use common::check::parse_rows;
use common::run::{Scratch, fails, meanshift_args, ok};

use gpu_cluster::{Context, MeanShift, Points};

/// Nine clusters of 40 points around (512000, 5123000), 12 m apart, at
/// millimetre precision, as CSV text and as the values written.
fn survey() -> (String, Vec<f64>) {
    let jitter = common::uniform(9 * 40, 2, 0.8, 3);
    let mut values = Vec::new();
    for (i, j) in jitter.chunks_exact(2).enumerate() {
        let c = i / 40;
        let x = 512_000.0 + 12.0 * (c % 3) as f64 + f64::from(j[0]);
        let y = 5_123_000.0 + 12.0 * (c / 3) as f64 + f64::from(j[1]);
        values.extend([(x * 1e3).round() / 1e3, (y * 1e3).round() / 1e3]);
    }
    let text = values
        .chunks_exact(2)
        .map(|r| format!("{:.3},{:.3}\n", r[0], r[1]))
        .collect();
    (text, values)
}

#[test]
fn centres_far_from_the_origin_are_written_with_their_f64_values() {
    let files = Scratch::new();
    let (text, values) = survey();
    let input = files.write("survey.csv", &format!("easting,northing\n{text}"));
    let centres = files.path("centres.csv");
    ok(&meanshift_args(&input, "2", &["--centers", &centres]));
    let written: Vec<f64> = parse_rows(&files.read("centres.csv")).concat();
    let fit = MeanShift::new(2.0)
        .fit(&Context::cpu(), &Points::from_f64(&values, 2).unwrap())
        .unwrap();
    assert_eq!(fit.n_clusters(), 9);
    // The library's f64 centres to the precision of the work (half an f32
    // step of the centred values, here about 1e-6 m): nothing rounded to
    // f32 on the way out, where steps are 0.5 m.
    let want = fit.centers().to_f64();
    assert_eq!(written.len(), want.len());
    for (w, f) in written.iter().zip(&want) {
        assert!((w - f).abs() <= 2e-6, "{w} vs {f}");
    }
    assert!(
        written.iter().any(|&v| f64::from(v as f32) != v),
        "the centres have more than f32's digits"
    );
}

#[test]
fn centres_go_to_npy_or_stdout_and_never_print_rounding_noise() {
    let files = Scratch::new();
    let input = files.write(
        "near.csv",
        "0.1,0.2\n0.3,0.1\n0.2,0.2\n10.1,10.2\n10.3,10.0\n10.2,10.1\n",
    );
    let base = [
        "kmeans",
        input.as_str(),
        "--k",
        "2",
        "--backend",
        "cpu",
        "--seed",
        "1",
    ];
    // Decimal input near the origin: short decimals, not f64 noise such
    // as 10.100000038146973.
    let csv = files.path("c.csv");
    ok(&[&base[..], &["--centers", &csv]].concat());
    let text = files.read("c.csv");
    assert!(text.lines().all(|l| l.len() < 20), "{text}");
    assert!(text.contains("10.2,10.1"), "{text}");
    // A .npy path gets an array (float64: the centres hold f64 values).
    let npy = files.path("c.npy");
    ok(&[&base[..], &["--centers", &npy]].concat());
    let bytes = std::fs::read(&npy).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"), "not a .npy file");
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'<f8'"));
    // `-` is stdout once the labels go to a file; with the labels there
    // too it is refused before any work.
    let labels = files.path("l.txt");
    let out = ok(&[&base[..], &["--labels", &labels, "--centers", "-"]].concat());
    assert_eq!(out, text);
    fails(
        2,
        &[&base[..], &["--centers", "-"]].concat(),
        "--centers -: standard output carries the labels",
    );
}

#[test]
fn data_f32_cannot_resolve_after_centring_exits_2() {
    let files = Scratch::new();
    let input = files.write("far.csv", "0,0\n0.5,0\n1e9,1e9\n1000000000.5,1e9\n");
    fails(
        2,
        &meanshift_args(&input, "1", &[]),
        "where f32 steps are 32",
    );
}
