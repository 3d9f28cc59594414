//! The progress bar: on a terminal, a long fit shows its stages (and a bar
//! with an ETA where the work is known) and erases it before the summary;
//! with stderr a pipe or a file there is no bar at all, only the summary.
//!
//! The terminal is a pseudo-terminal from util-linux's `script`, which
//! every Debian system has; where it is missing the terminal half says so
//! and passes.

mod common;

use common::run::{Scratch, assert_erased_before, on_a_terminal, only_the_summary};

/// Blobs big enough (24 000 points) that ten blurring iterations on the
/// CPU take a good fraction of a second, so the bar is drawn at least once.
fn big_blobs(files: &Scratch) -> String {
    files.blobs_with("big.npy", &["--per-cluster", "4000"])
}

/// Ten blurring iterations of mean shift on the CPU.
fn fit_args(input: &str) -> [&str; 10] {
    [
        "meanshift",
        input,
        "--bandwidth",
        "2.5",
        "--mode",
        "blurring",
        "--max-iter",
        "10",
        "--backend",
        "cpu",
    ]
}

#[test]
fn without_a_terminal_there_is_only_the_summary() {
    let files = Scratch::new();
    let input = big_blobs(&files);
    let err = only_the_summary(&fit_args(&input));
    assert!(err.starts_with("meanshift: 6 clusters"), "{err:?}");
}

#[test]
fn on_a_terminal_the_stages_show_and_are_erased() {
    let files = Scratch::new();
    let input = big_blobs(&files);
    let labels = files.path("labels.txt");
    let args = [&fit_args(&input)[..], &["--labels", &labels]].concat();
    let Some(screen) = on_a_terminal(&args) else {
        return;
    };
    assert!(screen.contains("meanshift: iterations"), "{screen:?}");
    assert!(screen.contains("/10"), "no bar with a total: {screen:?}");
    assert!(screen.contains("ETA"), "{screen:?}");
    // The bar is erased (a carriage return and an erase-line sequence)
    // before the summary, which ends the screen.
    assert_erased_before(&screen, "meanshift: 6 clusters");
}

/// k-means shows its stages too: the initial centres, counted of k, then
/// the iterations; erased before the summary. Without a terminal, only
/// the summary.
#[test]
fn kmeans_shows_its_initial_centres_on_a_terminal() {
    let files = Scratch::new();
    let input = big_blobs(&files);
    let labels = files.path("labels.txt");
    let args = [
        "kmeans",
        &input,
        "--k",
        "40",
        "--tol",
        "0",
        "--backend",
        "cpu",
        "--labels",
        &labels,
    ];
    only_the_summary(&args);
    let Some(screen) = on_a_terminal(&args) else {
        return;
    };
    assert!(screen.contains("kmeans: initial centres"), "{screen:?}");
    assert!(screen.contains("/40"), "no bar with a total: {screen:?}");
    assert_erased_before(&screen, "kmeans: 40 clusters");
}
