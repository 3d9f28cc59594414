//! How the CLI fails: every failure is one line on stderr and an exit status
//! that tells a script whether to fix its input (2) or retry/investigate
//! (1).

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use gpu_cluster::Error;

/// A failure, classified by whose fault it is.
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage: missing or malformed file, bad parameter. Exit 2.
    Input(String),
    /// Failure at run time: GPU error, a file that cannot be written. Exit 1.
    Runtime(String),
}

impl Failure {
    /// A bad-input failure about `path`.
    pub fn input(path: &Path, what: impl fmt::Display) -> Self {
        Failure::Input(format!("{}: {what}", path.display()))
    }

    /// A file that could not be written.
    pub fn write(path: &Path, err: impl fmt::Display) -> Self {
        Failure::Runtime(format!("cannot write {}: {err}", path.display()))
    }

    /// The exit status for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Input(_) => ExitCode::from(2),
            Failure::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    /// The message on one line: embedded newlines (from a driver's error
    /// text, say) are folded so scripts can read exactly one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Failure::Input(m) | Failure::Runtime(m)) = self;
        let mut parts = m.lines().map(str::trim).filter(|l| !l.is_empty());
        if let Some(first) = parts.next() {
            f.write_str(first)?;
        }
        for p in parts {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

impl From<Error> for Failure {
    /// The library's classification ([`Error::is_input`]): errors caused
    /// by the data, the parameters or an input file are input errors; the
    /// rest (a file that cannot be written, no adapter, out of memory,
    /// device lost, driver errors) are run-time failures.
    fn from(e: Error) -> Self {
        match e.is_input() {
            true => Failure::Input(e.to_string()),
            false => Failure::Runtime(e.to_string()),
        }
    }
}
