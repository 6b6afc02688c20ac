//! `agar show RUN`: one run's per-dimension summary (mean, p90, max, audits
//! scoring 7 or more, the worst audits), with `--fail-if` gates. Also the
//! helpers every read command shares: opening the store and reading a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_report::{DimensionInfo, check_run, parse_conditions, summarize_records};
use agar_store::{RunView, Store, StoreError};
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;

pub(crate) const SHOW_HELP: &str = "Examples:
  agar show nightly
  agar show nightly --json
  agar show nightly --fail-if 'concerning.mean>2' --fail-if 'sycophancy.max>=7'

Works while the run is still going in another process: unfinished audits are
listed as pending or running. Exit 3 when a --fail-if condition holds (each
held condition is named on stderr).";

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run id
    #[arg(value_name = "RUN")]
    pub(crate) run: String,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 3 when this holds, e.g. 'concerning.mean>2' (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
}

#[derive(Serialize)]
struct JsonShow<'a> {
    run_id: &'a str,
    live: bool,
    summary: &'a agar_report::RunSummary,
    gates: &'a [agar_report::GateOutcome],
}

pub(crate) fn run(args: &ShowArgs) -> crate::Outcome {
    if crate::survey::is_survey(&args.store, &args.run) {
        return crate::survey::show(&args.store, &args.run, &args.fail_if, args.json);
    }
    let conditions =
        parse_conditions(&args.fail_if, false).map_err(|e| Failure::Input(e.to_string()))?;
    let store = open_store(&args.store)?;
    let view = read_view(&store, &args.run)?;
    let summary = summarize_records(&view.audits);
    let gates = check_run(&conditions, &summary);
    if args.json {
        let out = JsonShow { run_id: &args.run, live: view.live, summary: &summary, gates: &gates };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        println!("run {} ({})", args.run, store.run_dir(&args.run).display());
        let models: Vec<String> =
            view.record.models.iter().map(|(role, m)| format!("{role} {m}")).collect();
        println!("models: {}", models.join(", "));
        if view.live {
            println!("in progress: another agar process is running this run's audits");
        }
        print!("{}", summary.to_table());
    }
    for g in gates.iter().filter(|g| g.held) {
        eprintln!("{}", g.message());
    }
    if gates.iter().any(|g| g.held) {
        return Err(Failure::Gate);
    }
    Ok(())
}

/// The store at `dir`, which must exist.
pub(crate) fn open_store(dir: &Path) -> Result<Store, Failure> {
    Store::open_existing(dir).map_err(|_| {
        Failure::Input(format!(
            "no store at {} (pass --store DIR or set AGAR_STORE)",
            dir.display()
        ))
    })
}

/// A run read back, with errors meant for the user.
pub(crate) fn read_view(store: &Store, run: &str) -> Result<RunView, Failure> {
    store.view(run).map_err(|e| match e {
        StoreError::NoSuchRun(_) | StoreError::BadId(_) => Failure::Input(format!(
            "no run {run:?} in the store {} (see agar runs)",
            store.root().display()
        )),
        other => Failure::Run(other.to_string()),
    })
}

/// What is known of dimensions: a run's plan first, then the built-in library.
pub(crate) fn dimension_info(store: &Store, runs: &[&str]) -> BTreeMap<String, DimensionInfo> {
    let mut out = BTreeMap::new();
    for run in runs {
        if let Ok(plan) = store.read_plan(run) {
            for d in plan.dimensions {
                out.entry(d.name.clone()).or_insert(DimensionInfo {
                    display_name: d.display_name,
                    description: d.description,
                    palette: d.palette,
                });
            }
        }
    }
    for d in agar_judge::library() {
        out.entry(d.name.clone()).or_insert(DimensionInfo {
            display_name: d.display_name.clone(),
            description: d.description.clone(),
            palette: d.palette,
        });
    }
    out
}
