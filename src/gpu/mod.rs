//! GPU plumbing over wgpu: adapter and device, pipeline cache, buffers and
//! readback. (Being written: every entry point currently reports an error.)

pub(crate) mod kth_distance;
pub(crate) mod shift;

use std::fmt;

use crate::context::GpuOptions;
use crate::error::{Error, Result};

/// An open GPU device with its queue, limits and pipeline cache.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    info: Option<wgpu::AdapterInfo>,
}

impl Gpu {
    /// Opens an adapter; `allow_software` false passes over software ones.
    pub async fn request(_options: &GpuOptions, _allow_software: bool) -> Result<Self> {
        Err(Error::NoAdapter(String::new()))
    }

    /// Wraps a device the application opened.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: Option<wgpu::AdapterInfo>,
        _options: &GpuOptions,
    ) -> Self {
        Self {
            device,
            queue,
            info,
        }
    }

    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        self.info.as_ref()
    }
}

/// True for software adapters.
pub(crate) fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

/// One-line description of an adapter.
pub(crate) fn describe(info: &wgpu::AdapterInfo, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{} ({:?})", info.name, info.backend)
}
