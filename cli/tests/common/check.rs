//! Reading the command line's outputs back, and comparing them with the
//! library's answers.

use std::fmt::Debug;
use std::str::FromStr;

/// One value a line, as labels, core points and predictions are written.
pub fn parse_lines<T: FromStr>(text: &str) -> Vec<T> {
    text.lines()
        .map(|l| l.parse().unwrap_or_else(|_| panic!("not a number: {l:?}")))
        .collect()
}

/// CSV rows of numbers (an empty line is not a row of numbers).
pub fn parse_rows<T: FromStr>(text: &str) -> Vec<Vec<T>>
where
    T::Err: Debug,
{
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|v| v.parse().unwrap_or_else(|e| panic!("{v:?}: {e:?}")))
                .collect()
        })
        .collect()
}

/// Lists of numbers, one a line, comma-separated; an empty line is an
/// empty list (a radius search that found nothing).
pub fn parse_lists<T: FromStr>(text: &str) -> Vec<Vec<T>>
where
    T::Err: Debug,
{
    text.lines()
        .map(|l| match l {
            "" => Vec::new(),
            _ => parse_rows(l).pop().expect("one row"),
        })
        .collect()
}

/// Asserts that `written`, centres as the command line wrote them, are a
/// fit's centres (`values` in `f64`, rows of `offset.len()`, moved back by
/// `offset`) to the precision of the work: within half an f32 step of the
/// centred centres' extent, per column. Anything rounded to f32 after
/// moving back fails far from the origin.
pub fn assert_centres(written: &[f64], values: &[f64], offset: &[f64], what: &str) {
    let dim = offset.len();
    assert_eq!(written.len(), values.len(), "{what}: {written:?}");
    for (i, (w, v)) in written.iter().zip(values).enumerate() {
        let a = i % dim;
        let extent = values
            .iter()
            .skip(a)
            .step_by(dim)
            .fold(0.0f64, |m, v| m.max((v - offset[a]).abs())) as f32;
        let tol = (f64::from(extent.next_up()) - f64::from(extent)) / 2.0;
        assert!((w - v).abs() <= tol, "{what}: {w} vs {v} (tolerance {tol})");
    }
}
