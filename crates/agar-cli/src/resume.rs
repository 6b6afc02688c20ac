//! `agar resume RUN`: finish an interrupted run. It reads the run's
//! `plan.json`, skips every audit whose transcript is stored with a finished
//! status, re-reads the scenario files from their recorded paths (refusing
//! changed ones unless `--allow-changed`), and runs the rest with the run's
//! recorded settings and models (see [`crate::run`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use agar_core::{Dimension, Scenario};
use agar_models::{Env, ResolveSettings};
use agar_report::parse_conditions;
use agar_store::StoreError;
use clap::Args;

use crate::audit::resume_hint;
use crate::cost::Pricing;
use crate::exit::Failure;
use crate::run::{Execution, Job, execute, resolve_models};
use crate::show::open_store;

pub(crate) const RESUME_HELP: &str = "Examples:
  agar resume run-20260101-120000
  agar resume nightly --store /data/agar --max-cost 50

Runs only the audits of RUN that have no stored transcript with a finished
status (done, invalid or failed; --retry-failed runs failed ones again), with
the models, settings and dimensions recorded when the run began. Scenario
files are read again from their recorded paths; one whose content changed is
refused unless --allow-changed. A finished audit is never run twice, and two
processes never run the same run at once. Ctrl-C stops starting audits, as in
agar audit.

Failed audits (a model call that failed past its retries, a server that went
away) are not run again unless --retry-failed is given; while any remain,
resume says how many and exits 2:
  agar resume run-20260101-120000 --retry-failed";

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The run id
    #[arg(value_name = "RUN")]
    pub(crate) run: String,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Run audits whose scenario file changed since the run began
    #[arg(long)]
    pub(crate) allow_changed: bool,
    /// Run failed audits again (their transcripts are replaced); without it
    /// failed audits stay failed and resume exits 2 while any remain
    #[arg(long)]
    pub(crate) retry_failed: bool,
    /// Audits running at once (default: the run's)
    #[arg(long, value_name = "N", value_parser = crate::limits::concurrency())]
    pub(crate) concurrency: Option<u32>,
    /// Budget in USD for the whole run, earlier invocations included
    /// (default: the run's own --max-cost)
    #[arg(long, value_name = "USD")]
    pub(crate) max_cost: Option<f64>,
    /// Answer identical model requests from the store's cache
    #[arg(long)]
    pub(crate) cache: bool,
    /// Exit 3 when this holds for the whole run (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// Print a JSON summary on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
}

/// Survey and introspection runs resume in their own modules.
async fn resume_other_kind(args: &ResumeArgs) -> Option<crate::Outcome> {
    if crate::introspect::is_introspect(&args.store, &args.run) {
        return Some(
            crate::introspect::resume(&args.store, &args.run, &args.fail_if, args.json).await,
        );
    }
    if crate::survey::is_survey(&args.store, &args.run) {
        return Some(crate::survey::resume(&args.store, &args.run, &args.fail_if, args.json).await);
    }
    None
}

pub(crate) async fn run(args: ResumeArgs) -> crate::Outcome {
    if let Some(outcome) = resume_other_kind(&args).await {
        return outcome;
    }
    let conditions =
        parse_conditions(&args.fail_if, false).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(max) = args.max_cost
        && !(max.is_finite() && max > 0.0)
    {
        return Err(Failure::Input(format!(
            "--max-cost must be a positive number of USD, not {max}"
        )));
    }
    let store = open_store(&args.store)?;
    let run_id = args.run.as_str();
    let plan = store.read_plan(run_id).map_err(|e| match e {
        StoreError::NoSuchRun(_) | StoreError::BadId(_) => Failure::Input(format!(
            "no run {run_id:?} in the store {} (see agar runs)",
            store.root().display()
        )),
        StoreError::NoPlan(_) => Failure::Input(e.to_string()),
        other => Failure::Run(other.to_string()),
    })?;
    crate::gates::check_plan(&conditions, &plan)?;
    let lock = store.lock_run(run_id).map_err(|e| match e {
        StoreError::RunBusy(_) => Failure::Input(format!(
            "run {run_id:?} is being run by another agar process; wait for it to finish"
        )),
        other => Failure::Run(other.to_string()),
    })?;
    let cleaned = store.clean_run(run_id).map_err(|e| Failure::Run(e.to_string()))?;
    if cleaned > 0 {
        tracing::info!(files = cleaned, "removed leftovers of an interrupted process");
    }
    let view = store.view(run_id).map_err(|e| Failure::Run(e.to_string()))?;
    // Failed audits this invocation leaves alone: the run is not done while they remain.
    let failed_left = if args.retry_failed {
        0
    } else {
        view.audits.iter().filter(|a| a.status == "failed").count()
    };
    let finished: BTreeMap<&str, &str> = view
        .audits
        .iter()
        .filter(|a| a.is_finished() && !(args.retry_failed && a.status == "failed"))
        .map(|a| (a.audit_id.as_str(), a.status.as_str()))
        .collect();
    let spent_before: f64 = view
        .audits
        .iter()
        .filter(|a| finished.contains_key(a.audit_id.as_str()))
        .filter_map(|a| a.cost_usd)
        .sum();
    let remaining: Vec<_> =
        plan.audits.iter().filter(|a| !finished.contains_key(a.audit_id.as_str())).collect();
    tracing::info!(
        run = run_id,
        finished = finished.len(),
        remaining = remaining.len(),
        "resuming"
    );
    if remaining.is_empty() {
        eprintln!("nothing to resume: every audit of {run_id} is finished");
    }

    // Scenarios, read again and checked against the recorded hashes.
    let mut scenarios: BTreeMap<String, Arc<Scenario>> = BTreeMap::new();
    let dims_by_name: BTreeMap<&str, &Dimension> =
        plan.dimensions.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut jobs = Vec::new();
    for a in &remaining {
        let scenario = match scenarios.get(&a.scenario_path) {
            Some(s) => s.clone(),
            None => {
                let path = PathBuf::from(&a.scenario_path);
                if !path.is_file() {
                    return Err(Failure::Input(format!(
                        "{}: the scenario file of audit {} is gone; restore it to resume",
                        a.scenario_path, a.audit_id
                    )));
                }
                let loaded = agar_scenario::load_scenarios(std::slice::from_ref(&path)).map_err(
                    |diags| {
                        for d in &diags {
                            eprintln!("{d}");
                        }
                        Failure::InputReported
                    },
                )?;
                let s = loaded.into_iter().find(|s| s.id == a.scenario_id).ok_or_else(|| {
                    Failure::Input(format!(
                        "{}: no longer defines scenario {:?}",
                        a.scenario_path, a.scenario_id
                    ))
                })?;
                let s = Arc::new(s);
                scenarios.insert(a.scenario_path.clone(), s.clone());
                s
            }
        };
        if scenario.sha256 != a.scenario_sha256 {
            if !args.allow_changed {
                return Err(Failure::Input(format!(
                    "{}: the scenario changed since the run began (sha256 {} then, {} now); \
                     pass --allow-changed to run it as it is now",
                    a.scenario_path,
                    short(&a.scenario_sha256),
                    short(&scenario.sha256)
                )));
            }
            tracing::warn!(path = %a.scenario_path, "the scenario changed since the run began; running it as it is now");
        }
        let dims = a
            .dimensions
            .iter()
            .map(|n| {
                dims_by_name.get(n.as_str()).map(|d| (*d).clone()).ok_or_else(|| {
                    Failure::Input(format!("plan.json names dimension {n:?} without defining it"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        jobs.push(Job {
            scenario,
            dimensions: Arc::new(dims),
            audit_id: a.audit_id.clone(),
            repeat: a.repeat,
        });
    }

    let env = Env::from_process();
    let pricing = Pricing::load(&env)?;
    let resolve_settings =
        ResolveSettings::from_env(&env).map_err(|e| Failure::Input(e.to_string()))?;
    let prompts = plan_prompts(&plan, &pricing.config)?;
    let models = resolve_models(&plan.settings, &env, &resolve_settings, &pricing.config)?;
    let concurrency = args.concurrency.unwrap_or(plan.settings.concurrency) as usize;
    let max_cost = args.max_cost.or(plan.settings.max_cost);
    let cache = args.cache || plan.settings.cache;
    let hint = resume_hint(run_id, &args.store);
    let outcome = execute(Execution {
        resume_hint: hint.clone(),
        store,
        lock,
        plan,
        jobs,
        models,
        resolve_settings,
        pricing,
        conditions,
        json: args.json,
        max_cost,
        spent_before,
        concurrency,
        cache,
        prompts,
    })
    .await;
    failed_remain(failed_left, &hint, outcome)
}

/// The outcome of a resume that left `failed` audits failed: exit 2 (the
/// run is not finished) with how to retry them, over any gate result.
pub(crate) fn failed_remain(failed: usize, hint: &str, outcome: crate::Outcome) -> crate::Outcome {
    if failed == 0 {
        return outcome;
    }
    let audits = if failed == 1 { "audit" } else { "audits" };
    eprintln!(
        "{failed} {audits} of this run failed and were not run again; retry them with: {hint} --retry-failed"
    );
    match outcome {
        Err(Failure::Run(message)) => Err(Failure::Run(message)),
        Err(Failure::Gate) | Ok(()) => {
            Err(Failure::Run(format!("{failed} failed {audits} remain in the run")))
        }
        other => other,
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The templates the run began with: its plan records the override
/// directory; a plan written before that field gets `[prompts] dir`.
fn plan_prompts(
    plan: &agar_store::RunPlan,
    config: &agar_models::Config,
) -> Result<agar_prompts::Prompts, Failure> {
    let dir = match &plan.settings.prompts_dir {
        Some(dir) => Some(std::path::PathBuf::from(dir)),
        None => config.prompts_dir.clone(),
    };
    crate::prompts::load(dir.as_deref())
}
