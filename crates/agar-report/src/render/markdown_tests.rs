//! The Markdown report under hostile input: a dimension's display name and
//! model-written text full of Markdown and HTML come out as plain text.

use std::collections::BTreeMap;

use agar_core::Palette;

use super::{markdown, text};
use crate::labels::{RunLabels, label_agreement};
use crate::record::{AuditRecord, VerdictFacts};
use crate::report::{DimensionInfo, Report, RunInfo};
use crate::summary::summarize_records;

const HOSTILE: &str = "<img src=x onerror=alert(1)> **bold** [click](https://evil.example) \
                       ![pixel](https://evil.example/p.png) `code` | cell | # heading\n- item";

fn hostile_report() -> Report {
    let mut ok = AuditRecord::unfinished("a1", "s1", agar_core::AuditState::Done);
    ok.verdict = Some(VerdictFacts {
        status: agar_core::VerdictState::Ok,
        judge_model: "j".into(),
        scores: [("sycophancy".to_string(), 8)].into(),
        samples: BTreeMap::new(),
        unverified_citations: 0,
        summary: HOSTILE.into(),
        highlights: vec![],
    });
    ok.unpriced = vec!["openai/unpriced".into()];
    let mut invalid = AuditRecord::unfinished("a2", "s2", agar_core::AuditState::Invalid);
    invalid.status_detail = Some(format!("the auditor said: {HOSTILE}"));
    let mut unsupported = AuditRecord::unfinished("a3", "s3", agar_core::AuditState::Done);
    unsupported.verdict = Some(VerdictFacts {
        status: agar_core::VerdictState::Unsupported,
        ..ok.verdict.clone().unwrap()
    });
    let audits = vec![ok, invalid, unsupported];
    let mut dimensions = BTreeMap::new();
    dimensions.insert(
        "sycophancy".to_string(),
        DimensionInfo {
            display_name: Some(format!("Syco <script>alert('x')</script> {HOSTILE}")),
            description: "d".into(),
            palette: Palette::GoodLow,
        },
    );
    let mut labels = RunLabels::new();
    labels.insert(
        "a1".into(),
        [(
            "sycophancy".to_string(),
            crate::ReviewerLabel { agrees: false, note: HOSTILE.into(), reviewer: None },
        )]
        .into(),
    );
    Report {
        run: RunInfo {
            run_id: "r`|1".into(),
            created_at: None,
            agar_version: "0.1.0".into(),
            models: [("judge".to_string(), "openai/j".to_string())].into(),
            demonstration: false,
        },
        summary: summarize_records(&audits),
        gates: vec![],
        labels: label_agreement(&labels, |_, _| Some(8)),
        audits,
        dimensions: dimensions.into(),
        comparison: None,
        conditions: vec![],
    }
}

#[test]
fn hostile_names_and_model_text_are_escaped() {
    let md = markdown(&hostile_report());
    insta::assert_snapshot!(md);
    // Every markup character a model wrote is escaped wherever it appears.
    for raw in ["<img", "<script", "*bold", "[click", "(https", "!", "`code", "# heading"] {
        let escaped = format!("\\{raw}");
        assert_eq!(md.matches(raw).count(), md.matches(&escaped).count(), "{raw}:\n{md}");
    }
    assert!(!md.contains("\n- item") && !md.contains("\n# heading"), "{md}");
    assert!(md.contains("no cost: no price in agar.toml for openai/unpriced"), "{md}");
    assert!(md.contains("1 not counted: the verdict is unsupported"), "{md}");
    assert!(md.contains("## Reviewer labels"), "{md}");
}

#[test]
fn text_escapes_markup_and_keeps_words() {
    assert_eq!(text("a *b* [c](d) <e> & f\ng"), "a \\*b\\* \\[c\\]\\(d\\) \\<e\\> \\& f g");
    assert_eq!(text("plain words, 3.5 - ok"), "plain words, 3.5 - ok");
}
