//! What a survey run stores, beside any other run:
//!
//! ```text
//! STORE/RUN/run.json          a RunRecord (models: target) plus "kind": "survey"
//!                             and "survey": the SurveySpec (dataset, hashes, mode,
//!                             method, samples, countries...)
//! STORE/RUN/survey/ITEM.json  one ItemRecord per question (and per country in
//!                             cross-national mode), written atomically when answered
//! ```
//!
//! Item files live in their own folder, so the store's audit index never
//! reads them; `agar resume` skips every item stored `done`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_core::{RoleName, RunRecord, TokenLogprobs, Usage};
use agar_store::Store;
use agar_store::kind::{KindRun, create_kind_run, read_kind_records};
use agar_survey::{CountryAnswers, Method, ModelAnswer, Prompting, Question, SurveyPrompt};
use serde::{Deserialize, Serialize};

use crate::exit::Failure;

/// The `kind` a survey run's `run.json` carries.
pub(crate) const KIND: &str = "survey";
const ITEMS_DIR: &str = "survey";

/// How the run was asked, recorded in `run.json` under `survey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SurveySpec {
    /// The dataset file as given, and its sha256 when the run began.
    pub(crate) dataset: PathBuf,
    pub(crate) dataset_sha256: String,
    pub(crate) prompting: Prompting,
    pub(crate) method: Method,
    /// Answers sampled per item (`sample` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) samples: Option<u32>,
    /// Sampling temperature (`sample`: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f32>,
    /// Alternatives asked for per position (`logprobs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) top_logprobs: Option<u8>,
    /// Below this probability on the option letters an item is invalid.
    pub(crate) min_mass: f64,
    /// `--countries` (empty: every country); the personas in cross-national mode.
    pub(crate) countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) translations: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) translations_sha256: Option<String>,
    /// Items planned when the run began.
    pub(crate) planned: usize,
    pub(crate) concurrency: u32,
}

/// One asked item, `STORE/RUN/survey/ITEM.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemRecord {
    pub(crate) item_id: String,
    pub(crate) question_index: usize,
    /// The dataset line the question's row starts on.
    pub(crate) line: usize,
    pub(crate) question: String,
    pub(crate) options: Vec<String>,
    /// Every country's answers, as the dataset had them (so figures never
    /// need the dataset again).
    pub(crate) selections: Vec<CountryAnswers>,
    pub(crate) source: String,
    /// The country the model was asked to answer as (cross-national).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) persona: Option<String>,
    pub(crate) prompt: SurveyPrompt,
    /// Whether the answer prefix was written into the model's turn.
    pub(crate) prefilled: bool,
    /// `done` (answered; valid or not) or `failed` (the model call failed).
    pub(crate) status: agar_core::AuditState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) answer: Option<ModelAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The first position's log-probabilities (`logprobs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) logprobs: Vec<TokenLogprobs>,
    /// The sampled answers (`sample`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) replies: Vec<String>,
    pub(crate) usage: Usage,
}

impl ItemRecord {
    /// The question as the metric reads it.
    pub(crate) fn to_question(&self) -> Question {
        Question {
            index: self.question_index,
            line: self.line,
            question: self.question.clone(),
            options: self.options.clone(),
            selections: self.selections.clone(),
            source: self.source.clone(),
        }
    }
}

/// A survey run's `run.json`: an ordinary [`RunRecord`] with the survey's kind and spec.
pub(crate) fn write_run(
    store: &Store,
    run_id: &str,
    model: &str,
    spec: &SurveySpec,
) -> Result<(), Failure> {
    let run = KindRun {
        run_id,
        models: BTreeMap::from([(RoleName::Target, model.to_string())]),
        max_turns: 0,
        concurrency: spec.concurrency,
        judge: false,
    };
    let dir = create_kind_run(store, run, KIND, KIND, spec)?;
    std::fs::create_dir_all(dir.join(ITEMS_DIR))
        .map_err(|e| Failure::Run(format!("{}: {e}", dir.display())))
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Failure> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    agar_store::atomic::write_atomic(path, &bytes)
        .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}

/// The survey spec of a run, or `None` when the run is not a survey.
pub(crate) fn read_spec(store_dir: &Path, run_id: &str) -> Option<(RunRecord, SurveySpec)> {
    agar_store::kind::read_kind(store_dir, run_id, KIND)
}

/// Whether `run_id` in the store at `store_dir` is a survey run.
pub(crate) fn is_survey(store_dir: &Path, run_id: &str) -> bool {
    read_spec(store_dir, run_id).is_some()
}

/// Stores one item durably.
pub(crate) fn write_item(store: &Store, run_id: &str, item: &ItemRecord) -> Result<(), Failure> {
    let path = store.run_dir(run_id).join(ITEMS_DIR).join(format!("{}.json", item.item_id));
    write_json(&path, item)
}

/// Every stored item of a run, by id.
pub(crate) fn read_items(
    store: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, ItemRecord>, Failure> {
    let dir = store.run_dir(run_id).join(ITEMS_DIR);
    let items: Vec<ItemRecord> =
        read_kind_records(&dir, &[], "a survey item").map_err(|e| Failure::Run(e.to_string()))?;
    Ok(items.into_iter().map(|i| (i.item_id.clone(), i)).collect())
}

/// The sha256 of a file's bytes, hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, Failure> {
    use sha2::Digest;
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    Ok(hex::encode(sha2::Sha256::digest(&bytes)))
}
