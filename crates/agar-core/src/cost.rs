//! What model calls cost: [`Price`] (USD per million tokens) and the
//! [`Cost`] of one audit, per role, as stored in its transcript.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Usage;
use crate::transcript::{RoleName, Transcript};

/// A model's price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    /// USD per million input (prompt) tokens.
    pub input: f64,
    /// USD per million output (completion) tokens.
    pub output: f64,
}

impl Price {
    /// The cost in USD of `usage` at this price.
    pub fn of(&self, usage: Usage) -> f64 {
        (usage.input_tokens as f64 * self.input + usage.output_tokens as f64 * self.output) / 1e6
    }
}

/// The cost of one audit in USD: every role's calls, the judge's verdicts included.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cost {
    /// The sum over `by_role`.
    pub total_usd: f64,
    /// USD per role; roles whose model has no price are left out (see `unpriced`).
    pub by_role: BTreeMap<RoleName, f64>,
    /// Model references that used tokens but have no price: the total
    /// undercounts by their share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

impl Cost {
    /// The cost of `t`: each role's usage at its model's price, plus every
    /// verdict's usage at its judge model's price. `price` looks a model
    /// reference up.
    pub fn of_transcript(t: &Transcript, price: impl Fn(&str) -> Option<Price>) -> Cost {
        let mut cost = Cost::default();
        let mut add = |role: RoleName, model: &str, usage: Usage| {
            if usage.total() == 0 {
                return;
            }
            match price(model) {
                Some(p) => *cost.by_role.entry(role).or_insert(0.0) += p.of(usage),
                None => {
                    if !cost.unpriced.iter().any(|m| m == model) {
                        cost.unpriced.push(model.to_string());
                    }
                }
            }
        };
        for (role, usage) in &t.usage {
            let model = t.models.get(role).map(String::as_str).unwrap_or("");
            add(*role, model, *usage);
        }
        for v in &t.verdicts {
            add(RoleName::Judge, &v.judge_model, v.usage);
        }
        cost.total_usd = cost.by_role.values().sum();
        cost.unpriced.sort();
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_tokens_cost_the_price() {
        let p = Price { input: 2.0, output: 8.0 };
        let u = Usage { input_tokens: 500_000, output_tokens: 250_000, ..Usage::default() };
        assert!((p.of(u) - 3.0).abs() < 1e-12);
    }
}
