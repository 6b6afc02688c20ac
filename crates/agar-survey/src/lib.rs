//! Cross-national opinion audits (`agar survey`): whose opinions does a
//! model's answer distribution resemble?
//!
//! - [`pylit`]: a parser for Python literals as the dataset prints them.
//! - [`csv`]: CSV records with the line each starts on.
//! - [`dataset`]: the GlobalOpinionQA-format file to [`Question`]s, with
//!   `path:line` diagnostics.
//! - [`prompt`]: the three prompting modes ([`Prompting`]) and the
//!   translations file of the linguistic one ([`Translations`]).
//! - [`answer`]: the model's distribution over option letters from
//!   log-probabilities or samples ([`ModelAnswer`]), and validity.
//! - [`metric`]: per-country similarity (mean of 1 - Jensen-Shannon distance,
//!   log base 2) with bootstrap intervals ([`Similarities`]).
//! - [`mod@compare`]: two runs' per-country differences ([`CountryDelta`]).
//! - [`gate`]: `--fail-if` conditions on survey figures ([`SurveyCondition`]).
//! - [`chart`]: the SVG bar chart, an HTML page and the CSV export.
//!
//! Data flow: dataset file -> questions -> prompts -> (the caller asks the
//! model) -> answers -> similarities -> table, comparison, gates. Pure
//! functions: the caller drives models and stores results.

pub mod answer;
pub mod chart;
pub mod compare;
pub mod csv;
pub mod dataset;
pub mod gate;
pub mod metric;
pub mod prompt;
pub mod pylit;

pub use answer::{DEFAULT_MIN_MASS, Method, ModelAnswer, from_logprobs, from_samples};
pub use compare::{CountryDelta, compare};
pub use dataset::{
    CountryAnswers, DatasetError, Diagnostic, Question, parse_dataset, read_dataset,
};
pub use gate::{Counts, SurveyCondition, parse_conditions};
pub use metric::{CountryFigure, IntervalOptions, Scored, Similarities, per_country, similarities};
pub use prompt::{Prompting, SurveyPrompt, Translations};
