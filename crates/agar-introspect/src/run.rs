//! Running an introspection audit: [`start`] plans and creates the run,
//! [`resume`] finishes one; both hold the run's lock, compute (or read back)
//! the concept vectors, then ask, grade and store each trial not yet `done`,
//! one at a time. A trial is stored the moment it is graded, so an
//! interrupted run loses at most the trial in flight.

use std::collections::BTreeMap;

use agar_core::ChatModel;
use agar_store::Store;

use crate::concept::{ConceptVectors, concept_vectors, norm};
use crate::grade::{Claim, grade};
use crate::plan::{Design, DesignError, Trial, TrialKind, check, layer_at};
use crate::prompt::{INJECTION_POINT, trial_prompt, trial_question, yes_bias_prompt};
use crate::record::{IntrospectSpec, TrialRecord, TrialStatus};
use crate::store::{self, RunStoreError};
use crate::subject::{Injection, Sampling, Subject, SubjectError};
use crate::table::{Table, table};
use crate::words::WordList;

/// Why a run could not go on (a single trial's failure is stored instead).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error(transparent)]
    Store(#[from] RunStoreError),
    #[error("concept vectors: {0}")]
    Vectors(SubjectError),
    #[error(
        "the run's vectors come from a model file with sha256 {expected}, not {found} ({model}); \
         start a new run for another model"
    )]
    OtherModel { model: String, expected: String, found: String },
}

/// What the caller sees of a run's progress.
pub trait Observer: Send + Sync {
    /// A line worth logging.
    fn line(&self, _line: &str) {}
    /// The trials about to be asked.
    fn trials(&self, _count: usize) {}
    fn started(&self) {}
    /// `status` is `Done` or `Failed`.
    fn finished(&self, _status: agar_core::AuditState) {}
}

/// An observer that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;
impl Observer for Quiet {}

/// What `agar introspect` was asked for, before it meets the model.
#[derive(Debug, Clone)]
pub struct Request {
    pub layer_fractions: Vec<f64>,
    pub strengths: Vec<f32>,
    pub concepts: WordList,
    pub baselines: WordList,
    pub no_questions: WordList,
    pub limit: Option<usize>,
    pub temperature: f32,
    pub max_tokens: u32,
    pub seed: u64,
}

/// The run's spec for `subject`: layers resolved from fractions of its depth.
pub fn spec_for(
    request: Request,
    subject: &dyn Subject,
    judge: &str,
) -> Result<IntrospectSpec, DesignError> {
    check(&request.strengths, &request.layer_fractions, request.limit)?;
    let layers = request
        .layer_fractions
        .iter()
        .map(|f| layer_at(*f, subject.layers()))
        .collect::<Result<Vec<_>, _>>()?;
    let design = Design {
        layer_fractions: request.layer_fractions,
        layers,
        strengths: request.strengths,
        concepts: request.concepts,
        baselines: request.baselines,
        no_questions: request.no_questions,
        limit: request.limit,
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        seed: request.seed,
    };
    let planned = design.trials().len();
    Ok(IntrospectSpec {
        design,
        model: subject.name().to_string(),
        model_sha256: subject.model_sha256().to_string(),
        model_layers: subject.layers(),
        model_width: subject.width(),
        judge: judge.to_string(),
        injection_point: INJECTION_POINT.to_string(),
        planned,
    })
}

/// Creates the run and runs every trial.
pub async fn start(
    store: &Store,
    run_id: &str,
    spec: &IntrospectSpec,
    subject: &dyn Subject,
    judge: &dyn ChatModel,
    observer: &dyn Observer,
) -> Result<Table, RunError> {
    store::create_run(store, run_id, spec)?;
    execute(store, run_id, spec, subject, judge, observer).await
}

/// Runs the trials of an existing run that are not stored `done`.
pub async fn resume(
    store: &Store,
    run_id: &str,
    subject: &dyn Subject,
    judge: &dyn ChatModel,
    observer: &dyn Observer,
) -> Result<Table, RunError> {
    let (_, spec) = store::read_spec(store.root(), run_id)
        .ok_or_else(|| RunStoreError::NotIntrospect(run_id.to_string()))?;
    execute(store, run_id, &spec, subject, judge, observer).await
}

async fn execute(
    store: &Store,
    run_id: &str,
    spec: &IntrospectSpec,
    subject: &dyn Subject,
    judge: &dyn ChatModel,
    observer: &dyn Observer,
) -> Result<Table, RunError> {
    same_model(&spec.model_sha256, subject)?;
    let _lock = store.lock_run(run_id).map_err(RunStoreError::from)?;
    let vectors = vectors(store, run_id, spec, subject, observer).await?;
    let stored = store::read_trials(store, run_id)?;
    let done = store::done_ids(&stored);
    let todo: Vec<Trial> =
        spec.design.trials().into_iter().filter(|t| !done.contains(&t.id.as_str())).collect();
    if todo.is_empty() {
        observer.line(&format!("every trial of {run_id} is done"));
    }
    observer.trials(todo.len());
    for trial in todo {
        observer.started();
        let record = run_trial(&trial, spec, &vectors, subject, judge).await;
        store::write_trial(store, run_id, &record)?;
        if let Some(e) = &record.error {
            observer.line(&format!("trial {} failed: {e}", trial.id));
        }
        observer.finished(if record.status == TrialStatus::Done {
            agar_core::AuditState::Done
        } else {
            agar_core::AuditState::Failed
        });
    }
    let trials: Vec<TrialRecord> = store::read_trials(store, run_id)?.into_values().collect();
    Ok(table(spec, &trials))
}

/// Refuses a subject whose model file is not the one a run was made with.
fn same_model(expected: &str, subject: &dyn Subject) -> Result<(), RunError> {
    if subject.model_sha256() == expected {
        return Ok(());
    }
    Err(RunError::OtherModel {
        model: subject.name().to_string(),
        expected: expected.to_string(),
        found: subject.model_sha256().to_string(),
    })
}

/// The run's stored vectors, or new ones computed and stored.
async fn vectors(
    store: &Store,
    run_id: &str,
    spec: &IntrospectSpec,
    subject: &dyn Subject,
    observer: &dyn Observer,
) -> Result<ConceptVectors, RunError> {
    if let Some(v) = store::read_vectors(store, run_id)? {
        same_model(&v.model_sha256, subject)?;
        return Ok(v);
    }
    let design = &spec.design;
    let concepts = design.trial_concepts();
    observer.line(&format!(
        "concept vectors: {} concept(s) against {} baseline word(s) at layer(s) {:?}",
        concepts.len(),
        design.baselines.entries.len(),
        design.layers
    ));
    let words = concepts.len() + design.baselines.entries.len();
    let read = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let n = read.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n * 10 / words > (n - 1) * 10 / words {
            observer.line(&format!("concept vectors: {n}/{words} words read"));
        }
    };
    let v = concept_vectors(subject, concepts, &design.baselines.entries, &design.layers, &tick)
        .await
        .map_err(RunError::Vectors)?;
    store::write_vectors(store, run_id, &v)?;
    Ok(v)
}

/// Asks and grades one trial; a failure is recorded, not raised.
async fn run_trial(
    trial: &Trial,
    spec: &IntrospectSpec,
    vectors: &ConceptVectors,
    subject: &dyn Subject,
    judge: &dyn ChatModel,
) -> TrialRecord {
    let (prompt, question, claim) = match &trial.question {
        Some(q) => (yes_bias_prompt(q), q.clone(), Claim::Yes),
        None => (trial_prompt(), trial_question().to_string(), Claim::Noticed),
    };
    let mut record = TrialRecord {
        trial: trial.clone(),
        status: TrialStatus::Failed,
        prompt,
        vector_norm: None,
        reply: None,
        grades: None,
        error: None,
    };
    let injection = if trial.kind.injects() {
        let Some(v) = vectors.get(&trial.concept, trial.layer) else {
            record.error =
                Some(format!("no vector for {:?} at layer {}", trial.concept, trial.layer));
            return record;
        };
        record.vector_norm = Some(norm(v));
        Some(Injection {
            layer: trial.layer,
            vector: v.to_vec(),
            strength: trial.strength,
            from: INJECTION_POINT.to_string(),
        })
    } else {
        None
    };
    let sampling = Sampling {
        temperature: spec.design.temperature,
        max_tokens: spec.design.max_tokens,
        seed: trial.seed,
    };
    let reply = match subject.answer(&record.prompt, injection.as_ref(), sampling).await {
        Ok(r) => r,
        Err(e) => {
            record.error = Some(format!("the model failed: {e}"));
            return record;
        }
    };
    let concept = (trial.kind == TrialKind::Injected).then_some(trial.concept.as_str());
    match grade(judge, claim, &question, &reply.text, concept).await {
        Ok(g) => {
            record.grades = Some(g);
            record.status = TrialStatus::Done;
        }
        Err(e) => record.error = Some(e.to_string()),
    }
    record.reply = Some(reply);
    record
}

/// Reads a run's spec and trials back, for `show`.
pub fn load(
    store: &Store,
    run_id: &str,
) -> Result<(agar_core::RunRecord, IntrospectSpec, BTreeMap<String, TrialRecord>), RunError> {
    let (record, spec) = store::read_spec(store.root(), run_id)
        .ok_or_else(|| RunStoreError::NotIntrospect(run_id.to_string()))?;
    let trials = store::read_trials(store, run_id)?;
    Ok((record, spec, trials))
}
