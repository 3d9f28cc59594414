//! Saved models (the `serde` feature): what every kind of model document
//! shares. A document is one JSON object that starts with its envelope,
//! `"format"` (which kind of model) and `"version"` (of that kind's
//! layout), followed by the kind's own fields; the Python package reads
//! and writes the same documents.
//!
//! The envelope is read first, on its own, so that a file of another kind
//! or version is reported as that rather than as a missing field. Every
//! failure is [`Error::Model`], naming the file when there is one.

use std::path::Path;

use serde::Serialize;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer};

use crate::error::{Error, Result};

/// One kind of model document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The `"format"` string, e.g. `gpu-cluster/meanshift`.
    pub format: &'static str,
    /// The `"version"` this build writes and reads.
    pub version: u32,
    /// The model's name in messages, e.g. `mean-shift`.
    pub noun: &'static str,
}

impl Kind {
    /// The document for `model`, on one line.
    pub fn to_json(self, model: &impl Serialize) -> String {
        // Model documents hold no maps with non-string keys and no values
        // serde_json refuses, so serialising cannot fail.
        serde_json::to_string(model)
            .unwrap_or_else(|e| panic!("a {} model always serialises: {e}", self.noun))
    }

    /// Reads a document held in memory.
    pub fn read_json<T: DeserializeOwned>(self, json: &str) -> Result<T> {
        self.parse(json.as_bytes())
            .map_err(|problem| Error::Model(format!("model {problem}")))
    }

    /// Writes `model`'s document to `path`, replacing the file.
    pub fn save(self, path: &Path, model: &impl Serialize) -> Result<()> {
        let mut json = self.to_json(model);
        json.push('\n');
        std::fs::write(path, json)
            .map_err(|e| Error::Model(format!("cannot write model {}: {e}", path.display())))
    }

    /// Reads the document in `path`.
    pub fn load<T: DeserializeOwned>(self, path: &Path) -> Result<T> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Model(format!("cannot read model {}: {e}", path.display())))?;
        self.parse(&bytes)
            .map_err(|problem| Error::Model(format!("model {} {problem}", path.display())))
    }

    /// Reads a document: what is wrong with it, as the end of a sentence
    /// that starts "model FILE", if anything.
    fn parse<T: DeserializeOwned>(self, bytes: &[u8]) -> std::result::Result<T, String> {
        use serde_json::error::Category;
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            Category::Data => format!(
                "is not a gpu-cluster model: expected a JSON object with \"format\": \"{}\"",
                self.format
            ),
            _ => format!("is not JSON: {e}"),
        })?;
        self.check_envelope(envelope.format.as_ref(), envelope.version.as_ref())?;
        serde_json::from_slice(bytes).map_err(|e| format!("is invalid: {e}"))
    }

    /// Checks a document's envelope: this kind of model, a version this
    /// build reads. Deserialisers call it too, so a document read by other
    /// means than [`Kind::load`] is held to the same rule.
    pub fn check_envelope(
        self,
        format: Option<&serde_json::Value>,
        version: Option<&serde_json::Value>,
    ) -> std::result::Result<(), String> {
        let expected = self.format;
        match format.map(|f| (f, f.as_str())) {
            None => {
                return Err(format!(
                    "is not a gpu-cluster model: it has no \"format\" (expected \"{expected}\")"
                ));
            }
            Some((_, Some(f))) if f == expected => {}
            Some((f, _)) => {
                return Err(format!(
                    "is not a {} model: its format is {f}, expected \"{expected}\"",
                    self.noun
                ));
            }
        }
        let reads = self.version;
        match version.map(|v| (v, v.as_u64())) {
            None => Err(format!(
                "has no \"version\" (this build reads version {reads})"
            )),
            Some((_, Some(v))) if v == u64::from(reads) => Ok(()),
            Some((v, _)) => Err(format!(
                "has format version {v}: this build reads version {reads}"
            )),
        }
    }
}

/// The `"format"` of the saved model in `path` (such as
/// `"gpu-cluster/meanshift"` or `"gpu-cluster/kmeans"`, the kinds'
/// `MODEL_FORMAT`s), read from its envelope alone: what a program that
/// takes more than one kind of model looks at to pick the `load` to call.
/// The rest of the document is not checked; that `load`, with its own
/// messages, does it.
///
/// A file that cannot be read, is not JSON, or is not a JSON object with a
/// string `"format"` is [`Error::Model`] naming the file and the problem.
///
/// ```no_run
/// use gpu_cluster::{KMeansFit, MeanShiftFit, model_format};
/// let labels = match model_format("model.json")?.as_str() {
///     MeanShiftFit::MODEL_FORMAT => MeanShiftFit::load("model.json")?.labels().to_vec(),
///     KMeansFit::MODEL_FORMAT => KMeansFit::load("model.json")?.labels().to_vec(),
///     other => panic!("not a clustering model: {other}"),
/// };
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub fn model_format(path: impl AsRef<Path>) -> Result<String> {
    use serde_json::error::Category;
    let path = path.as_ref();
    let problem = |what: String| Error::Model(format!("model {} {what}", path.display()));
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Model(format!("cannot read model {}: {e}", path.display())))?;
    let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        Category::Data => {
            problem("is not a gpu-cluster model: expected a JSON object with a \"format\"".into())
        }
        _ => problem(format!("is not JSON: {e}")),
    })?;
    match envelope.format {
        Some(serde_json::Value::String(format)) => Ok(format),
        Some(other) => Err(problem(format!(
            "is not a gpu-cluster model: its format is {other}, not a name"
        ))),
        None => Err(problem(
            "is not a gpu-cluster model: it has no \"format\"".into(),
        )),
    }
}

/// Just the envelope. Only a JSON object has one (a derived struct would
/// take an array too); other fields are skipped unread.
#[derive(Default)]
struct Envelope {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Envelope;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Envelope, A::Error> {
                let mut envelope = Envelope::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "format" => envelope.format = Some(map.next_value()?),
                        "version" => envelope.version = Some(map.next_value()?),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(envelope)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}
