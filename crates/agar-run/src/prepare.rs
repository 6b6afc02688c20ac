//! What an invocation runs: the run's (or the shard's) lock, what is left
//! of the plan, and the scenarios read again and checked against the hashes
//! the plan recorded. `agar audit` (right after writing the plan) and
//! `agar resume` both start here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use agar_core::{Dimension, Scenario};
use agar_store::shard::{self as store_shard, ShardRecord};
use agar_store::{PlannedAudit, RunLock, RunPlan, Store, StoreError};

use crate::{RunError, Shard};

/// One audit to run.
#[derive(Debug)]
pub struct Job {
    pub scenario: Arc<Scenario>,
    pub dimensions: Arc<Vec<Dimension>>,
    pub audit_id: String,
    pub repeat: u32,
}

/// How to run what is left of a run.
#[derive(Debug, Default)]
pub struct ResumeOptions {
    /// Run audits whose scenario file changed since the run began.
    pub allow_changed: bool,
    /// Run failed audits again.
    pub retry_failed: bool,
    /// Audits at once (default: the plan's).
    pub concurrency: Option<u32>,
    /// Budget in USD (default: the plan's).
    pub max_cost: Option<f64>,
    /// Answer identical requests from the store's cache (or the plan's `cache`).
    pub cache: bool,
    /// Run only this shard of the plan.
    pub shard: Option<Shard>,
    /// The size limit scenario files are read again under.
    pub limits: agar_scenario::Limits,
    /// Scenarios already read, by the plan's `scenario_path` (`agar audit`
    /// has just read them); every other one is read from its file.
    pub preloaded: BTreeMap<String, Arc<Scenario>>,
}

/// A run ready to execute: locked, with the audits to run now.
#[derive(Debug)]
pub struct Prepared {
    pub store: Store,
    /// The run's lock, or the shard's; held until the invocation ends.
    pub lock: RunLock,
    pub plan: RunPlan,
    pub shard: Option<Shard>,
    /// Audits of the plan this invocation is responsible for (its shard's, or all).
    pub share: usize,
    /// Of those, audits finished before (and not to run again).
    pub finished: usize,
    /// Failed audits this invocation leaves alone (no `retry_failed`).
    pub failed_left: usize,
    /// USD spent by the share's audits finished in earlier invocations.
    pub spent_before: f64,
    /// The audits to run now, in the plan's order.
    pub jobs: Vec<Job>,
    pub concurrency: usize,
    pub max_cost: Option<f64>,
    pub cache: bool,
}

/// Reads a run's plan, with errors meant for the user.
pub fn read_plan(store: &Store, run_id: &str) -> Result<RunPlan, RunError> {
    store.read_plan(run_id).map_err(|e| match e {
        StoreError::NoSuchRun(_) | StoreError::BadId(_) => RunError::Input(format!(
            "no run {run_id:?} in the store {} (see agar runs)",
            store.root().display()
        )),
        StoreError::NoPlan(_) => RunError::Input(e.to_string()),
        other => RunError::Failed(other.to_string()),
    })
}

/// Locks the run (or the shard), cleans what a killed process left, and
/// finds the audits left to run: those of the share without a stored
/// transcript with a finished status (`failed` too unless `retry_failed`).
pub fn prepare(store: Store, plan: RunPlan, opts: ResumeOptions) -> Result<Prepared, RunError> {
    let run_id = plan.run_id.clone();
    let lock = lock(&store, &plan, opts.shard)?;
    let share: Vec<&PlannedAudit> = match opts.shard {
        Some(shard) => shard.share(&plan),
        None => plan.audits.iter().collect(),
    };
    // A run with no transcript yet (every `agar audit`) has nothing to skip:
    // the index is not opened, and the first model call comes sooner.
    let failed = |e: StoreError| RunError::Failed(e.to_string());
    let stored_audits = if store.has_transcripts(&run_id).map_err(failed)? {
        store.view(&run_id).map_err(failed)?.audits
    } else {
        Vec::new()
    };
    let mine: BTreeSet<&str> = share.iter().map(|a| a.audit_id.as_str()).collect();
    let stored = stored_audits.iter().filter(|a| mine.contains(a.audit_id.as_str()));
    let failed_left = if opts.retry_failed {
        0
    } else {
        stored.clone().filter(|a| a.status == agar_core::AuditState::Failed).count()
    };
    let finished: BTreeMap<&str, Option<f64>> = stored
        .filter(|a| {
            a.is_finished() && !(opts.retry_failed && a.status == agar_core::AuditState::Failed)
        })
        .map(|a| (a.audit_id.as_str(), a.cost_usd))
        .collect();
    let spent_before: f64 = finished.values().flatten().sum();
    let remaining: Vec<&PlannedAudit> =
        share.iter().copied().filter(|a| !finished.contains_key(a.audit_id.as_str())).collect();
    tracing::info!(
        run = %run_id,
        shard = opts.shard.map(|s| s.to_string()),
        finished = finished.len(),
        remaining = remaining.len(),
        "running what is left of the run"
    );
    let jobs = jobs(&plan, &remaining, &opts)?;
    let (share, finished) = (share.len(), finished.len());
    Ok(Prepared {
        concurrency: opts.concurrency.unwrap_or(plan.settings.concurrency).max(1) as usize,
        max_cost: opts.max_cost.or(plan.settings.max_cost),
        cache: opts.cache || plan.settings.cache,
        store,
        lock,
        plan,
        shard: opts.shard,
        share,
        finished,
        failed_left,
        spent_before,
        jobs,
    })
}

/// Takes the run's lock, or the shard's (refusing a shard count other than
/// the one the run's shards use), and cleans up after killed processes.
fn lock(store: &Store, plan: &RunPlan, shard: Option<Shard>) -> Result<RunLock, RunError> {
    let run_id = plan.run_id.as_str();
    let busy = |what: String| {
        RunError::Input(format!(
            "{what} is being run by another agar process; wait for it to finish"
        ))
    };
    let failed = |e: StoreError| RunError::Failed(e.to_string());
    let Some(shard) = shard else {
        let lock = store.lock_run(run_id).map_err(|e| match e {
            StoreError::RunBusy(_) => busy(format!("run {run_id:?}")),
            other => failed(other),
        })?;
        let cleaned = store.clean_run(run_id).map_err(failed)?;
        if cleaned > 0 {
            tracing::info!(files = cleaned, "removed leftovers of an interrupted process");
        }
        return Ok(lock);
    };
    let records = store_shard::records(store, run_id).map_err(failed)?;
    if let Some(other) = records.iter().find(|r| r.count != shard.count) {
        return Err(RunError::Input(format!(
            "run {run_id:?} is split into {} shards (shard-{}-of-{}.json), not {}; pass \
             --shard I/{}",
            other.count, other.index, other.count, shard.count, other.count
        )));
    }
    let lock =
        store_shard::lock_shard(store, run_id, shard.index, shard.count).map_err(|e| match e {
            StoreError::RunBusy(_) => {
                busy(format!("shard {shard} of run {run_id:?} (or the whole run)"))
            }
            other => failed(other),
        })?;
    // Other shards may be running: only this shard's markers are stale.
    let audits: Vec<String> = shard.share(plan).iter().map(|a| a.audit_id.clone()).collect();
    store.clear_running_all(run_id, &audits.iter().map(String::as_str).collect::<Vec<_>>());
    let record = ShardRecord { index: shard.index, count: shard.count, audits };
    store_shard::write_record(store, run_id, &record).map_err(failed)?;
    Ok(lock)
}

/// The jobs of `remaining`: each scenario read again (once per file) and
/// checked against the plan's hash, with the plan's dimensions.
fn jobs(
    plan: &RunPlan,
    remaining: &[&PlannedAudit],
    opts: &ResumeOptions,
) -> Result<Vec<Job>, RunError> {
    let mut scenarios = opts.preloaded.clone();
    let dims_by_name: BTreeMap<&str, &Dimension> =
        plan.dimensions.iter().map(|d| (d.name.as_str(), d)).collect();
    // One list per distinct set of names, shared by the audits that use it
    // (a 1,000-audit run of the built-in library held 1,000 copies).
    let mut dim_lists: BTreeMap<&[String], Arc<Vec<Dimension>>> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(remaining.len());
    for a in remaining {
        let scenario = match scenarios.get(&a.scenario_path) {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(reload(a, &opts.limits)?);
                scenarios.insert(a.scenario_path.clone(), s.clone());
                s
            }
        };
        if scenario.sha256 != a.scenario_sha256 {
            if !opts.allow_changed {
                return Err(RunError::Input(format!(
                    "{}: the scenario changed since the run began (sha256 {} then, {} now); \
                     pass --allow-changed to run it as it is now",
                    a.scenario_path,
                    short(&a.scenario_sha256),
                    short(&scenario.sha256)
                )));
            }
            tracing::warn!(path = %a.scenario_path, "the scenario changed since the run began; running it as it is now");
        }
        let dimensions = match dim_lists.get(a.dimensions.as_slice()) {
            Some(d) => d.clone(),
            None => {
                let dims = a
                    .dimensions
                    .iter()
                    .map(|n| {
                        dims_by_name.get(n.as_str()).map(|d| (*d).clone()).ok_or_else(|| {
                            RunError::Input(format!(
                                "plan.json names dimension {n:?} without defining it"
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let dims = Arc::new(dims);
                dim_lists.insert(a.dimensions.as_slice(), dims.clone());
                dims
            }
        };
        jobs.push(Job { scenario, dimensions, audit_id: a.audit_id.clone(), repeat: a.repeat });
    }
    Ok(jobs)
}

/// Reads the scenario of a planned audit from its recorded path.
fn reload(a: &PlannedAudit, limits: &agar_scenario::Limits) -> Result<Scenario, RunError> {
    let path = PathBuf::from(&a.scenario_path);
    if !path.is_file() {
        return Err(RunError::Input(format!(
            "{}: the scenario file of audit {} is gone; restore it to resume",
            a.scenario_path, a.audit_id
        )));
    }
    let (loaded, _) = agar_scenario::load_scenarios_with(std::slice::from_ref(&path), limits)
        .map_err(|diags| RunError::Diagnostics(diags.iter().map(ToString::to_string).collect()))?;
    loaded.into_iter().find(|s| s.id == a.scenario_id).ok_or_else(|| {
        RunError::Input(format!(
            "{}: no longer defines scenario {:?}",
            a.scenario_path, a.scenario_id
        ))
    })
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
