//! [`Context`]: where the work runs, a GPU through wgpu or the CPU twin.
//!
//! A context is made once and reused: it owns the wgpu device and queue and
//! the cache of compiled pipelines, so later fits pay no start-up cost.
//! Nothing is global; two contexts are independent.

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::options::GpuOptions;
use crate::gpu::resident::DeviceStats;
use crate::gpu::tune::TunedShape;

/// Which backend a [`Context`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// A wgpu adapter (Vulkan, Metal, DX12, GL or the browser's WebGPU).
    Gpu,
    /// The multi-threaded pure-Rust CPU twin.
    Cpu,
}

/// Where the work runs: a GPU (wgpu) or the CPU twin.
///
/// A GPU context keeps the last datasets it was given on the device while
/// it lives (at most 4 matrices, data or sample weights, and 1 GiB), so
/// later fits, bandwidth estimates and iterations on the same data upload
/// nothing for it; each is recognised by comparing its bytes with a copy
/// kept in host memory, which costs as much host memory again. Drop the
/// context to free both.
///
/// A context says where it runs through [`Display`](#impl-Display-for-Context):
/// the adapter, its backend and device type (and "software" for an emulated
/// one), or the CPU and its threads. Print it: [`Context::auto`] notes a
/// fallback to the CPU only through the `log` crate, which a program
/// without a logger never shows.
///
/// ```no_run
/// use gpu_cluster::Context;
/// let ctx = Context::auto()?;          // a real GPU if there is one, else the CPU
/// println!("running on {ctx}");        // e.g. "running on CPU (8 threads)"
/// let cpu = Context::cpu();            // always available
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Inner,
}

#[derive(Clone)]
pub(crate) enum Inner {
    Gpu(Arc<Gpu>),
    Cpu,
}

impl Context {
    /// A real GPU if there is one, otherwise the CPU twin. Software adapters
    /// (lavapipe, SwiftShader) are passed over: they are slower than the CPU
    /// twin. Use [`Context::gpu`] to take any adapter.
    ///
    /// A fallback is noted in one line through the [`log`](https://docs.rs/log)
    /// crate, at warning level, which nothing shows unless the program
    /// installs a logger. The context itself says where it runs: print it
    /// (see [`Display`](#impl-Display-for-Context)), or check
    /// [`backend`](Context::backend).
    ///
    /// ```no_run
    /// use gpu_cluster::{BackendKind, Context};
    /// let ctx = Context::auto()?;
    /// println!("{ctx}"); // "CPU (8 threads)", or e.g. "NVIDIA GeForce RTX 4090, vulkan, DiscreteGpu"
    /// if ctx.backend() == BackendKind::Cpu {
    ///     eprintln!("no hardware GPU: running on the CPU");
    /// }
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    #[cfg(not(target_arch = "wasm32"))]
    pub fn auto() -> Result<Self> {
        pollster::block_on(Self::auto_async())
    }

    /// The async form of [`Context::auto`], for the browser.
    pub async fn auto_async() -> Result<Self> {
        // One line, read by library users and the command line's alike, so
        // it names no Rust function.
        match Gpu::request_hardware(&GpuOptions::default()).await {
            Ok(Ok(gpu)) => return Ok(Self::from_gpu(gpu)),
            Ok(Err(software)) => log::warn!(
                "{software}: using the CPU twin, which is faster; ask for the GPU explicitly to use it anyway"
            ),
            Err(e) => log::warn!("{e}: using the CPU twin"),
        }
        Ok(Self::cpu())
    }

    /// Any GPU adapter, software ones included; an error when there is none.
    ///
    /// Looks on Vulkan, Metal, DX12 and the browser's WebGPU, and on OpenGL
    /// only where those have no adapter. Honours `WGPU_BACKEND` (e.g.
    /// `vulkan`, or `gl`; only the backends it names are tried),
    /// `WGPU_ADAPTER_NAME` (part of the adapter's name) and `WGPU_POWER_PREF`
    /// (`high` or `low`), as [`Context::auto`] does.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu() -> Result<Self> {
        Self::gpu_with(&GpuOptions::default())
    }

    /// [`Context::gpu`] with options.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu_with(options: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::gpu_async(options))
    }

    /// The async form of [`Context::gpu_with`], for the browser.
    pub async fn gpu_async(options: &GpuOptions) -> Result<Self> {
        Ok(Self::from_gpu(Gpu::request(options, true).await?))
    }

    /// The CPU twin, parallel over all cores (with the `parallel` feature).
    pub fn cpu() -> Self {
        Self { inner: Inner::Cpu }
    }

    /// Adopts an application's own wgpu device and queue, so clustering
    /// shares the GPU with its rendering instead of opening a second device.
    /// The device's limits are used as they are. The application's error
    /// handler and device-lost callback stay in place; once the device is
    /// destroyed or lost, fits return [`Error::DeviceLost`](crate::Error::DeviceLost)
    /// (natively; in the browser a lost device is seen as a failed
    /// readback, [`Error::Gpu`](crate::Error::Gpu)).
    pub fn from_wgpu(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        Self::from_gpu(Gpu::from_device(device, queue, &GpuOptions::default()))
    }

    fn from_gpu(gpu: Gpu) -> Self {
        Self {
            inner: Inner::Gpu(Arc::new(gpu)),
        }
    }

    /// GPU or CPU.
    pub fn backend(&self) -> BackendKind {
        match self.inner {
            Inner::Gpu(_) => BackendKind::Gpu,
            Inner::Cpu => BackendKind::Cpu,
        }
    }

    /// The adapter's own description when the context is a GPU (also for
    /// a device adopted with [`Context::from_wgpu`]); `None` for the CPU.
    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        match &self.inner {
            Inner::Gpu(gpu) => Some(gpu.adapter_info()),
            Inner::Cpu => None,
        }
    }

    /// The wgpu device of a GPU context (also one adopted with
    /// [`Context::from_wgpu`]); `None` for the CPU.
    ///
    /// For reading what [`adapter_info`](Context::adapter_info) cannot
    /// carry: in the browser wgpu fills in only the adapter's description,
    /// which is empty for some adapters (SwiftShader's), and leaves out
    /// the vendor and architecture that WebGPU's `GPUDevice.adapterInfo`
    /// holds (reached through `wgpu::Device::as_webgpu`). The device is
    /// shared with this context: work submitted to it queues with the
    /// context's own.
    pub fn wgpu_device(&self) -> Option<&wgpu::Device> {
        match &self.inner {
            Inner::Gpu(gpu) => Some(&gpu.device),
            Inner::Cpu => None,
        }
    }

    /// True for software adapters (lavapipe, SwiftShader, WARP): correct,
    /// but their timings say nothing about GPUs.
    pub fn is_software(&self) -> bool {
        self.adapter_info().is_some_and(crate::gpu::is_software)
    }

    /// The launch shapes the GPU stages have chosen so far (see
    /// [`Tuning`](crate::Tuning)), one per dimension, kernel and size class; empty for the
    /// CPU. Benchmarks print them beside their timings.
    pub fn tuned_shapes(&self) -> Vec<TunedShape> {
        match &self.inner {
            Inner::Gpu(gpu) => gpu.tuned_shapes(),
            Inner::Cpu => Vec::new(),
        }
    }

    /// What this GPU context has moved to the device and found there so
    /// far (see [`DeviceStats`]); `None` for the CPU.
    ///
    /// ```no_run
    /// use gpu_cluster::{Blobs, Context, Dataset, MeanShift};
    /// let ctx = Context::gpu()?;
    /// let data = Dataset::new(&ctx, &Blobs::default().generate()?.points)?;
    /// let before = ctx.device_stats().unwrap();
    /// MeanShift::new(2.5).blurring(5).fit(&ctx, &data)?;
    /// let after = ctx.device_stats().unwrap();
    /// assert!(after.pinned_hits > before.pinned_hits); // the data was not uploaded again
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn device_stats(&self) -> Option<DeviceStats> {
        match &self.inner {
            Inner::Gpu(gpu) => Some(gpu.device_stats()),
            Inner::Cpu => None,
        }
    }

    /// Kernel time the device has measured for this context so far: the
    /// time its compute passes ran, from timestamps the device writes at
    /// the start and end of each, without the uploads, encoding,
    /// submission, waiting and readback that wall-clock timings include.
    /// `None` for the CPU, and for a GPU whose adapter has no timestamp
    /// queries (`wgpu::Features::TIMESTAMP_QUERY`; never asked for on the
    /// web, whose browsers coarsen them; a device adopted with
    /// [`Context::from_wgpu`] is timed if it was opened with the feature).
    ///
    /// The total only grows, over every call on this context (launch
    /// shape timing included); take the difference around the work to
    /// time, as benchmarks do. Timing only observes: results are the same
    /// with or without it.
    ///
    /// ```no_run
    /// use gpu_cluster::{Blobs, Context, Dataset, MeanShift};
    /// let ctx = Context::gpu()?;
    /// let data = Dataset::new(&ctx, &Blobs::default().generate()?.points)?;
    /// let before = ctx.gpu_time();
    /// MeanShift::new(2.5).fit(&ctx, &data)?;
    /// if let (Some(before), Some(after)) = (before, ctx.gpu_time()) {
    ///     println!("kernels ran {:?}", after - before);
    /// }
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn gpu_time(&self) -> Option<std::time::Duration> {
        match &self.inner {
            Inner::Gpu(gpu) => gpu
                .timer
                .as_ref()
                .map(|t| std::time::Duration::from_nanos(t.total_ns())),
            Inner::Cpu => None,
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl fmt::Display for Context {
    /// A one-line description: the adapter (name, or vendor and architecture
    /// where the name is empty, as SwiftShader's is), its backend, and
    /// "software" where that applies; or the CPU and its thread count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Gpu(gpu) => crate::gpu::describe(gpu.adapter_info(), f),
            Inner::Cpu => match crate::cpu::threads() {
                1 => f.write_str("CPU (1 thread)"),
                n => write!(f, "CPU ({n} threads)"),
            },
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({self})")
    }
}

/// A GPU context for unit tests on whatever adapter is present, or `None`
/// (the test then passes without its GPU half, saying so). With
/// `REQUIRE_GPU=1`, as CI sets it, a missing adapter fails the test.
#[cfg(test)]
pub(crate) fn test_gpu() -> Option<Context> {
    Context::gpu().map_err(crate::gpu::no_adapter).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_time_is_measured_where_the_device_can() {
        assert_eq!(Context::cpu().gpu_time(), None);
        let Some(ctx) = test_gpu() else { return };
        let before = ctx.gpu_time();
        let timed = ctx
            .wgpu_device()
            .is_some_and(|d| d.features().contains(wgpu::Features::TIMESTAMP_QUERY));
        assert_eq!(before.is_some(), timed, "{ctx}");
        let points = crate::Blobs::default().generate().unwrap().points;
        crate::MeanShift::new(2.5)
            .blurring(5)
            .fit(&ctx, &points)
            .unwrap();
        match (before, ctx.gpu_time()) {
            (Some(before), Some(after)) => assert!(after > before, "{before:?} -> {after:?}"),
            (None, None) => eprintln!("{ctx}: no timestamp queries"),
            other => panic!("timing came or went: {other:?}"),
        }
    }

    /// A device opened without timestamp queries (as on an adapter that
    /// has none) measures nothing, and fits the same as one that does.
    #[test]
    fn untimed_devices_say_none_and_fit_the_same() {
        let Some(timed) = test_gpu() else { return };
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter =
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
                .expect("an adapter, as test_gpu found one");
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .expect("a device within the adapter's limits");
        assert!(!device.features().contains(wgpu::Features::TIMESTAMP_QUERY));
        let untimed = Context::from_wgpu(device, queue);
        assert_eq!(untimed.gpu_time(), None);
        let points = crate::Blobs::default().generate().unwrap().points;
        let fit = |ctx: &Context| {
            let fit = crate::MeanShift::new(2.5)
                .blurring(5)
                .fit(ctx, &points)
                .unwrap();
            (fit.labels().to_vec(), fit.n_clusters(), fit.n_iter())
        };
        assert_eq!(fit(&untimed), fit(&timed));
        assert_eq!(untimed.gpu_time(), None);
    }

    #[test]
    fn only_a_gpu_context_has_a_wgpu_device() {
        assert!(Context::cpu().wgpu_device().is_none());
        if let Some(gpu) = test_gpu() {
            assert!(gpu.wgpu_device().is_some());
        }
    }
}
