//! `agar generate BEHAVIOUR.md --model MODEL --count N`: the behaviour file
//! to a folder of scenario files (see the agar-generate crate), with
//! progress on stderr, a summary (or `--json`) on stdout and the cost from
//! `agar.toml` prices. Also the behaviour file as a dimension, for
//! `--dimensions path/BEHAVIOUR.md`.

use std::path::{Path, PathBuf};

use agar_core::Dimension;
use agar_generate::{Event, GenerateSpec, Modality, Observer, Outcome, Plan};
use agar_models::{Env, ResolveSettings, resolve_with};
use agar_prompts::Prompts;
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::cost::Pricing;
use crate::exit::Failure;
use crate::progress::eprint_line;

pub(crate) const GENERATE_HELP: &str = "Examples:
  # 10 scenarios: 5 base scenarios with one variation each
  agar generate behaviours/flattery.md --model openai/gpt-4.1 --count 10 --diversity 0.5

  # agentic scenarios in French, from example transcripts, into a chosen folder
  agar generate BEHAVIOUR.md --model openai/gpt-4.1 --count 6 --modality agentic \\
      --language fr --examples examples/ --out scenarios/generated/

Then review and run them:
  agar check scenarios/generated/
  agar audit scenarios/generated/ --dimensions BEHAVIOUR.md --target openai/gpt-4.1-mini

BEHAVIOUR.md is Markdown: front matter `name` (snake_case; also the name of
the dimension that scores the behaviour), optional `dimensions` and `notes`;
the body describes the behaviour. --examples is a folder of stored agar
transcripts (*.json) or excerpts (*.txt, *.md).

Stage 1 writes OUT/understanding.md (the model's notes on the behaviour),
reused while the behaviour file and examples are unchanged. Stage 2 writes
N x D base scenarios, each with 1/D files (the base and its variations),
named NAME-bBB-vVV.md. Every file is validated like `agar check` before it is
written; an answer that fails is sent back with its errors (--attempts in
all), then reported. Near-duplicates (3-word-shingle Jaccard >= 0.7 with a
scenario already there) are dropped and counted. Files already in OUT are
kept: run again to fill what is missing. Exit 2 when some file could not be
written. With no model configured it uses local/smollm2 (a demonstration).";

/// `--modality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModalityFlag {
    /// The target only talks
    Conversation,
    /// The target acts with tools in a simulated world
    Agentic,
    /// The generating model chooses per scenario
    Mixed,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The behaviour file: front matter `name`, optional `dimensions` and `notes`; body: the description
    #[arg(value_name = "BEHAVIOUR.md")]
    pub(crate) behaviour: PathBuf,
    /// The model that writes the understanding and the scenarios
    #[arg(long, env = "AGAR_GENERATOR", value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// Scenario files to aim for (N)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) count: u32,
    /// D in (0, 1]: N x D base scenarios, each with 1/D files (itself and its variations)
    #[arg(long, default_value_t = 1.0, value_name = "D")]
    pub(crate) diversity: f64,
    /// Example transcripts (*.json) or excerpts (*.txt, *.md) that show the behaviour
    #[arg(long, value_name = "DIR")]
    pub(crate) examples: Option<PathBuf>,
    /// What kind of scenario to write
    #[arg(long, value_enum, default_value_t = ModalityFlag::Mixed, value_name = "KIND")]
    pub(crate) modality: ModalityFlag,
    /// The language the auditor speaks to the target (BCP 47, e.g. fr, pt-BR)
    #[arg(long, value_name = "LANG")]
    pub(crate) language: Option<String>,
    /// Where the files go (default: generated/NAME)
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Model calls at once
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) concurrency: u32,
    /// Answers asked for one file before it is reported as failed
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub(crate) attempts: u32,
    /// Print the outcome as JSON on stdout (progress stays on stderr)
    #[arg(long)]
    pub(crate) json: bool,
}

/// Progress lines on stderr.
struct Printer;

impl Observer for Printer {
    fn event(&self, event: &Event) {
        let line = match event {
            Event::Understanding { path, reused: true } => {
                format!("understanding: reused {} (its inputs are unchanged)", path.display())
            }
            Event::Understanding { path, reused: false } => {
                format!("understanding: wrote {}", path.display())
            }
            Event::Written { path, attempts: 1 } => format!("wrote {}", path.display()),
            Event::Written { path, attempts } => {
                format!(
                    "wrote {} (answer {attempts}: earlier ones failed validation)",
                    path.display()
                )
            }
            Event::Existing { path } => format!("kept {} (already there)", path.display()),
            Event::Duplicate { path, similar_to, similarity } => format!(
                "dropped {}: a near-duplicate of {} (similarity {similarity:.2})",
                path.display(),
                similar_to.display()
            ),
            Event::Failed { path, errors } => {
                format!("failed {}: {}", path.display(), errors.join("; "))
            }
            Event::Skipped { path, reason } => format!("skipped {}: {reason}", path.display()),
        };
        eprint_line(&line);
    }
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    #[serde(flatten)]
    outcome: &'a Outcome,
    cost_usd: Option<f64>,
}

pub(crate) async fn run(args: GenerateArgs) -> crate::Outcome {
    let (behaviour, warnings) =
        agar_scenario::read_behaviour(&args.behaviour).map_err(|diags| {
            for d in &diags {
                eprintln!("{d}");
            }
            Failure::InputReported
        })?;
    for w in &warnings {
        eprintln!("{w}");
    }
    let plan = Plan::new(args.count, args.diversity).map_err(Failure::Input)?;
    let language = match &args.language {
        Some(lang) => Some(
            agar_scenario::normalise_language(lang)
                .map_err(|e| Failure::Input(format!("--language: {e}")))?,
        ),
        None => None,
    };
    let examples = match &args.examples {
        Some(dir) => agar_generate::load_examples(dir)?,
        None => Vec::new(),
    };
    let (model, pricing) = resolve_single(
        args.model.as_deref(),
        "no generator model: pass --model MODEL or set AGAR_GENERATOR (e.g. openai/gpt-4.1)",
    )?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("generated").join(&behaviour.name));
    let spec = GenerateSpec {
        behaviour,
        examples,
        plan,
        modality: match args.modality {
            ModalityFlag::Conversation => Modality::Conversation,
            ModalityFlag::Agentic => Modality::Agentic,
            ModalityFlag::Mixed => Modality::Mixed,
        },
        language,
        out,
        concurrency: args.concurrency as usize,
        known_dimensions: agar_judge::library().iter().map(|d| d.name.clone()).collect(),
        attempts: args.attempts,
    };
    eprint_line(&format!(
        "generating {} files into {}: {} base scenarios x {} (the base and its variations), with {}",
        plan.total(),
        spec.out.display(),
        plan.bases,
        plan.per_base,
        model.name()
    ));
    let prompts = Prompts::new();
    let dimension_file = write_behaviour_dimension(&spec.behaviour, &prompts, &spec.out)?;
    eprint_line(&format!("dimension: {}", dimension_file.display()));
    let outcome = agar_generate::generate(model.as_ref(), &prompts, &spec, &Printer).await?;
    let cost = pricing.config.price(model.name()).map(|p| p.of(outcome.usage));
    if args.json {
        let text =
            serde_json::to_string_pretty(&JsonOutcome { outcome: &outcome, cost_usd: cost })?;
        println!("{text}");
    } else {
        print!("{}", summary(&outcome, cost, &args.behaviour));
    }
    if !outcome.failed.is_empty() {
        return Err(Failure::Run(format!(
            "{} of {} files could not be written (see above); run the same command again to retry them",
            outcome.failed.len(),
            plan.total()
        )));
    }
    Ok(())
}

/// The plain-text summary on stdout.
fn summary(o: &Outcome, cost: Option<f64>, behaviour: &Path) -> String {
    let reused = if o.understanding_reused { "reused" } else { "written" };
    let cost = cost.map_or_else(
        || format!("cost unknown (no price for {} in agar.toml)", o.model),
        |c| format!("cost ${c:.4}"),
    );
    format!(
        "{} ({} base scenarios x {}): {} written, {} already there, {} near-duplicates dropped, {} failed, {} skipped; {} answers retried\n\
         understanding {reused}: {}\n\
         tokens {} in / {} out, {cost}\n\
         next: agar check {} && agar audit {} --dimensions {}\n",
        o.out.display(),
        o.plan.bases,
        o.plan.per_base,
        o.written.len(),
        o.existing.len(),
        o.duplicates.len(),
        o.failed.len(),
        o.skipped.len(),
        o.retried,
        o.understanding.display(),
        o.usage.input_tokens,
        o.usage.output_tokens,
        o.out.display(),
        o.out.display(),
        behaviour.display(),
    )
}

/// Resolves the one model a command uses (`flag`), falling back to the local
/// model when nothing is configured (and saying so), with the prices of `agar.toml`.
pub(crate) fn resolve_single(
    flag: Option<&str>,
    missing: &str,
) -> Result<(std::sync::Arc<dyn agar_core::ChatModel>, Pricing), Failure> {
    let env = Env::from_process();
    let reference = match flag.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => match crate::roles::fallback(&[], &env) {
            Some(local) => {
                crate::roles::warn_fallback();
                local.to_string()
            }
            None => return Err(Failure::Input(missing.to_string())),
        },
    };
    let pricing = Pricing::load(&env)?;
    let settings = ResolveSettings::from_env(&env)?;
    let model = resolve_with(&reference, &env, &settings, &pricing.config)?;
    Ok((model, pricing))
}

/// Whether `path` is a behaviour file (for `--dimensions`).
pub(crate) fn is_behaviour_file(path: &Path) -> bool {
    path.is_file()
        && std::fs::read_to_string(path).is_ok_and(|text| {
            agar_scenario::file_kind(path, &text) == agar_scenario::FileKind::Behaviour
        })
}

/// The dimension a behaviour file stands for (see `agar_generate::behaviour_dimension`).
/// Writes the dimension that scores the behaviour as `OUT/dimensions/NAME.md`,
/// so the suite's own folder names every dimension its scenarios choose:
/// `agar check OUT` and `agar audit OUT` find it there (a file under a
/// `dimensions` folder is a dimension file). Rewritten on every run, so it
/// follows the behaviour file.
fn write_behaviour_dimension(
    behaviour: &agar_scenario::Behaviour,
    prompts: &Prompts,
    out: &Path,
) -> Result<PathBuf, Failure> {
    let d = agar_generate::behaviour_dimension(behaviour, prompts)?;
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let text = format!(
        "---\ndescription: {}\ntags: [{}]\n---\n{}\n",
        quoted(&d.description),
        d.tags.iter().map(|t| quoted(t)).collect::<Vec<_>>().join(", "),
        d.rubric
    );
    let dir = out.join("dimensions");
    let path = dir.join(format!("{}.md", d.name));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
    Ok(path)
}

pub(crate) fn behaviour_dimension(path: &Path) -> Result<Dimension, Failure> {
    let (behaviour, _) = agar_scenario::read_behaviour(path).map_err(|diags| {
        for d in &diags {
            eprintln!("{d}");
        }
        Failure::InputReported
    })?;
    Ok(agar_generate::behaviour_dimension(&behaviour, &Prompts::new())?)
}
