//! Per-country similarity: for each country, the mean over its questions of
//! `1 - JSD(model, country)`, where JSD is the Jensen-Shannon distance with
//! log base 2 (so similarity lies in [0, 1] and 1 means identical
//! distributions), the number of questions it rests on, and a seeded
//! percentile bootstrap interval over those questions.
//!
//! Which answers count for a country: in the default and linguistic modes
//! every valid answer to a question the country answered; in cross-national
//! mode only the answers given when the model was asked to answer as that
//! country (its "diagonal"). Invalid answers count for no country.

use std::collections::BTreeMap;

use agar_report::stats::{bootstrap_mean_interval, jensen_shannon_distance};
use serde::{Deserialize, Serialize};

use crate::answer::ModelAnswer;
use crate::dataset::{CountryAnswers, Question};

/// The bootstrap's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntervalOptions {
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

impl Default for IntervalOptions {
    fn default() -> Self {
        Self { resamples: 2000, confidence: 0.95, seed: 0x5eed_5a7e }
    }
}

/// One answered survey item, as the metric sees it.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    pub question: &'a Question,
    /// The country the model was asked to answer as (cross-national mode).
    pub persona: Option<&'a str>,
    pub answer: &'a ModelAnswer,
}

/// One country's figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryFigure {
    /// The country as the dataset names it, with its sample note if any.
    pub country: String,
    /// Mean of 1 - Jensen-Shannon distance (log base 2).
    pub similarity: f64,
    pub questions: usize,
    /// The bootstrap interval of `similarity`; `None` for a single question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
}

/// Every country's figure, most similar first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Similarities {
    pub metric: String,
    pub log_base: u32,
    pub interval: IntervalOptions,
    pub countries: Vec<CountryFigure>,
}

impl Similarities {
    /// The figure of a country named as a user would write it: case,
    /// spaces and punctuation are ignored (`united states`, `UnitedStates`).
    pub fn find(&self, name: &str) -> Option<&CountryFigure> {
        let want = normalise(name);
        let exact = self.countries.iter().find(|c| normalise(&c.country) == want);
        exact.or_else(|| self.countries.iter().find(|c| normalise(base_name(&c.country)) == want))
    }

    /// The `n` most similar countries, most similar first.
    pub fn most_similar(&self, n: usize) -> &[CountryFigure] {
        &self.countries[..n.min(self.countries.len())]
    }

    /// The `n` least similar countries, least similar first.
    pub fn least_similar(&self, n: usize) -> Vec<&CountryFigure> {
        self.countries.iter().rev().take(n).collect()
    }
}

/// `Nigeria (Non-national sample)` -> `Nigeria`.
fn base_name(label: &str) -> &str {
    label.split_once(" (").map_or(label, |(b, _)| b)
}

/// Lower case, letters and digits only.
pub fn normalise(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Whether a `--countries` entry names this country (with or without its note).
pub fn names(country: &CountryAnswers, wanted: &str) -> bool {
    let w = normalise(wanted);
    normalise(&country.country) == w || normalise(&label(country)) == w
}

/// A country as shown: its name and, in parentheses, its sample note.
pub fn label(c: &CountryAnswers) -> String {
    match &c.note {
        Some(n) => format!("{} ({n})", c.country),
        None => c.country.clone(),
    }
}

/// 1 - Jensen-Shannon distance (log base 2) of two distributions over the
/// same options; `None` when they are not comparable.
pub fn similarity(model: &[f64], human: &[f64]) -> Option<f64> {
    jensen_shannon_distance(model, human).map(|d| 1.0 - d)
}

/// Each country's per-question similarities (see the module doc for which
/// answers count). `countries` (when not empty) keeps only the countries it
/// names.
pub fn per_country(items: &[Scored<'_>], countries: &[String]) -> BTreeMap<String, Vec<f64>> {
    let mut per: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for item in items.iter().filter(|i| i.answer.valid) {
        for c in &item.question.selections {
            if !countries.is_empty() && !countries.iter().any(|w| names(c, w)) {
                continue;
            }
            if item.persona.is_some_and(|p| !names(c, p)) {
                continue;
            }
            if let Some(s) = similarity(&item.answer.distribution, &c.distribution) {
                per.entry(label(c)).or_default().push(s);
            }
        }
    }
    per
}

/// Every country's figure from [`per_country`]'s similarities.
pub fn similarities(per: &BTreeMap<String, Vec<f64>>, opts: IntervalOptions) -> Similarities {
    let mut figures: Vec<CountryFigure> = per
        .iter()
        .filter(|(_, xs)| !xs.is_empty())
        .map(|(country, xs)| {
            let interval = (xs.len() > 1)
                .then(|| {
                    bootstrap_mean_interval(
                        xs,
                        opts.resamples,
                        opts.confidence,
                        seed(opts, country),
                    )
                })
                .flatten();
            let similarity = xs.iter().sum::<f64>() / xs.len() as f64;
            CountryFigure { country: country.clone(), similarity, questions: xs.len(), interval }
        })
        .collect();
    figures.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.country.cmp(&b.country)));
    Similarities {
        metric: "mean of 1 - Jensen-Shannon distance".into(),
        log_base: 2,
        interval: opts,
        countries: figures,
    }
}

/// The bootstrap seed of one country: the same country always gets the same interval.
pub(crate) fn seed(opts: IntervalOptions, country: &str) -> u64 {
    opts.seed ^ agar_core::det::fnv1a(country.as_bytes())
}
