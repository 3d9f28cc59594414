//! The `gpu-cluster` web page's bindings: the library compiled to
//! WebAssembly (`wasm32-unknown-unknown`), where its GPU stages run on the
//! browser's WebGPU and its CPU twin on the page's one thread.
//!
//! `web/serve.sh` builds this crate, binds it with `wasm-bindgen --target
//! web` into `web/pkg/` and serves `web/`; the page's script (`web/app.js`)
//! draws [`Blobs`](BlobSet), opens an [`Engine`] and fits on it.
//!
//! Every fit is an `async` function, a promise in JavaScript: a browser
//! cannot block on a GPU readback, so the library's `*_async` entry points
//! yield to the page while the GPU works. The work itself is done by plain
//! Rust functions under the bindings, which native builds test on the CPU
//! twin (`cargo test -p gpu-cluster-web`).

use std::fmt::Display;

use gpu_cluster::{
    Blobs, BlobsData, Context, Dbscan, GpuOptions, KMeans, Kernel, MeanShift, Points,
};
use wasm_bindgen::prelude::*;

/// The largest integer a JavaScript number holds exactly
/// (`Number.MAX_SAFE_INTEGER`): seeds above it would arrive rounded.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Generated blobs, for JavaScript `Blobs`: the library's generator, so a
/// page gets the same bits as `gpu-cluster blobs` (or `Blobs::generate`)
/// natively for the same parameters.
#[wasm_bindgen(js_name = Blobs)]
#[derive(Debug)]
pub struct BlobSet {
    data: BlobsData,
}

#[wasm_bindgen(js_class = Blobs)]
impl BlobSet {
    /// `clusters` blobs of `per_cluster` points in `dim` dimensions from
    /// `seed` (a whole number from 0 to 2^53 - 1, since JavaScript numbers
    /// hold no more); the other parameters are the reference workload's.
    #[wasm_bindgen(constructor)]
    pub fn new(
        clusters: usize,
        per_cluster: usize,
        dim: usize,
        seed: f64,
    ) -> Result<BlobSet, JsError> {
        generate(clusters, per_cluster, dim, seed).map_err(js_error)
    }

    /// The generator's default seed, one checked to give six well-separated
    /// clusters in the reference workload (`Blobs::DEFAULT_SEED`).
    #[wasm_bindgen(js_name = defaultSeed)]
    pub fn default_seed() -> f64 {
        Blobs::DEFAULT_SEED as f64
    }

    /// The points, row after row (`nPoints` rows of `dim` values).
    #[wasm_bindgen(getter)]
    pub fn points(&self) -> Vec<f32> {
        self.data.points.as_slice().to_vec()
    }

    /// The number of points.
    #[wasm_bindgen(getter, js_name = nPoints)]
    pub fn n_points(&self) -> usize {
        self.data.points.len()
    }

    /// The dimension of the points.
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.data.points.dim()
    }

    /// The true centroids, row after row: what the page marks with an X.
    #[wasm_bindgen(getter)]
    pub fn centroids(&self) -> Vec<f32> {
        self.data.centroids.as_slice().to_vec()
    }
}

/// Where fits run: the browser's WebGPU adapter or the CPU twin (the
/// library's `Context`). Open one and keep it: it owns the device and the
/// compiled pipelines.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Engine {
    ctx: Context,
}

#[wasm_bindgen]
impl Engine {
    /// Any WebGPU adapter the browser offers, software ones (SwiftShader)
    /// included (`Context::gpu_async`); rejects when there is none.
    pub async fn gpu() -> Result<Engine, JsError> {
        let ctx = Context::gpu_async(&GpuOptions::default())
            .await
            .map_err(js_error)?;
        Ok(Engine { ctx })
    }

    /// A hardware WebGPU adapter, else the CPU twin, which is faster than
    /// a software adapter (`Context::auto_async`).
    pub async fn auto() -> Result<Engine, JsError> {
        let ctx = Context::auto_async().await.map_err(js_error)?;
        Ok(Engine { ctx })
    }

    /// The CPU twin (`Context::cpu`), one thread in the browser.
    pub fn cpu() -> Engine {
        Engine {
            ctx: Context::cpu(),
        }
    }

    /// `"webgpu"` in the browser (natively the wgpu backend's name, such as
    /// `"vulkan"`), or `"cpu"` for the CPU twin.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        match self.ctx.adapter_info() {
            Some(info) => info.backend.to_str().to_owned(),
            None => "cpu".to_owned(),
        }
    }

    /// The adapter for people: its name or, where the browser gives none
    /// (SwiftShader), its vendor and architecture; "(software)" after an
    /// emulated one, whose timings say nothing about GPUs. For the CPU twin,
    /// the library's own description ("CPU (1 thread)").
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        match self.ctx.adapter_info() {
            Some(info) => {
                let (vendor, architecture) = browser_names(&self.ctx).unwrap_or_default();
                describe_adapter(&info.name, &vendor, &architecture, self.ctx.is_software())
            }
            None => self.ctx.to_string(),
        }
    }

    /// Mean shift on `data` with bandwidth `bandwidth` and kernel `kernel`
    /// (a name from [`kernels`]): blurring for exactly `iterations`
    /// iterations, keeping every iteration's positions when `trajectory`
    /// is set (for an animation; it reads the positions back after each
    /// iteration, so leave it off to time a fit), or standard mode with at
    /// most `iterations` steps per seed.
    #[wasm_bindgen(js_name = meanShift)]
    pub async fn mean_shift(
        &self,
        data: &BlobSet,
        bandwidth: f32,
        kernel: String,
        blurring: bool,
        iterations: usize,
        trajectory: bool,
    ) -> Result<Clustering, JsError> {
        let params = mean_shift_params(bandwidth, &kernel, blurring, iterations, trajectory)
            .map_err(js_error)?;
        fit_mean_shift(&self.ctx, &data.data.points, &params)
            .await
            .map_err(js_error)
    }

    /// k-means (scikit-learn's `KMeans`, k-means++ starts) with `k`
    /// clusters, at most `max_iter` Lloyd iterations, initial centres drawn
    /// from `seed` (a whole number, as for [`Blobs`](BlobSet)).
    pub async fn kmeans(
        &self,
        data: &BlobSet,
        k: usize,
        max_iter: usize,
        seed: f64,
    ) -> Result<Clustering, JsError> {
        let seed = whole_seed(seed).map_err(js_error)?;
        let params = KMeans::new(k).max_iter(max_iter).seed(seed);
        fit_kmeans(&self.ctx, &data.data.points, &params)
            .await
            .map_err(js_error)
    }

    /// DBSCAN (scikit-learn's) with radius `eps` and `min_samples` points
    /// (itself included) to make a point core.
    pub async fn dbscan(
        &self,
        data: &BlobSet,
        eps: f32,
        min_samples: usize,
    ) -> Result<Clustering, JsError> {
        fit_dbscan(&self.ctx, &data.data.points, &Dbscan::new(eps, min_samples))
            .await
            .map_err(js_error)
    }
}

/// What a fit found, in the shapes the page draws.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Clustering {
    labels: Vec<i32>,
    centers: Vec<f32>,
    frames: Vec<f32>,
    n_clusters: usize,
    n_iter: Option<usize>,
}

#[wasm_bindgen]
impl Clustering {
    /// Each point's cluster; `-1` is DBSCAN's noise.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<i32> {
        self.labels.clone()
    }

    /// The cluster centres, row after row, label `k` being row `k`; empty
    /// for DBSCAN, which has none.
    #[wasm_bindgen(getter)]
    pub fn centers(&self) -> Vec<f32> {
        self.centers.clone()
    }

    /// Blurring mean shift with its trajectory: the positions after each
    /// iteration, one block of every point's coordinates after another;
    /// empty otherwise.
    #[wasm_bindgen(getter)]
    pub fn frames(&self) -> Vec<f32> {
        self.frames.clone()
    }

    /// The number of clusters (DBSCAN's noise is not one).
    #[wasm_bindgen(getter, js_name = nClusters)]
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }

    /// Iterations run (mean shift: blurring iterations, or the most any
    /// seed made; k-means: Lloyd iterations); `undefined` for DBSCAN.
    #[wasm_bindgen(getter, js_name = nIter)]
    pub fn n_iter(&self) -> Option<usize> {
        self.n_iter
    }
}

/// The names of the library's kernels, for the page's selector.
#[wasm_bindgen]
pub fn kernels() -> Vec<String> {
    Kernel::ALL.iter().map(|k| k.name().to_owned()).collect()
}

/// A library error (or a parameter the bindings refused) as a JavaScript
/// `Error`, so the page shows the library's own message.
fn js_error(e: impl Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A seed given as a JavaScript number: a whole number the number holds
/// exactly, refused otherwise rather than silently rounded.
fn whole_seed(seed: f64) -> Result<u64, String> {
    if (0.0..=MAX_SAFE_INTEGER).contains(&seed) && seed.fract() == 0.0 {
        Ok(seed as u64)
    } else {
        Err(format!(
            "seed {seed}: must be a whole number from 0 to {MAX_SAFE_INTEGER}"
        ))
    }
}

fn generate(clusters: usize, per_cluster: usize, dim: usize, seed: f64) -> Result<BlobSet, String> {
    let data = Blobs {
        clusters,
        per_cluster,
        dim,
        seed: whole_seed(seed)?,
        ..Blobs::default()
    }
    .generate()
    .map_err(|e| e.to_string())?;
    Ok(BlobSet { data })
}

fn mean_shift_params(
    bandwidth: f32,
    kernel: &str,
    blurring: bool,
    iterations: usize,
    trajectory: bool,
) -> Result<MeanShift, String> {
    let kernel: Kernel = kernel.parse()?;
    let params = MeanShift::new(bandwidth).kernel(kernel);
    Ok(if blurring {
        params.blurring(iterations).record_trajectory(trajectory)
    } else {
        params.max_iter(iterations)
    })
}

async fn fit_mean_shift(
    ctx: &Context,
    x: &Points,
    params: &MeanShift,
) -> gpu_cluster::Result<Clustering> {
    let fit = params.fit_async(ctx, x).await?;
    Ok(Clustering {
        labels: fit.labels().to_vec(),
        centers: fit.centers().as_slice().to_vec(),
        frames: fit
            .trajectory()
            .iter()
            .flat_map(|p| p.as_slice().iter().copied())
            .collect(),
        n_clusters: fit.n_clusters(),
        n_iter: Some(fit.n_iter()),
    })
}

async fn fit_kmeans(ctx: &Context, x: &Points, params: &KMeans) -> gpu_cluster::Result<Clustering> {
    let fit = params.fit_async(ctx, x).await?;
    Ok(Clustering {
        labels: fit.labels().to_vec(),
        centers: fit.cluster_centers().as_slice().to_vec(),
        frames: Vec::new(),
        n_clusters: fit.n_clusters(),
        n_iter: Some(fit.n_iter()),
    })
}

async fn fit_dbscan(ctx: &Context, x: &Points, params: &Dbscan) -> gpu_cluster::Result<Clustering> {
    let fit = params.fit_async(ctx, x).await?;
    Ok(Clustering {
        labels: fit.labels().to_vec(),
        centers: Vec::new(),
        frames: Vec::new(),
        n_clusters: fit.n_clusters(),
        n_iter: None,
    })
}

/// The adapter's name, else its vendor and architecture, else "unnamed
/// adapter"; marked "(software)" when it is one. SwiftShader, the browser's
/// software adapter, is recognised by its architecture too, in case the
/// browser does not call it a fallback adapter.
fn describe_adapter(name: &str, vendor: &str, architecture: &str, software: bool) -> String {
    let mut text = if name.is_empty() {
        let words: Vec<&str> = [vendor, architecture]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            "unnamed adapter".to_owned()
        } else {
            words.join(" ")
        }
    } else {
        name.to_owned()
    };
    if software || architecture.eq_ignore_ascii_case("swiftshader") {
        text.push_str(" (software)");
    }
    text
}

/// `GPUDevice.adapterInfo`'s vendor and architecture, which wgpu's
/// `AdapterInfo` leaves out in the browser; `None` where the device is not
/// the browser's WebGPU or the browser has no `adapterInfo` (read through
/// `Reflect`, so an older browser gets `None` rather than an exception).
#[cfg(target_arch = "wasm32")]
fn browser_names(ctx: &Context) -> Option<(String, String)> {
    let device = ctx.wgpu_device()?.as_webgpu()?;
    let info = js_sys::Reflect::get(device, &"adapterInfo".into()).ok()?;
    let field = |name: &str| {
        js_sys::Reflect::get(&info, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    Some((field("vendor"), field("architecture")))
}

/// Native builds have no browser to ask.
#[cfg(not(target_arch = "wasm32"))]
fn browser_names(_ctx: &Context) -> Option<(String, String)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> BlobSet {
        generate(6, 250, 2, BlobSet::default_seed()).unwrap()
    }

    #[test]
    fn blobs_are_the_library_generators() {
        let blobs = reference();
        let native = Blobs::default().generate().unwrap();
        assert_eq!(blobs.points(), native.points.as_slice());
        assert_eq!(blobs.centroids(), native.centroids.as_slice());
        assert_eq!((blobs.n_points(), blobs.dim()), (1500, 2));
    }

    #[test]
    fn seeds_must_be_whole_javascript_numbers() {
        assert_eq!(whole_seed(1.0), Ok(1));
        assert_eq!(whole_seed(MAX_SAFE_INTEGER), Ok((1 << 53) - 1));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 2.0] {
            assert!(whole_seed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_reference_workload_finds_six_clusters_with_its_trajectory() {
        let blobs = reference();
        let params = mean_shift_params(2.5, "gaussian", true, 5, true).unwrap();
        let fit = pollster::block_on(fit_mean_shift(&Context::cpu(), &blobs.data.points, &params))
            .unwrap();
        let plain = MeanShift::new(2.5)
            .blurring(5)
            .fit(&Context::cpu(), &blobs.data.points)
            .unwrap();
        assert_eq!(fit.n_clusters(), 6);
        assert_eq!(fit.labels(), plain.labels());
        assert_eq!(fit.centers(), plain.centers().as_slice());
        assert_eq!(fit.frames().len(), 5 * 1500 * 2);
        assert_eq!(fit.n_iter(), Some(5));
    }

    #[test]
    fn standard_mode_takes_the_iterations_as_a_cap() {
        let params = mean_shift_params(2.5, "flat", false, 7, true).unwrap();
        assert_eq!(params, MeanShift::new(2.5).kernel(Kernel::Flat).max_iter(7));
    }

    #[test]
    fn unknown_kernels_are_refused_with_the_librarys_message() {
        let err = mean_shift_params(2.5, "cosine", true, 5, false).unwrap_err();
        assert!(err.contains("cosine"), "{err}");
    }

    #[test]
    fn kmeans_and_dbscan_cluster_the_blobs() {
        let x = &reference().data.points;
        let ctx = Context::cpu();
        let km = pollster::block_on(fit_kmeans(&ctx, x, &KMeans::new(6).seed(1))).unwrap();
        assert_eq!((km.n_clusters(), km.centers().len()), (6, 12));
        let db = pollster::block_on(fit_dbscan(&ctx, x, &Dbscan::new(1.2, 10))).unwrap();
        assert_eq!(db.labels().len(), 1500);
        assert!(db.n_clusters() >= 6 && db.centers().is_empty() && db.n_iter().is_none());
    }

    #[test]
    fn kernels_are_the_librarys() {
        assert_eq!(
            kernels(),
            ["flat", "triangular", "epanechnikov", "gaussian"]
        );
    }

    #[test]
    fn adapters_without_a_name_go_by_vendor_and_architecture() {
        assert_eq!(
            describe_adapter("", "google", "swiftshader", false),
            "google swiftshader (software)"
        );
        assert_eq!(
            describe_adapter("NVIDIA H200", "nvidia", "hopper", false),
            "NVIDIA H200"
        );
        assert_eq!(
            describe_adapter("", "", "", true),
            "unnamed adapter (software)"
        );
    }

    #[test]
    fn the_cpu_engine_says_so() {
        let engine = Engine::cpu();
        assert_eq!(engine.backend(), "cpu");
        assert_eq!(engine.adapter(), Context::cpu().to_string());
    }
}
