//! Running the `gpu-cluster` binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpu-cluster"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

/// Runs a command expected to succeed and returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs a command expected to succeed with its output in files: nothing on
/// stdout and one summary line on stderr, which it returns.
pub fn quiet(args: &[&str]) -> String {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    err
}

/// Asserts that the command fails with `code`, printing exactly one line on
/// stderr that contains `needle`, and nothing on stdout.
pub fn fails(code: i32, args: &[&str], needle: &str) {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err:?}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
}

/// A temporary directory for a test's files, removed with it.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }

    /// Four blobs of 50 points in 2-D, as `blobs` writes them, in
    /// `blobs.csv`; returns its path.
    pub fn blobs(&self) -> String {
        let path = self.path("blobs.csv");
        ok(&[
            "blobs",
            "--out",
            &path,
            "--clusters",
            "4",
            "--per-cluster",
            "50",
        ]);
        path
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        self.0.path()
    }

    /// The path of `name` in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// The path of `name` in it, as a command-line argument.
    pub fn path(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }

    /// Writes `text` to `name`; returns its path as an argument.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// The contents of `name`.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap()
    }
}
