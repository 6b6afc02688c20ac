//! Running a run's audits, shared by `agar audit` (a new run) and
//! `agar resume` (what an earlier invocation left unfinished).
//!
//! How the pieces cooperate:
//! - the run's lock ([`agar_store::RunLock`]) is held for the whole
//!   invocation, so no other process runs the same audits;
//! - `cancel` (a [`CancellationToken`]) stops starting new audits; it is
//!   cancelled by the first Ctrl-C or when `--max-cost` is reached, and
//!   [`Stop`] records which. Running audits go on to their end (every model
//!   call is bounded by its timeout); a second Ctrl-C exits at once;
//! - each audit is marked running in the store, run, judged, priced, and
//!   written (file synced and renamed, index flushed) before it counts as
//!   done anywhere (log, bar, summary);
//! - a ticker task reads the models' meters twice a second for the bar and
//!   the budget; it ends when the audits do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use agar_audit::{AuditIds, AuditModels, AuditSettings, run_audit, runner::run_bounded};
use agar_core::{AuditStatus, ChatModel, Dimension, RoleName, Scenario};
use agar_judge::{JudgeSettings, judge_fitted};
use agar_models::{Config, Env, ResolveSettings, resolve_with};
use agar_prompts::Prompts;
use agar_report::{Condition, GateOutcome, RunSummary, summarize_records};
use agar_store::{CachedModel, PlanSettings, ResponseCache, RunLock, RunPlan, Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cost::Pricing;
use crate::exit::Failure;
use crate::progress::{Progress, eprint_line};
use crate::show::catalogue;

/// One audit to run.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) scenario: Arc<Scenario>,
    pub(crate) dimensions: Arc<Vec<Dimension>>,
    pub(crate) audit_id: String,
    pub(crate) repeat: u32,
}

/// The models of every role.
#[derive(Debug, Clone)]
pub(crate) struct RoleModels {
    pub(crate) auditor: Arc<dyn ChatModel>,
    pub(crate) target: Arc<dyn ChatModel>,
    pub(crate) environment: Option<Arc<dyn ChatModel>>,
    pub(crate) realism: Option<Arc<dyn ChatModel>>,
    pub(crate) judge: Option<Arc<dyn ChatModel>>,
}

impl RoleModels {
    /// The model reference per role, for `run.json`.
    pub(crate) fn names(&self) -> BTreeMap<RoleName, String> {
        let mut m = BTreeMap::new();
        m.insert(RoleName::Target, self.target.name().to_string());
        m.insert(RoleName::Auditor, self.auditor.name().to_string());
        for (role, model) in [
            (RoleName::Judge, &self.judge),
            (RoleName::Environment, &self.environment),
            (RoleName::Realism, &self.realism),
        ] {
            if let Some(model) = model {
                m.insert(role, model.name().to_string());
            }
        }
        m
    }
}

/// Resolves the models a plan names (config names first, see `agar.toml`).
pub(crate) fn resolve_models(
    s: &PlanSettings,
    env: &Env,
    settings: &ResolveSettings,
    config: &Config,
) -> Result<RoleModels, Failure> {
    let model = |reference: &str| {
        resolve_with(reference, env, settings, config).map_err(|e| Failure::Input(e.to_string()))
    };
    let auditor = model(&s.auditor)?;
    let target = model(&s.target)?;
    let environment = match &s.environment {
        None => None,
        Some(r) if r.trim() == s.auditor.trim() => Some(auditor.clone()),
        Some(r) => Some(model(r)?),
    };
    let realism = s.realism.as_deref().map(model).transpose()?;
    let judge = s.judge.as_deref().map(model).transpose()?;
    Ok(RoleModels { auditor, target, environment, realism, judge })
}

/// Why new audits stopped starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Stop {
    None = 0,
    Interrupted = 1,
    Budget = 2,
}

impl Stop {
    fn read(cell: &AtomicU8) -> Stop {
        match cell.load(Ordering::SeqCst) {
            1 => Stop::Interrupted,
            2 => Stop::Budget,
            _ => Stop::None,
        }
    }

    /// Records `self` as the reason unless one is recorded already.
    fn set(self, cell: &AtomicU8) -> bool {
        cell.compare_exchange(0, self as u8, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}

/// Everything an invocation runs with.
#[derive(Debug)]
pub(crate) struct Execution {
    pub(crate) store: Store,
    /// Held until the invocation ends.
    pub(crate) lock: RunLock,
    pub(crate) plan: RunPlan,
    /// The audits to run now, in order.
    pub(crate) jobs: Vec<Job>,
    pub(crate) models: RoleModels,
    pub(crate) resolve_settings: ResolveSettings,
    pub(crate) pricing: Pricing,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) json: bool,
    pub(crate) max_cost: Option<f64>,
    /// USD spent by audits finished in earlier invocations.
    pub(crate) spent_before: f64,
    pub(crate) concurrency: usize,
    pub(crate) cache: bool,
    /// How to name the run in hints: `agar resume RUN [--store DIR]`.
    pub(crate) resume_hint: String,
    /// The templates in use (overrides included).
    pub(crate) prompts: Prompts,
}

/// Everything an audit task needs, shared by all of them.
struct Shared {
    run_id: String,
    models: RoleModels,
    settings: AuditSettings,
    judge_settings: JudgeSettings,
    prompts: Prompts,
    store: Store,
    pricing: Pricing,
    cache: Option<ResponseCache>,
    progress: Progress,
    budget: Budget,
}

/// The `--max-cost` budget: checked by the ticker and after every audit.
struct Budget {
    max_cost: Option<f64>,
    /// USD spent by audits finished in earlier invocations.
    spent_before: f64,
    /// The meters of every model resolved for this run.
    meters: agar_models::SharedModels,
    /// Why new audits stopped (see [`Stop`]).
    stop: Arc<AtomicU8>,
    /// Stops starting new audits.
    cancel: CancellationToken,
}

impl Shared {
    /// Updates the bar's tokens and cost; once the budget is spent, stops
    /// new audits from starting (and says so, once).
    fn check_budget(&self) {
        let b = &self.budget;
        let (tokens, cost) = self.pricing.live(&b.meters);
        let spent = b.spent_before + cost.unwrap_or(0.0);
        self.progress.spent(tokens, cost.map(|c| c + b.spent_before));
        if let Some(max) = b.max_cost
            && spent >= max
            && Stop::Budget.set(&b.stop)
        {
            eprint_line(&format!(
                "budget reached: ${spent:.4} of --max-cost ${max:.4}; no new audits will start, running ones finish"
            ));
            b.cancel.cancel();
        }
    }
}

/// What one finished audit reports back.
struct Finished {
    audit_id: String,
    status: AuditStatus,
    stored: Result<(), String>,
    /// The transcript's warnings ([`agar_core::EventKind::Warning`]).
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    run_id: &'a str,
    run_dir: String,
    /// A role ran on a small local model: the scores are not evidence.
    demonstration: bool,
    /// Audits of the plan that did not run in this invocation.
    not_started: usize,
    /// `interrupted` or `budget` when new audits stopped starting.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<&'static str>,
    summary: &'a RunSummary,
    gates: &'a [GateOutcome],
    /// `AUDIT: warning` for every warning the audits of this invocation recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    /// Why the gates were not evaluated, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_error: Option<String>,
}

/// Runs the jobs, then prints the summary and applies the gates.
pub(crate) async fn execute(x: Execution) -> crate::Outcome {
    let run_id = x.plan.run_id.clone();
    let total = x.jobs.len();
    let s = &x.plan.settings;
    let stop = Arc::new(AtomicU8::new(0));
    let cancel = CancellationToken::new();
    spawn_interrupt_handler(cancel.clone(), stop.clone());
    if let Some(max) = x.max_cost
        && x.spent_before >= max
    {
        Stop::Budget.set(&stop);
        cancel.cancel();
        eprint_line(&format!(
            "budget spent: ${:.4} of --max-cost ${max:.4} already; no audit will start",
            x.spent_before
        ));
    }
    tracing::info!(run = %run_id, audits = total, dir = %x.store.run_dir(&run_id).display(), "running audits");

    let shared = Arc::new(Shared {
        run_id: run_id.clone(),
        models: x.models.clone(),
        settings: AuditSettings {
            max_turns: s.max_turns,
            max_turns_wins: s.max_turns_wins,
            auditor_sampling: role(s, "auditor"),
            target_sampling: role(s, "target"),
            environment_sampling: role(s, "environment"),
            realism_sampling: role(s, "realism"),
            max_target_replies: s.max_target_turns,
            token_budget: s.max_tokens,
            realism_threshold: s.realism_threshold,
            auditor_guidance: s.auditor_guidance,
            turn_cap: s.turn_cap,
            ..AuditSettings::default()
        },
        judge_settings: JudgeSettings {
            sampling: s
                .sampling
                .get("judge")
                .cloned()
                .unwrap_or_else(|| JudgeSettings::with_samples(s.judge_samples).sampling),
            context_window: s
                .judge
                .as_deref()
                .and_then(|j| x.pricing.config.models.get(j.trim()))
                .and_then(|e| e.server.context_window),
            ..crate::gates::judge_settings(s.judge_samples, s.max_unverified_share)
        },
        prompts: x.prompts,
        store: x.store.clone(),
        pricing: x.pricing.clone(),
        cache: x.cache.then(|| ResponseCache::new(x.store.root())),
        progress: Progress::new(total, x.json),
        budget: Budget {
            max_cost: x.max_cost,
            spent_before: x.spent_before,
            meters: x.resolve_settings.shared.clone(),
            stop: stop.clone(),
            cancel: cancel.clone(),
        },
    });

    // The ticker: live tokens and cost for the bar, and the budget while
    // audits run (each audit also checks it when it ends).
    let ticker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                shared.check_budget();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    let (finished, skipped) = run_bounded(x.jobs, x.concurrency.max(1), cancel.clone(), |job| {
        let shared = shared.clone();
        async move { run_one(&shared, job).await }
    })
    .await;
    ticker.abort();
    shared.progress.clear();

    let mut store_errors = Vec::new();
    for f in &finished {
        if let Err(e) = &f.stored {
            store_errors.push(format!("{}: {e}", f.audit_id));
        }
    }
    let failed: Vec<&Finished> =
        finished.iter().filter(|f| matches!(f.status, AuditStatus::Failed { .. })).collect();

    let store = x.store.clone();
    let id = run_id.clone();
    // The view's index session also writes the batched index records; the
    // flush covers a view that fails before opening the index.
    let view = tokio::task::spawn_blocking(move || {
        let view = store.view(&id);
        store.flush_index();
        view
    })
    .await
    .map_err(|e| Failure::Run(e.to_string()))?
    .map_err(|e| Failure::Run(e.to_string()))?;
    let summary = summarize_records(&view.audits);
    let gate_result = crate::gates::gate_plan(&x.conditions, &x.plan, &summary);
    let (gates, gate_error) = crate::gates::for_json(&gate_result);
    let stopped = match Stop::read(&stop) {
        Stop::None => None,
        Stop::Interrupted => Some("interrupted"),
        Stop::Budget => Some("budget"),
    };
    let run_dir = x.store.run_dir(&run_id);
    let warnings: Vec<String> = finished
        .iter()
        .flat_map(|f| f.warnings.iter().map(move |w| format!("{}: {w}", f.audit_id)))
        .collect();
    if x.json {
        let out = JsonSummary {
            run_id: &run_id,
            run_dir: run_dir.display().to_string(),
            demonstration: view.record.is_demonstration(),
            not_started: skipped.len(),
            stopped: if skipped.is_empty() { None } else { stopped },
            summary: &summary,
            gates: &gates,
            warnings,
            gate_error,
        };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        if view.record.is_demonstration() {
            println!("{}", agar_core::DEMONSTRATION_BANNER);
        }
        println!("run {run_id} ({})", run_dir.display());
        print!("{}", crate::term::clean(&summary.to_table(&catalogue(&x.store, &[&run_id]))));
        for w in &warnings {
            println!("warning: {}", crate::term::clean(w));
        }
    }
    for f in &failed {
        if let AuditStatus::Failed { cause } = &f.status {
            eprintln!("audit {} failed: {}", f.audit_id, crate::term::clean(cause));
        }
    }
    drop(x.lock);
    if !skipped.is_empty() {
        let why = match stopped {
            Some("budget") => "the --max-cost budget was reached",
            _ => "interrupted",
        };
        eprintln!("{why}: {} of {total} audits were not started", skipped.len());
        eprintln!("interrupted; resume with: {}", x.resume_hint);
    }
    if !store_errors.is_empty() {
        return Err(Failure::Run(format!("could not store audits: {}", store_errors.join("; "))));
    }
    if !failed.is_empty() {
        eprintln!("retry the failed audits with: {} --retry-failed", x.resume_hint);
        return Err(Failure::Run(format!("{} of {total} audits failed", failed.len())));
    }
    crate::gates::finish(&gate_result.map_err(crate::gates::blocked)?)?;
    if !skipped.is_empty() {
        return Err(Failure::Run(match stopped {
            Some("budget") => "the run stopped at its --max-cost budget".into(),
            _ => "the run was interrupted".into(),
        }));
    }
    Ok(())
}

/// The sampling `plan.json` records for `role` (plans from before it was
/// recorded: the role's built-in defaults).
fn role(s: &PlanSettings, role: &str) -> agar_core::Sampling {
    s.sampling.get(role).cloned().unwrap_or_else(|| crate::sampling::default_sampling(role))
}

/// Wraps a model in the response cache for one role of one audit.
fn cached(
    model: &Arc<dyn ChatModel>,
    cache: &ResponseCache,
    role: RoleName,
    audit_id: &str,
) -> Arc<dyn ChatModel> {
    Arc::new(CachedModel::new(model.clone(), cache.clone(), role.as_str(), audit_id))
}

async fn run_one(shared: &Shared, job: Job) -> Finished {
    if let Err(e) = shared.store.mark_running(&shared.run_id, &job.audit_id) {
        tracing::debug!("could not mark {} running: {e}", job.audit_id);
    }
    shared.progress.started();
    let m = &shared.models;
    let (models, judge) = match &shared.cache {
        Some(c) => {
            let wrap = |model: &Arc<dyn ChatModel>, role| cached(model, c, role, &job.audit_id);
            (
                AuditModels {
                    auditor: wrap(&m.auditor, RoleName::Auditor),
                    target: wrap(&m.target, RoleName::Target),
                    environment: m.environment.as_ref().map(|e| wrap(e, RoleName::Environment)),
                    realism: m.realism.as_ref().map(|r| wrap(r, RoleName::Realism)),
                },
                m.judge.as_ref().map(|j| wrap(j, RoleName::Judge)),
            )
        }
        None => (
            AuditModels {
                auditor: m.auditor.clone(),
                target: m.target.clone(),
                environment: m.environment.clone(),
                realism: m.realism.clone(),
            },
            m.judge.clone(),
        ),
    };
    let board = shared.progress.board();
    let (models, judge) = match &board {
        Some(board) => {
            let s = &shared.settings;
            let turns = job.scenario.max_turns.unwrap_or(s.max_turns);
            board.start(&job.audit_id, s.turn_cap.map_or(turns, |cap| turns.min(cap)).max(1));
            crate::phase::watch(models, judge, board, &job.audit_id)
        }
        None => (models, judge),
    };
    let ids = AuditIds {
        run_id: shared.run_id.clone(),
        audit_id: job.audit_id.clone(),
        repeat: job.repeat,
    };
    let mut transcript =
        run_audit(&job.scenario, &models, &shared.settings, &shared.prompts, ids).await;
    if let Some(judge) = &judge
        && transcript.status == AuditStatus::Done
    {
        transcript.models.insert(RoleName::Judge, judge.name().to_string());
        let verdict = judge_fitted(
            &transcript,
            &job.dimensions,
            judge.as_ref(),
            &shared.prompts,
            &shared.judge_settings,
        )
        .await;
        transcript.verdicts.push(verdict);
    }
    transcript.cost = shared.pricing.transcript_cost(&transcript);
    let status = transcript.status.clone();
    let warnings = transcript.warnings().map(str::to_owned).collect();
    let store = shared.store.clone();
    let stored =
        tokio::task::spawn_blocking(move || store.write_transcript(&transcript).map(|_| ()))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
    shared.store.clear_running(&shared.run_id, &job.audit_id);
    match &stored {
        Ok(()) => tracing::info!(audit = %job.audit_id, status = status.label(), "audit stored"),
        Err(e) => tracing::error!(audit = %job.audit_id, "could not store the audit: {e}"),
    }
    if let Some(board) = &board {
        board.end(&job.audit_id);
    }
    shared.progress.finished(status.state());
    shared.check_budget();
    Finished { audit_id: job.audit_id, status, stored, warnings }
}

/// First Ctrl-C or SIGTERM: stop starting audits (running ones finish).
/// Second: exit now.
fn spawn_interrupt_handler(cancel: CancellationToken, stop: Arc<AtomicU8>) {
    tokio::spawn(async move {
        crate::signals::stop_requested().await;
        Stop::Interrupted.set(&stop);
        eprint_line(
            "interrupted: no new audits will start; running audits finish (Ctrl-C again to abort)",
        );
        cancel.cancel();
        crate::signals::stop_requested().await;
        eprint_line("aborted");
        std::process::exit(130);
    });
}

/// `scenario` for a single audit, `scenario.N` (1-based) for repeats; made
/// safe as a file name, and never one of the run's own file names.
pub(crate) fn audit_id(scenario_id: &str, repeat: u32, repeats: u32) -> String {
    let safe: String = scenario_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let mut safe = safe.trim_start_matches('.').to_string();
    if safe.is_empty() {
        safe = "scenario".into();
    }
    if agar_store::plan::RESERVED_AUDIT_IDS.contains(&safe.as_str()) {
        safe.push('_');
    }
    if repeats <= 1 { safe } else { format!("{safe}.{}", repeat + 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_ids_are_safe_file_names() {
        assert_eq!(audit_id("poem", 0, 1), "poem");
        assert_eq!(audit_id("poem", 1, 3), "poem.2");
        assert_eq!(audit_id("a b/c", 0, 1), "a_b_c");
        assert_eq!(audit_id("..x", 0, 1), "x");
        assert_eq!(audit_id("run", 0, 1), "run_");
        assert_eq!(audit_id("plan", 1, 2), "plan_.2");
    }
}
