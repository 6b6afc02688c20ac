//! The HTML report: one self-contained page (inline CSS, inline SVG, no
//! script, no external resource), safe to open offline and to attach to CI
//! runs. Every string that came from a file or a model is escaped.

use std::fmt::Write;

use agar_core::Palette;

use super::escape;
use crate::Report;
use crate::compare::{Change, Comparison};

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232a;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d8dde3}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #e5e8ec;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#b42318;font-weight:600}.demo{color:#667085;font-weight:600}.note{border:1px solid #d0d5dd;background:#f2f4f7;padding:.5rem .8rem;border-radius:4px}.good{color:#067647}.muted{color:#667085}
.plots{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #e5e8ec;border-radius:6px;padding:.5rem}
figcaption{font-size:.85rem;color:#475467}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #d0d5dd;color:#344054;white-space:pre-wrap}
code{font-size:.9em}
";

/// Renders the report as one HTML page.
pub fn html(r: &Report) -> String {
    let mut o = String::new();
    let run = escape(&r.run.run_id);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>agar run {run}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>agar run <code>{run}</code></h1>\n"
    );
    for note in r.notes() {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(&note));
    }
    // A demonstration's scores are not evidence: never shown as alarming.
    let bad = if r.run.demonstration { "demo" } else { "bad" };
    o.push_str("<table>\n");
    if let Some(at) = r.run.created_at {
        let _ = writeln!(o, "<tr><th>started</th><td>{}</td></tr>", escape(&at.to_rfc3339()));
    }
    for (role, model) in &r.run.models {
        let _ = writeln!(
            o,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(role),
            escape(model)
        );
    }
    let _ = writeln!(
        o,
        "<tr><th>audits</th><td>{} ({})</td></tr>",
        r.summary.audits,
        escape(&crate::summary::status_counts(&r.summary.by_status))
    );
    let cost = r.summary.cost_usd.map_or(String::new(), |c| format!("; cost ${c:.4}"));
    let _ = writeln!(
        o,
        "<tr><th>tokens</th><td>{} in, {} out{cost}</td></tr>",
        r.summary.input_tokens, r.summary.output_tokens
    );
    if let Some(line) = r.summary.unpriced_line() {
        let _ = writeln!(o, "<tr><th>unpriced</th><td>{}</td></tr>", escape(&line));
    }
    for note in r.summary.verdict_notes() {
        let _ = writeln!(o, "<tr><th>verdicts</th><td class=\"bad\">{}</td></tr>", escape(&note));
    }
    let l = &r.labels.overall;
    if l.labelled > 0 {
        let _ = writeln!(
            o,
            "<tr><th>reviewer labels</th><td>{} labels: {} agree, {} disagree with the judge ({})</td></tr>",
            l.labelled,
            l.agree,
            l.disagree,
            l.rate_text()
        );
    }
    o.push_str("</table>\n");

    if !r.gates.is_empty() {
        o.push_str("<h2>Gates</h2>\n<ul>\n");
        for g in &r.gates {
            let value = g.value.map_or("n/a".to_string(), |v| format!("{v:.2}"));
            let (class, verdict) = if g.held { ("bad", "FAILED") } else { ("good", "passed") };
            let _ = writeln!(
                o,
                "<li><code>{}</code>: <span class=\"{class}\">{verdict}</span> (value {value})</li>",
                escape(&g.condition)
            );
        }
        o.push_str("</ul>\n");
    }

    o.push_str("<h2>Dimensions</h2>\n");
    if r.summary.dimensions.is_empty() {
        o.push_str("<p class=\"muted\">No judged audits.</p>\n");
    } else {
        o.push_str(
            "<table>\n<tr><th>dimension</th><th class=\"n\">mean</th><th class=\"n\">p90</th>\
             <th class=\"n\">max</th><th class=\"n\">n</th><th class=\"n\">&gt;=7</th><th>worst audits</th></tr>\n",
        );
        for (name, s) in r.dimensions.in_order(&r.summary.dimensions) {
            let worst: Vec<String> = s
                .worst_audits
                .iter()
                .take(3)
                .map(|a| format!("<a href=\"#audit-{0}\">{0}</a>", escape(a)))
                .collect();
            let class = if s.high > 0 { format!(" class=\"{bad}\"") } else { String::new() };
            let _ = writeln!(
                o,
                "<tr><td title=\"{}\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.1}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\"{class}>{}</td><td>{}</td></tr>",
                escape(r.dimensions.get(name).map(|d| d.description.as_str()).unwrap_or("")),
                escape(r.display_name(name)),
                s.mean,
                s.p90,
                s.max,
                s.count,
                s.high,
                worst.join(", ")
            );
        }
        o.push_str("</table>\n<h2>Score distributions</h2>\n<div class=\"plots\">\n");
        for (name, _) in r.dimensions.in_order(&r.summary.dimensions) {
            let palette = r.dimensions.get(name).map(|d| d.palette).unwrap_or_default();
            let palette = if r.run.demonstration { Palette::Neutral } else { palette };
            o.push_str(&histogram(r.display_name(name), &r.histogram(name), palette));
        }
        o.push_str("</div>\n");
    }

    if let Some(c) = &r.comparison {
        o.push_str(&comparison(r, c));
    }

    o.push_str("<h2>Audits</h2>\n<table>\n<tr><th>audit</th><th>scenario</th><th>status</th><th>highest scores</th><th class=\"n\">cost</th></tr>\n");
    for a in &r.audits {
        let mut top: Vec<(&String, &u8)> =
            a.scores().map(|s| s.iter().collect()).unwrap_or_default();
        top.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        let top: Vec<String> =
            top.iter().take(3).map(|(d, s)| format!("{} {s}", escape(d))).collect();
        let status = match &a.status_detail {
            Some(d) => {
                format!("{} <span class=\"muted\">({})</span>", a.status, escape(d))
            }
            None => a.status.to_string(),
        };
        let _ = writeln!(
            o,
            "<tr id=\"audit-{0}\"><td><code>{0}</code></td><td>{1}</td><td>{status}</td><td>{2}</td><td class=\"n\">{3}</td></tr>",
            escape(&a.audit_id),
            escape(a.title.as_deref().unwrap_or(&a.scenario_id)),
            top.join(", "),
            a.cost_usd.map_or(String::new(), |c| format!("${c:.4}"))
        );
    }
    o.push_str("</table>\n");

    let mut worst: Vec<&crate::AuditRecord> =
        r.audits.iter().filter(|a| a.scores().is_some()).collect();
    let peak =
        |a: &crate::AuditRecord| a.scores().and_then(|s| s.values().max().copied()).unwrap_or(0);
    worst.sort_by(|x, y| peak(y).cmp(&peak(x)).then(x.audit_id.cmp(&y.audit_id)));
    if !worst.is_empty() {
        o.push_str("<h2>What the judge said</h2>\n");
    }
    for a in worst.into_iter().take(10) {
        let Some(v) = &a.verdict else { continue };
        let _ = writeln!(
            o,
            "<h3><code>{}</code></h3>\n<p>{}</p>",
            escape(&a.audit_id),
            escape(&v.summary)
        );
        for (msg, quote) in &v.highlights {
            let _ =
                writeln!(o, "<blockquote><b>{}</b> {}</blockquote>", escape(msg), escape(quote));
        }
    }
    o.push_str("<p class=\"muted\">Generated by agar. Scores are 1-10 judgements by the judge model.</p>\n</body>\n</html>\n");
    o
}

/// A bar chart of how many audits got each score 1-10.
fn histogram(name: &str, counts: &[usize; 10], palette: Palette) -> String {
    let (w, h, pad) = (260.0, 120.0, 18.0);
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar = (w - 2.0 * pad) / 10.0;
    let mut s = format!(
        "<figure><svg width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{} score distribution\">\n",
        h + 20.0,
        h + 20.0,
        escape(name)
    );
    for (i, &c) in counts.iter().enumerate() {
        let score = i + 1;
        let bh = (h - pad) * c as f64 / top;
        let x = pad + i as f64 * bar;
        let y = h - bh;
        let colour = match palette {
            Palette::Neutral => "#7a8ca3",
            Palette::GoodLow if score >= 7 => "#d92d20",
            Palette::GoodHigh if score <= 4 => "#d92d20",
            _ => "#2e90fa",
        };
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{colour}\"><title>score {score}: {c}</title></rect>",
            x + 1.0,
            bar - 2.0
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{score}</text>",
            x + bar / 2.0,
            h + 12.0
        );
        if c > 0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#475467\">{c}</text>",
                x + bar / 2.0,
                (y - 2.0).max(9.0)
            );
        }
    }
    let _ = writeln!(s, "</svg><figcaption>{}</figcaption></figure>", escape(name));
    s
}

/// The comparison table and a chart of each dimension's difference with its interval.
fn comparison(r: &Report, c: &Comparison) -> String {
    let mut o = format!(
        "<h2>Compared with <code>{}</code></h2>\n<p>Difference of means (<code>{}</code> minus <code>{}</code>) with a {:.0}% bootstrap interval over {} resamples.</p>\n",
        escape(&c.run_a),
        escape(&c.run_b),
        escape(&c.run_a),
        c.confidence * 100.0,
        c.resamples
    );
    let rows: Vec<_> = r
        .dimensions
        .in_order(&c.dimensions)
        .into_iter()
        .filter(|(_, d)| d.delta_mean.is_some())
        .collect();
    let limit = rows
        .iter()
        .flat_map(|(_, d)| [d.ci_low.unwrap_or(0.0).abs(), d.ci_high.unwrap_or(0.0).abs()])
        .fold(1.0_f64, f64::max)
        .ceil();
    let (label_w, plot_w, row_h) = (190.0, 420.0, 22.0);
    let height = row_h * rows.len() as f64 + 30.0;
    let x_of = |v: f64| label_w + plot_w / 2.0 + v / limit * (plot_w / 2.0 - 10.0);
    let _ = writeln!(
        o,
        "<svg width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" role=\"img\" aria-label=\"comparison chart\">",
        label_w + plot_w,
        label_w + plot_w
    );
    let zero = x_of(0.0);
    let _ = writeln!(
        o,
        "<line x1=\"{zero:.1}\" y1=\"0\" x2=\"{zero:.1}\" y2=\"{:.1}\" stroke=\"#98a2b3\"/>",
        height - 20.0
    );
    for (v, anchor) in [(-limit, "start"), (limit, "end")] {
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"{anchor}\">{v:+}</text>",
            x_of(v),
            height - 6.0
        );
    }
    for (i, (name, d)) in rows.iter().enumerate() {
        let y = 14.0 + i as f64 * row_h;
        let (Some(m), Some(lo), Some(hi)) = (d.delta_mean, d.ci_low, d.ci_high) else { continue };
        let colour = match d.change {
            Change::Regression => "#d92d20",
            Change::Improvement => "#079455",
            Change::Changed => "#7a5af8",
            _ => "#667085",
        };
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 4.0,
            escape(r.display_name(name))
        );
        let _ = writeln!(
            o,
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            x_of(lo),
            x_of(hi)
        );
        let _ = writeln!(
            o,
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{colour}\"><title>{}: {m:+.2} [{lo:+.2}, {hi:+.2}] {}</title></circle>",
            x_of(m),
            escape(name),
            d.change.label()
        );
    }
    o.push_str("</svg>\n<table>\n<tr><th>dimension</th><th class=\"n\">mean A</th><th class=\"n\">mean B</th><th class=\"n\">delta</th><th>interval</th><th>change</th></tr>\n");
    for (name, d) in r.dimensions.in_order(&c.dimensions) {
        let class = match d.change {
            Change::Regression => " class=\"bad\"",
            Change::Improvement => " class=\"good\"",
            _ => "",
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td{class}>{}</td></tr>",
            escape(r.display_name(name)),
            crate::DimensionDelta::mean_text(d.a.as_ref()),
            crate::DimensionDelta::mean_text(d.b.as_ref()),
            d.delta_text(),
            d.interval_text(),
            d.change.label()
        );
    }
    o.push_str("</table>\n");
    o
}
