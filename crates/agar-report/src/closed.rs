//! Gates that fail closed: the one place `agar audit`, `show` and `compare`
//! (and `resume`) evaluate `--fail-if`. A gate is evaluated only over audits
//! judged with a supported verdict (status `ok`); when it cannot vouch for
//! the run it says why instead of passing:
//!
//! 1. a condition naming a dimension the run neither planned nor scored is
//!    an input error ([`GateBlock::UnknownDimension`], exit 1), with the
//!    nearest known name when there is one;
//! 2. any audit that ended `done` without a usable verdict (the judge failed
//!    past its retries, refused, or was `unsupported`; or no verdict at all
//!    when a judge was expected) blocks the gate ([`GateBlock::Unjudged`],
//!    exit 2), on either side of a comparison, unless a condition names
//!    `unjudged.count` or `unjudged.share`: that condition then says how
//!    many unjudged audits the gate tolerates (exit 3 when it holds);
//! 3. a dimension that no judged audit scored is an input error
//!    ([`GateBlock::NotScored`], exit 1): a condition on it could never hold.
//!
//! Only then are the conditions read ([`check_run`], [`check_comparison`]).

use std::collections::BTreeSet;

use crate::compare::Comparison;
use crate::gate::{Condition, GateOutcome, check_comparison, check_run};
use crate::summary::RunSummary;

/// One run as a gate reads it.
#[derive(Debug, Clone, Copy)]
pub struct GatedRun<'a> {
    /// The run's id, to name it in messages.
    pub run_id: &'a str,
    pub summary: &'a RunSummary,
    /// Whether the run was meant to be judged (`run.json`'s `settings.judge`).
    pub judge_expected: bool,
    /// Dimension names the run planned to judge.
    pub planned: &'a BTreeSet<String>,
}

/// Why a gate was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateBlock {
    /// A condition names a dimension the run never planned or scored.
    #[error("--fail-if {condition}: no dimension `{dimension}` in run {run}{hint}")]
    UnknownDimension { condition: String, dimension: String, run: String, hint: String },
    /// Audits without a usable verdict: the gate cannot vouch for the run.
    #[error(
        "--fail-if not evaluated: {count} of {audits} audits of run {run} were not judged \
         ({why}); a gate reads only audits with a supported verdict (re-judge them with \
         `agar judge {run} --only-unjudged`)"
    )]
    Unjudged { run: String, count: usize, audits: usize, why: String },
    /// A planned dimension that no judged audit scored.
    #[error("--fail-if {condition}: no judged audit of run {run} scored `{dimension}`")]
    NotScored { condition: String, dimension: String, run: String },
}

impl GateBlock {
    /// Whether this is the user's mistake (exit 1) rather than a run that
    /// cannot be vouched for (exit 2).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, GateBlock::Unjudged { .. })
    }
}

/// Checks that every dimension a condition names is known to `run`
/// (planned or scored); `candidates` are further names to suggest from
/// (the built-in library). Usable before a run starts, with `planned` only.
pub fn check_names(
    conditions: &[Condition],
    run: &GatedRun<'_>,
    candidates: &[&str],
) -> Result<(), GateBlock> {
    for c in conditions.iter().filter(|c| !c.is_run_level()) {
        let d = c.dimension.as_str();
        if run.planned.contains(d) || run.summary.dimensions.contains_key(d) {
            continue;
        }
        let known = run
            .planned
            .iter()
            .map(String::as_str)
            .chain(run.summary.dimensions.keys().map(String::as_str))
            .chain(candidates.iter().copied());
        let hint = nearest(d, known).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
        return Err(GateBlock::UnknownDimension {
            condition: c.to_string(),
            dimension: d.to_string(),
            run: run.run_id.to_string(),
            hint,
        });
    }
    Ok(())
}

/// Blocks when `run` has audits without a usable verdict, unless a
/// condition on `unjudged` decides how many are tolerated.
fn check_judged(conditions: &[Condition], run: &GatedRun<'_>) -> Result<(), GateBlock> {
    if conditions.iter().any(|c| c.is_run_level() && c.dimension == "unjudged") {
        return Ok(());
    }
    let s = run.summary;
    let count = s.unjudged(run.judge_expected);
    if count == 0 {
        return Ok(());
    }
    let mut why = Vec::new();
    for (n, what) in [
        (s.judge_failed, "the judge failed past its retries"),
        (s.judge_refused, "the judge refused"),
        (s.judge_unsupported, "the verdict is unsupported"),
        (if run.judge_expected { s.not_judged } else { 0 }, "no verdict"),
    ] {
        if n > 0 {
            why.push(format!("{n}: {what}"));
        }
    }
    Err(GateBlock::Unjudged {
        run: run.run_id.to_string(),
        count,
        audits: s.audits,
        why: why.join(", "),
    })
}

/// Blocks when a condition's dimension has no score in `run`.
fn check_scored(conditions: &[Condition], run: &GatedRun<'_>) -> Result<(), GateBlock> {
    match conditions
        .iter()
        .find(|c| !c.is_run_level() && !run.summary.dimensions.contains_key(&c.dimension))
    {
        Some(c) => Err(GateBlock::NotScored {
            condition: c.to_string(),
            dimension: c.dimension.clone(),
            run: run.run_id.to_string(),
        }),
        None => Ok(()),
    }
}

/// Evaluates run conditions, failing closed (see the module's rules).
/// With no condition there is nothing to vouch for: always `Ok(vec![])`.
pub fn gate_run(
    conditions: &[Condition],
    run: &GatedRun<'_>,
    candidates: &[&str],
) -> Result<Vec<GateOutcome>, GateBlock> {
    if conditions.is_empty() {
        return Ok(Vec::new());
    }
    check_names(conditions, run, candidates)?;
    check_judged(conditions, run)?;
    check_scored(conditions, run)?;
    Ok(check_run(conditions, run.summary, run.judge_expected))
}

/// Evaluates conditions over a comparison of `a` (baseline) and `b`, failing
/// closed on either side; `gated` says whether any gate applies (conditions
/// or `--fail-on-regression`).
pub fn gate_comparison(
    conditions: &[Condition],
    cmp: &Comparison,
    a: &GatedRun<'_>,
    b: &GatedRun<'_>,
    gated: bool,
    candidates: &[&str],
) -> Result<Vec<GateOutcome>, GateBlock> {
    if !gated && conditions.is_empty() {
        return Ok(Vec::new());
    }
    // A `delta.` condition reads both runs; a plain one reads `b` only.
    let deltas: Vec<Condition> = conditions.iter().filter(|c| c.delta).cloned().collect();
    check_names(conditions, b, candidates)?;
    check_names(&deltas, a, candidates)?;
    // Run-level conditions read `b`: they never excuse the baseline.
    check_judged(&[], a)?;
    check_judged(conditions, b)?;
    check_scored(conditions, b)?;
    check_scored(&deltas, a)?;
    Ok(check_comparison(conditions, cmp, Some((b.summary, b.judge_expected))))
}

/// The name in `known` nearest to `name` by edit distance, when it is close
/// enough to be a misspelling (at most 2 edits, or a third of its length).
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_conditions;
    use crate::record::{AuditRecord, VerdictFacts};
    use crate::summary::summarize_records;

    fn rec(id: &str, status: &str, verdict: Option<(&str, u8)>) -> AuditRecord {
        let mut r = AuditRecord::unfinished(id, id, status.parse().unwrap());
        r.verdict = verdict.map(|(st, score)| VerdictFacts {
            status: st.parse().unwrap(),
            judge_model: "j".into(),
            scores: [("concerning".to_string(), score)].into(),
            samples: Default::default(),
            unverified_citations: 0,
            summary: String::new(),
            highlights: vec![],
        });
        r
    }

    fn gate(records: &[AuditRecord], conditions: &[&str]) -> Result<Vec<GateOutcome>, GateBlock> {
        let summary = summarize_records(records);
        let planned: BTreeSet<String> = ["concerning".to_string()].into();
        let run =
            GatedRun { run_id: "r", summary: &summary, judge_expected: true, planned: &planned };
        let cs: Vec<String> = conditions.iter().map(|c| c.to_string()).collect();
        gate_run(&parse_conditions(&cs, false).unwrap(), &run, &["sycophancy"])
    }

    #[test]
    fn an_unjudged_audit_blocks_every_gate() {
        for bad in ["judge_failed", "refused", "unsupported"] {
            let records = [rec("a", "done", Some(("ok", 2))), rec("b", "done", Some((bad, 9)))];
            let e = gate(&records, &["concerning.max>5"]).unwrap_err();
            assert!(!e.is_input_error());
            assert!(e.to_string().contains("1 of 2 audits of run r were not judged"), "{e}");
        }
        let records = [rec("a", "done", Some(("ok", 2))), rec("b", "done", None)];
        assert!(
            gate(&records, &["concerning.max>5"])
                .unwrap_err()
                .to_string()
                .contains("1: no verdict")
        );
        assert_eq!(gate(&records, &[]), Ok(vec![]), "no condition, nothing to vouch for");
        // A condition on `unjudged` says itself how many are tolerated.
        let out = gate(&records, &["unjudged.count>1", "concerning.max>5"]).unwrap();
        assert!(out.iter().all(|g| !g.held), "{out:?}");
        let out = gate(&records, &["unjudged.count>0"]).unwrap();
        assert!(out[0].held);
    }

    #[test]
    fn unknown_and_unscored_dimensions_are_input_errors() {
        let records = [rec("a", "done", Some(("ok", 2)))];
        let e = gate(&records, &["concernin.max>3"]).unwrap_err();
        assert!(e.is_input_error());
        assert_eq!(
            e.to_string(),
            "--fail-if concernin.max>3: no dimension `concernin` in run r (did you mean `concerning`?)"
        );
        let e = gate(&records, &["no_such_dimension.max>3"]).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        let invalid = [rec("a", "invalid", None)];
        let e = gate(&invalid, &["concerning.max>3"]).unwrap_err();
        assert!(matches!(e, GateBlock::NotScored { .. }), "{e}");
    }

    #[test]
    fn run_level_names_read_the_audits() {
        let records = [
            rec("a", "done", Some(("ok", 2))),
            rec("b", "invalid", None),
            rec("c", "failed", None),
            rec("d", "done", Some(("ok", 8))),
        ];
        let out = gate(
            &records,
            &[
                "invalid.share>0.2",
                "invalid.count>=2",
                "failed.count>0",
                "unjudged.count>0",
                "concerning.max>7",
            ],
        )
        .unwrap();
        let held: Vec<bool> = out.iter().map(|g| g.held).collect();
        assert_eq!(held, [true, false, true, false, true]);
        assert_eq!(out[0].value, Some(0.25));
    }

    #[test]
    fn nearest_names_are_close_ones_only() {
        assert_eq!(nearest("sycophancyy", ["sycophancy", "deception"]), Some("sycophancy"));
        assert_eq!(nearest("xyz", ["sycophancy"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
