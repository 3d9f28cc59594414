//! [`Dataset`]: points made ready once (centred in `f64`, uploaded to the
//! GPU and kept there) for many fits, and [`Input`], what every fit takes:
//! plain [`Points`] or a [`Dataset`].

use std::borrow::Cow;
use std::sync::Arc;

use crate::context::Context;
use crate::error::Result;
use crate::ops::{self, Pinned};
use crate::points::{Points, centre, mean_f64};

/// Points kept on a context's device, for repeated fits, bandwidth
/// estimates and queries on the same data.
///
/// Plain [`Points`] work everywhere too: a GPU context then recognises data
/// it has seen by comparing bytes with a host copy, in a small cache that
/// other data can push them out of. A `Dataset` is the explicit form: it
/// centres the points once (the mean subtracted in `f64`, as every fit
/// does), uploads them once, and keeps them on the device until it is
/// dropped, found without any comparison. Cloning it shares the same
/// device copy.
///
/// ```no_run
/// use gpu_cluster::{BandwidthEstimate, Blobs, Context, Dataset, MeanShift};
/// let ctx = Context::auto()?;
/// let data = Dataset::new(&ctx, &Blobs::default().generate()?.points)?;
/// let h = BandwidthEstimate::default().estimate(&ctx, &data)?;
/// for scale in [0.5, 1.0, 2.0] {
///     let fit = MeanShift::new(scale * h).fit(&ctx, &data)?; // no upload
///     println!("h = {}: {} clusters", scale * h, fit.n_clusters());
/// }
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Clone)]
pub struct Dataset {
    held: Arc<Held>,
}

struct Held {
    /// First, so the device copy is let go before the values it names.
    _pinned: Option<Pinned>,
    points: Points,
    mean: Vec<f64>,
    centred: Vec<f32>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("points", &self.held.points.len())
            .field("dim", &self.held.points.dim())
            .field("on_device", &self.held._pinned.is_some())
            .finish()
    }
}

impl Dataset {
    /// Centres `x` and, on a GPU context, uploads it and keeps it there.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(ctx: &Context, x: &Points) -> Result<Self> {
        pollster::block_on(Self::new_async(ctx, x))
    }

    /// The async form of [`Dataset::new`].
    pub async fn new_async(ctx: &Context, x: &Points) -> Result<Self> {
        let mean = mean_f64(x);
        let centred = centre(x, &mean);
        let pinned = ops::pin(ctx, &centred, x.dim()).await?;
        Ok(Self {
            held: Arc::new(Held {
                _pinned: pinned,
                points: x.clone(),
                mean,
                centred,
            }),
        })
    }

    /// The points as given.
    pub fn points(&self) -> &Points {
        &self.held.points
    }
}

/// What a fit takes: [`Points`] or a [`Dataset`] (`&points` and `&dataset`
/// both convert).
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// Points, prepared by each call.
    Points(&'a Points),
    /// Points prepared once.
    Dataset(&'a Dataset),
}

impl<'a> From<&'a Points> for Input<'a> {
    fn from(x: &'a Points) -> Self {
        Input::Points(x)
    }
}

impl<'a> From<&'a Dataset> for Input<'a> {
    fn from(x: &'a Dataset) -> Self {
        Input::Dataset(x)
    }
}

impl<'a> Input<'a> {
    /// The points as given.
    pub fn points(&self) -> &'a Points {
        match self {
            Input::Points(p) => p,
            Input::Dataset(d) => &d.held.points,
        }
    }

    /// The per-coordinate mean (`f64`) and the points minus it, rounded
    /// once to `f32`: computed now, or the dataset's own (whose address
    /// the device copy is found by).
    pub(crate) fn centred(&self) -> (Cow<'a, [f64]>, Cow<'a, [f32]>) {
        match self {
            Input::Points(p) => {
                let mean = mean_f64(p);
                let centred = centre(p, &mean);
                (Cow::Owned(mean), Cow::Owned(centred))
            }
            Input::Dataset(d) => (
                Cow::Borrowed(&d.held.mean[..]),
                Cow::Borrowed(&d.held.centred[..]),
            ),
        }
    }
}
