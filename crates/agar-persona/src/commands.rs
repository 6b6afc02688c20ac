//! `agar persona extract`: the run, end to end and resumable. Answers are
//! written and judged one at a time, each stored as soon as it is judged;
//! a rerun on the same run id skips every answer already stored; the vector
//! is computed from the stored answers at the end (so it is the same
//! whether the run was interrupted or not).

use std::collections::BTreeMap;
use std::path::PathBuf;

use agar_core::{ChatModel, RoleName};
use agar_local::{LocalModel, VectorFile};
use agar_store::Store;
use serde::{Deserialize, Serialize};

use crate::extract::{self, Judged, PairOutcome};
use crate::store::{self, Context};
use crate::{LoadedTrait, PersonaError};

/// The `kind` of an extraction run.
pub const EXTRACT_KIND: &str = "persona-extract";

/// What `agar persona extract` was asked (stored in `run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractSpec {
    /// The trait as named on the command line.
    pub trait_ref: String,
    pub trait_sha256: String,
    pub limit: Option<usize>,
    pub max_tokens: u32,
    /// Where the vector file is written.
    pub output: PathBuf,
}

/// What an extraction produced.
#[derive(Debug, Clone)]
pub struct ExtractReport {
    pub judged: Vec<Judged>,
    pub outcomes: Vec<PairOutcome>,
    pub vectors: VectorFile,
    /// Answers written in this invocation (the rest were stored already).
    pub new_answers: usize,
}

/// Progress callbacks: `(done, total, what)`.
pub type Progress<'a> = &'a (dyn Fn(usize, usize, &str) + Sync);

/// Runs (or resumes) an extraction into `run_id`.
#[expect(clippy::too_many_arguments, reason = "the command's inputs")]
pub async fn extract(
    store: &Store,
    run_id: &str,
    t: &LoadedTrait,
    spec: &ExtractSpec,
    target: (&str, &LocalModel),
    judge: (&str, &dyn ChatModel),
    resume: bool,
    progress: Progress<'_>,
) -> Result<ExtractReport, PersonaError> {
    let (target_ref, target_model) = target;
    let (judge_ref, judge_model) = judge;
    if !resume {
        let models = BTreeMap::from([
            (RoleName::Target, target_ref.to_string()),
            (RoleName::Judge, judge_ref.to_string()),
        ]);
        store::create_run(store, run_id, models, EXTRACT_KIND, spec)?;
    }
    let _lock = store.lock_run(run_id).map_err(|e| PersonaError::Input(e.to_string()))?;
    let stored = store::stored_by_id(store, run_id)?;
    let samples = extract::plan(t, spec.limit);
    let cx = Context { run_id, target: target_ref, judge: judge_ref, trait_file: t };
    let mut judged = Vec::with_capacity(samples.len());
    let mut new_answers = 0;
    for (i, sample) in samples.iter().enumerate() {
        if let Some(j) =
            stored.get(&sample.id).and_then(|tr| store::judged_from(tr, &t.file.name, sample))
        {
            judged.push(j);
            continue;
        }
        progress(i, samples.len(), &sample.id);
        let j = extract::answer_and_judge(target_model, judge_model, t, sample, spec.max_tokens)
            .await?;
        store
            .write_transcript(&store::transcript(&cx, &j, &[]))
            .map_err(|e| PersonaError::Run(e.to_string()))?;
        judged.push(j);
        new_answers += 1;
    }
    progress(samples.len(), samples.len(), "computing the vectors");
    let outcomes = extract::select(&judged);
    store::write_json(&store.run_dir(run_id).join(store::DIR).join("pairs.json"), &outcomes)?;
    let vectors = extract::vectors(target_model, t, &judged, &outcomes, judge_ref).await?;
    vectors.save(&spec.output).map_err(|e| PersonaError::Run(e.to_string()))?;
    let copy = store.run_dir(run_id).join(store::DIR).join(format!("{}.safetensors", t.file.name));
    vectors.save(&copy).map_err(|e| PersonaError::Run(e.to_string()))?;
    Ok(ExtractReport { judged, outcomes, vectors, new_answers })
}
