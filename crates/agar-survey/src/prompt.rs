//! The survey prompts: one user message per question (and, in cross-national
//! mode, per country the model is asked to answer as), and the answer prefix
//! written into the model's turn where the provider can continue one, so the
//! very next token is an option letter.
//!
//! Three modes ([`Prompting`]): `default` asks the question as it is;
//! `cross-national` asks how someone from a given country would answer it;
//! `linguistic` asks it in another language, from a translations file
//! ([`Translations`]).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::{LETTERS, Question};

/// How questions are put to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prompting {
    Default,
    CrossNational,
    Linguistic,
}

impl Prompting {
    pub fn label(self) -> &'static str {
        match self {
            Prompting::Default => "default",
            Prompting::CrossNational => "cross-national",
            Prompting::Linguistic => "linguistic",
        }
    }
}

/// The answer prefix of the default and cross-national modes.
pub const ANSWER_PREFIX: &str = "Answer: (";
const INSTRUCTION: &str = "Reply with the letter of one option only.";

/// The prompt of one survey item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyPrompt {
    /// The user message.
    pub user: String,
    /// What the model's turn starts with where it can be prefilled; the
    /// model's next token is then the option letter.
    pub answer_prefix: String,
    /// The option letters, `A` onwards, one per option.
    pub letters: Vec<String>,
}

/// The letters of `n` options.
pub fn letters(n: usize) -> Vec<String> {
    LETTERS.chars().take(n).map(String::from).collect()
}

fn render(
    preamble: Option<String>,
    question: &str,
    options: &[String],
    instruction: &str,
) -> String {
    let mut out = String::new();
    if let Some(p) = preamble {
        out.push_str(&p);
        out.push_str("\n\n");
    }
    out.push_str(question.trim());
    out.push_str("\n\n");
    for (letter, option) in LETTERS.chars().zip(options) {
        out.push_str(&format!("({letter}) {}\n", option.trim()));
    }
    out.push('\n');
    out.push_str(instruction);
    out
}

/// The default prompt.
pub fn default_prompt(q: &Question) -> SurveyPrompt {
    SurveyPrompt {
        user: render(None, &q.question, &q.options, INSTRUCTION),
        answer_prefix: ANSWER_PREFIX.into(),
        letters: letters(q.options.len()),
    }
}

/// The cross-national prompt: how someone from `country` would answer.
pub fn cross_national_prompt(q: &Question, country: &str) -> SurveyPrompt {
    let preamble = format!("How would someone from {country} answer the following question?");
    SurveyPrompt {
        user: render(Some(preamble), &q.question, &q.options, INSTRUCTION),
        answer_prefix: ANSWER_PREFIX.into(),
        letters: letters(q.options.len()),
    }
}

/// The linguistic prompt, or `None` when `translations` lacks the question
/// (or gives it a different number of options).
pub fn linguistic_prompt(q: &Question, translations: &Translations) -> Option<SurveyPrompt> {
    let t = translations.get(&q.question)?;
    if t.options.len() != q.options.len() {
        return None;
    }
    Some(SurveyPrompt {
        user: render(None, &t.question, &t.options, &translations.file.instruction),
        answer_prefix: translations.file.answer_prefix.clone(),
        letters: letters(q.options.len()),
    })
}

/// A translations file (`--translations FILE`, JSON; see docs/survey.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslationsFile {
    /// The language, a BCP 47 code such as `de`.
    pub language: String,
    /// The closing instruction, in that language (asking for a letter only).
    pub instruction: String,
    /// What the model's turn starts with (default `(`).
    #[serde(default = "paren")]
    pub answer_prefix: String,
    pub questions: Vec<TranslatedQuestion>,
}

fn paren() -> String {
    "(".into()
}

/// One translated question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslatedQuestion {
    /// The question as the dataset has it (the key it is matched by,
    /// surrounding whitespace ignored).
    pub original: String,
    /// The question in the language.
    pub question: String,
    /// The options in the language, in the dataset's order.
    pub options: Vec<String>,
}

/// A translations file, indexed by original question.
#[derive(Debug, Clone)]
pub struct Translations {
    pub file: TranslationsFile,
    by_original: HashMap<String, usize>,
}

/// Why a translations file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TranslationsError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Invalid { path: String, line: usize, message: String },
}

impl Translations {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Self, TranslationsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| TranslationsError::Io { path: shown.clone(), source })?;
        Self::parse(&shown, &text)
    }

    /// Checks translations text; `path` only names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, TranslationsError> {
        let invalid = |line: usize, message: String| TranslationsError::Invalid {
            path: path.to_string(),
            line,
            message,
        };
        let file: TranslationsFile =
            serde_json::from_str(text).map_err(|e| invalid(e.line(), e.to_string()))?;
        if file.instruction.trim().is_empty() {
            return Err(invalid(1, "`instruction` is empty".into()));
        }
        let mut by_original = HashMap::new();
        for (i, q) in file.questions.iter().enumerate() {
            if by_original.insert(q.original.trim().to_string(), i).is_some() {
                let line = line_of(text, &q.original);
                return Err(invalid(
                    line,
                    format!("the question {:?} is translated twice", q.original),
                ));
            }
        }
        Ok(Self { file, by_original })
    }

    /// The translation of a dataset question.
    pub fn get(&self, original: &str) -> Option<&TranslatedQuestion> {
        self.by_original.get(original.trim()).and_then(|i| self.file.questions.get(*i))
    }
}

/// The line of the last occurrence of `needle`'s JSON form in `text` (1 when not found).
fn line_of(text: &str, needle: &str) -> usize {
    let quoted = serde_json::to_string(needle).unwrap_or_default();
    text.rfind(&quoted).map_or(1, |at| text[..at].matches('\n').count() + 1)
}
