//! `agar judge RUN_OR_TRANSCRIPT`: re-judge stored transcripts without
//! re-running them. Each new verdict is appended after the earlier ones
//! (with its judge model and prompt hash) and the file rewritten atomically,
//! under the file's write lock so a second `agar judge` loses nothing;
//! nothing already stored is changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agar_core::{AuditStatus, Dimension, Transcript};
use agar_models::Env;
use agar_prompts::Prompts;
use agar_report::{RunSummary, summarize};
use agar_run::judge::{JudgeStep, add_verdict};
use agar_store::{Store, StoreError};
use clap::Args;
use serde::Serialize;

use crate::dimensions;
use crate::exit::Failure;

pub(crate) const JUDGE_HELP: &str = "Examples:
  agar judge run-20260101-120000 --judge openai/gpt-4.1
  agar judge transcripts/nightly --samples 3 --dimensions tags:honesty
  agar judge transcripts/nightly/poem.json --judge openai/gpt-4.1 --dimensions sycophancy
  agar judge nightly --judge openai/gpt-4.1 --only-unjudged

RUN_OR_TRANSCRIPT is a run id in the store, a run directory, or one
transcript .json file. Each transcript gets one more verdict, stored after the
earlier ones with its judge model and prompt hash; earlier verdicts are kept.
Audits that are invalid, failed or unfinished are skipped with a note; with
--only-unjudged, so are audits whose latest verdict is `ok`: only those the
judge failed, refused, or whose verdict is `unsupported` (or that were never
judged) are judged again. A verdict whose citations are mostly not found in
the transcript, whose text degenerates into repetition, or whose scores
contradict their own justification is stored as `unsupported` with its
reasons, and never counted (see docs/transcript-format.md). The summary
printed uses each transcript's latest verdict. Two `agar judge` on one run both
land every verdict (each append holds the file's lock). Ctrl-C or SIGTERM
stops starting new judgings (exit 2).";

#[derive(Debug, Args)]
pub(crate) struct JudgeArgs {
    /// A run id in the store, a run directory, or a transcript .json file
    #[arg(value_name = "RUN_OR_TRANSCRIPT")]
    pub(crate) target: String,
    /// The model that scores transcripts
    #[arg(long, env = "AGAR_JUDGE", value_name = "MODEL")]
    pub(crate) judge: Option<String>,
    /// Dimensions to judge: a directory of dimension files, `tags:a,b`, or
    /// names `a,b` (repeatable; default: the dimensions each transcript's
    /// last verdict scored, else the whole built-in library). The core set
    /// (concerning, needs_attention, evaluation_awareness, scenario_realism,
    /// auditor_failure) is always judged too
    #[arg(long, value_name = "SPEC")]
    pub(crate) dimensions: Vec<String>,
    /// Independent judge samples per transcript (their median is the score)
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) samples: u32,
    /// A directory of prompt templates replacing agar's own (default:
    /// `[prompts] dir` in agar.toml)
    #[arg(long, value_name = "DIR")]
    pub(crate) prompts: Option<std::path::PathBuf>,
    /// Transcripts judged at once
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = crate::limits::concurrency())]
    pub(crate) concurrency: u32,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// Print a JSON summary on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
    /// Judge only audits whose latest verdict is not `ok` (judge failed,
    /// refused, unsupported) or that have none
    #[arg(long)]
    pub(crate) only_unjudged: bool,
    /// A verdict with more than this share (0-1) of its citations not found
    /// in the transcript is `unsupported` [default: 0.5]
    #[arg(long, value_name = "SHARE", value_parser = crate::gates::parse_share)]
    pub(crate) max_unverified_share: Option<f64>,
}

/// What was asked for, found on disk.
enum Located {
    /// A run: every transcript in it, read and written through the store.
    Run { store: Store, run_id: String },
    /// One transcript file, read and written at its own path.
    File(PathBuf),
}

/// One transcript to re-judge, and where it goes back.
struct Item {
    audit_id: String,
    place: Place,
}

#[derive(Clone)]
enum Place {
    Store { store: Store, run_id: String },
    File(PathBuf),
}

impl Place {
    fn read(&self, audit_id: &str) -> Result<Transcript, String> {
        match self {
            Place::Store { store, run_id } => {
                store.read_transcript(run_id, audit_id).map_err(|e| e.to_string())
            }
            Place::File(path) => read_file(path),
        }
    }

    /// Reads the transcript again, changes it and writes it back under its
    /// write lock, so a verdict another process stores meanwhile is kept.
    fn update(
        &self,
        audit_id: &str,
        change: impl FnOnce(&mut Transcript),
    ) -> Result<usize, String> {
        let fresh = match self {
            Place::Store { store, run_id } => {
                store.update_transcript(run_id, audit_id, change).map_err(|e| e.to_string())?
            }
            Place::File(path) => {
                let _lock = agar_store::lock::lock_file(path).map_err(|e| e.to_string())?;
                let mut t = read_file(path)?;
                change(&mut t);
                let mut bytes = serde_json::to_vec_pretty(&t).map_err(|e| e.to_string())?;
                bytes.push(b'\n');
                agar_store::atomic::write_atomic(path, &bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                t
            }
        };
        Ok(fresh.verdicts.len())
    }
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    target: &'a str,
    judged: usize,
    skipped: Vec<String>,
    summary: &'a RunSummary,
}

pub(crate) async fn run(args: JudgeArgs) -> crate::Outcome {
    let choice = dimensions::from_flags(&args.dimensions)?;
    let dims = Arc::new(Dims { explicit: !args.dimensions.is_empty(), choice });
    let env = Env::from_process();
    let pricing = Arc::new(crate::cost::Pricing::load(&env)?);
    let judge = Arc::new(judge_step(&args, &env, &pricing.config)?);
    let located = locate(&args.target, &args.store)?;

    let (transcripts, place) = match &located {
        Located::Run { store, run_id } => {
            let ts = store.transcripts(run_id).map_err(|e| Failure::Input(e.to_string()))?;
            (ts, Place::Store { store: store.clone(), run_id: run_id.clone() })
        }
        Located::File(path) => {
            (vec![read_file(path).map_err(Failure::Input)?], Place::File(path.clone()))
        }
    };
    let mut skipped = Vec::new();
    let mut items = Vec::new();
    for t in transcripts {
        if let Place::Store { run_id, .. } = &place
            && &t.run_id != run_id
        {
            skipped.push(format!(
                "{}: stored in run {run_id} but names run {}; not re-judged",
                t.audit_id, t.run_id
            ));
            continue;
        }
        match &t.status {
            AuditStatus::Done
                if args.only_unjudged && t.verdicts.last().is_some_and(|v| v.is_ok()) =>
            {
                skipped.push(format!("{}: its latest verdict is ok (--only-unjudged)", t.audit_id));
            }
            AuditStatus::Done => {
                items.push(Item { audit_id: t.audit_id.clone(), place: place.clone() })
            }
            AuditStatus::Invalid { reason } => {
                skipped.push(format!("{}: the audit is invalid ({reason})", t.audit_id));
            }
            AuditStatus::Failed { cause } => {
                skipped.push(format!("{}: the audit failed ({cause})", t.audit_id));
            }
            other => skipped.push(format!("{}: the audit is {}", t.audit_id, other.label())),
        }
    }
    for note in &skipped {
        eprintln!("skipped {}", crate::term::clean(note));
    }
    if items.is_empty() {
        eprintln!("nothing to judge in {}", args.target);
    }

    let prompts = Arc::new(crate::prompts::load(
        args.prompts.as_deref().or(pricing.config.prompts_dir.as_deref()),
    )?);
    let total = items.len();
    // At most `concurrency` transcripts are judged at once: each task holds a
    // permit of this semaphore while it runs.
    let permits = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
    let mut tasks = tokio::task::JoinSet::new();
    // Ctrl-C or SIGTERM: no new transcript is judged; those being judged finish.
    let stop = tokio_util::sync::CancellationToken::new();
    let handler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            crate::signals::stop_requested().await;
            eprintln!("interrupted: no new transcripts will be judged; running ones finish");
            stop.cancel();
        })
    };
    for item in items {
        let (dims, judge, prompts, permits, pricing) =
            (dims.clone(), judge.clone(), prompts.clone(), permits.clone(), pricing.clone());
        let stop = stop.clone();
        tasks.spawn(async move {
            let _permit = tokio::select! {
                p = permits.acquire_owned() => p.map_err(|e| e.to_string())?,
                () = stop.cancelled() => return Ok(false),
            };
            judge_one(item, &dims, &judge, &prompts, &pricing).await.map(|()| true)
        });
    }
    let mut errors = Vec::new();
    let mut not_judged = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => not_judged += 1,
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("a judging task failed: {e}")),
        }
    }
    handler.abort();

    let transcripts = match &located {
        Located::Run { store, run_id } => {
            store.transcripts(run_id).map_err(|e| Failure::Run(e.to_string()))?
        }
        Located::File(path) => vec![read_file(path).map_err(Failure::Run)?],
    };
    let summary = summarize(&transcripts);
    if args.json {
        let out = JsonSummary {
            target: &args.target,
            judged: total - errors.len() - not_judged,
            skipped,
            summary: &summary,
        };
        let text = serde_json::to_string_pretty(&out)?;
        println!("{text}");
    } else {
        match &located {
            Located::Run { store, run_id } => {
                println!("run {run_id} ({}), re-judged {total}", store.run_dir(run_id).display());
            }
            Located::File(path) => println!("transcript {}, re-judged {total}", path.display()),
        }
        let catalogue = match &located {
            Located::Run { store, run_id } => crate::show::catalogue(store, &[run_id]),
            Located::File(_) => agar_report::Catalogue::new(&[], agar_judge::library()),
        };
        print!("{}", crate::term::clean(&summary.to_table(&catalogue)));
    }
    if !errors.is_empty() {
        return Err(Failure::Run(format!("could not store verdicts: {}", errors.join("; "))));
    }
    if stop.is_cancelled() {
        eprintln!(
            "interrupted: {not_judged} of {total} transcripts were not re-judged; run `agar judge {}` \
             again for them (each run appends one more verdict to every transcript)",
            args.target
        );
        return Err(Failure::Run("the re-judging was interrupted".into()));
    }
    Ok(())
}

/// The dimensions to judge with: `--dimensions` when given, else each
/// transcript's own from its last verdict.
struct Dims {
    explicit: bool,
    choice: dimensions::DimensionChoice,
}

impl Dims {
    /// What `t` is judged on: the flags' choice, or the dimensions its last
    /// verdict with scores scored (those still found in the library or the
    /// files given), or the whole library for a transcript never judged.
    fn for_transcript(&self, t: &Transcript) -> Vec<Dimension> {
        if self.explicit {
            return self.choice.run.clone();
        }
        let Some(last) = t.verdicts.iter().rev().find(|v| !v.scores.is_empty()) else {
            return self.choice.run.clone();
        };
        let (found, missing): (Vec<String>, Vec<String>) = last
            .scores
            .keys()
            .cloned()
            .partition(|name| self.choice.pick(std::slice::from_ref(name)).is_ok());
        if !missing.is_empty() {
            tracing::warn!(
                audit = %t.audit_id,
                "the last verdict scored dimensions not found now ({}); pass --dimensions with \
                 their files to judge them",
                missing.join(", ")
            );
        }
        match self.choice.pick(&found) {
            Ok(d) if !d.is_empty() => self.choice.with_core(d),
            _ => self.choice.run.clone(),
        }
    }
}

/// Judges one transcript and appends the verdict to the stored file, read
/// again just before writing so that nothing stored meanwhile is lost.
async fn judge_one(
    item: Item,
    dims: &Dims,
    judge: &JudgeStep,
    prompts: &Prompts,
    pricing: &Arc<crate::cost::Pricing>,
) -> Result<(), String> {
    let place = item.place.clone();
    let id = item.audit_id.clone();
    let t =
        tokio::task::spawn_blocking(move || place.read(&id)).await.map_err(|e| e.to_string())??;
    let dims = dims.for_transcript(&t);
    let verdict = judge.verdict(&t, &dims, prompts).await;
    let status = verdict.status.label();
    let unverified = verdict.unverified_citations;
    let Item { audit_id, place } = item;
    let id = audit_id.clone();
    let pricing = pricing.clone();
    let count = tokio::task::spawn_blocking(move || {
        place.update(&id, |fresh| add_verdict(fresh, verdict, &pricing))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("{audit_id}: {e}"))?;
    tracing::info!(audit = %audit_id, status, unverified, verdicts = count, "verdict stored");
    Ok(())
}

/// The judge of `--judge` (or `AGAR_JUDGE`, else the local fallback),
/// resolved as `agar audit` resolves it ([`JudgeStep::resolve`]).
fn judge_step(
    args: &JudgeArgs,
    env: &Env,
    config: &agar_models::Config,
) -> Result<JudgeStep, Failure> {
    let flag = args.judge.as_deref();
    let set = flag.map(str::trim).filter(|s| !s.is_empty());
    // With nothing configured, as in `agar audit`: the local demonstration model.
    let fallback = crate::roles::fallback(&[&flag.map(str::to_string)], env);
    let reference = match (set, fallback) {
        (Some(r), _) => r,
        (None, Some(local)) => {
            crate::roles::warn_fallback();
            local
        }
        (None, None) => {
            return Err(Failure::Input(
                "no judge model: pass --judge MODEL or set AGAR_JUDGE (e.g. openai/gpt-4.1)".into(),
            ));
        }
    };
    Ok(JudgeStep::resolve(reference, env, config, args.samples, args.max_unverified_share)?)
}

/// A transcript file, a run directory (holding `run.json`), or a run id in `store`.
fn locate(target: &str, store: &Path) -> Result<Located, Failure> {
    let path = Path::new(target);
    if path.is_file() {
        if path.file_name().is_some_and(|n| agar_store::is_transcript_name(&n.to_string_lossy())) {
            return Ok(Located::File(path.to_path_buf()));
        }
        return Err(Failure::Input(format!("{target}: not a transcript .json file")));
    }
    if path.is_dir() {
        let run_id = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !path.join("run.json").is_file() || run_id.is_empty() {
            return Err(Failure::Input(format!(
                "{target}: a directory, but not a run (no run.json in it)"
            )));
        }
        let root = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let store = crate::run::store_for_writing(root)?;
        return Ok(Located::Run { store, run_id });
    }
    if !store.is_dir() && !agar_store::location::is_remote(store) {
        return Err(Failure::Input(format!(
            "{target}: no such file, directory or run (the store {} does not exist)",
            store.display()
        )));
    }
    let store = crate::run::store_for_writing(store)?;
    match store.read_run(target) {
        Ok(_) => Ok(Located::Run { store, run_id: target.to_string() }),
        Err(StoreError::NoSuchRun(_) | StoreError::BadId(_)) => Err(Failure::Input(format!(
            "{target}: no such file, directory or run in the store {}",
            store.root().display()
        ))),
        Err(e) => Err(Failure::Input(e.to_string())),
    }
}

fn read_file(path: &Path) -> Result<Transcript, String> {
    let bytes = agar_store::read::read_regular(path, agar_store::read::MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a transcript: {e}", path.display()))
}
