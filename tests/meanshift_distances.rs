//! Expanded distances (`Distances::Expanded`): on wide rows a fit's labels
//! match the direct fit's on blobs, in both modes; the GPU gives the CPU
//! twin's fit for the compact kernels (a device without fused
//! multiply-adds, as lavapipe); on 32 coordinates or fewer nothing
//! changes; the grid method rejects them; and a saved fit keeps them.

mod common;

use gpu_cluster::meanshift::{Distances, Method};
use gpu_cluster::{Context, Error, Kernel, MeanShift, MeanShiftFit};

/// Everything a fit gives but the distances it reports.
fn assert_same_fit(a: &MeanShiftFit, b: &MeanShiftFit, case: &str) {
    assert_eq!(a.centers(), b.centers(), "{case}: centres");
    assert_eq!(a.labels(), b.labels(), "{case}: labels");
    assert_eq!(a.intensities(), b.intensities(), "{case}: intensities");
    assert_eq!(a.n_iter(), b.n_iter(), "{case}: iterations");
    assert_eq!(
        a.final_positions(),
        b.final_positions(),
        "{case}: positions"
    );
}

/// Blurring and standard mode on blobs of 40 and 100 coordinates: the
/// expanded fit finds the direct fit's clusters, with centres within a
/// small fraction of the bandwidth, and reports its distances.
#[test]
fn expanded_distances_find_the_direct_clusters() {
    for ctx in common::contexts() {
        for dim in [40, 100] {
            let x = common::blobs(dim, 40);
            for (mode, ms) in [
                ("blurring", MeanShift::new(12.0).blurring(5)),
                ("standard", MeanShift::new(12.0).kernel(Kernel::Gaussian)),
            ] {
                let case = format!("{:?}, D {dim}, {mode}", ctx.backend());
                let direct = ms.clone().fit(&ctx, &x).unwrap();
                let expanded = ms.distances(Distances::Expanded).fit(&ctx, &x).unwrap();
                assert_eq!(direct.distances(), Distances::Direct, "{case}");
                assert_eq!(expanded.distances(), Distances::Expanded, "{case}");
                assert_eq!(expanded.labels(), direct.labels(), "{case}");
                assert_eq!(expanded.n_clusters(), 6, "{case}");
                let (a, b) = (expanded.centers().to_f64(), direct.centers().to_f64());
                let far = a
                    .iter()
                    .zip(&b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(far < 0.05, "{case}: centres {far} apart");
            }
        }
    }
}

/// The GPU's expanded sums give the CPU twin's fit, in both modes, for
/// the compact kernels, weighted or not.
#[test]
fn the_gpu_gives_the_twins_expanded_fit() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cpu = Context::cpu();
    let x = common::blobs(64, 30);
    let weights: Vec<f32> = (0..x.len()).map(|i| 0.5 + (i % 5) as f32 / 4.0).collect();
    for kernel in [Kernel::Flat, Kernel::Triangular, Kernel::Epanechnikov] {
        for (mode, ms) in [
            ("blurring", MeanShift::new(20.0).kernel(kernel).blurring(3)),
            ("standard", MeanShift::new(20.0).kernel(kernel)),
        ] {
            let ms = ms
                .distances(Distances::Expanded)
                .sample_weights(weights.clone());
            let case = format!("{kernel}, {mode}");
            assert_same_fit(
                &ms.fit(&gpu, &x).unwrap(),
                &ms.fit(&cpu, &x).unwrap(),
                &case,
            );
        }
    }
}

/// On 32 coordinates or fewer expanded distances change nothing, and a
/// fit reports direct ones.
#[test]
fn expanded_distances_change_nothing_up_to_32_coordinates() {
    for ctx in common::contexts() {
        for dim in [2, 32] {
            let x = common::blobs(dim, 30);
            let ms = MeanShift::new(6.0).blurring(3);
            let direct = ms.clone().fit(&ctx, &x).unwrap();
            let expanded = ms.distances(Distances::Expanded).fit(&ctx, &x).unwrap();
            assert_same_fit(&expanded, &direct, &format!("D {dim}"));
            assert_eq!(expanded.distances(), Distances::Direct);
        }
    }
}

#[test]
fn the_grid_method_rejects_expanded_distances() {
    let x = common::blobs(2, 20);
    let ms = MeanShift::new(2.0)
        .method(Method::Grid)
        .distances(Distances::Expanded);
    match ms.fit(&Context::cpu(), &x) {
        Err(Error::InvalidParameter { name, reason, .. }) => {
            assert_eq!(name, "distances");
            assert!(reason.contains("grid"), "{reason}");
        }
        other => panic!("expected an invalid-parameter error, got {other:?}"),
    }
}

/// A saved expanded fit reads back as one; a document of a direct fit
/// does not name its distances (as before they existed); and a document
/// claiming expanded distances where no fit takes them is refused.
#[cfg(feature = "serde")]
#[test]
fn a_saved_fit_keeps_its_distances() {
    let ctx = Context::cpu();
    let x = common::blobs(40, 20);
    let ms = MeanShift::new(12.0).blurring(2);
    let expanded = ms
        .clone()
        .distances(Distances::Expanded)
        .fit(&ctx, &x)
        .unwrap();
    let json = expanded.to_json();
    assert!(json.contains("\"distances\":\"expanded\""), "{json}");
    let back = MeanShiftFit::from_json(&json).unwrap();
    assert_eq!(back.distances(), Distances::Expanded);
    assert_eq!(back.labels(), expanded.labels());

    let direct = ms.fit(&ctx, &x).unwrap().to_json();
    assert!(!direct.contains("distances"), "{direct}");
    assert_eq!(
        MeanShiftFit::from_json(&direct).unwrap().distances(),
        Distances::Direct
    );

    // 32 coordinates, the last that take direct distances, as well as 2.
    for dim in [2, 32] {
        let narrow = MeanShift::new(6.0)
            .blurring(2)
            .fit(&ctx, &common::blobs(dim, 20))
            .unwrap()
            .to_json()
            .replacen("\"method\":", "\"distances\":\"expanded\",\"method\":", 1);
        match MeanShiftFit::from_json(&narrow) {
            Err(Error::Model(m)) => assert!(m.contains("distances expanded"), "D {dim}: {m}"),
            other => panic!("D {dim}: expected a model error, got {other:?}"),
        }
    }
}

/// Where [`Method::Auto`] takes the grid (2 coordinates, 9000 points, a
/// compact kernel), asking for expanded distances changes nothing: the
/// grid's fit, reported as direct, not an error as with [`Method::Grid`].
#[test]
fn auto_taking_the_grid_keeps_direct_distances() {
    let ctx = Context::cpu();
    let x = common::blobs(2, 1500);
    let ms = MeanShift::new(2.5).kernel(Kernel::Epanechnikov).blurring(2);
    let direct = ms.clone().fit(&ctx, &x).unwrap();
    let expanded = ms.distances(Distances::Expanded).fit(&ctx, &x).unwrap();
    assert_eq!(direct.method(), Method::Grid);
    assert_eq!(expanded.method(), Method::Grid);
    assert_eq!(expanded.distances(), Distances::Direct);
    assert_same_fit(&expanded, &direct, "auto, D 2");
}
