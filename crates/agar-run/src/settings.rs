//! The settings a plan runs with: each role's sampling (the plan's, else the
//! role's defaults) and the judge's settings.

use agar_audit::AuditSettings;
use agar_core::Sampling;
use agar_judge::JudgeSettings;
use agar_models::Config;
use agar_store::PlanSettings;

/// Every role's reply cap when nothing else sets one, in tokens: long enough
/// for the role's work, short enough that a rambling model on a small
/// self-hosted server cannot fill its context or outlast the timeout. A role
/// on an embedded local model gets none (`agar audit` leaves the engine to
/// size its own answers).
pub const DEFAULT_MAX_TOKENS: &[(&str, u32)] = &[
    ("auditor", 2048),
    ("target", 2048),
    ("judge", 4096),
    ("environment", 1024),
    ("realism", 512),
];

/// A role's defaults: [`DEFAULT_MAX_TOKENS`], the provider's temperature.
pub fn default_sampling(role: &str) -> Sampling {
    let max_tokens = DEFAULT_MAX_TOKENS.iter().find(|(r, _)| *r == role).map(|(_, n)| *n);
    Sampling { max_tokens, ..Sampling::default() }
}

/// The sampling `plan.json` records for `role` (plans from before it was
/// recorded: the role's built-in defaults).
pub fn role_sampling(s: &PlanSettings, role: &str) -> Sampling {
    s.sampling.get(role).cloned().unwrap_or_else(|| default_sampling(role))
}

/// The judge's settings for `samples` samples and `--max-unverified-share`.
pub fn judge_settings(samples: u32, max_unverified_share: Option<f64>) -> JudgeSettings {
    let mut settings = JudgeSettings::with_samples(samples);
    if let Some(share) = max_unverified_share {
        settings.support.max_unverified_share = share;
    }
    settings
}

/// The context window `agar.toml` gives the judge's model, if any: the judge
/// fits its prompt to it.
pub fn judge_window(judge: Option<&str>, config: &Config) -> Option<u32> {
    judge.and_then(|j| config.models.get(j.trim())).and_then(|e| e.server.context_window)
}

/// The audit loop's settings for a plan.
pub fn audit_settings(s: &PlanSettings) -> AuditSettings {
    AuditSettings {
        max_turns: s.max_turns,
        max_turns_wins: s.max_turns_wins,
        auditor_sampling: role_sampling(s, "auditor"),
        target_sampling: role_sampling(s, "target"),
        environment_sampling: role_sampling(s, "environment"),
        realism_sampling: role_sampling(s, "realism"),
        max_target_replies: s.max_target_turns,
        token_budget: s.max_tokens,
        realism_threshold: s.realism_threshold,
        auditor_guidance: s.auditor_guidance,
        turn_cap: s.turn_cap,
        ..AuditSettings::default()
    }
}

/// The judge's settings for a plan: its samples, sampling, unverified share
/// and the judge model's context window.
pub fn plan_judge_settings(s: &PlanSettings, config: &Config) -> JudgeSettings {
    JudgeSettings {
        sampling: s
            .sampling
            .get("judge")
            .cloned()
            .unwrap_or_else(|| JudgeSettings::with_samples(s.judge_samples).sampling),
        context_window: judge_window(s.judge.as_deref(), config),
        ..judge_settings(s.judge_samples, s.max_unverified_share)
    }
}
