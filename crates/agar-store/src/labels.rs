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

impl Label {
    /// The label as reports read it.
    pub fn to_reviewer(&self) -> agar_report::ReviewerLabel {
        agar_report::ReviewerLabel {
            agrees: self.agreement == Agreement::Agree,
            note: self.note.clone(),
            reviewer: self.reviewer.clone(),
        }
    }
}

/// Every label of a run as the store wrote it: audit id -> dimension ->
/// label, read from the run's label directory in one pass. Only ids that pass
/// [`crate::check_id`] are read; an unreadable file is left out with a warning.
pub fn run_labels(
    store: &crate::Store,
    run_id: &str,
) -> Result<
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, Label>>,
    crate::StoreError,
> {
    crate::check_id(run_id)?;
    let dir = store.run_dir(run_id).join(LABELS_DIR);
    let mut out = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(audit) = name.strip_suffix(".json") else { continue };
        if crate::check_id(audit).is_err() {
            continue;
        }
        // Only regular files, capped: a fifo here would hang the reader.
        let parsed = crate::read::read_regular(&entry.path(), crate::read::MAX_FILE_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(labels) => {
                out.insert(audit.to_string(), labels);
            }
            Err(e) => tracing::warn!("labels of {run_id}/{audit}: {e}; left out"),
        }
    }
    Ok(out)
}

/// A run's labels as reports read them (see [`run_labels`]).
pub fn run_reviewer_labels(
    store: &crate::Store,
    run_id: &str,
) -> Result<agar_report::RunLabels, crate::StoreError> {
    Ok(run_labels(store, run_id)?
        .into_iter()
        .map(|(audit, by_dim)| {
            (audit, by_dim.into_iter().map(|(d, l)| (d, l.to_reviewer())).collect())
        })
        .collect())
}
