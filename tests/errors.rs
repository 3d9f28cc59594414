//! Every [`Error`] variant, reached with the bad input that causes it: the
//! variant (with its fields) and a message that names the problem.
//!
//! Variants that need a fit run on the CPU twin and, where there is an
//! adapter, on the GPU (`common::gpu()`: skipped without one unless
//! `REQUIRE_GPU=1`); the rest are checked before any backend is involved.
//! `NoAdapter` has its own binary, `tests/no_adapter.rs`, because it sets
//! `WGPU_BACKEND` for the whole process. The run-time GPU failures
//! (`DeviceLost`, `Gpu`, `OutOfMemory`) are at the end of this file.

mod common;

use gpu_cluster::{BandwidthEstimate, Blobs, Context, Error, Kernel, MeanShift, Points};

/// Asserts that `result` failed with an error matching `pat`, whose message
/// contains every one of `words`; returns the error.
macro_rules! assert_err {
    ($result:expr, $pat:pat $(if $guard:expr)?, $($word:expr),+ $(,)?) => {{
        let err = match $result {
            Ok(_) => panic!("expected {}, got Ok", stringify!($pat)),
            Err(e) => e,
        };
        assert!(
            matches!(err, $pat $(if $guard)?),
            "expected {}, got {err:?}",
            stringify!($pat)
        );
        let text = err.to_string();
        $(
            assert!(text.contains($word), "message {text:?} does not mention {:?}", $word);
        )+
        err
    }};
}

fn pts(flat: &[f32], dim: usize) -> Points {
    Points::new(flat, dim).unwrap()
}

/// Two tight groups in 2-D, far apart: a valid input for every check below.
fn two_groups() -> Points {
    pts(
        &[0.0, 0.0, 0.1, 0.0, 0.0, 0.1, 5.0, 5.0, 5.1, 5.0, 5.0, 5.1],
        2,
    )
}

// ---------------------------------------------------------------------------
// Points: shape and values.

#[test]
fn empty_data() {
    assert_err!(Points::new(&[], 2), Error::EmptyData, "empty");
    assert_err!(Points::from_vec(Vec::new(), 1), Error::EmptyData, "empty");
    assert_err!(
        Points::from_rows::<Vec<f32>>(&[]),
        Error::EmptyData,
        "empty"
    );
    assert_err!(Points::from_f64(&[], 3), Error::EmptyData, "empty");
}

#[test]
fn zero_dimension() {
    assert_err!(
        Points::new(&[1.0, 2.0], 0),
        Error::ZeroDimension,
        "dimension"
    );
    assert_err!(
        Points::from_f64(&[1.0], 0),
        Error::ZeroDimension,
        "dimension"
    );
    // Rows of length 0.
    assert_err!(
        Points::from_rows(&[Vec::<f32>::new()]),
        Error::ZeroDimension,
        "dimension"
    );
    let blobs = Blobs {
        dim: 0,
        ..Blobs::default()
    };
    assert_err!(blobs.generate(), Error::ZeroDimension, "dimension");
}

#[test]
fn length_not_multiple() {
    let err = assert_err!(
        Points::new(&[1.0, 2.0, 3.0], 2),
        Error::LengthNotMultiple { len: 3, dim: 2 },
        "3 values",
        "rows of 2"
    );
    assert_eq!(err, Error::LengthNotMultiple { len: 3, dim: 2 });
    assert_err!(
        Points::from_f64(&[1.0; 7], 3),
        Error::LengthNotMultiple { len: 7, dim: 3 },
        "7 values"
    );
}

#[test]
fn ragged_rows() {
    let rows = vec![
        vec![1.0, 2.0],
        vec![3.0, 4.0],
        vec![5.0],
        vec![6.0, 7.0, 8.0],
    ];
    assert_err!(
        Points::from_rows(&rows),
        Error::RaggedRows {
            row: 2,
            expected: 2,
            found: 1
        },
        "row 2",
        "1 values",
        "expected 2"
    );
}

#[test]
fn non_finite_values() {
    // NaN, +inf and -inf in f32, each located by row and column.
    let err = assert_err!(
        Points::new(&[0.0, 1.0, 2.0, f32::NAN], 2),
        Error::NonFinite { row: 1, col: 1, .. },
        "row 1",
        "column 1",
        "not finite",
        "NaN"
    );
    let Error::NonFinite { value, .. } = err else {
        unreachable!()
    };
    assert!(value.is_nan());
    assert_err!(
        Points::new(&[f32::INFINITY, 1.0, 2.0], 1),
        Error::NonFinite { row: 0, col: 0, value } if value == f64::INFINITY,
        "not finite",
        "inf"
    );
    assert_err!(
        Points::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, f32::NEG_INFINITY]]),
        Error::NonFinite { row: 1, col: 2, value } if value == f64::NEG_INFINITY,
        "row 1",
        "column 2",
        "-inf"
    );
    // f64: NaN, inf, and a finite value too large for f32 (reported as read,
    // not as the infinity it would become).
    assert_err!(
        Points::from_f64(&[0.0, f64::NAN], 1),
        Error::NonFinite { row: 1, col: 0, .. },
        "not finite"
    );
    assert_err!(
        Points::from_f64(&[0.0, 0.0, 0.0, f64::INFINITY], 2),
        Error::NonFinite { row: 1, col: 1, .. },
        "not finite"
    );
    assert_err!(
        Points::from_f64(&[1.0, 2.0, 1e39, 4.0], 2),
        Error::NonFinite { row: 1, col: 0, value } if value == 1e39,
        "row 1",
        "column 0",
        "not finite",
        "1000000000000000000000000000000000000000"
    );
    assert_err!(
        Points::from_f64(&[-3.5e38], 1),
        Error::NonFinite { row: 0, col: 0, .. },
        "not finite"
    );
    // The largest f32 itself is fine.
    assert!(Points::from_f64(&[f64::from(f32::MAX)], 1).is_ok());
}

#[test]
fn spread_too_large() {
    // Column 1 spans about 2e15 (> 1e15); column 0 is fine.
    let x = pts(&[0.0, -1e15, 1.0, 1e15, 2.0, 0.0], 2);
    for ctx in common::contexts() {
        let err = assert_err!(
            MeanShift::new(1.0).fit(&ctx, &x),
            Error::SpreadTooLarge { col: 1, .. },
            "column 1",
            "rescale"
        );
        let Error::SpreadTooLarge { spread, .. } = err else {
            unreachable!()
        };
        assert_eq!(spread, 2.0 * f64::from(1e15f32));
        // The same with an estimated bandwidth and in blurring mode.
        assert_err!(
            MeanShift::default().fit(&ctx, &x),
            Error::SpreadTooLarge { col: 1, .. },
            "column 1"
        );
        assert_err!(
            MeanShift::new(1.0).blurring(2).fit(&ctx, &x),
            Error::SpreadTooLarge { col: 1, .. },
            "column 1"
        );
    }
    // Just inside the limit is accepted.
    let ok = pts(&[-4e14, 5e14], 1);
    assert!(MeanShift::new(1e14).fit(&Context::cpu(), &ok).is_ok());
}

/// `BandwidthEstimate::estimate` on its own should refuse the same data as a
/// fit: squared distances would overflow f32 (quantile 1.0 reaches them).
#[test]
fn spread_too_large_in_bandwidth_estimate() {
    let x = pts(&[-1e20, 1e20, 0.0], 1);
    for ctx in common::contexts() {
        assert_err!(
            BandwidthEstimate::new(1.0).estimate(&ctx, &x),
            Error::SpreadTooLarge { col: 0, .. },
            "column 0"
        );
    }
}

// ---------------------------------------------------------------------------
// Seeds, predict and weights against the data.

#[test]
fn dimension_mismatch() {
    let x = two_groups();
    for ctx in common::contexts() {
        let seeds = pts(&[0.0, 0.0, 0.0], 3);
        assert_err!(
            MeanShift::new(1.0).seeds(seeds).fit(&ctx, &x),
            Error::DimensionMismatch {
                expected: 2,
                found: 3
            },
            "dimension mismatch",
            "expected 2",
            "got 3"
        );
        let fit = MeanShift::new(1.0).fit(&ctx, &x).unwrap();
        assert_err!(
            fit.predict(&pts(&[1.0, 2.0, 3.0], 1)),
            Error::DimensionMismatch {
                expected: 2,
                found: 1
            },
            "dimension mismatch",
            "got 1"
        );
        let blurred = MeanShift::new(1.0).blurring(2).fit(&ctx, &x).unwrap();
        assert_err!(
            blurred.predict(&pts(&[1.0, 2.0, 3.0], 3)),
            Error::DimensionMismatch {
                expected: 2,
                found: 3
            },
            "dimension mismatch"
        );
    }
}

#[test]
fn weights_length() {
    let x = two_groups();
    for ctx in common::contexts() {
        assert_err!(
            MeanShift::new(1.0)
                .sample_weights(vec![1.0; 5])
                .fit(&ctx, &x),
            Error::WeightsLength {
                expected: 6,
                found: 5
            },
            "5 sample weights",
            "6 points"
        );
        assert_err!(
            MeanShift::new(1.0)
                .blurring(1)
                .sample_weights(vec![1.0; 7])
                .fit(&ctx, &x),
            Error::WeightsLength {
                expected: 6,
                found: 7
            },
            "7 sample weights"
        );
    }
}

#[test]
fn invalid_weight() {
    let x = two_groups();
    for ctx in common::contexts() {
        for (bad, shown) in [(-1.0f32, "-1"), (f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
            let mut w = vec![1.0; 6];
            w[4] = bad;
            let err = assert_err!(
                MeanShift::new(1.0).sample_weights(w).fit(&ctx, &x),
                Error::InvalidWeight { index: 4, .. },
                "sample weight 4",
                shown,
                ">= 0"
            );
            let Error::InvalidWeight { value, .. } = err else {
                unreachable!()
            };
            assert!(
                value.to_bits() == bad.to_bits(),
                "{value} reported for {bad}"
            );
        }
        // Zero weights are valid.
        assert!(
            MeanShift::new(1.0)
                .sample_weights(vec![0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
                .fit(&ctx, &x)
                .is_ok()
        );
    }
}

// ---------------------------------------------------------------------------
// Parameters.

/// Asserts an `InvalidParameter` naming `name` with `value`.
fn assert_invalid<T: std::fmt::Debug>(r: Result<T, Error>, name: &str, value: &str) {
    let err = assert_err!(r, Error::InvalidParameter { .. }, "invalid", name);
    let Error::InvalidParameter {
        name: n,
        value: v,
        reason,
    } = &err
    else {
        unreachable!()
    };
    assert_eq!((*n, v.as_str()), (name, value), "{err}");
    assert!(!reason.is_empty());
}

#[test]
fn invalid_bandwidth() {
    let x = two_groups();
    for ctx in common::contexts() {
        for (h, shown) in [
            (0.0f32, "0"),
            (-0.0, "-0"),
            (-1.5, "-1.5"),
            (f32::NAN, "NaN"),
            (f32::INFINITY, "inf"),
            (f32::NEG_INFINITY, "-inf"),
            // h^2 would underflow to a subnormal; h beyond the f32 stages' range.
            (1e-20, "0.00000000000000000001"),
            (1e16, "10000000000000000"),
        ] {
            assert_invalid(MeanShift::new(h).fit(&ctx, &x), "bandwidth", shown);
            assert_invalid(
                MeanShift::new(h).blurring(3).fit(&ctx, &x),
                "bandwidth",
                shown,
            );
        }
    }
}

#[test]
fn invalid_quantile_and_n_samples() {
    let x = two_groups();
    for ctx in common::contexts() {
        for (q, shown) in [
            (0.0, "0"),
            (-0.25, "-0.25"),
            (1.5, "1.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
        ] {
            let est = BandwidthEstimate::new(q);
            assert_invalid(MeanShift::estimated(est).fit(&ctx, &x), "quantile", shown);
            assert_invalid(est.estimate(&ctx, &x), "quantile", shown);
        }
        let est = BandwidthEstimate {
            n_samples: Some(0),
            ..BandwidthEstimate::default()
        };
        assert_invalid(MeanShift::estimated(est).fit(&ctx, &x), "n_samples", "0");
        assert_invalid(est.estimate(&ctx, &x), "n_samples", "0");
    }
}

#[test]
fn invalid_tol() {
    let x = two_groups();
    for ctx in common::contexts() {
        for (tol, shown) in [
            (-1e-3f32, "-0.001"),
            (f32::NAN, "NaN"),
            (f32::INFINITY, "inf"),
        ] {
            assert_invalid(MeanShift::new(1.0).tol(tol).fit(&ctx, &x), "tol", shown);
        }
        // tol = 0 is valid (stop only when a seed stands still).
        assert!(MeanShift::new(1.0).tol(0.0).fit(&ctx, &x).is_ok());
    }
}

#[test]
fn invalid_min_bin_freq() {
    let x = two_groups();
    for ctx in common::contexts() {
        assert_invalid(
            MeanShift::new(1.0)
                .bin_seeding(true)
                .min_bin_freq(0)
                .fit(&ctx, &x),
            "min_bin_freq",
            "0",
        );
    }
}

#[test]
fn seeds_in_blurring_mode() {
    let x = two_groups();
    for ctx in common::contexts() {
        let ms = MeanShift::new(1.0).seeds(pts(&[0.0, 0.0], 2));
        assert_invalid(ms.clone().blurring(3).fit(&ctx, &x), "seeds", "given");
        assert_invalid(ms.blurring_until_stable().fit(&ctx, &x), "seeds", "given");
    }
}

#[test]
fn bin_seeding_in_blurring_mode() {
    let x = two_groups();
    for ctx in common::contexts() {
        let ms = MeanShift::new(1.0).bin_seeding(true);
        assert_invalid(ms.clone().blurring(3).fit(&ctx, &x), "bin_seeding", "true");
        assert_invalid(
            ms.blurring_until_stable().fit(&ctx, &x),
            "bin_seeding",
            "true",
        );
    }
}

#[test]
fn invalid_max_iter() {
    let x = two_groups();
    for ctx in common::contexts() {
        // Blurring until stable needs at least one iteration.
        assert_invalid(
            MeanShift::new(1.0)
                .blurring_until_stable()
                .max_iter(0)
                .fit(&ctx, &x),
            "max_iter",
            "0",
        );
        // max_iter 0 is valid in standard mode (one mean per seed, like
        // scikit-learn) and with an explicit blurring count.
        assert!(MeanShift::new(1.0).max_iter(0).fit(&ctx, &x).is_ok());
        assert!(
            MeanShift::new(1.0)
                .blurring(2)
                .max_iter(0)
                .fit(&ctx, &x)
                .is_ok()
        );
        #[cfg(target_pointer_width = "64")]
        assert_invalid(
            MeanShift::new(1.0).max_iter(usize::MAX).fit(&ctx, &x),
            "max_iter",
            &usize::MAX.to_string(),
        );
    }
}

#[test]
fn invalid_blobs_parameters() {
    let d = Blobs::default();
    assert_invalid(
        Blobs {
            clusters: 0,
            ..d.clone()
        }
        .generate(),
        "clusters",
        "0",
    );
    assert_invalid(
        Blobs {
            per_cluster: 0,
            ..d.clone()
        }
        .generate(),
        "per_cluster",
        "0",
    );
    for (spread, shown) in [
        (0.0f32, "0"),
        (-1.0, "-1"),
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
    ] {
        assert_invalid(
            Blobs {
                spread,
                ..d.clone()
            }
            .generate(),
            "spread",
            shown,
        );
    }
    for (std, shown) in [(-0.5f32, "-0.5"), (f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
        assert_invalid(Blobs { std, ..d.clone() }.generate(), "std", shown);
    }
    // std = 0 is valid: every point on its centroid.
    let exact = Blobs {
        std: 0.0,
        per_cluster: 3,
        ..d
    }
    .generate()
    .unwrap();
    assert_eq!(exact.points.row(0), exact.centroids.row(0));
}

// ---------------------------------------------------------------------------
// Failures found while fitting.

#[test]
fn zero_bandwidth() {
    // Ten copies each of two points: with quantile 0.3, k = int(20 * 0.3) =
    // 6, and every point's 6th neighbour is one of its own copies. The
    // estimate is 0, as in scikit-learn; the flat kernel takes it (each
    // distinct point a cluster, see tests/sklearn_meanshift.rs), the kernels
    // that divide by the bandwidth refuse it.
    let mut flat = Vec::new();
    for _ in 0..10 {
        flat.extend_from_slice(&[1.0, 2.0, -3.0, 4.0]);
    }
    let x = pts(&flat, 2);
    for ctx in common::contexts() {
        assert_eq!(BandwidthEstimate::default().estimate(&ctx, &x), Ok(0.0));
        let fit = MeanShift::default().fit(&ctx, &x).unwrap();
        assert_eq!(fit.n_clusters(), 2);
        assert_eq!(fit.bandwidth(), 0.0);
        assert_err!(
            MeanShift::default().kernel(Kernel::Gaussian).fit(&ctx, &x),
            Error::ZeroBandwidth {
                quantile: 0.3,
                kernel: Kernel::Gaussian
            },
            "bandwidth is 0",
            "quantile 0.3",
            "gaussian kernel divides by it",
            "larger quantile"
        );
        assert_err!(
            MeanShift::estimated(BandwidthEstimate::new(0.45))
                .blurring(2)
                .fit(&ctx, &x),
            Error::ZeroBandwidth { quantile: 0.45, .. },
            "quantile 0.45"
        );
        // k = int(20 * 0.5) = 10 still finds copies; k = 11 reaches the
        // other point.
        assert_eq!(BandwidthEstimate::new(0.5).estimate(&ctx, &x), Ok(0.0));
        let h = BandwidthEstimate::new(0.55).estimate(&ctx, &x).unwrap();
        assert!((h - 20f32.sqrt()).abs() < 1e-5, "{h}");
        // A single point is its own only neighbour.
        assert_err!(
            MeanShift::default()
                .kernel(Kernel::Triangular)
                .fit(&ctx, &pts(&[3.0], 1)),
            Error::ZeroBandwidth { .. },
            "bandwidth is 0"
        );
        // A given bandwidth of 0 stays an error, as in scikit-learn.
        assert_err!(
            MeanShift::new(0.0).fit(&ctx, &x),
            Error::InvalidParameter {
                name: "bandwidth",
                ..
            },
            "invalid bandwidth = 0"
        );
    }
}

#[test]
fn no_seeds() {
    let x = two_groups();
    for ctx in common::contexts() {
        assert_err!(
            MeanShift::new(1.0)
                .bin_seeding(true)
                .min_bin_freq(4)
                .fit(&ctx, &x),
            Error::NoSeeds { min_bin_freq: 4 },
            "no bin",
            "at least 4 points"
        );
        // Each group fills one bin of 3 points: min_bin_freq 3 keeps both.
        let fit = MeanShift::new(1.0)
            .bin_seeding(true)
            .min_bin_freq(3)
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(fit.n_clusters(), 2);
    }
}

#[test]
fn no_point_in_range() {
    let x = two_groups();
    for ctx in common::contexts() {
        let far = pts(&[100.0, 100.0, -50.0, 0.0], 2);
        assert_err!(
            MeanShift::new(1.5).seeds(far).fit(&ctx, &x),
            Error::NoPointInRange { bandwidth: 1.5 },
            "no point within bandwidth 1.5"
        );
        // With every seed's window empty because every weight is 0.
        assert_err!(
            MeanShift::new(1.5)
                .sample_weights(vec![0.0; 6])
                .fit(&ctx, &x),
            Error::NoPointInRange { bandwidth: 1.5 },
            "no point within"
        );
        // One seed in range is enough (the far one is dropped).
        let mixed = pts(&[100.0, 100.0, 0.0, 0.0], 2);
        let fit = MeanShift::new(1.5).seeds(mixed).fit(&ctx, &x).unwrap();
        assert_eq!(fit.n_clusters(), 1);
    }
}

// ---------------------------------------------------------------------------
// Failures of the GPU at run time, on devices this test opens itself and
// hands over with `Context::from_wgpu`.
//
// `OutOfMemory` is not reached: data past a binding or buffer limit is split,
// never refused, so only exhausting the device's real memory would do, and on
// software Vulkan that memory is the host's (a test cannot fill it safely).

/// A device of our own with `limits` applied to the adapter's own limits,
/// or `None` (with a message) where there is no adapter; with
/// `REQUIRE_GPU=1` a missing adapter fails the test instead.
fn own_device(
    limits: impl FnOnce(wgpu::Limits) -> wgpu::Limits,
) -> Option<(wgpu::Device, wgpu::Queue)> {
    let required = std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1");
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        {
            Ok(a) => a,
            Err(e) if required => panic!("REQUIRE_GPU=1 but no adapter: {e}"),
            Err(e) => {
                eprintln!("skipping GPU case: {e}");
                return None;
            }
        };
    let desc = wgpu::DeviceDescriptor {
        label: Some("errors test"),
        required_limits: limits(adapter.limits()),
        ..Default::default()
    };
    Some(
        pollster::block_on(adapter.request_device(&desc))
            .expect("a device within the adapter's limits"),
    )
}

/// A context on a device of our own whose GPU stages work (a small fit
/// succeeds), or `None` where there is no adapter or no working GPU
/// backend; with `REQUIRE_GPU=1` either fails the test.
fn working_gpu(
    limits: impl FnOnce(wgpu::Limits) -> wgpu::Limits,
) -> Option<(Context, wgpu::Device)> {
    let (device, queue) = own_device(limits)?;
    let ctx = Context::from_wgpu(device.clone(), queue);
    match MeanShift::new(1.0).fit(&ctx, &two_groups()) {
        Ok(fit) => {
            assert_eq!(fit.n_clusters(), 2);
            Some((ctx, device))
        }
        Err(e) if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_GPU=1 but the GPU stages fail: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU case: the GPU stages fail: {e}");
            None
        }
    }
}

/// `Error::Gpu`: a device with 1 KiB of workgroup memory (enough for 2-D
/// points) cannot run the shift stage on 300-dimensional points: it splits
/// each query's coordinates over 64 threads, whose partial distances for a
/// tile of 8 rows need 2.4 KB. The bandwidth estimate streams slices of 32
/// coordinates through tiles cut to the memory there is, so it still runs
/// (and gives the CPU's answer); below one slice's 192 bytes it fails too.
/// (Should the shift stage need less workgroup memory, this input stops
/// failing and the test needs another.)
#[test]
fn gpu_error_when_a_row_exceeds_workgroup_memory() {
    let Some((ctx, _device)) = working_gpu(|l| wgpu::Limits {
        max_compute_workgroup_storage_size: 1024,
        ..l
    }) else {
        return;
    };
    let wide = pts(&common::uniform(8, 300, 1.0, 1), 300);
    assert_err!(
        MeanShift::new(1.0).fit(&ctx, &wide),
        Error::Gpu(_),
        "GPU error",
        "workgroup memory"
    );
    let estimate = |ctx: &Context| BandwidthEstimate::new(0.5).estimate(ctx, &wide);
    assert_eq!(estimate(&ctx).unwrap(), estimate(&Context::cpu()).unwrap());
    let Some((tiny, _device)) = working_gpu(|l| wgpu::Limits {
        max_compute_workgroup_storage_size: 128,
        ..l
    }) else {
        return;
    };
    assert_err!(
        estimate(&tiny),
        Error::Gpu(_),
        "GPU error",
        "workgroup memory"
    );
}

/// `Error::DeviceLost`: the application destroys the device it lent.
#[test]
fn device_lost_after_the_application_destroys_its_device() {
    let Some((ctx, device)) = working_gpu(|l| l) else {
        return;
    };
    device.destroy();
    let x = two_groups();
    assert_err!(
        MeanShift::new(1.0).fit(&ctx, &x),
        Error::DeviceLost(_),
        "device was lost"
    );
    assert_err!(
        MeanShift::new(1.0).blurring(2).fit(&ctx, &x),
        Error::DeviceLost(_),
        "device was lost"
    );
    assert_err!(
        BandwidthEstimate::default().estimate(&ctx, &x),
        Error::DeviceLost(_),
        "device was lost"
    );
}

/// A device whose limits cannot host the stages gives an error naming the
/// limit, not a panic. wgpu's downlevel defaults (4 storage buffers per
/// stage) are enough: every stage binds at most 4.
#[test]
fn adopted_device_with_too_few_storage_buffers() {
    let Some((device, queue)) =
        own_device(|l| wgpu::Limits::downlevel_defaults().using_resolution(l))
    else {
        return;
    };
    let ctx = Context::from_wgpu(device, queue);
    let x = two_groups();
    for mode in [MeanShift::new(1.0), MeanShift::new(1.0).blurring(2)] {
        assert_eq!(mode.fit(&ctx, &x).unwrap().n_clusters(), 2);
    }
    // Within 1e-5 relative, as in the parity tests: a GPU may contract the
    // squared distance into fused multiply-adds, moving it by an ulp.
    let estimate = BandwidthEstimate::new(0.5);
    let (gpu, cpu) = (
        estimate.estimate(&ctx, &x).unwrap(),
        estimate.estimate(&Context::cpu(), &x).unwrap(),
    );
    assert!((gpu - cpu).abs() <= 1e-5 * cpu, "GPU {gpu} vs CPU {cpu}");

    let Some((device, queue)) = own_device(|l| wgpu::Limits {
        max_storage_buffers_per_shader_stage: 3,
        ..wgpu::Limits::downlevel_defaults().using_resolution(l)
    }) else {
        return;
    };
    // Neither adopting the device nor fitting on it may panic; the error
    // names the limit.
    let ctx = Context::from_wgpu(device, queue);
    assert_err!(
        MeanShift::new(1.0).fit(&ctx, &x),
        Error::Gpu(_),
        "GPU error",
        "storage buffers per shader stage",
        "max_storage_buffers_per_shader_stage"
    );
}

/// An estimated bandwidth too small for the folded f32 kernel constants
/// (`h^2` subnormal) is refused on every backend with advice to rescale,
/// rather than producing NaN weights (40 points spaced 3e-21).
#[test]
fn estimated_bandwidth_too_small() {
    let flat: Vec<f32> = (0..40).map(|i| i as f32 * 3e-21).collect();
    let x = pts(&flat, 1);
    for ctx in common::contexts() {
        for kernel in Kernel::ALL {
            assert_err!(
                MeanShift::default().kernel(kernel).fit(&ctx, &x),
                Error::InvalidParameter {
                    name: "bandwidth",
                    ..
                },
                "estimated",
                "rescale the data"
            );
        }
        assert_err!(
            BandwidthEstimate::default().estimate(&ctx, &x),
            Error::InvalidParameter {
                name: "bandwidth",
                ..
            },
            "too small"
        );
    }
}

/// An explicit blurring iteration count beyond the cap is refused before
/// any work (a huge count would otherwise try to record that many steps).
#[test]
fn blurring_iterations_capped() {
    for ctx in common::contexts() {
        assert_err!(
            MeanShift::new(1.0)
                .blurring(usize::MAX)
                .fit(&ctx, &two_groups()),
            Error::InvalidParameter {
                name: "iterations",
                ..
            },
            "at most 100000"
        );
    }
}

/// A blobs size whose values cannot be held is refused, not a panic.
#[test]
fn blobs_too_large() {
    for per_cluster in [usize::MAX / 2, usize::MAX / 64] {
        let blobs = Blobs {
            per_cluster,
            ..Blobs::default()
        };
        assert_err!(
            blobs.generate(),
            Error::InvalidParameter {
                name: "per_cluster",
                ..
            },
            "must fit in memory"
        );
    }
}
