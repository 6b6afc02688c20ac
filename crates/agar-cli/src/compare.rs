//! `agar compare RUN_A RUN_B`: per-dimension difference of means (B minus A)
//! with a seeded bootstrap 95% interval, flagging significant regressions;
//! `--fail-if` gates (`delta.DIM.STAT` reads B minus A, plain ones read B).

use agar_report::{
    CompareOptions, GatedRun, compare, gate_comparison, parse_conditions, summarize_records,
};
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;
use crate::show::{catalogue, open_store, read_view};

pub(crate) const COMPARE_HELP: &str = "Examples:
  agar compare production candidate
  agar compare production candidate --json --fail-if 'delta.deception.mean>0.5'
  agar compare production candidate --fail-on-regression

RUN_A is the baseline, RUN_B the run under test: a difference is B minus A.
The interval is a percentile bootstrap (2000 resamples by default) with a
fixed seed, so the same runs always give the same interval. A change is
significant when the interval excludes 0; it is a REGRESSION when it goes in
the dimension's bad direction (up for most dimensions, down for good-high
ones such as `admirable`).

A dimension with fewer than 5 judged audits in either run gets no interval
and no verdict (`too few audits`), and a warning says so; runs that used
different targets, judges or dimensions are compared with a warning.

--fail-if: `delta.DIM.mean|max|p90 OP N` reads B minus A; `DIM.STAT OP N`
and the run-level names (invalid.share, invalid.count, failed.count,
unjudged.count) read RUN_B alone. Exit 3 when a condition holds (named on
stderr). Gates fail closed: exit 2 when either run has an audit with no
supported verdict (judge failed, refused or `unsupported`); exit 1 when a
condition names a dimension that no judged audit scored.";

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The baseline run
    #[arg(value_name = "RUN_A")]
    pub(crate) run_a: String,
    /// The run under test
    #[arg(value_name = "RUN_B")]
    pub(crate) run_b: String,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// Print the comparison as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 3 when this holds, e.g. 'delta.deception.mean>0.5' (repeatable)
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// Exit 3 when any dimension regressed significantly
    #[arg(long)]
    pub(crate) fail_on_regression: bool,
    /// Bootstrap resamples
    #[arg(long, default_value_t = 2000, value_name = "N", value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    pub(crate) resamples: u32,
    /// Seed of the bootstrap's generator
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
}

#[derive(Serialize)]
struct JsonCompare<'a> {
    #[serde(flatten)]
    comparison: &'a agar_report::Comparison,
    regressions: Vec<&'a str>,
    gates: &'a [agar_report::GateOutcome],
    /// Why the gates were not evaluated, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_error: Option<String>,
    warnings: &'a [String],
}

/// Fewest judged audits per run for an interval and a verdict.
pub(crate) const MIN_AUDITS: usize = 5;

pub(crate) fn run(args: &CompareArgs) -> crate::Outcome {
    crate::introspect::refuse_compare(&args.store, [&args.run_a, &args.run_b])?;
    if [&args.run_a, &args.run_b].iter().any(|r| crate::survey::is_survey(&args.store, r)) {
        return crate::survey::compare(
            &args.store,
            &args.run_a,
            &args.run_b,
            &args.fail_if,
            args.json,
        );
    }
    let conditions = parse_conditions(&args.fail_if, true)?;
    let store = open_store(&args.store)?;
    let a = read_view(&store, &args.run_a)?;
    let b = read_view(&store, &args.run_b)?;
    let info = catalogue(&store, &[&args.run_b, &args.run_a]);
    let palette = |d: &str| info.palette(d);
    let mut options = CompareOptions {
        resamples: args.resamples as usize,
        min_audits: MIN_AUDITS,
        ..CompareOptions::default()
    };
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    let cmp = compare(&args.run_a, &a.audits, &args.run_b, &b.audits, palette, options);
    let (summary_a, summary_b) = (summarize_records(&a.audits), summarize_records(&b.audits));
    let (planned_a, planned_b) = (
        crate::gates::planned(&store, &args.run_a, &a.record),
        crate::gates::planned(&store, &args.run_b, &b.record),
    );
    let side_a = GatedRun {
        run_id: &args.run_a,
        summary: &summary_a,
        judge_expected: a.record.settings.judge,
        planned: &planned_a,
    };
    let side_b = GatedRun {
        run_id: &args.run_b,
        summary: &summary_b,
        judge_expected: b.record.settings.judge,
        planned: &planned_b,
    };
    let result = gate_comparison(
        &conditions,
        &cmp,
        &side_a,
        &side_b,
        args.fail_on_regression,
        &crate::gates::library_names(),
    );
    let (gates, gate_error) = crate::gates::for_json(&result);
    let regressions = cmp.regressions();
    let warnings = warnings(&a.record, &b.record, &cmp);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        let out = JsonCompare {
            comparison: &cmp,
            regressions: regressions.clone(),
            gates: &gates,
            gate_error,
            warnings: &warnings,
        };
        let text = serde_json::to_string_pretty(&out)?;
        println!("{text}");
    } else {
        print!("{}", crate::term::clean(&cmp.to_table(&info)));
    }
    let gates = result.map_err(crate::gates::blocked)?;
    if args.fail_on_regression && !regressions.is_empty() {
        for g in gates.iter().filter(|g| g.held) {
            eprintln!("{}", g.message());
        }
        eprintln!("gate failed: --fail-on-regression: {} regressed", regressions.join(", "));
        return Err(Failure::Gate);
    }
    crate::gates::finish(&gates)
}

/// What makes the comparison weak: too few audits, or runs that differ in
/// more than the target's behaviour.
fn warnings(
    a: &agar_core::RunRecord,
    b: &agar_core::RunRecord,
    cmp: &agar_report::Comparison,
) -> Vec<String> {
    use agar_core::RoleName;
    let mut out = Vec::new();
    let few: Vec<&str> = cmp
        .dimensions
        .iter()
        .filter(|(_, d)| d.change == agar_report::Change::TooFewAudits)
        .map(|(n, _)| n.as_str())
        .collect();
    if !few.is_empty() {
        out.push(format!(
            "too few judged audits for an interval on {} (at least {MIN_AUDITS} per run): \
             the differences shown are not a verdict",
            few.join(", ")
        ));
    }
    for (role, what) in [(RoleName::Target, "targets"), (RoleName::Judge, "judges")] {
        let (x, y) = (a.models.get(&role), b.models.get(&role));
        if x != y {
            let name = |m: Option<&String>| m.map_or("none".to_string(), Clone::clone);
            out.push(format!("the runs used different {what}: {} and {}", name(x), name(y)));
        }
    }
    let dims = |r: &agar_core::RunRecord| {
        r.settings.dimensions.iter().cloned().collect::<std::collections::BTreeSet<_>>()
    };
    if dims(a) != dims(b) {
        out.push("the runs judged different dimensions".into());
    }
    if a.is_demonstration() || b.is_demonstration() {
        out.push(agar_core::DEMONSTRATION_BANNER.into());
    }
    out
}
