//! [`AuditRecord`]: the facts about one audit that summaries, comparisons and
//! reports are computed from, small enough to keep in an index. Built from a
//! transcript with [`AuditRecord::from_transcript`]; figures computed from
//! records equal those computed from the transcripts themselves.

use std::collections::BTreeMap;

use agar_core::{AuditState, AuditStatus, EventKind, Transcript, VerdictState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many highlights of the latest verdict a record keeps.
const HIGHLIGHTS_KEPT: usize = 5;

/// One audit, in figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub audit_id: String,
    pub scenario_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `done`, `invalid`, `failed` (or `pending`, `running` for audits not finished).
    pub status: AuditState,
    /// The reason an audit is invalid, or the cause it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// The latest verdict (the one figures use), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictFacts>,
    /// Tokens of every role, the judge's verdicts included.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD, when the transcript records its cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// For a failed audit: the error label (`timeout`, `http_500`...) of its
    /// last model call that failed past its retries, or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_kind: Option<String>,
    /// Its model calls that failed past their retries, by error label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub call_errors: BTreeMap<String, usize>,
    /// Its retried attempts, by what they failed with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retried: BTreeMap<String, usize>,
    /// Milliseconds its model calls waited between retries, in total.
    #[serde(default)]
    pub retry_wait_ms: u64,
    /// Models that used tokens but have no price: `cost_usd` leaves them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

/// What the latest verdict of an audit says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictFacts {
    /// `ok`, `judge_failed`, `refused` or `unsupported`.
    pub status: VerdictState,
    pub judge_model: String,
    /// Dimension -> final score (1-10).
    pub scores: BTreeMap<String, u8>,
    /// Dimension -> each judge sample's score, when the verdict combined two or more.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<String, Vec<u8>>,
    pub unverified_citations: usize,
    #[serde(default)]
    pub summary: String,
    /// The first few highlights: (message id, quote).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<(String, String)>,
}

impl AuditRecord {
    /// The record of a stored transcript.
    pub fn from_transcript(t: &Transcript) -> AuditRecord {
        let mut usage = t.total_usage();
        for v in &t.verdicts {
            usage += v.usage;
        }
        let verdict = t.verdicts.last().map(|v| VerdictFacts {
            status: v.status.state(),
            judge_model: v.judge_model.clone(),
            scores: v.scores.iter().map(|(d, s)| (d.clone(), s.score)).collect(),
            samples: v
                .scores
                .iter()
                .filter_map(|(d, s)| {
                    let s = s.samples.as_ref()?;
                    (s.scores.len() >= 2).then(|| (d.clone(), s.scores.clone()))
                })
                .collect(),
            unverified_citations: v.unverified_citations,
            summary: v.summary.clone(),
            highlights: v
                .highlights
                .iter()
                .take(HIGHLIGHTS_KEPT)
                .map(|c| (c.message.clone(), c.quote.clone()))
                .collect(),
        });
        let mut call_errors = BTreeMap::new();
        let mut retried = BTreeMap::new();
        let mut retry_wait_ms = 0u64;
        let mut last_error_kind = None;
        for e in &t.events {
            if let EventKind::ModelCall(call) = &e.kind {
                for label in &call.retried {
                    *retried.entry(label.clone()).or_insert(0) += 1;
                }
                retry_wait_ms = retry_wait_ms.saturating_add(call.retry_wait_ms);
                if call.error.is_some() {
                    let kind = call.error_kind.clone().unwrap_or_else(|| "other".to_string());
                    *call_errors.entry(kind.clone()).or_insert(0) += 1;
                    last_error_kind = Some(kind);
                }
            }
        }
        // With no recorded cost, no model was priced: every model used is unpriced.
        let unpriced = match &t.cost {
            Some(c) => c.unpriced.clone(),
            None => agar_core::Cost::of_transcript(t, |_| None).unpriced,
        };
        let failure_kind = matches!(t.status, AuditStatus::Failed { .. })
            .then(|| last_error_kind.unwrap_or_else(|| "other".to_string()));
        AuditRecord {
            audit_id: t.audit_id.clone(),
            scenario_id: t.scenario.id.clone(),
            title: t.scenario.title.clone(),
            status: t.status.state(),
            status_detail: t.status.detail().map(str::to_string),
            verdict,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost_usd: t.cost.as_ref().map(|c| c.total_usd),
            started_at: Some(t.started_at),
            finished_at: t.finished_at,
            failure_kind,
            call_errors,
            retried,
            retry_wait_ms,
            unpriced,
        }
    }

    /// A planned audit that has not finished (`pending` or `running`).
    pub fn unfinished(audit_id: &str, scenario_id: &str, status: AuditState) -> AuditRecord {
        AuditRecord {
            audit_id: audit_id.to_string(),
            scenario_id: scenario_id.to_string(),
            title: None,
            status,
            status_detail: None,
            verdict: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            started_at: None,
            finished_at: None,
            failure_kind: None,
            call_errors: BTreeMap::new(),
            retried: BTreeMap::new(),
            retry_wait_ms: 0,
            unpriced: Vec::new(),
        }
    }

    /// The dimension scores figures use: those of a `done` audit whose latest
    /// verdict is usable.
    pub fn scores(&self) -> Option<&BTreeMap<String, u8>> {
        match &self.verdict {
            Some(v) if self.status == AuditState::Done && v.status == VerdictState::Ok => {
                Some(&v.scores)
            }
            _ => None,
        }
    }

    /// Whether the audit reached a final state.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}
