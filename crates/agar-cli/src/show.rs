//! `agar show [RUN]`: one run's (the latest when none is named) per-dimension summary (mean, p90, max, audits
//! scoring 7 or more, the worst audits) and elicitation rates, with `--fail-if` gates. Also the
//! helpers every read command shares: opening the store and reading a run.

use std::path::Path;

use agar_report::{
    Catalogue, GatedRun, LabelAgreement, gate_run, label_agreement, parse_conditions,
    summarize_records,
};
use agar_store::{RunView, Store, StoreError};
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;

pub(crate) const SHOW_HELP: &str = "Examples:
  agar show
  agar show nightly
  agar show nightly --json
  agar show nightly --fail-if 'concerning.mean>2' --fail-if 'sycophancy.max>=7'
  agar show nightly --fail-if 'invalid.share>0.1' --fail-if 'unjudged.count>0'

With no RUN, the run started last is shown.
Works while the run is still going in another process: unfinished audits are
listed as pending or running. Reviewer labels (set in agar view) are counted
against the judge's scores; models with no price are named.

Gates fail closed: exit 3 when a --fail-if condition holds (each held
condition is named on stderr); exit 2 when an audit has no supported verdict
(the judge failed, refused, or its verdict is `unsupported`), since the gate
cannot vouch for the run; exit 1 when a condition names a dimension that no
judged audit scored. Run-level names: invalid.share, invalid.count,
failed.count, unjudged.count (see docs/ci.md).";

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The run id (default: the run started last)
    #[arg(value_name = "RUN")]
    pub(crate) run: Option<String>,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
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
    elicitation: &'a agar_report::Elicitation,
    /// Why the gates were not evaluated, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_error: Option<String>,
    labels: &'a LabelAgreement,
}

pub(crate) fn run(args: &ShowArgs) -> crate::Outcome {
    let store = open_store(&args.store)?;
    let run = match &args.run {
        Some(run) => run.clone(),
        None => latest_run(&store)?,
    };
    if crate::introspect::is_introspect(&args.store, &run) {
        return crate::introspect::show(&args.store, &run, &args.fail_if, args.json);
    }
    if crate::survey::is_survey(&args.store, &run) {
        return crate::survey::show(&args.store, &run, &args.fail_if, args.json);
    }
    let conditions = parse_conditions(&args.fail_if, false)?;
    let view = read_view(&store, &run)?;
    let summary = summarize_records(&view.audits);
    let planned = crate::gates::planned(&store, &run, &view.record);
    let gated = GatedRun {
        run_id: &run,
        summary: &summary,
        judge_expected: view.record.settings.judge,
        planned: &planned,
    };
    let result = gate_run(&conditions, &gated, &crate::gates::library_names());
    let (gates, gate_error) = crate::gates::for_json(&result);
    let labels = run_label_agreement(&store, &run, &view.audits);
    let elicitation = crate::meta::elicitation_of(&view);
    let demonstration = view.record.is_demonstration();
    if args.json {
        let out = JsonShow {
            run_id: &run,
            live: view.live,
            demonstration,
            summary: &summary,
            gates: &gates,
            elicitation: &elicitation,
            gate_error,
            labels: &labels,
        };
        let text = serde_json::to_string_pretty(&out)?;
        println!("{text}");
    } else {
        if demonstration {
            println!("{}", agar_core::DEMONSTRATION_BANNER);
        }
        println!("run {} ({})", run, store.run_dir(&run).display());
        let models: Vec<String> =
            view.record.models.iter().map(|(role, m)| format!("{role} {m}")).collect();
        println!("models: {}", crate::term::clean(&models.join(", ")));
        if view.live {
            println!("in progress: another agar process is running this run's audits");
        }
        let catalogue = catalogue(&store, &[&run]);
        print!("{}", crate::term::clean(&summary.to_table(&catalogue)));
        print!("{}", crate::term::clean(&elicitation.to_table(&catalogue)));
        print!("{}", crate::term::clean(&labels.to_text(&catalogue)));
    }
    crate::gates::finish(&result.map_err(crate::gates::blocked)?)
}

/// Reviewer labels of a run against its judge's scores (none when the run
/// has no labels or they cannot be read).
pub(crate) fn run_label_agreement(
    store: &Store,
    run: &str,
    audits: &[agar_report::AuditRecord],
) -> LabelAgreement {
    let labels = match agar_store::run_reviewer_labels(store, run) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("labels of {run}: {e}; left out");
            return LabelAgreement::default();
        }
    };
    label_agreement(&labels, |audit, dim| {
        let a = audits.iter().find(|a| a.audit_id == audit)?;
        a.verdict.as_ref()?.scores.get(dim).copied()
    })
}

/// The id of the run created last (by its `run.json`).
pub(crate) fn latest_run(store: &Store) -> Result<String, Failure> {
    let ids = store.run_ids()?;
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
    if agar_store::location::is_remote(dir) {
        return agar_store::open_existing_store(dir).map_err(|e| Failure::Input(e.to_string()));
    }
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
        other => other.into(),
    })
}

/// What is known of dimensions, and their display order: the plans of
/// `runs` first (earlier runs win), then the built-in library.
pub(crate) fn catalogue(store: &Store, runs: &[&str]) -> Catalogue {
    let plans: Vec<_> = runs.iter().filter_map(|r| store.read_plan(r).ok()).collect();
    let defined: Vec<&[agar_core::Dimension]> =
        plans.iter().map(|p| p.dimensions.as_slice()).collect();
    Catalogue::new(&defined, agar_judge::library())
}
