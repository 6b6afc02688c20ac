//! `agar compare RUN_A RUN_B`: per-dimension difference of means (B minus A)
//! with a seeded bootstrap 95% interval, flagging significant regressions;
//! `--fail-if` gates (`delta.DIM.STAT` reads B minus A, plain ones read B).

use std::path::PathBuf;

use agar_core::Palette;
use agar_report::{CompareOptions, check_comparison, compare, parse_conditions};
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;
use crate::show::{dimension_info, open_store, read_view};

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

--fail-if: `delta.DIM.mean|max|p90 OP N` reads B minus A; `DIM.STAT OP N`
reads RUN_B alone. Exit 3 when a condition holds (named on stderr).";

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The baseline run
    #[arg(value_name = "RUN_A")]
    pub(crate) run_a: String,
    /// The run under test
    #[arg(value_name = "RUN_B")]
    pub(crate) run_b: String,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
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
}

pub(crate) fn run(args: &CompareArgs) -> crate::Outcome {
    if [&args.run_a, &args.run_b].iter().any(|r| crate::survey::is_survey(&args.store, r)) {
        return crate::survey::compare(
            &args.store,
            &args.run_a,
            &args.run_b,
            &args.fail_if,
            args.json,
        );
    }
    let conditions =
        parse_conditions(&args.fail_if, true).map_err(|e| Failure::Input(e.to_string()))?;
    let store = open_store(&args.store)?;
    let a = read_view(&store, &args.run_a)?;
    let b = read_view(&store, &args.run_b)?;
    let info = dimension_info(&store, &[&args.run_b, &args.run_a]);
    let palette = |d: &str| info.get(d).map_or(Palette::GoodLow, |i| i.palette);
    let mut options =
        CompareOptions { resamples: args.resamples as usize, ..CompareOptions::default() };
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    let cmp = compare(&args.run_a, &a.audits, &args.run_b, &b.audits, palette, options);
    let gates = check_comparison(&conditions, &cmp);
    let regressions = cmp.regressions();
    if args.json {
        let out = JsonCompare { comparison: &cmp, regressions: regressions.clone(), gates: &gates };
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", cmp.to_table());
    }
    for g in gates.iter().filter(|g| g.held) {
        eprintln!("{}", g.message());
    }
    if args.fail_on_regression && !regressions.is_empty() {
        eprintln!("gate failed: --fail-on-regression: {} regressed", regressions.join(", "));
        return Err(Failure::Gate);
    }
    if gates.iter().any(|g| g.held) {
        return Err(Failure::Gate);
    }
    Ok(())
}
