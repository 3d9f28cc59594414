//! Which columns to read ([`Columns`]) and how a CSV line is split
//! ([`Delimiter`]), both parsed from the spelling of the command line's
//! `--columns` and `--delimiter`.

use std::fmt;
use std::str::FromStr;

use ::csv::StringRecord;

/// How the fields of a CSV line are separated.
///
/// Parsed from one punctuation character, `tab` (or `\t`), or `space`:
///
/// ```
/// use gpu_cluster::io::Delimiter;
/// assert_eq!("tab".parse(), Ok(Delimiter::TAB));
/// assert_eq!(";".parse(), Ok(Delimiter::SEMICOLON));
/// assert_eq!("space".parse(), Ok(Delimiter::Whitespace));
/// assert!("ab".parse::<Delimiter>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// One byte, such as `,` `;` `|` or a tab; double quotes work as in
    /// RFC 4180.
    Byte(u8),
    /// Runs of spaces and tabs, as `numpy.savetxt` and aligned tables have.
    Whitespace,
}

impl Delimiter {
    /// `,`: what a file is read with when nothing splits its lines.
    pub const COMMA: Self = Delimiter::Byte(b',');
    /// A tab (`.tsv` files, spreadsheets' "text" export).
    pub const TAB: Self = Delimiter::Byte(b'\t');
    /// `;`: spreadsheets where the comma is the decimal separator.
    pub const SEMICOLON: Self = Delimiter::Byte(b';');
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
    /// `tab`, `space`, or the character in single quotes (`';'`), as the
    /// messages and [`ReadInfo`](super::ReadInfo) name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Byte(b'\t') => f.write_str("tab"),
            Self::Byte(b) => write!(f, "'{}'", b as char),
            Self::Whitespace => f.write_str("space"),
        }
    }
}

/// Columns to read, in the order listed: parsed from comma-separated
/// 1-based numbers, inclusive ranges `a-b`, and header names (as
/// `--columns` takes them).
///
/// Numbers count from 1, as an editor and a spreadsheet count columns, and
/// always count the file's columns (a pandas index included). Names need a
/// header row; a `.npy` file has none, so only numbers select there. A
/// column listed twice, or past the end of the rows, is an error when the
/// file is read.
///
/// ```
/// use gpu_cluster::io::Columns;
/// let cols: Columns = "2-4, species".parse()?;
/// assert!("0".parse::<Columns>().is_err()); // columns count from 1
/// assert!("3-1".parse::<Columns>().is_err());
/// # Ok::<(), String>(())
/// ```
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
    /// Whether any column is given by name (so the first row must be a
    /// header).
    pub(super) fn has_names(&self) -> bool {
        self.0.iter().any(|c| matches!(c, Column::Name(_)))
    }

    /// The 0-based file columns, in the order listed, of rows of `width`
    /// fields; names are looked up in `header`.
    pub(super) fn resolve(
        &self,
        width: usize,
        header: Option<&StringRecord>,
    ) -> Result<Vec<usize>, String> {
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

/// 0-based columns as a `--columns` list: 1-based, runs as ranges.
pub(super) fn column_list(cols: &[usize]) -> String {
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
