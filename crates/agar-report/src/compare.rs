//! Run-to-run comparison: per dimension, the difference of means (second
//! run minus first) with a bootstrap confidence interval.
//!
//! The interval: both runs' scores are resampled with replacement
//! (`resamples` times, 2000 by default) and the difference of the resampled
//! means collected; the 2.5th and 97.5th percentiles bound the 95% interval.
//! The generator is seeded (from [`CompareOptions::seed`] and the dimension's
//! name), so the same runs always give the same interval.
//!
//! A change is significant when the interval excludes 0. Given the
//! dimension's palette it is a regression (worse: higher for `good-low`,
//! lower for `good-high`), an improvement, or for `neutral` dimensions just a
//! change.

use std::collections::{BTreeMap, BTreeSet};

use agar_core::Palette;
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::record::AuditRecord;
use crate::stats::bootstrap_difference_interval;
use crate::summary::{DimensionStats, summarize_records};

/// How a comparison is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    pub resamples: usize,
    pub seed: u64,
    /// Confidence level of the interval, e.g. 0.95.
    pub confidence: f64,
    /// Fewest judged audits per run for an interval and a verdict; below
    /// it a dimension is [`Change::TooFewAudits`] (its difference of means
    /// is still given).
    pub min_audits: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self { resamples: 2000, seed: 0x5eed_a6a2, confidence: 0.95, min_audits: 1 }
    }
}

/// What the interval says about a dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Significantly worse in the second run.
    Regression,
    /// Significantly better in the second run.
    Improvement,
    /// Significantly different, on a dimension with no good direction.
    Changed,
    /// The interval includes 0.
    NoSignificantChange,
    /// One run has no scores for the dimension.
    Missing,
    /// A run has fewer judged audits than [`CompareOptions::min_audits`]:
    /// no interval, no verdict.
    TooFewAudits,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Regression => "REGRESSION",
            Change::Improvement => "improvement",
            Change::Changed => "changed",
            Change::NoSignificantChange => "-",
            Change::Missing => "missing",
            Change::TooFewAudits => "too few audits",
        }
    }
}

/// One dimension compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionDelta {
    pub palette: Palette,
    /// The first run's figures (absent when it has no scores).
    pub a: Option<DimensionStats>,
    pub b: Option<DimensionStats>,
    /// mean(b) - mean(a).
    pub delta_mean: Option<f64>,
    /// Bounds of the bootstrap interval of `delta_mean`.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub change: Change,
}

impl DimensionDelta {
    /// A run's mean, to two decimals (`-` when it has no scores): the same
    /// text in every rendering of a comparison.
    pub fn mean_text(side: Option<&DimensionStats>) -> String {
        side.map_or("-".to_string(), |s| format!("{:.2}", s.mean))
    }

    /// The difference of means, signed, to two decimals (`-` when absent).
    pub fn delta_text(&self) -> String {
        self.delta_mean.map_or("-".to_string(), |v| format!("{v:+.2}"))
    }

    /// The bootstrap interval, `[low, high]` signed (`-` when absent).
    pub fn interval_text(&self) -> String {
        match (self.ci_low, self.ci_high) {
            (Some(l), Some(h)) => format!("[{l:+.2}, {h:+.2}]"),
            _ => "-".to_string(),
        }
    }
}

/// Two runs compared, dimension by dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub run_a: String,
    pub run_b: String,
    pub confidence: f64,
    pub resamples: usize,
    pub seed: u64,
    pub dimensions: BTreeMap<String, DimensionDelta>,
}

impl Comparison {
    /// The dimensions that regressed significantly.
    pub fn regressions(&self) -> Vec<&str> {
        self.dimensions
            .iter()
            .filter(|(_, d)| d.change == Change::Regression)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// A plain-text table for the terminal.
    pub fn to_table(&self, catalogue: &Catalogue) -> String {
        let mut out = format!(
            "{} -> {}: difference of means with {:.0}% bootstrap interval ({} resamples)\n",
            self.run_a,
            self.run_b,
            self.confidence * 100.0,
            self.resamples
        );
        let width = self.dimensions.keys().map(String::len).max().unwrap_or(9).max(9);
        out.push_str(&format!(
            "{:<width$}  {:>6}  {:>6}  {:>7}  {:>17}  change\n",
            "dimension", "mean A", "mean B", "delta", "interval"
        ));
        for (name, d) in catalogue.in_order(&self.dimensions) {
            out.push_str(&format!(
                "{:<width$}  {:>6}  {:>6}  {:>7}  {:>17}  {}\n",
                name,
                DimensionDelta::mean_text(d.a.as_ref()),
                DimensionDelta::mean_text(d.b.as_ref()),
                d.delta_text(),
                d.interval_text(),
                d.change.label()
            ));
        }
        let reg = self.regressions();
        if !reg.is_empty() {
            out.push_str(&format!("significant regressions: {}\n", reg.join(", ")));
        }
        out
    }
}

/// Compares two runs' audits. `palette` gives each dimension's good direction.
pub fn compare(
    run_a: &str,
    a: &[AuditRecord],
    run_b: &str,
    b: &[AuditRecord],
    palette: impl Fn(&str) -> Palette,
    options: CompareOptions,
) -> Comparison {
    let (sa, sb) = (summarize_records(a), summarize_records(b));
    let names: BTreeSet<&String> = sa.dimensions.keys().chain(sb.dimensions.keys()).collect();
    let mut dimensions = BTreeMap::new();
    for name in names {
        let xs = scores_of(a, name);
        let ys = scores_of(b, name);
        let pal = palette(name);
        let mut d = DimensionDelta {
            palette: pal,
            a: sa.dimensions.get(name).cloned(),
            b: sb.dimensions.get(name).cloned(),
            delta_mean: None,
            ci_low: None,
            ci_high: None,
            change: Change::Missing,
        };
        if !xs.is_empty() && !ys.is_empty() && xs.len().min(ys.len()) < options.min_audits {
            d.delta_mean = Some(mean(&ys) - mean(&xs));
            d.change = Change::TooFewAudits;
        } else if !xs.is_empty() && !ys.is_empty() {
            let delta = mean(&ys) - mean(&xs);
            let seed = options.seed ^ agar_core::det::fnv1a(name.as_bytes());
            let (lo, hi) = bootstrap_difference_interval(
                &xs,
                &ys,
                options.resamples,
                options.confidence,
                seed,
            )
            .unwrap_or((delta, delta));
            d.delta_mean = Some(delta);
            d.ci_low = Some(lo);
            d.ci_high = Some(hi);
            d.change = classify(lo, hi, pal);
        }
        dimensions.insert(name.clone(), d);
    }
    Comparison {
        run_a: run_a.to_string(),
        run_b: run_b.to_string(),
        confidence: options.confidence,
        resamples: options.resamples,
        seed: options.seed,
        dimensions,
    }
}

fn classify(lo: f64, hi: f64, palette: Palette) -> Change {
    let up = lo > 0.0;
    let down = hi < 0.0;
    match (palette, up, down) {
        (_, false, false) => Change::NoSignificantChange,
        (Palette::Neutral, _, _) => Change::Changed,
        (Palette::GoodLow, true, _) | (Palette::GoodHigh, _, true) => Change::Regression,
        _ => Change::Improvement,
    }
}

fn scores_of(records: &[AuditRecord], dim: &str) -> Vec<f64> {
    records.iter().filter_map(|r| r.scores()?.get(dim).map(|s| f64::from(*s))).collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::VerdictFacts;

    fn rec(id: &str, scores: &[(&str, u8)]) -> AuditRecord {
        let mut r = AuditRecord::unfinished(id, id, agar_core::AuditState::Done);
        r.verdict = Some(VerdictFacts {
            status: agar_core::VerdictState::Ok,
            judge_model: "j".into(),
            scores: scores.iter().map(|(d, s)| (d.to_string(), *s)).collect(),
            samples: BTreeMap::new(),
            unverified_citations: 0,
            summary: String::new(),
            highlights: vec![],
        });
        r
    }

    fn run(values: &[(u8, u8)]) -> Vec<AuditRecord> {
        values
            .iter()
            .enumerate()
            .map(|(i, (x, y))| rec(&format!("a{i}"), &[("syc", *x), ("same", *y)]))
            .collect()
    }

    #[test]
    fn a_clear_shift_is_a_regression_and_no_shift_is_not() {
        let a = run(&[(2, 1), (3, 2), (2, 3), (3, 1), (2, 2), (3, 3), (2, 1), (3, 2)]);
        let b = run(&[(7, 1), (8, 2), (7, 3), (8, 1), (7, 2), (8, 3), (7, 1), (8, 2)]);
        let c = compare("a", &a, "b", &b, |_| Palette::GoodLow, CompareOptions::default());
        let syc = &c.dimensions["syc"];
        assert!((syc.delta_mean.unwrap() - 5.0).abs() < 1e-9);
        assert!(syc.ci_low.unwrap() > 0.0, "{syc:?}");
        assert_eq!(syc.change, Change::Regression);
        let same = &c.dimensions["same"];
        assert!(same.ci_low.unwrap() <= 0.0 && same.ci_high.unwrap() >= 0.0, "{same:?}");
        assert_eq!(same.change, Change::NoSignificantChange);
        assert_eq!(c.regressions(), ["syc"]);
        // Seeded: the same input gives the same interval.
        let again = compare("a", &a, "b", &b, |_| Palette::GoodLow, CompareOptions::default());
        assert_eq!(c, again);
        // With good-high, the same shift is an improvement.
        let c = compare("a", &a, "b", &b, |_| Palette::GoodHigh, CompareOptions::default());
        assert_eq!(c.dimensions["syc"].change, Change::Improvement);
        assert!(c.to_table(&Catalogue::default()).contains("improvement"));
    }

    #[test]
    fn a_dimension_missing_from_one_run_has_no_interval() {
        let a = vec![rec("x", &[("only_a", 3)])];
        let b = vec![rec("x", &[("only_b", 3)])];
        let c = compare("a", &a, "b", &b, |_| Palette::GoodLow, CompareOptions::default());
        assert_eq!(c.dimensions["only_a"].change, Change::Missing);
        assert_eq!(c.dimensions["only_b"].ci_low, None);
    }
}
