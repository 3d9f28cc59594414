//! Host side of `shaders/shift.wgsl`.
use super::Gpu;
use crate::error::{Error, Result};
use crate::meanshift::stages::{BlurOutput, SeekOutput, ShiftOutput, Window};

pub(crate) async fn shift(_g: &Gpu, _win: &Window<'_>, _queries: &[f32]) -> Result<ShiftOutput> {
    Err(Error::Gpu("shift stage not built yet".into()))
}
pub(crate) async fn blur(_g: &Gpu, _win: &Window<'_>, _steps: usize, _record: bool) -> Result<BlurOutput> {
    Err(Error::Gpu("blur stage not built yet".into()))
}
pub(crate) async fn seek(
    _g: &Gpu,
    _win: &Window<'_>,
    _seeds: &[f32],
    _tol_dist: f32,
    _max_iter: u32,
) -> Result<SeekOutput> {
    Err(Error::Gpu("seek stage not built yet".into()))
}
