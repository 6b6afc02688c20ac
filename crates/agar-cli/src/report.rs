//! `agar report RUN --format md|json|junit|html [-o FILE] [--compare BASELINE]`:
//! renders a run (rendering itself is pure, in agar-report).

use std::path::PathBuf;

use agar_core::Palette;
use agar_report::{
    CompareOptions, Report, RunInfo, check_comparison, check_run, compare, parse_conditions,
    render, summarize_records,
};
use clap::{Args, ValueEnum};

use crate::exit::Failure;
use crate::show::{catalogue, open_store, read_view};

pub(crate) const REPORT_HELP: &str = "Examples:
  agar report nightly --format html -o nightly.html
  agar report candidate --format html --compare production -o report.html
  agar report nightly --format junit --fail-if 'concerning.max>=7' -o agar-junit.xml

html: one self-contained page (inline CSS and SVG, nothing fetched) with score
distributions per dimension and, with --compare, a chart of the differences.
junit: one test case per audit; it fails where a --fail-if condition holds for
that audit's scores (the audit's score stands for mean, max and p90) or the
audit is invalid, and errors where the audit failed or its verdict is
unusable; unfinished audits are skipped. A second suite holds one test case
per condition applied to the whole run.
--compare BASELINE: differences are RUN minus BASELINE, as in
`agar compare BASELINE RUN`; delta.* conditions then apply.
--meta (with --judge MODEL): a model reads the run's scores and judge
summaries and writes what kinds of scenario elicited the behaviour and what
did not to RUN/meta.md; Markdown reports include it, and the elicitation
rate per dimension and per generated base scenario.
  agar report nightly --meta --judge openai/gpt-4.1

html without -o is written to RUN.html in the current directory, and its
path printed; the other formats go to stdout without -o.
Reports count unsupported verdicts apart (shown, never counted), name the
models the cost leaves out (no price), and give reviewer labels against the
judge. The report's exit code is 0 whatever the gates say (use agar show or
agar compare to gate: they fail closed).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Md,
    Json,
    Junit,
    Html,
    /// Survey runs: one row per country (country, similarity, interval, questions)
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run id
    #[arg(value_name = "RUN")]
    pub(crate) run: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub(crate) format: Format,
    /// Write to this file instead of stdout (html: default RUN.html)
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// A baseline run to compare with (differences are RUN minus BASELINE)
    #[arg(long, value_name = "BASELINE")]
    pub(crate) compare: Option<String>,
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// A gate condition to show (and, in JUnit, to apply per audit); repeatable
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// First ask a model (--judge) for a suite-level summary of what elicited
    /// the behaviour and what did not, stored as RUN/meta.md
    #[arg(long)]
    pub(crate) meta: bool,
    /// The model that writes the --meta summary
    #[arg(long, env = "AGAR_JUDGE", value_name = "MODEL")]
    pub(crate) judge: Option<String>,
}

pub(crate) async fn run(args: &ReportArgs) -> crate::Outcome {
    if crate::introspect::is_introspect(&args.store, &args.run) {
        return crate::introspect::report_to(args);
    }
    if crate::survey::is_survey(&args.store, &args.run) {
        return crate::survey::report_to(args);
    }
    let conditions = parse_conditions(&args.fail_if, args.compare.is_some())?;
    let store = open_store(&args.store)?;
    let view = read_view(&store, &args.run)?;
    if args.meta {
        let path = crate::meta::write_meta(&store, &args.run, &view, args.judge.as_deref()).await?;
        crate::progress::eprint_line(&format!("suite summary written to {}", path.display()));
    }
    let elicitation = crate::meta::elicitation_of(&view);
    let meta = crate::meta::read_meta(&store, &args.run);
    let mut runs = vec![args.run.as_str()];
    if let Some(base) = &args.compare {
        runs.push(base);
    }
    let dimensions = catalogue(&store, &runs);
    let summary = summarize_records(&view.audits);
    let comparison = match &args.compare {
        Some(base) => {
            let baseline = read_view(&store, base)?;
            let palette = |d: &str| dimensions.get(d).map_or(Palette::GoodLow, |i| i.palette);
            Some(compare(
                base,
                &baseline.audits,
                &args.run,
                &view.audits,
                palette,
                CompareOptions::default(),
            ))
        }
        None => None,
    };
    let judge_expected = view.record.settings.judge;
    let gates = match &comparison {
        Some(c) => check_comparison(&conditions, c, Some((&summary, judge_expected))),
        None => check_run(&conditions, &summary, judge_expected),
    };
    let labels = crate::show::run_label_agreement(&store, &args.run, &view.audits);
    let report = Report {
        run: RunInfo {
            run_id: args.run.clone(),
            created_at: Some(view.record.created_at),
            agar_version: view.record.agar_version.clone(),
            models: view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
            demonstration: view.record.is_demonstration(),
        },
        summary,
        gates,
        audits: view.audits,
        dimensions,
        comparison,
        labels,
        conditions,
    };
    let text = match args.format {
        Format::Md => {
            let mut text = render::markdown(&report);
            let table = elicitation.to_table(&report.dimensions);
            if !table.is_empty() {
                text.push_str(&format!("\n## Elicitation\n\n```text{table}```\n"));
            }
            if let Some(meta) = &meta {
                text.push_str(&format!("\n{}\n", meta.trim().replacen("# ", "## ", 1)));
            }
            text
        }
        Format::Json => render::json(&report),
        Format::Junit => render::junit(&report),
        Format::Html => render::html(&report),
        Format::Csv => {
            return Err(Failure::Input(
                "--format csv exports survey runs (see agar survey)".into(),
            ));
        }
    };
    // A page is never dumped on the terminal: without -o it goes to RUN.html.
    let default_page = (args.output.is_none() && args.format == Format::Html)
        .then(|| PathBuf::from(format!("{}.html", args.run)));
    match args.output.as_ref().or(default_page.as_ref()) {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?,
        None => print!("{}", crate::term::clean(&text)),
    }
    if let Some(path) = default_page {
        println!("wrote {}", path.display());
    }
    Ok(())
}
