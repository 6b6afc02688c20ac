//! [`Report`]: everything a rendered report shows about one run (and,
//! optionally, its comparison with another), gathered by the caller; the
//! renderers in [`crate::render`] turn it into Markdown, JSON, JUnit XML or
//! HTML without any IO.

use std::collections::BTreeMap;

use agar_core::Palette;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::compare::Comparison;
use crate::gate::{Condition, GateOutcome};
use crate::labels::LabelAgreement;
use crate::record::AuditRecord;
use crate::summary::RunSummary;

/// Who and what ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    pub agar_version: String,
    /// Model reference per role.
    pub models: BTreeMap<String, String>,
    /// Small local models ran the audits: every renderer says so first and
    /// shows scores as neutral (see [`agar_core::DEMONSTRATION_BANNER`]).
    pub demonstration: bool,
}

/// How a dimension is shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub description: String,
    pub palette: Palette,
}

/// One run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run: RunInfo,
    pub summary: RunSummary,
    /// The `--fail-if` conditions checked against the run (or the comparison).
    pub gates: Vec<GateOutcome>,
    /// Every planned audit, finished or not, in id order.
    pub audits: Vec<AuditRecord>,
    /// What is known of the dimensions scored (display names, palettes),
    /// and their display order.
    pub dimensions: Catalogue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Reviewer labels against the judge ([`crate::label_agreement`]).
    pub labels: LabelAgreement,
    /// The conditions themselves, applied per audit in JUnit reports.
    #[serde(skip)]
    pub conditions: Vec<Condition>,
}

impl Report {
    /// How many audits scored each value 1-10 on `dimension` (index 0 is score 1).
    pub fn histogram(&self, dimension: &str) -> [usize; 10] {
        let mut h = [0; 10];
        for a in &self.audits {
            if let Some(s) = a.scores().and_then(|s| s.get(dimension)) {
                h[usize::from((*s).clamp(1, 10)) - 1] += 1;
            }
        }
        h
    }

    /// The name shown for a dimension.
    pub fn display_name<'a>(&'a self, dimension: &'a str) -> &'a str {
        self.dimensions.get(dimension).and_then(|d| d.display_name.as_deref()).unwrap_or(dimension)
    }

    /// The lines every rendering opens with: the demonstration banner and
    /// the count of judge citations not found in their transcripts.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.run.demonstration {
            out.push(agar_core::DEMONSTRATION_BANNER.to_string());
        }
        out.extend(self.summary.unverified_note());
        out
    }

    /// Whether any gate condition held.
    pub fn gate_failed(&self) -> bool {
        self.gates.iter().any(|g| g.held)
    }
}
