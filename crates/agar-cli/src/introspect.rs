//! `agar introspect --model local/M --judge MODEL`: a concept-injection
//! introspection audit. The experiment (word lists, concept vectors, trials,
//! grading, the table) is agar-introspect's; this module parses the flags,
//! opens the local model as a `Subject` (`engine`), resolves the judge,
//! draws progress and maps outcomes to exit codes. `agar resume RUN` and
//! `agar show RUN` come here for introspection runs.

mod engine;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use agar_core::ChatModel;
use agar_introspect::{
    IntrospectSpec, ListKind, Observer, Request, RunError, RunStoreError, Table, WordList,
};
use agar_store::Store;
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;
use crate::progress::{Progress, eprint_line};
use crate::show::open_store;

pub(crate) use agar_introspect::is_introspect;

pub(crate) const INTROSPECT_HELP: &str = "Examples:
  agar introspect --model local/smollm2 --judge openai/gpt-4.1-mini --limit 2 --strengths 4
  agar introspect --model local:/models/Llama-3.3-70B-Instruct-Q4_K_M.gguf \\
      --judge anthropic/claude-sonnet-4-5 --layers 0.6,0.67,0.75 --strengths 2,4,8
  agar introspect --model local/smollm2 --judge local/smollm2 \\
      --concepts my-concepts.txt --baselines my-baselines.txt --run intro-1
  agar resume intro-1
  agar show intro-1 --json

The model under test must be local (local/NAME or local:/path/model.gguf):
agar reads its hidden states and adds to them. A concept's vector is the
hidden state at the last token of \"Tell me about WORD.\" minus the mean over
the baseline words, at each layer given as a fraction of depth (--layers,
default 0.67). Each trial tells the model an experimenter may insert a
thought and asks whether it notices one; on injected trials the vector times
the strength is added from the question (\"Question:\") through the answer.
Every concept also gets a control trial (nothing injected) and each
yes-bias question (true answer no) is asked under injection. The judge (any
model) decides whether each answer claims a thought, names the concept and
is coherent. The table gives, per layer and strength, detection, false
alarms (controls, counted apart), identification, incoherence and yes-bias
with 95% Wilson intervals. On 135M-1.5B models this demonstrates the
pipeline, not the finding (docs/introspection.md). --limit N keeps the first
N concepts and questions; each trial is stored as it is graded, and `agar
resume RUN` runs only what is left.";

#[derive(Debug, Args)]
pub(crate) struct IntrospectArgs {
    /// The local model under test: local/NAME or local:/path/model.gguf
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: String,
    /// The grader: any model, e.g. openai/gpt-4.1-mini
    #[arg(long, env = "AGAR_JUDGE", value_name = "MODEL")]
    pub(crate) judge: String,
    /// Injection layers as fractions of depth, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "0.67", value_name = "F")]
    pub(crate) layers: Vec<f64>,
    /// Injection strengths (multiples of the concept vector), comma-separated
    #[arg(long, value_delimiter = ',', default_value = "2,4,8", value_name = "S")]
    pub(crate) strengths: Vec<f32>,
    /// Concepts to inject, one a line (default: agar's list of 40)
    #[arg(long, value_name = "FILE")]
    pub(crate) concepts: Option<PathBuf>,
    /// Baseline words whose mean is subtracted, one a line (default: agar's 50)
    #[arg(long, value_name = "FILE")]
    pub(crate) baselines: Option<PathBuf>,
    /// Yes-bias questions whose true answer is no, one a line (default: agar's 12)
    #[arg(long, value_name = "FILE")]
    pub(crate) no_questions: Option<PathBuf>,
    /// Only the first N concepts and questions (a smoke run)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) limit: Option<u32>,
    /// Sampling temperature of the model's answers
    #[arg(long, default_value_t = 0.7, value_name = "T")]
    pub(crate) temperature: f32,
    /// Most tokens of an answer
    #[arg(long, default_value_t = 48, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub(crate) max_tokens: u32,
    /// Mixed into every trial's sampling seed
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) seed: u64,
    /// Name of the run (default: introspect-DATE-TIME)
    #[arg(long, value_name = "NAME")]
    pub(crate) run: Option<String>,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Print the table as JSON on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(args: IntrospectArgs) -> crate::Outcome {
    engine::target(&args.model)?;
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        return Err(Failure::Input(format!(
            "--temperature must be 0 or more, not {}",
            args.temperature
        )));
    }
    let list = |kind, path: &Option<PathBuf>| {
        WordList::load(kind, path.as_deref()).map_err(|e| match e {
            agar_introspect::WordsError::Invalid(diags) => {
                for d in &diags {
                    eprintln!("{d}");
                }
                Failure::InputReported
            }
            io => Failure::Input(io.to_string()),
        })
    };
    let request = Request {
        layer_fractions: args.layers.clone(),
        strengths: args.strengths.clone(),
        concepts: list(ListKind::Concepts, &args.concepts)?,
        baselines: list(ListKind::Baselines, &args.baselines)?,
        no_questions: list(ListKind::NoQuestions, &args.no_questions)?,
        limit: args.limit.map(|n| n as usize),
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        seed: args.seed,
    };
    agar_introspect::plan::check(&request.strengths, &request.layer_fractions, request.limit)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let judge = resolve(&args.judge)?;
    let subject = engine::open(&args.model).await?;
    let spec = agar_introspect::spec_for(request, &subject, judge.name())
        .map_err(|e| Failure::Input(e.to_string()))?;
    let store = Store::open(&args.store).map_err(|e| Failure::Run(e.to_string()))?;
    let run_id = args
        .run
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("introspect-%Y%m%d-%H%M%S").to_string());
    eprint_line(&format!(
        "run {run_id}: {} trial(s) on {} (layers {:?} of {}, strengths {:?}), judge {}",
        spec.planned,
        spec.model,
        spec.design.layers,
        spec.model_layers,
        spec.design.strengths,
        spec.judge
    ));
    let observer = Bar::new(args.json);
    let work = agar_introspect::start(&store, &run_id, &spec, &subject, judge.as_ref(), &observer);
    interruptible(work, &observer, &run_id, &store).await?;
    finish(&store, &run_id, args.json)
}

/// Finishes an introspection run (called by `agar resume`).
pub(crate) async fn resume(
    store_dir: &Path,
    run_id: &str,
    fail_if: &[String],
    json: bool,
) -> crate::Outcome {
    no_gates(fail_if)?;
    let store = open_store(store_dir)?;
    let (_, spec) = agar_introspect::store::read_spec(store_dir, run_id)
        .ok_or_else(|| Failure::Input(format!("run {run_id:?} is not an introspection run")))?;
    let judge = resolve(&spec.judge)?;
    let subject = engine::open(&spec.model).await?;
    let observer = Bar::new(json);
    let work = agar_introspect::resume(&store, run_id, &subject, judge.as_ref(), &observer);
    interruptible(work, &observer, run_id, &store).await?;
    finish(&store, run_id, json)
}

/// `agar show RUN` for an introspection run.
pub(crate) fn show(
    store_dir: &Path,
    run_id: &str,
    fail_if: &[String],
    json: bool,
) -> crate::Outcome {
    no_gates(fail_if)?;
    let (spec, table) = stored_table(store_dir, run_id)?;
    print!("{}", text(run_id, &spec, &table, json)?);
    Ok(())
}

/// `agar report RUN` for an introspection run: the table as Markdown (a
/// text block) or JSON; other formats and options are refused.
pub(crate) fn report_to(args: &crate::report::ReportArgs) -> crate::Outcome {
    use crate::report::Format;
    no_gates(&args.fail_if)?;
    if args.compare.is_some() || args.meta {
        return Err(Failure::Input(
            "introspection reports take no --compare or --meta (read each run's table)".into(),
        ));
    }
    let (spec, table) = stored_table(&args.store, &args.run)?;
    let text = match args.format {
        Format::Md => format!("```text\n{}```\n", text(&args.run, &spec, &table, false)?),
        Format::Json => text(&args.run, &spec, &table, true)?,
        _ => return Err(Failure::Input("introspection runs report as --format md or json".into())),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// `agar compare` does not compare introspection runs (yet): refused, not
/// read as two empty audit runs.
pub(crate) fn refuse_compare(store_dir: &Path, runs: [&String; 2]) -> crate::Outcome {
    match runs.iter().find(|r| is_introspect(store_dir, r)) {
        Some(r) => Err(Failure::Input(format!(
            "{r} is an introspection run; compare tables with agar show (compare covers audits and surveys)"
        ))),
        None => Ok(()),
    }
}

/// Prints the table; a run with failed or unrun trials exits 2 (its
/// figures are shown but cannot be vouched for as complete).
fn finish(store: &Store, run_id: &str, json: bool) -> crate::Outcome {
    let (spec, table) = stored_table(store.root(), run_id)?;
    print!("{}", text(run_id, &spec, &table, json)?);
    if table.failed > 0 || table.pending > 0 {
        return Err(Failure::Run(format!(
            "{} trial(s) failed and {} not run; they are in no rate: agar resume {run_id} --store {}",
            table.failed,
            table.pending,
            store.root().display()
        )));
    }
    Ok(())
}

/// A run's spec and the table of its stored trials.
fn stored_table(store_dir: &Path, run_id: &str) -> Result<(IntrospectSpec, Table), Failure> {
    let store = open_store(store_dir)?;
    let (_, spec, trials) = agar_introspect::run::load(&store, run_id).map_err(run_failure)?;
    let trials: Vec<_> = trials.into_values().collect();
    let table = agar_introspect::table(&spec, &trials);
    Ok((spec, table))
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Json<'a> {
    run_id: &'a str,
    kind: &'static str,
    spec: &'a IntrospectSpec,
    table: &'a Table,
}

/// The table as text (control characters from the model escaped) or JSON.
fn text(run_id: &str, spec: &IntrospectSpec, table: &Table, json: bool) -> Result<String, Failure> {
    if json {
        let out = Json { run_id, kind: agar_introspect::KIND, spec, table };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        return Ok(text + "\n");
    }
    Ok(crate::term::clean(&agar_introspect::render(spec, table, run_id)).into_owned())
}

/// Introspection runs have no `--fail-if` names yet: a condition is refused, never ignored.
fn no_gates(fail_if: &[String]) -> crate::Outcome {
    if fail_if.is_empty() {
        return Ok(());
    }
    Err(Failure::Input("--fail-if does not apply to introspection runs (read the table)".into()))
}

/// The judge: any model agar resolves, with the prices of `agar.toml`.
fn resolve(reference: &str) -> Result<Arc<dyn ChatModel>, Failure> {
    crate::generate::resolve_single(Some(reference), "--judge names no model").map(|(m, _)| m)
}

fn run_failure(e: RunError) -> Failure {
    match e {
        RunError::Design(_)
        | RunError::OtherModel { .. }
        | RunError::Store(RunStoreError::BadRun(_) | RunStoreError::NotIntrospect(_)) => {
            Failure::Input(e.to_string())
        }
        other => Failure::Run(other.to_string()),
    }
}

/// Runs `work` until it ends or Ctrl-C; stored trials are kept either way.
async fn interruptible(
    work: impl Future<Output = Result<Table, RunError>>,
    observer: &Bar,
    run_id: &str,
    store: &Store,
) -> Result<Table, Failure> {
    let result = tokio::select! {
        r = work => r.map_err(run_failure),
        _ = tokio::signal::ctrl_c() => Err(Failure::Run(format!(
            "interrupted; graded trials are stored: agar resume {run_id} --store {}",
            store.root().display()
        ))),
    };
    observer.clear();
    result
}

/// The progress bar (on a terminal), and a line at every tenth of the
/// trials (anywhere, so logs of a batch job show progress too).
#[derive(Debug)]
struct Bar {
    json: bool,
    progress: Mutex<Option<Progress>>,
    /// Trials to run and finished, failed so far.
    counts: Mutex<(usize, usize, usize)>,
}

impl Bar {
    fn new(json: bool) -> Bar {
        Bar { json, progress: Mutex::new(None), counts: Mutex::new((0, 0, 0)) }
    }

    fn with(&self, f: impl FnOnce(&Progress)) {
        if let Some(p) = self.progress.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            f(p);
        }
    }

    fn clear(&self) {
        self.with(Progress::clear);
    }
}

impl Observer for Bar {
    fn line(&self, line: &str) {
        eprint_line(line);
    }
    fn trials(&self, count: usize) {
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = (count, 0, 0);
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Progress::new(count, self.json));
    }
    fn started(&self) {
        self.with(Progress::started);
    }
    fn finished(&self, status: agar_core::AuditState) {
        self.with(|p| p.finished(status));
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, done, failed) = &mut *c;
        *done += 1;
        *failed += usize::from(status == agar_core::AuditState::Failed);
        let tenth = |n: usize| n * 10 / (*total).max(1);
        if !self.json && (tenth(*done) > tenth(*done - 1) || *done == *total) {
            eprint_line(&format!("{done}/{total} trials ({failed} failed)"));
        }
    }
}
