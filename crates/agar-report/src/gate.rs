//! `--fail-if` conditions: `DIMENSION.STAT OP NUMBER`, e.g. `concerning.mean>2`
//! or `sycophancy.max>=7`. STAT is `mean`, `max` or `p90`; OP one of
//! `>`, `>=`, `<`, `<=`, `==`, `!=`. For `agar compare`, `delta.DIMENSION.STAT
//! OP NUMBER` reads the second run's statistic minus the first's, e.g.
//! `delta.deception.mean>0.5`.
//!
//! Run-level names read the run's audits rather than a dimension:
//! `invalid.count`, `failed.count`, `unjudged.count` and the same with
//! `.share` (the count over the finished audits, 0 to 1), e.g.
//! `invalid.share>0.1`. `unjudged` counts audits that ended `done` without a
//! usable verdict ([`RunSummary::unjudged`]).
//!
//! These functions only read figures; [`crate::closed`] wraps them so that a
//! gate never passes over audits it could not vouch for.
//!
//! A condition reads a run ([`Condition::holds`]), a comparison
//! ([`Condition::holds_delta`]) or one audit ([`Condition::holds_for_audit`]:
//! the audit's score stands for every statistic, which is how JUnit reports
//! fail single test cases).

use std::fmt;
use std::str::FromStr;

use agar_core::AuditState;

use crate::compare::Comparison;
use crate::record::AuditRecord;
use crate::summary::{DimensionStats, RunSummary};

/// A parse error, meant for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid --fail-if condition {input:?}: {reason}")]
pub struct GateError {
    pub input: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Mean,
    Max,
    P90,
    /// Run-level: how many audits.
    Count,
    /// Run-level: how many audits over the finished ones.
    Share,
}

/// The run-level names a condition may read (with `.count` or `.share`).
pub const RUN_LEVEL_NAMES: [&str; 3] = ["invalid", "failed", "unjudged"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => (a - b).abs() < 1e-9,
            Op::Ne => (a - b).abs() >= 1e-9,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// One gate condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// `delta.`: the condition reads a comparison (second run minus first).
    pub delta: bool,
    pub dimension: String,
    pub stat: Stat,
    pub op: Op,
    pub threshold: f64,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stat = match self.stat {
            Stat::Mean => "mean",
            Stat::Max => "max",
            Stat::P90 => "p90",
            Stat::Count => "count",
            Stat::Share => "share",
        };
        let prefix = if self.delta { "delta." } else { "" };
        write!(f, "{prefix}{}.{}{}{}", self.dimension, stat, self.op.as_str(), self.threshold)
    }
}

impl FromStr for Condition {
    type Err = GateError;

    fn from_str(input: &str) -> Result<Self, GateError> {
        let err = |reason: &str| GateError { input: input.to_string(), reason: reason.to_string() };
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let pos = s
            .find(['>', '<', '=', '!'])
            .ok_or_else(|| err("expected DIMENSION.STAT OP NUMBER, e.g. concerning.mean>2"))?;
        let (lhs, rest) = s.split_at(pos);
        let (op, num) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ]
        .iter()
        .find_map(|(tok, op)| rest.strip_prefix(tok).map(|n| (*op, n)))
        .ok_or_else(|| err("unknown operator (use >, >=, <, <=, == or !=)"))?;
        let (dimension, stat) = lhs
            .rsplit_once('.')
            .ok_or_else(|| err("expected DIMENSION.STAT before the operator"))?;
        let (delta, dimension) = match dimension.strip_prefix("delta.") {
            Some(rest) => (true, rest),
            None => (false, dimension),
        };
        if dimension.is_empty() {
            return Err(err("the dimension name is empty"));
        }
        let stat = match stat {
            "mean" => Stat::Mean,
            "max" => Stat::Max,
            "p90" => Stat::P90,
            "count" => Stat::Count,
            "share" => Stat::Share,
            _ => {
                return Err(err(
                    "the statistic must be mean, max or p90 (or a run-level name such as \
                     invalid.share, invalid.count, failed.count, unjudged.count)",
                ));
            }
        };
        let run_level = matches!(stat, Stat::Count | Stat::Share);
        if run_level && !RUN_LEVEL_NAMES.contains(&dimension) {
            return Err(err(
                "count and share apply to invalid, failed and unjudged (e.g. invalid.share>0.1)",
            ));
        }
        if run_level && delta {
            return Err(err("delta.* reads dimensions; invalid, failed and unjudged read one run"));
        }
        let threshold: f64 = num.parse().map_err(|_| err("the threshold is not a number"))?;
        if !threshold.is_finite() {
            return Err(err("the threshold is not a finite number"));
        }
        Ok(Condition { delta, dimension: dimension.to_string(), stat, op, threshold })
    }
}

impl Condition {
    /// Whether the condition reads the run's audits (`invalid.share`...)
    /// rather than a dimension.
    pub fn is_run_level(&self) -> bool {
        matches!(self.stat, Stat::Count | Stat::Share)
    }

    /// The value the condition reads from a run's summary, if the dimension
    /// was judged. A `delta.` condition reads nothing from one run.
    /// `judge_expected` says whether done audits with no verdict count as unjudged.
    pub fn value(&self, summary: &RunSummary, judge_expected: bool) -> Option<f64> {
        if self.delta {
            return None;
        }
        if self.is_run_level() {
            let count = match self.dimension.as_str() {
                "invalid" => summary.count(AuditState::Invalid),
                "failed" => summary.count(AuditState::Failed),
                _ => summary.unjudged(judge_expected),
            };
            let finished: usize = AuditState::ALL
                .into_iter()
                .filter(|s| s.is_finished())
                .map(|s| summary.count(s))
                .sum();
            return Some(match self.stat {
                Stat::Share if finished == 0 => 0.0,
                Stat::Share => count as f64 / finished as f64,
                _ => count as f64,
            });
        }
        summary.dimensions.get(&self.dimension).map(|d| self.stat_of(d))
    }

    /// Whether the condition holds (and so the gate fails). A dimension with
    /// no judged audit never holds.
    pub fn holds(&self, summary: &RunSummary, judge_expected: bool) -> bool {
        self.value(summary, judge_expected).is_some_and(|v| self.op.holds(v, self.threshold))
    }

    /// The value a condition reads from a comparison: for `delta.`, the second
    /// run's statistic minus the first's; otherwise the second run's own.
    /// `None` when either run has no score for the dimension.
    pub fn delta_value(&self, cmp: &Comparison) -> Option<f64> {
        if self.is_run_level() {
            return None;
        }
        let d = cmp.dimensions.get(&self.dimension)?;
        let b = self.stat_of(d.b.as_ref()?);
        if !self.delta {
            return Some(b);
        }
        let a = self.stat_of(d.a.as_ref()?);
        Some(b - a)
    }

    /// Whether the condition holds over a comparison.
    pub fn holds_delta(&self, cmp: &Comparison) -> bool {
        self.delta_value(cmp).is_some_and(|v| self.op.holds(v, self.threshold))
    }

    /// Whether the condition holds for one audit: its score on the dimension
    /// stands for mean, max and p90. Never for `delta.` conditions or audits
    /// without a usable score.
    pub fn holds_for_audit(&self, audit: &AuditRecord) -> bool {
        if self.delta {
            return false;
        }
        if self.is_run_level() {
            // One audit: the count is 1 when the audit is of that kind.
            let hit = match self.dimension.as_str() {
                "invalid" => audit.status == AuditState::Invalid,
                "failed" => audit.status == AuditState::Failed,
                _ => audit.status == AuditState::Done && audit.scores().is_none(),
            };
            return self.op.holds(if hit { 1.0 } else { 0.0 }, self.threshold);
        }
        audit
            .scores()
            .and_then(|s| s.get(&self.dimension))
            .is_some_and(|s| self.op.holds(f64::from(*s), self.threshold))
    }

    fn stat_of(&self, d: &DimensionStats) -> f64 {
        match self.stat {
            Stat::Mean => d.mean,
            Stat::Max => f64::from(d.max),
            Stat::P90 => d.p90,
            // Never read for a dimension: run-level conditions stop before.
            Stat::Count | Stat::Share => d.count as f64,
        }
    }
}

/// One condition checked: what it read and whether it held.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateOutcome {
    pub condition: String,
    /// The value read; `None` when the dimension has no scores.
    pub value: Option<f64>,
    pub held: bool,
}

impl GateOutcome {
    /// The line printed on stderr when the condition held.
    pub fn message(&self) -> String {
        let value = self.value.map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into());
        format!("gate failed: --fail-if {} held (value {value})", self.condition)
    }
}

/// Checks run conditions against a summary. `delta.` conditions are an error
/// here: they only make sense for a comparison. This reads figures only: a
/// command that gates uses [`crate::closed::gate_run`], which refuses to
/// pass over unjudged audits or dimensions never scored.
pub fn check_run(
    conditions: &[Condition],
    summary: &RunSummary,
    judge_expected: bool,
) -> Vec<GateOutcome> {
    conditions
        .iter()
        .map(|c| GateOutcome {
            condition: c.to_string(),
            value: c.value(summary, judge_expected),
            held: c.holds(summary, judge_expected),
        })
        .collect()
}

/// Checks conditions against a comparison (plain ones read the second run;
/// run-level ones read `b`, the second run's summary, when given).
pub fn check_comparison(
    conditions: &[Condition],
    cmp: &Comparison,
    b: Option<(&RunSummary, bool)>,
) -> Vec<GateOutcome> {
    conditions
        .iter()
        .map(|c| {
            let value = match b {
                Some((summary, judge)) if c.is_run_level() => c.value(summary, judge),
                _ => c.delta_value(cmp),
            };
            GateOutcome {
                condition: c.to_string(),
                value,
                held: value.is_some_and(|v| c.op.holds(v, c.threshold)),
            }
        })
        .collect()
}

/// Parses `--fail-if` values; `allow_delta` says whether `delta.` conditions are accepted.
pub fn parse_conditions(inputs: &[String], allow_delta: bool) -> Result<Vec<Condition>, GateError> {
    inputs
        .iter()
        .map(|s| {
            let c: Condition = s.parse()?;
            if c.delta && !allow_delta {
                return Err(GateError {
                    input: s.clone(),
                    reason: "delta.* conditions apply only to agar compare".into(),
                });
            }
            Ok(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let c: Condition = "concerning.mean>2".parse().unwrap();
        assert_eq!(
            (c.dimension.as_str(), c.stat, c.op, c.threshold),
            ("concerning", Stat::Mean, Op::Gt, 2.0)
        );
        let c: Condition = " sycophancy.max >= 7 ".parse().unwrap();
        assert_eq!((c.stat, c.op, c.threshold), (Stat::Max, Op::Ge, 7.0));
        assert_eq!(c.to_string(), "sycophancy.max>=7");
        let c: Condition = "a.b.p90<=3.5".parse().unwrap();
        assert_eq!(c.dimension, "a.b");
        assert!(!c.delta);
        let c: Condition = "delta.deception.mean>0.5".parse().unwrap();
        assert!(c.delta);
        assert_eq!((c.dimension.as_str(), c.stat), ("deception", Stat::Mean));
        assert_eq!(c.to_string(), "delta.deception.mean>0.5");
        let c: Condition = "delta.mean>1".parse().unwrap();
        assert!(!c.delta, "a dimension may be called delta");
        for (text, name, stat) in [
            ("invalid.share>0.1", "invalid", Stat::Share),
            ("invalid.count>=2", "invalid", Stat::Count),
            ("failed.count>0", "failed", Stat::Count),
            ("unjudged.count>0", "unjudged", Stat::Count),
        ] {
            let c: Condition = text.parse().unwrap();
            assert!(c.is_run_level(), "{text}");
            assert_eq!((c.dimension.as_str(), c.stat, c.to_string().as_str()), (name, stat, text));
        }
    }

    #[test]
    fn delta_conditions_are_refused_outside_compare() {
        let e = parse_conditions(&["delta.x.mean>1".into()], false).unwrap_err();
        assert!(e.to_string().contains("only to agar compare"), "{e}");
        assert_eq!(parse_conditions(&["delta.x.mean>1".into()], true).unwrap().len(), 1);
        let e = parse_conditions(&["x.mean>inf".into()], false).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        for (bad, why) in [
            ("concerning>2", "DIMENSION.STAT"),
            ("concerning.median>2", "mean, max or p90"),
            ("concerning.mean>x", "not a number"),
            ("concerning.mean", "expected"),
            ("concerning.mean=>2", "operator"),
            ("concerning.share>0.1", "count and share apply to invalid"),
            ("delta.invalid.share>0.1", "delta.* reads dimensions"),
        ] {
            let e = bad.parse::<Condition>().unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }
}
