//! The record of one run (`RUN_ID/run.json`): its resolved configuration.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::transcript::RoleName;

/// One scenario of a run, as it was when the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScenario {
    pub id: String,
    pub path: String,
    pub sha256: String,
    /// How many audits of it the run makes.
    pub repeats: u32,
    /// The scenario's provenance, when `agar generate` wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<crate::scenario::Generated>,
    /// The auditor turns its audits ran with (`--max-turns` when given,
    /// else its own `max_turns`, else the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
}

/// The settings an audit ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub max_turns: u32,
    pub concurrency: u32,
    pub repeats: u32,
    pub judge: bool,
    /// The dimensions judged, by name.
    pub dimensions: Vec<String>,
    /// Whether the loop chose the auditor's tools (`guided`) or the auditor
    /// did (`free`); runs recorded before this setting existed were `free`.
    #[serde(default)]
    pub auditor_guidance: AuditorGuidance,
    /// Sampling per role as used (flags, `agar.toml`, defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sampling: BTreeMap<String, crate::model::Sampling>,
    /// The largest share of a verdict's citations not found in the transcript
    /// before the verdict is `unsupported` (`--max-unverified-share`); `None`:
    /// the judge's default (0.5), also for runs recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unverified_share: Option<f64>,
}

/// Who chooses the auditor's tool each turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditorGuidance {
    /// The auditor picks among all its tools every turn (it must call one).
    #[default]
    Free,
    /// The audit loop picks each turn's tool and forces it, offering only
    /// that one; the auditor writes its arguments. In order: answer the
    /// target's pending tool calls when no environment model does, set the
    /// target's system message while there is none, otherwise send a
    /// message. For small models that cannot choose tools; the audit never
    /// rolls back or restarts and ends at its turn limit.
    Guided,
}

impl AuditorGuidance {
    /// `free` or `guided`, as in `run.json`.
    pub fn label(self) -> &'static str {
        match self {
            AuditorGuidance::Free => "free",
            AuditorGuidance::Guided => "guided",
        }
    }
}

/// `run.json`: written when a run starts, before any audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub agar_version: String,
    /// Model reference per role.
    pub models: BTreeMap<RoleName, String>,
    pub settings: RunSettings,
    pub scenarios: Vec<RunScenario>,
    /// sha256 of each prompt template, by template file name.
    pub prompt_hashes: BTreeMap<String, String>,
    /// Whether a role ran on a local model ([`is_demonstration_model`]): the
    /// run demonstrates the pipeline and its scores are not evidence. Runs
    /// recorded before this field existed read as `false`; readers also
    /// check [`RunRecord::is_demonstration`].
    #[serde(default)]
    pub demonstration: bool,
}

/// The one line every surface (terminal summary, `show`, reports, viewer)
/// starts with when a run is a demonstration.
pub const DEMONSTRATION_BANNER: &str = "demonstration: small local models ran this audit to \
     show the pipeline; their scores are not evidence about any model";

/// Whether `reference` (a resolved model name) runs on agar's in-process
/// engine: `local/NAME` (the built-in SmolLM2-135M and Qwen2.5-Coder-1.5B)
/// or `local:PATH` (a GGUF of the same small CPU-bound kind, which agar
/// cannot vouch for as a judge either).
pub fn is_demonstration_model(reference: &str) -> bool {
    let r = reference.trim();
    r.starts_with("local/") || r.starts_with("local:")
}

impl RunRecord {
    /// Recorded as a demonstration, or any role on a local model.
    pub fn is_demonstration(&self) -> bool {
        self.demonstration || self.models.values().any(|m| is_demonstration_model(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_is_recorded_and_old_records_read_as_free() -> Result<(), serde_json::Error> {
        let old =
            r#"{"max_turns": 4, "concurrency": 1, "repeats": 1, "judge": true, "dimensions": []}"#;
        let s: RunSettings = serde_json::from_str(old)?;
        assert_eq!(s.auditor_guidance, AuditorGuidance::Free);
        let guided = RunSettings { auditor_guidance: AuditorGuidance::Guided, ..s };
        let json = serde_json::to_value(&guided)?;
        assert_eq!(json["auditor_guidance"], "guided");
        assert_eq!(serde_json::from_value::<RunSettings>(json)?, guided);
        assert_eq!(AuditorGuidance::Guided.label(), "guided");
        Ok(())
    }
}
