//! Clustering on any GPU through WebGPU (`wgpu`), with a pure-Rust CPU twin
//! for every GPU stage.
//!
//! The reference workload: six Gaussian blobs, five iterations of blurring
//! mean shift with a gaussian kernel of bandwidth 2.5.
//!
//! ```no_run
//! use gpu_cluster::{Blobs, Context, MeanShift};
//!
//! let data = Blobs::default().generate()?;         // 1500 x 2, seeded
//! let ctx = Context::auto()?;                      // a GPU if there is one, else the CPU
//! let fit = MeanShift::new(2.5).blurring(5).fit(&ctx, &data.points)?;
//! println!("{} clusters on {ctx}", fit.n_clusters());
//! for (k, centre) in fit.centers().rows().enumerate() {
//!     println!("cluster {k}: {centre:?}, {} points", fit.counts()[k]);
//! }
//! // Standard mode is scikit-learn's MeanShift (flat kernel, estimated bandwidth):
//! let sk = MeanShift::default().bin_seeding(true).fit(&ctx, &data.points)?;
//! assert_eq!(sk.labels().len(), 1500);
//! # Ok::<(), gpu_cluster::Error>(())
//! ```
//!
//! A [`Context`] is opened once and reused: it owns the device, its queue and
//! the compiled pipelines. Printed, it says where the work runs:
//! [`Context::auto`] takes the CPU twin where there is no hardware GPU, and
//! notes why only through the `log` crate. Every fit validates its input and
//! parameters and returns an [`Error`] rather than panicking.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "ndarray")]
mod arrays;
pub mod blobs;
mod context;
mod cpu;
mod dataset;
pub mod dbscan;
mod error;
mod gpu;
#[cfg(feature = "io")]
pub mod io;
mod kernel;
pub mod kmeans;
pub mod knn;
pub mod meanshift;
#[cfg(feature = "serde")]
mod model;
mod ops;
mod points;
mod progress;
#[cfg(test)]
mod test_data;

pub use blobs::{Blobs, BlobsData};
pub use context::{BackendKind, Context};
pub use dataset::{Dataset, Input};
pub use dbscan::{Dbscan, DbscanFit};
pub use error::{Error, Result};
pub use gpu::options::GpuOptions;
pub use gpu::resident::DeviceStats;
pub use gpu::tune::{TuneCache, TunedShape, Tuning};
pub use kernel::Kernel;
pub use kmeans::{KMeans, KMeansFit, KMeansInit};
pub use knn::{KnnIndex, Metric, NearestNeighbors, Neighbors, RadiusNeighbors, SearchMethod};
pub use meanshift::{BandwidthEstimate, MeanShift, MeanShiftFit, Mode, StopReason};
#[cfg(feature = "serde")]
pub use model::model_format;
pub use points::Points;
pub use progress::{Cancel, Observer, Progress, Stage};
