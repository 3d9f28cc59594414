//! The progress bar: on a terminal, a long fit shows its stages (and a bar
//! with an ETA where the work is known) and erases it before the summary;
//! with stderr a pipe or a file there is no bar at all, only the summary.
//!
//! The terminal is a pseudo-terminal from util-linux's `script`, which
//! every Debian system has; where it is missing the terminal half says so
//! and passes.

mod common;

use std::process::Command;

use common::run::{Scratch, ok, run, stderr};

/// Blobs big enough (24 000 points) that ten blurring iterations on the
/// CPU take a good fraction of a second, so the bar is drawn at least once.
fn big_blobs(files: &Scratch) -> String {
    let path = files.path("big.npy");
    ok(&["blobs", "--out", &path, "--per-cluster", "4000"]);
    path
}

fn fit_args(input: &str) -> Vec<String> {
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
    .map(String::from)
    .to_vec()
}

#[test]
fn without_a_terminal_there_is_only_the_summary() {
    let files = Scratch::new();
    let input = big_blobs(&files);
    let args = fit_args(&input);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("meanshift: 6 clusters"), "{err:?}");
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn on_a_terminal_the_stages_show_and_are_erased() {
    let files = Scratch::new();
    let input = big_blobs(&files);
    let labels = files.path("labels.txt");
    let mut command = fit_args(&input);
    command.extend(["--labels".to_string(), labels]);
    let line = std::iter::once(env!("CARGO_BIN_EXE_gpu-cluster").to_string())
        .chain(command)
        .collect::<Vec<_>>()
        .join(" ");
    // `script -qec CMD /dev/null` runs CMD on a pseudo-terminal and copies
    // what it writes there to our stdout.
    let Ok(out) = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
    else {
        eprintln!("no `script` here: the terminal half of the progress test is skipped");
        return;
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("meanshift: iterations"), "{screen:?}");
    assert!(screen.contains("/10"), "no bar with a total: {screen:?}");
    assert!(screen.contains("ETA"), "{screen:?}");
    // The bar is erased (a carriage return and an erase-line sequence)
    // before the summary, which ends the screen.
    let summary = screen.rfind("meanshift: 6 clusters").expect("the summary");
    let erase = screen.rfind("\u{1b}[2K").expect("the bar erased");
    assert!(erase < summary, "{screen:?}");
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
        input.as_str(),
        "--k",
        "40",
        "--tol",
        "0",
        "--backend",
        "cpu",
        "--labels",
        labels.as_str(),
    ];
    let out = run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    let line = std::iter::once(env!("CARGO_BIN_EXE_gpu-cluster"))
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    let Ok(out) = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
    else {
        eprintln!("no `script` here: the terminal half of the progress test is skipped");
        return;
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("kmeans: initial centres"), "{screen:?}");
    assert!(screen.contains("/40"), "no bar with a total: {screen:?}");
    let summary = screen.rfind("kmeans: 40 clusters").expect("the summary");
    let erase = screen.rfind("\u{1b}[2K").expect("the bar erased");
    assert!(erase < summary, "{screen:?}");
}
