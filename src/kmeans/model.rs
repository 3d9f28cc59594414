//! Saving and loading a [`KMeansFit`] (the `serde` feature).
//!
//! A fit is a versioned JSON document, shared with the Python package
//! (the example on [`KMeans`](super::KMeans) with given centres; written on
//! one line):
//!
//! ```json
//! {"format":"gpu-cluster/kmeans","version":1,"n_iter":2,
//!  "inertia":0.046666625340833434,
//!  "centers":[[10.099999962747097,10.000000019371509],[0.09999996274709666,0.03333332091569918]],
//!  "offset":[4.099999962747097,4.020000000298023],"labels":[1,1,0,0,1]}
//! ```
//!
//! The centres are written with their `f64` values (the `f32` results
//! around the data's mean, `offset`, moved back in `f64`; see
//! [`Points`]'s serde form), so readers that parse numbers as `f64` get the
//! same values back. A loaded fit compares new points with the centres
//! centred on `offset` again, as the fit did, so it predicts the labels the
//! saved one predicts. A document without `offset` reads as offset zero
//! (the centres in absolute coordinates). Reading trusts nothing: the
//! envelope, every value and the consistency of the parts (labels within
//! the clusters, an offset per column) are checked.

use std::path::Path;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use super::KMeansFit;
use crate::error::Result;
use crate::model::Kind;
use crate::points::{Points, centre};

/// The k-means document.
const KIND: Kind = Kind {
    format: KMeansFit::MODEL_FORMAT,
    version: KMeansFit::MODEL_VERSION,
    noun: "k-means",
};

impl KMeansFit {
    /// The `"format"` of a saved k-means model.
    pub const MODEL_FORMAT: &'static str = "gpu-cluster/kmeans";
    /// The `"version"` of the document this build writes and reads.
    pub const MODEL_VERSION: u32 = 1;

    /// The model as a JSON document (one line), the contents of
    /// [`save`](KMeansFit::save)'s file.
    ///
    /// ```
    /// use gpu_cluster::{Context, KMeans, KMeansFit, Points};
    /// let x = Points::new(&[0.0, 0.0, 0.2, 0.0, 10.0, 10.0, 10.2, 10.0, 0.1, 0.1], 2)?;
    /// let fit = KMeans::new(2).fit(&Context::cpu(), &x)?;
    /// let json = fit.to_json();
    /// assert!(json.starts_with(r#"{"format":"gpu-cluster/kmeans","version":1,"#));
    /// let back = KMeansFit::from_json(&json)?;
    /// assert_eq!(back, fit);
    /// assert_eq!(back.predict(&x)?, fit.labels());
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        KIND.to_json(self)
    }

    /// Reads a model from [`to_json`](KMeansFit::to_json)'s document.
    /// Anything that is not a valid version-1 k-means model is
    /// [`Error::Model`](crate::Error::Model) saying what is wrong.
    pub fn from_json(json: &str) -> Result<Self> {
        KIND.read_json(json)
    }

    /// Writes the model to `path` as JSON (see
    /// [`to_json`](KMeansFit::to_json)), replacing the file. A file that
    /// cannot be written is [`Error::Model`](crate::Error::Model).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        KIND.save(path.as_ref(), self)
    }

    /// Reads a model [`save`](KMeansFit::save) wrote. A missing or
    /// unreadable file, one that is not JSON, not a k-means model of a
    /// version this build reads, or whose values are invalid, is
    /// [`Error::Model`](crate::Error::Model) naming the file and the
    /// problem.
    ///
    /// ```no_run
    /// use gpu_cluster::{KMeansFit, Points};
    /// let fit = KMeansFit::load("model.json")?;
    /// let labels = fit.predict(&Points::new(&[0.5, 1.5], 2)?)?;
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        KIND.load(path.as_ref())
    }
}

/// The document as written, borrowed from the fit. Field order is the
/// order in the file: the envelope and the scalars first, so the head of a
/// large file says what it is.
#[derive(serde::Serialize)]
struct Written<'a> {
    format: &'static str,
    version: u32,
    n_iter: usize,
    inertia: f64,
    centers: &'a Points,
    offset: &'a [f64],
    labels: &'a [i32],
}

/// The document as read: every field still to be checked. Fields it does
/// not know are ignored, so a writer may add its own.
#[derive(serde::Deserialize)]
struct Read {
    format: String,
    version: u64,
    n_iter: usize,
    inertia: f64,
    #[serde(deserialize_with = "centers")]
    centers: Points,
    /// Absent: zeros, the absolute coordinates.
    #[serde(default)]
    offset: Option<Vec<f64>>,
    labels: Vec<i32>,
}

/// `centers`, named in its errors (the points' own say only "row 2").
fn centers<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Points, D::Error> {
    Points::deserialize(d).map_err(|e| de::Error::custom(format_args!("centers: {e}")))
}

impl Serialize for KMeansFit {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Written {
            format: KMeansFit::MODEL_FORMAT,
            version: KMeansFit::MODEL_VERSION,
            n_iter: self.n_iter,
            inertia: self.inertia,
            centers: &self.centers,
            offset: &self.offset,
            labels: &self.labels,
        }
        .serialize(serializer)
    }
}

/// Deserialising checks everything [`KMeansFit::load`] does except the
/// friendlier envelope messages: the result is a fit the accessors and
/// `predict` can trust.
impl<'de> Deserialize<'de> for KMeansFit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let read = Read::deserialize(deserializer)?;
        KIND.check_envelope(
            Some(&read.format.as_str().into()),
            Some(&read.version.into()),
        )
        .map_err(|problem| de::Error::custom(format_args!("model {problem}")))?;
        fit_from(read).map_err(de::Error::custom)
    }
}

/// The fit a document describes, if its parts are valid and agree.
fn fit_from(read: Read) -> std::result::Result<KMeansFit, String> {
    let k = read.centers.len();
    let dim = read.centers.dim();
    if !(read.inertia.is_finite() && read.inertia >= 0.0) {
        return Err(format!(
            "inertia {:?}: it must be finite and >= 0",
            read.inertia
        ));
    }
    if read.labels.len() < k {
        return Err(format!(
            "{} labels for {k} centers: a fit has at least one point per cluster asked for",
            read.labels.len()
        ));
    }
    if let Some((i, &l)) = read
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::try_from(l).map_or(true, |c| c >= k))
    {
        return Err(format!(
            "labels[{i}] is {l}: the model has {k} clusters (labels 0 to {})",
            k - 1
        ));
    }
    let offset = read.offset.unwrap_or_else(|| vec![0.0; dim]);
    if offset.len() != dim || offset.iter().any(|v| !(*v as f32).is_finite()) {
        return Err(format!(
            "offset {offset:?}: expected {dim} finite values, one per column of the centres"
        ));
    }
    // What `predict` compares: the centres around the offset, in `f32`,
    // as the fit computed them.
    let centred = centre(&read.centers, &offset);
    if centred.iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "offset {offset:?}: the centres lie too far from it for f32"
        ));
    }
    Ok(KMeansFit {
        centers: read.centers,
        centred,
        offset,
        labels: read.labels,
        inertia: read.inertia,
        n_iter: read.n_iter,
    })
}
