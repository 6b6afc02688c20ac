//! `agar audit`: resolve scenarios, models and dimensions; write the run's
//! plan; then take the path `agar resume` takes (see [`crate::run`]): the
//! audits run concurrently, each judged and stored as it finishes; summarise
//! and gate. With `--shard I/N` every shard writes the whole plan (the same
//! one: an existing run's plan must match) and runs only its share.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use agar_core::run::AuditorGuidance;
use agar_core::{Dimension, RunRecord, RunScenario, RunSettings, Scenario};
use agar_models::Env;
use agar_report::parse_conditions;
use agar_run::{ResumeOptions, RoleModels, Runtime, Shard};
use agar_store::{PlanSettings, PlannedAudit, RunPlan};
use chrono::Utc;

use crate::cli::AuditArgs;
use crate::cost::Pricing;
use crate::dimensions::{self, DimensionChoice};
use crate::exit::Failure;
use crate::run::audit_id;

pub(crate) async fn run(args: AuditArgs) -> crate::Outcome {
    let conditions = parse_conditions(&args.fail_if, false)?;
    check_max_cost(args.max_cost)?;
    let env = Env::from_process();
    let shard = args.shard.as_deref().map(|s| crate::resume::shard_flag(s, &env)).transpose()?;
    let (scenarios, mut choice) = load(&args)?;
    let mut settings = plan_settings(&args, &env)?;
    let pricing = Pricing::load(&env)?;
    settings.sampling = role_sampling(&args, &settings, &pricing.config)?;
    let resolve_settings = agar_run::models::resolve_settings(&env)?;
    let prompts = load_prompts(&args, &pricing.config, &mut settings)?;
    let models =
        agar_run::models::resolve_models(&settings, &env, &resolve_settings, &pricing.config)?;
    let demonstration = guide(&args, &mut settings, &mut choice, &models, &pricing.config);

    let store = crate::run::store_for_writing(&args.store)?;
    let run_id = match &args.run {
        Some(name) => name.clone(),
        None => Utc::now().format("run-%Y%m%d-%H%M%S").to_string(),
    };
    let planned = plan_audits(&args, scenarios, &choice, &settings)?;
    let record = RunRecord {
        schema_version: agar_core::SCHEMA_VERSION,
        run_id: run_id.clone(),
        created_at: Utc::now(),
        agar_version: env!("CARGO_PKG_VERSION").to_string(),
        models: models.names(),
        settings: run_settings(&args, &settings, &models, &choice),
        scenarios: planned.run_scenarios,
        prompt_hashes: prompts
            .template_hashes()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        demonstration,
    };
    let plan = RunPlan {
        schema_version: agar_store::plan::PLAN_VERSION,
        run_id: run_id.clone(),
        settings,
        dimensions: planned.dimensions,
        audits: planned.audits,
    };
    crate::gates::check_plan(&conditions, &plan)?;
    let resume_hint = resume_hint(&run_id, &args.store, shard);
    agar_run::start::create_run(&store, &record, &plan, shard.is_some(), &resume_hint)?;
    let opts = ResumeOptions {
        shard,
        limits: args.limits.get(),
        preloaded: planned.scenarios,
        ..ResumeOptions::default()
    };
    let runtime = Runtime { models, resolve_settings, pricing, prompts };
    let report = crate::run::Report { conditions, json: args.json, resume_hint };
    crate::run::go(store, plan, opts, runtime, report).await
}

/// The scenarios selected by the paths and filters, checked, and the
/// dimension choice they are judged with.
fn load(args: &AuditArgs) -> Result<(Vec<Scenario>, DimensionChoice), Failure> {
    for p in &args.paths {
        if !p.exists() {
            return Err(Failure::Input(format!("{}: no such file or directory", p.display())));
        }
    }
    let paths = crate::scenarios::select(&args.paths, &args.filter, false, &args.limits.get())?;
    let (scenarios, warnings) = agar_scenario::load_scenarios_with(&paths, &args.limits.get())
        .map_err(|diags| {
            for d in &diags {
                eprintln!("{d}");
            }
            Failure::InputReported
        })?;
    for d in &warnings {
        eprintln!("{d}");
    }
    if scenarios.is_empty() {
        return Err(Failure::Input("no scenario files found in the given paths".into()));
    }
    crate::limits::check_plan(
        scenarios.iter().map(|s| (s.path.as_path(), args.repeats.or(s.repeats).unwrap_or(1))),
    )
    .map_err(Failure::Input)?;
    let mut choice = dimensions::from_flags(&args.dimensions)?;
    // Dimension files inside the scenario folders (a generated suite's
    // `dimensions/`) are names its scenarios may choose, as `agar check` sees them.
    choice.add_to_pool(agar_scenario::check_paths_with(&paths, &args.limits.get()).dimensions);
    // The same check `agar check` makes, with the same messages.
    let problems = dimensions::scenario_dimension_errors(&scenarios, &choice);
    if !problems.is_empty() {
        for d in &problems {
            eprintln!("{d}");
        }
        return Err(Failure::InputReported);
    }
    Ok((scenarios, choice))
}

/// The plan's settings from the flags (and the role variables); sampling,
/// guidance and the prompt directory are filled in once models are known.
fn plan_settings(args: &AuditArgs, env: &Env) -> Result<PlanSettings, Failure> {
    let fallback = crate::roles::fallback(
        &[&args.target, &args.auditor, &args.judge, &args.environment, &args.realism],
        env,
    );
    let reference = |flag: &Option<String>, role: &str, var: &str| -> Result<String, Failure> {
        let set = flag.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        set.or_else(|| fallback.inspect(|_| crate::roles::warn_fallback()).map(str::to_string))
            .ok_or_else(|| {
                Failure::Input(format!(
                    "no {role} model: pass --{role} MODEL or set {var} (e.g. openai/gpt-4.1-mini)"
                ))
            })
    };
    let target = reference(&args.target, "target", "AGAR_TARGET")?;
    let auditor = reference(&args.auditor, "auditor", "AGAR_AUDITOR")?;
    let judge =
        if args.no_judge { None } else { Some(reference(&args.judge, "judge", "AGAR_JUDGE")?) };
    let environment = match args.environment.as_deref().map(str::trim) {
        Some("auditor") => None,
        Some(r) if !r.is_empty() => Some(r.to_string()),
        _ => Some(auditor.clone()),
    };
    let realism =
        args.realism.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(String::from);
    if !(0.0..=1.0).contains(&args.realism_threshold) {
        return Err(Failure::Input(format!(
            "--realism-threshold must be between 0 and 1, not {}",
            args.realism_threshold
        )));
    }
    Ok(PlanSettings {
        target,
        auditor,
        judge,
        environment,
        realism,
        realism_threshold: args.realism_threshold,
        max_turns: args.max_turns.unwrap_or(crate::cli::DEFAULT_MAX_TURNS),
        max_turns_wins: args.max_turns.is_some(),
        // Resolved once agar.toml is read.
        sampling: BTreeMap::new(),
        max_target_turns: args.max_target_turns,
        max_tokens: args.max_tokens,
        judge_samples: args.judge_samples,
        concurrency: args.concurrency,
        max_cost: args.max_cost,
        cache: args.cache,
        // Resolved once the auditor's model is known.
        auditor_guidance: AuditorGuidance::Free,
        max_unverified_share: args.max_unverified_share,
        turn_cap: None,
        prompts_dir: None,
    })
}

/// The auditor's guidance, and a demonstration run's caps (a few turns,
/// the demonstration dimensions) unless flags say otherwise; whether the
/// run is a demonstration.
fn guide(
    args: &AuditArgs,
    settings: &mut PlanSettings,
    choice: &mut DimensionChoice,
    models: &RoleModels,
    config: &agar_models::Config,
) -> bool {
    let local_auditor =
        is_local(models.auditor.name()) || crate::demo::is_local_model(&settings.auditor, config);
    settings.auditor_guidance = args.auditor_guidance.resolve(local_auditor);
    let demonstration = crate::demo::is_demonstration(&models.names(), config);
    if demonstration && args.max_turns.is_none() {
        settings.turn_cap = Some(crate::demo::LOCAL_TURNS);
    }
    if demonstration && args.dimensions.is_empty() {
        choice.run = crate::demo::default_dimensions();
        choice.core = false;
    }
    if settings.auditor_guidance == AuditorGuidance::Guided {
        tracing::info!(
            auditor = models.auditor.name(),
            "the auditor is guided: the loop picks each turn's tool and the auditor writes its content"
        );
    }
    demonstration
}

/// The run's settings as `run.json` records them.
fn run_settings(
    args: &AuditArgs,
    settings: &PlanSettings,
    models: &RoleModels,
    choice: &DimensionChoice,
) -> RunSettings {
    RunSettings {
        max_turns: settings.turn_cap.map_or(settings.max_turns, |cap| settings.max_turns.min(cap)),
        sampling: settings.sampling.clone(),
        concurrency: args.concurrency,
        repeats: args.repeats.unwrap_or(1),
        judge: models.judge.is_some(),
        dimensions: choice.run.iter().map(|d| d.name.clone()).collect(),
        auditor_guidance: settings.auditor_guidance,
        max_unverified_share: args.max_unverified_share,
    }
}

/// The audits of a new run, in the order they start.
struct Planned {
    run_scenarios: Vec<RunScenario>,
    audits: Vec<PlannedAudit>,
    /// Every dimension some audit is judged on.
    dimensions: Vec<Dimension>,
    /// The scenarios as read, by the plan's `scenario_path`.
    scenarios: BTreeMap<String, Arc<Scenario>>,
}

/// Every scenario's audits (its repeats), with its dimensions.
fn plan_audits(
    args: &AuditArgs,
    scenarios: Vec<Scenario>,
    choice: &DimensionChoice,
    settings: &PlanSettings,
) -> Result<Planned, Failure> {
    let mut planned = Planned {
        run_scenarios: Vec::new(),
        audits: Vec::new(),
        dimensions: Vec::new(),
        scenarios: BTreeMap::new(),
    };
    let mut all_dims: BTreeMap<String, Dimension> = BTreeMap::new();
    for s in scenarios {
        let dims = choice
            .for_scenario(&s.dimensions)
            .map_err(|e| Failure::Input(format!("{}: {e}", s.path.display())))?;
        for d in &dims {
            all_dims.entry(d.name.clone()).or_insert_with(|| d.clone());
        }
        let repeats = args.repeats.or(s.repeats).unwrap_or(1).max(1);
        let path: PathBuf = std::path::absolute(&s.path).unwrap_or_else(|_| s.path.clone());
        let turns = args.max_turns.unwrap_or(s.max_turns.unwrap_or(crate::cli::DEFAULT_MAX_TURNS));
        planned.run_scenarios.push(RunScenario {
            id: s.id.clone(),
            path: s.path.display().to_string(),
            sha256: s.sha256.clone(),
            repeats,
            generated: s.generated.clone(),
            max_turns: Some(settings.turn_cap.map_or(turns, |cap| turns.min(cap))),
        });
        for repeat in 0..repeats {
            planned.audits.push(PlannedAudit {
                audit_id: audit_id(&s.id, repeat, repeats),
                scenario_id: s.id.clone(),
                scenario_path: path.display().to_string(),
                scenario_sha256: s.sha256.clone(),
                repeat,
                dimensions: dims.iter().map(|d| d.name.clone()).collect(),
            });
        }
        planned.scenarios.insert(path.display().to_string(), Arc::new(s));
    }
    planned.dimensions = all_dims.into_values().collect();
    Ok(planned)
}

/// Whether a resolved model name is a local model's (`local/NAME`, `local:PATH`).
fn is_local(name: &str) -> bool {
    agar_core::is_demonstration_model(name)
}

/// The sampling of every role, from the flags, `agar.toml` and the roles'
/// defaults (the judge's temperature follows `--judge-samples`).
fn role_sampling(
    args: &AuditArgs,
    settings: &PlanSettings,
    config: &agar_models::Config,
) -> Result<BTreeMap<String, agar_core::Sampling>, Failure> {
    let mut models = BTreeMap::from([
        ("target", settings.target.as_str()),
        ("auditor", settings.auditor.as_str()),
        ("environment", settings.environment.as_deref().unwrap_or(settings.auditor.as_str())),
    ]);
    if let Some(judge) = &settings.judge {
        models.insert("judge", judge.as_str());
    }
    if let Some(realism) = &settings.realism {
        models.insert("realism", realism.as_str());
    }
    let judge = agar_judge::JudgeSettings::with_samples(settings.judge_samples).sampling;
    let local =
        |role: &str| models.get(role).is_some_and(|m| crate::demo::is_local_model(m, config));
    crate::sampling::resolve(&args.sampling, config, &models, |role| {
        let mut defaults = crate::sampling::default_sampling(role);
        if local(role) {
            // The embedded engine sizes its own answers (256 tokens of text,
            // a schema-bounded budget for a forced call): a small model
            // given 2,048 tokens rambles to the cap on every reply.
            defaults.max_tokens = None;
        }
        if role == "judge" {
            agar_core::Sampling { max_tokens: defaults.max_tokens, ..judge.clone() }
        } else {
            defaults
        }
    })
}

/// The templates to run with (`--prompts`, else `[prompts] dir`); the
/// directory goes into the plan (absolute when it can be made so), so
/// `agar resume` uses the same.
fn load_prompts(
    args: &AuditArgs,
    config: &agar_models::Config,
    settings: &mut PlanSettings,
) -> Result<agar_prompts::Prompts, Failure> {
    let dir = args.prompts.as_deref().or(config.prompts_dir.as_deref());
    let prompts = crate::prompts::load(dir)?;
    settings.prompts_dir = dir
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()).display().to_string());
    Ok(prompts)
}

/// `agar resume RUN`, with `--store DIR` unless the store is the default,
/// and `--shard I/N` for a shard.
pub(crate) fn resume_hint(run_id: &str, store: &std::path::Path, shard: Option<Shard>) -> String {
    let mut hint = format!("agar resume {run_id}");
    if store != std::path::Path::new("transcripts") {
        hint.push_str(&format!(" --store {}", store.display()));
    }
    if let Some(shard) = shard {
        hint.push_str(&format!(" --shard {shard}"));
    }
    hint
}

/// `--max-cost`: a positive number of USD.
pub(crate) fn check_max_cost(max_cost: Option<f64>) -> Result<(), Failure> {
    match max_cost {
        Some(max) if !(max.is_finite() && max > 0.0) => {
            Err(Failure::Input(format!("--max-cost must be a positive number of USD, not {max}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use agar_core::run::AuditorGuidance;

    use super::is_local;
    use crate::cli::GuidanceFlag;

    #[test]
    fn auto_guides_local_auditors_only() {
        assert!(is_local("local/smollm2") && is_local("local:/m.gguf"));
        assert!(!is_local("openai/local-llama") && !is_local("localhost/x"));
        assert_eq!(GuidanceFlag::Auto.resolve(true), AuditorGuidance::Guided);
        assert_eq!(GuidanceFlag::Auto.resolve(false), AuditorGuidance::Free);
        assert_eq!(GuidanceFlag::Free.resolve(true), AuditorGuidance::Free);
        assert_eq!(GuidanceFlag::Guided.resolve(false), AuditorGuidance::Guided);
    }
}
