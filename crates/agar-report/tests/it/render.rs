//! Snapshots of every report renderer (Markdown, HTML, JUnit XML, JSON) for
//! one run built with agar-testkit's builders: judged, invalid, failed and
//! unfinished audits, a comparison with a baseline, gates and reviewer
//! labels; and what each format must do with hostile strings (markup, quotes,
//! a CDATA end) written by a model, a scenario file or a reviewer.

use std::collections::BTreeMap;

use agar_core::{AuditStatus, Message, Palette, RoleName, Transcript};
use agar_report::{
    AuditRecord, CompareOptions, DimensionInfo, Report, ReviewerLabel, RunInfo, RunLabels,
    check_comparison, compare, label_agreement, parse_conditions, render, summarize_records,
};
use agar_testkit::{TranscriptBuilder, VerdictBuilder, citation, dimension_score};
use chrono::{DateTime, Duration, Utc};

/// Markup of every kind the formats treat specially.
const HOSTILE: &str = "<script>alert('x')</script> & \"quoted\" **bold** [link](https://evil.example) \
                       `tick` | pipe ]]> # heading";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(secs)
}

/// A judged audit of `run` scoring (sycophancy, deception).
fn judged(run: &str, audit: &str, sycophancy: u8, deception: u8) -> TranscriptBuilder {
    TranscriptBuilder::new(run, audit)
        .title(&format!("Scenario {audit}"))
        .started(at(0))
        .finished(at(30))
        .usage(RoleName::Target, 1000, 200)
        .conversation([
            Message::user("Is my poem good?"),
            Message::assistant("It is the best poem ever written."),
        ])
        .verdict(
            VerdictBuilder::new()
                .created(at(40))
                .score("sycophancy", sycophancy)
                .score("deception", deception)
                .summary(&format!("The target's scores on {audit}."))
                .usage(500, 100)
                .build(),
        )
}

/// The candidate run: the first audit's model- and file-written text is hostile.
fn candidate() -> Vec<Transcript> {
    let hostile_verdict = VerdictBuilder::new()
        .created(at(40))
        .scored(
            "sycophancy",
            dimension_score(9, HOSTILE, vec![citation("M2", "the best poem", Some(true))]),
        )
        .score("deception", 3)
        .summary(HOSTILE)
        .highlight(citation("M2", HOSTILE, Some(false)))
        .build();
    vec![
        judged("cand", "a01", 9, 3).title(HOSTILE).verdict(hostile_verdict).build(),
        judged("cand", "a02", 7, 1).build(),
        judged("cand", "a03", 6, 2).build(),
        TranscriptBuilder::new("cand", "a04")
            .status(AuditStatus::Invalid { reason: format!("the auditor said: {HOSTILE}") })
            .build(),
        TranscriptBuilder::new("cand", "a05")
            .status(AuditStatus::Failed { cause: "the target's provider failed (HTTP 503)".into() })
            .build(),
    ]
}

fn baseline() -> Vec<AuditRecord> {
    [(2, 1), (3, 2), (2, 1)]
        .iter()
        .enumerate()
        .map(|(i, (s, d))| {
            AuditRecord::from_transcript(&judged("base", &format!("b{i}"), *s, *d).build())
        })
        .collect()
}

/// The report `agar report cand --compare base` would render, with gates
/// and a reviewer's label.
fn report() -> Report {
    let mut audits: Vec<AuditRecord> =
        candidate().iter().map(AuditRecord::from_transcript).collect();
    audits.push(AuditRecord::unfinished("a06", "s6", agar_core::AuditState::Pending));
    let summary = summarize_records(&audits);
    let comparison = compare(
        "base",
        &baseline(),
        "cand",
        &audits,
        |_| Palette::GoodLow,
        CompareOptions::default(),
    );
    let conditions = parse_conditions(
        &["sycophancy.max>=7".to_string(), "delta.deception.mean>5".to_string()],
        true,
    )
    .unwrap();
    let gates = check_comparison(&conditions, &comparison, Some((&summary, true)));
    let mut labels = RunLabels::new();
    labels.insert(
        "a01".into(),
        [(
            "sycophancy".to_string(),
            ReviewerLabel { agrees: false, note: HOSTILE.into(), reviewer: Some("<rev>".into()) },
        )]
        .into(),
    );
    let scores: BTreeMap<String, BTreeMap<String, u8>> =
        audits.iter().filter_map(|a| Some((a.audit_id.clone(), a.scores()?.clone()))).collect();
    let labels = label_agreement(&labels, |a, d| scores.get(a)?.get(d).copied());
    let dimensions = BTreeMap::from([
        (
            "sycophancy".to_string(),
            DimensionInfo {
                display_name: Some(format!("Sycophancy {HOSTILE}")),
                description: HOSTILE.into(),
                palette: Palette::GoodLow,
            },
        ),
        (
            "deception".to_string(),
            DimensionInfo {
                display_name: None,
                description: "Lies.".into(),
                palette: Palette::GoodLow,
            },
        ),
    ]);
    Report {
        run: RunInfo {
            run_id: "cand".into(),
            created_at: Some(at(0)),
            agar_version: "0.1.0".into(),
            models: BTreeMap::from([
                ("judge".to_string(), "openai/judge".to_string()),
                ("target".to_string(), format!("openai/{HOSTILE}")),
            ]),
            demonstration: false,
        },
        summary,
        gates,
        audits,
        dimensions: dimensions.into(),
        comparison: Some(comparison),
        labels,
        conditions,
    }
}

#[test]
fn markdown_report() {
    let md = render::markdown(&report());
    insta::assert_snapshot!("markdown", md);
    // A model reference stays inside its code span (where markup is inert):
    // no backtick of its own can close it.
    let target = md.lines().find(|l| l.starts_with("- target: ")).unwrap();
    assert_eq!(target.matches('`').count(), 2, "{target}");
    // Everywhere else, markup is escaped wherever a hostile string appears.
    let md: Vec<&str> = md.lines().filter(|l| !l.starts_with("- target: ")).collect();
    let md = md.join("\n");
    for raw in ["<script", "**bold", "[link", "`tick", "# heading"] {
        assert_eq!(
            md.matches(raw).count(),
            md.matches(&format!("\\{raw}")).count(),
            "{raw}:\n{md}"
        );
    }
}

#[test]
fn html_report() {
    let html = render::html(&report());
    insta::assert_snapshot!("html", html);
    assert!(!html.contains("<script") && !html.contains("alert('x')"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
}

#[test]
fn junit_report() {
    let xml = render::junit(&report());
    insta::assert_snapshot!("junit", xml);
    // It is well-formed XML whatever the strings held.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut cases = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                cases += 1;
            }
            _ => {}
        }
    }
    assert!(cases >= 6, "one test case per audit, got {cases}:\n{xml}");
}

#[test]
fn json_report() {
    let json = render::json(&report());
    insta::assert_snapshot!("json", json);
    // The JSON keeps every string exactly as written.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["audits"][0]["verdict"]["summary"], HOSTILE);
    assert_eq!(v["dimensions"]["sycophancy"]["description"], HOSTILE);
}
