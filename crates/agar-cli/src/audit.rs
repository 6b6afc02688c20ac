//! `agar audit`: resolve scenarios, models and dimensions; run the audits
//! concurrently; judge and store each as it finishes; summarise and gate.

use std::collections::BTreeMap;
use std::sync::Arc;

use agar_audit::{AuditIds, AuditModels, AuditSettings, run_audit, runner::run_bounded};
use agar_core::{
    AuditStatus, ChatModel, Dimension, RoleName, RunRecord, RunScenario, RunSettings, Scenario,
};
use agar_judge::{JudgeSettings, judge_transcript};
use agar_models::{Env, ResolveSettings, resolve};
use agar_prompts::Prompts;
use agar_report::{Condition, RunSummary, summarize};
use agar_store::Store;
use chrono::Utc;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::cli::AuditArgs;
use crate::dimensions;
use crate::exit::Failure;

/// One audit to run.
struct Job {
    scenario: Arc<Scenario>,
    dimensions: Arc<Vec<Dimension>>,
    audit_id: String,
    repeat: u32,
}

/// Everything an audit task needs, shared by all of them.
struct Shared {
    run_id: String,
    models: AuditModels,
    judge: Option<Arc<dyn ChatModel>>,
    settings: AuditSettings,
    judge_settings: JudgeSettings,
    prompts: Prompts,
    store: Store,
}

/// What one finished audit reports back.
struct Finished {
    audit_id: String,
    status: AuditStatus,
    stored: Result<(), String>,
}

#[derive(Serialize)]
struct GateResult {
    condition: String,
    value: Option<f64>,
    held: bool,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    run_id: &'a str,
    run_dir: String,
    not_started: usize,
    summary: &'a RunSummary,
    gates: Vec<GateResult>,
}

pub(crate) async fn run(args: AuditArgs) -> crate::Outcome {
    let conditions = args
        .fail_if
        .iter()
        .map(|s| s.parse::<Condition>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Input(e.to_string()))?;
    for p in &args.paths {
        if !p.exists() {
            return Err(Failure::Input(format!("{}: no such file or directory", p.display())));
        }
    }
    let scenarios = agar_scenario::load_scenarios(&args.paths).map_err(|diags| {
        for d in &diags {
            eprintln!("{d}");
        }
        Failure::InputReported
    })?;
    if scenarios.is_empty() {
        return Err(Failure::Input("no scenario files found in the given paths".into()));
    }
    let choice = dimensions::from_flags(&args.dimensions)?;
    let run_dims = &choice.run;

    let env = Env::from_process();
    let resolve_settings = ResolveSettings::default();
    let model =
        |flag: &Option<String>, role: &str, var: &str| -> Result<Arc<dyn ChatModel>, Failure> {
            let reference = flag.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
            Failure::Input(format!(
                "no {role} model: pass --{role} MODEL or set {var} (e.g. openai/gpt-4.1-mini)"
            ))
        })?;
            resolve(reference, &env, &resolve_settings).map_err(|e| Failure::Input(e.to_string()))
        };
    let target = model(&args.target, "target", "AGAR_TARGET")?;
    let auditor = model(&args.auditor, "auditor", "AGAR_AUDITOR")?;
    let judge = if args.no_judge { None } else { Some(model(&args.judge, "judge", "AGAR_JUDGE")?) };
    let environment = match args.environment.as_deref().map(str::trim) {
        Some("auditor") => None,
        Some(reference) if !reference.is_empty() => Some(model(&args.environment, "environment", "AGAR_ENVIRONMENT")?),
        _ => Some(auditor.clone()),
    };
    let realism = match &args.realism {
        Some(_) => Some(model(&args.realism, "realism", "AGAR_REALISM")?),
        None => None,
    };
    if !(0.0..=1.0).contains(&args.realism_threshold) {
        return Err(Failure::Input(format!(
            "--realism-threshold must be between 0 and 1, not {}",
            args.realism_threshold
        )));
    }

    let store = Store::open(&args.store).map_err(|e| Failure::Input(e.to_string()))?;
    let run_id = match &args.run {
        Some(name) => name.clone(),
        None => Utc::now().format("run-%Y%m%d-%H%M%S").to_string(),
    };
    let mut models = BTreeMap::new();
    models.insert(RoleName::Target, target.name().to_string());
    models.insert(RoleName::Auditor, auditor.name().to_string());
    if let Some(j) = &judge {
        models.insert(RoleName::Judge, j.name().to_string());
    }
    if let Some(e) = &environment {
        models.insert(RoleName::Environment, e.name().to_string());
    }
    if let Some(r) = &realism {
        models.insert(RoleName::Realism, r.name().to_string());
    }

    let mut jobs = Vec::new();
    let mut run_scenarios = Vec::new();
    for s in scenarios {
        let dims = choice
            .for_scenario(&s.dimensions)
            .map_err(|e| Failure::Input(format!("{}: {e}", s.path.display())))?;
        let repeats = s.repeats.unwrap_or(args.repeats).max(1);
        run_scenarios.push(RunScenario {
            id: s.id.clone(),
            path: s.path.display().to_string(),
            sha256: s.sha256.clone(),
            repeats,
        });
        let scenario = Arc::new(s);
        let dims = Arc::new(dims);
        for repeat in 0..repeats {
            let audit_id = audit_id(&scenario.id, repeat, repeats);
            jobs.push(Job {
                scenario: scenario.clone(),
                dimensions: dims.clone(),
                audit_id,
                repeat,
            });
        }
    }
    let record = RunRecord {
        schema_version: agar_core::SCHEMA_VERSION,
        run_id: run_id.clone(),
        created_at: Utc::now(),
        agar_version: env!("CARGO_PKG_VERSION").to_string(),
        models,
        settings: RunSettings {
            max_turns: args.max_turns,
            concurrency: args.concurrency,
            repeats: args.repeats,
            judge: judge.is_some(),
            dimensions: run_dims.iter().map(|d| d.name.clone()).collect(),
        },
        scenarios: run_scenarios,
        prompt_hashes: Prompts::hashes().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    };
    let run_dir = store.create_run(&record).map_err(|e| match e {
        agar_store::StoreError::RunExists(_) => Failure::Input(format!(
            "run {run_id:?} already exists in {}; choose another --run name",
            store.root().display()
        )),
        other => Failure::Input(other.to_string()),
    })?;
    let total = jobs.len();
    tracing::info!(run = %run_id, audits = total, dir = %run_dir.display(), "run started");

    let cancel = CancellationToken::new();
    spawn_interrupt_handler(cancel.clone());
    let shared = Arc::new(Shared {
        run_id: run_id.clone(),
        models: AuditModels { auditor, target, environment, realism },
        judge,
        settings: AuditSettings {
            max_turns: args.max_turns,
            max_target_replies: args.max_target_turns,
            token_budget: args.max_tokens,
            realism_threshold: args.realism_threshold,
            ..AuditSettings::default()
        },
        judge_settings: JudgeSettings::with_samples(args.judge_samples),
        prompts: Prompts::new(),
        store: store.clone(),
    });
    let (finished, skipped) = run_bounded(jobs, args.concurrency as usize, cancel, |job| {
        let shared = shared.clone();
        async move { run_one(&shared, job).await }
    })
    .await;

    let mut store_errors = Vec::new();
    for f in &finished {
        if let Err(e) = &f.stored {
            store_errors.push(format!("{}: {e}", f.audit_id));
        }
    }
    let failed: Vec<&Finished> =
        finished.iter().filter(|f| matches!(f.status, AuditStatus::Failed { .. })).collect();

    let transcripts = store.transcripts(&run_id).map_err(|e| Failure::Run(e.to_string()))?;
    let summary = summarize(&transcripts);
    let gates: Vec<GateResult> = conditions
        .iter()
        .map(|c| GateResult {
            condition: c.to_string(),
            value: c.value(&summary),
            held: c.holds(&summary),
        })
        .collect();
    if args.json {
        let out = JsonSummary {
            run_id: &run_id,
            run_dir: run_dir.display().to_string(),
            not_started: skipped.len(),
            summary: &summary,
            gates,
        };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        println!("run {run_id} ({})", run_dir.display());
        print!("{}", summary.to_table());
        for g in &gates {
            if g.held {
                println!("FAILED --fail-if {} (value {})", g.condition, fmt_value(g.value));
            }
        }
    }
    for f in &failed {
        if let AuditStatus::Failed { cause } = &f.status {
            eprintln!("audit {} failed: {cause}", f.audit_id);
        }
    }
    if !skipped.is_empty() {
        eprintln!("interrupted: {} of {total} audits were not started", skipped.len());
    }
    if !store_errors.is_empty() {
        return Err(Failure::Run(format!("could not store audits: {}", store_errors.join("; "))));
    }
    if !failed.is_empty() {
        return Err(Failure::Run(format!("{} of {total} audits failed", failed.len())));
    }
    if gates_held(&conditions, &summary) {
        return Err(Failure::Gate);
    }
    if !skipped.is_empty() {
        return Err(Failure::Run("the run was interrupted".into()));
    }
    Ok(())
}

fn gates_held(conditions: &[Condition], summary: &RunSummary) -> bool {
    conditions.iter().any(|c| c.holds(summary))
}

fn fmt_value(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into())
}

/// `scenario` for a single audit, `scenario.N` (1-based) for repeats; made
/// safe as a file name.
fn audit_id(scenario_id: &str, repeat: u32, repeats: u32) -> String {
    let safe: String = scenario_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.').to_string();
    if repeats <= 1 { safe } else { format!("{safe}.{}", repeat + 1) }
}

async fn run_one(shared: &Shared, job: Job) -> Finished {
    let ids = AuditIds {
        run_id: shared.run_id.clone(),
        audit_id: job.audit_id.clone(),
        repeat: job.repeat,
    };
    let mut transcript =
        run_audit(&job.scenario, &shared.models, &shared.settings, &shared.prompts, ids).await;
    if let Some(judge) = &shared.judge
        && transcript.status == AuditStatus::Done
    {
        transcript.models.insert(RoleName::Judge, judge.name().to_string());
        let verdict = judge_transcript(
            &transcript,
            &job.dimensions,
            judge.as_ref(),
            &shared.prompts,
            &shared.judge_settings,
        )
        .await;
        transcript.verdicts.push(verdict);
    }
    let status = transcript.status.clone();
    let store = shared.store.clone();
    let stored =
        tokio::task::spawn_blocking(move || store.write_transcript(&transcript).map(|_| ()))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
    match &stored {
        Ok(()) => tracing::info!(audit = %job.audit_id, status = status.label(), "audit stored"),
        Err(e) => tracing::error!(audit = %job.audit_id, "could not store the audit: {e}"),
    }
    Finished { audit_id: job.audit_id, status, stored }
}

/// First Ctrl-C: stop starting audits (running ones finish). Second: exit now.
fn spawn_interrupt_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "interrupted: no new audits will start; running audits finish (Ctrl-C again to abort)"
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("aborted");
            std::process::exit(130);
        }
    });
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
    }
}
