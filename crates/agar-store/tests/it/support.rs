//! Builders of runs and judged transcripts.

use std::collections::BTreeMap;

use agar_core::{
    AuditStatus, DimensionScore, RunRecord, RunSettings, ScenarioInfo, Transcript, Usage, Verdict,
    VerdictStatus,
};
use agar_store::{PlanSettings, PlannedAudit, RunPlan, Store};
use chrono::{DateTime, Utc};

pub(crate) fn record(run: &str) -> RunRecord {
    RunRecord {
        schema_version: 1,
        run_id: run.into(),
        created_at: Utc::now(),
        agar_version: "0".into(),
        models: BTreeMap::new(),
        settings: RunSettings {
            max_turns: 1,
            concurrency: 1,
            repeats: 1,
            judge: true,
            dimensions: vec![],
            auditor_guidance: Default::default(),
            sampling: Default::default(),
            max_unverified_share: None,
        },
        scenarios: vec![],
        prompt_hashes: BTreeMap::new(),
        demonstration: false,
    }
}

pub(crate) fn plan(run: &str, audits: &[&str]) -> RunPlan {
    RunPlan {
        schema_version: 1,
        run_id: run.into(),
        settings: PlanSettings {
            target: "openai/t".into(),
            auditor: "openai/a".into(),
            judge: Some("openai/j".into()),
            environment: None,
            realism: None,
            realism_threshold: 0.6,
            max_turns: 3,
            max_target_turns: 10,
            max_tokens: None,
            judge_samples: 1,
            concurrency: 1,
            max_cost: None,
            cache: false,
            auditor_guidance: Default::default(),
            sampling: Default::default(),
            max_turns_wins: false,
            max_unverified_share: None,
            turn_cap: None,
            prompts_dir: None,
        },
        dimensions: vec![],
        audits: audits
            .iter()
            .map(|a| PlannedAudit {
                audit_id: a.to_string(),
                scenario_id: a.to_string(),
                scenario_path: format!("/s/{a}.md"),
                scenario_sha256: "x".into(),
                repeat: 0,
                dimensions: vec![],
            })
            .collect(),
    }
}

pub(crate) fn judged(run: &str, audit: &str, scores: &[(&str, u8)]) -> Transcript {
    let verdict = Verdict {
        judge_model: "openai/j".into(),
        prompt_hash: "h".into(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
        status: VerdictStatus::Ok,
        scores: scores
            .iter()
            .map(|(d, s)| {
                let score = DimensionScore {
                    score: *s,
                    justification: String::new(),
                    citations: vec![],
                    samples: None,
                };
                (d.to_string(), score)
            })
            .collect(),
        summary: format!("summary of {audit}"),
        highlights: vec![],
        unverified_citations: 0,
        samples: vec![],
        usage: Usage { input_tokens: 10, output_tokens: 5, ..Usage::default() },
        fit: None,
    };
    Transcript {
        schema_version: 1,
        run_id: run.into(),
        audit_id: audit.into(),
        agar_version: "0".into(),
        scenario: ScenarioInfo {
            id: audit.into(),
            title: None,
            path: "s.md".into(),
            sha256: "x".into(),
            tags: vec![],
            language: "en".into(),
            instructions: String::new(),
            repeat: 0,
            generated: None,
        },
        models: BTreeMap::new(),
        started_at: DateTime::<Utc>::UNIX_EPOCH,
        finished_at: None,
        status: AuditStatus::Done,
        events: vec![],
        usage: BTreeMap::new(),
        verdicts: vec![verdict],
        cost: None,
        prompt_hashes: Default::default(),
    }
}

/// A store with run `r` planning `a`, `b`, `c`, of which `a` and `b` are stored.
pub(crate) fn sample_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    store.create_run_with_plan(&record("r"), &plan("r", &["a", "b", "c"])).unwrap();
    store.write_transcript(&judged("r", "a", &[("syc", 3), ("dec", 1)])).unwrap();
    store.write_transcript(&judged("r", "b", &[("syc", 8), ("dec", 2)])).unwrap();
    (dir, store)
}
