//! Reviewer labels: whether a reviewer agrees with the judge's score of one
//! dimension of one audit, with a note. Stored in `RUN/labels/AUDIT_ID.json`
//! (a map from dimension to [`Label`]), the source of truth, and indexed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The reviewer's opinion of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    Agree,
    Disagree,
}

/// One reviewer label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub agreement: Agreement,
    #[serde(default)]
    pub note: String,
    /// Who labelled, if known (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    pub at: DateTime<Utc>,
}

/// The directory of a run's label files.
pub(crate) const LABELS_DIR: &str = "labels";
