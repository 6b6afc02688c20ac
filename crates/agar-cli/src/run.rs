//! Running a run's audits from the command line, shared by `agar audit` (a
//! new run, once its plan is written) and `agar resume`: the pipeline is
//! [`agar_run`]'s ([`agar_run::prepare()`], then [`agar_run::execute()`]); this
//! module follows it on the terminal (the progress bar and each audit's
//! phase, through [`agar_run::Observer`]), turns Ctrl-C into a stop, and
//! prints the summary, the warnings and the gates.
//!
//! The first Ctrl-C (or SIGTERM) stops starting audits and lets running
//! ones finish (every model call is bounded by its timeout); a second one
//! exits at once.

use std::sync::Arc;

use agar_audit::AuditModels;
use agar_core::{AuditStatus, ChatModel};
use agar_report::{Condition, GateOutcome, RunSummary, summarize_records};
use agar_run::{Executed, Execution, Prepared, ResumeOptions, Runtime, Stop};
use agar_store::{RunPlan, Store};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::exit::Failure;
use crate::progress::{Progress, eprint_line};
use crate::show::catalogue;

/// How the outcome is reported.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) conditions: Vec<Condition>,
    pub(crate) json: bool,
    /// How to name the run in hints: `agar resume RUN [--store DIR] [--shard I/N]`.
    pub(crate) resume_hint: String,
}

/// Runs what is left of `plan` (all of it for a new run; the shard's share
/// with `--shard`), then reports and gates: the one path of `agar audit`
/// and `agar resume`.
pub(crate) async fn go(
    store: Store,
    plan: RunPlan,
    opts: ResumeOptions,
    runtime: Runtime,
    report: Report,
) -> crate::Outcome {
    let prepared = agar_run::prepare(store, plan, opts)?;
    announce(&prepared);
    let failed_left = prepared.failed_left;
    let observer = Arc::new(Watcher { progress: Progress::new(prepared.jobs.len(), report.json) });
    let interrupt = spawn_interrupt_handler();
    let execution = Execution { prepared, runtime, interrupt };
    let executed = agar_run::execute(execution, observer.clone()).await;
    observer.progress.clear();
    let outcome = print_outcome(executed?, &report);
    failed_remain(failed_left, &report.resume_hint, outcome)
}

/// What this invocation takes on: a shard says its share and concurrency
/// (so shards sharing a key can be sized); a run with nothing left says so.
fn announce(p: &Prepared) {
    let run_id = &p.plan.run_id;
    if let Some(shard) = p.shard {
        let done = if p.finished > 0 {
            format!(", {} finished already", p.finished)
        } else {
            String::new()
        };
        eprint_line(&format!(
            "shard {shard}: {} of {} audits, concurrency {}{done}",
            p.share,
            p.plan.audits.len(),
            p.concurrency
        ));
        if p.jobs.is_empty() {
            eprintln!("nothing to run: every audit of shard {shard} of {run_id} is finished");
        }
    } else if p.jobs.is_empty() {
        eprintln!("nothing to resume: every audit of {run_id} is finished");
    }
}

/// The terminal's view of the run: the bar, and each audit's phase on it.
struct Watcher {
    progress: Progress,
}

impl agar_run::Observer for Watcher {
    fn started(&self, audit_id: &str, turns: u32) {
        self.progress.started();
        if let Some(board) = self.progress.board() {
            board.start(audit_id, turns);
        }
    }

    fn watch(
        &self,
        audit_id: &str,
        models: AuditModels,
        judge: Option<Arc<dyn ChatModel>>,
    ) -> (AuditModels, Option<Arc<dyn ChatModel>>) {
        match self.progress.board() {
            Some(board) => crate::phase::watch(models, judge, &board, audit_id),
            None => (models, judge),
        }
    }

    fn finished(&self, audit_id: &str, status: &AuditStatus) {
        if let Some(board) = self.progress.board() {
            board.end(audit_id);
        }
        self.progress.finished(status.state());
    }

    fn spent(&self, tokens: u64, cost_usd: Option<f64>) {
        self.progress.spent(tokens, cost_usd);
    }

    fn notice(&self, line: &str) {
        eprint_line(line);
    }
}

/// First Ctrl-C or SIGTERM: stop starting audits (running ones finish).
/// Second: exit now.
fn spawn_interrupt_handler() -> CancellationToken {
    let interrupt = CancellationToken::new();
    let token = interrupt.clone();
    tokio::spawn(async move {
        crate::signals::stop_requested().await;
        eprint_line(
            "interrupted: no new audits will start; running audits finish (Ctrl-C again to abort)",
        );
        token.cancel();
        crate::signals::stop_requested().await;
        eprint_line("aborted");
        std::process::exit(130);
    });
    interrupt
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

/// Prints the summary (JSON or a table) and what failed; applies the gates.
fn print_outcome(x: Executed, report: &Report) -> crate::Outcome {
    let run_id = x.plan.run_id.as_str();
    let summary = summarize_records(&x.share());
    let gate_result = crate::gates::gate_plan(&report.conditions, &x.plan, &summary);
    let (gates, gate_error) = crate::gates::for_json(&gate_result);
    let run_dir = x.store.run_dir(run_id);
    let warnings: Vec<String> = x
        .finished
        .iter()
        .flat_map(|f| f.warnings.iter().map(move |w| format!("{}: {w}", f.audit_id)))
        .collect();
    if report.json {
        let out = JsonSummary {
            run_id,
            run_dir: run_dir.display().to_string(),
            demonstration: x.view.record.is_demonstration(),
            not_started: x.not_started,
            stopped: if x.not_started == 0 { None } else { x.stopped.map(Stop::label) },
            summary: &summary,
            gates: &gates,
            warnings,
            gate_error,
        };
        let text = serde_json::to_string_pretty(&out)?;
        println!("{text}");
    } else {
        if x.view.record.is_demonstration() {
            println!("{}", agar_core::DEMONSTRATION_BANNER);
        }
        println!("run {run_id} ({})", run_dir.display());
        print!("{}", crate::term::clean(&summary.to_table(&catalogue(&x.store, &[run_id]))));
        for w in &warnings {
            println!("warning: {}", crate::term::clean(w));
        }
    }
    let failed: Vec<(&str, &str)> = x
        .finished
        .iter()
        .filter_map(|f| match &f.status {
            AuditStatus::Failed { cause } => Some((f.audit_id.as_str(), cause.as_str())),
            _ => None,
        })
        .collect();
    for (audit, cause) in &failed {
        eprintln!("audit {audit} failed: {}", crate::term::clean(cause));
    }
    let failed_count = failed.len();
    let Executed { lock, finished, total, not_started, stopped, .. } = x;
    drop(lock);
    let ended = Ended { finished, total, not_started, stopped };
    finish(&ended, failed_count, gate_result, report)
}

/// What [`finish`] decides the exit from.
struct Ended {
    finished: Vec<agar_run::Finished>,
    total: usize,
    not_started: usize,
    stopped: Option<Stop>,
}

/// The exit: store errors, then failed audits, then the gates, then a stop.
fn finish(
    x: &Ended,
    failed: usize,
    gate_result: Result<Vec<GateOutcome>, agar_report::GateBlock>,
    report: &Report,
) -> crate::Outcome {
    let total = x.total;
    let budget = x.stopped == Some(Stop::Budget);
    if x.not_started > 0 {
        let why = if budget { "the --max-cost budget was reached" } else { "interrupted" };
        eprintln!("{why}: {} of {total} audits were not started", x.not_started);
        eprintln!("interrupted; resume with: {}", report.resume_hint);
    }
    let store_errors: Vec<String> = x
        .finished
        .iter()
        .filter_map(|f| f.stored.as_ref().err().map(|e| format!("{}: {e}", f.audit_id)))
        .collect();
    if !store_errors.is_empty() {
        return Err(Failure::Run(format!("could not store audits: {}", store_errors.join("; "))));
    }
    if failed > 0 {
        eprintln!("retry the failed audits with: {} --retry-failed", report.resume_hint);
        return Err(Failure::Run(format!("{failed} of {total} audits failed")));
    }
    crate::gates::finish(&gate_result.map_err(crate::gates::blocked)?)?;
    if x.not_started > 0 {
        return Err(Failure::Run(if budget {
            "the run stopped at its --max-cost budget".into()
        } else {
            "the run was interrupted".into()
        }));
    }
    Ok(())
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

/// Opens (creating it if needed) the store at `dir` for a command that
/// writes runs: the one place `agar audit` and `agar judge` open a store.
pub(crate) fn store_for_writing(dir: &std::path::Path) -> Result<Store, Failure> {
    crate::merge::open_store(dir)
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
    if agar_store::check_audit_id(&safe)
        .is_err_and(|e| matches!(e, agar_store::StoreError::ReservedId(_)))
    {
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
        assert_eq!(audit_id("shard-1-of-2", 0, 1), "shard-1-of-2_");
    }
}
