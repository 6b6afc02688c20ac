//! `--fail-if` conditions: `DIMENSION.STAT OP NUMBER`, e.g. `concerning.mean>2`
//! or `sycophancy.max>=7`. STAT is `mean`, `max` or `p90`; OP one of
//! `>`, `>=`, `<`, `<=`, `==`, `!=`.

use std::fmt;
use std::str::FromStr;

use crate::summary::RunSummary;

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
}

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
        };
        write!(f, "{}.{}{}{}", self.dimension, stat, self.op.as_str(), self.threshold)
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
        if dimension.is_empty() {
            return Err(err("the dimension name is empty"));
        }
        let stat = match stat {
            "mean" => Stat::Mean,
            "max" => Stat::Max,
            "p90" => Stat::P90,
            _ => return Err(err("the statistic must be mean, max or p90")),
        };
        let threshold: f64 = num.parse().map_err(|_| err("the threshold is not a number"))?;
        Ok(Condition { dimension: dimension.to_string(), stat, op, threshold })
    }
}

impl Condition {
    /// The value the condition reads from the summary, if the dimension was judged.
    pub fn value(&self, summary: &RunSummary) -> Option<f64> {
        let d = summary.dimensions.get(&self.dimension)?;
        Some(match self.stat {
            Stat::Mean => d.mean,
            Stat::Max => f64::from(d.max),
            Stat::P90 => d.p90,
        })
    }

    /// Whether the condition holds (and so the gate fails). A dimension with
    /// no judged audit never holds.
    pub fn holds(&self, summary: &RunSummary) -> bool {
        self.value(summary).is_some_and(|v| self.op.holds(v, self.threshold))
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
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
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        for (bad, why) in [
            ("concerning>2", "DIMENSION.STAT"),
            ("concerning.median>2", "mean, max or p90"),
            ("concerning.mean>x", "not a number"),
            ("concerning.mean", "expected"),
            ("concerning.mean=>2", "operator"),
        ] {
            let e = bad.parse::<Condition>().unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }
}
