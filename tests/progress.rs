//! Progress reports and cancellation: the stages a fit reports, in order,
//! with counts that only grow; an observed fit giving the same bits as an
//! unobserved one (on the GPU it is split into more submissions); and a
//! cancelled fit stopping with `Error::Cancelled` at the point asked for,
//! leaving the context usable. Mean shift and k-means, on the CPU twin
//! and, where there is one, on the GPU.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gpu_cluster::{
    BandwidthEstimate, Blobs, Cancel, Context, Error, KMeans, KMeansInit, MeanShift, Observer,
    Points, Progress, Stage,
};

/// Records every report; cancels at the report numbered `cancel_at` (from
/// 1), if any.
#[derive(Default)]
struct Log {
    seen: Mutex<Vec<Progress>>,
    cancel_at: Option<usize>,
    asked: AtomicUsize,
}

impl Log {
    fn cancelling_at(n: usize) -> Self {
        Self {
            cancel_at: Some(n),
            ..Self::default()
        }
    }

    fn reports(&self) -> Vec<Progress> {
        self.seen.lock().unwrap().clone()
    }

    /// The stages in the order they were first reported.
    fn stages(&self) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for p in self.reports() {
            if stages.last() != Some(&p.stage) {
                assert!(!stages.contains(&p.stage), "{:?} reported twice", p.stage);
                stages.push(p.stage);
            }
        }
        stages
    }
}

impl Observer for Log {
    fn progress(&self, p: Progress) {
        self.seen.lock().unwrap().push(p);
    }

    fn cancelled(&self) -> bool {
        let asked = self.asked.fetch_add(1, Ordering::Relaxed) + 1;
        self.cancel_at.is_some_and(|n| asked >= n)
    }
}

fn blobs() -> Points {
    Blobs::default().generate().unwrap().points
}

/// Within a stage, `done` never goes down and never passes `total`.
fn assert_counts_grow(reports: &[Progress]) {
    for pair in reports.windows(2) {
        if pair[0].stage == pair[1].stage {
            assert!(pair[1].done >= pair[0].done, "{pair:?}");
        }
    }
    for p in reports {
        if let Some(total) = p.total {
            assert!(p.done <= total, "{p:?}");
        }
    }
}

#[test]
fn standard_mode_reports_every_stage_in_order() {
    let x = blobs();
    for ctx in common::contexts() {
        let log = Arc::new(Log::default());
        let fit = MeanShift::estimated(BandwidthEstimate::default())
            .bin_seeding(true)
            .observer(log.clone())
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(
            log.stages(),
            [
                Stage::Bandwidth,
                Stage::Seeding,
                Stage::Climbing,
                Stage::Merging,
                Stage::Labelling
            ],
            "{ctx}"
        );
        let reports = log.reports();
        assert_counts_grow(&reports);
        // Standard mode counts seeds: all of them have stopped at the end.
        let last = reports
            .iter()
            .rfind(|p| p.stage == Stage::Climbing)
            .unwrap();
        assert_eq!(last.total, Some(last.done), "{ctx}");
        assert!(fit.n_clusters() > 0);
    }
}

#[test]
fn blurring_counts_iterations_and_gives_the_same_bits_observed() {
    let x = blobs();
    for ctx in common::contexts() {
        let plain = MeanShift::new(2.5).blurring(7).fit(&ctx, &x).unwrap();
        let log = Arc::new(Log::default());
        let observed = MeanShift::new(2.5)
            .blurring(7)
            .observer(log.clone())
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(
            log.stages(),
            [Stage::Iterations, Stage::Merging, Stage::Labelling],
            "{ctx}"
        );
        let iterations: Vec<u64> = log
            .reports()
            .iter()
            .filter(|p| p.stage == Stage::Iterations)
            .map(|p| {
                assert_eq!(p.total, Some(7));
                p.done
            })
            .collect();
        assert_eq!(iterations, [0, 1, 2, 3, 4, 5, 6, 7], "{ctx}");
        assert_eq!(observed.labels(), plain.labels(), "{ctx}");
        assert_eq!(observed.centers(), plain.centers(), "{ctx}");
        assert_eq!(observed.final_positions(), plain.final_positions(), "{ctx}");
        assert_eq!(observed.intensities(), plain.intensities(), "{ctx}");
    }
}

#[test]
fn blurring_until_stable_counts_iterations_without_a_total() {
    let x = blobs();
    for ctx in common::contexts() {
        let log = Arc::new(Log::default());
        let fit = MeanShift::new(2.5)
            .blurring_until_stable()
            .observer(log.clone())
            .fit(&ctx, &x)
            .unwrap();
        let iterations: Vec<Progress> = log
            .reports()
            .into_iter()
            .filter(|p| p.stage == Stage::Iterations)
            .collect();
        assert!(iterations.iter().all(|p| p.total.is_none()));
        assert_eq!(iterations.last().unwrap().done, fit.n_iter() as u64);
    }
}

#[test]
fn a_cancelled_fit_stops_and_the_context_stays_usable() {
    let x = blobs();
    for ctx in common::contexts() {
        // Cancelled at the third check: during the iterations.
        let log = Arc::new(Log::cancelling_at(3));
        let fit = MeanShift::new(2.5)
            .blurring(20)
            .observer(log.clone())
            .fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
        let reports = log.reports();
        assert!(reports.iter().all(|p| p.stage == Stage::Iterations));
        assert!(reports.last().unwrap().done < 20, "{ctx}: ran to the end");

        // Standard mode, cancelled during the climb.
        let log = Arc::new(Log::cancelling_at(2));
        let fit = MeanShift::new(2.5).observer(log.clone()).fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
        assert!(!log.stages().contains(&Stage::Merging));

        // The same context fits again, with the same bits as a fresh one.
        let again = MeanShift::new(2.5).blurring(5).fit(&ctx, &x).unwrap();
        let fresh = MeanShift::new(2.5)
            .blurring(5)
            .fit(&Context::cpu(), &x)
            .unwrap();
        assert_eq!(again.n_clusters(), fresh.n_clusters(), "{ctx}");
        assert_eq!(again.labels(), fresh.labels(), "{ctx}");
    }
}

#[test]
fn cancel_before_the_fit_stops_it_at_once() {
    let x = blobs();
    for ctx in common::contexts() {
        let cancel = Arc::new(Cancel::default());
        cancel.cancel();
        let fit = MeanShift::default().observer(cancel).fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
    }
}

#[test]
fn observers_compare_by_identity() {
    let a: Arc<dyn Observer> = Arc::new(Cancel::default());
    let b: Arc<dyn Observer> = Arc::new(Cancel::default());
    let with_a = MeanShift::new(1.0).observer(a.clone());
    assert_eq!(with_a, MeanShift::new(1.0).observer(a));
    assert_ne!(with_a, MeanShift::new(1.0).observer(b));
    assert_ne!(with_a, MeanShift::new(1.0));
    assert!(format!("{with_a:?}").contains("observer: Some(observer)"));
}

#[test]
fn kmeans_reports_its_initial_centres_then_its_iterations() {
    let x = blobs();
    for ctx in common::contexts() {
        let plain = KMeans::new(6).seed(4).fit(&ctx, &x).unwrap();
        let log = Arc::new(Log::default());
        let observed = KMeans::new(6)
            .seed(4)
            .observer(log.clone())
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(
            log.stages(),
            [Stage::Initialising, Stage::Iterations],
            "{ctx}"
        );
        let reports = log.reports();
        assert_counts_grow(&reports);
        // k-means++ counts its centres, one by one, of k.
        let centres: Vec<u64> = reports
            .iter()
            .filter(|p| p.stage == Stage::Initialising)
            .map(|p| {
                assert_eq!(p.total, Some(6));
                p.done
            })
            .collect();
        assert_eq!(centres, [0, 1, 2, 3, 4, 5, 6], "{ctx}");
        // Iterations count up to the fit's, of the cap.
        let iterations: Vec<u64> = reports
            .iter()
            .filter(|p| p.stage == Stage::Iterations)
            .map(|p| {
                assert_eq!(p.total, Some(300));
                p.done
            })
            .collect();
        let n = observed.n_iter() as u64;
        assert_eq!(iterations, (0..=n).collect::<Vec<_>>(), "{ctx}");
        // Watching changes no bit.
        assert_eq!(observed, plain, "{ctx}");
        assert_eq!(Stage::Initialising.name(), "initial centres");
    }
}

#[test]
fn kmeans_reports_each_run_and_given_centres() {
    let x = blobs();
    let ctx = Context::cpu();
    let log = Arc::new(Log::default());
    KMeans::new(4)
        .init(KMeansInit::Random)
        .n_init(3)
        .max_iter(20)
        .observer(log.clone())
        .fit(&ctx, &x)
        .unwrap();
    let reports = log.reports();
    // Each run starts its stages again: initial centres, then iterations.
    let starts: Vec<Stage> = reports
        .iter()
        .filter(|p| p.done == 0)
        .map(|p| p.stage)
        .collect();
    assert_eq!(
        starts,
        [Stage::Initialising, Stage::Iterations].repeat(3),
        "{reports:?}"
    );
    assert!(
        reports
            .iter()
            .all(|p| p.total == Some(if p.stage == Stage::Iterations { 20 } else { 4 }))
    );
    // Given centres: the stage is reported, done at once.
    let start = Points::new(&x.as_slice()[..8], 2).unwrap();
    let log = Arc::new(Log::default());
    KMeans::new(4)
        .init(KMeansInit::Given(start))
        .observer(log.clone())
        .fit(&ctx, &x)
        .unwrap();
    let init: Vec<u64> = log
        .reports()
        .iter()
        .filter(|p| p.stage == Stage::Initialising)
        .map(|p| p.done)
        .collect();
    assert_eq!(init, [0, 4]);
}

#[test]
fn a_cancelled_kmeans_fit_stops_and_the_context_stays_usable() {
    let x = blobs();
    for ctx in common::contexts() {
        // k = 6: one check before any work, seven reports of initial
        // centres, then iterations from 0: the eleventh check is after the
        // second iteration.
        let log = Arc::new(Log::cancelling_at(11));
        let fit = KMeans::new(6).tol(0.0).observer(log.clone()).fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
        let last = *log.reports().last().unwrap();
        assert_eq!(last.stage, Stage::Iterations, "{ctx}");
        assert_eq!(last.done, 2, "{ctx}");
        // Cancelled while choosing the initial centres.
        let log = Arc::new(Log::cancelling_at(3));
        let fit = KMeans::new(6).observer(log.clone()).fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
        assert_eq!(log.stages(), [Stage::Initialising], "{ctx}");
        // Before the fit: no report at all.
        let cancel = Arc::new(Cancel::default());
        cancel.cancel();
        let fit = KMeans::new(6).observer(cancel).fit(&ctx, &x);
        assert!(matches!(fit, Err(Error::Cancelled)), "{ctx}: {fit:?}");
        // The same context fits again, with the CPU twin's labels.
        let again = KMeans::new(6).seed(1).fit(&ctx, &x).unwrap();
        let fresh = KMeans::new(6).seed(1).fit(&Context::cpu(), &x).unwrap();
        assert_eq!(again.labels(), fresh.labels(), "{ctx}");
    }
}

#[test]
fn kmeans_observers_compare_by_identity() {
    let a: Arc<dyn Observer> = Arc::new(Cancel::default());
    let with_a = KMeans::new(2).observer(a.clone());
    assert_eq!(with_a, KMeans::new(2).observer(a));
    assert_ne!(with_a, KMeans::new(2));
    assert!(format!("{with_a:?}").contains("observer: Some(observer)"));
}
