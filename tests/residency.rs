//! Data stay on the device between calls: through the cache of recently
//! used data (plain `Points`, found by their bytes) and explicitly (a
//! `Dataset` or a kNN index, pinned and found by address). Measured with
//! `Context::device_stats`; results are the same bits as with everything
//! uploaded afresh. Skipped without an adapter unless `REQUIRE_GPU=1`.

mod common;

use gpu_cluster::{
    BandwidthEstimate, Context, Dataset, DeviceStats, GpuOptions, MeanShift, MeanShiftFit, Metric,
    NearestNeighbors, Points, Tuning,
};

/// Built-in launch shapes: timing them on a hardware adapter would upload
/// trial data.
fn gpu() -> Option<Context> {
    common::gpu_with(&GpuOptions {
        tuning: Tuning::Off,
        ..Default::default()
    })
}

fn stats(ctx: &Context) -> DeviceStats {
    ctx.device_stats().expect("a GPU context")
}

fn uploaded(ctx: &Context) -> u64 {
    stats(ctx).uploaded_bytes
}

/// Everything a fit returns, as bits.
fn bits(fit: &MeanShiftFit) -> (Vec<u32>, Vec<i32>, Vec<u32>, usize) {
    let floats = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    (
        floats(fit.centers().as_slice()),
        fit.labels().to_vec(),
        floats(fit.intensities()),
        fit.n_iter(),
    )
}

fn data(n: usize, dim: usize) -> Points {
    let flat: Vec<f32> = (0..n * dim)
        .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0 + (i % dim * 20) as f32)
        .collect();
    Points::new(&flat, dim).unwrap()
}

/// Multiply-adds (points x centres x coordinates) up to which labelling
/// runs on the host (the nearest op's small calls).
const HOST_LABELLING: usize = 1 << 16;

/// Labelling `n` points uploads nothing: the fits here are small, so their
/// labels are made on the host (the device's answer to larger calls is
/// tested with the nearest op).
fn labelling(fit: &MeanShiftFit, n: usize) -> u64 {
    assert!(n * fit.centers().as_slice().len() <= HOST_LABELLING);
    0
}

/// A second fit on the same data (another bandwidth, another mode, or
/// after the bandwidth estimate) uploads nothing for the data, and gives
/// the same bits as a fit on a fresh context, which uploads everything.
#[test]
fn later_fits_on_the_same_points_upload_nothing_for_them() {
    let Some(ctx) = gpu() else {
        return;
    };
    let (n, dim) = (240, 3);
    let x = data(n, dim);
    let weights: Vec<f32> = (0..n).map(|i| 1.0 + (i % 5) as f32).collect();

    let h = BandwidthEstimate::new(0.3).estimate(&ctx, &x).unwrap();
    let after_estimate = uploaded(&ctx);
    let hits = stats(&ctx).hits;
    // The estimate's data are resident: standard mode uploads neither the
    // data nor the seeds (the data again, copied on the device); both are
    // found in the cache (a small call's labels are made on the host).
    let fit = |ms: &MeanShift| ms.fit(&ctx, &x).unwrap();
    let standard = fit(&MeanShift::new(h));
    assert_eq!(
        uploaded(&ctx),
        after_estimate + labelling(&standard, n),
        "standard fit after the estimate"
    );
    assert!(stats(&ctx).hits >= hits + 2);
    let before = uploaded(&ctx);
    let other_bandwidth = fit(&MeanShift::new(1.5 * h));
    assert_eq!(uploaded(&ctx), before + labelling(&other_bandwidth, n));
    // Blurring: nothing for the data (the final positions are ranked in
    // the same submission that moves them, and labelled on the host).
    let before = uploaded(&ctx);
    let blurred = fit(&MeanShift::new(h).blurring(3));
    assert_eq!(uploaded(&ctx), before + labelling(&blurred, n));
    // Sample weights are kept too.
    let weighted_ms = MeanShift::new(h).sample_weights(weights);
    let weighted = fit(&weighted_ms);
    let before = uploaded(&ctx);
    assert_eq!(bits(&fit(&weighted_ms)), bits(&weighted));
    assert_eq!(uploaded(&ctx), before + labelling(&weighted, n));

    // The same bits when everything is uploaded afresh.
    let cold = |ms: &MeanShift| {
        let fresh = gpu().unwrap();
        let out = ms.fit(&fresh, &x).unwrap();
        assert!(stats(&fresh).misses > 0);
        out
    };
    assert_eq!(bits(&cold(&MeanShift::new(h))), bits(&standard));
    assert_eq!(
        bits(&cold(&MeanShift::new(1.5 * h))),
        bits(&other_bandwidth)
    );
    let cold_blurred = cold(&MeanShift::new(h).blurring(3));
    assert_eq!(bits(&cold_blurred), bits(&blurred));
    assert_eq!(cold_blurred.final_positions(), blurred.final_positions());
    assert_eq!(bits(&cold(&weighted_ms)), bits(&weighted));
    let fresh = gpu().unwrap();
    let again = BandwidthEstimate::new(0.3).estimate(&fresh, &x).unwrap();
    assert_eq!(again.to_bits(), h.to_bits());
}

/// A dataset is uploaded once, when it is made: every later estimate and
/// fit finds it pinned (no byte comparison), even after other data went
/// through the cache, with the same bits as plain points.
#[test]
fn a_dataset_is_uploaded_once() {
    let Some(ctx) = gpu() else {
        return;
    };
    let (n, dim) = (200, 2);
    let x = data(n, dim);
    let before = uploaded(&ctx);
    let set = Dataset::new(&ctx, &x).unwrap();
    assert_eq!(uploaded(&ctx), before + (n * dim * 4) as u64, "made once");
    assert_eq!(set.points(), &x);

    let h = BandwidthEstimate::new(0.3).estimate(&ctx, &set).unwrap();
    // Other data pass through the cache and would push plain points out.
    for k in 1..6 {
        MeanShift::new(1.0)
            .blurring(1)
            .fit(&ctx, &data(50 + k, 2))
            .unwrap();
    }
    let pinned = stats(&ctx).pinned_hits;
    let before = uploaded(&ctx);
    let standard = MeanShift::new(h).fit(&ctx, &set).unwrap();
    assert_eq!(
        uploaded(&ctx),
        before + labelling(&standard, n),
        "standard fit"
    );
    assert!(stats(&ctx).pinned_hits >= pinned + 2, "data, seeds");
    let cpu = Context::cpu();
    let plain = MeanShift::new(h).fit(&ctx, &x).unwrap();
    assert_eq!(bits(&standard), bits(&plain));
    assert_eq!(
        BandwidthEstimate::new(0.3).estimate(&cpu, &set).unwrap(),
        BandwidthEstimate::new(0.3).estimate(&cpu, &x).unwrap(),
        "a dataset works on any context"
    );

    // Blurring until stable: the positions stay on the device between
    // iterations; only labelling uploads them (and a few centres): after
    // each iteration and once at the end. Never the data.
    let ms = MeanShift::new(h).blurring_until_stable().tol(0.0);
    let before = uploaded(&ctx);
    let stable = ms.fit(&ctx, &set).unwrap();
    let per_iteration = (n * dim * 4) as u64;
    assert!(
        uploaded(&ctx) - before <= (stable.n_iter() as u64 + 1) * (per_iteration + 64 * 4),
        "{} bytes over {} iterations",
        uploaded(&ctx) - before,
        stable.n_iter()
    );
    assert_eq!(bits(&stable), bits(&ms.fit(&gpu().unwrap(), &x).unwrap()));
}

/// A kNN index uploads its points once; queries find them pinned.
#[test]
fn a_knn_index_keeps_its_points() {
    let Some(ctx) = gpu() else {
        return;
    };
    let x = data(300, 4);
    let q = data(20, 4);
    let before = uploaded(&ctx);
    let index = NearestNeighbors::new()
        .metric(Metric::Euclidean)
        .fit(&ctx, &x)
        .unwrap();
    assert_eq!(uploaded(&ctx), before + 300 * 4 * 4);
    let pinned = stats(&ctx).pinned_hits;
    let before = uploaded(&ctx);
    let first = index.kneighbors(Some(&q), 5).unwrap();
    let second = index.kneighbors(Some(&q), 5).unwrap();
    assert_eq!(first, second);
    // Only the queries went up, twice.
    assert_eq!(uploaded(&ctx), before + 2 * 20 * 4 * 4);
    assert_eq!(stats(&ctx).pinned_hits, pinned + 2);
    // The data queried with itself: nothing at all.
    let before = uploaded(&ctx);
    index.kneighbors(None, 3).unwrap();
    assert_eq!(uploaded(&ctx), before);
}

/// Calls of the same shape make no new device buffers or bind groups: a
/// blurring fit on a dataset, a bandwidth estimate, standard mode and kNN
/// queries take their working buffers, staging buffers, parameter blocks
/// and bind groups from the earlier call's, with the same results.
#[test]
fn calls_of_the_same_shape_reuse_buffers_and_bind_groups() {
    let Some(ctx) = gpu() else {
        return;
    };
    let x = data(300, 2);
    let set = Dataset::new(&ctx, &x).unwrap();
    let index = NearestNeighbors::new().fit(&ctx, &x).unwrap();
    let q = data(40, 2);
    type Call<'a> = (&'a str, Box<dyn Fn() -> Vec<u32> + 'a>);
    let calls: Vec<Call> = vec![
        (
            "blurring fit",
            Box::new(|| {
                bits(&MeanShift::new(3.0).blurring(4).fit(&ctx, &set).unwrap())
                    .1
                    .iter()
                    .map(|&l| l as u32)
                    .collect()
            }),
        ),
        (
            "standard fit",
            Box::new(|| bits(&MeanShift::new(3.0).fit(&ctx, &set).unwrap()).0),
        ),
        (
            "bandwidth estimate",
            Box::new(|| {
                vec![
                    BandwidthEstimate::new(0.3)
                        .estimate(&ctx, &set)
                        .unwrap()
                        .to_bits(),
                ]
            }),
        ),
        (
            "k nearest, registers",
            Box::new(|| {
                index
                    .kneighbors(Some(&q), 5)
                    .unwrap()
                    .all_indices()
                    .to_vec()
            }),
        ),
        (
            "k nearest, threshold",
            Box::new(|| {
                index
                    .kneighbors(Some(&q), 40)
                    .unwrap()
                    .all_indices()
                    .to_vec()
            }),
        ),
        (
            "radius",
            Box::new(|| {
                index
                    .radius_neighbors(Some(&q), 2.0)
                    .unwrap()
                    .all_indices()
                    .to_vec()
            }),
        ),
    ];
    for (what, call) in &calls {
        let first = call();
        let warm = call();
        let before = stats(&ctx);
        let again = call();
        let after = stats(&ctx);
        assert_eq!(first, again, "{what}");
        assert_eq!(warm, again, "{what}");
        assert_eq!(
            after.buffers_created, before.buffers_created,
            "{what}: buffers"
        );
        assert_eq!(
            after.bind_groups_created, before.bind_groups_created,
            "{what}: bind groups"
        );
    }
}
