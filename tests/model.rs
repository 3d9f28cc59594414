//! Saving and loading models (the `serde` feature): a loaded mean-shift or
//! k-means fit is the saved one, predicts the same labels bit for bit,
//! keeps every `f32` exactly; a loaded nearest-neighbour index answers as
//! the saved one did; a file's format can be read on its own; and a file
//! that is not a valid model is `Error::Model` saying why.

mod common;

use gpu_cluster::{
    Blobs, Context, Error, KMeans, KMeansFit, KMeansInit, Kernel, KnnIndex, MeanShift,
    MeanShiftFit, Metric, Mode, NearestNeighbors, Points, model_format,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Small blobs: four clusters of 60 points in 2-D.
fn blobs() -> Points {
    Blobs {
        clusters: 4,
        per_cluster: 60,
        ..Blobs::default()
    }
    .generate()
    .expect("valid blobs")
    .points
}

/// New points around and between the blobs, some far from every centre.
fn new_points() -> Points {
    Points::new(&common::uniform(400, 2, 50.0, 7), 2).expect("finite")
}

/// The fit after a trip through JSON, both through the string and the file
/// forms; the two agree.
fn round_trip(fit: &MeanShiftFit) -> MeanShiftFit {
    let json = fit.to_json();
    let from_string = MeanShiftFit::from_json(&json).expect("reads back");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("model.json");
    fit.save(&path).expect("saves");
    assert_eq!(
        std::fs::read_to_string(&path).expect("written"),
        format!("{json}\n")
    );
    let from_file = MeanShiftFit::load(&path).expect("loads");
    assert_eq!(from_file, from_string);
    from_file
}

/// Labels from `predict` as bits: equal vectors of `i32` are bit-identical,
/// but the comparison also prints where they differ.
fn assert_same_labels(a: &[i32], b: &[i32]) {
    assert_eq!(a.len(), b.len());
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("label {i}: {} before, {} after the round trip", a[i], b[i]);
    }
}

fn bits(points: &Points) -> Vec<u32> {
    points.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// Everything the accessors give, compared bit for bit.
fn assert_same_fit(a: &MeanShiftFit, b: &MeanShiftFit) {
    assert_eq!(bits(a.centers()), bits(b.centers()));
    assert_eq!(a.centers().dim(), b.centers().dim());
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.counts(), b.counts());
    let ib = |f: &MeanShiftFit| {
        f.intensities()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(ib(a), ib(b));
    assert_eq!(a.n_iter(), b.n_iter());
    assert_eq!(a.stop_reason(), b.stop_reason());
    assert_eq!(a.bandwidth().to_bits(), b.bandwidth().to_bits());
    assert_eq!(a.kernel(), b.kernel());
    assert_eq!(a.mode(), b.mode());
    assert_eq!(
        a.final_positions().map(bits),
        b.final_positions().map(bits),
        "final positions"
    );
}

#[test]
fn a_standard_fit_round_trips_and_predicts_the_same_labels() {
    let x = blobs();
    let fit = MeanShift::new(3.0).fit(&Context::cpu(), &x).expect("fits");
    assert!(fit.n_clusters() >= 4, "{} clusters", fit.n_clusters());
    let back = round_trip(&fit);
    assert_eq!(back, fit);
    assert_same_fit(&fit, &back);
    for points in [&x, &new_points()] {
        assert_same_labels(
            &fit.predict(points).expect("predicts"),
            &back.predict(points).expect("predicts"),
        );
    }
    // Standard mode: predicting the training data gives the fit's labels.
    assert_same_labels(&back.predict(&x).expect("predicts"), fit.labels());
}

#[test]
fn a_fit_without_cluster_all_keeps_its_unassigned_points() {
    let x = blobs();
    let fit = MeanShift::new(1.5)
        .kernel(Kernel::Epanechnikov)
        .cluster_all(false)
        .fit(&Context::cpu(), &x)
        .expect("fits");
    let back = round_trip(&fit);
    assert_eq!(back, fit);
    assert_same_fit(&fit, &back);
    let far = new_points();
    let before = fit.predict(&far).expect("predicts");
    assert!(before.contains(&-1), "some new points are unassigned");
    assert!(before.iter().any(|&l| l >= 0), "some are assigned");
    assert_same_labels(&before, &back.predict(&far).expect("predicts"));
    assert_same_labels(
        &fit.predict(&x).expect("predicts"),
        &back.predict(&x).expect("predicts"),
    );
    let json = fit.to_json();
    assert!(json.contains(r#""cluster_all":false"#), "{json}");
    assert!(json.contains(r#""kernel":"epanechnikov""#), "{json}");
}

#[test]
fn a_blurring_fit_keeps_its_final_positions_but_not_its_trajectory() {
    let x = blobs();
    let fit = MeanShift::new(2.5)
        .blurring(3)
        .record_trajectory(true)
        .fit(&Context::cpu(), &x)
        .expect("fits");
    assert_eq!(fit.trajectory().len(), 3);
    let back = round_trip(&fit);
    assert_same_fit(&fit, &back);
    assert!(back.trajectory().is_empty());
    assert_eq!(back.mode(), Mode::Blurring);
    assert_eq!(back.kernel(), Kernel::Gaussian);
    let points = new_points();
    assert_same_labels(
        &fit.predict(&points).expect("predicts"),
        &back.predict(&points).expect("predicts"),
    );
    // Without a recorded trajectory the loaded fit is equal outright.
    let fit = MeanShift::new(2.5)
        .blurring_until_stable()
        .fit(&Context::cpu(), &x)
        .expect("fits");
    assert_eq!(round_trip(&fit), fit);
}

#[test]
fn a_fit_on_the_gpu_loads_and_predicts_on_either_backend() {
    let Some(gpu) = common::gpu() else { return };
    let x = blobs();
    let fit = MeanShift::new(3.0).fit(&gpu, &x).expect("fits");
    let back = round_trip(&fit);
    assert_eq!(back, fit);
    let points = new_points();
    assert_same_labels(
        &fit.predict_on(&gpu, &points).expect("predicts"),
        &back.predict_on(&gpu, &points).expect("predicts"),
    );
    assert_same_labels(
        &fit.predict(&points).expect("predicts"),
        &back.predict(&points).expect("predicts"),
    );
}

/// A valid version-1 document, with `centers` and `bandwidth` as given.
fn document(centers: &str, bandwidth: &str) -> String {
    format!(
        r#"{{"format":"gpu-cluster/meanshift","version":1,"bandwidth":{bandwidth},
        "kernel":"flat","mode":"standard","cluster_all":true,"n_iter":1,
        "stop_reason":"converged","centers":{centers},"intensities":[1.0,2.0],
        "counts":[1,0],"labels":[0]}}"#
    )
}

#[test]
fn awkward_f32_values_round_trip_exactly() {
    let awkward = [
        0.1f32,
        1e-38,
        -0.0,
        3.4e38,
        f32::MAX,
        -f32::MAX,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // the smallest subnormal
        -f32::from_bits(0x007f_ffff),
        1.0 + f32::EPSILON,
        16_777_217.0,
        0.3,
        2.0 / 3.0,
        -1e-45,
    ];
    let centers = Points::new(&[&awkward[..], &[0.0, 0.0]].concat(), 2).expect("finite");
    let rows: Vec<String> = centers
        .rows()
        .map(|r| format!("[{},{}]", f64::from(r[0]), f64::from(r[1])))
        .collect();
    let intensities = [0.1f32, 1e-38, 3.4e38, 0.0, 7.0, 1.0, 2.0, 3.0];
    let json = format!(
        r#"{{"format":"gpu-cluster/meanshift","version":1,"bandwidth":{},
        "kernel":"gaussian","mode":"standard","cluster_all":true,"n_iter":0,
        "stop_reason":"converged","centers":[{}],"intensities":{:?},
        "counts":[1,0,0,0,0,0,0,0],"labels":[0]}}"#,
        f64::from(0.1f32),
        rows.join(","),
        intensities.map(f64::from),
    );
    let fit = MeanShiftFit::from_json(&json).expect("a valid model");
    assert_eq!(bits(fit.centers()), bits(&centers));
    assert_eq!(fit.bandwidth().to_bits(), 0.1f32.to_bits());
    assert_eq!(
        fit.intensities()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        intensities.map(f32::to_bits)
    );
    assert!(fit.centers().row(1)[0].is_sign_negative(), "-0.0 kept");
    // Written and read again: the same bits.
    let again = MeanShiftFit::from_json(&fit.to_json()).expect("reads back");
    assert_same_fit(&fit, &again);
    assert!(again.centers().row(1)[0].is_sign_negative(), "-0.0 kept");
    // Values as a person (or a shortest-f32 writer) types them read as the
    // nearest f32.
    let typed = MeanShiftFit::from_json(&document("[[0.1,-0.0],[1e-38,3.4e38]]", "0.1"))
        .expect("a valid model");
    assert_eq!(
        bits(typed.centers()),
        [0.1f32, -0.0, 1e-38, 3.4e38].map(f32::to_bits)
    );
    assert_eq!(typed.bandwidth(), 0.1f32);
}

#[test]
fn points_round_trip_exactly_through_json() {
    // Random bit patterns: every exponent, subnormals and signs included.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let values: Vec<f32> = std::iter::repeat_with(|| f32::from_bits(rng.next_u32()))
        .filter(|v| v.is_finite())
        .take(30_000)
        .collect();
    let points = Points::new(&values, 3).expect("finite");
    let json = serde_json::to_string(&points).expect("serialises");
    let back: Points = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back.dim(), 3);
    assert_eq!(bits(&back), bits(&points));
    // The layout: rows of numbers, widened exactly to f64.
    let small = Points::new(&[0.1, -0.0, 1.0, 2.5], 2).expect("finite");
    assert_eq!(
        serde_json::to_string(&small).expect("serialises"),
        "[[0.10000000149011612,-0.0],[1.0,2.5]]"
    );
}

#[test]
fn points_read_from_a_file_are_validated() {
    let read = |json: &str| serde_json::from_str::<Points>(json).map_err(|e| e.to_string());
    for (json, needle) in [
        ("[]", "empty"),
        ("[[], []]", "dimension must be at least 1"),
        ("[[1.0, 2.0], [3.0]]", "row 1 has 1 values, expected 2"),
        ("[[1.0, 1e39]]", "row 0, column 1 is not finite"),
        ("[[1.0, null]]", "invalid type"),
        ("[1.0, 2.0]", "invalid type"),
        ("{}", "invalid type"),
    ] {
        let err = read(json).expect_err(json);
        assert!(err.contains(needle), "{json}: {err:?} lacks {needle:?}");
    }
    assert_eq!(
        read("[[1, 2]]").expect("integers are numbers").row(0),
        [1.0, 2.0]
    );
}

#[test]
fn the_document_has_the_envelope_and_the_fields_the_python_package_reads() {
    let x = Points::new(&[1., 1., 2., 1., 1., 0., 4., 7., 3., 5., 3., 6.], 2).expect("finite");
    let fit = MeanShift::new(2.0).fit(&Context::cpu(), &x).expect("fits");
    let doc: serde_json::Value = serde_json::from_str(&fit.to_json()).expect("JSON");
    assert_eq!(doc["format"], "gpu-cluster/meanshift");
    assert_eq!(doc["version"], 1);
    assert_eq!(MeanShiftFit::MODEL_FORMAT, "gpu-cluster/meanshift");
    assert_eq!(MeanShiftFit::MODEL_VERSION, 1);
    assert_eq!(doc["bandwidth"], 2.0);
    assert_eq!(doc["kernel"], "flat");
    assert_eq!(doc["mode"], "standard");
    assert_eq!(doc["cluster_all"], true);
    assert_eq!(doc["stop_reason"], "converged");
    assert_eq!(doc["labels"], serde_json::json!([1, 1, 1, 0, 0, 0]));
    assert_eq!(doc["counts"], serde_json::json!([3, 3]));
    assert_eq!(doc["centers"].as_array().expect("rows").len(), 2);
    assert!(
        doc.get("final_positions").is_none(),
        "standard mode has none"
    );
    assert!(doc.get("trajectory").is_none());
    assert!(doc["n_iter"].is_u64());
    assert_eq!(doc["intensities"].as_array().expect("numbers").len(), 2);
    // Through serde generically (any format), not only the JSON helpers.
    let back: MeanShiftFit = serde_json::from_value(doc.clone()).expect("deserialises");
    assert_eq!(back, fit);
    // Fields a writer adds are ignored.
    let mut extra = doc;
    extra["written_by"] = "gpu-cluster-python 0.1".into();
    assert_eq!(
        MeanShiftFit::from_json(&extra.to_string()).expect("reads"),
        fit
    );
}

#[test]
fn a_loaded_model_checks_the_dimension_of_new_points() {
    let fit = MeanShiftFit::from_json(&document("[[0.0,0.0],[5.0,5.0]]", "1.0")).expect("valid");
    let err = fit
        .predict(&Points::new(&[1.0, 2.0, 3.0], 3).expect("finite"))
        .expect_err("3 columns against 2");
    assert_eq!(
        err,
        Error::DimensionMismatch {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        fit.predict(&Points::new(&[4.0, 4.0, 0.5, 0.0], 2).expect("finite"))
            .expect("predicts"),
        [1, 0]
    );
}

/// The message of the `Error::Model` that reading `json` gives.
fn model_error(json: &str) -> String {
    match MeanShiftFit::from_json(json) {
        Err(Error::Model(m)) => m,
        Err(e) => panic!("{json}: not Error::Model: {e:?}"),
        Ok(_) => panic!("{json}: read as a valid model"),
    }
}

#[test]
fn a_file_that_is_not_a_valid_model_is_an_error_saying_why() {
    let valid = document("[[0.0,0.0],[5.0,5.0]]", "1.0");
    MeanShiftFit::from_json(&valid).expect("the base document is valid");
    let swap = |from: &str, to: &str| {
        assert!(valid.contains(from), "{from}");
        valid.replacen(from, to, 1)
    };
    let cases = [
        ("".to_string(), "is not JSON"),
        ("{\"format\": ".to_string(), "is not JSON"),
        ("PK\u{3}\u{4} binary".to_string(), "is not JSON"),
        (format!("{valid} trailing"), "is not JSON"),
        ("[1, 2, 3]".to_string(), "is not a gpu-cluster model"),
        ("{}".to_string(), "no \"format\""),
        (
            swap("gpu-cluster/meanshift", "gpu-cluster/kmeans"),
            "format is \"gpu-cluster/kmeans\", expected \"gpu-cluster/meanshift\"",
        ),
        (
            swap(r#""gpu-cluster/meanshift""#, "7"),
            "format is 7, expected",
        ),
        (
            swap(r#""version":1"#, r#""version":2"#),
            "format version 2: this build reads version 1",
        ),
        (
            swap(r#""version":1"#, r#""version":"1""#),
            "format version \"1\"",
        ),
        (swap(r#""version":1,"#, ""), "no \"version\""),
        (
            swap(r#""labels":[0]"#, r#""labelz":[0]"#),
            "missing field `labels`",
        ),
        (
            swap(r#""kernel":"flat""#, r#""kernel":"box""#),
            "unknown variant `box`",
        ),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[[0.0,0.0],[5.0]]"),
            "centers: row 1 has 1 values, expected 2",
        ),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[[0.0,0.0],[5.0,1e39]]"),
            "centers: value at row 1, column 1 is not finite",
        ),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[]"),
            "centers: the data is empty",
        ),
        (
            swap(r#""bandwidth":1.0"#, r#""bandwidth":0"#).replace("flat", "gaussian"),
            "bandwidth 0.0: it must be finite and > 0 (0 only with the flat kernel)",
        ),
        (
            swap(r#""bandwidth":1.0"#, r#""bandwidth":-2"#),
            "bandwidth -2.0",
        ),
        (
            swap(r#""bandwidth":1.0"#, r#""bandwidth":1e300"#),
            "bandwidth 1e300",
        ),
        (swap("[1.0,2.0]", "[1.0]"), "1 intensities for 2 centers"),
        (swap("[1.0,2.0]", "[1.0,-2.0]"), "intensities[1] is -2.0"),
        (
            swap(r#""counts":[1,0]"#, r#""counts":[1]"#),
            "1 counts for 2 centers",
        ),
        (
            swap(r#""counts":[1,0]"#, r#""counts":[0,1]"#),
            "counts[0] is 0, but 1 labels are 0",
        ),
        (
            swap(r#""labels":[0]"#, r#""labels":[2]"#),
            "labels[0] is 2: the model has 2 clusters",
        ),
        (
            swap(r#""labels":[0]"#, r#""labels":[-1]"#),
            "labels[0] is -1, but with cluster_all",
        ),
        (
            swap(
                r#""stop_reason":"converged""#,
                r#""stop_reason":"iterations""#,
            ),
            "stop_reason iterations does not occur in standard mode",
        ),
        (
            swap(
                r#""labels":[0]"#,
                r#""labels":[0],"final_positions":[[1.0,2.0]]"#,
            ),
            "final_positions are given, but standard mode has none",
        ),
    ];
    for (json, needle) in cases {
        let m = model_error(&json);
        assert!(m.starts_with("model "), "{json}: {m:?}");
        assert!(m.contains(needle), "{json}: {m:?} lacks {needle:?}");
        assert_eq!(m.lines().count(), 1, "{m:?}");
    }
    // cluster_all off: -1 is a label like any other.
    let off = swap(r#""cluster_all":true"#, r#""cluster_all":false"#).replacen(
        r#""labels":[0]"#,
        r#""labels":[-1,0]"#,
        1,
    );
    let fit = MeanShiftFit::from_json(&off).expect("valid");
    assert_eq!(fit.labels(), [-1, 0]);
    // A blurring fit: positions one row per label, of the centres' width.
    let blurring = valid
        .replacen(r#""mode":"standard""#, r#""mode":"blurring""#, 1)
        .replacen(
            r#""stop_reason":"converged""#,
            r#""stop_reason":"iterations""#,
            1,
        );
    let with = |positions: &str| {
        blurring.replacen(
            r#""labels":[0]"#,
            &format!(r#""labels":[0],"final_positions":{positions}"#),
            1,
        )
    };
    let fit = MeanShiftFit::from_json(&with("[[0.5,0.5]]")).expect("valid");
    assert_eq!(
        fit.final_positions().map(Points::as_slice),
        Some(&[0.5f32, 0.5][..])
    );
    MeanShiftFit::from_json(&with("null")).expect("null is none");
    let m = model_error(&with("[[0.5,0.5],[1.0,1.0]]"));
    assert!(
        m.contains("final_positions is 2 x 2: expected one row per label (1)"),
        "{m}"
    );
    let m = model_error(&with("[[0.5]]"));
    assert!(m.contains("final_positions is 1 x 1"), "{m}");
    let m = model_error(&with("[[0.5,\"a\"]]"));
    assert!(m.contains("final_positions: invalid type"), "{m}");
    // Through serde generically, the same checks.
    let err = serde_json::from_str::<MeanShiftFit>(&swap(r#""labels":[0]"#, r#""labels":[5]"#))
        .expect_err("label out of range");
    assert!(err.to_string().contains("labels[0] is 5"), "{err}");
    let err = serde_json::from_str::<MeanShiftFit>(&swap(r#""version":1"#, r#""version":9"#))
        .expect_err("version 9");
    assert!(
        err.to_string().contains("model has format version 9"),
        "{err}"
    );
}

#[test]
fn files_name_themselves_in_their_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("missing.json");
    match MeanShiftFit::load(&missing) {
        Err(Error::Model(m)) => {
            assert!(m.starts_with("cannot read model "), "{m}");
            assert!(m.contains("missing.json"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x01]).expect("written");
    match MeanShiftFit::load(&garbage) {
        Err(Error::Model(m)) => {
            assert!(m.starts_with("model "), "{m}");
            assert!(m.contains("garbage.json is not JSON"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let fit = MeanShiftFit::from_json(&document("[[0.0,0.0],[5.0,5.0]]", "1.0")).expect("valid");
    match fit.save(dir.path()) {
        Err(Error::Model(m)) => assert!(m.starts_with("cannot write model "), "{m}"),
        other => panic!("saving over a directory: {other:?}"),
    }
    match fit.save(dir.path().join("no/such/dir/model.json")) {
        Err(Error::Model(m)) => assert!(m.contains("no/such/dir/model.json"), "{m}"),
        other => panic!("{other:?}"),
    }
    let err = MeanShiftFit::load(&missing).expect_err("missing");
    assert_eq!(err.to_string().lines().count(), 1);
}

#[test]
fn a_knn_index_round_trips_for_every_metric_on_either_backend() {
    let x = blobs();
    let queries = new_points();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut contexts = vec![Context::cpu()];
    contexts.extend(common::gpu());
    for ctx in &contexts {
        for metric in Metric::ALL {
            let index = NearestNeighbors::new().metric(metric).fit(ctx, &x).unwrap();
            let path = dir.path().join(format!("{}.json", metric.name()));
            index.save(&path).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.trim_end(), index.to_json());
            for back in [
                KnnIndex::load(ctx, &path).unwrap(),
                KnnIndex::from_json(&Context::cpu(), &text).unwrap(),
            ] {
                assert_eq!((back.metric(), back.len(), back.dim()), (metric, 240, 2));
                assert_eq!(
                    back.kneighbors(Some(&queries), 7).unwrap(),
                    index.kneighbors(Some(&queries), 7).unwrap(),
                    "{ctx} {metric:?}"
                );
                assert_eq!(
                    back.radius_neighbors(None, 3.0).unwrap(),
                    index.radius_neighbors(None, 3.0).unwrap(),
                    "{ctx} {metric:?}"
                );
            }
        }
    }
}

#[test]
fn a_knn_document_that_is_not_a_valid_index_is_an_error_saying_why() {
    let ctx = Context::cpu();
    let error = |json: &str| match KnnIndex::from_json(&ctx, json) {
        Err(Error::Model(m)) => m,
        other => panic!("{json}: {other:?}"),
    };
    let fit = MeanShiftFit::from_json(&document("[[0.0,0.0],[5.0,5.0]]", "1.0")).unwrap();
    let m = error(&fit.to_json());
    assert!(
        m.contains("is not a nearest-neighbour model: its format is \"gpu-cluster/meanshift\""),
        "{m}"
    );
    let head = r#"{"format":"gpu-cluster/knn","version":1"#;
    let m = error(&format!(
        r#"{head},"metric":"manhattan","points":[[1.0]]}}"#
    ));
    assert!(m.contains("unknown variant `manhattan`"), "{m}");
    let m = error(&format!(
        r#"{head},"metric":"cosine","points":[[1.0,2.0],[3.0]]}}"#
    ));
    assert!(m.contains("row 1 has 1 values, expected 2"), "{m}");
    let m = error(&format!(r#"{head},"metric":"cosine","points":[]}}"#));
    assert!(m.contains("the data is empty"), "{m}");
    let m = error(&format!(r#"{head},"metric":"euclidean"}}"#));
    assert!(m.contains("missing field `points`"), "{m}");
    let m =
        error(r#"{"format":"gpu-cluster/knn","version":2,"metric":"euclidean","points":[[1.0]]}"#);
    assert!(
        m.contains("has format version 2: this build reads version 1"),
        "{m}"
    );
    // The knn document's metric names are the command line's.
    for metric in Metric::ALL {
        let json = format!(
            r#"{head},"metric":"{}","points":[[1.0,0.5]]}}"#,
            metric.name()
        );
        let index = KnnIndex::from_json(&ctx, &json).unwrap();
        assert_eq!(index.metric(), metric);
    }
    match KnnIndex::load(&ctx, "/no/such/index.json") {
        Err(Error::Model(m)) => assert!(
            m.starts_with("cannot read model /no/such/index.json"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

/// The k-means fit after a trip through JSON, both through the string and
/// the file forms; the two agree.
fn kmeans_round_trip(fit: &KMeansFit) -> KMeansFit {
    let json = fit.to_json();
    let from_string = KMeansFit::from_json(&json).expect("reads back");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kmeans.json");
    fit.save(&path).expect("saves");
    assert_eq!(
        std::fs::read_to_string(&path).expect("written"),
        format!("{json}\n")
    );
    let from_file = KMeansFit::load(&path).expect("loads");
    assert_eq!(from_file, from_string);
    from_file
}

fn assert_same_kmeans(a: &KMeansFit, b: &KMeansFit) {
    assert_eq!(a.labels(), b.labels());
    assert_eq!(bits(a.cluster_centers()), bits(b.cluster_centers()));
    assert_eq!(a.cluster_centers().to_f64(), b.cluster_centers().to_f64());
    assert_eq!(a.offset(), b.offset());
    assert_eq!(a.inertia().to_bits(), b.inertia().to_bits());
    assert_eq!(a.n_iter(), b.n_iter());
    assert_eq!(a, b);
}

#[test]
fn a_kmeans_fit_round_trips_and_predicts_the_same_labels() {
    let x = blobs();
    let points = new_points();
    let weights: Vec<f32> = (0..x.len()).map(|i| 0.5 + (i % 4) as f32).collect();
    for km in [
        KMeans::new(4).seed(3),
        KMeans::new(6).init(KMeansInit::Random).seed(1),
        KMeans::new(3).sample_weights(weights),
    ] {
        let fit = km.fit(&Context::cpu(), &x).expect("fits");
        let back = kmeans_round_trip(&fit);
        assert_same_kmeans(&fit, &back);
        assert_same_labels(
            &fit.predict(&points).expect("predicts"),
            &back.predict(&points).expect("predicts"),
        );
        assert_eq!(back.predict(&x).expect("predicts"), fit.labels());
        assert_eq!(
            back.transform(&points).expect("transforms"),
            fit.transform(&points).expect("transforms")
        );
    }
}

#[test]
fn a_kmeans_fit_far_from_the_origin_keeps_its_f64_centres() {
    // UTM-like coordinates: f32 has steps of 0.5 m up there.
    let x = blobs();
    let far: Vec<f64> = x
        .to_f64()
        .chunks(2)
        .flat_map(|r| [512_000.123_4 + r[0], 5_123_000.987_6 + r[1]])
        .collect();
    let far = Points::from_f64(&far, 2).expect("finite");
    let fit = KMeans::new(4)
        .seed(2)
        .fit(&Context::cpu(), &far)
        .expect("fits");
    assert!(fit.cluster_centers().has_f64());
    let back = kmeans_round_trip(&fit);
    assert_same_kmeans(&fit, &back);
    let probe: Vec<f64> = new_points()
        .to_f64()
        .chunks(2)
        .flat_map(|r| [512_000.123_4 + r[0], 5_123_000.987_6 + r[1]])
        .collect();
    let probe = Points::from_f64(&probe, 2).expect("finite");
    assert_same_labels(
        &fit.predict(&probe).expect("predicts"),
        &back.predict(&probe).expect("predicts"),
    );
}

#[test]
fn a_kmeans_fit_on_the_gpu_loads_and_predicts_on_either_backend() {
    let Some(gpu) = common::gpu() else { return };
    let x = blobs();
    let fit = KMeans::new(4).seed(5).fit(&gpu, &x).expect("fits");
    let back = kmeans_round_trip(&fit);
    assert_same_kmeans(&fit, &back);
    let points = new_points();
    assert_same_labels(
        &fit.predict_on(&gpu, &points).expect("predicts"),
        &back.predict_on(&gpu, &points).expect("predicts"),
    );
    assert_same_labels(
        &fit.predict(&points).expect("predicts"),
        &back.predict(&points).expect("predicts"),
    );
}

#[test]
fn the_kmeans_document_has_the_envelope_and_its_fields() {
    let x =
        Points::new(&[0.0, 0.0, 0.2, 0.0, 10.0, 10.0, 10.2, 10.0, 0.1, 0.1], 2).expect("finite");
    let start = Points::new(&[9.0, 9.0, 1.0, 1.0], 2).expect("finite");
    let fit = KMeans::new(2)
        .init(KMeansInit::Given(start))
        .fit(&Context::cpu(), &x)
        .expect("fits");
    let json = fit.to_json();
    assert!(
        json.starts_with(r#"{"format":"gpu-cluster/kmeans","version":1,"n_iter":"#),
        "{json}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(KMeansFit::MODEL_FORMAT, "gpu-cluster/kmeans");
    assert_eq!(KMeansFit::MODEL_VERSION, 1);
    assert_eq!(doc["labels"], serde_json::json!([1, 1, 0, 0, 1]));
    assert_eq!(doc["n_iter"], fit.n_iter());
    assert_eq!(doc["inertia"], fit.inertia());
    assert_eq!(doc["offset"].as_array().expect("numbers").len(), 2);
    let centers = doc["centers"].as_array().expect("rows");
    assert_eq!(centers.len(), 2);
    // The f64 values: the f32 work around the mean, moved back in f64.
    let row0: Vec<f32> = centers[0]
        .as_array()
        .expect("a row")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect();
    assert_eq!(row0, [10.1, 10.0]);
    let keys: Vec<&str> = doc
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "centers", "format", "inertia", "labels", "n_iter", "offset", "version"
        ]
    );
    // Through serde generically (any format), not only the JSON helpers.
    let back: KMeansFit = serde_json::from_value(doc.clone()).expect("deserialises");
    assert_eq!(back, fit);
    // Fields a writer adds are ignored; without an offset the centres are
    // absolute coordinates.
    let mut extra = doc.clone();
    extra["written_by"] = "gpu-cluster-python 0.1".into();
    assert_eq!(
        KMeansFit::from_json(&extra.to_string()).expect("reads"),
        fit
    );
    let mut absolute = doc;
    absolute
        .as_object_mut()
        .expect("an object")
        .remove("offset");
    let back = KMeansFit::from_json(&absolute.to_string()).expect("reads");
    assert_eq!(back.offset(), [0.0, 0.0]);
    assert_eq!(back.predict(&x).expect("predicts"), fit.labels());
}

/// The message of the `Error::Model` that reading `json` as k-means gives.
fn kmeans_error(json: &str) -> String {
    match KMeansFit::from_json(json) {
        Err(Error::Model(m)) => m,
        Err(e) => panic!("{json}: not Error::Model: {e:?}"),
        Ok(_) => panic!("{json}: read as a valid model"),
    }
}

#[test]
fn a_kmeans_document_that_is_not_a_valid_model_is_an_error_saying_why() {
    let valid = r#"{"format":"gpu-cluster/kmeans","version":1,"n_iter":2,"inertia":0.5,"centers":[[0.0,0.0],[5.0,5.0]],"offset":[1.0,2.0],"labels":[0,1,1]}"#;
    let fit = KMeansFit::from_json(valid).expect("the base document is valid");
    assert_eq!((fit.n_clusters(), fit.labels()), (2, &[0, 1, 1][..]));
    let swap = |from: &str, to: &str| {
        assert!(valid.contains(from), "{from}");
        valid.replacen(from, to, 1)
    };
    let cases = [
        ("".to_string(), "is not JSON"),
        ("[1, 2]".to_string(), "is not a gpu-cluster model"),
        ("{}".to_string(), "no \"format\""),
        (
            swap("gpu-cluster/kmeans", "gpu-cluster/meanshift"),
            "is not a k-means model: its format is \"gpu-cluster/meanshift\", expected \"gpu-cluster/kmeans\"",
        ),
        (
            swap(r#""version":1"#, r#""version":2"#),
            "format version 2: this build reads version 1",
        ),
        (
            swap(r#""labels":[0,1,1]"#, r#""labelz":[0]"#),
            "missing field `labels`",
        ),
        (swap(r#""inertia":0.5,"#, ""), "missing field `inertia`"),
        (swap(r#""n_iter":2"#, r#""n_iter":-1"#), "is invalid"),
        (
            swap(r#""inertia":0.5"#, r#""inertia":-1"#),
            "inertia -1.0: it must be finite and >= 0",
        ),
        (swap(r#""inertia":0.5"#, r#""inertia":null"#), "is invalid"),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[[0.0,0.0],[5.0]]"),
            "centers: row 1 has 1 values, expected 2",
        ),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[[0.0,0.0],[5.0,1e39]]"),
            "centers: value at row 1, column 1 is not finite",
        ),
        (
            swap("[[0.0,0.0],[5.0,5.0]]", "[]"),
            "centers: the data is empty",
        ),
        (
            swap("[0,1,1]", "[0,2,1]"),
            "labels[1] is 2: the model has 2 clusters (labels 0 to 1)",
        ),
        (swap("[0,1,1]", "[0,-1,1]"), "labels[1] is -1"),
        (swap("[0,1,1]", "[0]"), "1 labels for 2 centers"),
        (
            swap("[1.0,2.0]", "[1.0]"),
            "offset [1.0]: expected 2 finite values",
        ),
        (swap("[1.0,2.0]", "[1.0,1e300]"), "offset [1.0, 1e300]"),
    ];
    for (json, needle) in cases {
        let m = kmeans_error(&json);
        assert!(m.contains(needle), "{json}: {m:?} lacks {needle:?}");
        assert_eq!(m.lines().count(), 1, "{m}");
    }
    // A mean-shift model is not a k-means one, and the other way round.
    let ms = MeanShiftFit::from_json(&document("[[0.0,0.0],[5.0,5.0]]", "1.0")).unwrap();
    assert!(kmeans_error(&ms.to_json()).contains("is not a k-means model"));
    match MeanShiftFit::from_json(valid) {
        Err(Error::Model(m)) => assert!(m.contains("is not a mean-shift model"), "{m}"),
        other => panic!("{other:?}"),
    }
    // New points of another dimension.
    let wide = Points::new(&[1.0, 2.0, 3.0], 3).unwrap();
    assert!(matches!(
        fit.predict(&wide),
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    match KMeansFit::load("/no/such/kmeans.json") {
        Err(Error::Model(m)) => assert!(
            m.starts_with("cannot read model /no/such/kmeans.json"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn model_format_reads_the_envelope_of_any_kind() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let x = blobs();
    let ms = dir.path().join("ms.json");
    MeanShift::new(3.0)
        .fit(&Context::cpu(), &x)
        .unwrap()
        .save(&ms)
        .unwrap();
    let km = dir.path().join("km.json");
    KMeans::new(4)
        .fit(&Context::cpu(), &x)
        .unwrap()
        .save(&km)
        .unwrap();
    let knn = dir.path().join("knn.json");
    NearestNeighbors::new()
        .fit(&Context::cpu(), &x)
        .unwrap()
        .save(&knn)
        .unwrap();
    assert_eq!(model_format(&ms).unwrap(), MeanShiftFit::MODEL_FORMAT);
    assert_eq!(model_format(&km).unwrap(), KMeansFit::MODEL_FORMAT);
    assert_eq!(model_format(&knn).unwrap(), KnnIndex::MODEL_FORMAT);
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // Only the envelope is read: a future version still names its format.
    let future = write(
        "future.json",
        r#"{"version":9,"format":"gpu-cluster/kmeans","x":[1]}"#,
    );
    assert_eq!(model_format(&future).unwrap(), "gpu-cluster/kmeans");
    for (path, needle) in [
        (dir.path().join("missing.json"), "cannot read model "),
        (write("empty.json", ""), "empty.json is not JSON"),
        (
            write("array.json", "[1,2]"),
            "array.json is not a gpu-cluster model",
        ),
        (
            write("none.json", "{}"),
            "none.json is not a gpu-cluster model: it has no \"format\"",
        ),
        (write("seven.json", r#"{"format":7}"#), "its format is 7"),
    ] {
        match model_format(&path) {
            Err(Error::Model(m)) => {
                assert!(m.contains(needle), "{m:?} lacks {needle:?}");
                assert_eq!(m.lines().count(), 1);
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}

#[test]
fn a_flat_fit_with_an_estimated_bandwidth_of_0_round_trips() {
    // Every point's nearest neighbour is a copy of it: the estimate is 0,
    // and the flat kernel takes each distinct point as a cluster.
    let x = Points::new(&[1.0, 1.0, 2.0, 2.0, 7.0, 7.0], 1).expect("finite");
    let fit = MeanShift::default().fit(&Context::cpu(), &x).expect("fits");
    assert_eq!(fit.bandwidth(), 0.0);
    assert_eq!(fit.n_clusters(), 3);
    let back = MeanShiftFit::from_json(&fit.to_json()).expect("loads");
    assert_eq!(back, fit);
    assert_eq!(back.predict(&x).expect("predicts"), fit.labels());
}
