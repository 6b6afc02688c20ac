//! The judge's verdict on one transcript: a score per dimension with its
//! justification and checked citations, a summary and highlights, and, when
//! the judge was sampled several times, every sample with per-dimension
//! statistics.
//!
//! Readers of older files: every field added since the first format has a
//! default, so a verdict written before samples and citation checks existed
//! still reads.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Usage;
use crate::state::VerdictState;

/// A quote from a message of the transcript, offered as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Citation {
    /// The message id, e.g. `M7` (after re-pointing, the message that holds the quote).
    pub message: String,
    pub quote: String,
    /// Whether the quote was found in `message` (set by the checker; `None`
    /// until checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The label the judge wrote, when the quote was found in another message
    /// and the citation was re-pointed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cited_as: Option<String>,
    /// The quote matched with small differences (typos, a changed word), not
    /// word for word after normalisation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub approximate: bool,
    /// The quote lies in text the auditor prefilled: the auditor's words, not
    /// the target's.
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_prefill: bool,
    /// For a highlight: why it matters, in the judge's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How the samples of a several-sample verdict scored one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleStats {
    /// Each usable sample's score, in sample order.
    pub scores: Vec<u8>,
    pub mean: f64,
    pub median: f64,
    pub min: u8,
    pub max: u8,
    /// Population standard deviation.
    pub stdev: f64,
}

/// One dimension's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionScore {
    /// 1 to 10. With several samples: their median, rounded half up.
    pub score: u8,
    #[serde(default)]
    pub justification: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// Present when the verdict combines several samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleStats>,
}

/// Whether the judge produced a usable verdict.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VerdictStatus {
    #[default]
    Ok,
    /// The judge's answer stayed invalid after the allowed retries (or the
    /// judge model failed); `raw` keeps its last answer.
    JudgeFailed { error: String, raw: String },
    /// The judge declined to score: a text answer that refuses, or the
    /// provider's refusal. `reason` is what it said.
    Refused { reason: String },
    /// The judge answered, but its answer does not support itself: most of
    /// its quotes are not in the transcript, its text degenerates into
    /// repetition, or a score contradicts its own justification. The scores
    /// are kept and shown, never aggregated, compared or gated on; `reasons`
    /// says which checks failed.
    Unsupported { reasons: Vec<String> },
}

impl VerdictStatus {
    /// The state without its detail.
    pub fn state(&self) -> VerdictState {
        match self {
            VerdictStatus::Ok => VerdictState::Ok,
            VerdictStatus::JudgeFailed { .. } => VerdictState::JudgeFailed,
            VerdictStatus::Refused { .. } => VerdictState::Refused,
            VerdictStatus::Unsupported { .. } => VerdictState::Unsupported,
        }
    }

    pub fn label(&self) -> &'static str {
        self.state().as_str()
    }
}

/// One independent judgment, kept inside a several-sample [`Verdict`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeSample {
    pub status: VerdictStatus,
    #[serde(default)]
    pub scores: BTreeMap<String, DimensionScore>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<Citation>,
    /// Citations of this sample (scores and highlights) whose quote was not found.
    #[serde(default)]
    pub unverified_citations: usize,
    #[serde(default)]
    pub usage: Usage,
}

/// A verdict: scores per dimension with justifications, a summary and highlights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub judge_model: String,
    /// Identifies the judge's instructions: sha256 (hex) over the rendered
    /// system prompt (rules and dimension rubrics) and the user-prompt template.
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
    /// Citations of this verdict (in `scores` and `highlights`) whose quote
    /// was not found in the transcript.
    #[serde(default)]
    pub unverified_citations: usize,
    /// Every sample, when the judge was sampled more than once (empty for one
    /// sample: the verdict is that sample).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<JudgeSample>,
    /// The judge's tokens, over every sample and retry.
    #[serde(default)]
    pub usage: Usage,
    /// How the prompt was fitted to the judge model's context window:
    /// `whole`, or `dimension groups: N (...)`; absent when the window was unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<String>,
}

impl Verdict {
    /// The score of `dimension`, if this verdict has one.
    pub fn score(&self, dimension: &str) -> Option<u8> {
        self.scores.get(dimension).map(|s| s.score)
    }

    /// Whether the verdict holds usable scores.
    pub fn is_ok(&self) -> bool {
        self.status == VerdictStatus::Ok
    }
}

/// Whether a citation check ignores `c`: apostrophes and quote marks, which one writer types
/// and another leaves out (`I'm`, `Im`), so that a word goes on across them. The judge's
/// check drops them before it compares; the local engine's grounded quotes end only where
/// the check sees a word end.
pub fn is_quote_mark(c: char) -> bool {
    matches!(
        c,
        '\'' | '"'
            | '`'
            | '\u{00B4}'
            | '\u{2018}'..='\u{201F}'
            | '\u{2032}'..='\u{2037}'
            | '\u{02BC}'
            | '\u{00AB}'
            | '\u{00BB}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_of_the_first_format_still_reads() {
        let old = r#"{
            "judge_model": "openai/j", "prompt_hash": "ab", "created_at": "2026-01-01T00:00:00Z",
            "status": {"state": "ok"},
            "scores": {"sycophancy": {"score": 7, "justification": "praise"}},
            "summary": "s",
            "highlights": [{"message": "M3", "quote": "q", "verified": true}],
            "usage": {"input_tokens": 1, "output_tokens": 2}
        }"#;
        let v: Verdict = serde_json::from_str(old).unwrap();
        assert_eq!(v.score("sycophancy"), Some(7));
        assert_eq!(v.unverified_citations, 0);
        assert!(v.samples.is_empty());
        assert_eq!(v.highlights[0].cited_as, None);
        assert!(!v.highlights[0].approximate);
    }

    #[test]
    fn refused_serialises_with_its_state() {
        let s = VerdictStatus::Refused { reason: "no".into() };
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j, serde_json::json!({"state": "refused", "reason": "no"}));
        assert_eq!(s.label(), "refused");
    }

    #[test]
    fn unsupported_serialises_with_its_reasons() {
        let s = VerdictStatus::Unsupported { reasons: vec!["6 of 6 citations not found".into()] };
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"state": "unsupported", "reasons": ["6 of 6 citations not found"]})
        );
        assert_eq!(s.label(), "unsupported");
        assert_eq!(serde_json::from_value::<VerdictStatus>(j).unwrap(), s);
    }
}
