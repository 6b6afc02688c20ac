//! A survey run's figures read back from its stored items: the per-country
//! table (`agar survey`, `agar show`), `--fail-if` gates, the comparison of
//! two survey runs (`agar compare`) and the reports (`agar report --format
//! md|json|html|csv`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use agar_core::AuditState;
use agar_report::GateOutcome;
use agar_store::Store;
use agar_survey::{
    CountryDelta, Counts, IntervalOptions, Prompting, Scored, Similarities, SurveyCondition,
    parse_conditions, per_country, similarities,
};
use serde::Serialize;

use super::record::{self, ItemRecord, SurveySpec};
use crate::exit::Failure;
use crate::show::open_store;

/// How many countries the "most/least similar" lines name.
const EXTREMES: usize = 3;

/// One survey run's figures.
#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    run_id: String,
    kind: &'static str,
    model: String,
    survey: SurveySpec,
    /// Items planned, answered (valid or not), invalid, failed, not yet asked.
    planned: usize,
    answered: usize,
    invalid: usize,
    failed: usize,
    pending: usize,
    similarity: Similarities,
    most_similar: Vec<String>,
    least_similar: Vec<String>,
    /// Per item: the model's distribution over the option letters.
    items: Vec<ItemRecord>,
    #[serde(skip)]
    per: BTreeMap<String, Vec<f64>>,
}

impl Figures {
    fn counts(&self) -> Counts {
        Counts { answered: self.answered, invalid: self.invalid, failed: self.failed }
    }
}

/// Reads a survey run's figures.
pub(crate) fn load(store: &Store, run_id: &str) -> Result<Figures, Failure> {
    let (rec, spec) = record::read_spec(store.root(), run_id)
        .ok_or_else(|| Failure::Input(format!("run {run_id:?} is not a survey run")))?;
    let items: Vec<ItemRecord> = record::read_items(store, run_id)?.into_values().collect();
    let questions: Vec<agar_survey::Question> = items.iter().map(ItemRecord::to_question).collect();
    let done: Vec<(usize, &ItemRecord)> =
        items.iter().enumerate().filter(|(_, i)| i.status == AuditState::Done).collect();
    let scored: Vec<Scored> = done
        .iter()
        .filter_map(|(n, i)| {
            Some(Scored {
                question: &questions[*n],
                persona: i.persona.as_deref(),
                answer: i.answer.as_ref()?,
            })
        })
        .collect();
    let countries =
        if spec.prompting == Prompting::CrossNational { &[][..] } else { &spec.countries[..] };
    let per = per_country(&scored, countries);
    let similarity = similarities(&per, IntervalOptions::default());
    let answered = scored.len();
    let invalid = scored.iter().filter(|s| !s.answer.valid).count();
    let failed = items.iter().filter(|i| i.status == AuditState::Failed).count();
    Ok(Figures {
        run_id: run_id.to_string(),
        kind: record::KIND,
        model: rec.models.values().next().cloned().unwrap_or_default(),
        planned: spec.planned,
        answered,
        invalid,
        failed,
        pending: spec.planned.saturating_sub(items.len()),
        most_similar: similarity.most_similar(EXTREMES).iter().map(|c| c.country.clone()).collect(),
        least_similar: similarity
            .least_similar(EXTREMES)
            .iter()
            .map(|c| c.country.clone())
            .collect(),
        similarity,
        survey: spec,
        items,
        per,
    })
}

/// The per-country table as text.
fn table(f: &Figures) -> String {
    let mut s = String::new();
    let spec = &f.survey;
    let method = match (spec.samples, spec.top_logprobs) {
        (Some(k), _) => format!("sample, {k} answers at temperature 1"),
        (_, Some(n)) => format!("logprobs, top {n}"),
        _ => spec.method.label().to_string(),
    };
    let _ = writeln!(s, "survey run {}: model {}", f.run_id, f.model);
    let _ = writeln!(
        s,
        "dataset {}, {} prompting, {method}, invalid below {} on the letters",
        spec.dataset.display(),
        spec.prompting.label(),
        spec.min_mass
    );
    let _ = writeln!(
        s,
        "items: {} planned, {} answered, {} invalid, {} failed, {} not asked yet",
        f.planned, f.answered, f.invalid, f.failed, f.pending
    );
    let sims = &f.similarity;
    let _ = writeln!(
        s,
        "similarity = {} (log base {}), {:.0}% bootstrap interval",
        sims.metric,
        sims.log_base,
        sims.interval.confidence * 100.0
    );
    let width = sims.countries.iter().map(|c| c.country.chars().count()).max().unwrap_or(7).max(7);
    let _ = writeln!(s, "{:<width$}  similarity  interval         questions", "country");
    for c in &sims.countries {
        let interval = c.interval.map_or("-".to_string(), |(lo, hi)| format!("[{lo:.3}, {hi:.3}]"));
        let _ = writeln!(
            s,
            "{:<width$}  {:>10.3}  {interval:<15}  {:>9}",
            c.country, c.similarity, c.questions
        );
    }
    if sims.countries.is_empty() {
        let _ = writeln!(s, "(no valid answer yet)");
    } else {
        let named = |xs: &[String]| xs.join(", ");
        let _ = writeln!(s, "most similar: {}", named(&f.most_similar));
        let _ = writeln!(s, "least similar: {}", named(&f.least_similar));
    }
    s
}

/// Checks gates, failing closed: a run with failed or unasked items cannot
/// be vouched for (exit 2); a condition naming an unknown country is an
/// input error.
fn gates(conditions: &[SurveyCondition], f: &Figures) -> Result<Vec<GateOutcome>, Failure> {
    if conditions.is_empty() {
        return Ok(Vec::new());
    }
    if f.failed > 0 || f.pending > 0 {
        return Err(Failure::Run(format!(
            "--fail-if: {} item(s) failed and {} were not asked; the figures cannot be vouched for (agar resume {})",
            f.failed, f.pending, f.run_id
        )));
    }
    conditions.iter().map(|c| c.check(&f.similarity, f.counts()).map_err(Failure::from)).collect()
}

fn report_gates(gates: &[GateOutcome]) -> crate::Outcome {
    for g in gates.iter().filter(|g| g.held) {
        eprintln!("{}", g.message());
    }
    if gates.iter().any(|g| g.held) { Err(Failure::Gate) } else { Ok(()) }
}

#[derive(Serialize)]
struct WithGates<'a, T: Serialize> {
    #[serde(flatten)]
    inner: &'a T,
    gates: &'a [GateOutcome],
}

fn print_json<T: Serialize>(inner: &T, gates: &[GateOutcome]) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(&WithGates { inner, gates })?;
    println!("{text}");
    Ok(())
}

/// Prints a survey's figures and applies its gates. `asked` (the
/// invocation asked the model) makes failed items exit 2: the run is not
/// finished until `agar resume` asks them again.
pub(crate) fn finish(
    store: &Store,
    run_id: &str,
    conditions: &[SurveyCondition],
    json: bool,
    asked: bool,
) -> crate::Outcome {
    let f = load(store, run_id)?;
    let gated = gates(conditions, &f);
    let shown: &[GateOutcome] = gated.as_deref().unwrap_or(&[]);
    if json {
        print_json(&f, shown)?;
    } else {
        print!("{}", table(&f));
    }
    let outcomes = gated?;
    if f.failed > 0 {
        let message = format!("{} item(s) failed; agar resume {run_id} asks them again", f.failed);
        if asked {
            return Err(Failure::Run(message));
        }
        eprintln!("{message}");
    }
    report_gates(&outcomes)
}

/// `agar show RUN` for a survey run.
pub(crate) fn show(
    store_dir: &Path,
    run_id: &str,
    fail_if: &[String],
    json: bool,
) -> crate::Outcome {
    let conditions = parse_conditions(fail_if, false)?;
    let store = open_store(store_dir)?;
    finish(&store, run_id, &conditions, json, false)
}

#[derive(Serialize)]
struct Comparison<'a> {
    run_a: &'a str,
    run_b: &'a str,
    metric: &'a str,
    countries: &'a [CountryDelta],
}

/// `agar compare A B` for two survey runs: per-country similarity, B minus A.
pub(crate) fn compare(
    store_dir: &Path,
    a: &str,
    b: &str,
    fail_if: &[String],
    json: bool,
) -> crate::Outcome {
    let conditions = parse_conditions(fail_if, true)?;
    let store = open_store(store_dir)?;
    for run in [a, b] {
        if !record::is_survey(store_dir, run) {
            return Err(Failure::Input(format!(
                "run {run:?} is not a survey run: agar compare reads two survey runs or two audit runs"
            )));
        }
    }
    let (fa, fb) = (load(&store, a)?, load(&store, b)?);
    let deltas = agar_survey::compare(&fa.per, &fb.per, IntervalOptions::default());
    let outcomes = if conditions.is_empty() {
        Vec::new()
    } else {
        if fa.failed + fa.pending + fb.failed + fb.pending > 0 {
            return Err(Failure::Run(
                "--fail-if: a run has failed or unasked items; the figures cannot be vouched for"
                    .into(),
            ));
        }
        conditions
            .iter()
            .map(|c| {
                c.check_comparison(&deltas, &fb.similarity, fb.counts()).map_err(Failure::from)
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let cmp = Comparison { run_a: a, run_b: b, metric: &fb.similarity.metric, countries: &deltas };
    if json {
        print_json(&cmp, &outcomes)?;
    } else {
        print!("{}", delta_table(a, b, &deltas));
    }
    report_gates(&outcomes)
}

fn delta_table(a: &str, b: &str, deltas: &[CountryDelta]) -> String {
    let mut s = format!("similarity per country: {b} minus {a} (95% bootstrap interval)\n");
    let width = deltas.iter().map(|d| d.country.chars().count()).max().unwrap_or(7).max(7);
    let _ = writeln!(s, "{:<width$}  {:>7}  {:>7}  {:>7}  interval", "country", "A", "B", "B-A");
    let num = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
    for d in deltas {
        let interval =
            d.interval.map_or("-".to_string(), |(lo, hi)| format!("[{lo:+.3}, {hi:+.3}]"));
        let mark = if d.significant() { "  *" } else { "" };
        let delta = d.delta.map_or("-".to_string(), |v| format!("{v:+.3}"));
        let _ = writeln!(
            s,
            "{:<width$}  {:>7}  {:>7}  {delta:>7}  {interval}{mark}",
            d.country,
            num(d.a),
            num(d.b)
        );
    }
    s.push_str("* the interval excludes 0\n");
    s
}

/// `agar report RUN` for a survey run, in `format` (`md`, `json`, `html`, `csv`).
pub(crate) fn report(store_dir: &Path, run_id: &str, format: &str) -> Result<String, Failure> {
    let store = open_store(store_dir)?;
    let f = load(&store, run_id)?;
    Ok(match format {
        "json" => serde_json::to_string_pretty(&f)? + "\n",
        "csv" => agar_survey::chart::csv(&f.similarity),
        "html" => {
            let facts: Vec<String> = table(&f).lines().take(3).map(str::to_string).collect();
            agar_survey::chart::html_page(&format!("agar survey {run_id}"), &facts, &f.similarity)
        }
        "md" => format!("```text\n{}```\n", table(&f)),
        other => {
            return Err(Failure::Input(format!("--format {other} does not apply to survey runs")));
        }
    })
}
