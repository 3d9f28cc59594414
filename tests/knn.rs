//! Exact nearest neighbours: the GPU against the CPU twin (identical
//! indices), both against a brute force in `f64` (recall exactly 1), ties
//! by index, self exclusion, radius lists, and every bad input.
//!
//! Identical indices, not only close distances: both backends score a pair
//! with the same `f32` operations in the same order and order scores by
//! their bits, so a GPU that contracts `a * b + c` into a fused
//! multiply-add could only swap two neighbours whose scores differ in the
//! last bit; seeded uniform data has no such pairs among the first k. The
//! distances themselves are compared to a few ulp for that reason.

mod common;

use gpu_cluster::{Context, Error, KnnIndex, Metric, NearestNeighbors, Points};

fn points(n: usize, dim: usize, seed: u64) -> Points {
    Points::new(&common::uniform(n, dim, 10.0, seed), dim).unwrap()
}

fn index(ctx: &Context, x: &Points, metric: Metric) -> KnnIndex {
    NearestNeighbors::new().metric(metric).fit(ctx, x).unwrap()
}

/// The metric in `f64`, as scikit-learn computes it.
fn reference_distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let sq: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    match metric {
        Metric::Euclidean => sq.sqrt(),
        Metric::SqEuclidean => sq,
        Metric::Cosine => {
            let (na, nb) = (norm(a), norm(b));
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                (1.0 - dot / (na * nb)).clamp(0.0, 2.0)
            }
        }
        Metric::InnerProduct => -dot,
    }
}

/// Brute force in `f64`: every data row's distance to query `q`, sorted
/// by (distance, index); `own` left out.
fn brute(metric: Metric, data: &Points, q: &[f32], own: Option<usize>) -> Vec<(f64, u32)> {
    let mut all: Vec<(f64, u32)> = data
        .rows()
        .enumerate()
        .filter(|(j, _)| Some(*j) != own)
        .map(|(j, x)| (reference_distance(metric, x, q), j as u32))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all
}

/// Checks one query's k neighbours against the brute force: the same
/// set, in the same order, unless two reference distances around a
/// position are closer than `f32` can tell apart (none are in these
/// seeded cases, but the check says which if one ever is).
fn check_against_brute(
    what: &str,
    metric: Metric,
    found: &[u32],
    distances: &[f32],
    want: &[(f64, u32)],
) {
    let k = found.len();
    for (r, (&j, &d)) in found.iter().zip(distances).enumerate() {
        let (wd, wj) = want[r];
        let reported = if metric == Metric::InnerProduct {
            -wd
        } else {
            wd
        };
        let scale = 1.0 + reported.abs();
        assert!(
            (f64::from(d) - reported).abs() <= 1e-4 * scale,
            "{what}: rank {r}: distance {d} vs {reported}"
        );
        if j != wj {
            let near_tie = want[r.saturating_sub(1)..(r + 2).min(want.len())]
                .windows(2)
                .any(|w| (w[0].0 - w[1].0).abs() <= 1e-6 * scale);
            assert!(
                near_tie,
                "{what}: rank {r}: index {j}, expected {wj} (k {k})"
            );
        }
    }
}

/// Both backends on one case: identical indices, distances within a few
/// ulp, and recall 1 against the brute force.
fn case(
    cpu: &Context,
    gpu: Option<&Context>,
    n: usize,
    m: Option<usize>,
    dim: usize,
    k: usize,
    metric: Metric,
) {
    let data = points(n, dim, (n * 31 + dim) as u64);
    let queries = m.map(|m| points(m, dim, (m * 17 + dim + 1) as u64));
    let what = format!("n {n}, queries {m:?}, D {dim}, k {k}, {metric}");
    let on_cpu = index(cpu, &data, metric)
        .kneighbors(queries.as_ref(), k)
        .unwrap();
    let rows = queries.as_ref().unwrap_or(&data);
    assert_eq!(on_cpu.len(), rows.len(), "{what}");
    for (i, q) in rows.rows().enumerate() {
        let own = queries.is_none().then_some(i);
        let want = brute(metric, &data, q, own);
        check_against_brute(
            &format!("{what}, query {i}"),
            metric,
            on_cpu.indices(i),
            on_cpu.distances(i),
            &want,
        );
    }
    if let Some(gpu) = gpu {
        let on_gpu = index(gpu, &data, metric)
            .kneighbors(queries.as_ref(), k)
            .unwrap();
        assert_eq!(
            on_gpu.all_indices(),
            on_cpu.all_indices(),
            "{what}: GPU vs CPU indices"
        );
        for (g, c) in on_gpu.all_distances().iter().zip(on_cpu.all_distances()) {
            assert!(
                (g - c).abs() <= 1e-5 * (1.0 + c.abs()),
                "{what}: {g} vs {c}"
            );
        }
    }
}

#[test]
fn gpu_and_cpu_find_the_exact_neighbours() {
    let cpu = Context::cpu();
    let gpu = common::gpu();
    // Small and large k (the register list and the threshold passes), any
    // dimension, separate queries and the data itself.
    for (n, m, dim, k) in [
        (1, Some(3), 2, 1),
        (17, None, 1, 16),
        (70, Some(9), 2, 5),
        (100, None, 3, 32),
        (100, Some(30), 3, 33),
        (130, None, 17, 129),
        (65, Some(20), 64, 65),
        (40, Some(5), 300, 7),
    ] {
        for metric in Metric::ALL {
            case(&cpu, gpu.as_ref(), n, m, dim, k, metric);
        }
    }
}

#[test]
fn rows_of_4096_coordinates() {
    let cpu = Context::cpu();
    let gpu = common::gpu();
    case(
        &cpu,
        gpu.as_ref(),
        24,
        Some(3),
        4096,
        4,
        Metric::SqEuclidean,
    );
    case(&cpu, gpu.as_ref(), 24, None, 4096, 23, Metric::Cosine);
}

/// Duplicates and ties: each point's duplicate stays its neighbour at
/// distance 0 with self excluded; equal distances come in index order.
#[test]
fn ties_go_to_the_lower_index() {
    let cpu = Context::cpu();
    let gpu = common::gpu();
    // 0 and 2 duplicate each other; 1 and 3 are both at distance 1 from 0.
    let x = Points::new(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0], 2).unwrap();
    for ctx in std::iter::once(&cpu).chain(gpu.as_ref()) {
        for k in [3, 4] {
            let nn = index(ctx, &x, Metric::Euclidean)
                .kneighbors(None, k)
                .unwrap();
            assert_eq!(&nn.indices(0)[..3], &[2, 1, 3], "{ctx}, k {k}");
            assert_eq!(&nn.distances(0)[..3], &[0.0, 1.0, 1.0]);
            assert_eq!(&nn.indices(2)[..3], &[0, 1, 3]);
            // With self kept, point 0 finds itself first, then 2.
            let with_self = index(ctx, &x, Metric::Euclidean)
                .kneighbors(Some(&x), k)
                .unwrap();
            assert_eq!(&with_self.indices(0)[..2], &[0, 2]);
        }
        // k = n: every point, ties by index.
        let all = index(ctx, &x, Metric::SqEuclidean)
            .kneighbors(Some(&x), 5)
            .unwrap();
        assert_eq!(all.indices(0), &[0, 2, 1, 3, 4]);
        assert_eq!(all.distances(0), &[0.0, 0.0, 1.0, 1.0, 1.0]);
        // Cosine: the zero vectors are at distance 1 from everything.
        let cos = index(ctx, &x, Metric::Cosine)
            .kneighbors(Some(&x), 5)
            .unwrap();
        assert_eq!(cos.distances(0), &[1.0; 5]);
        assert_eq!(cos.indices(0), &[0, 1, 2, 3, 4]);
        // Inner product: largest first.
        let ip = index(ctx, &x, Metric::InnerProduct)
            .kneighbors(Some(&x), 2)
            .unwrap();
        assert_eq!(ip.indices(1), &[1, 0]);
        assert_eq!(ip.distances(1), &[1.0, 0.0]);
    }
}

/// Ties beyond the register list (k > 32): many duplicates, the threshold
/// falling among them, with and without self, on both backends.
#[test]
fn ties_beyond_the_register_list_go_to_the_lower_index() {
    let cpu = Context::cpu();
    let gpu = common::gpu();
    // 60 points on 6 positions: each position 10 times, interleaved.
    let flat: Vec<f32> = (0..60).flat_map(|i| [(i % 6) as f32, 0.0]).collect();
    let x = Points::new(&flat, 2).unwrap();
    for ctx in std::iter::once(&cpu).chain(gpu.as_ref()) {
        for (queries, k) in [(None, 40), (Some(&x), 40), (Some(&x), 60), (None, 59)] {
            let nn = index(ctx, &x, Metric::SqEuclidean)
                .kneighbors(queries, k)
                .unwrap();
            for i in 0..x.len() {
                let own = queries.is_none().then_some(i);
                let mut want: Vec<(f32, u32)> = (0..x.len())
                    .filter(|&j| Some(j) != own)
                    .map(|j| {
                        let d = (x.row(i)[0] - x.row(j)[0]).powi(2);
                        (d, j as u32)
                    })
                    .collect();
                want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let want: Vec<u32> = want[..k].iter().map(|w| w.1).collect();
                assert_eq!(
                    nn.indices(i),
                    &want[..],
                    "{ctx}, query {i}, k {k}, {queries:?}"
                );
            }
        }
    }
}

/// Rows too wide for a driver that cuts shader loops off (llvmpipe) are
/// refused there with an error; elsewhere they give the CPU's answer.
#[test]
fn very_wide_rows_give_the_answer_or_an_error() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let (x, q) = (points(4, 30_000, 1), points(2, 30_000, 2));
    let on_cpu = index(&Context::cpu(), &x, Metric::SqEuclidean)
        .kneighbors(Some(&q), 2)
        .unwrap();
    let on_gpu = index(&gpu, &x, Metric::SqEuclidean).kneighbors(Some(&q), 2);
    let llvmpipe = gpu
        .adapter_info()
        .is_some_and(|i| i.name.contains("llvmpipe"));
    match on_gpu {
        Err(Error::Gpu(why)) if llvmpipe => assert!(why.contains("loop iterations"), "{why}"),
        Ok(found) if !llvmpipe => assert_eq!(found.all_indices(), on_cpu.all_indices()),
        other => panic!("llvmpipe {llvmpipe}: {other:?}"),
    }
}

#[test]
fn radius_lists_match_the_brute_force() {
    let cpu = Context::cpu();
    let gpu = common::gpu();
    for (n, m, dim, metric, radius) in [
        (120, None, 2, Metric::Euclidean, 2.5),
        (120, Some(40), 3, Metric::SqEuclidean, 20.0),
        (90, Some(30), 5, Metric::Cosine, 0.3),
        (90, None, 4, Metric::InnerProduct, 50.0),
        (50, Some(10), 2, Metric::Euclidean, 0.0),
    ] {
        let data = points(n, dim, n as u64 + 7);
        let queries = m.map(|m| points(m, dim, m as u64 + 11));
        let what = format!("n {n}, D {dim}, {metric}, r {radius}");
        let found = index(&cpu, &data, metric)
            .radius_neighbors(queries.as_ref(), radius)
            .unwrap();
        let rows = queries.as_ref().unwrap_or(&data);
        let mut empty = 0;
        for (i, q) in rows.rows().enumerate() {
            let own = queries.is_none().then_some(i);
            let want: Vec<(f64, u32)> = brute(metric, &data, q, own)
                .into_iter()
                .filter(|&(d, _)| {
                    if metric == Metric::InnerProduct {
                        -d >= f64::from(radius)
                    } else {
                        d <= f64::from(radius)
                    }
                })
                .collect();
            let got = found.indices(i);
            assert_eq!(got.len(), want.len(), "{what}, query {i}");
            check_against_brute(&what, metric, got, found.distances(i), &want);
            empty += usize::from(got.is_empty());
        }
        assert!(found.offsets().windows(2).all(|w| w[0] <= w[1]));
        if radius == 0.0 {
            assert_eq!(
                empty,
                rows.len(),
                "{what}: nothing within 0 of random points"
            );
        }
        if let Some(gpu) = &gpu {
            let on_gpu = index(gpu, &data, metric)
                .radius_neighbors(queries.as_ref(), radius)
                .unwrap();
            assert_eq!(on_gpu.offsets(), found.offsets(), "{what}: GPU vs CPU");
            assert_eq!(
                on_gpu.all_indices(),
                found.all_indices(),
                "{what}: GPU vs CPU"
            );
        }
    }
}

/// A query tile smaller than the queries (a tiny binding limit) gives the
/// same answer as one tile, on both paths.
#[test]
fn tiled_queries_give_the_same_answer() {
    let options = gpu_cluster::GpuOptions {
        max_binding_bytes: Some(64 * 40),
        ..Default::default()
    };
    let (Some(small), Some(whole)) = (common::gpu_with(&options), common::gpu()) else {
        return;
    };
    let data = points(60, 3, 5);
    let queries = points(25, 3, 6);
    for k in [4, 40] {
        let a = index(&small, &data, Metric::Euclidean)
            .kneighbors(Some(&queries), k)
            .unwrap();
        let b = index(&whole, &data, Metric::Euclidean)
            .kneighbors(Some(&queries), k)
            .unwrap();
        assert_eq!(a, b, "k {k}");
    }
    let a = index(&small, &data, Metric::Euclidean)
        .radius_neighbors(None, 3.0)
        .unwrap();
    let b = index(&whole, &data, Metric::Euclidean)
        .radius_neighbors(None, 3.0)
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_input_is_an_error() {
    let ctx = Context::cpu();
    let x = points(5, 2, 1);
    let nn = index(&ctx, &x, Metric::Euclidean);
    let invalid = |r: Result<_, Error>, name: &str| match r {
        Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected an invalid {name}, got {other:?}"),
    };
    invalid(nn.kneighbors(Some(&x), 0).map(|_| ()), "k");
    invalid(nn.kneighbors(Some(&x), 6).map(|_| ()), "k");
    invalid(nn.kneighbors(None, 5).map(|_| ()), "k");
    assert!(nn.kneighbors(None, 4).is_ok());
    invalid(nn.radius_neighbors(None, -1.0).map(|_| ()), "radius");
    invalid(nn.radius_neighbors(None, f32::NAN).map(|_| ()), "radius");
    let other = points(3, 3, 2);
    assert!(matches!(
        nn.kneighbors(Some(&other), 1),
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        nn.radius_neighbors(Some(&other), 1.0),
        Err(Error::DimensionMismatch {
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        "manhattan".parse::<Metric>(),
        Err(Error::InvalidParameter { name: "metric", .. })
    ));
    assert_eq!("cosine".parse::<Metric>().unwrap(), Metric::Cosine);
    // Inner-product radii may be negative.
    let ip = index(&ctx, &x, Metric::InnerProduct);
    assert!(ip.radius_neighbors(None, -1.0).is_ok());
    // Inner products that could overflow f32 (and add +inf to -inf).
    let huge = Points::new(&[1e20, -1e20, 3.0, 1.0], 2).unwrap();
    let ip = index(&ctx, &huge, Metric::InnerProduct);
    invalid(ip.kneighbors(None, 1).map(|_| ()), "points");
    invalid(ip.kneighbors(Some(&huge), 1).map(|_| ()), "points");
    // Large values are fine where the products stay in range.
    let small = index(&ctx, &x, Metric::InnerProduct);
    assert!(small.kneighbors(Some(&huge), 1).is_ok());
    invalid(ip.radius_neighbors(None, 0.0).map(|_| ()), "points");
}

/// The grid's radius lists are brute force's on the same backend, bit for
/// bit, and each search says how it ran: the grid for the euclidean
/// metrics in at most 4 dimensions (forced, or automatically on enough
/// points), on the CPU twin and on a GPU (built and searched on the
/// device), brute force otherwise.
#[test]
fn the_grid_and_brute_force_give_the_same_radius_lists() {
    for ctx in common::contexts() {
        for dim in [1usize, 2, 3, 4, 5] {
            grid_against_brute_force(&ctx, dim);
        }
    }
}

/// One dimension of [`the_grid_and_brute_force_give_the_same_radius_lists`].
fn grid_against_brute_force(ctx: &Context, dim: usize) {
    use gpu_cluster::SearchMethod;
    let n = 3000;
    let x = Points::new(&common::uniform(n, dim, 10.0, dim as u64), dim).unwrap();
    let q = Points::new(&common::uniform(200, dim, 10.0, 99), dim).unwrap();
    for metric in [Metric::Euclidean, Metric::SqEuclidean, Metric::Cosine] {
        let radius = if metric == Metric::Cosine { 0.05 } else { 1.2 };
        let fit = |search| {
            NearestNeighbors::new()
                .metric(metric)
                .search(search)
                .fit(ctx, &x)
                .unwrap()
        };
        let brute = fit(SearchMethod::BruteForce);
        for queries in [None, Some(&q)] {
            let want = brute.radius_neighbors(queries, radius).unwrap();
            assert_eq!(want.method(), SearchMethod::BruteForce);
            for search in [SearchMethod::Grid, SearchMethod::Auto] {
                let got = fit(search).radius_neighbors(queries, radius).unwrap();
                let grid = dim <= 4 && metric != Metric::Cosine;
                let used = if grid {
                    SearchMethod::Grid
                } else {
                    SearchMethod::BruteForce
                };
                let what = format!("{ctx}, D {dim} {metric:?} {search:?}");
                assert_eq!(got.method(), used, "{what}");
                assert_eq!(got.offsets(), want.offsets(), "{what}");
                assert_eq!(got.all_indices(), want.all_indices(), "{what}");
                assert_eq!(got.all_distances(), want.all_distances(), "{what}");
            }
        }
    }
}

/// An index keeps its grid between searches of one radius and builds a
/// new one for another, on every backend: every answer still equals brute
/// force's.
#[test]
fn the_kept_grid_follows_the_radius() {
    use gpu_cluster::SearchMethod;
    let x = Points::new(&common::uniform(3000, 2, 10.0, 5), 2).unwrap();
    for ctx in common::contexts() {
        let fit = |search| {
            NearestNeighbors::new()
                .search(search)
                .fit(&ctx, &x)
                .unwrap()
        };
        let (grid, brute) = (fit(SearchMethod::Grid), fit(SearchMethod::BruteForce));
        for radius in [1.2, 0.5, 1.2, 3.0, 0.5] {
            let got = grid.radius_neighbors(None, radius).unwrap();
            let want = brute.radius_neighbors(None, radius).unwrap();
            let what = format!("{ctx}, radius {radius}");
            assert_eq!(got.method(), SearchMethod::Grid, "{what}");
            assert_eq!(got.offsets(), want.offsets(), "{what}");
            assert_eq!(got.all_indices(), want.all_indices(), "{what}");
            assert_eq!(got.all_distances(), want.all_distances(), "{what}");
        }
    }
}

/// On a GPU whose binding cannot hold the indexed points, the grid's
/// radius search goes brute force and says so; queries beyond the grid's
/// reach do too. The lists are brute force's either way.
#[test]
fn the_gpu_grid_falls_back_to_brute_force() {
    use gpu_cluster::{GpuOptions, SearchMethod};
    let x = Points::new(&common::uniform(3000, 2, 10.0, 5), 2).unwrap();
    let far = Points::new(
        &common::uniform(50, 2, 10.0, 6)
            .iter()
            .map(|v| v + 1e7)
            .collect::<Vec<_>>(),
        2,
    )
    .unwrap();
    let near = Points::new(&common::uniform(50, 2, 10.0, 7), 2).unwrap();
    let small = GpuOptions {
        max_binding_bytes: Some(1 << 14),
        ..GpuOptions::default()
    };
    let (Some(gpu), Some(split)) = (common::gpu(), common::gpu_with(&small)) else {
        return;
    };
    let fit = |ctx: &Context, search| NearestNeighbors::new().search(search).fit(ctx, &x).unwrap();
    let cases = [
        (&gpu, None, SearchMethod::Grid),
        (&gpu, Some(&near), SearchMethod::Grid),
        (&gpu, Some(&far), SearchMethod::BruteForce),
        (&split, None, SearchMethod::BruteForce),
        (&split, Some(&near), SearchMethod::BruteForce),
    ];
    for (ctx, queries, used) in cases {
        let got = fit(ctx, SearchMethod::Grid)
            .radius_neighbors(queries, 1.2)
            .unwrap();
        let want = fit(ctx, SearchMethod::BruteForce)
            .radius_neighbors(queries, 1.2)
            .unwrap();
        let what = format!("{ctx}, queries {:?}", queries.map(|q| q.len()));
        assert_eq!(got.method(), used, "{what}");
        assert_eq!(got.offsets(), want.offsets(), "{what}");
        assert_eq!(got.all_indices(), want.all_indices(), "{what}");
        assert_eq!(got.all_distances(), want.all_distances(), "{what}");
    }
}
