//! Runs for tests: a run's record (`run.json`), its plan (`plan.json`) and
//! its transcripts, built from defaults and written into a store through
//! agar-store's own API, as `agar audit` writes them.
//!
//! ```
//! use agar_testkit::{RunBuilder, TranscriptBuilder, VerdictBuilder};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = agar_store::Store::open(dir.path().join("store")).unwrap();
//! RunBuilder::new("nightly")
//!     .plan_audits(["poem", "later"])
//!     .transcript(
//!         TranscriptBuilder::new("nightly", "poem")
//!             .verdict(VerdictBuilder::new().score("concerning", 3).build())
//!             .build(),
//!     )
//!     .write(&store)
//!     .unwrap();
//! assert_eq!(store.view("nightly").unwrap().audits.len(), 2);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use agar_core::{Dimension, RoleName, RunRecord, RunSettings, Transcript};
use agar_store::{PlanSettings, PlannedAudit, RunPlan, Store, StoreError};
use chrono::{DateTime, Utc};

/// Builds a run. Defaults: created at the Unix epoch by agar `0`, no models
/// in `run.json`, one turn, one audit at a time, judged; no transcripts; no
/// plan until a `plan_*` or `with_plan_settings` call makes one, targeting
/// `openai/target` with `openai/auditor` and `openai/judge`, one turn, one
/// judge sample.
#[derive(Debug, Clone)]
pub struct RunBuilder {
    record: RunRecord,
    plan: Option<RunPlan>,
    transcripts: Vec<Transcript>,
}

/// The plan a run gets when a test asks for one.
fn default_plan(run_id: &str) -> RunPlan {
    RunPlan {
        schema_version: 1,
        run_id: run_id.into(),
        settings: PlanSettings {
            target: "openai/target".into(),
            auditor: "openai/auditor".into(),
            judge: Some("openai/judge".into()),
            environment: None,
            realism: None,
            realism_threshold: 0.6,
            max_turns: 1,
            max_target_turns: 1,
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
        audits: vec![],
    }
}

impl RunBuilder {
    pub fn new(run_id: &str) -> RunBuilder {
        let record = RunRecord {
            schema_version: 1,
            run_id: run_id.into(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
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
        };
        RunBuilder { record, plan: None, transcripts: vec![] }
    }

    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.record.created_at = at;
        self
    }

    pub fn agar_version(mut self, version: &str) -> Self {
        self.record.agar_version = version.into();
        self
    }

    /// The model reference of `role` in `run.json`.
    pub fn model(mut self, role: RoleName, reference: &str) -> Self {
        self.record.models.insert(role, reference.into());
        self
    }

    /// Any other field of `run.json`.
    pub fn with_record(mut self, edit: impl FnOnce(&mut RunRecord)) -> Self {
        edit(&mut self.record);
        self
    }

    /// The plan, made with the defaults if there is none yet.
    fn plan_mut(&mut self) -> &mut RunPlan {
        let run_id = self.record.run_id.clone();
        self.plan.get_or_insert_with(|| default_plan(&run_id))
    }

    /// The run has a plan (with no audits unless others are added).
    pub fn with_plan(mut self) -> Self {
        self.plan_mut();
        self
    }

    /// The plan's settings (models, turns, budgets) beyond the defaults.
    pub fn with_plan_settings(mut self, edit: impl FnOnce(&mut PlanSettings)) -> Self {
        edit(&mut self.plan_mut().settings);
        self
    }

    /// A planned audit of scenario `scenario_id` (at `/scenarios/ID.md`).
    pub fn plan_audit(self, audit_id: &str, scenario_id: &str) -> Self {
        self.planned(PlannedAudit {
            audit_id: audit_id.into(),
            scenario_id: scenario_id.into(),
            scenario_path: format!("/scenarios/{scenario_id}.md"),
            scenario_sha256: "0".repeat(64),
            repeat: 0,
            dimensions: vec![],
        })
    }

    /// Planned audits, each of the scenario of the same name (a plan even
    /// when there are none).
    pub fn plan_audits<'a>(mut self, audit_ids: impl IntoIterator<Item = &'a str>) -> Self {
        self.plan_mut();
        for id in audit_ids {
            self = self.plan_audit(id, id);
        }
        self
    }

    /// A planned audit as given.
    pub fn planned(mut self, audit: PlannedAudit) -> Self {
        self.plan_mut().audits.push(audit);
        self
    }

    /// A dimension the plan defines in full.
    pub fn plan_dimension(mut self, dimension: Dimension) -> Self {
        self.plan_mut().dimensions.push(dimension);
        self
    }

    /// A transcript stored with the run (its run id is not checked).
    pub fn transcript(mut self, transcript: Transcript) -> Self {
        self.transcripts.push(transcript);
        self
    }

    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// The plan, when the run has one.
    pub fn plan(&self) -> Option<&RunPlan> {
        self.plan.as_ref()
    }

    /// The run's record, plan and transcripts, for a test that writes them
    /// itself (or checks that the store refuses them).
    pub fn into_parts(self) -> (RunRecord, Option<RunPlan>, Vec<Transcript>) {
        (self.record, self.plan, self.transcripts)
    }

    /// Writes the run into `store`: `run.json`, `plan.json` when it has one,
    /// then each transcript. Returns the run's directory.
    pub fn write(self, store: &Store) -> Result<PathBuf, StoreError> {
        let dir = match self.plan() {
            Some(plan) => store.create_run_with_plan(&self.record, plan)?,
            None => store.create_run(&self.record)?,
        };
        for t in &self.transcripts {
            store.write_transcript(t)?;
        }
        Ok(dir)
    }
}
