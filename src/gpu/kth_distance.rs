//! Host side of `shaders/kth_distance.wgsl`.
use super::Gpu;
use crate::error::{Error, Result};

pub(crate) async fn kth_distance(
    _g: &Gpu,
    _data: &[f32],
    _queries: &[f32],
    _dim: usize,
    _k: usize,
) -> Result<Vec<f32>> {
    Err(Error::Gpu("kth_distance stage not built yet".into()))
}
