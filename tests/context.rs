//! Which adapter each `Context` constructor takes.

mod common;

use gpu_cluster::{BackendKind, Context};

/// `Context::auto()` never settles for a software adapter (lavapipe,
/// SwiftShader): it takes a real GPU or the CPU twin. On a machine whose
/// only adapter is software (CI's lavapipe), that means the CPU, while
/// `Context::gpu()` takes the software adapter and says so.
#[test]
fn auto_passes_over_software_adapters() {
    let auto = Context::auto().expect("auto always gives a context");
    assert!(
        !auto.is_software(),
        "auto picked a software adapter: {auto}"
    );
    if auto.backend() == BackendKind::Cpu {
        assert!(auto.adapter_info().is_none());
        assert!(auto.to_string().starts_with("CPU ("), "{auto}");
    }
    if let Some(gpu) = common::gpu() {
        assert_eq!(gpu.backend(), BackendKind::Gpu);
        let info = gpu.adapter_info().expect("a GPU context has adapter info");
        let is_software = info.device_type == wgpu::DeviceType::Cpu
            || ["llvmpipe", "lavapipe", "swiftshader"]
                .iter()
                .any(|s| info.name.to_lowercase().contains(s));
        assert_eq!(gpu.is_software(), is_software, "{gpu}");
        assert_eq!(gpu.to_string().contains("software"), is_software, "{gpu}");
    }
}
