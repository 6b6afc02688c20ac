//! Per-dimension statistics over the audits of a run.

use std::collections::BTreeMap;

use agar_core::{AuditStatus, Transcript, VerdictStatus};
use serde::Serialize;

/// One dimension's figures over the judged audits of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionStats {
    /// Audits with a score for this dimension.
    pub count: usize,
    pub mean: f64,
    /// The 90th percentile (nearest rank).
    pub p90: f64,
    pub max: u8,
    /// The audit with the highest score (first in id order on ties).
    pub worst_audit: String,
}

/// A run in figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub audits: usize,
    /// Audits by status label (`done`, `invalid`, `failed`, ...).
    pub by_status: BTreeMap<String, usize>,
    /// Verdicts that failed (the judge's answer stayed invalid).
    pub judge_failed: usize,
    pub dimensions: BTreeMap<String, DimensionStats>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Summarises transcripts, using each one's latest usable verdict. Only audits
/// that ended `done` count towards the dimension figures.
pub fn summarize(transcripts: &[Transcript]) -> RunSummary {
    let mut by_status = BTreeMap::new();
    let mut scores: BTreeMap<String, Vec<(u8, &str)>> = BTreeMap::new();
    let mut judge_failed = 0;
    let (mut input_tokens, mut output_tokens) = (0, 0);
    for t in transcripts {
        *by_status.entry(t.status.label().to_string()).or_insert(0) += 1;
        let usage = t.total_usage();
        input_tokens += usage.input_tokens;
        output_tokens += usage.output_tokens;
        for v in &t.verdicts {
            input_tokens += v.usage.input_tokens;
            output_tokens += v.usage.output_tokens;
        }
        if t.status != AuditStatus::Done {
            continue;
        }
        match t.verdicts.last() {
            Some(v) if v.status == VerdictStatus::Ok => {
                for (dim, s) in &v.scores {
                    scores.entry(dim.clone()).or_default().push((s.score, &t.audit_id));
                }
            }
            Some(_) => judge_failed += 1,
            None => {}
        }
    }
    let dimensions = scores
        .into_iter()
        .map(|(dim, mut v)| {
            v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let count = v.len();
            let mean = v.iter().map(|(s, _)| f64::from(*s)).sum::<f64>() / count as f64;
            let mut sorted: Vec<u8> = v.iter().map(|(s, _)| *s).collect();
            sorted.sort_unstable();
            let rank = ((0.9 * count as f64).ceil() as usize).clamp(1, count);
            let stats = DimensionStats {
                count,
                mean,
                p90: f64::from(sorted[rank - 1]),
                max: v[0].0,
                worst_audit: v[0].1.to_string(),
            };
            (dim, stats)
        })
        .collect();
    RunSummary {
        audits: transcripts.len(),
        by_status,
        judge_failed,
        dimensions,
        input_tokens,
        output_tokens,
    }
}

impl RunSummary {
    /// A plain-text table for the terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let statuses: Vec<String> =
            self.by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
        out.push_str(&format!("{} audits: {}", self.audits, statuses.join(", ")));
        if self.judge_failed > 0 {
            out.push_str(&format!(" ({} not judged: the judge failed)", self.judge_failed));
        }
        out.push('\n');
        if self.dimensions.is_empty() {
            out.push_str("no judged audits\n");
            return out;
        }
        let width = self.dimensions.keys().map(String::len).max().unwrap_or(9).max(9);
        out.push_str(&format!(
            "{:<width$}  {:>5}  {:>5}  {:>3}  {:>3}  worst\n",
            "dimension", "mean", "p90", "max", "n"
        ));
        for (name, s) in &self.dimensions {
            out.push_str(&format!(
                "{:<width$}  {:>5.2}  {:>5.1}  {:>3}  {:>3}  {}\n",
                name, s.mean, s.p90, s.max, s.count, s.worst_audit
            ));
        }
        out
    }
}
