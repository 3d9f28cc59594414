//! The reference data set: its values are pinned, and the default seed is
//! checked to give what the docs promise (six separated blobs that five
//! gaussian blurring iterations with bandwidth 2.5 find exactly).

mod common;

use gpu_cluster::{Blobs, BlobsData, Context, Error, MeanShift};

/// The default data's first points, centroids and last point, exactly.
/// ChaCha8 and `rand_distr`'s normals are portable, so these hold on every
/// platform; if a dependency bump changes the stream, this fails instead of
/// the reference data silently changing.
#[test]
fn default_data_is_pinned() {
    let data = Blobs::default().generate().unwrap();
    assert_eq!(Blobs::default().seed, Blobs::DEFAULT_SEED);
    assert_eq!((data.points.len(), data.points.dim()), (1500, 2));
    let first: [f32; 8] = [
        3.0128613,
        -9.064742,
        7.8697667,
        -4.0736227,
        3.3337815,
        -6.552062,
        -0.75653744,
        -8.213194,
    ];
    let centroids: [f32; 12] = [
        3.4564743, -6.826004, 33.921806, -29.373142, -20.226871, 6.7592125, -7.921089, -19.647285,
        23.271877, -15.141657, 28.952473, 14.742718,
    ];
    let last: [f32; 2] = [30.820547, 11.657908];
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&data.points.as_slice()[..8]), bits(&first));
    assert_eq!(bits(data.centroids.as_slice()), bits(&centroids));
    assert_eq!(bits(data.points.row(1499)), bits(&last));
    // Blob after blob, 250 each.
    let expected: Vec<usize> = (0..6).flat_map(|c| [c; 250]).collect();
    assert_eq!(data.labels, expected);
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = Blobs::default().generate().unwrap();
    assert_eq!(a, Blobs::default().generate().unwrap());
    for seed in [0, 2, 12345] {
        let b = Blobs {
            seed,
            ..Blobs::default()
        }
        .generate()
        .unwrap();
        assert_ne!(a.centroids, b.centroids, "seed {seed}");
        assert_ne!(a.points, b.points, "seed {seed}");
    }
}

#[test]
fn default_centroids_are_at_least_12_apart() {
    let data = Blobs::default().generate().unwrap();
    let c = &data.centroids;
    for i in 0..c.len() {
        for j in i + 1..c.len() {
            let d = distance(c.row(i), c.row(j));
            assert!(d >= 12.0, "centroids {i} and {j} are {d} apart");
        }
    }
}

#[test]
fn default_seed_gives_six_clusters_on_the_cpu() {
    check_reference_fit(&Context::cpu());
}

#[test]
fn default_seed_gives_six_clusters_on_the_gpu() {
    if let Some(ctx) = common::gpu() {
        check_reference_fit(&ctx);
    }
}

/// The reference workload (5 gaussian blurring iterations, bandwidth 2.5)
/// on the default data finds the six blobs: one centre within 1.0 of each
/// true centroid, and every point labelled with its own blob.
///
/// Why 1.0: blurring pulls a blob towards its sample mean, which lies within
/// about 3 sqrt(5 / 250) = 0.42 of the true centroid (std sqrt 5, 250
/// points), and blobs at least 12 apart weigh on each other by at most
/// exp(-0.5 (12 / 2.5)^2) = 1e-5. Measured on the CPU the farthest centre is
/// 0.26 off; 1.0 leaves room for a GPU's rounding, while a merged or split
/// blob would put a centre several units away.
fn check_reference_fit(ctx: &Context) {
    let data = Blobs::default().generate().unwrap();
    let fit = MeanShift::new(2.5)
        .blurring(5)
        .fit(ctx, &data.points)
        .unwrap();
    assert_eq!(fit.n_clusters(), 6, "on {ctx}: counts {:?}", fit.counts());
    let mut blob_of_cluster = vec![None; 6];
    for (blob, truth) in data.centroids.rows().enumerate() {
        let (k, d) = nearest(fit.centers(), truth);
        assert!(
            d <= 1.0,
            "on {ctx}: blob {blob}'s nearest centre is {d} away"
        );
        assert_eq!(
            blob_of_cluster[k], None,
            "on {ctx}: cluster {k} is nearest two blobs"
        );
        blob_of_cluster[k] = Some(blob);
    }
    assert_same_partition(&data, fit.labels(), &blob_of_cluster);
}

/// Every point's cluster is the one matched to its blob.
fn assert_same_partition(data: &BlobsData, labels: &[i32], blob_of_cluster: &[Option<usize>]) {
    for (i, (&label, &blob)) in labels.iter().zip(&data.labels).enumerate() {
        let k = usize::try_from(label).expect("cluster_all labels every point");
        assert_eq!(blob_of_cluster[k], Some(blob), "point {i}");
    }
}

#[test]
fn invalid_parameters_are_errors() {
    let bad = [
        Blobs {
            clusters: 0,
            ..Blobs::default()
        },
        Blobs {
            per_cluster: 0,
            ..Blobs::default()
        },
        Blobs {
            spread: 0.0,
            ..Blobs::default()
        },
        Blobs {
            spread: f32::NAN,
            ..Blobs::default()
        },
        Blobs {
            spread: f32::INFINITY,
            ..Blobs::default()
        },
        Blobs {
            std: -1.0,
            ..Blobs::default()
        },
        Blobs {
            std: f32::NAN,
            ..Blobs::default()
        },
    ];
    for b in bad {
        let err = b.generate().unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { .. }),
            "{b:?}: {err}"
        );
    }
    let zero_dim = Blobs {
        dim: 0,
        ..Blobs::default()
    }
    .generate()
    .unwrap_err();
    assert_eq!(zero_dim, Error::ZeroDimension);
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Index of the row of `centres` nearest `p`, and its distance.
fn nearest(centres: &gpu_cluster::Points, p: &[f32]) -> (usize, f32) {
    centres
        .rows()
        .map(|c| distance(c, p))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}
