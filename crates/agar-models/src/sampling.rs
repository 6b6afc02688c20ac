//! [`SamplingOverrides`]: sampling settings from `agar.toml` (`[roles.NAME]`
//! and `[models.NAME]` tables) or the command line, laid over a role's
//! defaults with [`SamplingOverrides::apply`].
//!
//! Precedence, highest first: a `--ROLE-...` flag, `[roles.ROLE]`,
//! `[models.NAME]` of the role's model, the role's default.

use agar_core::{Reasoning, RoleName, Sampling};
use serde::Deserialize;

/// The roles a `[roles.NAME]` table may name: every [`RoleName`].
pub const ROLES: [RoleName; 5] = RoleName::ALL;

/// Sampling settings that override a role's defaults where set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingOverrides {
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    /// Cap on each reply, in tokens.
    pub max_tokens: Option<u32>,
    /// Effort (`low`, `medium`, `high`) or thinking budget in tokens.
    pub reasoning: Option<Reasoning>,
}

impl SamplingOverrides {
    /// `base` with every setting of `self` that is set.
    pub fn apply(&self, mut base: Sampling) -> Sampling {
        if self.temperature.is_some() {
            base.temperature = self.temperature;
        }
        if self.top_p.is_some() {
            base.top_p = self.top_p;
        }
        if self.max_tokens.is_some() {
            base.max_tokens = self.max_tokens;
        }
        if self.reasoning.is_some() {
            base.reasoning.clone_from(&self.reasoning);
        }
        base
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == SamplingOverrides::default()
    }
}

/// The keys of a sampling table, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSampling {
    pub(crate) temperature: Option<f64>,
    pub(crate) top_p: Option<f64>,
    pub(crate) max_tokens: Option<i64>,
    pub(crate) reasoning: Option<toml::Value>,
}

impl RawSampling {
    /// Checks the values: temperature 0-2, top_p 0-1, max_tokens at least 1,
    /// reasoning an effort name or a positive budget.
    pub(crate) fn check(self) -> Result<SamplingOverrides, String> {
        let temperature = match self.temperature {
            Some(t) if !(0.0..=2.0).contains(&t) => {
                return Err(format!("`temperature` must be between 0 and 2 (got {t})"));
            }
            t => t.map(|t| t as f32),
        };
        let top_p = match self.top_p {
            Some(p) if !(0.0..=1.0).contains(&p) => {
                return Err(format!("`top_p` must be between 0 and 1 (got {p})"));
            }
            p => p.map(|p| p as f32),
        };
        let max_tokens = match self.max_tokens {
            Some(n) if n < 1 || n > i64::from(u32::MAX) => {
                return Err(format!("`max_tokens` must be a positive number of tokens (got {n})"));
            }
            n => n.map(|n| n as u32),
        };
        let reasoning = match self.reasoning {
            None => None,
            Some(toml::Value::Integer(n)) if n > 0 && n <= i64::from(u32::MAX) => {
                Some(Reasoning::Budget(n as u32))
            }
            Some(toml::Value::String(s)) => Some(check_reasoning(&s)?),
            Some(other) => {
                return Err(format!(
                    "`reasoning` must be low, medium, high or a positive token budget (got {other})"
                ));
            }
        };
        Ok(SamplingOverrides { temperature, top_p, max_tokens, reasoning })
    }
}

/// A reasoning setting: `low`, `medium`, `high`, or a positive token budget.
pub fn check_reasoning(value: &str) -> Result<Reasoning, String> {
    let value = value.trim();
    if matches!(value, "low" | "medium" | "high") {
        Ok(Reasoning::Effort(value.to_owned()))
    } else if let Some(n) = value.parse::<u32>().ok().filter(|n| *n > 0) {
        Ok(Reasoning::Budget(n))
    } else {
        Err(format!(
            "`reasoning` must be low, medium, high or a positive token budget (got `{value}`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_only_what_is_set() {
        let base =
            Sampling { temperature: Some(1.0), max_tokens: Some(100), ..Sampling::default() };
        let o = SamplingOverrides { max_tokens: Some(7), ..SamplingOverrides::default() };
        let s = o.apply(base);
        assert_eq!((s.temperature, s.max_tokens), (Some(1.0), Some(7)));
    }

    #[test]
    fn values_are_checked() {
        let raw = RawSampling { temperature: Some(3.0), ..RawSampling::default() };
        assert!(raw.check().expect_err("too hot").contains("temperature"));
        let raw =
            RawSampling { reasoning: Some(toml::Value::Integer(2048)), ..RawSampling::default() };
        assert_eq!(raw.check().expect("ok").reasoning, Some(Reasoning::Budget(2048)));
        assert!(check_reasoning("max").is_err());
    }
}
