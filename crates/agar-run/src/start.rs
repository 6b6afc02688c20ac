//! Starting a run: its `run.json` and `plan.json` written before any audit
//! starts. A shard writes the whole plan too; when the run exists already
//! (another shard of it shares the store) its plan must be the same.

use std::time::{Duration, Instant};

use agar_core::RunRecord;
use agar_store::{RunPlan, Store, StoreError};

use crate::RunError;

/// How long a shard waits for the plan of a run another shard is creating.
const PLAN_WAIT: Duration = Duration::from_secs(30);

/// Creates the run with its plan. Without `sharded`, an existing run is an
/// error (its message ends with `resume_hint`); a shard joins an existing
/// run whose plan equals `plan`, and refuses one whose plan differs.
pub fn create_run(
    store: &Store,
    record: &RunRecord,
    plan: &RunPlan,
    sharded: bool,
    resume_hint: &str,
) -> Result<(), RunError> {
    let run_id = &plan.run_id;
    match store.create_run_with_plan(record, plan) {
        Ok(_) => Ok(()),
        Err(StoreError::RunExists(_)) if sharded => {
            let stored = wait_for_plan(store, run_id)?;
            match plan_difference(&stored, plan) {
                None => Ok(()),
                Some(what) => Err(RunError::Input(format!(
                    "run {run_id:?} in {} has a different plan.json ({what}); every shard of a \
                     run must be started with the same scenarios, models and settings, or \
                     choose another --run name",
                    store.root().display()
                ))),
            }
        }
        Err(StoreError::RunExists(_)) => Err(RunError::Input(format!(
            "run {run_id:?} already exists in {}; choose another --run name, or finish it with: \
             {resume_hint}",
            store.root().display()
        ))),
        Err(e @ (StoreError::ReservedId(_) | StoreError::BadId(_))) => {
            Err(RunError::Input(e.to_string()))
        }
        Err(other) => Err(RunError::Failed(other.to_string())),
    }
}

/// The stored plan of a run that exists, waiting a little for a shard that
/// created the run's directory to write it (`run.json` follows `plan.json`).
fn wait_for_plan(store: &Store, run_id: &str) -> Result<RunPlan, RunError> {
    let deadline = Instant::now() + PLAN_WAIT;
    loop {
        let complete = store.run_dir(run_id).join("run.json").is_file();
        if complete || Instant::now() >= deadline {
            return store.read_plan(run_id).map_err(|e| match e {
                StoreError::NoPlan(_) | StoreError::NoSuchRun(_) => RunError::Input(format!(
                    "run {run_id:?} exists in {} without a complete plan.json; choose another \
                     --run name",
                    store.root().display()
                )),
                other => RunError::Failed(other.to_string()),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What differs between two plans, in words; `None` when they are equal.
pub fn plan_difference(stored: &RunPlan, new: &RunPlan) -> Option<String> {
    if stored == new {
        return None;
    }
    if stored.settings != new.settings {
        return Some("its models or settings differ".into());
    }
    if stored.dimensions != new.dimensions {
        return Some("its dimensions differ".into());
    }
    if stored.audits.len() != new.audits.len() {
        return Some(format!(
            "{} planned audits there, {} here",
            stored.audits.len(),
            new.audits.len()
        ));
    }
    let first = stored.audits.iter().zip(&new.audits).find(|(a, b)| a != b);
    Some(match first {
        Some((a, b)) if a.audit_id != b.audit_id => {
            format!("audit {:?} there where {:?} is here", a.audit_id, b.audit_id)
        }
        Some((a, b)) if a.scenario_path != b.scenario_path => format!(
            "the scenario file of audit {:?} is {} there, {} here (run every shard from the same \
             path)",
            a.audit_id, a.scenario_path, b.scenario_path
        ),
        Some((a, b)) if a.scenario_sha256 != b.scenario_sha256 => {
            format!("the scenario of audit {:?} changed", a.audit_id)
        }
        Some((a, _)) => format!("audit {:?} is planned differently", a.audit_id),
        None => "its version differs".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RunPlan {
        let audit = |id: &str| {
            serde_json::json!({"audit_id": id, "scenario_id": "poem", "scenario_path": "/s/poem.md",
                "scenario_sha256": "ab", "repeat": 0, "dimensions": ["concerning"]})
        };
        serde_json::from_value(serde_json::json!({
            "schema_version": 1, "run_id": "nightly",
            "settings": {"target": "openai/t", "auditor": "openai/a", "realism_threshold": 0.6,
                "max_turns": 4, "max_target_turns": 10, "judge_samples": 1, "concurrency": 4},
            "audits": [audit("poem.1"), audit("poem.2")]
        }))
        .expect("a plan")
    }

    #[test]
    fn plans_that_differ_say_how() {
        let base = plan();
        assert_eq!(plan_difference(&base, &plan()), None);
        let mut other = plan();
        other.settings.concurrency = 8;
        assert_eq!(
            plan_difference(&base, &other).as_deref(),
            Some("its models or settings differ")
        );
        let mut other = plan();
        other.audits.pop();
        assert_eq!(
            plan_difference(&base, &other).as_deref(),
            Some("2 planned audits there, 1 here")
        );
        let mut other = plan();
        other.audits[1].scenario_path = "/elsewhere/poem.md".into();
        let said = plan_difference(&base, &other).unwrap_or_default();
        assert!(said.contains("/s/poem.md there, /elsewhere/poem.md here"), "{said}");
        let mut other = plan();
        other.audits[0].scenario_sha256 = "cd".into();
        assert_eq!(
            plan_difference(&base, &other).as_deref(),
            Some("the scenario of audit \"poem.1\" changed")
        );
    }
}
