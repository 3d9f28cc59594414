//! Opening an adapter and device, and turning wgpu's asynchronous error
//! reports (error scopes, device loss) into this crate's [`Error`].

use std::future::Future;
use std::sync::{Arc, Mutex};

use super::{Gpu, pipelines, plan, tune};
use crate::error::{Error, Result};
use crate::gpu::options::GpuOptions;

/// Query x data x coordinate terms per dispatch: about 10 ms of arithmetic
/// on a small integrated GPU and well under a millisecond on a large one,
/// far from any OS watchdog.
const MAX_DISPATCH_WORK: u64 = 1 << 32;

/// Loop iterations one invocation may run on llvmpipe (lavapipe), which
/// silently ends any invocation after 65 535 iterations of all its loops
/// together (Mesa's `LP_MAX_TGSI_LOOP_ITERATIONS`), with some margin.
const LLVMPIPE_LOOP_BUDGET: u64 = 60_000;

/// Element indices inside a binding are `u32` in the shaders; a binding of
/// at most 2^32 bytes keeps every `f32` index below 2^30.
const MAX_INDEXABLE_BINDING: u64 = 1 << 32;

/// The backends tried first when `WGPU_BACKEND` does not name others:
/// wgpu's first tier (Vulkan, Metal, DX12, the browser's WebGPU).
const FIRST_CHOICE: wgpu::Backends = wgpu::Backends::PRIMARY;

/// Tried only where the first choice has no adapter at all: OpenGL is
/// wgpu's second tier, and starting it (EGL, WGL) costs tens of
/// milliseconds on every open.
const LAST_RESORT: wgpu::Backends = wgpu::Backends::GL;

/// What [`Gpu::request_hardware`] reports when every adapter it found is
/// emulated: the first of them, as the adapter choice ranked it.
pub(crate) struct SoftwareOnly(wgpu::AdapterInfo);

impl SoftwareOnly {
    /// "the software llvmpipe (LLVM 15.0.6, 256 bits) on vulkan".
    fn adapter(&self) -> impl std::fmt::Display + '_ {
        struct Adapter<'a>(&'a wgpu::AdapterInfo);
        impl std::fmt::Display for Adapter<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let info = self.0;
                f.write_str("the software ")?;
                if info.name.is_empty() {
                    write!(f, "adapter of vendor {:#06x}", info.vendor)?;
                } else {
                    f.write_str(&info.name)?;
                }
                write!(f, " on {}", info.backend)
            }
        }
        Adapter(&self.0)
    }
}

impl std::fmt::Display for SoftwareOnly {
    /// "no hardware GPU adapter, only the software llvmpipe (LLVM 15.0.6,
    /// 256 bits) on vulkan": one line, for people, naming nothing in Rust.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no hardware GPU adapter, only {}", self.adapter())
    }
}

impl Gpu {
    /// Opens an adapter and a device with the adapter's own limits.
    ///
    /// Tries wgpu's first-tier backends (Vulkan, Metal, DX12, the browser's
    /// WebGPU), and OpenGL only where they have no adapter at all; honours
    /// `WGPU_BACKEND` (e.g. `vulkan`: only the backends it names),
    /// `WGPU_ADAPTER_NAME` (a substring of the adapter's name) and
    /// `WGPU_POWER_PREF`, else prefers `options.power_preference`. With
    /// `allow_software` false a software adapter is refused (an
    /// `Error::NoAdapter` naming it).
    pub async fn request(options: &GpuOptions, allow_software: bool) -> Result<Self> {
        match Self::open(options, allow_software).await? {
            Ok(gpu) => Ok(gpu),
            Err(software) => Err(Error::NoAdapter(format!(": only {}", software.adapter()))),
        }
    }

    /// [`Gpu::request`] refusing software adapters, for
    /// [`Context::auto`](crate::Context::auto), which then falls back to
    /// the CPU twin (faster than emulated GPUs): `Ok(Err(_))` when software
    /// adapters were all there was, an error when there was none at all.
    pub(crate) async fn request_hardware(
        options: &GpuOptions,
    ) -> Result<std::result::Result<Self, SoftwareOnly>> {
        Self::open(options, false).await
    }

    async fn open(
        options: &GpuOptions,
        allow_software: bool,
    ) -> Result<std::result::Result<Self, SoftwareOnly>> {
        let adapter = match pick_adapter(options, allow_software).await? {
            Ok(adapter) => adapter,
            Err(software) => return Ok(Err(software)),
        };
        let info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpu-cluster"),
                // The defaults cap a storage binding at 128 MiB; ask for what
                // the adapter really has.
                required_limits: adapter.limits(),
                // Timestamps of each compute pass, where the adapter has
                // them, for the kernel time (see `timing`); not on the web,
                // where browsers coarsen them.
                required_features: if cfg!(target_arch = "wasm32") {
                    wgpu::Features::empty()
                } else {
                    adapter.features() & wgpu::Features::TIMESTAMP_QUERY
                },
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::NoAdapter(format!(
                    ": {} refused to open a device: {e}",
                    Described(&info)
                ))
            })?;
        let lost = Arc::new(Mutex::new(None));
        let on_lost = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = on_lost.lock() {
                *l = Some(format!("{message} ({reason:?})"));
            }
        });
        // Errors outside a scope would otherwise panic; every stage scopes its
        // work, so anything landing here is logged rather than fatal.
        device.on_uncaptured_error(Arc::new(|e| log::error!("uncaptured GPU error: {e}")));
        Ok(Ok(Self::with_parts(device, queue, options, lost)))
    }

    /// Wraps a device the application opened, with its limits as they are.
    /// The application's own error handler and device-lost callback are
    /// left in place (wgpu keeps one callback, so installing ours would
    /// silence the application's); stages still catch their own errors
    /// with scopes, and notice a lost or destroyed device by probing it
    /// (see `Gpu::check_lost`), which reports `Error::DeviceLost` without
    /// wgpu's reason.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, options: &GpuOptions) -> Self {
        Self::with_parts(device, queue, options, Arc::new(Mutex::new(None)))
    }

    fn with_parts(
        device: wgpu::Device,
        queue: wgpu::Queue,
        options: &GpuOptions,
        lost: Arc<Mutex<Option<String>>>,
    ) -> Self {
        let limits = device.limits();
        let info = device.adapter_info();
        let loop_budget = super::is_llvmpipe(&info).then_some(LLVMPIPE_LOOP_BUDGET);
        let tune_cache = tune::DiskCache::open(&options.tune_cache, &info);
        let timer = super::timing::Timer::new(&device, &queue);
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(options.max_binding_bytes.unwrap_or(u64::MAX))
            .min(MAX_INDEXABLE_BINDING);
        let placeholder = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("placeholder"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Self {
            pipelines: pipelines::Cache::default(),
            pool: Default::default(),
            device,
            queue,
            info,
            limits,
            max_binding,
            max_dispatch_work: MAX_DISPATCH_WORK,
            loop_budget,
            lost,
            placeholder,
            resident: Default::default(),
            uploaded_bytes: Default::default(),
            timer,
            tuning: options.tuning,
            shapes: Default::default(),
            tune_cache,
            trusted_shaders: options.trusted_shaders,
        }
    }

    /// Threads per workgroup on this device.
    pub(crate) fn workgroup_size(&self) -> u32 {
        plan::WORKGROUP
            .min(self.limits.max_compute_invocations_per_workgroup)
            .min(self.limits.max_compute_workgroup_size_x)
    }

    /// Rows per buffer for rows of `dim` coordinates when the widest
    /// per-row buffer made in this chunking holds `dim + row_extra`
    /// values. The ops pass the same `row_extra` for every stage
    /// (`ops::rows_per_chunk`), so each finds the others' resident data
    /// (see [`resident`](super::resident)).
    pub(crate) fn rows_per_chunk(&self, dim: usize, row_extra: usize) -> usize {
        plan::rows_per_chunk(self.max_binding, dim + row_extra)
    }

    /// Largest storage binding a stage may create, in bytes.
    pub(crate) fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// Data rows per workgroup tile for rows of `dim` coordinates plus
    /// `extra` values; an error when one row does not fit the adapter's
    /// workgroup memory.
    pub(crate) fn tile_rows(&self, dim: usize, extra: usize) -> Result<u32> {
        let storage = self.limits.max_compute_workgroup_storage_size;
        plan::tile_rows(dim, extra, storage, self.workgroup_size()).ok_or_else(|| {
            Error::Gpu(format!(
                "dimension {dim} does not fit this adapter's {storage} bytes of workgroup memory; use the CPU backend"
            ))
        })
    }

    /// How long a dispatch of a streaming stage may be, for a stage whose
    /// invocations run `per_row` loop iterations per data row plus `fixed`.
    pub(crate) fn span_limits(&self, per_row: u64, fixed: u64) -> plan::SpanLimits {
        let max_rows = self.loop_budget.map_or(usize::MAX, |budget| {
            usize::try_from(budget.saturating_sub(fixed) / per_row.max(1))
                .unwrap_or(usize::MAX)
                .max(1)
        });
        plan::SpanLimits {
            max_work: self.max_dispatch_work,
            max_rows,
        }
    }

    /// False where even a dispatch over one data row would pass the loop
    /// budget of a driver that cuts loops off (llvmpipe), so a stage's
    /// results would be cut short: the caller reports an error instead.
    pub(crate) fn within_loop_budget(&self, per_row: u64, fixed: u64) -> bool {
        self.loop_budget
            .is_none_or(|budget| fixed.saturating_add(per_row) <= budget)
    }

    pub(crate) fn max_workgroups_per_dim(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    pub(crate) fn uniform_alignment(&self) -> u32 {
        self.limits.min_uniform_buffer_offset_alignment
    }

    pub(crate) fn pipelines(&self) -> &pipelines::Cache {
        &self.pipelines
    }

    pub(crate) fn placeholder(&self) -> &wgpu::Buffer {
        &self.placeholder
    }

    /// Runs `f` (device work that does not await) inside out-of-memory,
    /// validation and internal error scopes, and returns a future that
    /// yields `f`'s result or the first error the scopes caught.
    ///
    /// The scopes are pushed and popped before the future is returned:
    /// error-scope guards are per thread and must not live across an
    /// `.await`. On a device known to be lost `f` does not run: the future
    /// yields `Error::DeviceLost`, as it does when a scope catches an error
    /// and the device turns out lost. Only then is the device itself asked
    /// (`check_lost`'s probe buffer): a call that succeeds creates nothing
    /// beyond its own work. A device lost without the callback knowing
    /// (one destroyed by its application) lets `f` record into nothing;
    /// the wait that follows fails, and `Gpu::failure` asks the device.
    pub(crate) fn scoped<'g, T: 'g>(
        &'g self,
        f: impl FnOnce() -> T,
    ) -> impl Future<Output = Result<T>> + 'g {
        let known = match self.lost_reason() {
            Some(why) => Err(Error::DeviceLost(why)),
            None => Ok(()),
        };
        let ran = known.map(|()| {
            let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
            let out = f();
            let internal = internal.pop();
            let validation = validation.pop();
            let oom = oom.pop();
            (out, oom, validation, internal)
        });
        async move {
            let (out, oom, validation, internal) = ran?;
            let (oom, validation, internal) = (oom.await, validation.await, internal.await);
            let failed =
                scope_result(oom, validation, internal).map_err(|e| match self.check_lost() {
                    Err(lost) => lost,
                    Ok(()) => e,
                });
            if failed.is_err() {
                // `f` may have kept buffers that failed to be made.
                self.resident.clear();
                self.pool.clear();
            }
            failed.map(|()| out)
        }
    }
}

/// What the error scopes caught, as this crate's error: out of memory
/// first (splitting could not avoid it), then validation or internal errors.
fn scope_result(
    oom: Option<wgpu::Error>,
    validation: Option<wgpu::Error>,
    internal: Option<wgpu::Error>,
) -> Result<()> {
    match (oom, validation.or(internal)) {
        (Some(e), _) => Err(Error::OutOfMemory(describe_error(&e))),
        (None, Some(e)) => Err(Error::Gpu(describe_error(&e))),
        (None, None) => Ok(()),
    }
}

/// The error's message with its source chain, which is where wgpu puts the
/// detail (which buffer, which limit).
fn describe_error(e: &wgpu::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The adapter to open: the first, best for the power preference, of those
/// `WGPU_ADAPTER_NAME` names (all where it is unset) that is not software
/// unless `allow_software`; `Ok(Err(_))` when the only ones are software.
///
/// Backends are tried in turn, each through its own instance, so that one
/// not needed is never started: those `WGPU_BACKEND` names, else the first
/// tier and then, only when that has no adapter (named, if a name is
/// given), OpenGL. All adapters of a backend are listed once, and ranked
/// here as wgpu's `request_adapter` ranks them: listing them again would
/// repeat whatever the drivers print on the way (where `XDG_RUNTIME_DIR`
/// is unset, Mesa's Vulkan device-select layer prints two lines to
/// standard error for every listing).
/// (wgpu's `initialize_adapter_from_env_or_default` panics on a name that
/// matches nothing and ignores our preference.)
async fn pick_adapter(
    options: &GpuOptions,
    allow_software: bool,
) -> Result<std::result::Result<wgpu::Adapter, SoftwareOnly>> {
    let built = wgpu::Instance::enabled_backend_features();
    let stages = match backends_from_env() {
        Some((text, asked)) => {
            if !built.intersects(asked) {
                return Err(Error::NoAdapter(format!(
                    ": WGPU_BACKEND={text:?} names none of this build's backends ({})",
                    BackendList(built)
                )));
            }
            vec![asked]
        }
        None => vec![FIRST_CHOICE, LAST_RESORT],
    };
    let wanted = adapter_name_from_env();
    let power_preference = wgpu::PowerPreference::from_env().unwrap_or(options.power_preference);
    let mut tried = wgpu::Backends::empty();
    let mut seen = Vec::new();
    for backends in stages {
        if !built.intersects(backends) {
            continue;
        }
        tried |= backends & built;
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        descriptor.backends = backends;
        let instance = wgpu::Instance::new(descriptor);
        let mut adapters = ranked_adapters(&instance, power_preference).await;
        if let Some(wanted) = &wanted {
            seen.extend(adapters.iter().map(|a| {
                let info = a.get_info();
                format!("{} on {}", info.name, info.backend)
            }));
            adapters.retain(|a| a.get_info().name.to_lowercase().contains(wanted));
        }
        let Some(first) = adapters.first().map(wgpu::Adapter::get_info) else {
            continue;
        };
        if allow_software {
            return Ok(Ok(adapters.swap_remove(0)));
        }
        return Ok(adapters
            .into_iter()
            .find(|a| !super::is_software(&a.get_info()))
            .ok_or(SoftwareOnly(first)));
    }
    Err(Error::NoAdapter(match wanted {
        Some(wanted) => format!(": WGPU_ADAPTER_NAME={wanted:?} matches none of {seen:?}"),
        None => format!(" on {}", BackendList(tried)),
    }))
}

/// Every adapter of `instance`, best first for `power_preference` the way
/// wgpu ranks them: discrete GPUs first for high performance, integrated
/// first for low power, then unknown, virtual and CPU ones; the drivers'
/// order where there is no preference.
#[cfg(not(target_arch = "wasm32"))]
async fn ranked_adapters(
    instance: &wgpu::Instance,
    power_preference: wgpu::PowerPreference,
) -> Vec<wgpu::Adapter> {
    use wgpu::DeviceType::{Cpu, DiscreteGpu, IntegratedGpu, Other, VirtualGpu};
    let mut adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
    let rank = |device_type: wgpu::DeviceType| -> u8 {
        let low_power = power_preference == wgpu::PowerPreference::LowPower;
        match device_type {
            DiscreteGpu if low_power => 2,
            IntegratedGpu if low_power => 1,
            DiscreteGpu => 1,
            IntegratedGpu => 2,
            Other => 3,
            VirtualGpu => 4,
            Cpu => 5,
        }
    };
    if power_preference != wgpu::PowerPreference::None {
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
    }
    adapters
}

/// The browser offers one adapter for a power preference and cannot list
/// them (wgpu's list there is that one adapter, for no preference).
#[cfg(target_arch = "wasm32")]
async fn ranked_adapters(
    instance: &wgpu::Instance,
    power_preference: wgpu::PowerPreference,
) -> Vec<wgpu::Adapter> {
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference,
            force_fallback_adapter: false,
            compatible_surface: None,
            apply_limit_buckets: false,
        })
        .await
        .ok()
        .into_iter()
        .collect()
}

/// `WGPU_BACKEND` as set, and the backends it names; `None` where it is
/// unset or blank (wgpu would read a blank one as no backend at all).
fn backends_from_env() -> Option<(String, wgpu::Backends)> {
    let text = std::env::var("WGPU_BACKEND").ok()?;
    if text.trim().is_empty() {
        return None;
    }
    let backends = wgpu::Backends::from_comma_list(&text);
    Some((text, backends))
}

/// Backends by their `WGPU_BACKEND` names: "vulkan or gl".
struct BackendList(wgpu::Backends);

impl std::fmt::Display for BackendList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = wgpu::Backend::ALL
            .into_iter()
            .filter(|&b| self.0.contains(b.into()))
            .map(wgpu::Backend::to_str)
            .collect();
        match names.split_last() {
            None => f.write_str("no backend"),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
        }
    }
}

fn adapter_name_from_env() -> Option<String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("WGPU_ADAPTER_NAME")
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_lowercase())
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}

/// Displays an adapter the way [`super::describe`] does.
struct Described<'a>(&'a wgpu::AdapterInfo);

impl std::fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::describe(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oom(what: &str) -> wgpu::Error {
        wgpu::Error::OutOfMemory {
            source: Box::new(std::io::Error::other(what.to_string())),
        }
    }

    /// A real out-of-memory cannot be provoked safely (data past a binding
    /// is split, and a software adapter's memory is the host's), so the
    /// mapping from what the scopes catch is checked on constructed errors.
    #[test]
    fn scope_errors_map_to_variants() {
        assert_eq!(scope_result(None, None, None), Ok(()));
        match scope_result(Some(oom("buffer of 80 GiB")), None, None) {
            Err(Error::OutOfMemory(text)) => assert!(text.contains("80 GiB"), "{text}"),
            other => panic!("expected OutOfMemory, got {other:?}"),
        }
        // Out of memory wins over a validation error it caused.
        let internal = wgpu::Error::Internal {
            source: Box::new(std::io::Error::other("x")),
            description: "internal failure".into(),
        };
        assert!(matches!(
            scope_result(Some(oom("a")), Some(oom("b")), None),
            Err(Error::OutOfMemory(_))
        ));
        match scope_result(None, None, Some(internal)) {
            Err(Error::Gpu(text)) => assert!(text.contains("internal failure"), "{text}"),
            other => panic!("expected Gpu, got {other:?}"),
        }
    }
}
