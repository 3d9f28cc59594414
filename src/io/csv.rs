//! CSV: reading with the delimiter, the header row and a pandas index
//! guessed (or given), and writing rows without a header.

use std::fmt::Display;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use ::csv::StringRecord;

use super::columns::{Columns, Delimiter, column_list};
use super::{ReadInfo, ReadOptions};
use crate::{Error, Points};

/// The non-blank lines of a CSV file split into trimmed fields: by the `csv`
/// crate for a one-byte delimiter (quotes understood), or at runs of
/// whitespace.
enum Records<R> {
    Csv(::csv::Reader<R>),
    Whitespace { input: R, line: u64, text: String },
}

impl<R: BufRead> Records<R> {
    fn new(input: R, delimiter: Delimiter) -> Self {
        match delimiter {
            Delimiter::Byte(b) => Records::Csv(
                ::csv::ReaderBuilder::new()
                    .delimiter(b)
                    .has_headers(false)
                    .flexible(true)
                    .trim(::csv::Trim::All)
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
                Ok(more) => Ok(more.then(|| rec.position().map_or(0, ::csv::Position::line))),
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
    options: &ReadOptions,
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
    // Without `columns` a pandas index is left out; with it, the list
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
/// The error is the reason alone; the caller names the file.
pub(super) fn read_csv(
    path: &Path,
    input: impl Read,
    options: &ReadOptions,
) -> Result<(Points, ReadInfo), String> {
    let mut input = BufReader::new(input);
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
    let info = ReadInfo {
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

/// Writes each row as a CSV line to `w`, without a header: the values in
/// their [`Display`] form, comma-separated, one line (`\n`) per row.
///
/// Rust's `Display` for floats is the shortest form that parses back to the
/// same value, so `f32` (and `f64`) rows read back, by this module or by
/// numpy and pandas, give the same bits; integers (labels, indices) are
/// written as they are. Rows may differ in length (the neighbours within a
/// radius); an empty row is an empty line. `w` is written as it is, in many
/// small writes: give a file through a [`BufWriter`](std::io::BufWriter).
///
/// ```
/// let mut out = Vec::new();
/// gpu_cluster::io::write_csv(&mut out, [&[0.1f32, 2.0][..], &[-3.5, 1e-7]])?;
/// assert_eq!(String::from_utf8(out).unwrap(), "0.1,2\n-3.5,0.0000001\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_csv<'a, T: Display + 'a>(
    mut w: impl Write,
    rows: impl IntoIterator<Item = &'a [T]>,
) -> io::Result<()> {
    for row in rows {
        let mut sep = "";
        for v in row {
            write!(w, "{sep}{v}")?;
            sep = ",";
        }
        writeln!(w)?;
    }
    Ok(())
}

/// Writes `points` to `w` as CSV rows without a header ([`write_csv`]), in
/// the values' precision: the `f64` values for points that hold them
/// ([`Points::has_f64`]), the `f32` values otherwise, each in its shortest
/// round-trip form (`0.1` for `0.1f32`, not `0.10000000149011612`).
///
/// ```
/// use gpu_cluster::Points;
/// let mut out = Vec::new();
/// let utm = Points::from_f64(&[512329.9985, 5123489.8781], 2)?;
/// gpu_cluster::io::write_points_csv(&mut out, &utm).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "512329.9985,5123489.8781\n");
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub fn write_points_csv(w: impl Write, points: &Points) -> io::Result<()> {
    match points.has_f64() {
        true => write_csv(w, points.to_f64().chunks_exact(points.dim())),
        false => write_csv(w, points.rows()),
    }
}
