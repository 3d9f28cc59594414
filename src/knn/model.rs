//! Saving and loading a [`KnnIndex`] (the `serde` feature), like FAISS's
//! `write_index`/`read_index`.
//!
//! The document holds the metric and the points as given (one line):
//!
//! ```json
//! {"format":"gpu-cluster/knn","version":1,"metric":"euclidean",
//!  "points":[[0.0,0.0],[1.0,0.0]]}
//! ```
//!
//! Loading builds the index from them again, as
//! [`NearestNeighbors::fit`](super::NearestNeighbors::fit) did, so a loaded
//! index answers with the same bits as the saved one. Values are written
//! as `f64`: `f32` widened (exact), or the `f64` values the points hold.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{KnnIndex, Metric, NearestNeighbors};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::model::Kind;
use crate::points::Points;

const KIND: Kind = Kind {
    format: KnnIndex::MODEL_FORMAT,
    version: KnnIndex::MODEL_VERSION,
    noun: "nearest-neighbour",
};

/// The document as written and read (read through [`Kind`], which checks
/// the envelope first; the points check themselves).
#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    version: u64,
    metric: Metric,
    points: Points,
}

impl Serialize for KnnIndex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Document {
            format: KIND.format.to_string(),
            version: KIND.version.into(),
            metric: self.metric,
            points: self.points().clone(),
        }
        .serialize(serializer)
    }
}

impl KnnIndex {
    /// The `"format"` of a saved index.
    pub const MODEL_FORMAT: &'static str = "gpu-cluster/knn";
    /// The `"version"` of the document this build writes and reads.
    pub const MODEL_VERSION: u32 = 1;

    /// The index as a JSON document (one line), the contents of
    /// [`save`](KnnIndex::save)'s file.
    ///
    /// ```
    /// use gpu_cluster::{Context, KnnIndex, NearestNeighbors, Points};
    /// let ctx = Context::cpu();
    /// let x = Points::new(&[0.0, 0.0, 1.0, 0.0, 5.0, 5.0], 2)?;
    /// let index = NearestNeighbors::new().fit(&ctx, &x)?;
    /// let json = index.to_json();
    /// assert!(json.starts_with(r#"{"format":"gpu-cluster/knn","version":1,"metric":"euclidean","#));
    /// let back = KnnIndex::from_json(&ctx, &json)?;
    /// assert_eq!(back.kneighbors(None, 1)?, index.kneighbors(None, 1)?);
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        KIND.to_json(self)
    }

    /// Rebuilds an index on `ctx` from [`to_json`](KnnIndex::to_json)'s
    /// document; anything that is not a valid version-1 index is
    /// [`Error::Model`] saying what is wrong.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_json(ctx: &Context, json: &str) -> Result<Self> {
        pollster::block_on(Self::rebuild(ctx, KIND.read_json(json)?))
    }

    /// Writes the index to `path` as JSON (see [`to_json`](KnnIndex::to_json)),
    /// replacing the file. A file that cannot be written is [`Error::Model`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        KIND.save(path.as_ref(), self)
    }

    /// Reads an index [`save`](KnnIndex::save) wrote and builds it on `ctx`
    /// (on a GPU, uploading its points once). A missing or unreadable file,
    /// one that is not JSON, not an index of a version this build reads, or
    /// whose points are invalid, is [`Error::Model`] naming the file and
    /// the problem.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(ctx: &Context, path: impl AsRef<Path>) -> Result<Self> {
        pollster::block_on(Self::rebuild(ctx, KIND.load(path.as_ref())?))
    }

    #[cfg(not(target_arch = "wasm32"))]
    async fn rebuild(ctx: &Context, saved: Document) -> Result<Self> {
        let Document { metric, points, .. } = saved;
        NearestNeighbors::new()
            .metric(metric)
            .fit_async(ctx, &points)
            .await
            .map_err(|e| match e {
                Error::InvalidParameter { .. } => Error::Model(format!("model index: {e}")),
                e => e,
            })
    }
}
