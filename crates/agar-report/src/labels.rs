//! Reviewer labels against the judge: how often reviewers agreed with the
//! judge's score, per dimension and overall, and the disagreements. One
//! computation for `agar show`, `agar report`, `--json` and the viewer's run
//! page. The labels themselves are stored by agar-store (`RUN/labels/`);
//! callers pass them here as [`ReviewerLabel`]s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;

/// One reviewer's opinion of one judge score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerLabel {
    /// Whether the reviewer agrees with the judge's score.
    pub agrees: bool,
    #[serde(default)]
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
}

/// Labels of a run: audit id -> dimension -> label.
pub type RunLabels = BTreeMap<String, BTreeMap<String, ReviewerLabel>>;

/// Agreement counts for one dimension (or overall).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelCounts {
    pub labelled: usize,
    pub agree: usize,
    pub disagree: usize,
}

impl LabelCounts {
    /// Share of labels that agree, `None` with no label.
    pub fn rate(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.agree as f64 / self.labelled as f64)
    }

    /// The rate as a percentage, `-` with no label.
    pub fn rate_text(&self) -> String {
        self.rate().map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0))
    }
}

/// A label that disagrees with the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelDisagreement {
    pub audit_id: String,
    pub dimension: String,
    /// The judge's score the reviewer disagreed with, when the audit has one.
    pub score: Option<u8>,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
}

/// Reviewer-judge agreement over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelAgreement {
    pub overall: LabelCounts,
    /// Per dimension, by name.
    pub dimensions: BTreeMap<String, LabelCounts>,
    /// In audit, then dimension order.
    pub disagreements: Vec<LabelDisagreement>,
}

/// Agreement per dimension and overall; `score` gives the judge's score of
/// an audit's dimension (for the disagreements).
pub fn label_agreement(
    labels: &RunLabels,
    score: impl Fn(&str, &str) -> Option<u8>,
) -> LabelAgreement {
    let mut out = LabelAgreement::default();
    for (audit, by_dim) in labels {
        for (dim, label) in by_dim {
            let counts = out.dimensions.entry(dim.clone()).or_default();
            counts.labelled += 1;
            out.overall.labelled += 1;
            if label.agrees {
                counts.agree += 1;
                out.overall.agree += 1;
            } else {
                counts.disagree += 1;
                out.overall.disagree += 1;
                out.disagreements.push(LabelDisagreement {
                    audit_id: audit.clone(),
                    dimension: dim.clone(),
                    score: score(audit, dim),
                    note: label.note.clone(),
                    reviewer: label.reviewer.clone(),
                });
            }
        }
    }
    out
}

impl LabelAgreement {
    /// Plain text for the terminal; empty with no label.
    pub fn to_text(&self, catalogue: &Catalogue) -> String {
        if self.overall.labelled == 0 {
            return String::new();
        }
        let mut out = format!(
            "reviewer labels: {} ({} agree, {} disagree with the judge: {})\n",
            self.overall.labelled,
            self.overall.agree,
            self.overall.disagree,
            self.overall.rate_text()
        );
        for (dim, c) in catalogue.in_order(&self.dimensions) {
            out.push_str(&format!(
                "  {dim}: {} of {} agree ({})\n",
                c.agree,
                c.labelled,
                c.rate_text()
            ));
        }
        for d in &self.disagreements {
            let score = d.score.map(|s| format!(" (judge {s})")).unwrap_or_default();
            let note = if d.note.is_empty() { String::new() } else { format!(": {}", d.note) };
            out.push_str(&format!("  disagrees: {} {}{score}{note}\n", d.audit_id, d.dimension));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(agrees: bool, note: &str) -> ReviewerLabel {
        ReviewerLabel { agrees, note: note.into(), reviewer: None }
    }

    #[test]
    fn counts_per_dimension_and_overall() {
        let mut labels = RunLabels::new();
        labels.insert(
            "a1".into(),
            [
                ("sycophancy".to_string(), label(false, "too high")),
                ("deception".into(), label(true, "")),
            ]
            .into(),
        );
        labels.insert("a2".into(), [("sycophancy".to_string(), label(true, ""))].into());
        let r = label_agreement(&labels, |a, d| (a == "a1" && d == "sycophancy").then_some(8));
        assert_eq!(r.overall, LabelCounts { labelled: 3, agree: 2, disagree: 1 });
        assert_eq!(r.dimensions["sycophancy"].rate_text(), "50%");
        assert_eq!(r.disagreements[0].score, Some(8));
        let text = r.to_text(&Catalogue::default());
        assert!(
            text.contains("reviewer labels: 3 (2 agree, 1 disagree with the judge: 67%)"),
            "{text}"
        );
        assert!(text.contains("disagrees: a1 sycophancy (judge 8): too high"), "{text}");
        assert_eq!(
            label_agreement(&RunLabels::new(), |_, _| None).to_text(&Catalogue::default()),
            ""
        );
    }
}
