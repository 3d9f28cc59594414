//! `gpu-cluster`: clustering and nearest neighbours from the command line (see `--help`).
//!
//! The flags, defaults, file formats and exit statuses are a contract that
//! scripts depend on: 0 on success, 2 with a one-line message for bad input
//! or usage, 1 for a failure at run time. A reader that closes stdout early
//! (`| head -1`) is no failure: output stops quietly and the status is 0.

mod args;
mod blobs;
mod dbscan;
mod estimate;
mod fail;
mod input;
mod kmeans;
mod knn;
mod meanshift;
mod output;
mod predict;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use output::note;

fn main() -> ExitCode {
    quiet_vulkan_layer();
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let result = match &cli.command {
        Command::Meanshift(a) => meanshift::run(a),
        Command::Kmeans(a) => kmeans::run(a),
        Command::Dbscan(a) => dbscan::run(a),
        Command::Knn(a) => knn::run(a),
        Command::Blobs(a) => blobs::run(a),
        Command::EstimateBandwidth(a) => estimate::run(a),
        Command::Predict(a) => predict::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            note(format_args!("error: {failure}"));
            failure.exit_code()
        }
    }
}

/// `--help` and `--version` print as usual and succeed; every other parse
/// error becomes the contract's one line on stderr and exit status 2
/// (clap's own rendering adds a usage block and a hint over several lines).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Ignored like every write of a closed pipe (`--help | head`).
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            note(format_args!(
                "error: a subcommand is required (meanshift, kmeans, dbscan, knn, estimate-bandwidth, predict or blobs); see --help"
            ));
            ExitCode::from(2)
        }
        _ => {
            // Clap's message goes on over several lines (the missing
            // arguments, the possible values, a tip such as "a similar
            // argument exists: '--bandwidth'"): they are folded into the one
            // line, without the usage block and the pointer to --help.
            let rendered = e.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:"))
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect();
            let message = match message.join(" ") {
                m if m.is_empty() => "error: invalid usage".to_string(),
                m => m,
            };
            note(format_args!("{message} (see --help)"));
            ExitCode::from(2)
        }
    }
}

/// Without a desktop session (`XDG_RUNTIME_DIR` unset, as over SSH or in
/// CI), Mesa's Vulkan device-select layer tries to reach a Wayland display
/// every time adapters are listed, and libwayland prints "error:
/// XDG_RUNTIME_DIR is invalid or not set" to standard error: lines that
/// look like this tool's errors while everything works. The layer only
/// orders GPUs for a display, so with no session and no explicit choice
/// (`MESA_VK_DEVICE_SELECT`, `DRI_PRIME`) it is switched off with its own
/// switch, `NODEVICE_SELECT`. Runs first, before any thread exists.
fn quiet_vulkan_layer() {
    let session =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_absolute());
    let chosen = ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "DRI_PRIME"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !session && !chosen {
        // SAFETY: called at the start of `main`, before any other thread
        // could read the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}
