//! The word lists of an introspection run: concepts to inject, baseline
//! words whose mean is subtracted, and yes-bias questions. agar ships one of
//! each (`data/*.txt`); `--concepts`, `--baselines` and `--no-questions`
//! replace them with a file in the same format: one entry a line, `#`
//! starts a comment, blank lines are skipped. Problems are reported as
//! `path:line`, all at once.

use std::path::{Path, PathBuf};

use agar_scenario::Diagnostic;
use serde::{Deserialize, Serialize};

/// Concepts shipped with agar.
pub const SHIPPED_CONCEPTS: &str = include_str!("../data/concepts.txt");
/// Baseline words shipped with agar.
pub const SHIPPED_BASELINES: &str = include_str!("../data/baselines.txt");
/// Yes-bias questions shipped with agar (the true answer to each is no).
pub const SHIPPED_NO_QUESTIONS: &str = include_str!("../data/no_questions.txt");

/// The longest entry accepted: a word (concepts, baselines) or a question.
const MAX_WORD_CHARS: usize = 40;
const MAX_QUESTION_CHARS: usize = 300;

/// What a list holds, which decides what an entry may look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Concepts,
    Baselines,
    NoQuestions,
}

impl ListKind {
    fn shipped(self) -> &'static str {
        match self {
            ListKind::Concepts => SHIPPED_CONCEPTS,
            ListKind::Baselines => SHIPPED_BASELINES,
            ListKind::NoQuestions => SHIPPED_NO_QUESTIONS,
        }
    }
}

/// Why a list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WordsError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

/// A list's entries and where they came from (`shipped` or a path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordList {
    pub kind: ListKind,
    pub source: String,
    pub entries: Vec<String>,
}

impl WordList {
    /// The list agar ships.
    pub fn shipped(kind: ListKind) -> WordList {
        let entries = parse(kind, Path::new("shipped"), kind.shipped())
            .unwrap_or_else(|diags| panic!("the shipped {kind:?} list is invalid: {diags:?}"));
        WordList { kind, source: "shipped".into(), entries }
    }

    /// A list from `path`, or the shipped one when `path` is `None`.
    pub fn load(kind: ListKind, path: Option<&Path>) -> Result<WordList, WordsError> {
        let Some(path) = path else { return Ok(WordList::shipped(kind)) };
        let text = std::fs::read_to_string(path)
            .map_err(|source| WordsError::Io { path: path.to_owned(), source })?;
        let entries = parse(kind, path, &text).map_err(WordsError::Invalid)?;
        Ok(WordList { kind, source: path.display().to_string(), entries })
    }
}

/// The entries of a list file's text, or every problem in it.
pub fn parse(kind: ListKind, path: &Path, text: &str) -> Result<Vec<String>, Vec<Diagnostic>> {
    let mut entries: Vec<String> = Vec::new();
    let mut diags = Vec::new();
    let mut first_line: Vec<usize> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let entry = raw.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let mut problem = |message: String| diags.push(Diagnostic::error(path, line, message));
        if let Some(message) = invalid(kind, entry) {
            problem(message);
            continue;
        }
        if let Some(i) = entries.iter().position(|e| e.eq_ignore_ascii_case(entry)) {
            problem(format!("{entry:?} is listed twice (first on line {})", first_line[i]));
            continue;
        }
        entries.push(entry.to_string());
        first_line.push(line);
    }
    if entries.is_empty() && diags.is_empty() {
        diags.push(Diagnostic::error(path, 1, "the list is empty"));
    }
    if diags.is_empty() { Ok(entries) } else { Err(diags) }
}

/// Why `entry` cannot be in a list of `kind`, if it cannot.
fn invalid(kind: ListKind, entry: &str) -> Option<String> {
    let chars = entry.chars().count();
    if entry.chars().any(char::is_control) {
        return Some("an entry may not contain control characters".into());
    }
    match kind {
        ListKind::Concepts | ListKind::Baselines => {
            if chars > MAX_WORD_CHARS {
                return Some(format!("{chars} characters; a word has at most {MAX_WORD_CHARS}"));
            }
            let word = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'');
            if !entry.chars().all(word) {
                return Some(format!(
                    "{entry:?} is not a word (letters, digits, spaces, '-' and ''' only)"
                ));
            }
            None
        }
        ListKind::NoQuestions => {
            if chars > MAX_QUESTION_CHARS {
                return Some(format!(
                    "{chars} characters; a question has at most {MAX_QUESTION_CHARS}"
                ));
            }
            (!entry.ends_with('?')).then(|| format!("{entry:?} does not end with '?'"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lists_parse_and_do_not_overlap() {
        let concepts = WordList::shipped(ListKind::Concepts).entries;
        let baselines = WordList::shipped(ListKind::Baselines).entries;
        let questions = WordList::shipped(ListKind::NoQuestions).entries;
        assert_eq!(concepts.len(), 40);
        assert_eq!(baselines.len(), 50);
        assert_eq!(questions.len(), 12);
        for c in &concepts {
            assert!(!baselines.contains(c), "{c} is both a concept and a baseline");
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "# words\nvolcano\n\nvolcano\nhot/cold\nok # comment\n";
        let diags = parse(ListKind::Concepts, Path::new("w.txt"), text).unwrap_err();
        let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "w.txt:4: error: \"volcano\" is listed twice (first on line 2)",
                "w.txt:5: error: \"hot/cold\" is not a word (letters, digits, spaces, '-' and ''' only)",
            ]
        );
        let ok = parse(ListKind::Concepts, Path::new("w.txt"), "a\nok # c\n").unwrap();
        assert_eq!(ok, ["a", "ok"]);
    }

    #[test]
    fn questions_must_be_questions_and_lists_not_empty() {
        let diags = parse(ListKind::NoQuestions, Path::new("q.txt"), "Is it?\nIt is.\n");
        assert_eq!(diags.unwrap_err()[0].line, 2);
        let empty = parse(ListKind::Baselines, Path::new("b.txt"), "# nothing\n").unwrap_err();
        assert_eq!(empty[0].to_string(), "b.txt:1: error: the list is empty");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let e = WordList::load(ListKind::Concepts, Some(Path::new("/no/such/list.txt")));
        assert!(e.unwrap_err().to_string().starts_with("/no/such/list.txt: "));
    }
}
