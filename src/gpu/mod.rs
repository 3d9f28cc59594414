//! GPU plumbing over wgpu: adapter and device ([`device`]), stage
//! definitions and the pipeline cache ([`pipelines`]), buffers and
//! readback ([`buffers`]), the matrices kept on the device between calls
//! ([`resident`]), one submission's worth of commands ([`batch`]) and the
//! staging buffers and parameter blocks it reuses ([`pool`]), how work is
//! cut to the device's limits ([`plan`]), the launch shapes timed per
//! device ([`tune`]), and the kernel time the device measures
//! ([`timing`]).
//!
//! The plumbing knows no op and no algorithm: each op (`src/ops/<op>/`)
//! declares its stages and drives them through these pieces.

pub(crate) mod batch;
pub(crate) mod buffers;
mod device;
pub(crate) mod options;
pub(crate) mod pipelines;
pub(crate) mod plan;
pub(crate) mod pool;
pub(crate) mod resident;
pub(crate) mod timing;
pub(crate) mod tune;

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// An open GPU device with its queue, limits and pipeline cache.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    /// Largest storage binding a stage creates: the device's limits and the
    /// caller's [`GpuOptions::max_binding_bytes`](crate::GpuOptions).
    max_binding: u64,
    /// Largest number of query x data x coordinate terms one dispatch
    /// evaluates (see [`plan::spans`]).
    pub(crate) max_dispatch_work: u64,
    /// Loop iterations an invocation may run, on drivers that cut shaders
    /// off after a fixed count (llvmpipe); `None` elsewhere.
    loop_budget: Option<u64>,
    pipelines: pipelines::Cache,
    /// Staging buffers and parameter blocks for reuse.
    pub(crate) pool: pool::Pool,
    /// Why the device was lost, once it has been.
    lost: Arc<Mutex<Option<String>>>,
    /// A small buffer bound where a stage's optional input is absent.
    placeholder: wgpu::Buffer,
    /// The last read-only matrices uploaded, kept for later calls.
    pub(crate) resident: resident::Cache,
    /// Bytes written to device buffers from the host, all stages together.
    pub(crate) uploaded_bytes: AtomicU64,
    /// Kernel time measured with timestamp queries; `None` where the
    /// device has none (see [`timing`]).
    pub(crate) timer: Option<timing::Timer>,
    /// Whether shapes are timed or built in.
    tuning: tune::Tuning,
    /// The launch shapes chosen so far, every op's.
    pub(crate) shapes: tune::Chosen,
    /// Where timed shapes are kept between processes; `None` where
    /// nothing is kept (see [`TuneCache`](crate::TuneCache)).
    tune_cache: Option<tune::DiskCache>,
    /// Whether audited stages are built without runtime checks
    /// ([`GpuOptions::trusted_shaders`](crate::GpuOptions)).
    trusted_shaders: bool,
}

impl Gpu {
    /// The adapter's description, when this crate opened the device.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// `Err(DeviceLost)` once the device is gone.
    ///
    /// wgpu reports a lost device only through its device-lost callback
    /// (errors of that kind never reach an error scope), and the callback
    /// runs late: after `Device::destroy`, only once a poll finds the queue
    /// empty. An application's own device keeps the application's
    /// callback. So besides what this crate's callback recorded, a probe
    /// asks the device itself: a 4-byte buffer mapped at creation, whose
    /// mapping fails only where the device is no longer valid.
    fn check_lost(&self) -> Result<()> {
        if let Some(why) = self.lost_reason() {
            return Err(Error::DeviceLost(why));
        }
        if !self.device_is_invalid() {
            return Ok(());
        }
        // Give this crate's callback, where it is installed, the chance to
        // say why; otherwise say what the probe saw.
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::Poll);
        let why = self
            .lost_reason()
            .unwrap_or_else(|| "the device is no longer valid (destroyed or lost)".to_string());
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert_with(|| why.clone());
        }
        Err(Error::DeviceLost(why))
    }

    fn lost_reason(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// True when the device can no longer create a buffer: one made on a
    /// lost or destroyed device is invalid, and mapping it fails. On the
    /// web, where a lost device still hands out mappable buffers, this is
    /// false and only the device-lost callback tells.
    fn device_is_invalid(&self) -> bool {
        let probe = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("device check"),
            size: 4,
            usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: true,
        });
        let invalid = probe.slice(..).get_mapped_range_mut().is_err();
        if !invalid {
            // Unmapping an invalid buffer would be a validation error.
            probe.unmap();
        }
        invalid
    }

    /// A failure seen while waiting on the device: device loss when the
    /// device says so, otherwise a GPU error with `what` happened.
    pub(crate) fn failure(&self, what: impl fmt::Display) -> Error {
        match self.check_lost() {
            Err(lost) => lost,
            Ok(()) => Error::Gpu(what.to_string()),
        }
    }
}

/// True for Mesa's llvmpipe (lavapipe under Vulkan), whose shader loops
/// stop silently after 65 535 iterations in total.
pub(crate) fn is_llvmpipe(info: &wgpu::AdapterInfo) -> bool {
    let (name, driver) = (info.name.to_lowercase(), info.driver.to_lowercase());
    ["llvmpipe", "lavapipe"]
        .iter()
        .any(|s| name.contains(s) || driver.contains(s))
}

/// True for software adapters: lavapipe/llvmpipe, SwiftShader, WARP
/// ("Microsoft Basic Render Driver"), or anything reporting a CPU device.
pub(crate) fn is_software(info: &wgpu::AdapterInfo) -> bool {
    if info.device_type == wgpu::DeviceType::Cpu {
        return true;
    }
    let name = info.name.to_lowercase();
    let driver = info.driver.to_lowercase();
    [
        "llvmpipe",
        "lavapipe",
        "swiftshader",
        "microsoft basic render driver",
    ]
    .iter()
    .any(|s| name.contains(s) || driver.contains(s))
}

/// One-line description of an adapter: its name (or, where the name is
/// empty as SwiftShader's is in a browser, its vendor id and driver), its
/// backend, its device type, and "software" where that applies.
pub(crate) fn describe(info: &wgpu::AdapterInfo, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if info.name.is_empty() {
        write!(f, "unnamed adapter (vendor {:#06x}", info.vendor)?;
        if !info.driver.is_empty() {
            write!(f, ", driver {}", info.driver)?;
        }
        f.write_str(")")?;
    } else {
        f.write_str(&info.name)?;
    }
    write!(f, ", {}, {:?}", info.backend, info.device_type)?;
    if is_software(info) {
        f.write_str(", software")?;
    }
    Ok(())
}

/// A device of its own for unit tests that set its options or change its
/// limits, or `None` without an adapter (the test then passes without its
/// GPU half, saying so). With `REQUIRE_GPU=1`, as CI sets it, a missing
/// adapter fails the test.
#[cfg(test)]
pub(crate) fn test_device(options: &options::GpuOptions) -> Option<Gpu> {
    pollster::block_on(Gpu::request(options, true))
        .map_err(no_adapter)
        .ok()
}

/// What a unit test does without an adapter: fails under `REQUIRE_GPU=1`,
/// otherwise says it skips its GPU half.
#[cfg(test)]
pub(crate) fn no_adapter(e: Error) {
    assert!(
        !std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1"),
        "REQUIRE_GPU is set but there is no adapter: {e}"
    );
    eprintln!("skipping: no GPU adapter");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, device_type: wgpu::DeviceType) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: name.into(),
            vendor: 0x10de,
            device: 0,
            device_type,
            device_pci_bus_id: String::new(),
            driver: String::new(),
            driver_info: String::new(),
            backend: wgpu::Backend::Vulkan,
            subgroup_min_size: 32,
            subgroup_max_size: 32,
            transient_saves_memory: None,
            limit_bucket: None,
        }
    }

    struct Shown(wgpu::AdapterInfo);
    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            describe(&self.0, f)
        }
    }

    #[test]
    fn software_adapters_are_recognised() {
        use wgpu::DeviceType::*;
        assert!(is_software(&info(
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            Other
        )));
        assert!(is_software(&info("", Cpu)));
        assert!(is_software(&info(
            "Microsoft Basic Render Driver",
            IntegratedGpu
        )));
        assert!(!is_software(&info("NVIDIA H100 80GB HBM3", DiscreteGpu)));
    }

    #[test]
    fn descriptions_name_the_adapter() {
        let h100 = Shown(info("NVIDIA H100", wgpu::DeviceType::DiscreteGpu)).to_string();
        assert!(
            h100.starts_with("NVIDIA H100, ") && !h100.contains("software"),
            "{h100}"
        );
        let swiftshader = Shown(info("", wgpu::DeviceType::Cpu)).to_string();
        assert!(
            swiftshader.contains("vendor 0x10de") && swiftshader.ends_with("software"),
            "{swiftshader}"
        );
    }
}
