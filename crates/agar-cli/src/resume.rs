//! `agar resume RUN`: finish an interrupted run. It reads the run's
//! `plan.json`, skips every audit whose transcript is stored with a finished
//! status, re-reads the scenario files from their recorded paths (refusing
//! changed ones unless `--allow-changed`), and runs the rest with the run's
//! recorded settings and models (see [`crate::run`] and [`agar_run`]).
//! With `--shard I/N` it finishes one shard of the run.

use agar_models::Env;
use agar_report::parse_conditions;
use agar_run::{ResumeOptions, Runtime, Shard};
use clap::Args;

use crate::audit::resume_hint;
use crate::exit::Failure;
use crate::show::open_store;

pub(crate) const RESUME_HELP: &str = "Examples:
  agar resume run-20260101-120000
  agar resume nightly --store /data/agar --max-cost 50

Runs only the audits of RUN that have no stored transcript with a finished
status (done, invalid or failed; --retry-failed runs failed ones again), with
the models, settings and dimensions recorded when the run began. Scenario
files are read again from their recorded paths; one whose content changed is
refused unless --allow-changed. A finished audit is never run twice, and two
processes never run the same run at once. Ctrl-C stops starting audits, as in
agar audit.

With --shard I/N (or auto, as in agar audit) only that shard's audits run,
under the shard's own lock, so one failed shard is finished while the others
run:
  agar resume nightly --shard 2/3

Failed audits (a model call that failed past its retries, a server that went
away) are not run again unless --retry-failed is given; while any remain,
resume says how many and exits 2:
  agar resume run-20260101-120000 --retry-failed";

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The run id
    #[arg(value_name = "RUN")]
    pub(crate) run: String,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// Run audits whose scenario file changed since the run began
    #[arg(long)]
    pub(crate) allow_changed: bool,
    /// Run failed audits again (their transcripts are replaced); without it
    /// failed audits stay failed and resume exits 2 while any remain
    #[arg(long)]
    pub(crate) retry_failed: bool,
    /// Audits running at once (default: the run's)
    #[arg(long, value_name = "N", value_parser = crate::limits::concurrency())]
    pub(crate) concurrency: Option<u32>,
    /// Budget in USD for the whole run, earlier invocations included
    /// (default: the run's own --max-cost)
    #[arg(long, value_name = "USD")]
    pub(crate) max_cost: Option<f64>,
    /// Answer identical model requests from the store's cache
    #[arg(long)]
    pub(crate) cache: bool,
    /// Exit 3 when this holds for the whole run (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// Print a JSON summary on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
    /// Finish only shard I of N of the run (1-based), or `auto` to read it
    /// from the scheduler (see agar audit --help)
    #[arg(long, value_name = "I/N|auto")]
    pub(crate) shard: Option<String>,
}

/// Survey and introspection runs resume in their own modules.
async fn resume_other_kind(args: &ResumeArgs) -> Option<crate::Outcome> {
    if crate::introspect::is_introspect(&args.store, &args.run) {
        return Some(
            crate::introspect::resume(&args.store, &args.run, &args.fail_if, args.json).await,
        );
    }
    if crate::survey::is_survey(&args.store, &args.run) {
        return Some(crate::survey::resume(&args.store, &args.run, &args.fail_if, args.json).await);
    }
    None
}

pub(crate) async fn run(args: ResumeArgs) -> crate::Outcome {
    if let Some(outcome) = resume_other_kind(&args).await {
        return outcome;
    }
    let conditions = parse_conditions(&args.fail_if, false)?;
    crate::audit::check_max_cost(args.max_cost)?;
    let env = Env::from_process();
    let shard = args.shard.as_deref().map(|s| shard_flag(s, &env)).transpose()?;
    let store = open_store(&args.store)?;
    let plan = agar_run::prepare::read_plan(&store, &args.run)?;
    crate::gates::check_plan(&conditions, &plan)?;
    let runtime = Runtime::for_plan(&plan, &env)?;
    let opts = ResumeOptions {
        allow_changed: args.allow_changed,
        retry_failed: args.retry_failed,
        concurrency: args.concurrency,
        max_cost: args.max_cost,
        cache: args.cache,
        shard,
        ..ResumeOptions::default()
    };
    let report = crate::run::Report {
        conditions,
        json: args.json,
        resume_hint: resume_hint(&args.run, &args.store, shard),
    };
    crate::run::go(store, plan, opts, runtime, report).await
}

/// `--shard I/N`, or `auto`: the scheduler's shard ([`Shard::from_env`]).
pub(crate) fn shard_flag(flag: &str, env: &Env) -> Result<Shard, Failure> {
    let shard = if flag.trim() == "auto" { Shard::from_env(env) } else { Shard::parse(flag) };
    Ok(shard.map_err(agar_run::RunError::from)?)
}
