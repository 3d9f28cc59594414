//! `gpu-cluster blobs`: generate Gaussian blobs with their true labels and
//! centroids.

use gpu_cluster::Blobs;

use crate::args::{BlobsArgs, count};
use crate::fail::Failure;
use crate::note;
use crate::output::{check_format, check_writable, write_csv, write_lines, write_points};

/// Most values (points x dimension) one run generates: 2^32 `f32` are
/// 16 GiB, beyond any sensible data file, and the bound keeps a typo from
/// asking for an allocation that would abort the process.
const MAX_VALUES: u128 = 1 << 32;

/// Runs the subcommand.
pub fn run(args: &BlobsArgs) -> Result<(), Failure> {
    // Refuse an unknown output type before generating anything.
    check_format(&args.out)?;
    check_writable(
        [args.out.as_path()]
            .into_iter()
            .chain(args.labels.as_deref())
            .chain(args.centroids.as_deref()),
    )?;
    let values = (args.clusters as u128)
        .saturating_mul(args.per_cluster as u128)
        .saturating_mul(args.dim as u128);
    if values > MAX_VALUES {
        return Err(Failure::Input(format!(
            "--clusters x --per-cluster x --dim = {values} values, more than the {MAX_VALUES} one run generates"
        )));
    }
    let blobs = Blobs {
        clusters: args.clusters,
        per_cluster: args.per_cluster,
        dim: args.dim,
        seed: args.seed,
        ..Blobs::default()
    };
    let data = blobs.generate()?;
    write_points(&args.out, &data.points)?;
    if let Some(path) = &args.labels {
        write_lines(Some(path), &data.labels)?;
    }
    if let Some(path) = &args.centroids {
        write_csv(path, &data.centroids)?;
    }
    note(format_args!(
        "blobs: {} x {} ({} of {}, seed {}) written to {}",
        count(data.points.len(), "point"),
        data.points.dim(),
        count(blobs.clusters, "cluster"),
        blobs.per_cluster,
        blobs.seed,
        args.out.display()
    ));
    Ok(())
}
