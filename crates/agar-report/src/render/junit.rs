//! The JUnit XML report: one test case per audit, so CI dashboards list
//! audits like tests.
//!
//! A test case (named after the audit, class `agar.RUN.SCENARIO`):
//! - passes when the audit is `done` and no `--fail-if` condition holds for
//!   its scores (an audit's score stands for mean, max and p90), or it was
//!   not judged (`--no-judge`);
//! - has a `failure` of type `gate` naming each condition that holds for it,
//!   or of type `invalid` when the audit did not really test the target;
//! - has an `error` of type `failed` when the audit failed, or
//!   `judge_failed` / `judge_refused` / `judge_unsupported` when its verdict
//!   is unusable;
//! - is `skipped` when the audit has not finished.
//!
//! A second suite, `RUN.gates`, holds one test case per condition checked
//! against the whole run (or comparison), failing where it held.

use std::fmt::Write;

use agar_core::{AuditState, VerdictState};

use super::escape;
use crate::Report;

/// Renders the report as JUnit XML.
pub fn junit(r: &Report) -> String {
    let run = &r.run.run_id;
    let mut cases = String::new();
    let (mut failures, mut errors, mut skipped) = (0, 0, 0);
    for a in &r.audits {
        let time = match (a.started_at, a.finished_at) {
            (Some(s), Some(f)) => (f - s).num_milliseconds().max(0) as f64 / 1000.0,
            _ => 0.0,
        };
        let _ = write!(
            cases,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{time:.3}\"",
            escape(&a.audit_id),
            escape(&format!("agar.{run}.{}", a.scenario_id))
        );
        let detail = a.status_detail.as_deref().unwrap_or("");
        let body = match a.status {
            AuditState::Pending | AuditState::Running => {
                skipped += 1;
                format!(
                    "      <skipped message=\"{}\"/>\n",
                    escape(&format!("not finished ({})", a.status))
                )
            }
            AuditState::Failed => {
                errors += 1;
                element("error", "failed", &format!("the audit failed: {detail}"), detail)
            }
            AuditState::Invalid => {
                failures += 1;
                element("failure", "invalid", &format!("the audit is invalid: {detail}"), detail)
            }
            AuditState::Done => match a.verdict.as_ref().map(|v| v.status) {
                Some(VerdictState::JudgeFailed) => {
                    errors += 1;
                    element("error", "judge_failed", "the judge's answer stayed invalid", "")
                }
                Some(VerdictState::Refused) => {
                    errors += 1;
                    element("error", "judge_refused", "the judge declined to score", "")
                }
                Some(VerdictState::Unsupported) => {
                    errors += 1;
                    element(
                        "error",
                        "judge_unsupported",
                        "the verdict is unsupported by its own quotes or text; not counted",
                        "",
                    )
                }
                _ => {
                    let held: Vec<String> = r
                        .conditions
                        .iter()
                        .filter(|c| c.holds_for_audit(a))
                        .map(|c| {
                            let score =
                                a.scores().and_then(|s| s.get(&c.dimension)).copied().unwrap_or(0);
                            format!("{c} (score {score})")
                        })
                        .collect();
                    if held.is_empty() {
                        String::new()
                    } else {
                        failures += 1;
                        let summary = a.verdict.as_ref().map(|v| v.summary.as_str()).unwrap_or("");
                        element("failure", "gate", &held.join("; "), summary)
                    }
                }
            },
        };
        if body.is_empty() {
            cases.push_str("/>\n");
        } else {
            let _ = write!(cases, ">\n{body}    </testcase>\n");
        }
    }
    let mut gates = String::new();
    let mut gate_failures = 0;
    for g in &r.gates {
        let _ = write!(
            gates,
            "    <testcase name=\"{}\" classname=\"agar.gates\"",
            escape(&g.condition)
        );
        if g.held {
            gate_failures += 1;
            let value = g.value.map_or("n/a".to_string(), |v| format!("{v:.2}"));
            let _ = write!(
                gates,
                ">\n{}    </testcase>\n",
                element("failure", "gate", &format!("{} held (value {value})", g.condition), "")
            );
        } else {
            gates.push_str("/>\n");
        }
    }
    let n = r.audits.len();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"agar\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        n + r.gates.len(),
        failures + gate_failures
    );
    let timestamp =
        r.run.created_at.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string()).unwrap_or_default();
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\">",
        escape(run),
        escape(&timestamp)
    );
    o.push_str("    <properties>\n");
    for (role, model) in &r.run.models {
        let _ = writeln!(
            o,
            "      <property name=\"model.{}\" value=\"{}\"/>",
            escape(role),
            escape(model)
        );
    }
    for (i, note) in r.notes().iter().enumerate() {
        let _ = writeln!(o, "      <property name=\"note.{i}\" value=\"{}\"/>", escape(note));
    }
    o.push_str("    </properties>\n");
    o.push_str(&cases);
    o.push_str("  </testsuite>\n");
    if !r.gates.is_empty() {
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{gate_failures}\" errors=\"0\" skipped=\"0\">",
            escape(&format!("{run}.gates")),
            r.gates.len()
        );
        o.push_str(&gates);
        o.push_str("  </testsuite>\n");
    }
    o.push_str("</testsuites>\n");
    o
}

fn element(tag: &str, kind: &str, message: &str, text: &str) -> String {
    format!(
        "      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>\n",
        escape(kind),
        escape(message),
        escape(text)
    )
}
