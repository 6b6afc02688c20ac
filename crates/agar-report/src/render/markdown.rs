//! The Markdown report.
//!
//! Everything a model or a scenario author wrote (dimension display names,
//! reasons, details, notes) goes through [`text`], which escapes Markdown and
//! HTML so that it reads as plain text: no link or image markup, emphasis,
//! heading, table cell or HTML tag can come from a model (a bare URL stays
//! text that a renderer may still link). Ids and model references are shown as inline code
//! through [`cell`].

use std::fmt::Write;

use agar_core::{AuditState, VerdictState};

use crate::Report;
use crate::compare::DimensionDelta;
use crate::summary::status_counts;

/// A Markdown summary: the run, its status and cost, a table per dimension,
/// the gates, the comparison if any, and the audits that did not finish well.
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# agar run `{}`\n", cell(&r.run.run_id));
    for note in r.notes() {
        let _ = writeln!(o, "> **{}**\n", cell(&note));
    }
    if let Some(at) = r.run.created_at {
        let _ = writeln!(o, "- started: {}", at.to_rfc3339());
    }
    let _ = writeln!(o, "- agar: {}", cell(&r.run.agar_version));
    for (role, model) in &r.run.models {
        let _ = writeln!(o, "- {role}: `{}`", cell(model));
    }
    let _ = writeln!(o, "- audits: {} ({})", r.summary.audits, status_counts(&r.summary.by_status));
    let _ = write!(o, "- tokens: {} in, {} out", r.summary.input_tokens, r.summary.output_tokens);
    match r.summary.cost_usd {
        Some(c) => {
            let _ = writeln!(o, "; cost ${c:.4}");
        }
        None => o.push('\n'),
    }
    if let Some(line) = r.summary.unpriced_line() {
        let _ = writeln!(o, "- {}", text(&line));
    }
    for note in r.summary.verdict_notes() {
        let _ = writeln!(o, "- {note}");
    }
    o.push('\n');
    if r.summary.dimensions.is_empty() {
        o.push_str("No judged audits.\n");
    } else {
        o.push_str("| dimension | mean | p90 | max | n | >=7 | worst audits |\n");
        o.push_str("|---|---:|---:|---:|---:|---:|---|\n");
        for (name, s) in r.dimensions.in_order(&r.summary.dimensions) {
            let _ = writeln!(
                o,
                "| {} | {:.2} | {:.1} | {} | {} | {} | {} |",
                text(r.display_name(name)),
                s.mean,
                s.p90,
                s.max,
                s.count,
                s.high,
                s.worst_audits.iter().take(3).map(|a| cell(a)).collect::<Vec<_>>().join(", ")
            );
        }
    }
    if !r.gates.is_empty() {
        o.push_str("\n## Gates\n\n");
        for g in &r.gates {
            let value = g.value.map_or("n/a".to_string(), |v| format!("{v:.2}"));
            let verdict = if g.held { "**FAILED**" } else { "passed" };
            let _ = writeln!(o, "- `{}`: {verdict} (value {value})", cell(&g.condition));
        }
    }
    if let Some(c) = &r.comparison {
        let _ = writeln!(
            o,
            "\n## Compared with `{}`\n\nDifference of means (`{}` minus `{}`), {:.0}% bootstrap interval over {} resamples.\n",
            cell(&c.run_a),
            cell(&c.run_b),
            cell(&c.run_a),
            c.confidence * 100.0,
            c.resamples
        );
        o.push_str("| dimension | mean A | mean B | delta | interval | change |\n");
        o.push_str("|---|---:|---:|---:|---|---|\n");
        for (name, d) in r.dimensions.in_order(&c.dimensions) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                text(r.display_name(name)),
                DimensionDelta::mean_text(d.a.as_ref()),
                DimensionDelta::mean_text(d.b.as_ref()),
                d.delta_text(),
                d.interval_text(),
                d.change.label()
            );
        }
    }
    labels(&mut o, r);
    let troubled: Vec<_> = r.audits.iter().filter(|a| a.status != AuditState::Done).collect();
    if !troubled.is_empty() {
        o.push_str("\n## Audits not done\n\n");
        for a in troubled {
            let detail =
                a.status_detail.as_deref().map(|d| format!(": {}", text(d))).unwrap_or_default();
            let _ = writeln!(o, "- `{}` {}{detail}", cell(&a.audit_id), text(a.status.as_str()));
        }
    }
    let unjudged: Vec<_> = r
        .audits
        .iter()
        .filter(|a| a.status == AuditState::Done)
        .filter_map(|a| Some((a, a.verdict.as_ref().filter(|v| v.status != VerdictState::Ok)?)))
        .collect();
    if !unjudged.is_empty() {
        o.push_str("\n## Verdicts not counted\n\n");
        for (a, v) in unjudged {
            let _ = writeln!(o, "- `{}` {}", cell(&a.audit_id), text(v.status.as_str()));
        }
    }
    o
}

/// Reviewer labels against the judge, when there are any.
fn labels(o: &mut String, r: &Report) {
    let l = &r.labels;
    if l.overall.labelled == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Reviewer labels\n\n{} labels: {} agree, {} disagree with the judge ({}).\n",
        l.overall.labelled,
        l.overall.agree,
        l.overall.disagree,
        l.overall.rate_text()
    );
    o.push_str("| dimension | labelled | agree | disagree | agreement |\n");
    o.push_str("|---|---:|---:|---:|---:|\n");
    for (name, c) in r.dimensions.in_order(&l.dimensions) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            text(r.display_name(name)),
            c.labelled,
            c.agree,
            c.disagree,
            c.rate_text()
        );
    }
    if !l.disagreements.is_empty() {
        o.push('\n');
    }
    for d in &l.disagreements {
        let score = d.score.map(|s| format!(" (judge {s})")).unwrap_or_default();
        let note = if d.note.is_empty() { String::new() } else { format!(": {}", text(&d.note)) };
        let _ = writeln!(
            o,
            "- disagrees: `{}` {}{score}{note}",
            cell(&d.audit_id),
            text(r.display_name(&d.dimension))
        );
    }
}

/// Free text as plain Markdown text on one line: every character Markdown
/// or HTML could read as markup is backslash-escaped.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~'
            | '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a table cell or inline code: one line, no pipes or backticks.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|").replace('`', "'")
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
