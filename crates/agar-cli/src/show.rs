//! `agar show [RUN]`: one run's (the latest when none is named) per-dimension summary (mean, p90, max, audits
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
  agar show
  agar show nightly
  agar show nightly --json
  agar show nightly --fail-if 'concerning.mean>2' --fail-if 'sycophancy.max>=7'

With no RUN, the run started last is shown.
Works while the run is still going in another process: unfinished audits are
listed as pending or running. Exit 3 when a --fail-if condition holds (each
held condition is named on stderr).";

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run id (default: the run started last)
    #[arg(value_name = "RUN")]
    pub(crate) run: Option<String>,
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
    demonstration: bool,
    summary: &'a agar_report::RunSummary,
    gates: &'a [agar_report::GateOutcome],
}

pub(crate) fn run(args: &ShowArgs) -> crate::Outcome {
    let conditions =
        parse_conditions(&args.fail_if, false).map_err(|e| Failure::Input(e.to_string()))?;
    let store = open_store(&args.store)?;
    let run = match &args.run {
        Some(run) => run.clone(),
        None => latest_run(&store)?,
    };
    let view = read_view(&store, &run)?;
    let summary = summarize_records(&view.audits);
    let gates = check_run(&conditions, &summary);
    let demonstration = view.record.is_demonstration();
    if args.json {
        let out = JsonShow {
            run_id: &run,
            live: view.live,
            demonstration,
            summary: &summary,
            gates: &gates,
        };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        if demonstration {
            println!("{}", agar_core::DEMONSTRATION_BANNER);
        }
        println!("run {} ({})", run, store.run_dir(&run).display());
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

/// The id of the run created last (by its `run.json`).
pub(crate) fn latest_run(store: &Store) -> Result<String, Failure> {
    let ids = store.run_ids().map_err(|e| Failure::Run(e.to_string()))?;
    ids.into_iter()
        .filter_map(|id| store.read_run(&id).ok().map(|r| (r.created_at, id)))
        .max()
        .map(|(_, id)| id)
        .ok_or_else(|| {
            Failure::Input(format!(
                "no runs in the store {}; start one with agar audit",
                store.root().display()
            ))
        })
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
