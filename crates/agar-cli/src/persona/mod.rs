//! `agar persona extract TRAIT --model local/M --judge MODEL`: the thin CLI
//! over agar-persona (which holds the method, the trait files and what is
//! stored). See docs/persona.md.

use std::path::PathBuf;

use agar_models::{Env, ResolveSettings, resolve_with};
use agar_persona::commands::{self, ExtractSpec};
use agar_persona::{LoadedTrait, PersonaError};
use clap::{Args, Subcommand};

use crate::cost::Pricing;
use crate::exit::Failure;
use crate::progress::eprint_line;

mod sweep;

pub(crate) const PERSONA_HELP: &str = "Examples:
  agar persona extract evil --model local/smollm2 --judge openai/gpt-4.1-mini
  agar persona extract sycophantic --model local/smollm2 --judge local/qwen2.5-coder-1.5b --limit 2
  agar persona extract my-trait.json --model local:/models/qwen2.5-7b-instruct-q4_k_m.gguf \\
      --judge anthropic/claude-sonnet-4-5 --output my-trait.safetensors --run my-trait
  agar persona extract evil --model local/smollm2 --judge openai/gpt-4.1-mini --run evil-1 --resume
  agar persona sweep evil.safetensors --model local/smollm2 --judge openai/gpt-4.1-mini --limit 2
  agar persona sweep evil.safetensors --model local/smollm2 --judge openai/gpt-4.1-mini \
      --layers 10,15,20 --coefs=-8,-4,0,4,8 --min-coherence 60 --run evil-sweep
  agar persona monitor evil.safetensors --layer 15 evil-1
  agar persona monitor evil.safetensors --layer 15 my-audit --model local/smollm2 --fail-if 'max>4'

TRAIT is a shipped trait (evil, sycophantic, hallucinating) or a trait file
(JSON, see docs/persona.md). Each extraction question is answered under both
instructions of every pair; the judge scores each answer's trait and
coherence (0-100); pairs where the trait answer scores at least 50 and the
opposite one below 50, both coherent, are kept; the vector at each layer is
the mean hidden state over the kept trait answers' tokens minus that of the
opposite answers. Every answer and score is stored as an ordinary run
(`agar show RUN`, `agar view`); --resume with the same --run skips what is
stored. `sweep` answers the trait's held-out evaluation questions with the
vector added at each --layers x --coefs cell (0: unsteered), judges trait and
coherence, prints and stores the table, and recommends the cell with the
largest trait shift from the baseline whose mean coherence stays at least
--min-coherence. `monitor` projects every target message of a stored run onto the
vector at one layer (h.v/|v|), before the message and averaged over it; with
a reader model other than the run's local target the figures are labelled a
proxy. On models of 135M-1.5B parameters this demonstrates the pipeline, not
the published findings (docs/persona.md).";

#[derive(Debug, Args)]
pub(crate) struct PersonaArgs {
    #[command(subcommand)]
    pub(crate) command: PersonaCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PersonaCommand {
    /// Extract a trait's vector from judged answers of a local model
    Extract(ExtractArgs),
    /// Steer held-out questions over layers x coefficients, judge, recommend
    Sweep(crate::persona::sweep::SweepArgs),
    /// Project every target message of a stored run onto a vector
    Monitor(MonitorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// The vector file (agar persona extract)
    #[arg(value_name = "VECTOR")]
    pub(crate) vector: PathBuf,
    /// The layer whose vector is used (0-based: the stream after block L)
    #[arg(long, value_name = "L")]
    pub(crate) layer: usize,
    /// The stored run
    #[arg(value_name = "RUN")]
    pub(crate) run: String,
    /// The local model that reads the transcripts (default: the run's target,
    /// when local); another model than the target is labelled a proxy
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Exit 3 when this holds: max>X, max>=X, mean>X or mean>=X over the
    /// messages' mean projections (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    /// A shipped trait (evil, sycophantic, hallucinating) or a trait file
    #[arg(value_name = "TRAIT")]
    pub(crate) trait_ref: String,
    /// The local model: local/NAME or local:/path/to/model.gguf
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: String,
    /// The judge: any model reference
    #[arg(long, value_name = "MODEL")]
    pub(crate) judge: String,
    /// Only the first N extraction questions (a smoke run)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Tokens per answer
    #[arg(long, default_value_t = 96, value_name = "N")]
    pub(crate) max_tokens: u32,
    /// The vector file to write (default: TRAIT.safetensors)
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Name of the run (default: persona-TRAIT-DATE-TIME)
    #[arg(long, value_name = "NAME")]
    pub(crate) run: Option<String>,
    /// Continue the run named by --run, skipping the answers it stored
    #[arg(long, requires = "run")]
    pub(crate) resume: bool,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
}

pub(crate) async fn run(args: PersonaArgs) -> crate::Outcome {
    match args.command {
        PersonaCommand::Extract(a) => extract(a).await,
        PersonaCommand::Sweep(a) => sweep::run(a).await,
        PersonaCommand::Monitor(a) => monitor(a).await,
    }
}

pub(super) fn failure(e: PersonaError) -> Failure {
    match e {
        PersonaError::Input(m) => Failure::Input(m),
        PersonaError::Run(m) | PersonaError::NothingKept(m) => Failure::Run(m),
    }
}

async fn extract(args: ExtractArgs) -> crate::Outcome {
    let t = LoadedTrait::load(&args.trait_ref).map_err(failure)?;
    let target = open_local(&args.model)?;
    let judge = resolve_judge(&args.judge)?;
    let store = agar_store::Store::open(&args.store).map_err(|e| Failure::Run(e.to_string()))?;
    let run_id = run_name(args.run.as_deref(), &t.file.name, "");
    let spec = ExtractSpec {
        trait_ref: args.trait_ref.clone(),
        trait_sha256: t.sha256.clone(),
        limit: args.limit,
        max_tokens: args.max_tokens,
        output: args
            .output
            .clone()
            .unwrap_or_else(|| format!("{}.safetensors", t.file.name).into()),
    };
    eprint_line(&format!(
        "run {run_id}: trait {} ({}), model {}, judge {}",
        t.file.name, t.origin, args.model, args.judge
    ));
    let report = commands::extract(
        &store,
        &run_id,
        &t,
        &spec,
        (&args.model, &target),
        (&args.judge, judge.as_ref()),
        args.resume,
        &progress,
    )
    .await
    .map_err(failure)?;
    let kept = report.outcomes.iter().filter(|o| o.kept).count();
    println!(
        "{}: {} answers ({} new), {kept} of {} pairs kept; {} layers of width {} written to {}",
        run_id,
        report.judged.len(),
        report.new_answers,
        report.outcomes.len(),
        report.vectors.layers.len(),
        report.vectors.meta.model.width,
        spec.output.display()
    );
    for o in report.outcomes.iter().filter(|o| !o.kept) {
        println!("  dropped q{:02}-p{}: {}", o.question_index, o.pair_index, o.reason);
    }
    Ok(())
}

/// Progress lines: `[done/total] what`.
pub(super) fn progress(done: usize, total: usize, what: &str) {
    eprint_line(&format!("[{done}/{total}] {what}"));
}

/// `--run` or `persona-NAME[-WHAT]-DATE-TIME`.
pub(super) fn run_name(given: Option<&str>, name: &str, what: &str) -> String {
    given.map(str::to_string).unwrap_or_else(|| {
        chrono::Utc::now().format(&format!("persona-{name}{what}-%Y%m%d-%H%M%S")).to_string()
    })
}

/// The judge: any model reference.
pub(super) fn resolve_judge(
    reference: &str,
) -> Result<std::sync::Arc<dyn agar_core::ChatModel>, Failure> {
    let env = Env::from_process();
    let pricing = Pricing::load(&env)?;
    let settings = ResolveSettings::from_env(&env).map_err(|e| Failure::Input(e.to_string()))?;
    resolve_with(reference, &env, &settings, &pricing.config)
        .map_err(|e| Failure::Input(e.to_string()))
}

/// The local-model settings of the environment.
pub(super) fn local_settings() -> Result<agar_local::LocalSettings, Failure> {
    agar_models::local::local_settings(&Env::from_process())
        .map_err(|e| Failure::Input(e.to_string()))
}

/// A local model by reference, with any `?steer=` applied.
pub(super) fn open_local(reference: &str) -> Result<agar_local::LocalModel, Failure> {
    let local = local_settings()?;
    let model = agar_local::LocalModels::new()
        .open_reference(reference, &local)
        .map_err(|e| Failure::Input(e.to_string()))?;
    match reference.split_once('?') {
        Some((_, query)) => {
            model.with_steer_query(query).map_err(|e| Failure::Input(e.to_string()))
        }
        None => Ok(model),
    }
}

async fn monitor(args: MonitorArgs) -> crate::Outcome {
    let store = crate::show::open_store(&args.store)?;
    let record = store.read_run(&args.run).map_err(|e| Failure::Input(e.to_string()))?;
    let target = record.models.get(&agar_core::RoleName::Target).cloned().unwrap_or_default();
    let reader_ref = match &args.model {
        Some(m) => m.clone(),
        None if target.starts_with("local") => target.clone(),
        None => {
            return Err(Failure::Input(format!(
                "the target of {} ({target}) is not a local model: name a local reader with --model (its figures are a proxy)",
                args.run
            )));
        }
    };
    let proxy = reader_ref != target;
    let reader = open_local(&reader_ref)?;
    let vector = agar_local::VectorFile::load_for(&args.vector, reader.engine())
        .map_err(|e| Failure::Input(e.to_string()))?;
    let report = agar_persona::monitor::monitor(
        &store,
        &args.run,
        &vector,
        args.layer,
        (&reader_ref, &reader),
        proxy,
    )
    .await
    .map_err(failure)?;
    let label = if proxy { " (proxy: read by another model than the target)" } else { "" };
    println!(
        "{}: {} target message(s), vector {} at layer {}, reader {reader_ref}{label}",
        args.run,
        report.messages.len(),
        report.vector,
        report.layer
    );
    println!("{:<24} {:>5} {:>10} {:>10} {:>7}", "audit", "msg", "before", "mean", "tokens");
    for m in &report.messages {
        let mean = m.mean.map_or("-".to_string(), |x| format!("{x:.3}"));
        println!(
            "{:<24} {:>5} {:>10.3} {:>10} {:>7}",
            m.audit_id, m.message, m.before, mean, m.tokens
        );
    }
    eprint_line(&format!("projections stored in {}", report.path(&store).display()));
    let mut held = false;
    for c in &args.fail_if {
        if agar_persona::monitor::check(&report, c).map_err(failure)? {
            eprint_line(&format!("--fail-if {c}: holds"));
            held = true;
        }
    }
    if held { Err(Failure::Gate) } else { Ok(()) }
}
