//! Renderings of a survey's figures with no IO: a horizontal SVG bar chart
//! of per-country similarity with interval whiskers, a self-contained HTML
//! page around it, and a CSV of the per-country figures that a mapping tool
//! can join on the country column.

use std::fmt::Write;

pub use agar_report::render::escape;

use crate::metric::Similarities;

const ROW: f64 = 18.0;
const LABEL: f64 = 190.0;
const BAR: f64 = 420.0;

/// One bar per country (most similar first) from 0 to its similarity on a
/// 0-1 axis, with a whisker over its bootstrap interval.
pub fn svg_bars(sims: &Similarities) -> String {
    let rows = sims.countries.len();
    let height = 30.0 + ROW * rows as f64;
    let width = LABEL + BAR + 70.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="survey-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="similarity per country">"#
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = LABEL + BAR * tick;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="14" x2="{x}" y2="{height}" stroke="#ddd"/><text x="{x}" y="10" font-size="9" text-anchor="middle">{tick}</text>"##
        );
    }
    for (i, c) in sims.countries.iter().enumerate() {
        let y = 18.0 + ROW * i as f64;
        let name = escape(&c.country);
        let w = BAR * c.similarity.clamp(0.0, 1.0);
        let _ = write!(
            s,
            r##"<text x="{lx}" y="{ty}" font-size="11" text-anchor="end">{name}</text><rect x="{LABEL}" y="{y}" width="{w:.1}" height="{bh}" fill="#4a7fb5"><title>{name}: {sim:.3} over {n} question(s)</title></rect>"##,
            lx = LABEL - 6.0,
            ty = y + 11.0,
            bh = ROW - 5.0,
            sim = c.similarity,
            n = c.questions,
        );
        if let Some((lo, hi)) = c.interval {
            let (x1, x2) = (LABEL + BAR * lo.clamp(0.0, 1.0), LABEL + BAR * hi.clamp(0.0, 1.0));
            let ym = y + (ROW - 5.0) / 2.0;
            let _ = write!(
                s,
                r##"<line x1="{x1:.1}" y1="{ym}" x2="{x2:.1}" y2="{ym}" stroke="#222"/><line x1="{x1:.1}" y1="{a}" x2="{x1:.1}" y2="{b}" stroke="#222"/><line x1="{x2:.1}" y1="{a}" x2="{x2:.1}" y2="{b}" stroke="#222"/>"##,
                a = ym - 4.0,
                b = ym + 4.0,
            );
        }
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty}" font-size="10">{sim:.3}</text>"#,
            x = LABEL + BAR + 6.0,
            ty = y + 11.0,
            sim = c.similarity
        );
    }
    s.push_str("</svg>");
    s
}

/// A self-contained HTML page: a title, lines of facts about the run, the
/// chart, and the table.
pub fn html_page(title: &str, facts: &[String], sims: &Similarities) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        s,
        "<title>{t}</title><style>body{{font-family:sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:left}}\
         td.n{{text-align:right}}</style></head><body><h1>{t}</h1>",
        t = escape(title)
    );
    for f in facts {
        let _ = write!(s, "<p>{}</p>", escape(f));
    }
    let _ = write!(
        s,
        "<p>Similarity: {} (log base {}), {:.0}% bootstrap interval over questions.</p>",
        escape(&sims.metric),
        sims.log_base,
        sims.interval.confidence * 100.0
    );
    s.push_str(&svg_bars(sims));
    s.push_str(
        "<table><tr><th>country</th><th>similarity</th><th>interval</th><th>questions</th></tr>",
    );
    for c in &sims.countries {
        let interval = c.interval.map_or("-".into(), |(lo, hi)| format!("{lo:.3} - {hi:.3}"));
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{interval}</td><td class=\"n\">{}</td></tr>",
            escape(&c.country),
            c.similarity,
            c.questions
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

/// `country,similarity,lower,upper,questions`, one row per country; the
/// country as the dataset names it (its sample note after it in
/// parentheses), quoted where CSV needs it.
pub fn csv(sims: &Similarities) -> String {
    let mut s = String::from("country,similarity,lower,upper,questions\n");
    for c in &sims.countries {
        let (lo, hi) = c.interval.map_or((String::new(), String::new()), |(l, h)| {
            (format!("{l:.6}"), format!("{h:.6}"))
        });
        let _ =
            writeln!(s, "{},{:.6},{lo},{hi},{}", csv_field(&c.country), c.similarity, c.questions);
    }
    s
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{CountryFigure, IntervalOptions};

    fn sims() -> Similarities {
        Similarities {
            metric: "mean of 1 - Jensen-Shannon distance".into(),
            log_base: 2,
            interval: IntervalOptions::default(),
            countries: vec![
                CountryFigure {
                    country: "Germany".into(),
                    similarity: 0.9,
                    questions: 3,
                    interval: Some((0.8, 0.95)),
                },
                CountryFigure {
                    country: "Nigeria (Non-national sample, \"urban\")".into(),
                    similarity: 0.5,
                    questions: 1,
                    interval: None,
                },
            ],
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(
            csv(&sims()),
            "country,similarity,lower,upper,questions\n\
             Germany,0.900000,0.800000,0.950000,3\n\
             \"Nigeria (Non-national sample, \"\"urban\"\")\",0.500000,,,1\n"
        );
    }

    #[test]
    fn the_chart_has_a_bar_and_whisker_per_country_and_escapes_names() {
        let svg = svg_bars(&sims());
        assert_eq!(svg.matches("<rect").count(), 2);
        // Germany's bar is 0.9 of the axis; its whisker spans 0.8-0.95.
        assert!(svg.contains(r#"width="378.0""#), "{svg}");
        assert!(svg.contains(r#"x1="526.0""#) && svg.contains(r#"x2="589.0""#), "{svg}");
        assert!(svg.contains("&quot;urban&quot;"));
        let page = html_page("run <x>", &["model m".into()], &sims());
        assert!(page.contains("<title>run &lt;x&gt;</title>") && page.contains("<svg"));
    }
}
