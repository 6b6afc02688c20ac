//! `--fail-if` conditions on survey figures, in the grammar of agar's other
//! gates (`NAME OP NUMBER`, OP one of `>`, `>=`, `<`, `<=`, `==`, `!=`,
//! whitespace ignored):
//!
//! - `similarity.COUNTRY`: the country's similarity (`similarity.Germany<0.7`);
//! - `gap.COUNTRY_A.COUNTRY_B`: A's similarity minus B's
//!   (`gap.United States.Nigeria>0.1`);
//! - `delta.similarity.COUNTRY` (`agar compare` only): the second run's
//!   similarity minus the first's;
//! - `invalid.share`, `invalid.count`, `failed.count`: the run's questions
//!   whose letters got too little probability, and those the model could
//!   not be asked.
//!
//! Country names match whatever their case, spaces and punctuation. A
//! condition naming a country the run has no figure for is an error, never
//! a pass.

use agar_report::{GateError, GateOutcome};

use crate::compare::CountryDelta;
use crate::metric::{CountryFigure, Similarities};

/// What a condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure {
    Similarity(String),
    /// The text after `gap.`: two country names joined by a `.` (split where
    /// both halves name countries of the run).
    Gap(String),
    DeltaSimilarity(String),
    InvalidShare,
    InvalidCount,
    FailedCount,
}

/// One survey condition.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyCondition {
    pub input: String,
    pub figure: Figure,
    op: &'static str,
    pub threshold: f64,
}

/// The run's question counts a condition may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Items answered (valid or invalid).
    pub answered: usize,
    pub invalid: usize,
    /// Items whose model call failed.
    pub failed: usize,
}

const OPS: [&str; 6] = [">=", "<=", "==", "!=", ">", "<"];

/// Parses `--fail-if` values; `comparison` allows `delta.` conditions.
pub fn parse_conditions(
    inputs: &[String],
    comparison: bool,
) -> Result<Vec<SurveyCondition>, GateError> {
    inputs.iter().map(|i| parse(i, comparison)).collect()
}

fn parse(input: &str, comparison: bool) -> Result<SurveyCondition, GateError> {
    let err = |reason: &str| GateError { input: input.to_string(), reason: reason.to_string() };
    let pos = input.find(['>', '<', '=', '!']).ok_or_else(|| {
        err("expected NAME OP NUMBER, e.g. similarity.Germany<0.7 or gap.Germany.France>0.1")
    })?;
    let (lhs, rest) = input.split_at(pos);
    let op = OPS
        .iter()
        .find(|op| rest.starts_with(**op))
        .ok_or_else(|| err("unknown operator (use >, >=, <, <=, == or !=)"))?;
    let number: String = rest[op.len()..].chars().filter(|c| !c.is_whitespace()).collect();
    let threshold: f64 = number.parse().map_err(|_| err("the threshold is not a number"))?;
    if !threshold.is_finite() {
        return Err(err("the threshold is not a finite number"));
    }
    let lhs = lhs.trim();
    let named = |prefix: &str| lhs.strip_prefix(prefix).map(str::trim).filter(|s| !s.is_empty());
    let figure = if let Some(c) = named("delta.similarity.") {
        if !comparison {
            return Err(err("delta. conditions compare two runs (agar compare)"));
        }
        Figure::DeltaSimilarity(c.to_string())
    } else if let Some(c) = named("similarity.") {
        Figure::Similarity(c.to_string())
    } else if let Some(c) = named("gap.") {
        Figure::Gap(c.to_string())
    } else {
        match lhs.replace(char::is_whitespace, "").as_str() {
            "invalid.share" => Figure::InvalidShare,
            "invalid.count" => Figure::InvalidCount,
            "failed.count" => Figure::FailedCount,
            _ => {
                return Err(err(
                    "survey conditions read similarity.COUNTRY, gap.COUNTRY.COUNTRY, \
                 delta.similarity.COUNTRY, invalid.share, invalid.count or failed.count",
                ));
            }
        }
    };
    Ok(SurveyCondition { input: input.to_string(), figure, op, threshold })
}

impl SurveyCondition {
    fn held(&self, value: f64) -> bool {
        let t = self.threshold;
        match self.op {
            ">" => value > t,
            ">=" => value >= t,
            "<" => value < t,
            "<=" => value <= t,
            "==" => (value - t).abs() < 1e-9,
            _ => (value - t).abs() >= 1e-9,
        }
    }

    fn error(&self, reason: String) -> GateError {
        GateError { input: self.input.clone(), reason }
    }

    fn outcome(&self, value: f64) -> GateOutcome {
        GateOutcome { condition: self.input.clone(), value: Some(value), held: self.held(value) }
    }

    /// Checks the condition against one run's figures. Naming a country
    /// without a figure is an error.
    pub fn check(&self, sims: &Similarities, counts: Counts) -> Result<GateOutcome, GateError> {
        let value = match &self.figure {
            Figure::Similarity(c) => self.country(sims, c)?.similarity,
            Figure::Gap(pair) => {
                let (a, b) = self.pair(sims, pair)?;
                a.similarity - b.similarity
            }
            Figure::DeltaSimilarity(_) => {
                return Err(self.error("delta. conditions compare two runs".into()));
            }
            Figure::InvalidShare if counts.answered == 0 => {
                return Err(self.error("no question was answered".into()));
            }
            Figure::InvalidShare => counts.invalid as f64 / counts.answered as f64,
            Figure::InvalidCount => counts.invalid as f64,
            Figure::FailedCount => counts.failed as f64,
        };
        Ok(self.outcome(value))
    }

    /// Checks the condition against a comparison; conditions without
    /// `delta.` read the second run (`b`).
    pub fn check_comparison(
        &self,
        deltas: &[CountryDelta],
        b: &Similarities,
        counts_b: Counts,
    ) -> Result<GateOutcome, GateError> {
        let Figure::DeltaSimilarity(c) = &self.figure else { return self.check(b, counts_b) };
        let want = crate::metric::normalise(c);
        let d = deltas
            .iter()
            .find(|d| crate::metric::normalise(&d.country) == want)
            .and_then(|d| d.delta)
            .ok_or_else(|| self.error(format!("{c:?} has no similarity in both runs")))?;
        Ok(self.outcome(d))
    }

    fn country<'s>(
        &self,
        sims: &'s Similarities,
        name: &str,
    ) -> Result<&'s CountryFigure, GateError> {
        sims.find(name).ok_or_else(|| {
            self.error(format!("the run has no similarity for {name:?} (see agar show)"))
        })
    }

    fn pair<'s>(
        &self,
        sims: &'s Similarities,
        pair: &str,
    ) -> Result<(&'s CountryFigure, &'s CountryFigure), GateError> {
        for (i, _) in pair.match_indices('.') {
            if let (Some(a), Some(b)) = (sims.find(&pair[..i]), sims.find(&pair[i + 1..])) {
                return Ok((a, b));
            }
        }
        Err(self.error(format!(
            "expected gap.COUNTRY.COUNTRY naming two countries the run has a similarity for, not {pair:?}"
        )))
    }
}
