//! Host time per fit: what the library and wgpu spend on the CPU to make,
//! check, submit and read back a fit's GPU work, apart from the kernels.
//!
//! ```text
//! cargo run --release --example host_time -- [--n 1500] [--d 2] [--iterations 5]
//!     [--reps 200] [--warmup 20] [--out PATH]
//! ```
//!
//! On a GPU the wall time of a small fit is the kernels plus this host
//! time, and the two overlap only partly; timestamps give the kernels'
//! share (`Context::gpu_time`), and this gives the rest on any machine.
//! The fits run on wgpu's no-op backend, which creates and maps buffers,
//! copies and clears them, and validates every pipeline, bind group and
//! pass, but runs no shader: the wall time is then the host's work alone.
//! A hardware driver adds its own work on top (recording its command
//! buffers, compiling each pipeline once), which no machine without that
//! driver can show. The device is opened with the timestamp queries a
//! hardware adapter has, so their host work is counted too.
//!
//! The fits compute nothing (no shader runs), so their clusters are
//! meaningless; each is a blurring fit of a fixed number of iterations,
//! whose work does not depend on what the kernels would have found. The
//! no-op adapter is opened as a CPU device, so the built-in launch
//! shapes are used and none are timed (timing kernels that do not run
//! would measure nothing).
//!
//! Prints a markdown table, one row per N: the median and the fastest fit
//! and the median per iteration, in microseconds, then what each fit
//! created on the device (buffers and bind groups: a pool and a cache keep
//! them from fit to fit) and uploaded, on average. `--out PATH` writes the
//! table there too (`bench/device-run` stage h, on the device's CPU).

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use gpu_cluster::{Blobs, Context, DeviceStats, Kernel, MeanShift, Points};

/// The reference workload's bandwidth.
const BANDWIDTH: f32 = 2.5;

#[derive(Parser, Debug)]
#[command(about = "Host time per fit, on wgpu's no-op backend (no shader runs)")]
struct Args {
    /// Points per fit (blobs of 250 points; 1500 is the reference workload).
    #[arg(long, value_delimiter = ',', default_value = "1500", value_parser = at_least_one())]
    n: Vec<usize>,
    /// Coordinates per point.
    #[arg(long, default_value_t = 2, value_parser = at_least_one())]
    d: usize,
    /// Blurring iterations per fit.
    #[arg(long, default_value_t = 5, value_parser = at_least_one())]
    iterations: usize,
    /// Timed fits per N.
    #[arg(long, default_value_t = 200, value_parser = at_least_one())]
    reps: usize,
    /// Untimed fits first, which build the pipelines.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Also write the table there.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Counts of at least one.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// A context on wgpu's no-op backend, with the WebGPU default limits but
/// the largest bindings the backend allows, as a hardware GPU's are large.
fn noop_context() -> Result<Context, Box<dyn Error>> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::NOOP,
        backend_options: wgpu::BackendOptions {
            noop: wgpu::NoopBackendOptions {
                device_type: Some(wgpu::DeviceType::Cpu),
                ..wgpu::NoopBackendOptions::enabled()
            },
            ..Default::default()
        },
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
    let most = adapter.limits();
    let limits = wgpu::Limits {
        max_storage_buffer_binding_size: most.max_storage_buffer_binding_size,
        max_buffer_size: most.max_buffer_size,
        ..wgpu::Limits::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("host_time"),
        required_limits: limits,
        required_features: wgpu::Features::TIMESTAMP_QUERY,
        ..Default::default()
    }))?;
    Ok(Context::from_wgpu(device, queue))
}

/// What the context has created and moved so far.
fn stats(ctx: &Context) -> Result<DeviceStats, Box<dyn Error>> {
    ctx.device_stats()
        .ok_or_else(|| "the no-op context is not a GPU context".into())
}

fn median(sorted: &[f64]) -> f64 {
    let m = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[m]
    } else {
        (sorted[m - 1] + sorted[m]) / 2.0
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let ctx = noop_context()?;
    let mut md = String::new();
    writeln!(
        md,
        "Host time per fit on wgpu's no-op backend ({ctx}): no shader runs, so this is \
         not kernel time. Blurring mean shift, gaussian, h = {BANDWIDTH}, {} iterations; \
         {} timed fits after {} untimed. Buffers and bind groups: created per fit, on \
         average; uploaded: bytes per fit.\n",
        args.iterations, args.reps, args.warmup
    )?;
    writeln!(
        md,
        "| N | D | median (us) | fastest (us) | median per iteration (us) | buffers | bind groups | uploaded (B) |"
    )?;
    writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    print!("{md}");
    for &n in &args.n {
        let data = Blobs {
            clusters: n.div_ceil(250),
            dim: args.d,
            ..Blobs::default()
        }
        .generate()?;
        let x = Points::new(&data.points.as_slice()[..n * args.d], args.d)?;
        let fit = || {
            MeanShift::new(BANDWIDTH)
                .kernel(Kernel::Gaussian)
                .blurring(args.iterations)
                .fit(&ctx, &x)
        };
        for _ in 0..args.warmup {
            fit()?;
        }
        let before = stats(&ctx)?;
        let mut times = Vec::with_capacity(args.reps);
        for _ in 0..args.reps {
            let start = Instant::now();
            std::hint::black_box(fit()?);
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        let after = stats(&ctx)?;
        let per_fit = |a: u64, b: u64| (a - b) as f64 / args.reps as f64;
        times.sort_by(f64::total_cmp);
        let med = median(&times);
        let row = format!(
            "| {n} | {} | {med:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            args.d,
            times[0],
            med / args.iterations as f64,
            per_fit(after.buffers_created, before.buffers_created),
            per_fit(after.bind_groups_created, before.bind_groups_created),
            per_fit(after.uploaded_bytes, before.uploaded_bytes),
        );
        println!("{row}");
        writeln!(md, "{row}")?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, md)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("host_time: {e}");
            ExitCode::FAILURE
        }
    }
}
