//! Reading and writing points files (the `io` feature): what a CSV file
//! leaves open is guessed safely or refused, the options settle each guess,
//! columns in messages count the file's columns from 1, and what is
//! written reads back as the same `f32` bits, as CSV and as `.npy`.

use std::fs;
use std::path::{Path, PathBuf};

use gpu_cluster::io::{
    Columns, Delimiter, Format, ReadOptions, read_points, read_points_with, write_csv, write_npy,
    write_points,
};
use gpu_cluster::{Blobs, Error, Points};
use npyz::WriterBuilder;

/// A temporary directory for a test's files, removed with it.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }

    /// The path of `name` in it.
    fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes `text` to `name`; returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.file(name);
        fs::write(&path, text).unwrap();
        path
    }
}

/// Writes `values`, rows of `cols`, to a 2-D `.npy` in C order, with
/// npyz itself (not the writer under test).
fn npy_file<T: npyz::AutoSerialize + Copy>(path: &Path, values: &[T], cols: usize) {
    let shape = [(values.len() / cols) as u64, cols as u64];
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&shape)
        .writer(fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
}

/// Reads `text` as the CSV file `name` with `options`: the points as rows,
/// and the description of what was read.
fn read_with(
    files: &Scratch,
    name: &str,
    text: &str,
    options: &ReadOptions,
) -> (Vec<Vec<f32>>, String) {
    let path = files.write(name, text);
    let (points, info) = read_points_with(&path, options).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rows = points.rows().map(<[f32]>::to_vec).collect();
    (rows, info.to_string())
}

/// The message `read_points_with` fails with; it is always an
/// `Error::Read` naming the file.
fn read_error(files: &Scratch, name: &str, text: &str, options: &ReadOptions) -> String {
    let path = files.write(name, text);
    match read_points_with(&path, options) {
        Ok(_) => panic!("{name} was read"),
        Err(e @ Error::Read { .. }) => {
            let message = e.to_string();
            assert!(
                message.starts_with(&format!("{}: ", path.display())),
                "{message}"
            );
            message
        }
        Err(e) => panic!("{name}: not Error::Read: {e:?}"),
    }
}

/// Options reading only `list`.
fn cols(list: &str) -> ReadOptions {
    ReadOptions {
        columns: Some(list.parse().unwrap()),
        ..ReadOptions::default()
    }
}

/// `df.to_csv()` writes the index as a first column under an empty header
/// field; clustering it as a feature would split the data by row number.
#[test]
fn a_pandas_index_is_left_out_with_a_note() {
    let f = Scratch::new();
    let text = ",x,y\n0,1,2\n1,1.1,2\n2,5,6\n3,5.1,6\n";
    let path = f.write("p.csv", text);
    let (points, info) = read_points_with(&path, &ReadOptions::default()).unwrap();
    assert_eq!(points.as_slice(), [1.0, 2.0, 1.1, 2.0, 5.0, 6.0, 5.1, 6.0]);
    assert_eq!(
        info.notes(),
        ["dropped the first column, a pandas index (empty header field)"]
    );
    assert_eq!(
        (info.header(), info.columns(), info.width()),
        (Some(true), &[1, 2][..], 3)
    );
    assert_eq!(info.path(), path);

    // Numeric column names (a DataFrame made from an array) are a header
    // too under the empty field; an index of strings goes as well.
    let (rows, info) = read_with(
        &f,
        "named.csv",
        ",0,1\na,1,2\nb,3,4\n",
        &ReadOptions::default(),
    );
    assert_eq!(rows, [[1.0, 2.0], [3.0, 4.0]]);
    assert!(
        info.ends_with("header yes, 2 of 3 columns (2-3; 1 is a pandas index)"),
        "{info}"
    );

    // With columns given the list decides, counting the file's columns.
    let (rows, _) = read_with(&f, "p.csv", ",x,y\n0,1,2\n1,1.1,2\n", &cols("1,3"));
    assert_eq!(rows, [[0.0, 2.0], [1.0, 2.0]]);

    // An empty first field over an empty one is no index: refused.
    let err = read_error(&f, "gap.csv", ",x,y\n,1,2\n", &ReadOptions::default());
    assert!(
        err.contains("line 1 is neither clearly a header nor data"),
        "{err}"
    );
    assert!(err.contains("column 1 is empty"), "{err}");
}

/// A first column that counts the rows (an index saved under a name) is
/// kept, it may be data, but not without a note; data that merely starts
/// low is not noted.
#[test]
fn a_column_counting_the_rows_is_noted() {
    let f = Scratch::new();
    let path = f.write("id.csv", "id,x,y\n0,1,2\n1,1.1,2\n2,5,6\n");
    let (points, info) = read_points_with(&path, &ReadOptions::default()).unwrap();
    assert_eq!(points.dim(), 3);
    assert_eq!(
        info.notes(),
        [
            "column 1 (\"id\") counts the rows like an index; if it is one, leave it out with --columns 2-3"
        ]
    );
    let path = f.write("toy.csv", "1,1\n2,1\n1,0\n4,7\n3,5\n3,6\n");
    let (_, info) = read_points_with(&path, &ReadOptions::default()).unwrap();
    assert!(info.notes().is_empty(), "{:?}", info.notes());
    // Asked for by columns, it is read without a word.
    let (_, info) = read_points_with(f.file("id.csv"), &cols("1-3")).unwrap();
    assert!(info.notes().is_empty(), "{:?}", info.notes());
}

/// Tab-, semicolon- and space-separated files read as the comma-separated
/// one does; the delimiter found is in the description.
#[test]
fn the_delimiter_is_sniffed() {
    let f = Scratch::new();
    let (expected, _) = read_with(
        &f,
        "toy.csv",
        "x,y\n1,1\n2,1\n1,0\n4,7\n3,5\n3,6\n",
        &ReadOptions::default(),
    );
    for (name, text, shown, delimiter) in [
        (
            "tab.csv",
            "x\ty\n1\t1\n2\t1\n1\t0\n4\t7\n3\t5\n3\t6\n",
            ", delimiter tab (detected)",
            Delimiter::TAB,
        ),
        (
            "semi.csv",
            "x;y\r\n1;1\r\n2;1\r\n1;0\r\n4;7\r\n3;5\r\n3;6\r\n",
            ", delimiter ';' (detected)",
            Delimiter::SEMICOLON,
        ),
        (
            "space.csv",
            "  x   y\n1  1\n2 1\n\n 1\t0\n4 7\n3 5\n3 6\n",
            ", delimiter space (detected)",
            Delimiter::Whitespace,
        ),
    ] {
        let (rows, info) = read_with(&f, name, text, &ReadOptions::default());
        assert_eq!(rows, expected, "{name}");
        assert!(
            info.ends_with(&format!("header yes, 2 columns{shown}")),
            "{info}"
        );
        let (_, info) = read_points_with(f.file(name), &ReadOptions::default()).unwrap();
        assert_eq!(info.delimiter(), Some(delimiter));
    }
    // A byte-order mark is no part of the first number.
    let (rows, _) = read_with(&f, "bom.csv", "\u{feff}1 2\n3 4\n", &ReadOptions::default());
    assert_eq!(rows, [[1.0, 2.0], [3.0, 4.0]]);
    let (_, info) = read_with(&f, "toy.csv", "1,1\n2,1\n", &ReadOptions::default());
    assert!(info.ends_with("toy.csv: header no, 2 columns"), "{info}");
    // One column: nothing splits it, and a comma reads it.
    let (rows, info) = read_with(&f, "one.csv", "v\n1\n2\n", &ReadOptions::default());
    assert_eq!(rows, [[1.0], [2.0]]);
    assert!(info.ends_with("header yes, 1 column"), "{info}");

    // Decimal commas between semicolons split evenly both ways: refused.
    let err = read_error(&f, "eu.csv", "1,5;2,5\n3,5;4,5\n", &ReadOptions::default());
    assert!(
        err.ends_with("both ',' and ';' split the first lines evenly: say which with --delimiter"),
        "{err}"
    );
}

/// The delimiter given: as it is, no sniffing; `space` is runs of blanks.
#[test]
fn the_delimiter_option() {
    let f = Scratch::new();
    let with = |d: &str| ReadOptions {
        delimiter: Some(d.parse().unwrap()),
        ..ReadOptions::default()
    };
    let (rows, info) = read_with(&f, "eu.csv", "1;5\n2;7\n", &with(";"));
    assert_eq!(rows, [[1.0, 5.0], [2.0, 7.0]]);
    assert!(
        info.ends_with("header no, 2 columns, delimiter ';'"),
        "{info}"
    );
    let (rows, _) = read_with(&f, "pipe.csv", "a|b\n1|2\n", &with("|"));
    assert_eq!(rows, [[1.0, 2.0]]);
    let (rows, _) = read_with(&f, "tab.csv", "1\t2\n", &with("tab"));
    assert_eq!(rows, [[1.0, 2.0]]);
    let (rows, _) = read_with(&f, "sp.csv", "1   2\n 3 4\n", &with("space"));
    assert_eq!(rows, [[1.0, 2.0], [3.0, 4.0]]);
    // A comma given where tabs separate: one field per line, not a number.
    let err = read_error(&f, "tab.csv", "1\t2\n3\t4\n", &with(","));
    assert!(
        err.contains("line 1 is neither clearly a header nor data"),
        "{err}"
    );

    assert_eq!("\\t".parse::<Delimiter>(), Ok("tab".parse().unwrap()));
    assert_eq!(" ".parse::<Delimiter>(), Ok(Delimiter::Whitespace));
    assert_eq!(",".parse::<Delimiter>(), Ok(Delimiter::COMMA));
    for bad in ["", "ab", "x", "1", "\""] {
        assert!(bad.parse::<Delimiter>().is_err(), "{bad:?}");
    }
    for (d, shown) in [
        (Delimiter::TAB, "tab"),
        (Delimiter::Whitespace, "space"),
        (Delimiter::Byte(b'|'), "'|'"),
    ] {
        assert_eq!(d.to_string(), shown);
    }
}

/// A first row that is neither all numbers nor all names is as likely a
/// typo in the first data row as a header: refused with the option that
/// settles it, never skipped in silence.
#[test]
fn an_untrustworthy_header_guess_is_refused() {
    let f = Scratch::new();
    for (name, text, why) in [
        (
            "typo.csv",
            "1,2x,3\n4,5,6\n",
            "2 of 3 fields are numbers but column 2 is \"2x\"",
        ),
        (
            "name.csv",
            "1,one\n2,1\n",
            "1 of 2 fields are numbers but column 2 is \"one\"",
        ),
        (
            "numeric.csv",
            "x,1\n2,1\n",
            "1 of 2 fields are numbers but column 1 is \"x\"",
        ),
        (
            "empty.csv",
            "x,,z\n1,2,3\n",
            "column 2 is empty, neither a number nor a name",
        ),
        (
            "single.csv",
            "1.2.3\n4\n",
            "column 1 is \"1.2.3\", neither a number nor a name",
        ),
    ] {
        let err = read_error(&f, name, text, &ReadOptions::default());
        assert!(
            err.ends_with(&format!(
                "line 1 is neither clearly a header nor data ({why}): fix it, or say which with --header yes or --header no"
            )),
            "{err}"
        );
    }
    // Names are a header; numbers are data; a header over rows of another
    // width is refused rather than read past.
    let (rows, _) = read_with(&f, "h.csv", "x,y\n1,2\n", &ReadOptions::default());
    assert_eq!(rows, [[1.0, 2.0]]);
    let err = read_error(&f, "wide.csv", "x,y,z\n1,2\n", &ReadOptions::default());
    assert!(
        err.ends_with("line 2 has 2 values, expected 3 like the header (line 1)"),
        "{err}"
    );

    // The header option settles it either way.
    let header = |h| ReadOptions {
        header: Some(h),
        ..ReadOptions::default()
    };
    let (rows, info) = read_with(&f, "numeric.csv", "x,1\n2,1\n", &header(true));
    assert_eq!(rows, [[2.0, 1.0]]);
    assert!(info.contains("header yes"), "{info}");
    let err = read_error(&f, "typo.csv", "1,2x,3\n4,5,6\n", &header(false));
    assert!(
        err.ends_with("line 1, column 2: \"2x\" is not a number"),
        "{err}"
    );
    let (rows, _) = read_with(&f, "nums.csv", "1,2\n3,4\n", &header(true));
    assert_eq!(rows, [[3.0, 4.0]]);
}

/// Columns: numbers and ranges from 1, header names, in the order given; a
/// text column left out is not read.
#[test]
fn the_columns_option() {
    let f = Scratch::new();
    let iris = "sepal,petal,width,species\n5.1,1.4,0.2,setosa\n6.3,4.9,1.5,versicolor\n";
    let (rows, info) = read_with(&f, "iris.csv", iris, &cols("1-3"));
    assert_eq!(rows, [[5.1, 1.4, 0.2], [6.3, 4.9, 1.5]]);
    assert!(info.ends_with("header yes, 3 of 4 columns (1-3)"), "{info}");
    let (rows, info) = read_with(&f, "iris.csv", iris, &cols("width, sepal"));
    assert_eq!(rows, [[0.2, 5.1], [1.5, 6.3]]);
    assert!(info.ends_with("2 of 4 columns (3,1)"), "{info}");
    // Without a header, and on a .npy file, numbers select.
    let (rows, _) = read_with(&f, "plain.csv", "1,2,3\n4,5,6\n", &cols("3,1-2"));
    assert_eq!(rows, [[3.0, 1.0, 2.0], [6.0, 4.0, 5.0]]);
    let npy = f.file("m.npy");
    npy_file(&npy, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], 3);
    let (points, info) = read_points_with(&npy, &cols("2-3")).unwrap();
    assert_eq!(points.as_slice(), [2.0, 3.0, 5.0, 6.0]);
    assert!(
        info.to_string().ends_with("m.npy: 2 of 3 columns (2-3)"),
        "{info}"
    );
    assert_eq!((info.header(), info.delimiter()), (None, None));

    // Without a column list the text column is named in the message.
    let err = read_error(&f, "iris.csv", iris, &ReadOptions::default());
    assert!(
        err.ends_with(
            "line 2, column 4: \"setosa\" is not a number (leave text columns out with --columns)"
        ),
        "{err}"
    );
    for (list, needle) in [
        ("5", "--columns asks for column 5 of 4"),
        (
            "petals",
            "--columns petals: no such column in the header (sepal, petal, width, species)",
        ),
        ("1,sepal", "--columns lists column 1 twice"),
    ] {
        let err = read_error(&f, "iris.csv", iris, &cols(list));
        assert!(err.ends_with(needle), "{list}: {err}");
    }
    let no_header = ReadOptions {
        header: Some(false),
        ..cols("x")
    };
    let err = read_error(&f, "plain.csv", "1,2\n", &no_header);
    assert!(err.contains("--columns names need a header"), "{err}");
    let err = read_points_with(&npy, &cols("x")).unwrap_err().to_string();
    assert!(
        err.ends_with("--columns x: no header to look names up in"),
        "{err}"
    );
    for bad in ["", "0", "2,", "3-1", "0-2"] {
        assert!(bad.parse::<Columns>().is_err(), "{bad:?}");
    }
}

/// Columns in messages are the file's, counted from 1, wherever the data
/// column came from: after a pandas index, through a column list, in a
/// .npy.
#[test]
fn columns_in_messages_count_from_1() {
    let f = Scratch::new();
    for (name, text, needle) in [
        (
            "nan.csv",
            "x,y\n1,2\n3,nan\n",
            "nan.csv: line 3, column 2: NaN is not a finite f32",
        ),
        (
            "p.csv",
            ",x,y\n0,1,2\n1,inf,2\n",
            "p.csv: line 3, column 2: inf is not a finite f32",
        ),
        (
            "pt.csv",
            ",x,y\n0,1,2\n1,1,two\n",
            "pt.csv: line 3, column 3: \"two\" is not a number",
        ),
        (
            "ragged.csv",
            "1,2\n3\n",
            "ragged.csv: line 2 has 1 values, expected 2 like the first data row",
        ),
        (
            "space.csv",
            "1 2\n3 1e39\n",
            "space.csv: line 2, column 2: 1e39 is not a finite f32",
        ),
    ] {
        let err = read_error(&f, name, text, &ReadOptions::default());
        assert!(err.contains(needle), "{err}");
    }
    let err = read_error(&f, "sel.csv", "a,b,c\n1,2,3\n4,5,nan\n", &cols("3"));
    assert!(
        err.ends_with("line 3, column 3: NaN is not a finite f32"),
        "{err}"
    );
    let q = f.write("q.csv", ",x,y\n0,1,2\n");
    let (_, info) = read_points_with(&q, &ReadOptions::default()).unwrap();
    assert_eq!((info.file_column(0), info.file_column(1)), (2, 3));

    // .npy: numpy's 0-based index, and the row and column from 1.
    let npy = f.file("nan.npy");
    npy_file(&npy, &[1.0f32, 2.0, 3.0, f32::NAN], 2);
    let err = read_points(&npy).unwrap_err().to_string();
    assert!(
        err.ends_with("element [1, 1] is NaN, not a finite f32 (row 2, column 2)"),
        "{err}"
    );
}

/// A missing file, an unknown extension, an empty file and a `.npy` that
/// is not 2-D float are `Error::Read` naming the file and the problem.
#[test]
fn unreadable_files_are_read_errors() {
    let f = Scratch::new();
    let missing = f.file("missing.csv");
    let err = read_points(&missing).unwrap_err();
    match &err {
        Error::Read { path, reason } => {
            assert_eq!(path, &missing);
            assert!(reason.starts_with("cannot open: "), "{reason}");
        }
        e => panic!("not Error::Read: {e:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot open: ", missing.display()))
    );

    let txt = f.write("notes.txt", "1,2\n");
    assert_eq!(
        read_points(&txt).unwrap_err(),
        Error::Read {
            path: txt.clone(),
            reason: "unknown file type: use a .csv or .npy file".into()
        }
    );
    let err = read_error(&f, "empty.csv", "\n\n", &ReadOptions::default());
    assert!(
        err.ends_with("the data is empty: at least one point is needed"),
        "{err}"
    );
    let err = read_error(&f, "header_only.csv", "x,y\n", &ReadOptions::default());
    assert!(
        err.ends_with("the data is empty: at least one point is needed"),
        "{err}"
    );

    let bad = f.write("bad.npy", "not numpy");
    let err = read_points(&bad).unwrap_err().to_string();
    assert!(err.contains("not a valid .npy file"), "{err}");
    let ints = f.file("ints.npy");
    npy_file(&ints, &[1i32, 2, 3, 4], 2);
    let err = read_points(&ints).unwrap_err().to_string();
    assert!(err.contains("unsupported dtype '<i4'"), "{err}");
    let one_d = f.file("one_d.npy");
    npyz::to_file_1d(&one_d, [1.0f32, 2.0, 3.0]).unwrap();
    let err = read_points(&one_d).unwrap_err().to_string();
    assert!(
        err.contains("expected a 2-D array, found shape [3]"),
        "{err}"
    );

    // The extension is matched in any case.
    assert_eq!(Format::from_path("A.CSV"), Some(Format::Csv));
    assert_eq!(Format::from_path("a.Npy"), Some(Format::Npy));
    assert_eq!(Format::from_path("a"), None);
    let upper = f.write("UP.CSV", "1,2\n");
    assert_eq!(read_points(&upper).unwrap().as_slice(), [1.0, 2.0]);
}

/// Values whose shortest decimal form is long, tiny, huge and negative: a
/// CSV or `.npy` round trip must give each bit back.
fn awkward_points() -> Points {
    let mut values = vec![
        0.1f32,
        -0.0,
        1.0 / 3.0,
        f32::MIN_POSITIVE,
        1e-45, // the smallest subnormal
        f32::MAX,
        -f32::MAX,
        16_777_217.0,
        std::f32::consts::PI,
        -2.5e-12,
    ];
    // And the reference blobs: ordinary data, many rows.
    let blobs = Blobs::default().generate().unwrap().points;
    values.extend_from_slice(&blobs.as_slice()[..values.len() * 50]);
    Points::from_vec(values, 2).unwrap()
}

fn bits(points: &Points) -> Vec<u32> {
    points.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// `write_points` then `read_points` gives the same `f32` bits, as CSV
/// (Rust's shortest round-trip form, no header) and as `.npy`.
#[test]
fn written_points_read_back_bit_for_bit() {
    let f = Scratch::new();
    let points = awkward_points();
    for name in ["x.csv", "x.npy", "X.NPY"] {
        let path = f.file(name);
        write_points(&path, &points).unwrap();
        let (back, info) = read_points_with(&path, &ReadOptions::default()).unwrap();
        assert_eq!(
            (back.len(), back.dim()),
            (points.len(), points.dim()),
            "{name}"
        );
        assert_eq!(bits(&back), bits(&points), "{name}");
        assert!(info.notes().is_empty(), "{name}: {:?}", info.notes());
    }
    // CSV: no header, the shortest form, one row per line.
    let text = fs::read_to_string(f.file("x.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(lines[0], "0.1,-0");
    assert_eq!(lines[1], format!("{},{}", 1.0f32 / 3.0, f32::MIN_POSITIVE));
    assert_eq!(text.lines().count(), points.len());
    // An existing file is replaced, not appended to.
    let small = Points::new(&[1.0, 2.0], 2).unwrap();
    write_points(f.file("x.csv"), &small).unwrap();
    assert_eq!(fs::read_to_string(f.file("x.csv")).unwrap(), "1,2\n");
}

/// `.npy` as numpy writes it: shape `[n, d]`, `<f4`, C order; npyz (not
/// this crate's reader) agrees.
#[test]
fn npy_is_2d_little_endian_float32_in_c_order() {
    let points = Points::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
    let mut bytes = Vec::new();
    write_npy(&mut bytes, &points).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), [2, 3]);
    assert_eq!(npy.dtype().descr(), "'<f4'");
    assert_eq!(npy.order(), npyz::Order::C);
    assert_eq!(npy.into_vec::<f32>().unwrap(), points.as_slice());
}

/// The writer-level CSV function takes rows of any `Display` values and
/// any length: labels, indices, ragged neighbour lists.
#[test]
fn csv_rows_of_any_display_values() {
    let mut out = Vec::new();
    let rows: [&[usize]; 3] = [&[3, 1, 4], &[], &[1]];
    write_csv(&mut out, rows).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "3,1,4\n\n1\n");
    let mut out = Vec::new();
    write_csv(&mut out, [&[-1i32][..], &[0], &[2]]).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "-1\n0\n2\n");
    let mut out = Vec::new();
    write_csv(&mut out, [&[0.1f64, 1e300][..]]).unwrap();
    let text = String::from_utf8(out).unwrap();
    let back: Vec<f64> = text.trim().split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(back, [0.1, 1e300]);
}

/// A path that cannot be written is `Error::Write` naming it: a missing
/// directory, a directory, an unknown extension (nothing is created).
#[test]
fn unwritable_paths_are_write_errors() {
    let f = Scratch::new();
    let points = Points::new(&[1.0, 2.0], 2).unwrap();
    for name in ["no/such/dir/x.csv", "no/such/dir/x.npy"] {
        let path = f.file(name);
        match write_points(&path, &points).unwrap_err() {
            Error::Write { path: p, reason } => {
                assert_eq!(p, path);
                assert!(!reason.is_empty());
            }
            e => panic!("{name}: not Error::Write: {e:?}"),
        }
    }
    let dir = f.file("d.csv");
    fs::create_dir(&dir).unwrap();
    let err = write_points(&dir, &points).unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot write {}: ", dir.display())),
        "{err}"
    );

    let txt = f.file("x.txt");
    assert_eq!(
        write_points(&txt, &points).unwrap_err(),
        Error::Write {
            path: txt.clone(),
            reason: "unknown file type: use a .csv or .npy file".into()
        }
    );
    assert!(!txt.exists());
}
