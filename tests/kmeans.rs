//! k-means through the public API: the GPU against the CPU twin (the same
//! bits where no point is within rounding of two centres: the sums are
//! bit-exact by construction, everything after them is shared host code),
//! determinism, edge cases (k = 1, k = n, duplicates, empty clusters),
//! predict and transform, weights, data far from the origin, and every
//! parameter error. GPU cases run on whatever adapter is present (lavapipe
//! in CI; skipped without one unless `REQUIRE_GPU=1`).

mod common;

use gpu_cluster::{Blobs, Context, Dataset, Error, KMeans, KMeansFit, KMeansInit, Points};

fn blobs(clusters: usize, per: usize, dim: usize, seed: u64) -> Points {
    Blobs {
        clusters,
        per_cluster: per,
        dim,
        seed,
        spread: 30.0,
        std: 1.0,
    }
    .generate()
    .unwrap()
    .points
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_same(what: &str, a: &KMeansFit, b: &KMeansFit) {
    assert_eq!(a.labels(), b.labels(), "{what}: labels");
    assert_eq!(
        bits(a.cluster_centers().as_slice()),
        bits(b.cluster_centers().as_slice()),
        "{what}: centres"
    );
    let bits64 = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits64(a.cluster_centers().to_f64()),
        bits64(b.cluster_centers().to_f64()),
        "{what}: f64 centres"
    );
    assert_eq!(
        a.inertia().to_bits(),
        b.inertia().to_bits(),
        "{what}: inertia"
    );
    assert_eq!(a.n_iter(), b.n_iter(), "{what}: n_iter");
}

/// Well-separated blobs leave no point near a tie, so the GPU's labels,
/// centres and inertia are the twin's, bit for bit, for every init, with
/// and without weights, over dimensions from 1 to 300.
#[test]
fn the_gpu_gives_the_cpu_twins_bits() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Context::cpu();
    for (clusters, per, dim, k) in [
        (4, 100, 1, 4),
        (6, 250, 2, 6),
        (5, 80, 3, 7),
        (3, 60, 17, 3),
        (3, 40, 300, 3),
    ] {
        let x = blobs(clusters, per, dim, 11);
        let n = x.len();
        let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        let inits = [
            KMeansInit::KMeansPlusPlus,
            KMeansInit::Random,
            KMeansInit::Given(Points::new(&x.as_slice()[..k * dim], dim).unwrap()),
        ];
        for init in inits {
            for weights in [None, Some(w.clone())] {
                let mut km = KMeans::new(k).init(init.clone()).n_init(2).seed(5);
                if let Some(w) = &weights {
                    km = km.sample_weights(w.clone());
                }
                let a = km.fit(&cpu, &x).unwrap();
                let b = km.fit(&gpu, &x).unwrap();
                let what = format!("dim {dim} k {k} {init:?} weighted {}", weights.is_some());
                assert_same(&what, &a, &b);
            }
        }
    }
}

/// The same seed gives the same bits run after run; another seed may give
/// other centres but the same clusters on separated blobs.
#[test]
fn a_seed_gives_the_same_bits() {
    let x = blobs(5, 60, 2, 3);
    let ctx = Context::cpu();
    let km = KMeans::new(5).seed(42).n_init(3);
    let a = km.fit(&ctx, &x).unwrap();
    let b = km.fit(&ctx, &x).unwrap();
    assert_same("twice", &a, &b);
    if let Some(gpu) = common::gpu() {
        let c = km.fit(&gpu, &x).unwrap();
        let d = km.fit(&gpu, &x).unwrap();
        assert_same("gpu twice", &c, &d);
        assert_same("gpu vs cpu", &a, &c);
    }
    // The labels partition the blobs whatever the seed.
    let other = KMeans::new(5).seed(7).n_init(3).fit(&ctx, &x).unwrap();
    let (la, lb) = (a.labels(), other.labels());
    for i in 0..x.len() {
        for j in 0..x.len() {
            assert_eq!(la[i] == la[j], lb[i] == lb[j], "points {i} and {j}");
        }
    }
}

/// k-means++ with n_init 10 lands on the true blobs: every blob one
/// cluster.
#[test]
fn plus_plus_finds_the_blobs() {
    let data = Blobs::default().generate().unwrap();
    let fit = KMeans::new(6)
        .n_init(10)
        .fit(&Context::cpu(), &data.points)
        .unwrap();
    for blob in 0..6 {
        let labels: Vec<i32> = (0..data.points.len())
            .filter(|&i| data.labels[i] == blob)
            .map(|i| fit.labels()[i])
            .collect();
        let first = labels[0];
        let agree = labels.iter().filter(|&&l| l == first).count();
        assert!(
            agree >= labels.len() * 95 / 100,
            "blob {blob}: {agree} of {}",
            labels.len()
        );
    }
}

#[test]
fn one_cluster_is_the_weighted_mean() {
    let x = Points::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 2).unwrap();
    let w = vec![1.0, 0.0, 3.0, 0.0];
    for ctx in common::contexts() {
        let fit = KMeans::new(1).fit(&ctx, &x).unwrap();
        assert_eq!(fit.labels(), &[0, 0, 0, 0]);
        assert_eq!(fit.cluster_centers().row(0), &[4.0, 5.0]);
        assert!((fit.inertia() - 40.0).abs() < 1e-9, "{}", fit.inertia());
        let fit = KMeans::new(1)
            .sample_weights(w.clone())
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(fit.cluster_centers().row(0), &[4.0, 5.0]);
        assert!((fit.inertia() - 24.0).abs() < 1e-9, "{}", fit.inertia());
    }
}

#[test]
fn k_equals_n_puts_every_point_alone() {
    let x = Points::new(&common::uniform(40, 3, 10.0, 1), 3).unwrap();
    for ctx in common::contexts() {
        for init in [KMeansInit::KMeansPlusPlus, KMeansInit::Random] {
            let fit = KMeans::new(40).init(init).fit(&ctx, &x).unwrap();
            let mut labels = fit.labels().to_vec();
            labels.sort();
            assert_eq!(labels, (0..40).collect::<Vec<_>>(), "{ctx}");
            assert_eq!(fit.inertia(), 0.0);
        }
    }
}

/// Three distinct points, each repeated: k = 3 finds them; more clusters
/// than distinct points leave one empty, and where every point sits
/// exactly on its centre (nothing to take) it shares the heaviest
/// cluster's centre.
#[test]
fn duplicates_and_clusters_that_stay_empty() {
    let mut flat = Vec::new();
    for i in 0..30 {
        flat.extend_from_slice(&[[0.0f32, 0.0], [5.0, 5.0], [9.0, 0.0]][i % 3]);
    }
    let x = Points::new(&flat, 2).unwrap();
    for ctx in common::contexts() {
        // Means of equal centred f32 values: equal up to rounding.
        let fit = KMeans::new(3).n_init(5).fit(&ctx, &x).unwrap();
        assert!(fit.inertia() < 1e-9, "{ctx}: {}", fit.inertia());
        // One more cluster than distinct points: the last is a copy, so it
        // is empty; its tiny distances to rounded means may still give it a
        // point. Either way nothing breaks.
        let fit = KMeans::new(4).fit(&ctx, &x).unwrap();
        assert!(fit.inertia() < 1e-9, "{ctx}: {}", fit.inertia());
        assert!(fit.labels().iter().all(|&l| (0..4).contains(&l)));
        // Values whose means are exact: every point sits on its centre, so
        // the empty cluster stays empty and shares the heaviest's centre.
        let exact = Points::new(&[-1.0, 1.0].repeat(8), 1).unwrap();
        let fit = KMeans::new(3).fit(&ctx, &exact).unwrap();
        assert_eq!(fit.inertia(), 0.0, "{ctx}");
        let mut c = fit.cluster_centers().as_slice().to_vec();
        c.sort_by(f32::total_cmp);
        assert!(
            c == [-1.0, -1.0, 1.0] || c == [-1.0, 1.0, 1.0],
            "{ctx}: {c:?}"
        );
    }
}

/// A given centre far from every point is empty at the first step and
/// takes the point farthest from its centre.
#[test]
fn an_empty_cluster_takes_the_farthest_point() {
    let x = Points::new(&[0.0, 1.0, 2.0, 10.0, 11.0, 30.0], 1).unwrap();
    let init = Points::new(&[1.0, 10.5, 1000.0], 1).unwrap();
    for ctx in common::contexts() {
        let fit = KMeans::new(3)
            .init(KMeansInit::Given(init.clone()))
            .fit(&ctx, &x)
            .unwrap();
        // 30 is 19.5 from its centre (10.5): it becomes cluster 2.
        assert_eq!(fit.labels(), &[0, 0, 0, 1, 1, 2], "{ctx}");
        assert_eq!(fit.cluster_centers().as_slice(), &[1.0, 10.5, 30.0]);
    }
}

#[test]
fn predict_and_transform_agree_with_the_fit() {
    let x = blobs(4, 50, 3, 9);
    for ctx in common::contexts() {
        let fit = KMeans::new(4).fit(&ctx, &x).unwrap();
        assert_eq!(fit.predict(&x).unwrap(), fit.labels());
        assert_eq!(fit.predict_on(&ctx, &x).unwrap(), fit.labels());
        let t = fit.transform_on(&ctx, &x).unwrap();
        assert_eq!((t.len(), t.dim()), (x.len(), 4));
        for (i, row) in t.rows().enumerate() {
            let argmin = (0..4).fold(0, |b, c| if row[c] < row[b] { c } else { b });
            assert_eq!(argmin as i32, fit.labels()[i]);
            let c = fit.cluster_centers().row(2);
            let d: f32 = x.row(i).iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
            assert!((row[2] - d.sqrt()).abs() <= 1e-3 * (1.0 + d.sqrt()));
        }
        let wrong = Points::new(&[1.0, 2.0], 2).unwrap();
        assert!(matches!(
            fit.predict(&wrong),
            Err(Error::DimensionMismatch {
                expected: 3,
                found: 2
            })
        ));
    }
}

/// Integer weights act like repeated points.
#[test]
fn integer_weights_are_repeated_points() {
    let x = blobs(3, 40, 2, 5);
    let w: Vec<f32> = (0..x.len()).map(|i| (1 + i % 3) as f32).collect();
    let mut repeated = Vec::new();
    for (i, r) in x.rows().enumerate() {
        for _ in 0..w[i] as usize {
            repeated.extend_from_slice(r);
        }
    }
    let repeated = Points::new(&repeated, 2).unwrap();
    let init = KMeansInit::Given(Points::new(&x.as_slice()[..6], 2).unwrap());
    let a = KMeans::new(3)
        .init(init.clone())
        .sample_weights(w)
        .fit(&Context::cpu(), &x)
        .unwrap();
    let b = KMeans::new(3)
        .init(init)
        .fit(&Context::cpu(), &repeated)
        .unwrap();
    for (p, q) in a
        .cluster_centers()
        .to_f64()
        .iter()
        .zip(b.cluster_centers().to_f64())
    {
        assert!((p - q).abs() < 1e-4, "{p} vs {q}");
    }
    assert!((a.inertia() - b.inertia()).abs() <= 1e-5 * b.inertia());
}

/// Far from the origin the fit works on centred values: the f64 centres
/// keep the offset exactly and the clusters are the same.
#[test]
fn data_far_from_the_origin() {
    let x = blobs(3, 50, 2, 4);
    let offset = 1.0e6f32;
    let moved = Points::new(
        &x.as_slice().iter().map(|v| v + offset).collect::<Vec<_>>(),
        2,
    )
    .unwrap();
    let init = |p: &Points| KMeansInit::Given(Points::new(&p.as_slice()[..6], 2).unwrap());
    for ctx in common::contexts() {
        let a = KMeans::new(3).init(init(&x)).fit(&ctx, &x).unwrap();
        let b = KMeans::new(3).init(init(&moved)).fit(&ctx, &moved).unwrap();
        assert_eq!(a.labels(), b.labels());
        for (p, q) in a
            .cluster_centers()
            .to_f64()
            .iter()
            .zip(b.cluster_centers().to_f64())
        {
            // The moved data were rounded to f32 near 1e6 (steps of 1/16).
            assert!((p + f64::from(offset) - q).abs() < 0.07, "{p} vs {q}");
        }
        assert_eq!(b.offset().len(), 2);
        assert!(b.offset()[0] > 9.9e5);
    }
}

/// A dataset fits like its points, with the data kept on the device.
#[test]
fn a_dataset_fits_like_its_points() {
    let x = blobs(4, 30, 2, 8);
    for ctx in common::contexts() {
        let data = Dataset::new(&ctx, &x).unwrap();
        let a = KMeans::new(4).seed(3).fit(&ctx, &x).unwrap();
        let b = KMeans::new(4).seed(3).fit(&ctx, &data).unwrap();
        assert_same("dataset", &a, &b);
    }
}

#[test]
fn max_iter_and_tol_are_honoured() {
    let x = blobs(5, 60, 2, 2);
    let ctx = Context::cpu();
    let init = KMeansInit::Given(Points::new(&x.as_slice()[..10], 2).unwrap());
    let one = KMeans::new(5)
        .init(init.clone())
        .max_iter(1)
        .fit(&ctx, &x)
        .unwrap();
    assert_eq!(one.n_iter(), 1);
    let strict = KMeans::new(5)
        .init(init.clone())
        .tol(0.0)
        .fit(&ctx, &x)
        .unwrap();
    let loose = KMeans::new(5).init(init).tol(1e3).fit(&ctx, &x).unwrap();
    assert!(strict.n_iter() >= loose.n_iter());
    assert_eq!(loose.n_iter(), 1);
    // After a stop at max_iter the labels are those of the final centres.
    assert_eq!(one.predict(&x).unwrap(), one.labels());
}

/// A GPU runs several iterations to a submission and replays the
/// stopping rules on the host: every stop, at any place in a submission,
/// gives the twin's fit, iteration count included.
#[test]
fn stops_anywhere_in_a_gpu_submission_match_the_twin() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Context::cpu();
    let x = blobs(7, 80, 3, 4);
    let init = KMeansInit::Given(Points::new(&x.as_slice()[..9 * 3], 3).unwrap());
    for max_iter in [1, 2, 7, 8, 9, 16, 17, 300] {
        for tol in [0.0, 1e-4, 1e3] {
            let km = KMeans::new(9)
                .init(init.clone())
                .max_iter(max_iter)
                .tol(tol);
            let what = format!("max_iter {max_iter} tol {tol}");
            let (a, b) = (km.fit(&cpu, &x).unwrap(), km.fit(&gpu, &x).unwrap());
            assert_same(&what, &a, &b);
        }
    }
}

#[test]
fn bad_parameters_are_errors() {
    let x = Points::new(&[0.0, 0.0, 1.0, 1.0, 2.0, 2.0], 2).unwrap();
    let ctx = Context::cpu();
    let err = |km: KMeans| km.fit(&ctx, &x).unwrap_err();
    assert!(matches!(
        err(KMeans::new(0)),
        Error::InvalidParameter { name: "k", .. }
    ));
    assert!(matches!(
        err(KMeans::new(4)),
        Error::InvalidParameter { name: "k", .. }
    ));
    let two = Points::new(&[0.0, 0.0, 1.0, 1.0], 2).unwrap();
    assert_eq!(
        err(KMeans::new(3).init(KMeansInit::Given(two))),
        Error::InitCentersCount {
            expected: 3,
            found: 2
        }
    );
    let wide = Points::new(&[0.0, 0.0, 0.0], 3).unwrap();
    assert_eq!(
        err(KMeans::new(1).init(KMeansInit::Given(wide))),
        Error::DimensionMismatch {
            expected: 2,
            found: 3
        }
    );
    assert!(matches!(
        err(KMeans::new(2).n_init(0)),
        Error::InvalidParameter { name: "n_init", .. }
    ));
    assert!(matches!(
        err(KMeans::new(2).max_iter(0)),
        Error::InvalidParameter {
            name: "max_iter",
            ..
        }
    ));
    assert!(matches!(
        err(KMeans::new(2).tol(f64::NAN)),
        Error::InvalidParameter { name: "tol", .. }
    ));
    assert!(matches!(
        err(KMeans::new(2).tol(-1.0)),
        Error::InvalidParameter { name: "tol", .. }
    ));
    assert_eq!(
        err(KMeans::new(2).sample_weights(vec![1.0])),
        Error::WeightsLength {
            expected: 3,
            found: 1
        }
    );
    assert!(matches!(
        err(KMeans::new(2).sample_weights(vec![1.0, -1.0, 1.0])),
        Error::InvalidWeight { index: 1, .. }
    ));
    assert!(matches!(
        err(KMeans::new(2).sample_weights(vec![0.0; 3])),
        Error::InvalidParameter {
            name: "sample_weights",
            ..
        }
    ));
    assert!(matches!(
        err(KMeans::new(3)
            .init(KMeansInit::Random)
            .sample_weights(vec![1.0, 0.0, 1.0])),
        Error::InvalidParameter {
            name: "sample_weights",
            ..
        }
    ));
    let spread = Points::new(&[0.0, 1e16], 1).unwrap();
    assert!(matches!(
        KMeans::new(1).fit(&ctx, &spread),
        Err(Error::SpreadTooLarge { .. })
    ));
    // NaN data never reach k-means: Points refuses them.
    assert!(Points::new(&[f32::NAN, 0.0], 1).is_err());
}

/// What seed 0 draws on fixed data, pinned: the stream (ChaCha8, explicit
/// u64 draws, f64 sums) must give these centres on every platform, so a
/// dependency bump or a platform difference cannot silently change them.
#[test]
fn seeded_centres_are_pinned() {
    let x = Points::new(&common::uniform(200, 2, 10.0, 5), 2).unwrap();
    let ctx = Context::cpu();
    let pp = KMeans::new(4).seed(0).max_iter(1).fit(&ctx, &x).unwrap();
    let random = KMeans::new(4)
        .init(KMeansInit::Random)
        .n_init(1)
        .seed(0)
        .max_iter(1)
        .fit(&ctx, &x)
        .unwrap();
    assert_eq!(pp.labels()[..12], [2, 1, 1, 1, 3, 2, 1, 3, 3, 1, 3, 0]);
    assert_eq!(random.labels()[..12], [1, 3, 2, 3, 0, 1, 3, 2, 3, 3, 2, 3]);
    assert_eq!(pp.inertia().to_bits(), 4661253995126253280);
    assert_eq!(random.inertia().to_bits(), 4660457673409027565);
}

/// The widest rows the issue asks for, end to end: D = 4096 on both
/// backends, the same bits.
#[test]
fn rows_of_4096_dimensions() {
    let x = blobs(4, 16, 4096, 3);
    let fits: Vec<KMeansFit> = common::contexts()
        .iter()
        .map(|ctx| KMeans::new(4).seed(2).fit(ctx, &x).unwrap())
        .collect();
    assert_eq!(fits[0].n_clusters(), 4);
    for f in &fits[1..] {
        assert_same("D 4096", &fits[0], f);
    }
}
