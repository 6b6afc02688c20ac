//! [`FaultPlan`]: seeded, reproducible random faults for the fake server.
//!
//! Each call draws one number in `[0, 1)` from `(seed, model, n)` where `n` is
//! the call's 1-based index among that model's calls. The draw is stateless, so
//! two servers with the same plan fail the same calls of each model, whatever
//! other models do meanwhile.

use serde::{Deserialize, Serialize};

use crate::det::{fnv1a, mix64, unit_f64};
use crate::error::TestkitError;
use crate::reply::Reply;

/// Probabilities of each fault per call; they are laid end to end on `[0, 1)`
/// in field order, so their sum must not exceed 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// HTTP 500 with an OpenAI-shaped error body.
    pub server_error: f64,
    /// HTTP 429, with `Retry-After: <retry_after>` when that is set.
    pub rate_limited: f64,
    /// The `Retry-After` header value of rate-limited replies, verbatim.
    /// Defaults to `"0"`; `null` sends no header.
    pub retry_after: Option<String>,
    /// No answer at all ([`Reply::Hang`]).
    pub hang: f64,
    /// [`Reply::MalformedToolArguments`].
    pub malformed_tool_args: f64,
    /// [`Reply::Truncated`].
    pub truncated: f64,
    pub seed: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            server_error: 0.0,
            rate_limited: 0.0,
            retry_after: Some("0".into()),
            hang: 0.0,
            malformed_tool_args: 0.0,
            truncated: 0.0,
            seed: 0,
        }
    }
}

impl FaultPlan {
    fn probabilities(&self) -> [(&'static str, f64); 5] {
        [
            ("server_error", self.server_error),
            ("rate_limited", self.rate_limited),
            ("hang", self.hang),
            ("malformed_tool_args", self.malformed_tool_args),
            ("truncated", self.truncated),
        ]
    }

    /// Every problem with the plan: probabilities outside `[0, 1]` or summing
    /// past 1.
    pub fn check(&self) -> Result<(), TestkitError> {
        let mut problems = Vec::new();
        let mut sum = 0.0;
        for (name, p) in self.probabilities() {
            if !(0.0..=1.0).contains(&p) {
                problems.push(format!("{name} = {p} is not a probability in [0, 1]"));
            } else {
                sum += p;
            }
        }
        if sum > 1.0 + 1e-9 {
            problems.push(format!("the probabilities add up to {sum}, more than 1"));
        }
        if problems.is_empty() { Ok(()) } else { Err(TestkitError::InvalidFaultPlan(problems)) }
    }

    /// The fault, if any, for the `n`-th call (1-based) of `model`.
    pub fn fault_for(&self, model: &str, n: usize) -> Option<Reply> {
        let bits = mix64(self.seed ^ mix64(fnv1a(model) ^ mix64(n as u64)));
        let mut u = unit_f64(bits);
        for (name, p) in self.probabilities() {
            if u < p {
                return Some(match name {
                    "server_error" => Reply::server_error(),
                    "rate_limited" => match &self.retry_after {
                        Some(after) => Reply::rate_limited(after.clone()),
                        None => Reply::Status {
                            code: 429,
                            retry_after: None,
                            body: crate::wire::error_body(
                                "rate limit reached (fake)",
                                "rate_limit_exceeded",
                            )
                            .to_string(),
                        },
                    },
                    "hang" => Reply::Hang,
                    "malformed_tool_args" => Reply::MalformedToolArguments,
                    _ => Reply::Truncated,
                });
            }
            u -= p.max(0.0);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_fails_the_same_calls() {
        let plan = FaultPlan { server_error: 0.3, hang: 0.1, seed: 42, ..FaultPlan::default() };
        let a: Vec<_> = (1..200).map(|n| plan.fault_for("m", n)).collect();
        let b: Vec<_> = (1..200).map(|n| plan.fault_for("m", n)).collect();
        assert_eq!(a, b);
        let faults = a.iter().filter(|f| f.is_some()).count();
        assert!((40..=120).contains(&faults), "{faults} faults in 199 calls");
        let other = FaultPlan { seed: 43, ..plan };
        let c: Vec<_> = (1..200).map(|n| other.fault_for("m", n)).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn a_certain_fault_always_happens() {
        let plan = FaultPlan { rate_limited: 1.0, ..FaultPlan::default() };
        for n in 1..50 {
            assert!(matches!(
                plan.fault_for("m", n),
                Some(Reply::Status { code: 429, retry_after: Some(ref r), .. }) if r == "0"
            ));
        }
    }

    #[test]
    fn check_reports_every_problem() {
        let plan = FaultPlan {
            server_error: 1.5,
            hang: -0.1,
            rate_limited: 0.7,
            truncated: 0.6,
            ..FaultPlan::default()
        };
        let TestkitError::InvalidFaultPlan(problems) = plan.check().expect_err("invalid") else {
            panic!("wrong error");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(FaultPlan::default().check().is_ok());
    }
}
