//! `gpu-cluster`: clustering from the command line (see `--help`).
//!
//! The flags, defaults, file formats and exit statuses are a contract that
//! scripts depend on: 0 on success, 2 with a one-line message for bad input
//! or usage, 1 for a failure at run time.

mod args;
mod blobs;
mod fail;
mod input;
mod meanshift;
mod output;
mod progress;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    // This crate's warnings by default, so the note that `--backend auto`
    // fell back to the CPU is seen, but not the graphics stack's chatter
    // while probing adapters (an EGL failure is no error when Vulkan
    // works); RUST_LOG overrides. One plain line per record, like every
    // other line the tool writes to stderr.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("gpu_cluster=warn"))
        .format(|buf, record| {
            writeln!(
                buf,
                "{}: {}",
                record.level().as_str().to_ascii_lowercase(),
                record.args()
            )
        })
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Meanshift(a) => meanshift::run(a),
        Command::Blobs(a) => blobs::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            note(format_args!("error: {failure}"));
            failure.exit_code()
        }
    }
}

/// One line on stderr. A closed stderr is ignored rather than a panic (as
/// `eprintln!` would): the exit status still tells the caller how it went.
fn note(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
