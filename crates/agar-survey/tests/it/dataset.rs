//! The reader against the synthetic file's quirks and the malformed file's lines.

use agar_survey::{DatasetError, read_dataset};

use crate::data;

#[test]
fn the_synthetic_file_parses_with_its_quirks() {
    let qs = read_dataset(&data("synthetic.csv")).expect("parses");
    assert_eq!(qs.len(), 3);
    // defaultdict(...) selections, a sample note, a "" quote in the options.
    assert_eq!(qs[0].options, ["Yes", "No", "Don't know"]);
    let nigeria = &qs[0].selections[3];
    assert_eq!(nigeria.country, "Nigeria");
    assert_eq!(nigeria.note.as_deref(), Some("Non-national sample"));
    assert_eq!(qs[0].source, "GAS");
    assert_eq!(qs[0].id(), "q0000");
    // A question over two lines; a double-quoted key holding a single quote.
    assert_eq!(qs[1].line, 3);
    assert!(qs[1].question.contains("area,\nhow much"), "{}", qs[1].question);
    assert_eq!(qs[1].options[1], "Some, but not a lot");
    assert_eq!(qs[1].selections[2].country, "Côte d'Ivoire");
    // A plain dict, an escaped quote, rounded fractions normalised to sum to 1.
    assert_eq!(qs[2].line, 5);
    assert_eq!(
        qs[2].question,
        "How important is it to you that a neighbour says \"good morning\"?"
    );
    assert_eq!(qs[2].options[2], "It's not important");
    assert_eq!(qs[2].source, "WVS");
    let germany = &qs[2].selections[0].distribution;
    assert!((germany.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((germany[0] - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn every_malformed_row_is_reported_with_its_line() {
    let path = data("malformed.csv");
    let Err(DatasetError::Invalid(problems)) = read_dataset(&path) else {
        panic!("the malformed file was accepted");
    };
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4, 6, 7], "{problems:?}");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let shown = path.display().to_string();
    assert_eq!(text[0], format!("{shown}:3: selections: Germany: 3 fraction(s) for 2 options"));
    assert!(
        text[1].starts_with(&format!("{shown}:4: options: `open` is not a literal")),
        "{}",
        text[1]
    );
    assert!(text[2].contains(":6: selections: Japan: the fractions sum to 1.8"), "{}", text[2]);
    assert!(text[3].contains(":7: the row has 1 field(s); the header has 4"), "{}", text[3]);
}

#[test]
fn a_missing_column_and_an_unclosed_quote_are_reported() {
    let p = std::path::Path::new("x.csv");
    let err = agar_survey::parse_dataset(p, "question,options,source\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.csv:1: the header lacks the column(s) selections (expected question, selections, options, source)"
    );
    let err =
        agar_survey::parse_dataset(p, "question,selections,options,source\n\"open\n").unwrap_err();
    assert_eq!(err.to_string(), "x.csv:2: a quoted field is not closed");
    let err = agar_survey::read_dataset(std::path::Path::new("/nonexistent/x.csv")).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/x.csv: "), "{err}");
}
