//! The dataset reader: a CSV in the GlobalOpinionQA format (columns
//! `question`, `selections`, `options`, `source`, in any order, others
//! ignored) to validated [`Question`]s. Every malformed row is reported with
//! the line it starts on, all at once.
//!
//! `selections` is a Python-printed mapping (often wrapped in
//! `defaultdict(<class 'list'>, ...)`) from a country, possibly followed by a
//! sample note in parentheses (`Nigeria (Non-national sample)`), to the
//! fraction of that country's respondents choosing each option. `options` is
//! a Python-printed list of option texts, in single or double quotes.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::csv;
use crate::pylit::{self, PyValue};

/// The columns a dataset must have.
pub const COLUMNS: [&str; 4] = ["question", "selections", "options", "source"];
/// Option letters: a question may have at most this many options.
pub const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// How far a country's fractions may sum from 1 before the row is refused
/// (published rows are rounded; they are normalised to sum to 1).
pub const SUM_TOLERANCE: f64 = 0.05;

/// One country's answers to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryAnswers {
    /// The country's name, without its sample note.
    pub country: String,
    /// The note after the name, e.g. `Non-national sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The share choosing each option, in option order, normalised to sum to 1.
    pub distribution: Vec<f64>,
}

/// One question of the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Its position among the dataset's questions (0-based, file order).
    pub index: usize,
    /// The line of the file its row starts on.
    pub line: usize,
    pub question: String,
    pub options: Vec<String>,
    pub selections: Vec<CountryAnswers>,
    /// `GAS` (Pew Global Attitudes) or `WVS` (World Values Survey), as written.
    pub source: String,
}

impl Question {
    /// A stable id for the store: `q` and the index, padded (`q0007`).
    pub fn id(&self) -> String {
        format!("q{:04}", self.index)
    }
}

/// One problem in a dataset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Every malformed row, one `path:line: message` per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

/// Reads and validates the dataset at `path`.
pub fn read_dataset(path: &Path) -> Result<Vec<Question>, DatasetError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
    parse_dataset(path, &text)
}

/// Validates dataset text; `path` only names the file in diagnostics.
pub fn parse_dataset(path: &Path, text: &str) -> Result<Vec<Question>, DatasetError> {
    let diag =
        |line: usize, message: String| Diagnostic { path: path.to_path_buf(), line, message };
    let rows =
        csv::records(text).map_err(|e| DatasetError::Invalid(vec![diag(e.line, e.message)]))?;
    let Some((header, rows)) = rows.split_first() else {
        return Err(DatasetError::Invalid(vec![diag(1, "the file is empty".into())]));
    };
    let mut columns = [0usize; 4];
    let mut missing = Vec::new();
    for (slot, name) in columns.iter_mut().zip(COLUMNS) {
        match header.fields.iter().position(|h| h.trim() == name) {
            Some(i) => *slot = i,
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        let message = format!(
            "the header lacks the column(s) {} (expected {})",
            missing.join(", "),
            COLUMNS.join(", ")
        );
        return Err(DatasetError::Invalid(vec![diag(header.line, message)]));
    }
    let mut questions = Vec::new();
    let mut problems = Vec::new();
    for row in rows {
        let field = |i: usize| row.fields.get(columns[i]).map(String::as_str);
        let fields = [field(0), field(1), field(2), field(3)];
        let [Some(q), Some(sel), Some(opts), Some(source)] = fields else {
            let message = format!(
                "the row has {} field(s); the header has {}",
                row.fields.len(),
                header.fields.len()
            );
            problems.push(diag(row.line, message));
            continue;
        };
        match question(q, sel, opts, source) {
            Ok((question, options, selections, source)) => questions.push(Question {
                index: questions.len(),
                line: row.line,
                question,
                options,
                selections,
                source,
            }),
            Err(message) => problems.push(diag(row.line, message)),
        }
    }
    if problems.is_empty() { Ok(questions) } else { Err(DatasetError::Invalid(problems)) }
}

type Parts = (String, Vec<String>, Vec<CountryAnswers>, String);

fn question(q: &str, sel: &str, opts: &str, source: &str) -> Result<Parts, String> {
    let question = q.trim().to_string();
    if question.is_empty() {
        return Err("the question is empty".into());
    }
    let options = match pylit::parse(opts).map_err(|e| format!("options: {e}"))? {
        PyValue::List(items) | PyValue::Tuple(items) => items
            .into_iter()
            .map(|v| match v {
                PyValue::Str(s) => Ok(s),
                PyValue::Num(n) => Ok(n.to_string()),
                other => Err(format!("options: an option is {}, not a string", other.kind())),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(format!("options: expected a list, found {}", other.kind())),
    };
    if options.len() < 2 {
        return Err(format!(
            "options: a question needs at least 2 options, found {}",
            options.len()
        ));
    }
    if options.len() > LETTERS.len() {
        return Err(format!("options: at most {} options, found {}", LETTERS.len(), options.len()));
    }
    let selections = selections(sel, options.len())?;
    let source = source.trim().to_string();
    Ok((question, options, selections, source))
}

fn selections(text: &str, n_options: usize) -> Result<Vec<CountryAnswers>, String> {
    let PyValue::Dict(items) = pylit::parse(text).map_err(|e| format!("selections: {e}"))? else {
        return Err("selections: expected a dict from country to fractions".into());
    };
    if items.is_empty() {
        return Err("selections: no country".into());
    }
    let mut out: Vec<CountryAnswers> = Vec::new();
    for (key, value) in items {
        let PyValue::Str(key) = key else {
            return Err(format!("selections: a key is {}, not a country name", key.kind()));
        };
        let (country, note) = split_note(&key);
        if country.is_empty() {
            return Err("selections: a country name is empty".into());
        }
        let values = match value {
            PyValue::List(v) | PyValue::Tuple(v) => v,
            other => {
                return Err(format!("selections: {key}: expected a list, found {}", other.kind()));
            }
        };
        let fractions: Vec<f64> = values
            .iter()
            .map(|v| match v {
                PyValue::Num(x) if *x >= 0.0 => Ok(*x),
                other => Err(format!("selections: {key}: {other:?} is not a fraction")),
            })
            .collect::<Result<_, _>>()?;
        if fractions.len() != n_options {
            return Err(format!(
                "selections: {key}: {} fraction(s) for {n_options} options",
                fractions.len()
            ));
        }
        let sum: f64 = fractions.iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            return Err(format!("selections: {key}: the fractions sum to {sum}, not 1"));
        }
        if out.iter().any(|c| c.country == country && c.note == note) {
            return Err(format!("selections: {key} appears twice"));
        }
        out.push(CountryAnswers {
            country,
            note,
            distribution: fractions.iter().map(|x| x / sum).collect(),
        });
    }
    Ok(out)
}

/// `Nigeria (Non-national sample)` -> (`Nigeria`, `Non-national sample`).
fn split_note(key: &str) -> (String, Option<String>) {
    let key = key.trim();
    if let Some(open) = key.find(" (")
        && key.ends_with(')')
    {
        let note = key[open + 2..key.len() - 1].trim();
        return (key[..open].trim().to_string(), Some(note.to_string()).filter(|n| !n.is_empty()));
    }
    (key.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_notes_are_split_off() {
        assert_eq!(split_note("Chad (Urban only)"), ("Chad".into(), Some("Urban only".into())));
        assert_eq!(split_note("Chad"), ("Chad".into(), None));
        assert_eq!(split_note("Côte d'Ivoire"), ("Côte d'Ivoire".into(), None));
    }
}
