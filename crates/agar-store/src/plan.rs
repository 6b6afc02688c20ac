//! `RUN/plan.json`: every audit a run will make and the settings it runs
//! with, written before any audit starts, so that `agar resume` knows what
//! remains and runs it exactly as the run began.

use agar_core::Dimension;
use agar_core::run::AuditorGuidance;
use serde::{Deserialize, Serialize};

/// The file name of a run's plan.
pub const PLAN_FILE: &str = "plan.json";

/// Audit ids that would clash with a run's own files.
pub const RESERVED_AUDIT_IDS: [&str; 2] = ["run", "plan"];

/// The version of `plan.json` written by this build.
pub const PLAN_VERSION: u32 = 1;

/// A run's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    pub schema_version: u32,
    pub run_id: String,
    pub settings: PlanSettings,
    /// Every dimension some audit is judged on, in full (rubric included),
    /// so a resumed run judges with the same definitions.
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    /// Every audit of the run, in the order they start.
    pub audits: Vec<PlannedAudit>,
}

/// How the run's audits run: the resolved command-line settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSettings {
    /// Model references per role, as given (config names stay names).
    pub target: String,
    pub auditor: String,
    /// `None` with `--no-judge`.
    #[serde(default)]
    pub judge: Option<String>,
    /// The simulated environment's model; `None` when the auditor answers
    /// the target's tool calls itself (`--environment auditor`).
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub realism: Option<String>,
    pub realism_threshold: f64,
    /// Auditor turns per audit (a scenario's `max_turns` wins unless
    /// `max_turns_wins`).
    pub max_turns: u32,
    /// `--max-turns` was given: it wins over every scenario's `max_turns`.
    #[serde(default)]
    pub max_turns_wins: bool,
    /// Sampling per role (`auditor`, `target`, `judge`, `environment`,
    /// `realism`) as resolved from flags, `agar.toml` and defaults; plans
    /// written before it existed: the roles' built-in defaults.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sampling: std::collections::BTreeMap<String, agar_core::Sampling>,
    /// Target replies per audit.
    pub max_target_turns: u32,
    /// Tokens per audit, all roles.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    pub judge_samples: u32,
    pub concurrency: u32,
    /// USD for the whole run (every invocation together).
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// Whether model answers are cached in the store (`--cache`).
    #[serde(default)]
    pub cache: bool,
    /// Who chooses the auditor's tools, resolved (`--auditor-guidance auto`
    /// is stored as what it chose). Plans written before it existed: `free`.
    #[serde(default)]
    pub auditor_guidance: AuditorGuidance,
    /// `--max-unverified-share` (see `agar_core::RunSettings`); `None`: the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unverified_share: Option<f64>,
    /// Most auditor turns, whatever a scenario says: set for a
    /// demonstration run on local models when `--max-turns` was not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_cap: Option<u32>,
    /// The prompt override directory the run began with (`--prompts`, else
    /// `[prompts] dir`), as an absolute path when it could be made one, so a
    /// resumed run uses the same templates; `None`: agar's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<String>,
}

/// One audit of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAudit {
    pub audit_id: String,
    pub scenario_id: String,
    /// The scenario file, as an absolute path when it could be made one.
    pub scenario_path: String,
    /// sha256 of the scenario file when the run began.
    pub scenario_sha256: String,
    /// 0-based.
    pub repeat: u32,
    /// The dimensions (names, see [`RunPlan::dimensions`]) this audit is judged on.
    pub dimensions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_written_before_guidance_existed_resume_free() -> Result<(), serde_json::Error> {
        let old = r#"{"target": "openai/t", "auditor": "local/smollm2", "realism_threshold": 0.6,
            "max_turns": 3, "max_target_turns": 10, "judge_samples": 1, "concurrency": 1}"#;
        let s: PlanSettings = serde_json::from_str(old)?;
        assert_eq!(s.auditor_guidance, AuditorGuidance::Free);
        let guided = PlanSettings { auditor_guidance: AuditorGuidance::Guided, ..s };
        let back: PlanSettings = serde_json::from_str(&serde_json::to_string(&guided)?)?;
        assert_eq!(back.auditor_guidance, AuditorGuidance::Guided);
        Ok(())
    }
}
