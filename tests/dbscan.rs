//! DBSCAN: known answers from scikit-learn's `DBSCAN` kept under
//! `tests/data/sklearn_dbscan/` (labels, numbering and core points equal,
//! on the CPU twin and, where there is an adapter, the GPU), plus the
//! rules checked directly: borders, weights, duplicates, far from the
//! origin, chunked searches, errors and cancellation.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::knn_cases::rows;
use gpu_cluster::{
    Blobs, Cancel, Context, Dbscan, DbscanFit, Error, GpuOptions, Points, SearchMethod, Tuning,
};

#[derive(Clone)]
struct Case {
    name: String,
    data: Points,
    weights: Option<Vec<f32>>,
    eps: f32,
    min_samples: usize,
    labels: Vec<i32>,
    core: Vec<usize>,
}

fn number(json: &str, key: &str) -> f64 {
    json.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("\"{key}\": ")))
        .unwrap_or_else(|| panic!("case.json has no {key}"))
        .trim_end_matches(',')
        .parse()
        .unwrap()
}

fn ints<T: std::str::FromStr>(path: &Path) -> Vec<T> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.parse().ok().unwrap())
        .collect()
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_dbscan");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 9, "cases missing under {}", root.display());
    dirs.into_iter()
        .map(|dir| {
            let json = fs::read_to_string(dir.join("case.json")).unwrap();
            let data: Vec<Vec<f32>> = rows(&dir.join("data.csv"));
            let weights = dir.join("weights.csv");
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                data: Points::from_rows(&data).unwrap(),
                weights: weights.exists().then(|| rows::<f32>(&weights).concat()),
                eps: number(&json, "eps") as f32,
                min_samples: number(&json, "min_samples") as usize,
                labels: ints(&dir.join("labels.csv")),
                core: ints(&dir.join("core.csv")),
            }
        })
        .collect()
}

fn fit(case: &Case, ctx: &Context, search: SearchMethod) -> DbscanFit {
    let mut params = Dbscan::new(case.eps, case.min_samples).search(search);
    if let Some(w) = &case.weights {
        params = params.sample_weights(w.clone());
    }
    params.fit(ctx, &case.data).unwrap()
}

#[test]
fn labels_and_core_points_equal_scikit_learns() {
    for ctx in common::contexts() {
        for (case, search) in cases()
            .into_iter()
            .flat_map(|c| [SearchMethod::BruteForce, SearchMethod::Grid].map(|s| (c.clone(), s)))
        {
            let got = fit(&case, &ctx, search);
            let what = format!("{} on {ctx}, {search:?}", case.name);
            assert_eq!(got.labels(), &case.labels[..], "{what}: labels");
            assert_eq!(got.core_sample_indices(), &case.core[..], "{what}: core");
            let clusters = case.labels.iter().max().map_or(0, |&m| (m + 1) as usize);
            assert_eq!(got.n_clusters(), clusters, "{what}");
        }
    }
}

#[test]
fn a_border_reached_by_two_clusters_takes_the_lower_numbered() {
    // Cores every 0.5 over [6, 9] and over [0, 3] (eps 1.5, min_samples 4:
    // even the ends have 4 neighbours); the point at 4.5 is exactly eps
    // from a core of each, with 3 neighbours itself: a border.
    let right: Vec<f32> = (0..7).map(|i| 6.0 + 0.5 * i as f32).collect();
    let left: Vec<f32> = (0..7).map(|i| 0.5 * i as f32).collect();
    let x = Points::new(&[&right[..], &[4.5], &left[..]].concat(), 1).unwrap();
    for ctx in common::contexts() {
        let fit = Dbscan::new(1.5, 4).fit(&ctx, &x).unwrap();
        // The cluster of point 0 (at 6) is numbered first, and the border
        // takes it.
        let mut want = vec![0; 8];
        want.extend([1; 7]);
        assert_eq!(fit.labels(), &want[..], "{ctx}");
        let core: Vec<usize> = (0..15).filter(|&i| i != 7).collect();
        assert_eq!(fit.core_sample_indices(), &core[..], "{ctx}");
    }
}

#[test]
fn weights_count_like_repeated_points() {
    let x = Points::new(&[0.0, 0.4, 5.0, 5.3, 5.6, 9.0], 1).unwrap();
    let w = vec![2.0, 1.0, 1.0, 1.0, 1.0, 3.0];
    let repeated = Points::new(&[0.0, 0.0, 0.4, 5.0, 5.3, 5.6, 9.0, 9.0, 9.0], 1).unwrap();
    for ctx in common::contexts() {
        let weighted = Dbscan::new(0.5, 3)
            .sample_weights(w.clone())
            .fit(&ctx, &x)
            .unwrap();
        let plain = Dbscan::new(0.5, 3).fit(&ctx, &repeated).unwrap();
        // Point i of x is point first[i] of the repeated data.
        let first = [0, 2, 3, 4, 5, 6];
        let mapped: Vec<i32> = first.iter().map(|&j| plain.labels()[j]).collect();
        assert_eq!(weighted.labels(), &mapped[..], "{ctx}");
        assert_eq!(weighted.labels(), &[0, 0, 1, 1, 1, 2], "{ctx}");
    }
}

#[test]
fn far_from_the_origin_the_neighbourhoods_are_the_f64_ones() {
    // Millimetre points around northing 5.1e6, 4 mm apart in a row, eps
    // 5 mm: f32 alone would see steps of 0.5 m and merge them all.
    let flat: Vec<f64> = (0..20)
        .flat_map(|i| {
            [
                512_000.0 + 0.004 * f64::from(i % 10) + 10.0 * f64::from(i / 10),
                5_123_000.0,
            ]
        })
        .collect();
    let x = Points::from_f64(&flat, 2).unwrap();
    for ctx in common::contexts() {
        let fit = Dbscan::new(0.005, 3).fit(&ctx, &x).unwrap();
        let mut want = vec![0; 10];
        want.extend([1; 10]);
        assert_eq!(fit.labels(), &want[..], "{ctx}");
        let fit = Dbscan::new(0.003, 2).fit(&ctx, &x).unwrap();
        assert!(fit.labels().iter().all(|&l| l == -1), "{ctx}: 4 mm > 3 mm");
    }
}

#[test]
fn many_chunks_give_the_answer_of_one() {
    // More points than one search chunk (8192), in a line of clusters.
    let n = 9_000;
    let flat: Vec<f32> = (0..n)
        .map(|i| (i / 100) as f32 * 3.0 + (i % 100) as f32 * 0.01)
        .collect();
    let x = Points::new(&flat, 1).unwrap();
    for ctx in common::contexts() {
        let fit = Dbscan::new(0.015, 2).fit(&ctx, &x).unwrap();
        assert_eq!(fit.n_clusters(), n / 100, "{ctx}");
        let want: Vec<i32> = (0..n).map(|i| (i / 100) as i32).collect();
        assert_eq!(fit.labels(), &want[..], "{ctx}");
    }
}

#[test]
fn a_long_chain_is_one_cluster() {
    // Points on a line 0.1 apart, eps 0.15: each core point's only core
    // neighbours are the next and the previous, so the core graph is one
    // path through every point, the longest a union-find can be given;
    // in both index directions, and with the order shuffled. In five
    // dimensions too, past the grid's four, where the CPU's search goes
    // brute force as well.
    let n = 5_000;
    let mut s = 3u64;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let orders = [(0..n).collect::<Vec<_>>(), (0..n).rev().collect(), order];
    for ctx in common::contexts() {
        for (o, positions) in orders.iter().enumerate() {
            for dim in [1, 5] {
                let flat: Vec<f32> = positions
                    .iter()
                    .flat_map(|&p| {
                        let mut row = vec![0.0; dim];
                        row[0] = p as f32 * 0.1;
                        row
                    })
                    .collect();
                let x = Points::new(&flat, dim).unwrap();
                let fit = Dbscan::new(0.15, 3).fit(&ctx, &x).unwrap();
                let what = format!("{ctx}, order {o}, dim {dim}");
                assert_eq!(fit.n_clusters(), 1, "{what}");
                // The two ends have one neighbour besides themselves:
                // borders of the one cluster.
                assert_eq!(fit.labels(), &vec![0; n][..], "{what}");
                let ends = [0, n - 1].map(|p| positions.iter().position(|&q| q == p).unwrap());
                let core: Vec<usize> = (0..n).filter(|i| !ends.contains(i)).collect();
                assert_eq!(fit.core_sample_indices(), &core[..], "{what}");
            }
        }
    }
}

#[test]
fn a_small_binding_splits_the_core_pairs() {
    // A 16 KiB binding holds 4096 parents and 2048 pairs: a chain of 3000
    // points joins on the device in two chunks of pairs; one of 5000
    // needs a parent array larger than a binding, and joins on the host.
    let small = GpuOptions {
        max_binding_bytes: Some(1 << 14),
        ..GpuOptions::default()
    };
    let Some(ctx) = common::gpu_with(&small) else {
        return;
    };
    for n in [3000, 5000] {
        let flat: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
        let x = Points::new(&flat, 1).unwrap();
        let fit = Dbscan::new(0.15, 3).fit(&ctx, &x).unwrap();
        assert_eq!(fit.labels(), &vec![0; n][..], "n {n}");
        assert_eq!(fit.core_sample_indices().len(), n - 2, "n {n}");
    }
}

/// Groups of 3 and 4 points one apart on a line (ten apart from group to
/// group) and a lone point after every fifth group, shuffled; eps 1.5 and
/// min_samples 3 make each group a cluster whose inner points are core
/// and its ends borders: one core pair in a group of 4, none in a group of
/// 3. Returns the points, the number of groups and of core pairs.
fn groups(n_groups: usize) -> (Points, usize, usize) {
    let mut rows: Vec<[f32; 2]> = Vec::new();
    for g in 0..n_groups {
        let base = 10.0 * g as f32;
        let size = 3 + g % 2;
        rows.extend((0..size).map(|p| [base + p as f32, 0.5 * (g % 7) as f32]));
        if g % 5 == 0 {
            rows.push([base + 6.5, 0.0]);
        }
    }
    let mut s = 11u64;
    for i in (1..rows.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        rows.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let flat: Vec<f32> = rows.concat();
    (Points::new(&flat, 2).unwrap(), n_groups, n_groups / 2)
}

#[test]
fn a_gpu_fit_uploads_its_points_once() {
    // Over 16384 points: three chunks of the search, each searched twice,
    // as rows of the index's device copy. What goes up is the points (the
    // index's copy), the union-find's parents (4 bytes a point) and its
    // core pairs (8 bytes each): no query rows.
    let Some(ctx) = common::gpu_with(&GpuOptions {
        tuning: Tuning::Off,
        ..GpuOptions::default()
    }) else {
        return;
    };
    let (x, n_groups, core_pairs) = groups(4700);
    let n = x.len();
    assert!(n > 2 * 8192, "{n} points: more than two chunks");
    let twin = Dbscan::new(1.5, 3).fit(&Context::cpu(), &x).unwrap();
    assert_eq!(twin.n_clusters(), n_groups);
    let uploaded = |ctx: &Context| ctx.device_stats().unwrap().uploaded_bytes;
    let points = (n * 2 * 4) as u64;
    let before = uploaded(&ctx);
    let fit = Dbscan::new(1.5, 3).fit(&ctx, &x).unwrap();
    assert_eq!(fit, twin);
    let union_find = (4 * n + 8 * core_pairs) as u64;
    assert_eq!(uploaded(&ctx) - before, points + union_find, "the grid");
    // Brute force reads the same rows on the device too: besides, each
    // pass of the search uploads its per-query state (8 words).
    let state = 2 * 32 * n as u64;
    let before = uploaded(&ctx);
    let brute = Dbscan::new(1.5, 3).search(SearchMethod::BruteForce);
    assert_eq!(brute.fit(&ctx, &x).unwrap(), twin);
    assert_eq!(
        uploaded(&ctx) - before,
        points + union_find + state,
        "brute force"
    );
    // A 64 KiB binding splits the points over several buffers: the grid
    // gives way to brute force, whose query tiles are copied from those
    // buffers on the device (some across two), and the union-find runs
    // on the host (its parents pass a binding).
    let small = GpuOptions {
        max_binding_bytes: Some(1 << 16),
        tuning: Tuning::Off,
        ..GpuOptions::default()
    };
    let split = Context::gpu_with(&small).unwrap();
    let before = uploaded(&split);
    let fit = Dbscan::new(1.5, 3).fit(&split, &x).unwrap();
    assert_eq!(fit, twin);
    assert_eq!(uploaded(&split) - before, points + state, "split points");
}

#[test]
fn the_grid_and_brute_force_give_the_same_fit() {
    // Seeded points in two dimensions with weights of both signs, and
    // weights whose f64 sum depends on its order: the grid visits
    // neighbours in cell order, the search lists them by distance, and
    // both must sum them in index order.
    let x = Blobs::default().generate().unwrap().points;
    let n = x.len();
    let mut s = 7u64;
    let weights: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            3.0 * (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let ordered = [1e16f32, -1e16, 1.0, 1e16, -1e16, 1.0];
    let pinned = Points::new(
        &[0.0, 0.0, 0.1, 0.0, 0.2, 0.0, 9.0, 0.0, 9.1, 0.0, 9.2, 0.0],
        2,
    )
    .unwrap();
    for ctx in common::contexts() {
        for (eps, min_samples, w) in [(0.5, 5, None), (0.4, 3, Some(&weights)), (1.2, 10, None)] {
            let fits = [SearchMethod::BruteForce, SearchMethod::Grid].map(|search| {
                let mut params = Dbscan::new(eps, min_samples).search(search);
                if let Some(w) = w {
                    params = params.sample_weights(w.clone());
                }
                params.fit(&ctx, &x).unwrap()
            });
            assert_eq!(
                fits[0], fits[1],
                "{ctx}: eps {eps}, min_samples {min_samples}"
            );
            let noise = fits[0].labels().iter().filter(|&&l| l < 0).count();
            assert!(
                fits[0].n_clusters() > 1 && noise > 0,
                "{ctx}: eps {eps} gives a case worth comparing"
            );
        }
        // Each group's three points are each other's neighbours. In index
        // order their weights sum to (1e16 - 1e16) + 1 = 1, so all are
        // core; in distance order from the third, (1 - 1e16) + 1e16 = 0
        // in f64, which would make it a border point.
        for search in [SearchMethod::BruteForce, SearchMethod::Grid] {
            let fit = Dbscan::new(0.25, 1)
                .search(search)
                .sample_weights(ordered.to_vec())
                .fit(&ctx, &pinned)
                .unwrap();
            assert_eq!(fit.labels(), &[0, 0, 0, 1, 1, 1], "{ctx}, {search:?}");
            assert_eq!(
                fit.core_sample_indices(),
                &[0, 1, 2, 3, 4, 5],
                "{ctx}, {search:?}"
            );
        }
    }
}

#[test]
fn bad_parameters_are_errors() {
    let x = Points::new(&[0.0, 1.0, 2.0], 1).unwrap();
    let ctx = Context::cpu();
    for eps in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = Dbscan::new(eps, 2).fit(&ctx, &x).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { name: "eps", .. }),
            "{err}"
        );
    }
    let err = Dbscan::new(1.0, 0).fit(&ctx, &x).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "min_samples",
                ..
            }
        ),
        "{err}"
    );
    let err = Dbscan::new(1.0, 2)
        .sample_weights(vec![1.0; 2])
        .fit(&ctx, &x)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WeightsLength {
                expected: 3,
                found: 2
            }
        ),
        "{err}"
    );
    let err = Dbscan::new(1.0, 2)
        .sample_weights(vec![1.0, f32::NAN, 1.0])
        .fit(&ctx, &x)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "sample_weights",
                ..
            }
        ),
        "{err}"
    );
    // Negative weights are scikit-learn's way to keep neighbours from
    // being core: allowed.
    let fit = Dbscan::new(1.5, 2)
        .sample_weights(vec![1.0, -1.0, 1.0])
        .fit(&ctx, &x)
        .unwrap();
    assert_eq!(fit.labels(), &[-1, -1, -1]);
}

#[test]
fn a_cancelled_fit_stops_and_the_defaults_are_scikit_learns() {
    let x = Points::new(&[0.0, 0.1, 0.2, 0.3, 0.4, 5.0], 1).unwrap();
    let cancel = Arc::new(Cancel::default());
    cancel.cancel();
    let fit = Dbscan::default().observer(cancel).fit(&Context::cpu(), &x);
    assert!(matches!(fit, Err(Error::Cancelled)), "{fit:?}");
    // eps 0.5, min_samples 5: the five close points are core.
    let fit = Dbscan::default().fit(&Context::cpu(), &x).unwrap();
    assert_eq!(fit.labels(), &[0, 0, 0, 0, 0, -1]);
    assert_eq!(
        Dbscan::default().fit_predict(&Context::cpu(), &x).unwrap(),
        fit.labels()
    );
}
