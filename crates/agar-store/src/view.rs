//! [`RunView`] and [`RunOverview`]: a run as read back by
//! [`Store::view`](crate::Store::view) and [`Store::runs`](crate::Store::runs).

use std::collections::BTreeMap;

use agar_core::{RoleName, RunRecord};
use agar_report::AuditRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A run read back: its configuration and every audit, finished or not.
#[derive(Debug, Clone)]
pub struct RunView {
    pub record: RunRecord,
    /// Every audit in id order: planned ones not finished are `pending` (or
    /// `running` while a process runs them), stored ones as their file says.
    pub audits: Vec<AuditRecord>,
    /// Whether a process is running the run's audits right now.
    pub live: bool,
    /// Whether the figures came through the index (else straight from the files).
    pub from_index: bool,
}

/// One line of `agar runs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOverview {
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub models: BTreeMap<RoleName, String>,
    pub audits: usize,
    /// Audits by status: `done`, `invalid`, `failed`, `pending`, `running`.
    pub by_status: BTreeMap<String, usize>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    pub live: bool,
}

impl RunView {
    /// The overview line of this run.
    pub fn overview(&self) -> RunOverview {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut input_tokens, mut output_tokens) = (0, 0);
        let mut cost_usd: Option<f64> = None;
        for a in &self.audits {
            *by_status.entry(a.status.as_str()).or_insert(0) += 1;
            input_tokens += a.input_tokens;
            output_tokens += a.output_tokens;
            if let Some(c) = a.cost_usd {
                *cost_usd.get_or_insert(0.0) += c;
            }
        }
        RunOverview {
            run_id: self.record.run_id.clone(),
            created_at: self.record.created_at,
            models: self.record.models.clone(),
            audits: self.audits.len(),
            by_status: by_status.into_iter().map(|(s, n)| (s.to_string(), n)).collect(),
            input_tokens,
            output_tokens,
            cost_usd,
            live: self.live,
        }
    }

    /// The stored (finished) audits only.
    pub fn finished(&self) -> impl Iterator<Item = &AuditRecord> {
        self.audits.iter().filter(|a| a.is_finished())
    }
}
