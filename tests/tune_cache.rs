//! The tuner's choices kept on disk between contexts (`TuneCache`): a
//! second context on the same adapter takes the first one's shapes without
//! timing them; a corrupt file, or a shape in it that is not a candidate,
//! is timed over; nothing is kept with the opt-out or for built-in shapes;
//! and the results are the same bits whatever the cache holds.
//!
//! `Tuning::Measure`, so shapes are timed on any adapter (the default,
//! `Tuning::Auto`, times only on hardware ones); the file format's own
//! cases are unit tests in `src/gpu/tune/cache.rs`. Skipped without an
//! adapter unless `REQUIRE_GPU=1`, and where `GPU_CLUSTER_TUNE_CACHE` is
//! set (it overrides these options).

mod common;

use std::path::Path;

use gpu_cluster::{Context, GpuOptions, Kernel, Points, TuneCache, TunedShape, Tuning, meanshift};

/// The file the cache keeps in its directory.
const FILE: &str = "tuned-shapes.tsv";

fn context(tuning: Tuning, tune_cache: TuneCache) -> Option<Context> {
    if let Some(v) = std::env::var_os("GPU_CLUSTER_TUNE_CACHE") {
        // Like a missing adapter: with REQUIRE_GPU=1 a skip would pass
        // without testing anything.
        assert!(
            std::env::var("REQUIRE_GPU").as_deref() != Ok("1"),
            "REQUIRE_GPU=1, but GPU_CLUSTER_TUNE_CACHE={v:?} overrides the options under test"
        );
        eprintln!("skipping: GPU_CLUSTER_TUNE_CACHE={v:?} overrides the options under test");
        return None;
    }
    common::gpu_with(&GpuOptions {
        tuning,
        tune_cache,
        ..Default::default()
    })
}

fn measured(dir: &Path) -> Option<Context> {
    context(Tuning::Measure, TuneCache::Dir(dir.to_path_buf()))
}

/// One gaussian blurring iteration of 300 points in 2-D: its bits, and
/// the one shape the context reports.
fn blur(ctx: &Context) -> (Vec<u32>, TunedShape) {
    let x = Points::new(&common::uniform(300, 2, 10.0, 7), 2).unwrap();
    let out = meanshift::blur(ctx, &x, Kernel::Gaussian, 2.5, 1).unwrap();
    let bits = out.as_slice().iter().map(|v| v.to_bits()).collect();
    let shapes = ctx.tuned_shapes();
    assert_eq!(shapes.len(), 1, "{shapes:?}");
    (bits, shapes[0].clone())
}

/// The launch shape, without how it was chosen.
fn shape(s: &TunedShape) -> (u32, u32, u32, u32) {
    (
        s.workgroup,
        s.queries_per_thread,
        s.threads_per_query,
        s.tile_rows,
    )
}

fn timed_now(s: &TunedShape) -> bool {
    s.micros.is_some() && s.candidates > 1 && !s.remembered
}

/// The built-in shape's bits.
fn builtin_bits() -> Vec<u32> {
    let fixed = context(Tuning::Off, TuneCache::Off).unwrap();
    blur(&fixed).0
}

#[test]
fn a_second_context_takes_the_first_ones_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(first) = measured(dir.path()) else {
        return;
    };
    let (bits, timed) = blur(&first);
    assert!(timed_now(&timed), "{timed}");
    assert!(dir.path().join(FILE).is_file());
    let second = measured(dir.path()).unwrap();
    let (again, remembered) = blur(&second);
    assert!(remembered.remembered, "{remembered}");
    assert_eq!(shape(&remembered), shape(&timed));
    assert_eq!(
        (remembered.micros, remembered.candidates),
        (timed.micros, timed.candidates)
    );
    assert!(remembered.to_string().contains("from the tuning cache"));
    assert_eq!(bits, again);
    assert_eq!(bits, builtin_bits());
}

#[test]
fn a_corrupt_file_is_timed_over_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE);
    std::fs::write(&file, b"\x00\xffnot a cache\n\tat all\t\n").unwrap();
    let Some(ctx) = measured(dir.path()) else {
        return;
    };
    let (bits, timed) = blur(&ctx);
    assert!(timed_now(&timed), "{timed}");
    assert_eq!(bits, builtin_bits());
    // Rewritten: the next context reads it.
    let (_, next) = blur(&measured(dir.path()).unwrap());
    assert!(next.remembered, "{next}");
}

/// A line naming a shape the op does not offer on this device (a file
/// edited by hand, or written by another build) is never launched: the
/// shapes are timed again.
#[test]
fn a_shape_that_is_not_a_candidate_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let Some(first) = measured(dir.path()) else {
        return;
    };
    let (bits, _) = blur(&first);
    let file = dir.path().join(FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let (header, line) = text.trim_end().split_once('\n').unwrap();
    let mut fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 13, "{line}");
    // The threads per workgroup.
    fields[7] = "100000";
    std::fs::write(&file, format!("{header}\n{}\n", fields.join("\t"))).unwrap();
    let (again, shape) = blur(&measured(dir.path()).unwrap());
    assert!(timed_now(&shape), "{shape}");
    assert!(shape.workgroup <= 256);
    assert_eq!(bits, again);
}

#[test]
fn nothing_is_kept_with_the_opt_out_or_for_built_in_shapes() {
    // Off: each context times again.
    let Some(first) = context(Tuning::Measure, TuneCache::Off) else {
        return;
    };
    assert!(timed_now(&blur(&first).1));
    let second = context(Tuning::Measure, TuneCache::Off).unwrap();
    assert!(timed_now(&blur(&second).1));
    // Built-in shapes are not timed, so nothing is written.
    let dir = tempfile::tempdir().unwrap();
    let fixed = context(Tuning::Off, TuneCache::Dir(dir.path().to_path_buf())).unwrap();
    let (_, builtin) = blur(&fixed);
    assert!(builtin.micros.is_none() && !builtin.remembered);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
