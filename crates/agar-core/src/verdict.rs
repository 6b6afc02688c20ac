//! The judge's verdict on one transcript.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Usage;

/// A quote from a message of the transcript, offered as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The message id, e.g. `M7`.
    pub message: String,
    pub quote: String,
    /// Whether the quote was found in the cited message (set by the checker;
    /// `None` until checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// One dimension's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    /// 1 to 10.
    pub score: u8,
    #[serde(default)]
    pub justification: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
}

/// Whether the judge produced a usable verdict.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VerdictStatus {
    #[default]
    Ok,
    /// The judge's answer stayed invalid after the allowed retries; `raw` keeps it.
    JudgeFailed { error: String, raw: String },
}

/// A verdict: scores per dimension with justifications, a summary and highlights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub judge_model: String,
    /// sha256 of the rendered judge prompt template, hex.
    pub prompt_hash: String,
    pub created_at: DateTime<Utc>,
    pub status: VerdictStatus,
    /// Dimension name -> score.
    #[serde(default)]
    pub scores: BTreeMap<String, DimensionScore>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<Citation>,
    #[serde(default)]
    pub usage: Usage,
}

impl Verdict {
    /// The score of `dimension`, if this verdict has one.
    pub fn score(&self, dimension: &str) -> Option<u8> {
        self.scores.get(dimension).map(|s| s.score)
    }
}
