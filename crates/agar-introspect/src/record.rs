//! What one trial leaves behind ([`TrialRecord`]), and how a run was asked
//! ([`IntrospectSpec`], stored in `run.json`).

use serde::{Deserialize, Serialize};

use crate::grade::Grades;
use crate::plan::{Design, Trial, TrialKind};
use crate::subject::Reply;

/// The `kind` an introspection run's `run.json` carries.
pub const KIND: &str = "introspect";

/// How the run was asked, `run.json` under `introspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntrospectSpec {
    pub design: Design,
    /// The subject's reference (`local/smollm2`), the sha256 of its file, its shape.
    pub model: String,
    pub model_sha256: String,
    pub model_layers: usize,
    pub model_width: usize,
    pub judge: String,
    /// The text the injection starts at, and why (see the prompt module).
    pub injection_point: String,
    /// Trials planned when the run began.
    pub planned: usize,
}

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Answered and graded.
    Done,
    /// The subject or the grader failed; resume asks it again.
    Failed,
}

/// One trial, `STORE/RUN/introspect/TRIAL.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    #[serde(flatten)]
    pub trial: Trial,
    pub status: TrialStatus,
    /// The user message the subject read.
    pub prompt: String,
    /// The injected vector's norm (before the strength), injected kinds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_norm: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grades: Option<Grades>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TrialRecord {
    /// The grades of a finished trial.
    pub fn graded(&self) -> Option<&Grades> {
        if self.status == TrialStatus::Done { self.grades.as_ref() } else { None }
    }

    pub fn kind(&self) -> TrialKind {
        self.trial.kind
    }
}
