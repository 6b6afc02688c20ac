//! What persona commands store: ordinary runs whose transcripts `agar show`
//! and `agar view` read. One transcript per answer (messages M1 system
//! instruction, M2 question, M3 answer), its judge scores as a verdict with
//! two dimensions (the trait's name and `coherence`); `run.json` is a
//! `RunRecord` plus `"kind"` (`persona-extract`, `persona-sweep`) and
//! `"persona"` (what the command was asked).
//!
//! ```text
//! STORE/RUN/run.json
//! STORE/RUN/AUDIT.json             one answer (audit id = sample id)
//! STORE/RUN/persona/...            extract: the vector file; monitor: projections;
//!                                  sweep: the table (sweep.json)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use agar_core::{
    AuditStatus, DimensionScore, Event, EventKind, Message, RoleName, ScenarioInfo, Transcript,
    Verdict, VerdictStatus,
};
use agar_store::Store;
use agar_store::kind::{KindRun, create_kind_run};
use chrono::Utc;
use serde::Serialize;

use crate::PersonaError;
use crate::extract::{Judged, Sample, Side};
use crate::judge::Scores;

/// The folder beside a run's transcripts holding persona files.
pub const DIR: &str = "persona";
/// The prompt hash recorded on persona verdicts (the judge prompt's sha256).
fn judge_hash(t: &crate::TraitFile) -> String {
    use sha2::Digest;
    let r = crate::judge::request(t, "", "");
    hex::encode(sha2::Sha256::digest(r.messages[0].content.as_bytes()))
}

fn run_err(e: impl std::fmt::Display) -> PersonaError {
    PersonaError::Run(e.to_string())
}

/// Creates the run (`kind` and `spec` added to an ordinary run record).
pub fn create_run(
    store: &Store,
    run_id: &str,
    models: BTreeMap<RoleName, String>,
    kind: &str,
    spec: &impl Serialize,
) -> Result<PathBuf, PersonaError> {
    let run = KindRun { run_id, models, max_turns: 1, concurrency: 1, judge: true };
    let dir = create_kind_run(store, run, kind, "persona", spec).map_err(|e| match e {
        agar_store::StoreError::RunExists(_) | agar_store::StoreError::BadId(_) => {
            PersonaError::Input(e.to_string())
        }
        other => run_err(other),
    })?;
    std::fs::create_dir_all(dir.join(DIR))
        .map_err(|e| run_err(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &std::path::Path, value: &impl Serialize) -> Result<(), PersonaError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(run_err)?;
    bytes.push(b'\n');
    agar_store::atomic::write_atomic(path, &bytes)
        .map_err(|e| run_err(format!("{}: {e}", path.display())))
}

/// The `kind` and `persona` spec of a run (`None` when it is not a persona run).
pub fn read_spec(store: &Store, run_id: &str) -> Option<(String, serde_json::Value)> {
    let text = std::fs::read_to_string(store.run_dir(run_id).join("run.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let kind = value.get("kind")?.as_str()?.to_string();
    kind.starts_with("persona").then(|| (kind, value.get("persona").cloned().unwrap_or_default()))
}

/// Who wrote and judged an answer.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub run_id: &'a str,
    pub target: &'a str,
    pub judge: &'a str,
    pub trait_file: &'a crate::LoadedTrait,
}

/// The transcript of one judged answer.
pub fn transcript(cx: &Context<'_>, j: &Judged, tags: &[&str]) -> Transcript {
    let now = Utc::now();
    let s = &j.sample;
    let msg = |id: &str, parent: Option<&str>, message: Message| Event {
        at: now,
        kind: EventKind::Target {
            id: id.into(),
            parent: parent.map(str::to_string),
            branch: 0,
            message,
            prefill: None,
            origin: None,
        },
    };
    let t = &cx.trait_file.file;
    let (status, scores) = match &j.scores {
        Ok(Scores { trait_score, coherence }) => (
            VerdictStatus::Ok,
            BTreeMap::from([
                (t.name.clone(), dimension(*trait_score)),
                ("coherence".to_string(), dimension(*coherence)),
            ]),
        ),
        Err(e) => {
            (VerdictStatus::JudgeFailed { error: e.clone(), raw: String::new() }, BTreeMap::new())
        }
    };
    let verdict = Verdict {
        judge_model: cx.judge.to_string(),
        prompt_hash: judge_hash(t),
        created_at: now,
        status,
        scores,
        summary: String::new(),
        highlights: Vec::new(),
        unverified_citations: 0,
        samples: Vec::new(),
        usage: Default::default(),
        fit: None,
    };
    let mut tag_list: Vec<String> = vec!["persona".into(), t.name.clone(), s.side.label().into()];
    tag_list.extend(tags.iter().map(|t| t.to_string()));
    Transcript {
        schema_version: agar_core::SCHEMA_VERSION,
        run_id: cx.run_id.to_string(),
        audit_id: s.id.clone(),
        agar_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: ScenarioInfo {
            id: format!("persona-{}-{}", t.name, s.id),
            title: Some(format!("{} ({}): {}", t.name, s.side.label(), s.question)),
            path: cx.trait_file.origin.clone(),
            sha256: cx.trait_file.sha256.clone(),
            tags: tag_list,
            language: "en".into(),
            instructions: s.system.clone(),
            repeat: 0,
            generated: None,
        },
        models: BTreeMap::from([
            (RoleName::Target, cx.target.to_string()),
            (RoleName::Judge, cx.judge.to_string()),
        ]),
        started_at: now,
        finished_at: Some(now),
        status: AuditStatus::Done,
        events: vec![
            msg("M1", None, Message::system(s.system.clone())),
            msg("M2", Some("M1"), Message::user(s.question.clone())),
            msg("M3", Some("M2"), Message::assistant(j.answer.clone())),
        ],
        usage: BTreeMap::new(),
        verdicts: vec![verdict],
        cost: None,
        prompt_hashes: BTreeMap::new(),
    }
}

fn dimension(score: u8) -> DimensionScore {
    DimensionScore { score, justification: String::new(), citations: Vec::new(), samples: None }
}

/// A run's stored transcripts by audit id (what a resumed run skips).
pub fn stored_by_id(
    store: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, Transcript>, PersonaError> {
    Ok(store
        .transcripts(run_id)
        .map_err(run_err)?
        .into_iter()
        .map(|t| (t.audit_id.clone(), t))
        .collect())
}

/// Reads a judged answer back from its transcript (`None` if it is not one).
pub fn judged_from(t: &Transcript, trait_name: &str, sample: &Sample) -> Option<Judged> {
    if t.status != AuditStatus::Done {
        return None;
    }
    let answer = t.target_nodes().find(|n| n.id == "M3")?.message.content.to_string();
    let v = t.verdicts.last()?;
    let scores = match &v.status {
        VerdictStatus::Ok => {
            Ok(Scores { trait_score: v.score(trait_name)?, coherence: v.score("coherence")? })
        }
        VerdictStatus::JudgeFailed { error, .. } => Err(error.clone()),
        other => Err(other.label().to_string()),
    };
    Some(Judged { sample: sample.clone(), answer, scores })
}

/// The side a transcript's answer was written under, from its tags.
pub fn side_of(t: &Transcript) -> Option<Side> {
    if t.scenario.tags.iter().any(|x| x == "trait") {
        Some(Side::Trait)
    } else if t.scenario.tags.iter().any(|x| x == "opposite") {
        Some(Side::Opposite)
    } else {
        None
    }
}
