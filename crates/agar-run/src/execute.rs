//! Running a run's audits, for `agar audit` (a new run) and `agar resume`
//! (what an earlier invocation left unfinished) alike.
//!
//! How the pieces cooperate:
//! - the run's lock (or the shard's, [`agar_store::RunLock`]) is held for
//!   the whole invocation, so no other process runs the same audits;
//! - `cancel` (a [`CancellationToken`]) stops starting new audits; it is
//!   cancelled when the caller's `interrupt` token is (first Ctrl-C) or when
//!   `--max-cost` is reached, and [`Stop`] records which. Running audits go
//!   on to their end (every model call is bounded by its timeout);
//! - each audit is marked running in the store, run, judged, priced, and
//!   written (file synced and renamed) before it counts as
//!   done anywhere (log, [`Observer`], result); the index records wait for
//!   the closing view, which writes them in one session;
//! - a ticker task reads the models' meters four times a second for the
//!   observer and the budget; it ends when the audits do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use agar_audit::{AuditIds, AuditModels, AuditSettings, run_audit, runner::run_bounded};
use agar_core::{AuditStatus, ChatModel, RoleName};
use agar_store::{CachedModel, ResponseCache, RunLock, RunPlan, RunView, Store};
use tokio_util::sync::CancellationToken;

use crate::judge::JudgeStep;
use crate::{Job, Prepared, RunError, Runtime};

/// What the caller is told while audits run (the binary draws a progress
/// bar and prints notices). Called from several tasks at once.
pub trait Observer: Send + Sync {
    /// `audit_id` started, with at most `turns` auditor turns.
    fn started(&self, audit_id: &str, turns: u32);
    /// The models one audit calls, for the observer to wrap (to follow its
    /// phases); unchanged by default.
    fn watch(
        &self,
        audit_id: &str,
        models: AuditModels,
        judge: Option<Arc<dyn ChatModel>>,
    ) -> (AuditModels, Option<Arc<dyn ChatModel>>) {
        let _ = audit_id;
        (models, judge)
    }
    /// `audit_id` is stored (or could not be) with this status.
    fn finished(&self, audit_id: &str, status: &AuditStatus);
    /// Tokens and cost of the run so far (the cost with earlier invocations').
    fn spent(&self, tokens: u64, cost_usd: Option<f64>);
    /// A line for the person running it (the budget was reached...).
    fn notice(&self, line: &str);
}

/// Why new audits stopped starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stop {
    Interrupted = 1,
    Budget = 2,
}

impl Stop {
    fn read(cell: &AtomicU8) -> Option<Stop> {
        match cell.load(Ordering::SeqCst) {
            1 => Some(Stop::Interrupted),
            2 => Some(Stop::Budget),
            _ => None,
        }
    }

    /// Records `self` as the reason unless one is recorded already.
    fn set(self, cell: &AtomicU8) -> bool {
        cell.compare_exchange(0, self as u8, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// `interrupted` or `budget`.
    pub fn label(self) -> &'static str {
        match self {
            Stop::Interrupted => "interrupted",
            Stop::Budget => "budget",
        }
    }
}

/// Everything an invocation runs with.
#[derive(Debug)]
pub struct Execution {
    pub prepared: Prepared,
    pub runtime: Runtime,
    /// Cancelled by the caller to stop starting audits (Ctrl-C, SIGTERM).
    pub interrupt: CancellationToken,
}

/// What one finished audit reports back.
#[derive(Debug)]
pub struct Finished {
    pub audit_id: String,
    pub status: AuditStatus,
    pub stored: Result<(), String>,
    /// The transcript's warnings ([`agar_core::EventKind::Warning`]).
    pub warnings: Vec<String>,
}

/// What an invocation did.
#[derive(Debug)]
pub struct Executed {
    pub plan: RunPlan,
    pub store: Store,
    /// Still held: the caller drops it once it has reported.
    pub lock: RunLock,
    /// Audits this invocation was to run.
    pub total: usize,
    pub finished: Vec<Finished>,
    /// Audits that did not start.
    pub not_started: usize,
    /// Why audits stopped starting, if they did.
    pub stopped: Option<Stop>,
    /// The whole run as stored now.
    pub view: RunView,
    /// The shard this invocation ran, if any.
    pub shard: Option<crate::Shard>,
}

impl Executed {
    /// The stored state of the audits this invocation answers for: the
    /// shard's share, or the whole run. A shard is summarised and gated on
    /// its own audits (the other shards' are not its to finish).
    pub fn share(&self) -> Vec<agar_report::AuditRecord> {
        let Some(shard) = self.shard else { return self.view.audits.clone() };
        let mine: std::collections::BTreeSet<&str> =
            shard.share(&self.plan).iter().map(|a| a.audit_id.as_str()).collect();
        self.view.audits.iter().filter(|a| mine.contains(a.audit_id.as_str())).cloned().collect()
    }
}

/// Everything an audit task needs, shared by all of them.
struct Shared {
    run_id: String,
    runtime: Runtime,
    settings: AuditSettings,
    judge: Option<JudgeStep>,
    store: Store,
    cache: Option<ResponseCache>,
    observer: Arc<dyn Observer>,
    budget: Budget,
}

/// The `--max-cost` budget: checked by the ticker and after every audit.
struct Budget {
    max_cost: Option<f64>,
    /// USD spent by audits finished in earlier invocations.
    spent_before: f64,
    /// Why new audits stopped (see [`Stop`]).
    stop: Arc<AtomicU8>,
    /// Stops starting new audits.
    cancel: CancellationToken,
}

impl Shared {
    /// Reports tokens and cost; once the budget is spent, stops new audits
    /// from starting (and says so, once).
    fn check_budget(&self) {
        let b = &self.budget;
        let meters = &self.runtime.resolve_settings.shared;
        let (tokens, cost) = self.runtime.pricing.live(meters);
        let spent = b.spent_before + cost.unwrap_or(0.0);
        self.observer.spent(tokens, cost.map(|c| c + b.spent_before));
        if let Some(max) = b.max_cost
            && spent >= max
            && Stop::Budget.set(&b.stop)
        {
            self.observer.notice(&format!(
                "budget reached: ${spent:.4} of --max-cost ${max:.4}; no new audits will start, running ones finish"
            ));
            b.cancel.cancel();
        }
    }
}

/// Runs the prepared jobs, each judged, priced and stored as it finishes;
/// returns what happened, with the run read back.
pub async fn execute(x: Execution, observer: Arc<dyn Observer>) -> Result<Executed, RunError> {
    let Execution { prepared: p, runtime, interrupt } = x;
    let run_id = p.plan.run_id.clone();
    let total = p.jobs.len();
    let stop = Arc::new(AtomicU8::new(0));
    let cancel = CancellationToken::new();
    let forward = {
        let (stop, cancel) = (stop.clone(), cancel.clone());
        tokio::spawn(async move {
            interrupt.cancelled().await;
            Stop::Interrupted.set(&stop);
            cancel.cancel();
        })
    };
    if let Some(max) = p.max_cost
        && p.spent_before >= max
    {
        Stop::Budget.set(&stop);
        cancel.cancel();
        observer.notice(&format!(
            "budget spent: ${:.4} of --max-cost ${max:.4} already; no audit will start",
            p.spent_before
        ));
    }
    tracing::info!(run = %run_id, audits = total, dir = %p.store.run_dir(&run_id).display(), "running audits");
    let s = &p.plan.settings;
    let judge = runtime.models.judge.clone().map(|model| JudgeStep {
        model,
        settings: crate::settings::plan_judge_settings(s, &runtime.pricing.config),
    });
    let shared = Arc::new(Shared {
        run_id: run_id.clone(),
        settings: crate::settings::audit_settings(s),
        judge,
        store: p.store.clone(),
        cache: p.cache.then(|| ResponseCache::new(p.store.root())),
        observer,
        budget: Budget {
            max_cost: p.max_cost,
            spent_before: p.spent_before,
            stop: stop.clone(),
            cancel: cancel.clone(),
        },
        runtime,
    });
    // The ticker: live tokens and cost, and the budget while audits run
    // (each audit also checks it when it ends).
    let ticker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                shared.check_budget();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    // No audit opens the index: the records of finished audits wait for the
    // view below, which writes them in one session.
    p.store.defer_index_writes();
    let (finished, skipped) = run_bounded(p.jobs, p.concurrency, cancel.clone(), |job| {
        let shared = shared.clone();
        async move { run_one(&shared, job).await }
    })
    .await;
    ticker.abort();
    forward.abort();
    let store = p.store.clone();
    let id = run_id.clone();
    // The view's index session also writes the batched index records; the
    // flush covers a view that fails before opening the index.
    let view = tokio::task::spawn_blocking(move || {
        let view = store.view(&id);
        store.flush_index();
        view
    })
    .await
    .map_err(|e| RunError::Failed(e.to_string()))?
    .map_err(|e| RunError::Failed(e.to_string()))?;
    Ok(Executed {
        plan: p.plan,
        store: p.store,
        lock: p.lock,
        total,
        finished,
        not_started: skipped.len(),
        stopped: Stop::read(&stop),
        view,
        shard: p.shard,
    })
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

/// The models of one audit: the run's, behind the cache when it is on.
fn audit_models(shared: &Shared, audit_id: &str) -> (AuditModels, Option<Arc<dyn ChatModel>>) {
    let m = &shared.runtime.models;
    let judge = shared.judge.as_ref().map(|j| j.model.clone());
    match &shared.cache {
        Some(c) => {
            let wrap = |model: &Arc<dyn ChatModel>, role| cached(model, c, role, audit_id);
            (
                AuditModels {
                    auditor: wrap(&m.auditor, RoleName::Auditor),
                    target: wrap(&m.target, RoleName::Target),
                    environment: m.environment.as_ref().map(|e| wrap(e, RoleName::Environment)),
                    realism: m.realism.as_ref().map(|r| wrap(r, RoleName::Realism)),
                },
                judge.as_ref().map(|j| wrap(j, RoleName::Judge)),
            )
        }
        None => (
            AuditModels {
                auditor: m.auditor.clone(),
                target: m.target.clone(),
                environment: m.environment.clone(),
                realism: m.realism.clone(),
            },
            judge,
        ),
    }
}

/// One audit: run, judged when done, priced, written; then reported.
async fn run_one(shared: &Shared, job: Job) -> Finished {
    if let Err(e) = shared.store.mark_running(&shared.run_id, &job.audit_id) {
        tracing::debug!("could not mark {} running: {e}", job.audit_id);
    }
    let s = &shared.settings;
    let turns = job.scenario.max_turns.unwrap_or(s.max_turns);
    shared.observer.started(&job.audit_id, s.turn_cap.map_or(turns, |cap| turns.min(cap)).max(1));
    let (models, judge) = audit_models(shared, &job.audit_id);
    let (models, judge) = shared.observer.watch(&job.audit_id, models, judge);
    let ids = AuditIds {
        run_id: shared.run_id.clone(),
        audit_id: job.audit_id.clone(),
        repeat: job.repeat,
    };
    let prompts = &shared.runtime.prompts;
    // Boxed: awaited in place, the audit's and the judge's futures made each
    // spawned task over 10 KB for its whole life (rustc keeps room for an
    // awaited future beside the caller's state); boxed, a waiting task holds
    // about 1.4 KB plus the one step it is in (measured with `size_of_val`).
    let mut transcript = Box::pin(run_audit(&job.scenario, &models, s, prompts, ids)).await;
    if let (Some(step), Some(judge)) = (&shared.judge, &judge)
        && transcript.status == AuditStatus::Done
    {
        transcript.models.insert(RoleName::Judge, judge.name().to_string());
        let verdict =
            Box::pin(step.verdict_with(judge.as_ref(), &transcript, &job.dimensions, prompts))
                .await;
        transcript.verdicts.push(verdict);
    }
    transcript.cost = shared.runtime.pricing.transcript_cost(&transcript);
    let status = transcript.status.clone();
    let warnings = transcript.warnings().map(str::to_owned).collect();
    // Encoded here, on the runtime's worker, and the transcript freed; only
    // the file's syscalls go to the blocking pool (see `Store::write_encoded`).
    let encoded = agar_store::EncodedTranscript::new(&transcript);
    drop(transcript);
    let store = shared.store.clone();
    let stored = match encoded {
        Ok(encoded) => tokio::task::spawn_blocking(move || store.write_encoded(encoded))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string())),
        Err(e) => Err(e.to_string()),
    };
    shared.store.clear_running(&shared.run_id, &job.audit_id);
    match &stored {
        Ok(()) => tracing::info!(audit = %job.audit_id, status = status.label(), "audit stored"),
        Err(e) => tracing::error!(audit = %job.audit_id, "could not store the audit: {e}"),
    }
    shared.observer.finished(&job.audit_id, &status);
    shared.check_budget();
    Finished { audit_id: job.audit_id, status, stored, warnings }
}
