//! Points from and to files: CSV and numpy's `.npy` (the `io` feature).
//!
//! The format is chosen by the extension, in any case ([`Format`]):
//!
//! - **`.csv`**: numbers separated by a comma, tab, semicolon or runs of
//!   spaces, as pandas, R, spreadsheets and `numpy.savetxt` write them.
//!   Blank lines are skipped, fields trimmed, double quotes understood.
//! - **`.npy`**: a 2-D array of little-endian `float32` or `float64`, C or
//!   Fortran order. `float64` values that `f32` cannot hold are kept in
//!   `f64` ([`Points::from_f64`], [`Points::has_f64`]) beside their `f32`
//!   roundings; one too large for `f32` is an error, not an infinity.
//!
//! A CSV file leaves three things open, and a wrong guess would cluster the
//! wrong numbers without a word, so each guess is either safe or refused,
//! and [`ReadInfo`] says what was read:
//!
//! - **the delimiter**: the one of `,` tab `;` that splits each of the
//!   first 20 lines into the same number of fields, more than one; else
//!   runs of spaces if they do; else a comma (a single column). Two that
//!   both do (`1,5;2,5`) are refused.
//! - **the header**: a first row of numbers is data, one of names is a
//!   header; a row of both, an empty field or a mangled number is as likely
//!   a typo in the first data row as a header, so it is refused.
//! - **a pandas index**: a first column under an empty header field, as
//!   `DataFrame.to_csv()` writes it, is left out, with a note. A first
//!   column that counts the rows (0, 1, 2, ... or 1, 2, 3, ...) is kept
//!   (it may be data), also with a note.
//!
//! [`ReadOptions`] settles each of them instead, and selects and orders the
//! columns (also of a `.npy`).
//!
//! Every problem is an [`Error::Read`] naming the file and where in it:
//! lines and columns count from 1, as an editor and [`Columns`] count them,
//! and always count the file's columns (after a pandas index, through a
//! column selection); `.npy` elements also carry numpy's 0-based index. The
//! values are checked by the [`Points`] constructors, so a file is refused
//! for what other input would be (no rows, values not finite as `f32`).
//! The messages name the options by the command line's spelling, which
//! maps one to one onto [`ReadOptions`]: `--delimiter` is
//! [`delimiter`](ReadOptions::delimiter), `--header yes|no` is
//! [`header`](ReadOptions::header), `--columns` is
//! [`columns`](ReadOptions::columns).
//!
//! The library never prints: what a person should hear about (a column
//! left out unasked) is in [`ReadInfo::notes`].
//!
//! Writing is [`write_points`] to a file, or [`write_csv`] and
//! [`write_npy`] to any [`std::io::Write`]; both formats give the same
//! `f32` bits back when read.
//!
//! ```no_run
//! use gpu_cluster::io::{self, ReadOptions};
//!
//! let options = ReadOptions {
//!     columns: Some("2-3".parse().expect("a column list")),
//!     ..ReadOptions::default()
//! };
//! let (points, info) = io::read_points_with("iris.csv", &options)?;
//! eprintln!("{info}"); // iris.csv: header yes, 2 of 5 columns (2-3)
//! for note in info.notes() {
//!     eprintln!("note: {note}");
//! }
//! io::write_points("iris.npy", &points)?;
//! # Ok::<(), gpu_cluster::Error>(())
//! ```

mod columns;
mod csv;
mod npy;

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use self::columns::{Columns, Delimiter};
pub use self::csv::{write_csv, write_points_csv};
pub use self::npy::write_npy;
use crate::{Error, Points, Result};

/// The file formats read and written, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `.csv`: text, one point per line.
    Csv,
    /// `.npy`: numpy's binary array format.
    Npy,
}

impl Format {
    /// The format `path`'s extension names, in any case (`.CSV` too);
    /// `None` for any other.
    ///
    /// ```
    /// use gpu_cluster::io::Format;
    /// assert_eq!(Format::from_path("data/x.NPY"), Some(Format::Npy));
    /// assert_eq!(Format::from_path("notes.txt"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<Self> {
        match path
            .as_ref()
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Some(Format::Csv),
            Some("npy") => Some(Format::Npy),
            _ => None,
        }
    }
}

/// The reason given for a path of neither format.
const UNKNOWN_TYPE: &str = "unknown file type: use a .csv or .npy file";

/// How to read a file; the default guesses everything a CSV file leaves
/// open (and refuses what it cannot guess safely; see the [module
/// docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// CSV only: the field separator; `None` sniffs it from the first lines.
    pub delimiter: Option<Delimiter>,
    /// CSV only: whether the first row is a header; `None` guesses.
    pub header: Option<bool>,
    /// The columns to read, in this order; `None`: all but a pandas index.
    pub columns: Option<Columns>,
}

/// What was read from a file: the guesses made and the columns taken.
///
/// Its [`Display`](fmt::Display) is a one-line summary for a log or a
/// run's report, e.g. `p.csv: header yes, 2 of 3 columns (2-3; 1 is a
/// pandas index)` or `t.csv: header no, 2 columns, delimiter tab
/// (detected)`: the header only for CSV, the columns only when some were
/// left out, the delimiter only when it is not a comma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadInfo {
    path: PathBuf,
    /// CSV: whether the first row was a header.
    header: Option<bool>,
    /// CSV: the delimiter, and whether it was sniffed rather than given.
    delimiter: Option<(Delimiter, bool)>,
    /// The 0-based file columns read, and how many the file has.
    columns: Vec<usize>,
    width: usize,
    pandas_index: bool,
    /// What a person should hear about, once the file is read.
    notes: Vec<String>,
}

impl ReadInfo {
    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// CSV: whether the first row was a header (given or guessed); `None`
    /// for a `.npy`.
    pub fn header(&self) -> Option<bool> {
        self.header
    }

    /// CSV: the delimiter (given or sniffed); `None` for a `.npy`.
    pub fn delimiter(&self) -> Option<Delimiter> {
        self.delimiter.map(|(d, _)| d)
    }

    /// The file's columns that became the points' columns, in order,
    /// counted from 0.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// How many columns the file has.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The 1-based file column that column `col` (0-based) of the points
    /// came from, for messages about a column of the data (the library's
    /// errors count the points' columns from 0).
    ///
    /// ```no_run
    /// # use gpu_cluster::io;
    /// // p.csv, from pandas: ",x,y\n0,1,2\n"; the index is left out.
    /// let (_, info) = io::read_points_with("p.csv", &Default::default())?;
    /// assert_eq!(info.file_column(0), 2);
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn file_column(&self, col: usize) -> usize {
        self.columns.get(col).map_or(col, |&c| c) + 1
    }

    /// What a person should be told about the read, one sentence each,
    /// without the file's name: a pandas index left out, a first column
    /// that counts the rows like an index. The library prints nothing; a
    /// program passes these on (the command line prints `note: {path}:
    /// {note}` on stderr).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

impl fmt::Display for ReadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        if let Some(header) = self.header {
            write!(f, "header {}, ", if header { "yes" } else { "no" })?;
        }
        let plural = if self.width == 1 { "" } else { "s" };
        if self.columns.iter().copied().eq(0..self.width) {
            write!(f, "{} column{plural}", self.width)?;
        } else {
            let (n, list) = (self.columns.len(), columns::column_list(&self.columns));
            write!(f, "{n} of {} column{plural} ({list}", self.width)?;
            if self.pandas_index {
                f.write_str("; 1 is a pandas index")?;
            }
            f.write_str(")")?;
        }
        match self.delimiter {
            Some((d, sniffed)) if d != Delimiter::COMMA => {
                write!(
                    f,
                    ", delimiter {d}{}",
                    if sniffed { " (detected)" } else { "" }
                )
            }
            _ => Ok(()),
        }
    }
}

/// Reads the points in `path` with the default options: everything a CSV
/// file leaves open is guessed (see [`read_points_with`]), and the notes
/// are dropped.
///
/// ```no_run
/// let points = gpu_cluster::io::read_points("blobs.npy")?;
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub fn read_points(path: impl AsRef<Path>) -> Result<Points> {
    read_points_with(path, &ReadOptions::default()).map(|(points, _)| points)
}

/// Reads the points in `path` as `options` say, and what was read.
///
/// Every problem is an [`Error::Read`] naming the file and, where it
/// applies, the line and column (from 1) or the element: an unknown
/// extension, a file that cannot be opened, a guess that cannot be trusted
/// (with the option that settles it), a field that is not a number, ragged
/// rows, a value not finite as `f32`, no rows.
///
/// ```
/// use gpu_cluster::io::{ReadOptions, read_points_with};
///
/// let path = std::env::temp_dir().join(format!("gpu-cluster-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, ",x,y\n0,1.5,2\n1,3,4\n")?; // pandas' to_csv()
/// let read = read_points_with(&path, &ReadOptions::default());
/// std::fs::remove_file(&path)?;
/// let (points, info) = read?;
/// assert_eq!(points.as_slice(), [1.5, 2.0, 3.0, 4.0]);
/// assert!(info.to_string().ends_with("header yes, 2 of 3 columns (2-3; 1 is a pandas index)"));
/// assert_eq!(info.notes(), ["dropped the first column, a pandas index (empty header field)"]);
///
/// // A first row of a name and a number, a header or a typo? Refused,
/// // naming the way out; the `header` option settles it.
/// std::fs::write(&path, "x,1\n2,1\n")?;
/// let refused = read_points_with(&path, &ReadOptions::default());
/// let options = ReadOptions { header: Some(true), ..ReadOptions::default() };
/// let read = read_points_with(&path, &options);
/// std::fs::remove_file(&path)?;
/// assert!(refused.unwrap_err().to_string().contains("say which with --header yes or --header no"));
/// assert_eq!(read?.0.as_slice(), [2.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_points_with(
    path: impl AsRef<Path>,
    options: &ReadOptions,
) -> Result<(Points, ReadInfo)> {
    let path = path.as_ref();
    let fail = |reason: String| Error::Read {
        path: path.to_path_buf(),
        reason,
    };
    let format = Format::from_path(path).ok_or_else(|| fail(UNKNOWN_TYPE.into()))?;
    let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    match format {
        Format::Csv => csv::read_csv(path, file, options),
        Format::Npy => {
            let len = file.metadata().ok().map(|m| m.len());
            npy::read_npy(path, file, len, options)
        }
    }
    .map_err(fail)
}

/// Writes `points` to `path` in the format its extension names: CSV rows
/// without a header ([`write_points_csv`]) or a 2-D little-endian `.npy`
/// in C order ([`write_npy`]), both in the values' precision (`f64` for
/// points that hold `f64` values, `f32` otherwise). Either reads back as
/// the same values.
///
/// An existing file is replaced. Every failure, flushing included, is an
/// [`Error::Write`] naming the file: an unknown extension, a directory
/// that does not exist, no permission, a full disk.
///
/// ```no_run
/// use gpu_cluster::Blobs;
/// let data = Blobs::default().generate()?;
/// gpu_cluster::io::write_points("blobs.npy", &data.points)?;
/// gpu_cluster::io::write_points("centroids.csv", &data.centroids)?;
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub fn write_points(path: impl AsRef<Path>, points: &Points) -> Result<()> {
    let path = path.as_ref();
    let fail = |reason: String| Error::Write {
        path: path.to_path_buf(),
        reason,
    };
    let format = Format::from_path(path).ok_or_else(|| fail(UNKNOWN_TYPE.into()))?;
    let file = File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut w = BufWriter::new(file);
    match format {
        Format::Csv => write_points_csv(&mut w, points),
        Format::Npy => write_npy(&mut w, points),
    }
    .and_then(|()| w.flush())
    .map_err(|e| fail(e.to_string()))
}
