//! Reading input files without silent wrong answers, and Unix manners on
//! stdout.
//!
//! The built binary on small CSV files: a pandas index left out with a note,
//! a delimiter sniffed, a first row that is neither clearly a header nor
//! data refused, columns counted from 1 in every message; and a reader that
//! closes stdout early ending the run quietly. The options the command line
//! passes on (`--delimiter`, `--header`, `--columns`) are tested on the
//! reader itself, compiled in here from the binary's sources (the CLI has
//! no library target).

#[allow(dead_code)]
#[path = "common/run.rs"]
mod run;

#[allow(dead_code)]
#[path = "../src/fail.rs"]
mod fail;
#[allow(dead_code)]
#[path = "../src/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../src/output.rs"]
mod output;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use input::{Columns, Delimiter, InputOptions, read_points, read_points_with};
use npyz::WriterBuilder;
use run::{Scratch, fails, ok, run, stderr, stdout};

/// Writes `values`, rows of `cols`, to a 2-D `.npy` in C order.
fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, values: &[T], cols: usize) {
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

/// Mean shift on the CPU with bandwidth `h`: the labels, and stderr.
fn labels(path: &str, h: &str) -> (Vec<i32>, String) {
    let out = run(&["meanshift", path, "--bandwidth", h, "--backend", "cpu"]);
    assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
    let labels = stdout(&out).lines().map(|l| l.parse().unwrap()).collect();
    (labels, stderr(&out))
}

/// Reads `text` as the CSV file `name` with `options`: the points as rows,
/// and the description of what was read.
fn read_with(
    files: &Scratch,
    name: &str,
    text: &str,
    options: &InputOptions,
) -> (Vec<Vec<f32>>, String) {
    files.write(name, text);
    let (points, info) =
        read_points_with(&files.file(name), options).unwrap_or_else(|f| panic!("{name}: {f}"));
    let rows = points.rows().map(<[f32]>::to_vec).collect();
    (rows, info.to_string())
}

/// The message `read_points_with` fails with.
fn read_error(files: &Scratch, name: &str, text: &str, options: &InputOptions) -> String {
    files.write(name, text);
    match read_points_with(&files.file(name), options) {
        Ok(_) => panic!("{name} was read"),
        Err(f) => f.to_string(),
    }
}

/// `df.to_csv()` writes the index as a first column under an empty header
/// field; clustering it as a feature would split the data by row number.
#[test]
fn a_pandas_index_is_left_out_with_a_note() {
    let f = Scratch::new();
    let p = f.write("p.csv", ",x,y\n0,1,2\n1,1.1,2\n2,5,6\n3,5.1,6\n");
    let (labels, err) = labels(&p, "1");
    assert_eq!(labels[0], labels[1]);
    assert_eq!(labels[2], labels[3]);
    assert_ne!(labels[0], labels[2]);
    let note = format!("note: {p}: dropped the first column, a pandas index (empty header field)");
    assert_eq!(err.lines().next(), Some(note.as_str()), "{err}");
    assert!(err.contains("2 clusters from 4 points x 2"), "{err}");

    // Numeric column names (a DataFrame made from an array) are a header
    // too under the empty field; an index of strings goes as well.
    let (rows, info) = read_with(
        &f,
        "named.csv",
        ",0,1\na,1,2\nb,3,4\n",
        &InputOptions::default(),
    );
    assert_eq!(rows, [[1.0, 2.0], [3.0, 4.0]]);
    assert!(
        info.ends_with("header yes, 2 of 3 columns (2-3; 1 is a pandas index)"),
        "{info}"
    );

    // With --columns the list decides, counting the file's columns.
    let columns = InputOptions {
        columns: Some("1,3".parse().unwrap()),
        ..InputOptions::default()
    };
    let (rows, _) = read_with(&f, "p.csv", ",x,y\n0,1,2\n1,1.1,2\n", &columns);
    assert_eq!(rows, [[0.0, 2.0], [1.0, 2.0]]);

    // An empty first field over an empty one is no index: refused.
    let err = read_error(&f, "gap.csv", ",x,y\n,1,2\n", &InputOptions::default());
    assert!(
        err.contains("line 1 is neither clearly a header nor data"),
        "{err}"
    );
    assert!(err.contains("column 1 is empty"), "{err}");
}

/// A first column that counts the rows (an index saved under a name) is
/// kept, it may be data, but not without a word.
#[test]
fn a_column_counting_the_rows_is_noted() {
    let f = Scratch::new();
    let id = f.write("id.csv", "id,x,y\n0,1,2\n1,1.1,2\n2,5,6\n");
    let (_, err) = labels(&id, "1");
    assert!(
        err.contains("column 1 (\"id\") counts the rows like an index; if it is one, leave it out with --columns 2-3"),
        "{err}"
    );
    let toy = f.write("toy.csv", "1,1\n2,1\n1,0\n4,7\n3,5\n3,6\n");
    let (_, err) = labels(&toy, "2");
    assert_eq!(err.lines().count(), 1, "only the summary: {err}");
}

/// Tab-, semicolon- and space-separated files read as the comma-separated
/// one does; the delimiter found is in the description.
#[test]
fn the_delimiter_is_sniffed() {
    let f = Scratch::new();
    let toy = f.write("toy.csv", "x,y\n1,1\n2,1\n1,0\n4,7\n3,5\n3,6\n");
    let (expected, _) = labels(&toy, "2");
    for (name, text, shown) in [
        (
            "tab.csv",
            "x\ty\n1\t1\n2\t1\n1\t0\n4\t7\n3\t5\n3\t6\n",
            ", delimiter tab (detected)",
        ),
        (
            "semi.csv",
            "x;y\r\n1;1\r\n2;1\r\n1;0\r\n4;7\r\n3;5\r\n3;6\r\n",
            ", delimiter ';' (detected)",
        ),
        (
            "space.csv",
            "  x   y\n1  1\n2 1\n\n 1\t0\n4 7\n3 5\n3 6\n",
            ", delimiter space (detected)",
        ),
    ] {
        let path = f.write(name, text);
        assert_eq!(labels(&path, "2").0, expected, "{name}");
        let (_, info) = read_with(&f, name, text, &InputOptions::default());
        assert!(
            info.ends_with(&format!("header yes, 2 columns{shown}")),
            "{info}"
        );
    }
    // A byte-order mark is no part of the first number.
    let (rows, _) = read_with(
        &f,
        "bom.csv",
        "\u{feff}1 2\n3 4\n",
        &InputOptions::default(),
    );
    assert_eq!(rows, [[1.0, 2.0], [3.0, 4.0]]);
    let (_, info) = read_with(&f, "toy.csv", "1,1\n2,1\n", &InputOptions::default());
    assert!(info.ends_with("toy.csv: header no, 2 columns"), "{info}");
    // One column: nothing splits it, and a comma reads it.
    let (rows, info) = read_with(&f, "one.csv", "v\n1\n2\n", &InputOptions::default());
    assert_eq!(rows, [[1.0], [2.0]]);
    assert!(info.ends_with("header yes, 1 column"), "{info}");

    // Decimal commas between semicolons split evenly both ways: refused.
    let eu = f.write("eu.csv", "1,5;2,5\n3,5;4,5\n");
    fails(
        2,
        &["meanshift", &eu, "--bandwidth", "1", "--backend", "cpu"],
        "both ',' and ';' split the first lines evenly: say which with --delimiter",
    );
}

/// `--delimiter`: as given, no sniffing; `space` is runs of blanks.
#[test]
fn the_delimiter_option() {
    let f = Scratch::new();
    let with = |d: &str| InputOptions {
        delimiter: Some(d.parse().unwrap()),
        ..InputOptions::default()
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
    for bad in ["", "ab", "x", "1", "\""] {
        assert!(bad.parse::<Delimiter>().is_err(), "{bad:?}");
    }
}

/// A first row that is neither all numbers nor all names is as likely a
/// typo in the first data row as a header: refused with exit 2 and the
/// option that settles it, never skipped in silence.
#[test]
fn an_untrustworthy_header_guess_is_refused() {
    let f = Scratch::new();
    let cases = [
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
    ];
    for (name, text, why) in cases {
        let path = f.write(name, text);
        let args = [
            "meanshift",
            path.as_str(),
            "--bandwidth",
            "1",
            "--backend",
            "cpu",
        ];
        fails(
            2,
            &args,
            &format!("line 1 is neither clearly a header nor data ({why})"),
        );
        fails(2, &args, "say which with --header yes or --header no");
    }
    // Names are a header; numbers are data; a header over rows of another
    // width is refused rather than read past.
    let (rows, _) = read_with(&f, "h.csv", "x,y\n1,2\n", &InputOptions::default());
    assert_eq!(rows, [[1.0, 2.0]]);
    let wide = f.write("wide.csv", "x,y,z\n1,2\n");
    fails(
        2,
        &["meanshift", &wide, "--bandwidth", "1", "--backend", "cpu"],
        "line 2 has 2 values, expected 3 like the header (line 1)",
    );

    // --header settles it either way.
    let header = |h| InputOptions {
        header: Some(h),
        ..InputOptions::default()
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

/// `--columns`: numbers and ranges from 1, header names, in the order
/// given; a text column left out is not read.
#[test]
fn the_columns_option() {
    let f = Scratch::new();
    let iris = "sepal,petal,width,species\n5.1,1.4,0.2,setosa\n6.3,4.9,1.5,versicolor\n";
    let cols = |list: &str| InputOptions {
        columns: Some(list.parse().unwrap()),
        ..InputOptions::default()
    };
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
    write_npy(&npy, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], 3);
    let (points, info) = read_points_with(&npy, &cols("2-3")).unwrap();
    assert_eq!(points.as_slice(), [2.0, 3.0, 5.0, 6.0]);
    assert!(
        info.to_string().ends_with("m.npy: 2 of 3 columns (2-3)"),
        "{info}"
    );

    // Without --columns the text column is named in the message.
    let err = read_error(&f, "iris.csv", iris, &InputOptions::default());
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
    let no_header = InputOptions {
        header: Some(false),
        ..cols("x")
    };
    let err = read_error(&f, "plain.csv", "1,2\n", &no_header);
    assert!(err.contains("--columns names need a header"), "{err}");
    for bad in ["", "0", "2,", "3-1", "0-2"] {
        assert!(bad.parse::<Columns>().is_err(), "{bad:?}");
    }
}

/// Columns in messages are the file's, counted from 1, wherever the data
/// column came from: after a pandas index, through --columns, in a .npy.
#[test]
fn columns_in_messages_count_from_1() {
    let f = Scratch::new();
    let cpu = ["--bandwidth", "1", "--backend", "cpu"];
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
        let path = f.write(name, text);
        fails(
            2,
            &[&["meanshift", path.as_str()][..], &cpu].concat(),
            needle,
        );
    }
    let only_y = InputOptions {
        columns: Some("3".parse().unwrap()),
        ..InputOptions::default()
    };
    let err = read_error(&f, "sel.csv", "a,b,c\n1,2,3\n4,5,nan\n", &only_y);
    assert!(
        err.ends_with("line 3, column 3: NaN is not a finite f32"),
        "{err}"
    );
    f.write("q.csv", ",x,y\n0,1,2\n");
    let (_, info) = read_points_with(&f.file("q.csv"), &InputOptions::default()).unwrap();
    assert_eq!((info.file_column(0), info.file_column(1)), (2, 3));

    // .npy: numpy's 0-based index, and the row and column from 1.
    let npy = f.file("nan.npy");
    write_npy(&npy, &[1.0f32, 2.0, 3.0, f32::NAN], 2);
    let err = read_points(&npy).map(|_| ()).unwrap_err().to_string();
    assert!(
        err.ends_with("element [1, 1] is NaN, not a finite f32 (row 2, column 2)"),
        "{err}"
    );
}

/// Runs the binary with stdout read to its first line and then closed, as
/// `| head -1` does: the exit status, the line and stderr. The output must
/// be well over a pipe's 64 KiB, or it is all written before the close.
fn head_1(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpu-cluster"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        line,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `gpu-cluster ... | head -1` ends quietly with exit 0: the reader has
/// what it asked for, which is no error.
#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let f = Scratch::new();
    let big = f.file("big.npy").display().to_string();
    let small = f.file("small.npy").display().to_string();
    ok(&["blobs", "--out", &big, "--per-cluster", "20000"]);
    ok(&["blobs", "--out", &small, "--per-cluster", "400"]);
    let runs: [&[&str]; 3] = [
        // 240 KB of labels, 1.2 MB of indices, 2.4 MB of points.
        &[
            "meanshift",
            &big,
            "--bandwidth",
            "10",
            "--bin-seeding",
            "--backend",
            "cpu",
        ],
        &["knn", &small, "--k", "100", "--backend", "cpu"],
        &["blobs", "--out", "-", "--per-cluster", "20000"],
    ];
    for args in runs {
        let (status, line, err) = head_1(args);
        assert_eq!(status, Some(0), "{args:?}: {err}");
        assert!(!line.is_empty(), "{args:?}: no first line");
        assert!(!err.contains("error"), "{args:?}: {err}");
    }
    // `--out -` is CSV on stdout, the same points as the file.
    let csv = f.file("b.csv").display().to_string();
    ok(&["blobs", "--out", &csv]);
    assert_eq!(
        ok(&["blobs", "--out", "-"]),
        fs::read_to_string(&csv).unwrap()
    );
}
