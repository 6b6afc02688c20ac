//! `agar survey FILE --model MODEL`: a cross-national opinion audit. The
//! dataset (GlobalOpinionQA format, supplied by the user) is read by
//! agar-survey; each question (in cross-national mode, each question and
//! country) is put to the model, its distribution over the option letters
//! stored as one item of an ordinary run; the figures (per-country
//! similarity with bootstrap intervals) are computed from the stored items
//! by `agar show`, `agar compare`, `agar report` and `--fail-if`.
//!
//! - `record`: the run's files; `ask`: one item put to the model;
//!   `plan`: which items a run asks; `figures`: tables, gates, CSV and HTML.

mod ask;
mod figures;
mod plan;
mod record;

use std::path::PathBuf;
use std::sync::Arc;

use agar_core::{AuditState, ChatModel};
use agar_models::{Env, ResolveSettings, resolve_with};
use agar_survey::{DEFAULT_MIN_MASS, Method, Prompting};
use clap::{Args, ValueEnum};
use futures::StreamExt;

use self::ask::{AskSettings, Item, ask};
pub(crate) use self::figures::{compare, report, show};
use self::record::SurveySpec;
pub(crate) use self::record::is_survey;
use crate::cost::Pricing;
use crate::exit::Failure;
use crate::progress::{Progress, eprint_line};
use crate::show::open_store;

pub(crate) const SURVEY_HELP: &str = "Examples:
  agar survey global_opinions.csv --model openai/gpt-4.1-mini --limit 50
  agar survey global_opinions.csv --model local/smollm2 --countries Germany,Japan
  agar survey global_opinions.csv --model anthropic/claude-sonnet-4-5 \\
      --method sample --samples 10 --run claude-default
  agar survey global_opinions.csv --model openai/gpt-4.1-mini \\
      --prompting cross-national --countries Germany,Nigeria --run gpt-cross
  agar survey global_opinions.csv --model openai/gpt-4.1-mini \\
      --prompting linguistic --translations questions.de.json
  agar survey global_opinions.csv --model openai/gpt-4.1-mini \\
      --fail-if 'similarity.Germany<0.7' --fail-if 'gap.United States.Nigeria>0.1'

FILE is the GlobalOpinionQA CSV (columns question, selections, options,
source), which you download yourself under its own licence: agar does not
ship it (see docs/survey.md). Each question's option letters get a
probability from the model: by default from the next token's
log-probabilities (OpenAI-compatible servers, local models); with --method
sample from --samples answers at temperature 1 (Anthropic). A question whose
letters get less than --min-mass is invalid and counted. Similarity per
country is the mean over its questions of 1 - Jensen-Shannon distance (log
base 2), with a bootstrap interval. Each item is stored as soon as it is
answered; `agar resume RUN` asks only the rest; `agar show RUN`, `agar
compare A B` and `agar report RUN --format html|csv` read the figures.";

/// `--prompting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PromptingFlag {
    /// The question as it is
    Default,
    /// "How would someone from COUNTRY answer...", once per --countries entry
    CrossNational,
    /// The question translated, from --translations FILE
    Linguistic,
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MethodFlag {
    /// The next token's log-probabilities (one call per item)
    Logprobs,
    /// --samples answers at temperature 1, the letters counted
    Sample,
}

#[derive(Debug, Args)]
pub(crate) struct SurveyArgs {
    /// The dataset: a CSV in the GlobalOpinionQA format
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The model under test, e.g. openai/gpt-4.1-mini or local/smollm2
    #[arg(long, env = "AGAR_TARGET", value_name = "MODEL")]
    pub(crate) model: String,
    /// How questions are put to the model
    #[arg(long, value_enum, default_value_t = PromptingFlag::Default, value_name = "MODE")]
    pub(crate) prompting: PromptingFlag,
    /// Countries to report (and, cross-national, to ask as), comma-separated
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub(crate) countries: Vec<String>,
    /// The translations of the linguistic mode (JSON, see docs/survey.md)
    #[arg(long, value_name = "FILE")]
    pub(crate) translations: Option<PathBuf>,
    /// Only questions from this survey: GAS (Pew Global Attitudes) or WVS
    #[arg(long, value_name = "GAS|WVS")]
    pub(crate) source: Option<String>,
    /// Only the first N questions (after --source and --countries)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// How the model's distribution is read
    #[arg(long, value_enum, default_value_t = MethodFlag::Logprobs, value_name = "METHOD")]
    pub(crate) method: MethodFlag,
    /// Answers sampled per item with --method sample
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) samples: u32,
    /// Below this probability on the option letters a question is invalid
    #[arg(long, default_value_t = DEFAULT_MIN_MASS, value_name = "P")]
    pub(crate) min_mass: f64,
    /// Items asked at once
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) concurrency: u32,
    /// Name of the run (default: survey-DATE-TIME)
    #[arg(long, value_name = "NAME")]
    pub(crate) run: Option<String>,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// Exit 3 when this holds, e.g. 'similarity.Germany<0.7' (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// Print the figures as JSON on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(args: SurveyArgs) -> crate::Outcome {
    let conditions = agar_survey::parse_conditions(&args.fail_if, false)?;
    if !(0.0..=1.0).contains(&args.min_mass) {
        return Err(Failure::Input(format!(
            "--min-mass must be between 0 and 1, not {}",
            args.min_mass
        )));
    }
    let method = match args.method {
        MethodFlag::Logprobs => Method::Logprobs,
        MethodFlag::Sample => Method::Sample,
    };
    let prompting = match args.prompting {
        PromptingFlag::Default => Prompting::Default,
        PromptingFlag::CrossNational => Prompting::CrossNational,
        PromptingFlag::Linguistic => Prompting::Linguistic,
    };
    let mut spec = SurveySpec {
        dataset: args.file.clone(),
        dataset_sha256: record::sha256_file(&args.file)?,
        prompting,
        method,
        samples: (method == Method::Sample).then_some(args.samples),
        temperature: (method == Method::Sample).then_some(1.0),
        top_logprobs: (method == Method::Logprobs).then_some(ask::TOP_LOGPROBS),
        min_mass: args.min_mass,
        countries: args
            .countries
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        source: args.source.clone(),
        limit: args.limit,
        translations: args.translations.clone(),
        translations_sha256: args.translations.as_deref().map(record::sha256_file).transpose()?,
        planned: 0,
        concurrency: args.concurrency,
    };
    let items = plan::items(&spec)?;
    spec.planned = items.len();
    let model = resolve(&args.model)?;
    let store = crate::merge::open_store(&args.store)?;
    let run_id = args
        .run
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("survey-%Y%m%d-%H%M%S").to_string());
    record::write_run(&store, &run_id, model.name(), &spec)?;
    eprint_line(&format!(
        "run {run_id}: {} item(s), {} prompting, {} method, model {}",
        items.len(),
        prompting.label(),
        method.label(),
        model.name()
    ));
    execute(&store, &run_id, model, items, &spec, args.json).await?;
    figures::finish(&store, &run_id, &conditions, args.json, true)
}

/// Finishes a survey run: asks every item not stored `done` (called by `agar resume`).
pub(crate) async fn resume(
    store_dir: &std::path::Path,
    run_id: &str,
    fail_if: &[String],
    json: bool,
) -> crate::Outcome {
    let conditions = agar_survey::parse_conditions(fail_if, false)?;
    let store = open_store(store_dir)?;
    let (record, spec) = record::read_spec(store_dir, run_id)
        .ok_or_else(|| Failure::Input(format!("run {run_id:?} is not a survey run")))?;
    let now = record::sha256_file(&spec.dataset)?;
    if now != spec.dataset_sha256 {
        return Err(Failure::Input(format!(
            "{}: the dataset changed since the run began; start a new run",
            spec.dataset.display()
        )));
    }
    let done = record::read_items(&store, run_id)?;
    let items: Vec<Item> = plan::items(&spec)?
        .into_iter()
        .filter(|i| done.get(&i.item_id).is_none_or(|r| r.status != AuditState::Done))
        .collect();
    if items.is_empty() {
        eprint_line(&format!("nothing to resume: every item of {run_id} is answered"));
    }
    let model_ref = record.models.values().next().cloned().unwrap_or_default();
    let model = resolve(&model_ref)?;
    execute(&store, run_id, model, items, &spec, json).await?;
    figures::finish(&store, run_id, &conditions, json, true)
}

/// `agar report RUN` for a survey run.
pub(crate) fn report_to(args: &crate::report::ReportArgs) -> crate::Outcome {
    use crate::report::Format;
    if args.compare.is_some() || !args.fail_if.is_empty() {
        return Err(Failure::Input(
            "survey reports take no --compare or --fail-if (use agar compare or agar show)".into(),
        ));
    }
    let format = match args.format {
        Format::Md => "md",
        Format::Json => "json",
        Format::Html => "html",
        Format::Csv => "csv",
        Format::Junit => {
            return Err(Failure::Input("--format junit does not apply to survey runs".into()));
        }
    };
    let text = report(&args.store, &args.run, format)?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn resolve(reference: &str) -> Result<Arc<dyn ChatModel>, Failure> {
    let env = Env::from_process();
    let pricing = Pricing::load(&env)?;
    let settings = ResolveSettings::from_env(&env)?;
    Ok(resolve_with(reference, &env, &settings, &pricing.config)?)
}

/// Asks `items`, at most `spec.concurrency` at once, storing each as it is
/// answered. The run's lock is held throughout. Ctrl-C stops at once: items
/// stored so far are kept, the rest are asked by `agar resume`.
async fn execute(
    store: &agar_store::Store,
    run_id: &str,
    model: Arc<dyn ChatModel>,
    items: Vec<Item>,
    spec: &SurveySpec,
    json: bool,
) -> crate::Outcome {
    let _lock = store.lock_run(run_id).map_err(Failure::input)?;
    let settings = AskSettings {
        method: spec.method,
        samples: spec.samples.unwrap_or(1),
        min_mass: spec.min_mass,
    };
    let progress = Progress::new(items.len(), json);
    let asked = futures::stream::iter(items)
        .map(|item| {
            progress.started();
            ask(&model, item, &settings)
        })
        .buffer_unordered(spec.concurrency.max(1) as usize);
    let work = async {
        let mut asked = std::pin::pin!(asked);
        while let Some(item) = asked.next().await {
            record::write_item(store, run_id, &item)?;
            let status = match (&item.answer, item.status) {
                (_, AuditState::Failed) => AuditState::Failed,
                (Some(a), _) if !a.valid => AuditState::Invalid,
                _ => AuditState::Done,
            };
            if let Some(e) = &item.error {
                tracing::warn!(item = %item.item_id, "the model could not be asked: {e}");
            }
            progress.finished(status);
        }
        Ok::<(), Failure>(())
    };
    tokio::select! {
        r = work => r?,
        _ = tokio::signal::ctrl_c() => {
            progress.clear();
            return Err(Failure::Run(format!(
                "interrupted; answered items are stored: agar resume {run_id} --store {}",
                store.root().display()
            )));
        }
    }
    progress.clear();
    Ok(())
}
