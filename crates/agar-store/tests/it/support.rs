//! Builders of runs and judged transcripts.

use agar_core::{RunRecord, Transcript};
use agar_store::{RunPlan, Store};
use agar_testkit::{RunBuilder, TranscriptBuilder, VerdictBuilder};
use chrono::Utc;

pub(crate) fn record(run: &str) -> RunRecord {
    RunBuilder::new(run).created(Utc::now()).record().clone()
}

/// A plan of `audits`, each of the scenario of the same name.
pub(crate) fn plan(run: &str, audits: &[&str]) -> RunPlan {
    let (_, plan, _) = RunBuilder::new(run)
        .with_plan_settings(|s| {
            s.target = "openai/t".into();
            s.auditor = "openai/a".into();
            s.judge = Some("openai/j".into());
            s.max_turns = 3;
            s.max_target_turns = 10;
        })
        .plan_audits(audits.iter().copied())
        .into_parts();
    plan.unwrap()
}

/// A transcript of `audit` with one verdict scoring `scores`.
pub(crate) fn judged(run: &str, audit: &str, scores: &[(&str, u8)]) -> Transcript {
    let mut verdict = VerdictBuilder::new()
        .judge_model("openai/j")
        .summary(&format!("summary of {audit}"))
        .usage(10, 5);
    for (dimension, score) in scores {
        verdict = verdict.score(dimension, *score);
    }
    TranscriptBuilder::new(run, audit).verdict(verdict.build()).build()
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
