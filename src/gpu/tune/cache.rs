//! The tuner's choices on disk ([`TuneCache`]): one small text file,
//! `tuned-shapes.tsv` in the cache directory, so a program run again on
//! the same GPU uses the shapes an earlier run timed instead of timing
//! them again.
//!
//! The file is a header line ([`HEADER`]), then one line per choice, its
//! fields separated by tabs: the crate version, the adapter, the driver,
//! the op, its variant, the dimension, the size class, the shape (threads
//! per workgroup, queries per thread, tile rows, threads per query), the
//! best trial in microseconds and the number of shapes timed. A line is
//! used only where the version, adapter and driver are this process's (a
//! new driver or release may change which shape is fastest, or which
//! shapes there are), and then only where its shape is still one of the
//! op's candidates on this device (`Gpu::remembered_shape`), so nothing in
//! the file can make a stage launch a shape it would not have timed.
//!
//! The file is never trusted: one without the header, larger than
//! [`MAX_BYTES`] or not UTF-8 is ignored whole, a line that does not parse
//! is ignored, and either way the shapes are timed again and the file
//! rewritten. Lines of other adapters and drivers are kept (a machine may
//! have several GPUs); lines of other releases are dropped on the next
//! write, since this release never reads them. Writes go to a temporary
//! file renamed over the old one, so no reader sees half a file; two
//! processes writing at once may lose one's new line, which costs a
//! timing in a later run.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Choice, Shape, TuneCache, TuneKey};

/// The file's name in the cache directory.
const FILE_NAME: &str = "tuned-shapes.tsv";

/// The first line of a file this format wrote.
const HEADER: &str = "# gpu-cluster tuned launch shapes, format 1";

/// Larger files are not this crate's: a few hundred bytes a line, and a
/// line per op, variant, dimension and size class tuned.
const MAX_BYTES: u64 = 1 << 20;

/// Lines kept on a write, the newest; older ones are timed again if ever
/// needed.
const MAX_LINES: usize = 1024;

/// The environment variable that overrides [`TuneCache`].
const ENV: &str = "GPU_CLUSTER_TUNE_CACHE";

/// The cache file of one device.
pub(crate) struct DiskCache {
    file: PathBuf,
    /// This process's crate version, adapter and driver, as lines hold
    /// them.
    device: [String; 3],
}

impl DiskCache {
    /// The cache for the adapter `info` describes, where `option` and
    /// `GPU_CLUSTER_TUNE_CACHE` keep one: `None` where either turns it off,
    /// where no cache directory is known, and in the browser.
    pub fn open(option: &TuneCache, info: &wgpu::AdapterInfo) -> Option<Self> {
        if cfg!(target_arch = "wasm32") {
            return None;
        }
        let dir = directory(option, |name| std::env::var_os(name))?;
        let cache = Self::in_dir(&dir, info);
        log::debug!("tuning cache: {}", cache.file.display());
        Some(cache)
    }

    fn in_dir(dir: &Path, info: &wgpu::AdapterInfo) -> Self {
        let adapter = format!(
            "{} ({:?}, {}, vendor {:#06x}, device {:#06x})",
            info.name, info.device_type, info.backend, info.vendor, info.device
        );
        let driver = format!("{} {}", info.driver, info.driver_info);
        Self {
            file: dir.join(FILE_NAME),
            device: [
                field(env!("CARGO_PKG_VERSION")),
                field(&adapter),
                field(driver.trim()),
            ],
        }
    }

    /// The choice this file holds for `key` on this device (the last line
    /// for it), marked remembered.
    pub fn lookup(&self, key: &TuneKey) -> Option<Choice> {
        let text = read(&self.file)?;
        entries(&text)
            .filter(|e| e.on(&self.device) && e.is(key))
            .last()
            .map(|e| Choice {
                remembered: true,
                ..e.choice
            })
    }

    /// Writes `choice` for `key` on this device, replacing an older line
    /// for it. A failure (a read-only home, say) is logged and otherwise
    /// ignored: the cache only saves time.
    pub fn store(&self, key: &TuneKey, choice: &Choice) {
        let Some(micros) = choice.micros else {
            // Built-in shapes cost nothing to choose again.
            return;
        };
        let line = self.line(key, choice.shape, micros, choice.candidates);
        if let Err(e) = self.write(key, &line) {
            log::warn!(
                "tuning cache: could not write {}: {e} (set {ENV}=off to keep nothing)",
                self.file.display()
            );
        }
    }

    /// The line that keeps `shape` for `key` on this device.
    fn line(&self, key: &TuneKey, shape: Shape, micros: f64, candidates: usize) -> String {
        let [version, adapter, driver] = &self.device;
        [
            version.clone(),
            adapter.clone(),
            driver.clone(),
            field(key.op),
            field(&key.variant),
            key.dim.to_string(),
            key.queries_class.to_string(),
            shape.workgroup.to_string(),
            shape.queries_per_thread.to_string(),
            shape.tile.to_string(),
            shape.threads_per_query.to_string(),
            micros.to_string(),
            candidates.to_string(),
        ]
        .join("\t")
    }

    /// Rewrites the file with `new`, the [`line`](Self::line) for `key`,
    /// after the lines of this release it held but the older one for the
    /// same key and device, the oldest dropped past [`MAX_LINES`].
    fn write(&self, key: &TuneKey, new: &str) -> std::io::Result<()> {
        let old = read(&self.file).unwrap_or_default();
        let mut lines: Vec<&str> = entries(&old)
            .filter(|e| e.device[0] == self.device[0] && !(e.on(&self.device) && e.is(key)))
            .map(|e| e.line)
            .collect();
        lines.push(new);
        let newest = &lines[lines.len().saturating_sub(MAX_LINES)..];
        let mut text = format!("{HEADER}\n");
        for line in newest {
            text.push_str(line);
            text.push('\n');
        }
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A name of its own for every write, threads of one process too.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .file
            .with_extension(format!("tsv.{}.{n}.tmp", std::process::id()));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.file).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// The directory the cache file goes in, from `option` and the environment
/// (`var` reads a variable): `GPU_CLUSTER_TUNE_CACHE=off` (or `0`,
/// `false`, `no`) turns the cache off whatever `option` says; with
/// [`TuneCache::Auto`], a directory in it is used instead of the user's
/// cache directory (`on`, `1`, `true` or `yes` keep that one).
fn directory(option: &TuneCache, var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let env = var(ENV).filter(|v| !v.is_empty());
    let word = env
        .as_ref()
        .and_then(|v| v.to_str())
        .map(|s| s.trim().to_ascii_lowercase());
    if matches!(word.as_deref(), Some("off" | "0" | "false" | "no")) {
        return None;
    }
    match option {
        TuneCache::Off => None,
        TuneCache::Dir(dir) => Some(dir.clone()),
        TuneCache::Auto => match env {
            Some(dir) if !matches!(word.as_deref(), Some("on" | "1" | "true" | "yes")) => {
                Some(PathBuf::from(dir))
            }
            _ => Some(user_cache_dir(var)?.join("gpu-cluster")),
        },
    }
}

/// The platform's per-user cache directory: `%LOCALAPPDATA%` on Windows,
/// `~/Library/Caches` on macOS, else `$XDG_CACHE_HOME` where it is an
/// absolute path (the XDG rule) or `~/.cache`. `None` where the variables
/// it needs are unset.
fn user_cache_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let path = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        path("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        path("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        path("XDG_CACHE_HOME")
            .filter(|dir| dir.is_absolute())
            .or_else(|| path("HOME").map(|home| home.join(".cache")))
    }
}

/// A value as a field of a line: control characters (tabs and line breaks
/// among them) become spaces, so a field never splits a line.
fn field(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The file's text, where it is one this crate could have written: at
/// most [`MAX_BYTES`], UTF-8.
fn read(file: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(file)
        .ok()?
        .take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= MAX_BYTES).then_some(text)
}

/// One line of the file, parsed.
struct Entry<'a> {
    line: &'a str,
    /// Crate version, adapter, driver.
    device: [&'a str; 3],
    op: &'a str,
    variant: &'a str,
    dim: usize,
    queries_class: u32,
    choice: Choice,
}

impl Entry<'_> {
    /// Whether the line was written for `device` (version, adapter,
    /// driver).
    fn on(&self, device: &[String; 3]) -> bool {
        self.device.iter().zip(device).all(|(a, b)| *a == b)
    }

    /// Whether the line holds the choice for `key`.
    fn is(&self, key: &TuneKey) -> bool {
        self.op == key.op
            && self.variant == field(&key.variant)
            && self.dim == key.dim
            && self.queries_class == key.queries_class
    }
}

/// The lines of `text` that parse, none where it does not start with the
/// header.
fn entries(text: &str) -> impl Iterator<Item = Entry<'_>> {
    let mut lines = text.lines();
    let ours = lines.next() == Some(HEADER);
    lines.filter(move |_| ours).filter_map(parse)
}

fn parse(line: &str) -> Option<Entry<'_>> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [
        version,
        adapter,
        driver,
        op,
        variant,
        dim,
        class,
        workgroup,
        qpt,
        tile,
        tpq,
        micros,
        candidates,
    ] = fields[..]
    else {
        return None;
    };
    let number = |s: &str| s.parse::<u32>().ok();
    let shape = Shape {
        workgroup: number(workgroup)?,
        queries_per_thread: number(qpt)?,
        tile: number(tile)?,
        threads_per_query: number(tpq)?,
    };
    let micros = micros
        .parse::<f64>()
        .ok()
        .filter(|us| us.is_finite() && *us >= 0.0)?;
    Some(Entry {
        line,
        device: [version, adapter, driver],
        op,
        variant,
        dim: dim.parse().ok()?,
        queries_class: number(class)?,
        choice: Choice::timed(shape, micros, candidates.parse().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, driver_info: &str) -> wgpu::AdapterInfo {
        wgpu::AdapterInfo {
            name: name.into(),
            vendor: 0x10de,
            device: 0x2335,
            device_type: wgpu::DeviceType::DiscreteGpu,
            device_pci_bus_id: String::new(),
            driver: "NVIDIA".into(),
            driver_info: driver_info.into(),
            backend: wgpu::Backend::Vulkan,
            subgroup_min_size: 32,
            subgroup_max_size: 32,
            transient_saves_memory: None,
            limit_bucket: None,
        }
    }

    fn key(dim: usize) -> TuneKey {
        TuneKey::new("kernel_sums", "gaussian".into(), dim, 1500)
    }

    fn shape(workgroup: u32) -> Shape {
        Shape {
            workgroup,
            queries_per_thread: 2,
            tile: 64,
            threads_per_query: 1,
        }
    }

    fn choice(workgroup: u32) -> Choice {
        Choice::timed(shape(workgroup), 12.5, 9)
    }

    fn cache(dir: &Path) -> DiskCache {
        DiskCache::in_dir(dir, &info("NVIDIA H200", "580.159.04"))
    }

    #[test]
    fn a_choice_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        assert_eq!(c.lookup(&key(2)), None);
        c.store(&key(2), &choice(128));
        c.store(&key(3), &choice(256));
        let back = c.lookup(&key(2)).unwrap();
        assert_eq!(
            back,
            Choice {
                remembered: true,
                ..choice(128)
            }
        );
        assert_eq!(c.lookup(&key(3)).unwrap().shape, shape(256));
        // A new choice for the same key replaces the old line.
        c.store(&key(2), &choice(64));
        assert_eq!(c.lookup(&key(2)).unwrap().shape, shape(64));
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.starts_with(HEADER));
        // Other size classes, dimensions, variants and ops are other keys.
        let other = [
            TuneKey::new("kernel_sums", "gaussian".into(), 2, 100_000),
            TuneKey::new("kernel_sums", "gaussian, weighted".into(), 2, 1500),
            TuneKey::new("other_op", "gaussian".into(), 2, 1500),
        ];
        assert!(other.iter().all(|k| c.lookup(k).is_none()));
        // Built-in shapes are not written.
        c.store(&key(5), &Choice::builtin(shape(64)));
        assert_eq!(c.lookup(&key(5)), None);
    }

    #[test]
    fn other_devices_drivers_and_releases_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let ours = cache(dir.path());
        ours.store(&key(2), &choice(128));
        let new_driver = DiskCache::in_dir(dir.path(), &info("NVIDIA H200", "590.1"));
        let other_gpu = DiskCache::in_dir(dir.path(), &info("NVIDIA H100", "580.159.04"));
        assert_eq!(new_driver.lookup(&key(2)), None);
        assert_eq!(other_gpu.lookup(&key(2)), None);
        // Another GPU's line is kept beside ours.
        other_gpu.store(&key(2), &choice(256));
        assert_eq!(ours.lookup(&key(2)).unwrap().shape, shape(128));
        assert_eq!(other_gpu.lookup(&key(2)).unwrap().shape, shape(256));
        // Another release reads nothing of ours, and its write drops our
        // lines.
        let mut other_release = cache(dir.path());
        other_release.device[0] = "0.0.1".into();
        assert_eq!(other_release.lookup(&key(2)), None);
        other_release.store(&key(3), &choice(64));
        assert_eq!(ours.lookup(&key(2)), None);
        assert_eq!(other_release.lookup(&key(3)).unwrap().shape, shape(64));
    }

    #[test]
    fn corrupt_and_foreign_files_are_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        let file = dir.path().join(FILE_NAME);
        c.store(&key(2), &choice(128));
        let good = std::fs::read_to_string(&file).unwrap();
        let line = good.lines().nth(1).unwrap();
        let bad_lines = [
            String::new(),
            "garbage".into(),
            line.replace('\t', " "),
            format!("{line}\textra"),
            line.replacen("\t128\t", "\t-1\t", 1),
            line.replacen("\t12.5\t", "\tNaN\t", 1),
            line.replacen("\t12.5\t", "\tinf\t", 1),
            line.replacen("\t12.5\t", "\t-3\t", 1),
            line.replacen("\t9", "\tnine", 1),
            line.replacen("\t2\t", "\t99999999999999999999999\t", 1),
        ];
        for bad in &bad_lines {
            std::fs::write(&file, format!("{HEADER}\n{bad}\n")).unwrap();
            assert_eq!(c.lookup(&key(2)), None, "{bad:?}");
        }
        // Good lines among bad ones are read.
        std::fs::write(
            &file,
            format!("{HEADER}\n{}\n{line}\n", bad_lines.join("\n")),
        )
        .unwrap();
        assert!(c.lookup(&key(2)).is_some());
        // Without the header, not UTF-8, too large, a directory, or
        // missing: ignored whole.
        std::fs::write(&file, format!("{line}\n")).unwrap();
        assert_eq!(c.lookup(&key(2)), None);
        std::fs::write(&file, [0xff, 0xfe, 0x00, 0x80]).unwrap();
        assert_eq!(c.lookup(&key(2)), None);
        let mut huge = good.clone();
        while huge.len() as u64 <= MAX_BYTES {
            huge.push_str(line);
            huge.push('\n');
        }
        std::fs::write(&file, &huge).unwrap();
        assert_eq!(c.lookup(&key(2)), None);
        // A write replaces what it could not read, and is then read.
        c.store(&key(2), &choice(256));
        assert_eq!(c.lookup(&key(2)).unwrap().shape, shape(256));
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        assert_eq!(c.lookup(&key(2)), None);
        // Writing over a directory fails, and only logs.
        c.store(&key(2), &choice(256));
        assert!(file.is_dir());
    }

    #[test]
    fn tabs_and_line_breaks_in_names_stay_in_their_field() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::in_dir(dir.path(), &info("odd\tname\nhere", "a\r\nb"));
        let k = TuneKey::new("kernel_sums", "gauss\tian".into(), 2, 10);
        c.store(&k, &choice(128));
        assert_eq!(c.lookup(&k).unwrap().shape, shape(128));
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("odd name here"), "{text}");
    }

    #[test]
    fn old_lines_give_way_to_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path());
        let mut text = format!("{HEADER}\n");
        for dim in 1..=MAX_LINES + 1 {
            text.push_str(&c.line(&key(dim), shape(64), 1.0, 9));
            text.push('\n');
        }
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
        assert!(c.lookup(&key(1)).is_some());
        c.store(&key(MAX_LINES + 2), &choice(64));
        assert_eq!(c.lookup(&key(1)), None);
        assert_eq!(c.lookup(&key(2)), None);
        assert!(c.lookup(&key(3)).is_some());
        assert!(c.lookup(&key(MAX_LINES + 2)).is_some());
    }

    #[test]
    fn the_option_and_the_environment_choose_the_directory() {
        let env = |value: Option<&'static str>| {
            move |name: &str| match name {
                ENV => value.map(OsString::from),
                "HOME" => Some("/home/u".into()),
                _ => None,
            }
        };
        let dir = TuneCache::Dir("/d".into());
        let home = || user_cache_dir(env(None)).map(|d| d.join("gpu-cluster"));
        assert!(home().is_some());
        assert_eq!(directory(&TuneCache::Auto, env(None)), home());
        assert_eq!(directory(&TuneCache::Auto, env(Some(""))), home());
        assert_eq!(directory(&TuneCache::Auto, env(Some("on"))), home());
        assert_eq!(
            directory(&TuneCache::Auto, env(Some("/e"))),
            Some("/e".into())
        );
        assert_eq!(directory(&dir, env(None)), Some("/d".into()));
        assert_eq!(directory(&dir, env(Some("/e"))), Some("/d".into()));
        // Off by the option or by the environment, whatever the other says.
        assert_eq!(directory(&TuneCache::Off, env(None)), None);
        assert_eq!(directory(&TuneCache::Off, env(Some("/e"))), None);
        for off in ["off", "OFF", "0", "false", "no", " off "] {
            assert_eq!(directory(&TuneCache::Auto, env(Some(off))), None, "{off}");
            assert_eq!(directory(&dir, env(Some(off))), None, "{off}");
        }
        // No home and no cache directory: nothing kept.
        assert_eq!(directory(&TuneCache::Auto, |_: &str| None), None);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn the_user_cache_directory_follows_xdg() {
        let vars = |xdg: Option<&'static str>, home: Option<&'static str>| {
            move |name: &str| match name {
                "XDG_CACHE_HOME" => xdg.map(OsString::from),
                "HOME" => home.map(OsString::from),
                _ => None,
            }
        };
        let dir = |xdg, home| user_cache_dir(vars(xdg, home));
        assert_eq!(dir(Some("/x"), Some("/h")), Some("/x".into()));
        assert_eq!(dir(None, Some("/h")), Some("/h/.cache".into()));
        // A relative XDG_CACHE_HOME is invalid (the XDG rule), an empty one
        // unset.
        assert_eq!(dir(Some("rel"), Some("/h")), Some("/h/.cache".into()));
        assert_eq!(dir(Some(""), Some("/h")), Some("/h/.cache".into()));
        assert_eq!(dir(None, None), None);
    }
}
