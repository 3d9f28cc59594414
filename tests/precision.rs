//! Far from the origin, results keep the precision of the input: f32
//! inside, f64 at the edges.
//!
//! Survey-like data (millimetre coordinates around UTM northing 5.1e6 m,
//! metre-scale clusters) given as f64 gives centres within 1e-3 m of an
//! f64 mean shift written here, on both backends; so do data at a 1e9
//! offset; data spread so wide that f32 cannot resolve the bandwidth after
//! centring is an error, never silently rounded output; nearest neighbours
//! of f64 data far out are those of an f64 search.

mod common;

use gpu_cluster::{Error, KMeans, KMeansInit, Kernel, MeanShift, Metric, NearestNeighbors, Points};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `clusters` groups of `per` points, spread `sigma` around centres 12 m
/// apart, at `origin`; coordinates rounded to the millimetre, as a survey
/// writes them. Row-major f64.
fn survey(origin: [f64; 2], clusters: usize, per: usize, sigma: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).unwrap();
    let mut flat = Vec::new();
    for c in 0..clusters {
        let centre = [
            origin[0] + 12.0 * (c % 3) as f64,
            origin[1] + 12.0 * (c / 3) as f64,
        ];
        for _ in 0..per {
            for m in centre {
                let v = m + noise.sample(&mut rng);
                flat.push((v * 1000.0).round() / 1000.0);
            }
        }
    }
    flat
}

/// scikit-learn's mean shift with the flat kernel, in f64: every point a
/// seed, each climbing to the mean of the points within `h` until its
/// shift is at most 1e-3 h; modes ranked by intensity and kept unless
/// within `h` of a kept one. The reference centres.
fn reference_modes(x: &[f64], h: f64) -> Vec<[f64; 2]> {
    let points: Vec<[f64; 2]> = x.chunks_exact(2).map(|r| [r[0], r[1]]).collect();
    let within = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) <= h * h;
    let mut modes: Vec<([f64; 2], usize)> = Vec::new();
    for &seed in &points {
        let mut p = seed;
        let mut count = 0;
        for _ in 0..300 {
            let near: Vec<&[f64; 2]> = points.iter().filter(|&&q| within(p, q)).collect();
            count = near.len();
            let n = near.len() as f64;
            let next = [
                near.iter().map(|q| q[0]).sum::<f64>() / n,
                near.iter().map(|q| q[1]).sum::<f64>() / n,
            ];
            let shift = ((next[0] - p[0]).powi(2) + (next[1] - p[1]).powi(2)).sqrt();
            p = next;
            if shift <= 1e-3 * h {
                break;
            }
        }
        modes.push((p, count));
    }
    modes.sort_by_key(|m| std::cmp::Reverse(m.1));
    let mut kept: Vec<[f64; 2]> = Vec::new();
    for (m, _) in modes {
        if !kept.iter().any(|&k| within(m, k)) {
            kept.push(m);
        }
    }
    kept
}

/// Each centre (its f64 values) is within `tol` of a distinct reference
/// mode, and there are as many of each.
fn assert_centres_near(centres: &Points, reference: &[[f64; 2]], tol: f64, what: &str) {
    assert_eq!(centres.len(), reference.len(), "{what}: cluster count");
    let values = centres.to_f64();
    for (i, c) in values.chunks_exact(2).enumerate() {
        let (best, d) = reference
            .iter()
            .map(|r| ((r[0] - c[0]).powi(2) + (r[1] - c[1]).powi(2)).sqrt())
            .enumerate()
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        assert!(
            d <= tol,
            "{what}: centre {i} {c:?} is {d} from the nearest reference mode {:?}",
            reference[best]
        );
    }
}

#[test]
fn survey_data_far_from_the_origin_gives_centres_within_a_millimetre() {
    let flat = survey([512_000.0, 5_123_000.0], 9, 100, 0.4, 1);
    let x = Points::from_f64(&flat, 2).unwrap();
    assert!(x.has_f64(), "millimetres at 5e6 are not f32 values");
    let reference = reference_modes(&flat, 2.0);
    for ctx in common::contexts() {
        let fit = MeanShift::new(2.0).fit(&ctx, &x).unwrap();
        assert_centres_near(fit.centers(), &reference, 1e-3, &ctx.to_string());
        // The f32 view of the same centres is off by up to f32's half step
        // up there (0.25 m): what the output used to be.
        assert!(fit.centers().has_f64());
        // New points far out are centred with the fit's offset in f64:
        // each reference mode, nudged, is labelled with its own cluster.
        let nudged: Vec<f64> = reference
            .iter()
            .flat_map(|m| [m[0] + 0.01, m[1] - 0.01])
            .collect();
        let labels = fit
            .predict_on(&ctx, &Points::from_f64(&nudged, 2).unwrap())
            .unwrap();
        let centres = fit.centers().to_f64();
        for (m, &l) in reference.iter().zip(&labels) {
            let c = &centres[2 * l as usize..2 * l as usize + 2];
            assert!(
                (c[0] - m[0]).hypot(c[1] - m[1]) < 1e-3,
                "{ctx}: {m:?} -> {l}"
            );
        }
    }
}

#[test]
fn a_1e9_offset_changes_nothing_but_the_offset() {
    let near = survey([0.0, 0.0], 6, 60, 0.5, 2);
    let far: Vec<f64> = near.iter().map(|v| v + 1e9).collect();
    let reference = reference_modes(&near, 2.5);
    let shifted: Vec<[f64; 2]> = reference.iter().map(|m| [m[0] + 1e9, m[1] + 1e9]).collect();
    for ctx in common::contexts() {
        for kernel in [Kernel::Flat, Kernel::Gaussian] {
            let ms = MeanShift::new(2.5).kernel(kernel);
            let at_origin = ms.fit(&ctx, &Points::from_f64(&near, 2).unwrap()).unwrap();
            let out_there = ms.fit(&ctx, &Points::from_f64(&far, 2).unwrap()).unwrap();
            assert_eq!(out_there.labels(), at_origin.labels(), "{ctx} {kernel}");
            if kernel == Kernel::Flat {
                assert_centres_near(out_there.centers(), &shifted, 1e-3, &ctx.to_string());
            }
            // Both fits centre on their mean, so the f32 work is the same
            // up to the rounding of the centred values.
            for (a, b) in out_there
                .centers()
                .to_f64()
                .iter()
                .zip(at_origin.centers().to_f64())
            {
                assert!((a - 1e9 - b).abs() < 1e-3, "{ctx} {kernel}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn a_spread_f32_cannot_resolve_after_centring_is_an_error() {
    // Two groups a billion metres apart, clustered at 1 m: centred values
    // reach 5e8, where f32 steps are 32 m.
    let mut flat = survey([0.0, 0.0], 3, 20, 0.3, 3);
    flat.extend(survey([1e9, 1e9], 3, 20, 0.3, 4));
    let x = Points::from_f64(&flat, 2).unwrap();
    for ctx in common::contexts() {
        match MeanShift::new(1.0).fit(&ctx, &x) {
            Err(Error::PrecisionLoss {
                col: 0,
                step,
                bandwidth,
                ..
            }) => {
                assert_eq!(step, 32.0);
                assert_eq!(bandwidth, 1.0);
            }
            other => panic!("{ctx}: {other:?}"),
        }
        let err = MeanShift::new(1.0).fit(&ctx, &x).unwrap_err().to_string();
        assert!(
            err.contains("split the data into regions or rescale it"),
            "{err}"
        );
        // At a bandwidth the steps resolve, the same data clusters.
        let fit = MeanShift::new(1e5).fit(&ctx, &x).unwrap();
        assert_eq!(fit.n_clusters(), 2);
    }
}

#[test]
fn nearest_neighbours_of_f64_data_far_out_are_those_of_an_f64_search() {
    let flat = survey([512_000.0, 5_123_000.0], 6, 40, 0.4, 5);
    let x = Points::from_f64(&flat, 2).unwrap();
    let queries = survey([512_000.0, 5_123_000.0], 6, 5, 0.4, 6);
    let q = Points::from_f64(&queries, 2).unwrap();
    let k = 5;
    for ctx in common::contexts() {
        for metric in [Metric::Euclidean, Metric::SqEuclidean] {
            let index = NearestNeighbors::new()
                .metric(metric)
                .fit(&ctx, &x)
                .unwrap();
            let found = index.kneighbors(Some(&q), k).unwrap();
            for (i, qr) in queries.chunks_exact(2).enumerate() {
                let mut by_f64: Vec<(f64, usize)> = flat
                    .chunks_exact(2)
                    .enumerate()
                    .map(|(j, p)| ((p[0] - qr[0]).powi(2) + (p[1] - qr[1]).powi(2), j))
                    .collect();
                by_f64.sort_by(|a, b| a.partial_cmp(b).unwrap());
                // Where the f64 order is clear at f32's resolution of the
                // centred values, the indices agree.
                let clear = by_f64.windows(2).take(k).all(|w| w[1].0 - w[0].0 > 1e-3);
                if clear {
                    let want: Vec<u32> = by_f64[..k].iter().map(|&(_, j)| j as u32).collect();
                    assert_eq!(found.indices(i), &want[..], "{ctx} {metric:?} query {i}");
                }
                for (d, &(d2, _)) in found.distances(i).iter().zip(&by_f64) {
                    let want = match metric {
                        Metric::SqEuclidean => d2,
                        _ => d2.sqrt(),
                    };
                    assert!(
                        (f64::from(*d) - want).abs() < 1e-3,
                        "{ctx} {metric:?}: {d} vs {want}"
                    );
                }
            }
        }
    }
}

/// Lloyd in f64 from `init` until the labels stop changing: the reference
/// k-means centres.
fn reference_lloyd(x: &[f64], init: &[f64], dim: usize) -> Vec<f64> {
    let mut centres = init.to_vec();
    let k = centres.len() / dim;
    let mut labels = vec![usize::MAX; x.len() / dim];
    loop {
        let mut changed = false;
        for (i, p) in x.chunks_exact(dim).enumerate() {
            let d2 = |c: &[f64]| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            let best = (0..k)
                .min_by(|&a, &b| {
                    d2(&centres[a * dim..][..dim]).total_cmp(&d2(&centres[b * dim..][..dim]))
                })
                .unwrap();
            changed |= labels[i] != best;
            labels[i] = best;
        }
        if !changed {
            return centres;
        }
        let mut sums = vec![0.0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (p, &l) in x.chunks_exact(dim).zip(&labels) {
            counts[l] += 1;
            for (s, v) in sums[l * dim..][..dim].iter_mut().zip(p) {
                *s += v;
            }
        }
        for (c, n) in counts.iter().enumerate() {
            for a in 0..dim {
                centres[c * dim + a] = sums[c * dim + a] / *n as f64;
            }
        }
    }
}

#[test]
fn k_means_on_survey_data_gives_centres_within_a_millimetre() {
    let flat = survey([512_000.0, 5_123_000.0], 9, 60, 0.4, 8);
    let x = Points::from_f64(&flat, 2).unwrap();
    // One point of each cluster as the start, on both sides.
    let init: Vec<f64> = (0..9)
        .flat_map(|c| flat[c * 120..c * 120 + 2].to_vec())
        .collect();
    let want = reference_lloyd(&flat, &init, 2);
    for ctx in common::contexts() {
        let fit = KMeans::new(9)
            .init(KMeansInit::Given(Points::from_f64(&init, 2).unwrap()))
            .fit(&ctx, &x)
            .unwrap();
        for (got, want) in fit.cluster_centers().to_f64().iter().zip(&want) {
            assert!((got - want).abs() < 1e-3, "{ctx}: {got} vs {want}");
        }
        // Predicting the data far out gives the fit's labels.
        assert_eq!(fit.predict_on(&ctx, &x).unwrap(), fit.labels(), "{ctx}");
    }
}
