//! Running the `gpu-cluster` binary, and the checks the command-line tests
//! share: exit statuses, summaries, help texts, outputs checked before any
//! work, and the progress bar on a terminal.

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
    ok_with_stderr(args).0
}

/// Runs a command expected to succeed; its stdout and its stderr (which
/// some GPU drivers add lines of their own to).
pub fn ok_with_stderr(args: &[&str]) -> (String, String) {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    (stdout(&out), err)
}

/// Runs a command expected to succeed with one line, its summary, on
/// stderr; its stdout and that line.
pub fn ok_with_summary(args: &[&str]) -> (String, String) {
    let (out, summary) = ok_with_stderr(args);
    assert_eq!(summary.lines().count(), 1, "{args:?}: {summary}");
    (out, summary)
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

/// Asserts that `text` contains every one of `needles`.
pub fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
}

/// Asserts that `command --help` shows every one of `needles` (options,
/// defaults, possible values) and that the top-level help lists `command`.
pub fn assert_help(command: &str, needles: &[&str]) {
    let help = ok(&[command, "--help"]);
    for needle in needles {
        assert!(
            help.contains(needle),
            "{command} --help lacks {needle:?}:\n{help}"
        );
    }
    let top = ok(&["--help"]);
    assert!(top.contains(command), "{top}");
}

/// `meanshift INPUT --bandwidth H --backend cpu`, then `extra`.
pub fn meanshift_args<'a>(input: &'a str, bandwidth: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let base = [
        "meanshift",
        input,
        "--bandwidth",
        bandwidth,
        "--backend",
        "cpu",
    ];
    [&base[..], extra].concat()
}

/// The path of `name` among the command line's fixtures (`tests/data/cli`).
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cli")
        .join(name)
        .display()
        .to_string()
}

/// Runs a command expected to succeed with stderr a pipe, not a terminal:
/// asserts that its summary is all it says there, with no progress bar
/// drawn (no carriage return, no escape sequence); returns the summary.
pub fn only_the_summary(args: &[&str]) -> String {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    err
}

/// Runs a command expected to succeed on a pseudo-terminal and returns
/// what it wrote there, or `None`, saying so, where util-linux's `script`
/// is missing. `script -qec CMD /dev/null` runs CMD on a pseudo-terminal
/// and copies what it writes there to our stdout.
pub fn on_a_terminal(args: &[&str]) -> Option<String> {
    let line = std::iter::once(env!("CARGO_BIN_EXE_gpu-cluster"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let Ok(out) = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
    else {
        eprintln!("no `script` here: the terminal half of the progress test is skipped");
        return None;
    };
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{screen}");
    Some(screen)
}

/// Asserts that the progress bar on `screen` was erased (an erase-line
/// sequence) before the last `summary`; returns where that summary starts.
pub fn assert_erased_before(screen: &str, summary: &str) -> usize {
    let at = screen.rfind(summary).expect("the summary");
    let erase = screen.rfind("\u{1b}[2K").expect("the bar erased");
    assert!(erase < at, "{screen:?}");
    at
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
        self.blobs_with("blobs.csv", &["--clusters", "4", "--per-cluster", "50"])
    }

    /// `blobs` with `args` written to `name` (its type from the extension);
    /// returns its path.
    pub fn blobs_with(&self, name: &str, args: &[&str]) -> String {
        let path = self.path(name);
        ok(&[&["blobs", "--out", &path][..], args].concat());
        path
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        self.0.path()
    }

    /// The directory itself, as a command-line argument: an output path
    /// that cannot be written as a file.
    pub fn dir_arg(&self) -> String {
        self.dir().display().to_string()
    }

    /// The path of `name` in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// The path of `name` in it, as a command-line argument.
    pub fn path(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }

    /// A path in a folder that does not exist: an output that cannot be
    /// written.
    pub fn no_dir(&self, name: &str) -> String {
        self.path(&format!("no/such/dir/{name}"))
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

    /// Runs `command INPUT` with its labels to `labels.txt` and `flag` to
    /// `name`, then `args`, expecting nothing on stdout and its summary
    /// alone on stderr; returns the labels, the contents of `name` and the
    /// summary.
    pub fn labels_and(
        &self,
        command: &str,
        input: &str,
        (flag, name): (&str, &str),
        args: &[&str],
    ) -> (String, String, String) {
        let (labels, other) = (self.path("labels.txt"), self.path(name));
        let head = [command, input, "--labels", &labels, flag, &other];
        let summary = quiet(&[&head[..], args].concat());
        (self.read("labels.txt"), self.read(name), summary)
    }

    /// `weights`, one a line under a header, in `name`; returns the text
    /// and the path.
    pub fn weights(&self, name: &str, weights: &[f32]) -> (String, String) {
        let text: String = std::iter::once("weight\n".to_string())
            .chain(weights.iter().map(|w| format!("{w}\n")))
            .collect();
        let path = self.write(name, &text);
        (text, path)
    }

    /// Asserts that `args` with `flag` naming a path in a missing folder,
    /// then the directory itself, fails with exit status 1, "cannot
    /// write": outputs are checked before any work.
    pub fn cannot_write(&self, args: &[&str], flag: &str) {
        for path in [self.no_dir("out.csv"), self.dir_arg()] {
            fails(1, &[args, &[flag, &path]].concat(), "cannot write");
        }
    }

    /// Asserts that `args` with `flag` naming an existing file fails with
    /// exit status 2 and `needle`, leaving that file as it was: checking
    /// an output does not create or truncate it.
    pub fn fails_keeping(&self, args: &[&str], flag: &str, needle: &str) {
        let kept = self.write("kept.csv", "keep me\n");
        fails(2, &[args, &[flag, &kept]].concat(), needle);
        assert_eq!(self.read("kept.csv"), "keep me\n");
    }

    /// Asserts that `args` with `first` and `second` naming one file fails
    /// with exit status 2 before any work: the second output would
    /// overwrite the first.
    pub fn fails_one_file_two_outputs(&self, args: &[&str], first: &str, second: &str) {
        let same = self.path("same.csv");
        fails(
            2,
            &[args, &[first, &same, second, &same]].concat(),
            "named by two outputs",
        );
    }
}
