//! `--fail-if` as `agar audit`, `resume`, `show` and `compare` apply it: the
//! fail-closed evaluation is [`agar_report::gate_run`] /
//! [`agar_report::gate_comparison`]; this maps its outcome to exit codes
//! (a condition that held: 3; audits not judged: 2; a dimension no judged
//! audit scored: 1) and prints what held.

use std::collections::BTreeSet;

use agar_core::RunRecord;
use agar_report::{GateBlock, GateOutcome};
use agar_store::Store;

use crate::exit::Failure;

/// The dimensions a stored run planned to judge: its plan's (every
/// scenario's set) and its run-level choice.
pub(crate) fn planned(store: &Store, run_id: &str, record: &RunRecord) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = record.settings.dimensions.iter().cloned().collect();
    if let Ok(plan) = store.read_plan(run_id) {
        out.extend(plan.dimensions.into_iter().map(|d| d.name));
        out.extend(plan.audits.into_iter().flat_map(|a| a.dimensions));
    }
    out
}

/// Names to suggest from when a condition names an unknown dimension.
pub(crate) fn library_names() -> Vec<&'static str> {
    agar_judge::library().iter().map(|d| d.name.as_str()).collect()
}

/// A gate that could not be evaluated, as a command failure.
pub(crate) fn blocked(block: GateBlock) -> Failure {
    if block.is_input_error() {
        Failure::Input(block.to_string())
    } else {
        Failure::Run(block.to_string())
    }
}

/// Prints each condition that held on stderr; a gate failure when any did.
pub(crate) fn finish(gates: &[GateOutcome]) -> crate::Outcome {
    for g in gates.iter().filter(|g| g.held) {
        eprintln!("{}", g.message());
    }
    if gates.iter().any(|g| g.held) {
        return Err(Failure::Gate);
    }
    Ok(())
}

/// The gates for `--json` output, and the block's message when there is one.
pub(crate) fn for_json(
    result: &Result<Vec<GateOutcome>, GateBlock>,
) -> (Vec<GateOutcome>, Option<String>) {
    match result {
        Ok(g) => (g.clone(), None),
        Err(b) => (Vec::new(), Some(b.to_string())),
    }
}

/// The run an invocation of `audit` or `resume` gates: its plan says what it
/// meant to judge.
fn planned_of(plan: &agar_store::RunPlan) -> BTreeSet<String> {
    plan.dimensions
        .iter()
        .map(|d| d.name.clone())
        .chain(plan.audits.iter().flat_map(|a| a.dimensions.iter().cloned()))
        .collect()
}

/// Gates a run of `plan` (after its audits ran).
pub(crate) fn gate_plan(
    conditions: &[agar_report::Condition],
    plan: &agar_store::RunPlan,
    summary: &agar_report::RunSummary,
) -> Result<Vec<GateOutcome>, GateBlock> {
    let planned = planned_of(plan);
    let run = agar_report::GatedRun {
        run_id: &plan.run_id,
        summary,
        judge_expected: plan.settings.judge.is_some(),
        planned: &planned,
    };
    agar_report::gate_run(conditions, &run, &library_names())
}

/// Before any audit runs: a condition naming a dimension `plan` does not
/// judge is an input error (exit 1), so no money is spent on a run whose
/// gate could never read it.
pub(crate) fn check_plan(
    conditions: &[agar_report::Condition],
    plan: &agar_store::RunPlan,
) -> Result<(), Failure> {
    let planned = planned_of(plan);
    let empty = agar_report::RunSummary::default();
    let run = agar_report::GatedRun {
        run_id: &plan.run_id,
        summary: &empty,
        judge_expected: plan.settings.judge.is_some(),
        planned: &planned,
    };
    agar_report::check_names(conditions, &run, &library_names()).map_err(blocked)
}

/// `--max-unverified-share`: a number from 0 to 1.
pub(crate) fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share from 0 to 1 (e.g. 0.5)")),
    }
}
