//! Reading input files without silent wrong answers, and Unix manners on
//! stdout.
//!
//! The built binary on small CSV files: a pandas index left out with a note,
//! a delimiter sniffed, a first row that is neither clearly a header nor
//! data refused, columns counted from 1 in every message; and a reader that
//! closes stdout early ending the run quietly. The reader itself, with
//! the options the command line passes on (`--delimiter`, `--header`,
//! `--columns`), is the library's `gpu_cluster::io`, tested in the
//! library's tests/io.rs.

#[allow(dead_code)]
#[path = "common/run.rs"]
mod run;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use run::{Scratch, fails, meanshift_args, ok, ok_with_stderr};

/// Mean shift on the CPU with bandwidth `h`: the labels, and stderr.
fn labels(path: &str, h: &str) -> (Vec<i32>, String) {
    labels_with(path, h, &[])
}

/// [`labels`] with more arguments (the options of reading).
fn labels_with(path: &str, h: &str, more: &[&str]) -> (Vec<i32>, String) {
    let (out, err) = ok_with_stderr(&meanshift_args(path, h, more));
    (out.lines().map(|l| l.parse().unwrap()).collect(), err)
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
    assert!(
        err.contains("header yes, 2 of 3 columns (2-3; 1 is a pandas index)"),
        "{err}"
    );

    // With --columns the list decides, counting the file's columns.
    let (labels, err) = labels_with(&p, "1", &["--columns", "1,3"]);
    assert_eq!(labels.len(), 4);
    assert!(err.contains("2 of 3 columns (1,3)"), "{err}");
    assert!(!err.contains("note:"), "{err}");
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
    for (name, text, _) in [
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
    }

    // Decimal commas between semicolons split evenly both ways: refused.
    let eu = f.write("eu.csv", "1,5;2,5\n3,5;4,5\n");
    fails(
        2,
        &meanshift_args(&eu, "1", &[]),
        "both ',' and ';' split the first lines evenly: say which with --delimiter",
    );
}

/// `--delimiter`, `--header` and `--columns` reach the reader (the reader
/// itself is tested in the library's tests/io.rs): the summary says what
/// was read, and a bad value is a usage error.
#[test]
fn the_read_options_reach_the_reader() {
    let f = Scratch::new();
    let eu = f.write("eu.csv", "1;5\n2;7\n1;6\n");
    let (_, err) = labels_with(&eu, "3", &["--delimiter", ";"]);
    assert!(err.contains("header no, 2 columns, delimiter ';'"), "{err}");
    let numeric = f.write("numeric.csv", "x,1\n2,1\n3,1\n");
    let (labels, err) = labels_with(&numeric, "3", &["--header", "yes"]);
    assert_eq!(labels.len(), 2);
    assert!(err.contains("header yes, 2 columns"), "{err}");
    let iris = f.write(
        "iris.csv",
        "sepal,petal,width,species\n5.1,1.4,0.2,setosa\n6.3,4.9,1.5,versicolor\n",
    );
    let (labels, err) = labels_with(&iris, "9", &["--columns", "width, sepal"]);
    assert_eq!(labels, [0, 0]);
    assert!(err.contains("header yes, 2 of 4 columns (3,1)"), "{err}");
    fails(
        2,
        &meanshift_args(&iris, "1", &["--columns", "5"]),
        "--columns asks for column 5 of 4",
    );
    for (flag, bad) in [
        ("--delimiter", "ab"),
        ("--columns", "0"),
        ("--header", "maybe"),
    ] {
        fails(2, &meanshift_args(&iris, "1", &[flag, bad]), flag);
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
        let args = meanshift_args(&path, "1", &[]);
        fails(
            2,
            &args,
            &format!("line 1 is neither clearly a header nor data ({why})"),
        );
        fails(2, &args, "say which with --header yes or --header no");
    }
    // A header over rows of another width is refused rather than read
    // past.
    let wide = f.write("wide.csv", "x,y,z\n1,2\n");
    fails(
        2,
        &meanshift_args(&wide, "1", &[]),
        "line 2 has 2 values, expected 3 like the header (line 1)",
    );
}

/// Columns in messages are the file's, counted from 1, wherever the data
/// column came from: after a pandas index, through --columns, in a .npy.
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
        let path = f.write(name, text);
        fails(2, &meanshift_args(&path, "1", &[]), needle);
    }
    let sel = f.write("sel.csv", "a,b,c\n1,2,3\n4,5,nan\n");
    fails(
        2,
        &meanshift_args(&sel, "1", &["--columns", "3"]),
        "sel.csv: line 3, column 3: NaN is not a finite f32",
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
    let big = f.blobs_with("big.npy", &["--per-cluster", "20000"]);
    let small = f.blobs_with("small.npy", &["--per-cluster", "400"]);
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
    f.blobs_with("b.csv", &[]);
    assert_eq!(ok(&["blobs", "--out", "-"]), f.read("b.csv"));
}
