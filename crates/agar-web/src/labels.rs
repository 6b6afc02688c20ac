//! Reviewer labels: the form that records whether a reviewer agrees with the
//! judge's score of one dimension (plus a note), and the agreement figures
//! the run page reports. Labels are stored through
//! [`agar_store::Store::set_label`]; see [`run_labels`] for how a whole run's
//! labels are read.

use std::collections::BTreeMap;

use agar_store::{Agreement, Label, Store};
use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::dims::Dims;
use crate::error::WebError;
use crate::ids::{AuditId, RunId};
use crate::table::encode;

/// Longest note kept, in characters.
const NOTE_MAX: usize = 4000;

/// Every label of a run: audit id -> dimension -> label
/// ([`agar_store::run_labels`]).
pub(crate) fn run_labels(
    store: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, BTreeMap<String, Label>>, WebError> {
    agar_store::run_labels(store, run_id).map_err(|e| WebError::from_store("run", e))
}

/// How reviewers' labels compare with the judge, for one dimension.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DimAgreement {
    pub(crate) name: String,
    pub(crate) display: String,
    pub(crate) labelled: usize,
    pub(crate) agree: usize,
    pub(crate) disagree: usize,
    /// Share of labels that agree, as a percentage string.
    pub(crate) rate: String,
}

/// One disagreement, for the run page's list.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Disagreement {
    pub(crate) audit_id: String,
    /// The score on the transcript page.
    pub(crate) href: String,
    pub(crate) dimension: String,
    pub(crate) score: Option<u8>,
    pub(crate) note: String,
    pub(crate) reviewer: Option<String>,
}

/// Reviewer-judge agreement over a run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AgreementReport {
    pub(crate) dims: Vec<DimAgreement>,
    pub(crate) labelled: usize,
    pub(crate) agree: usize,
    pub(crate) rate: String,
    pub(crate) disagreements: Vec<Disagreement>,
}

/// Agreement per dimension and overall ([`agar_report::label_agreement`],
/// the computation `agar show` and reports use); `score` gives the judge's
/// score of an audit's dimension (for the list of disagreements).
pub(crate) fn agreement(
    run_id: &str,
    labels: &BTreeMap<String, BTreeMap<String, Label>>,
    dims: &Dims,
    score: impl Fn(&str, &str) -> Option<u8>,
) -> AgreementReport {
    let reviewer: agar_report::RunLabels = labels
        .iter()
        .map(|(a, by_dim)| {
            (a.clone(), by_dim.iter().map(|(d, l)| (d.clone(), l.to_reviewer())).collect())
        })
        .collect();
    let computed = agar_report::label_agreement(&reviewer, score);
    let disagreements = computed
        .disagreements
        .into_iter()
        .map(|d| Disagreement {
            href: format!(
                "/runs/{}/audits/{}#dim-{}",
                encode(run_id),
                encode(&d.audit_id),
                encode(&d.dimension)
            ),
            audit_id: d.audit_id,
            dimension: d.dimension,
            score: d.score,
            note: d.note,
            reviewer: d.reviewer,
        })
        .collect();
    let names: Vec<String> = computed.dimensions.keys().cloned().collect();
    let dims: Vec<DimAgreement> = dims
        .ordered(&names)
        .into_iter()
        .map(|d| {
            let c = computed.dimensions.get(&d.name).cloned().unwrap_or_default();
            DimAgreement {
                labelled: c.labelled,
                rate: c.rate_text(),
                name: d.name,
                display: d.display,
                agree: c.agree,
                disagree: c.disagree,
            }
        })
        .collect();
    AgreementReport {
        dims,
        labelled: computed.overall.labelled,
        agree: computed.overall.agree,
        rate: computed.overall.rate_text(),
        disagreements,
    }
}

/// The label form.
#[derive(Debug, Deserialize)]
pub(crate) struct LabelForm {
    #[serde(default)]
    csrf: String,
    dimension: String,
    /// `agree`, `disagree` or `clear`.
    agreement: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reviewer: String,
    /// The branch the reviewer was reading, to return to it.
    #[serde(default)]
    branch: String,
}

/// `POST /runs/{run}/audits/{audit}/labels`: sets or clears one label, then
/// sends the browser back to the transcript.
pub(crate) async fn post(
    State(state): State<AppState>,
    path: Result<Path<(RunId, AuditId)>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<LabelForm>, FormRejection>,
) -> Result<Redirect, WebError> {
    let (Path((run, audit)), Form(form)) = (path?, form?);
    crate::csrf::check(&headers, state.csrf_token(), &form.csrf)?;
    let back = state
        .blocking(move |state| {
            let store = state.store();
            let t = store
                .read_transcript(&run, &audit)
                .map_err(|e| WebError::from_store(&format!("audit {audit:?} in run {run:?}"), e))?;
            let dimension = form.dimension.trim();
            if !t.verdicts.last().is_some_and(|v| v.scores.contains_key(dimension)) {
                return Err(WebError::BadRequest(format!(
                    "the judge gave no score for {dimension:?} in this audit's latest verdict"
                )));
            }
            let note = form.note.trim();
            if note.chars().count() > NOTE_MAX {
                return Err(WebError::BadRequest(format!(
                    "the note is longer than {NOTE_MAX} characters"
                )));
            }
            let reviewer = Some(form.reviewer.trim().chars().take(100).collect::<String>())
                .filter(|r| !r.is_empty());
            let agreement = match form.agreement.as_str() {
                "agree" => Some(Agreement::Agree),
                "disagree" => Some(Agreement::Disagree),
                "clear" => None,
                other => {
                    return Err(WebError::BadRequest(format!(
                        "agreement {other:?}: agree, disagree or clear"
                    )));
                }
            };
            let saved = match agreement {
                Some(agreement) => store.set_label(
                    &run,
                    &audit,
                    dimension,
                    Label { agreement, note: note.to_string(), reviewer, at: chrono::Utc::now() },
                ),
                None => store.remove_label(&run, &audit, dimension),
            };
            saved.map_err(|e| WebError::from_store(&format!("audit {audit:?}"), e))?;
            let branch = form.branch.parse::<u32>().ok();
            let mut url = format!("/runs/{}/audits/{}", encode(&run), encode(&audit));
            if let Some(b) = branch {
                url.push_str(&format!("?branch={b}"));
            }
            url.push_str(&format!("#dim-{}", encode(dimension)));
            Ok(url)
        })
        .await?;
    Ok(Redirect::to(&back))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(agreement: Agreement) -> Label {
        Label { agreement, note: "n".into(), reviewer: None, at: chrono::Utc::now() }
    }

    #[test]
    fn agreement_counts_per_dimension_and_overall() {
        let mut labels = BTreeMap::new();
        labels.insert(
            "a1".to_string(),
            BTreeMap::from([
                ("deception".to_string(), label(Agreement::Agree)),
                ("sycophancy".to_string(), label(Agreement::Disagree)),
            ]),
        );
        labels.insert(
            "a2".to_string(),
            BTreeMap::from([("deception".to_string(), label(Agreement::Agree))]),
        );
        let r = agreement("r", &labels, &Dims::default(), |a, d| {
            (a == "a1" && d == "sycophancy").then_some(8)
        });
        assert_eq!((r.labelled, r.agree, r.rate.as_str()), (3, 2, "67%"));
        let dec = r.dims.iter().find(|d| d.name == "deception").map(|d| (d.agree, d.disagree));
        assert_eq!(dec, Some((2, 0)));
        assert_eq!(r.disagreements.len(), 1);
        assert_eq!(r.disagreements[0].score, Some(8));
        assert_eq!(r.disagreements[0].href, "/runs/r/audits/a1#dim-sycophancy");
    }
}
