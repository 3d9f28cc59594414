//! Stage definitions, their bind-group layouts, and the cache that
//! compiles each specialisation once per device.
//!
//! The plumbing knows no stage by name: each op declares its stages as
//! [`StageDef`] constants beside its WGSL (`src/ops/<op>/`). A stage's
//! source is a block of generated constants followed by its files,
//! concatenated. The dimension is a constant because private arrays need a
//! constant size; the tile size, the kernel and the optional inputs are
//! constants too, so loops get fixed bounds and branches fold away (and
//! because naga 30 panics on some uses of `override` booleans in branches).
//! The workgroup size is a WGSL `override` set at pipeline creation.
//! Pipelines are keyed by everything that specialises them.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::Gpu;
use crate::error::{Error, Result};

/// `shaders/common.wgsl`: the parameter block and the 2-D grid's group index.
pub(crate) const COMMON: &str = include_str!("../../shaders/common.wgsl");
/// `shaders/tile.wgsl`: copying a tile of data rows into workgroup memory.
pub(crate) const TILE: &str = include_str!("../../shaders/tile.wgsl");

/// Bytes of every stage's uniform parameter block (binding 0); `Batch::dispatch`
/// checks at compile time that a parameter type fits.
pub(crate) const PARAMS_BYTES: u64 = 48;

/// How a stage uses a binding after the uniform parameters at binding 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    ReadWrite,
}

/// A WGSL stage as its op declares it: one module (the op's WGSL with the
/// shared files it needs) and one bind-group layout for all its entry
/// points.
#[derive(Debug)]
pub(crate) struct StageDef {
    /// Unique among stages: it keys the pipeline cache and names errors.
    pub name: &'static str,
    /// WGSL sources, concatenated after the generated constants.
    pub sources: &'static [&'static str],
    /// Storage bindings 1, 2, ... in order.
    pub storage: &'static [Access],
    /// Values per query row, beyond its coordinates, in the widest per-row
    /// buffer the stage makes in the chunking shared by every stage (see
    /// `ops::rows_per_chunk`).
    pub row_extra: usize,
    /// Audited: its WGSL header lists the host's guarantees that keep
    /// every index in range and every loop finite, so that with
    /// [`GpuOptions::trusted_shaders`](crate::GpuOptions) it is built
    /// without wgpu's bounds checks and loop bounding (which cost time in
    /// the hottest loops and change no result of a correct shader).
    pub audited: bool,
}

impl StageDef {
    /// The full WGSL source for rows of `dim` coordinates with `consts`.
    pub(crate) fn source(&self, dim: u32, consts: &[(&str, Const)]) -> String {
        let mut src = format!("const DIM: u32 = {dim}u;\n");
        for (name, value) in consts {
            match value {
                Const::U32(v) => src.push_str(&format!("const {name}: u32 = {v}u;\n")),
                Const::Bool(v) => src.push_str(&format!("const {name}: bool = {v};\n")),
            }
        }
        for file in self.sources {
            src.push_str(file);
            src.push('\n');
        }
        src
    }
}

/// A stage as a cache key: stages are told apart by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stage(pub &'static StageDef);

impl PartialEq for Stage {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Stage {}

impl Hash for Stage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

/// A value written into a stage's source as a WGSL `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Const {
    U32(u32),
    Bool(bool),
}

/// One pipeline to build: a stage's entry point for a dimension, with the
/// constants written into its source and its `override` sizes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Spec {
    pub stage: Stage,
    pub entry: &'static str,
    pub dim: u32,
    pub consts: Vec<(&'static str, Const)>,
    pub overrides: Vec<(&'static str, u32)>,
    /// Query rows one workgroup covers, which sizes the dispatch grid.
    pub rows_per_group: u32,
}

/// What one compiled module depends on.
type ModuleKey = (Stage, u32, Vec<(&'static str, Const)>);

/// A compiled pipeline and the layout its bind groups follow.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// As [`Spec::rows_per_group`].
    pub rows_per_group: u32,
}

/// Pipelines built once per device, keyed by [`Spec`].
#[derive(Default)]
pub(crate) struct Cache {
    modules: Mutex<HashMap<ModuleKey, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Spec, Arc<Pipeline>>>,
}

/// What `stage` needs of a device that `limits` does not give, as a
/// sentence naming the limit; `None` when the stage fits. Checked before
/// anything of the stage is created: wgpu reports a layout beyond the
/// device's limits as a validation error, which panics outside a scope.
pub(crate) fn unmet_limit(limits: &wgpu::Limits, stage: &StageDef) -> Option<String> {
    let storage = stage.storage.len() as u32;
    let needs = [
        (
            "max_compute_invocations_per_workgroup",
            limits.max_compute_invocations_per_workgroup,
            1,
            "compute invocations per workgroup",
        ),
        (
            "max_compute_workgroup_size_x",
            limits.max_compute_workgroup_size_x,
            1,
            "compute workgroup width",
        ),
        (
            "max_compute_workgroups_per_dimension",
            limits.max_compute_workgroups_per_dimension,
            1,
            "compute workgroups per dimension",
        ),
        ("max_bind_groups", limits.max_bind_groups, 1, "bind groups"),
        (
            "max_bindings_per_bind_group",
            limits.max_bindings_per_bind_group,
            storage + 1,
            "bindings per bind group",
        ),
        (
            "max_storage_buffers_per_shader_stage",
            limits.max_storage_buffers_per_shader_stage,
            storage,
            "storage buffers per shader stage",
        ),
        (
            "max_uniform_buffers_per_shader_stage",
            limits.max_uniform_buffers_per_shader_stage,
            1,
            "uniform buffers per shader stage",
        ),
        (
            "max_dynamic_uniform_buffers_per_pipeline_layout",
            limits.max_dynamic_uniform_buffers_per_pipeline_layout,
            1,
            "dynamic uniform buffers per pipeline layout",
        ),
        (
            "max_uniform_buffer_binding_size",
            u32::try_from(limits.max_uniform_buffer_binding_size).unwrap_or(u32::MAX),
            PARAMS_BYTES as u32,
            "bytes of uniform binding",
        ),
    ];
    needs
        .into_iter()
        .find(|&(_, have, need, _)| have < need)
        .map(|(limit, have, need, what)| {
            format!(
                "this device allows {have} {what} ({limit}); the {} stage needs {need}",
                stage.name
            )
        })
}

fn layout(
    device: &wgpu::Device,
    stage: &StageDef,
) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    let params = wgpu::BindGroupLayoutEntry {
        binding: 0,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: wgpu::BufferSize::new(PARAMS_BYTES),
        },
        count: None,
    };
    let entries: Vec<_> =
        std::iter::once(params)
            .chain(stage.storage.iter().zip(1..).map(|(access, binding)| {
                wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: *access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                }
            }))
            .collect();
    let bind = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(stage.name),
        entries: &entries,
    });
    let pipeline = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(stage.name),
        bind_group_layouts: &[Some(&bind)],
        immediate_size: 0,
    });
    (bind, pipeline)
}

impl Gpu {
    /// The pipeline for `spec`, compiled on first use. A shader that fails
    /// to compile is reported, not cached.
    pub(crate) async fn pipeline(&self, spec: Spec) -> Result<Arc<Pipeline>> {
        let cache = self.pipelines();
        if let Some(p) = lock(&cache.pipelines)?.get(&spec) {
            return Ok(Arc::clone(p));
        }
        if let Some(why) = unmet_limit(&self.limits, spec.stage.0) {
            return Err(Error::Gpu(why));
        }
        let module_key: ModuleKey = (spec.stage, spec.dim, spec.consts.clone());
        let built = self.scoped(|| -> Result<Pipeline> {
            let (bind, pipeline_layout) = layout(&self.device, spec.stage.0);
            let module = lock(&cache.modules)?
                .entry(module_key.clone())
                .or_insert_with(|| {
                    let desc = wgpu::ShaderModuleDescriptor {
                        label: Some(spec.stage.0.name),
                        source: wgpu::ShaderSource::Wgsl(
                            spec.stage.0.source(spec.dim, &spec.consts).into(),
                        ),
                    };
                    if self.trusted_shaders && spec.stage.0.audited {
                        // SAFETY: an audited stage's indices stay in range and
                        // its loops end, given the host's guarantees that its
                        // header lists (see `StageDef::audited`).
                        unsafe {
                            self.device.create_shader_module_trusted(
                                desc,
                                wgpu::ShaderRuntimeChecks::unchecked(),
                            )
                        }
                    } else {
                        self.device.create_shader_module(desc)
                    }
                })
                .clone();
            let constants: Vec<(&str, f64)> = spec
                .overrides
                .iter()
                .map(|&(k, v)| (k, f64::from(v)))
                .collect();
            let pipeline = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(spec.entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(spec.entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        // Every stage writes workgroup memory before reading it.
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
            Ok(Pipeline {
                pipeline,
                layout: bind,
                rows_per_group: spec.rows_per_group,
            })
        });
        let built = match built.await {
            Ok(p) => Arc::new(p?),
            Err(e) => {
                // A module that failed to compile must not be reused.
                lock(&cache.modules)?.remove(&module_key);
                return Err(e);
            }
        };
        Ok(Arc::clone(
            lock(&cache.pipelines)?.entry(spec).or_insert(built),
        ))
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Gpu("the pipeline cache was poisoned by a panic".into()))
}

/// Compiles and validates `stage` with naga for rows of `dim`
/// coordinates, with its `override` sizes resolved the way wgpu resolves
/// them at pipeline creation, without an adapter; panics with the
/// compiler's message. Each op's tests call it for its stages.
#[cfg(test)]
pub(crate) fn validate(
    stage: &StageDef,
    dim: u32,
    entry: &str,
    consts: &[(&'static str, Const)],
    overrides: &[(&str, u32)],
) {
    let src = stage.source(dim, consts);
    let what = format!(
        "{} {entry} (DIM {dim}, {consts:?}, {overrides:?})",
        stage.name
    );
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(&src)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(&src)));
    let mut values = naga::back::PipelineConstants::default();
    for &(k, v) in overrides {
        values.insert(k.to_string(), f64::from(v));
    }
    naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, entry)),
        &values,
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: StageDef = StageDef {
        name: "four_buffers",
        sources: &[COMMON],
        storage: &[Access::Read, Access::Read, Access::Read, Access::ReadWrite],
        row_extra: 0,
        audited: false,
    };

    #[test]
    fn limits_are_checked_before_layouts_are_made() {
        assert_eq!(unmet_limit(&wgpu::Limits::default(), &FOUR), None);
        let few = wgpu::Limits {
            max_storage_buffers_per_shader_stage: 2,
            ..wgpu::Limits::default()
        };
        let why = unmet_limit(&few, &FOUR).unwrap();
        assert!(
            why.contains("max_storage_buffers_per_shader_stage") && why.contains("four_buffers"),
            "{why}"
        );
        let no_compute = wgpu::Limits::downlevel_webgl2_defaults();
        assert!(unmet_limit(&no_compute, &FOUR).is_some());
    }

    #[test]
    fn stages_are_told_apart_by_name() {
        const OTHER: StageDef = StageDef {
            name: "other",
            sources: &[COMMON],
            storage: &[Access::Read],
            row_extra: 0,
            audited: false,
        };
        assert_eq!(Stage(&FOUR), Stage(&FOUR));
        assert_ne!(Stage(&FOUR), Stage(&OTHER));
    }
}
