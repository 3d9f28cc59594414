//! GPU stages against their CPU twin, through the public API.
mod common;

use gpu_cluster::{Context, Kernel, MeanShift, Points};

#[test]
fn smoke() {
    let Some(gpu) = common::gpu() else { return };
    eprintln!("{gpu}");
    let x = Points::new(&common::uniform(200, 2, 10.0, 1), 2).unwrap();
    for k in Kernel::ALL {
        let t = std::time::Instant::now();
        let a = MeanShift::new(3.0)
            .kernel(k)
            .blurring(2)
            .fit(&gpu, &x)
            .unwrap();
        let b = MeanShift::new(3.0)
            .kernel(k)
            .blurring(2)
            .fit(&Context::cpu(), &x)
            .unwrap();
        let (pa, pb) = (a.final_positions().unwrap(), b.final_positions().unwrap());
        let worst = pa
            .as_slice()
            .iter()
            .zip(pb.as_slice())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("{k}: worst {worst:e} {:?}", t.elapsed());
        let s = MeanShift::new(3.0).kernel(k).fit(&gpu, &x).unwrap();
        let c = MeanShift::new(3.0)
            .kernel(k)
            .fit(&Context::cpu(), &x)
            .unwrap();
        eprintln!(
            "  std: {} vs {} clusters, n_iter {} vs {}, labels equal {}",
            s.n_clusters(),
            c.n_clusters(),
            s.n_iter(),
            c.n_iter(),
            s.labels() == c.labels()
        );
    }
    let h = gpu_cluster::BandwidthEstimate::new(0.3)
        .estimate(&gpu, &x)
        .unwrap();
    let hc = gpu_cluster::BandwidthEstimate::new(0.3)
        .estimate(&Context::cpu(), &x)
        .unwrap();
    eprintln!("bandwidth {h} vs {hc}");
}
