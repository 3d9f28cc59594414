//! Reading the points to cluster from `.csv` or `.npy`.
//!
//! The library's `Points` constructors do the validation (empty data,
//! non-finite values, `f64` values too large for `f32`), so the CLI and the
//! library reject the same data; this module only adds where in the file the
//! problem is. Lines and columns count from 1, as an editor and `--columns`
//! count them; `.npy` elements also carry numpy's 0-based index.
//!
//! CSV files come from pandas, R, spreadsheets and `numpy.savetxt`, so the
//! reader must guess the delimiter, whether the first row is a header and
//! whether the first column is a pandas index. A wrong guess clusters the
//! wrong numbers without a word, so no guess is silent: [`InputInfo`] says
//! what was read, a dropped column is noted on stderr, and a guess that
//! cannot be trusted is refused with the option that settles it.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use csv::StringRecord;
use gpu_cluster::{Error, Points};
use npyz::{DType, Endianness, NpyFile, Order, TypeChar};

use crate::fail::Failure;
use crate::output::note;

/// The file formats the CLI reads and writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Npy,
}

impl Format {
    /// The format a path's extension names (case-insensitive). `-`, standard
    /// output, is CSV: text is what a pipe expects.
    pub fn of(path: &Path) -> Result<Self, Failure> {
        if path == Path::new("-") {
            return Ok(Format::Csv);
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            _ => Err(Failure::input(
                path,
                "unknown file type: use a .csv or .npy file",
            )),
        }
    }
}

/// How to read an input file; the default guesses everything a CSV file
/// leaves open (and refuses what it cannot guess safely).
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// CSV only: the field separator; `None` sniffs it from the first lines.
    pub delimiter: Option<Delimiter>,
    /// CSV only: whether the first row is a header; `None` guesses.
    pub header: Option<bool>,
    /// The columns to read, in this order; `None`: all but a pandas index.
    pub columns: Option<Columns>,
}

/// How the fields of a CSV line are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// One byte, such as `,` `;` `|` or a tab; double quotes work as in
    /// RFC 4180.
    Byte(u8),
    /// Runs of spaces and tabs, as `numpy.savetxt` and aligned tables have.
    Whitespace,
}

impl Delimiter {
    pub const COMMA: Self = Delimiter::Byte(b',');
    const TAB: Self = Delimiter::Byte(b'\t');
    const SEMICOLON: Self = Delimiter::Byte(b';');
}

impl FromStr for Delimiter {
    type Err = String;

    /// One punctuation character, `tab` (or `\t`), or `space` (runs of
    /// spaces and tabs: a single-space split would make empty fields of
    /// aligned columns).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tab" | "\\t" | "\t" => Ok(Self::TAB),
            "space" | " " => Ok(Self::Whitespace),
            _ => match *s.as_bytes() {
                [b] if b.is_ascii_punctuation() && b != b'"' => Ok(Self::Byte(b)),
                _ => Err("expected one punctuation character, `tab` or `space`".into()),
            },
        }
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Byte(b'\t') => f.write_str("tab"),
            Self::Byte(b) => write!(f, "'{}'", b as char),
            Self::Whitespace => f.write_str("space"),
        }
    }
}

/// Columns to read, as `--columns` lists them: comma-separated 1-based
/// numbers, inclusive ranges `a-b`, and header names, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns(Vec<Column>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// 1-based, inclusive; a single number `n` is `Range(n, n)`.
    Range(usize, usize),
    Name(String),
}

impl FromStr for Columns {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let item = |item: &str| {
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                _ if item.is_empty() => Err("an empty item in the list".to_string()),
                (Ok(0), _) | (_, Ok(0)) => Err(format!("{item}: columns count from 1")),
                (Ok(a), Ok(b)) if a > b => Err(format!("{item}: a range runs low to high")),
                (Ok(a), Ok(b)) => Ok(Column::Range(a, b)),
                _ => Ok(Column::Name(item.to_string())),
            }
        };
        s.split(',')
            .map(|i| item(i.trim()))
            .collect::<Result<_, _>>()
            .map(Columns)
    }
}

impl Columns {
    fn has_names(&self) -> bool {
        self.0.iter().any(|c| matches!(c, Column::Name(_)))
    }

    /// The 0-based file columns, in the order listed, of rows of `width`
    /// fields; names are looked up in `header`.
    fn resolve(&self, width: usize, header: Option<&StringRecord>) -> Result<Vec<usize>, String> {
        let mut cols = Vec::new();
        for c in &self.0 {
            match c {
                &Column::Range(_, b) if b > width => {
                    return Err(format!("--columns asks for column {b} of {width}"));
                }
                &Column::Range(a, b) => cols.extend(a - 1..b),
                Column::Name(name) => {
                    let Some(header) = header else {
                        return Err(format!("--columns {name}: no header to look names up in"));
                    };
                    let Some(i) = header.iter().position(|h| h == name) else {
                        let names: Vec<&str> = header.iter().collect();
                        return Err(format!(
                            "--columns {name}: no such column in the header ({})",
                            names.join(", ")
                        ));
                    };
                    cols.push(i);
                }
            }
        }
        match cols
            .iter()
            .enumerate()
            .find(|(i, c)| cols[..*i].contains(c))
        {
            Some((_, c)) => Err(format!("--columns lists column {} twice", c + 1)),
            None => Ok(cols),
        }
    }
}

/// What was read from an input file, for the run's summary: its
/// [`Display`](fmt::Display) is one line, e.g. `p.csv: header yes, 2 of 3
/// columns (2-3; 1 is a pandas index)`.
#[derive(Debug, Clone)]
pub struct InputInfo {
    path: PathBuf,
    /// CSV: whether the first row was a header.
    header: Option<bool>,
    /// CSV: the delimiter, and whether it was sniffed rather than given.
    delimiter: Option<(Delimiter, bool)>,
    /// The 0-based file columns read, and how many the file has.
    columns: Vec<usize>,
    width: usize,
    pandas_index: bool,
    /// Said on stderr once the file is read.
    notes: Vec<String>,
}

impl InputInfo {
    /// The 1-based file column that column `col` (0-based) of the points
    /// came from, for messages about a column of the data.
    pub fn file_column(&self, col: usize) -> usize {
        self.columns.get(col).map_or(col, |&c| c) + 1
    }
}

impl fmt::Display for InputInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        if let Some(header) = self.header {
            write!(f, "header {}, ", if header { "yes" } else { "no" })?;
        }
        let plural = if self.width == 1 { "" } else { "s" };
        if self.columns.iter().copied().eq(0..self.width) {
            write!(f, "{} column{plural}", self.width)?;
        } else {
            let (n, list) = (self.columns.len(), column_list(&self.columns));
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

/// 0-based columns as a `--columns` list: 1-based, runs as ranges.
fn column_list(cols: &[usize]) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cols.len() {
        let mut j = i;
        while j + 1 < cols.len() && cols[j + 1] == cols[j] + 1 {
            j += 1;
        }
        items.push(match j > i {
            true => format!("{}-{}", cols[i] + 1, cols[j] + 1),
            false => format!("{}", cols[i] + 1),
        });
        i = j + 1;
    }
    items.join(",")
}

/// Reads the points in `path` with the default options: everything a CSV
/// file leaves open is guessed (see [`read_points_with`]).
pub fn read_points(path: &Path) -> Result<Points, Failure> {
    read_points_with(path, &InputOptions::default()).map(|(points, _)| points)
}

/// Reads the points in `path` as `options` say, and what was read. Every
/// problem is a [`Failure::Input`] naming the file and, where it applies,
/// the line and column or the element; a column dropped unasked, or one
/// that looks like a row index, is noted on stderr.
pub fn read_points_with(
    path: &Path,
    options: &InputOptions,
) -> Result<(Points, InputInfo), Failure> {
    let format = Format::of(path)?;
    let file = File::open(path).map_err(|e| Failure::input(path, format!("cannot open: {e}")))?;
    let read = match format {
        Format::Csv => read_csv(path, file, options),
        Format::Npy => read_npy(path, file, options),
    };
    let (points, info) = read.map_err(|what| Failure::input(path, what))?;
    for line in &info.notes {
        note(format_args!("note: {}: {line}", path.display()));
    }
    Ok((points, info))
}

/// The non-blank lines of a CSV file split into trimmed fields: by the `csv`
/// crate for a one-byte delimiter (quotes understood), or at runs of
/// whitespace.
enum Records<R> {
    Csv(csv::Reader<R>),
    Whitespace { input: R, line: u64, text: String },
}

impl<R: BufRead> Records<R> {
    fn new(input: R, delimiter: Delimiter) -> Self {
        match delimiter {
            Delimiter::Byte(b) => Records::Csv(
                csv::ReaderBuilder::new()
                    .delimiter(b)
                    .has_headers(false)
                    .flexible(true)
                    .trim(csv::Trim::All)
                    .from_reader(input),
            ),
            Delimiter::Whitespace => Records::Whitespace {
                input,
                line: 0,
                text: String::new(),
            },
        }
    }

    /// Reads the next record into `rec`; its line in the file, or `None` at
    /// the end.
    fn next(&mut self, rec: &mut StringRecord) -> Result<Option<u64>, String> {
        match self {
            Records::Csv(reader) => match reader.read_record(rec) {
                Ok(more) => Ok(more.then(|| rec.position().map_or(0, csv::Position::line))),
                Err(e) => Err(e.to_string()),
            },
            Records::Whitespace { input, line, text } => loop {
                text.clear();
                *line += 1;
                match input.read_line(text) {
                    Ok(0) => return Ok(None),
                    Ok(_) if text.trim().is_empty() => {}
                    Ok(_) => {
                        rec.clear();
                        // A byte-order mark (Excel, Notepad) is no part of
                        // the first field; the `csv` crate drops it too.
                        let text = text.trim_start_matches('\u{feff}');
                        text.split_whitespace().for_each(|f| rec.push_field(f));
                        return Ok(Some(*line));
                    }
                    Err(e) => return Err(format!("line {line}: {e}")),
                }
            },
        }
    }
}

/// How much of a CSV file the delimiter is sniffed from.
const SNIFF_BYTES: u64 = 64 << 10;
const SNIFF_LINES: usize = 20;

/// The delimiter that splits each of the first lines into the same number
/// of fields, more than one: a comma, tab or semicolon, else runs of
/// spaces; a comma when none does (one column, or ragged rows that the
/// reader then reports). Two that both do are refused: `1,5;2,5` is either.
fn sniff(head: &[u8]) -> Result<Delimiter, String> {
    let splits_evenly = |d: Delimiter| {
        let (mut records, mut rec, mut width) = (Records::new(head, d), StringRecord::new(), 0);
        for _ in 0..SNIFF_LINES {
            match records.next(&mut rec) {
                Ok(Some(_)) if width == 0 || width == rec.len() => width = rec.len(),
                Ok(Some(_)) => return false,
                _ => break,
            }
        }
        width > 1
    };
    let even: Vec<Delimiter> = [Delimiter::COMMA, Delimiter::TAB, Delimiter::SEMICOLON]
        .into_iter()
        .filter(|&d| splits_evenly(d))
        .collect();
    match even[..] {
        [d] => Ok(d),
        [] if splits_evenly(Delimiter::Whitespace) => Ok(Delimiter::Whitespace),
        [] => Ok(Delimiter::COMMA),
        [a, b, ..] => Err(format!(
            "both {a} and {b} split the first lines evenly: say which with --delimiter"
        )),
    }
}

/// What a field of the first row says about it.
#[derive(PartialEq)]
enum Kind {
    Number,
    /// Starts like a name: not a digit, sign or point.
    Name,
    /// Empty, or starts like a number but is none: a typo in data.
    Other,
}

impl Kind {
    fn of(field: &str) -> Kind {
        if field.parse::<f64>().is_ok() {
            Kind::Number
        } else if field.starts_with(|c: char| !(c.is_ascii_digit() || "+-.".contains(c))) {
            Kind::Name
        } else {
            Kind::Other
        }
    }
}

/// A pandas `to_csv()` header: an empty first field over the index, names
/// over the columns, and an index value on the next row.
fn is_pandas_header(first: &StringRecord, second: Option<&StringRecord>) -> bool {
    first.len() > 1
        && first[0].is_empty()
        && first.iter().skip(1).all(|f| !f.is_empty())
        && second.is_none_or(|s| s.get(0).is_some_and(|f| !f.is_empty()))
}

/// What the first row of a CSV file is and which file columns to read,
/// from the first two rows and the options.
struct Layout {
    header: bool,
    pandas_index: bool,
    cols: Vec<usize>,
}

fn layout(
    first: &StringRecord,
    second: Option<&StringRecord>,
    options: &InputOptions,
    line: u64,
) -> Result<Layout, String> {
    let columns = options.columns.as_ref();
    let header = match (options.header, columns.is_some_and(Columns::has_names)) {
        (Some(false), true) => return Err("--columns names need a header, not --header no".into()),
        (Some(header), _) => Some(header),
        (None, names) => names.then_some(true),
    };
    let cols = match columns {
        Some(c) => c.resolve(first.len(), header.unwrap_or(false).then_some(first))?,
        None => (0..first.len()).collect(),
    };
    let pandas = header != Some(false) && is_pandas_header(first, second);
    let header = match header {
        Some(header) => header,
        None => pandas || guess_header(first, &cols, line)?,
    };
    // Without --columns a pandas index is left out; with it, the list
    // decides.
    let pandas_index = pandas && columns.is_none();
    Ok(Layout {
        header,
        pandas_index,
        cols: match pandas_index {
            true => (1..first.len()).collect(),
            false => cols,
        },
    })
}

/// A first row of numbers is data; one of names is a header; anything else
/// (numbers and text mixed, an empty field, a mangled number) is refused:
/// it is a typo in the first data row as likely as a header.
fn guess_header(first: &StringRecord, cols: &[usize], line: u64) -> Result<bool, String> {
    let kinds: Vec<Kind> = cols.iter().map(|&c| Kind::of(&first[c])).collect();
    let numbers = kinds.iter().filter(|&k| *k == Kind::Number).count();
    if numbers == kinds.len() {
        return Ok(false);
    }
    let odd = match numbers {
        0 => kinds.iter().position(|k| *k != Kind::Name),
        _ => kinds.iter().position(|k| *k != Kind::Number),
    };
    let Some(odd) = odd else { return Ok(true) };
    let field = match &first[cols[odd]] {
        "" => "empty".to_string(),
        f => format!("{f:?}"),
    };
    let why = match numbers {
        0 => format!(
            "column {} is {field}, neither a number nor a name",
            cols[odd] + 1
        ),
        n => format!(
            "{n} of {} fields are numbers but column {} is {field}",
            kinds.len(),
            cols[odd] + 1
        ),
    };
    Err(format!(
        "line {line} is neither clearly a header nor data ({why}): fix it, or say which with --header yes or --header no"
    ))
}

/// CSV: numbers separated by a comma, tab, semicolon or spaces (sniffed, or
/// as given), blank lines skipped, fields trimmed, an optional header row.
fn read_csv(
    path: &Path,
    file: File,
    options: &InputOptions,
) -> Result<(Points, InputInfo), String> {
    let mut input = BufReader::new(file);
    let mut head = Vec::new();
    (&mut input)
        .take(SNIFF_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => {
            // Whole lines only: a cut one would have too few fields.
            let whole = match head.len() as u64 == SNIFF_BYTES {
                true => head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
                false => head.len(),
            };
            sniff(&head[..whole])?
        }
    };
    let mut records = Records::new(io::Cursor::new(head).chain(input), delimiter);

    let (mut first, mut second) = (StringRecord::new(), StringRecord::new());
    let Some(first_line) = records.next(&mut first)? else {
        return Err(Error::EmptyData.to_string());
    };
    let second_line = records.next(&mut second)?;
    let second_row = second_line.map(|_| &second);
    let Layout {
        header,
        pandas_index,
        cols,
    } = layout(&first, second_row, options, first_line)?;

    let width = first.len();
    let like = match header {
        true => format!("the header (line {first_line})"),
        false => "the first data row".to_string(),
    };
    let mut flat = Vec::new();
    // The file line of each data row, so errors point at what an editor
    // shows.
    let mut lines = Vec::new();
    let mut push = |line: u64, rec: &StringRecord| {
        if rec.len() != width {
            return Err(format!(
                "line {line} has {} values, expected {width} like {like}",
                rec.len()
            ));
        }
        for &c in &cols {
            let field = &rec[c];
            let value = field.parse::<f64>().map_err(|_| {
                let hint = match Kind::of(field) {
                    Kind::Name => " (leave text columns out with --columns)",
                    _ => "",
                };
                format!(
                    "line {line}, column {}: {field:?} is not a number{hint}",
                    c + 1
                )
            })?;
            flat.push(value);
        }
        lines.push(line);
        Ok(())
    };
    if !header {
        push(first_line, &first)?;
    }
    if let Some(line) = second_line {
        push(line, &second)?;
    }
    let mut rec = second;
    while let Some(line) = records.next(&mut rec)? {
        push(line, &rec)?;
    }

    let points = Points::from_f64(&flat, cols.len()).map_err(|e| match e {
        Error::NonFinite { row, col, value } => format!(
            "line {}, column {}: {value:?} is not a finite f32",
            lines[row],
            cols[col] + 1
        ),
        e => e.to_string(),
    })?;
    let mut notes = Vec::new();
    if pandas_index {
        notes.push("dropped the first column, a pandas index (empty header field)".to_string());
    }
    if options.columns.is_none() && counts_rows(&points) {
        let name = match header {
            true => format!(" ({:?})", &first[cols[0]]),
            false => String::new(),
        };
        notes.push(format!(
            "column {}{name} counts the rows like an index; if it is one, leave it out with --columns {}",
            cols[0] + 1,
            column_list(&cols[1..])
        ));
    }
    let info = InputInfo {
        path: path.to_path_buf(),
        header: Some(header),
        delimiter: Some((delimiter, options.delimiter.is_none())),
        columns: cols,
        width,
        pandas_index,
        notes,
    };
    Ok((points, info))
}

/// Whether the first of several columns holds 0, 1, 2, ... or 1, 2, 3, ...:
/// a row index saved as data (`df.reset_index()`, a named pandas index)
/// rather than a feature.
fn counts_rows(points: &Points) -> bool {
    let mut rows = points.rows();
    let Some(start) = rows.next().map(|r| r[0]) else {
        return false;
    };
    points.dim() > 1
        && points.len() > 2
        && (start == 0.0 || start == 1.0)
        && rows
            .enumerate()
            .all(|(i, r)| r[0] == start + (i + 1) as f32)
}

/// NPY: a 2-D array of little-endian `float32` or `float64`, C or Fortran
/// order. Elements in errors are numbered from 0, like numpy's indices,
/// and also by row and column from 1.
fn read_npy(
    path: &Path,
    file: File,
    options: &InputOptions,
) -> Result<(Points, InputInfo), String> {
    let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
    let npy =
        NpyFile::new(BufReader::new(file)).map_err(|e| format!("not a valid .npy file: {e}"))?;
    let &[n, d] = npy.shape() else {
        return Err(format!(
            "expected a 2-D array, found shape {:?}",
            npy.shape()
        ));
    };
    let width = match npy.dtype() {
        DType::Plain(t)
            if t.endianness() == Endianness::Little && t.type_char() == TypeChar::Float =>
        {
            t.size_field()
        }
        _ => 0,
    };
    if width != 4 && width != 8 {
        return Err(format!(
            "unsupported dtype {}: expected little-endian float32 (<f4) or float64 (<f8)",
            npy.dtype().descr()
        ));
    }
    // Checked before reading so a corrupt header cannot ask for a huge
    // allocation.
    let needed = n.checked_mul(d).and_then(|v| v.checked_mul(width));
    if needed.is_none_or(|b| b > file_len) {
        return Err(format!(
            "truncated: shape [{n}, {d}] needs more data than the file's {file_len} bytes"
        ));
    }
    let (n, d) = (n as usize, d as usize);
    let cols = match &options.columns {
        Some(c) => c.resolve(d, None)?,
        None => (0..d).collect(),
    };
    let order = npy.order();
    let read_err = |e: io::Error| format!("cannot read the data: {e}");
    let points = if width == 4 {
        let v = npy.into_vec::<f32>().map_err(read_err)?;
        Points::from_vec(select(v, n, d, order, &cols), cols.len())
    } else {
        let v = npy.into_vec::<f64>().map_err(read_err)?;
        Points::from_f64(&select(v, n, d, order, &cols), cols.len())
    };
    let points = points.map_err(|e| match e {
        Error::NonFinite { row, col, value } => {
            let c = cols[col];
            format!(
                "element [{row}, {c}] is {value:?}, not a finite f32 (row {}, column {})",
                row + 1,
                c + 1
            )
        }
        e => e.to_string(),
    })?;
    let info = InputInfo {
        path: path.to_path_buf(),
        header: None,
        delimiter: None,
        columns: cols,
        width: d,
        pandas_index: false,
        notes: Vec::new(),
    };
    Ok((points, info))
}

/// The `cols` of an `n x d` array stored in `order`, as rows.
fn select<T: Copy>(v: Vec<T>, n: usize, d: usize, order: Order, cols: &[usize]) -> Vec<T> {
    let all = cols.iter().copied().eq(0..d);
    match order {
        Order::C if all => v,
        Order::C => (0..n)
            .flat_map(|i| cols.iter().map(move |&c| i * d + c))
            .map(|at| v[at])
            .collect(),
        Order::Fortran => (0..n)
            .flat_map(|i| cols.iter().map(move |&c| c * n + i))
            .map(|at| v[at])
            .collect(),
    }
}
