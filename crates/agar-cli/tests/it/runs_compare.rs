//! Stored runs read back: `agar show` (and its rebuilt index), `agar compare`
//! with a known difference, `--fail-if` exit codes, JUnit and HTML reports.
//! The runs are written with the store's API, so their scores are known.

use std::collections::BTreeMap;
use std::path::Path;

use agar_core::{AuditStatus, RoleName, RunRecord, Transcript};
use agar_store::{RunPlan, Store};
use agar_testkit::{RunBuilder, TranscriptBuilder, VerdictBuilder, citation, dimension_score};
use chrono::{DateTime, Utc};

use crate::support::{agar, stderr, stdout};

/// A run created now, its target and judge on the fake server's models.
fn run(run: &str) -> RunBuilder {
    RunBuilder::new(run)
        .created(Utc::now())
        .model(RoleName::Target, "openai/target")
        .model(RoleName::Judge, "openai/judge")
}

pub(crate) fn run_record(name: &str) -> RunRecord {
    run(name).record().clone()
}

/// A plan of one audit per id, each of the scenario of the same name.
pub(crate) fn plan(name: &str, ids: &[String]) -> RunPlan {
    let (_, plan, _) = run(name).plan_audits(ids.iter().map(String::as_str)).into_parts();
    plan.unwrap()
}

/// A judged transcript whose target wrote `said`.
pub(crate) fn transcript(run: &str, id: &str, scores: &[(&str, u8)], said: &str) -> Transcript {
    let mut verdict = VerdictBuilder::new()
        .summary(&format!("The target said: {said}"))
        .highlight(citation("M1", said, Some(true)))
        .usage(100, 20);
    for (dimension, score) in scores {
        verdict = verdict.scored(dimension, dimension_score(*score, "because", vec![]));
    }
    TranscriptBuilder::new(run, id)
        .title(&format!("Scenario {id}"))
        .instructions("probe")
        .finished(DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(3))
        .conversation([agar_core::Message::assistant(said)])
        .verdict(verdict.build())
        .build()
}

/// Writes run `run` with one audit per score pair (sycophancy, deception),
/// plus `extra` audits planned but not finished.
pub(crate) fn write_run(store: &Store, run: &str, scores: &[(u8, u8)], extra: usize) {
    let mut ids: Vec<String> = (0..scores.len()).map(|i| format!("a{i:02}")).collect();
    ids.extend((0..extra).map(|i| format!("later{i}")));
    store.create_run_with_plan(&run_record(run), &plan(run, &ids)).unwrap();
    for (i, (s, d)) in scores.iter().enumerate() {
        let t = transcript(
            run,
            &ids[i],
            &[("sycophancy", *s), ("deception", *d)],
            "Your poem is wonderful.",
        );
        store.write_transcript(&t).unwrap();
    }
}

/// Baseline: sycophancy around 2.5; candidate: around 6.5; deception the same in both.
fn two_runs(dir: &Path) -> Store {
    let store = Store::open(dir.join("store")).unwrap();
    let base: Vec<(u8, u8)> = (0..16).map(|i| (2 + (i % 2) as u8, 1 + (i % 3) as u8)).collect();
    let cand: Vec<(u8, u8)> = (0..16).map(|i| (6 + (i % 2) as u8, 1 + (i % 3) as u8)).collect();
    write_run(&store, "base", &base, 0);
    write_run(&store, "cand", &cand, 0);
    store
}

pub(crate) fn store_arg(store: &Store) -> [String; 2] {
    ["--store".into(), store.root().display().to_string()]
}

#[tokio::test]
async fn compare_finds_the_changed_dimension_and_not_the_unchanged_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_runs(dir.path());
    let out = agar()
        .args(["compare", "base", "cand", "--json"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let syc = &json["dimensions"]["sycophancy"];
    assert!((syc["delta_mean"].as_f64().unwrap() - 4.0).abs() < 1e-9, "{syc}");
    assert!(syc["ci_low"].as_f64().unwrap() > 0.0, "the interval excludes 0: {syc}");
    assert_eq!(syc["change"], "regression");
    let dec = &json["dimensions"]["deception"];
    assert!(
        dec["ci_low"].as_f64().unwrap() <= 0.0 && dec["ci_high"].as_f64().unwrap() >= 0.0,
        "{dec}"
    );
    assert_eq!(dec["change"], "no_significant_change");
    assert_eq!(json["regressions"], serde_json::json!(["sycophancy"]));
    assert_eq!(json["resamples"], 2000);

    // The same again: seeded, so identical.
    let again = agar()
        .args(["compare", "base", "cand", "--json"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert_eq!(again.stdout, out.stdout);

    // The table flags the regression.
    let out =
        agar().args(["compare", "base", "cand"]).args(store_arg(&store)).output().await.unwrap();
    assert!(stdout(&out).contains("REGRESSION"), "{}", stdout(&out));
}

#[tokio::test]
async fn fail_if_exits_3_and_names_the_condition() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_runs(dir.path());
    let out = agar()
        .args([
            "compare",
            "base",
            "cand",
            "--fail-if",
            "delta.sycophancy.mean>0.5",
            "--fail-if",
            "delta.deception.mean>0.5",
        ])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--fail-if delta.sycophancy.mean>0.5 held (value 4.00)"), "{err}");
    assert!(!err.contains("delta.deception"), "a condition that does not hold is not named: {err}");

    let out = agar()
        .args(["show", "cand", "--fail-if", "sycophancy.max>=7"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("sycophancy.max>=7"), "{}", stderr(&out));
    let out = agar()
        .args(["show", "base", "--fail-if", "sycophancy.max>=7"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // delta conditions belong to compare.
    let out = agar()
        .args(["show", "base", "--fail-if", "delta.sycophancy.mean>1"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("only to agar compare"), "{}", stderr(&out));
}

#[tokio::test]
async fn deleting_the_index_and_showing_rebuilds_it_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_runs(dir.path());
    let show = || async {
        let out =
            agar().args(["show", "cand", "--json"]).args(store_arg(&store)).output().await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let before = show().await;
    assert_eq!(before["summary"]["dimensions"]["sycophancy"]["high"], 8);
    assert_eq!(before["summary"]["dimensions"]["sycophancy"]["count"], 16);
    let index = store.index_dir();
    assert!(index.is_dir());
    std::fs::remove_dir_all(&index).unwrap();
    let after = show().await;
    assert!(index.is_dir(), "agar show rebuilt the index");
    assert_eq!(after, before);

    let out = agar().args(["runs"]).args(store_arg(&store)).output().await.unwrap();
    let listing = stdout(&out);
    assert!(listing.contains("base") && listing.contains("16: 16 done"), "{listing}");
}

#[tokio::test]
async fn junit_reports_one_test_case_per_audit_and_parse() {
    use quick_xml::Reader;
    use quick_xml::events::Event as Xml;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run(&store, "ci", &[(2, 1), (8, 1), (3, 1)], 1);
    let mut invalid = transcript("ci", "a02", &[], "x");
    invalid.status =
        AuditStatus::Invalid { reason: "the auditor <never> reached the target".into() };
    invalid.verdicts.clear();
    store.write_transcript(&invalid).unwrap();
    let out_file = dir.path().join("junit.xml");
    let out = agar()
        .args(["report", "ci", "--format", "junit", "--fail-if", "sycophancy.max>=7", "-o"])
        .arg(&out_file)
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let xml = std::fs::read_to_string(&out_file).unwrap();

    // Parse it back: every element well formed, attributes decoded.
    let mut reader = Reader::from_str(&xml);
    let mut cases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut suites = 0;
    let mut current = None;
    loop {
        match reader.read_event().unwrap() {
            Xml::Start(e) | Xml::Empty(e) => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| a.unescape_value().unwrap().into_owned())
                };
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => {
                        let name = attr(b"name").unwrap();
                        cases.insert(name.clone(), vec![]);
                        current = Some(name);
                    }
                    tag @ (b"failure" | b"error" | b"skipped") => {
                        let what = format!(
                            "{}:{}",
                            String::from_utf8_lossy(tag),
                            attr(b"type").unwrap_or_default()
                        );
                        cases.get_mut(current.as_ref().unwrap()).unwrap().push(what);
                        if tag == b"failure" && attr(b"type").as_deref() == Some("invalid") {
                            assert!(
                                attr(b"message").unwrap().contains("<never>"),
                                "escaped and decoded"
                            );
                        }
                    }
                    _ => {}
                }
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, 2, "the audits and the run's gates");
    assert_eq!(cases["a00"], Vec::<String>::new());
    assert_eq!(cases["a01"], ["failure:gate"], "sycophancy 8 >= 7");
    assert_eq!(cases["a02"], ["failure:invalid"]);
    assert_eq!(cases["later0"], ["skipped:"]);
    assert_eq!(cases["sycophancy.max>=7"], ["failure:gate"]);
}

#[tokio::test]
async fn the_html_report_is_self_contained_and_escapes_what_models_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_runs(dir.path());
    let evil = "<script>alert('pwned')</script><img src=\"https://evil.example/x.png\">";
    store
        .write_transcript(&transcript("cand", "a03", &[("sycophancy", 9), ("deception", 2)], evil))
        .unwrap();
    let out_file = dir.path().join("report.html");
    let out = agar()
        .args(["report", "cand", "--format", "html", "--compare", "base", "-o"])
        .arg(&out_file)
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&out_file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no script, and the target's is escaped");
    assert!(html.contains("&lt;script&gt;alert("), "the target's text is shown, escaped");
    for attr in ["src=\"http", "href=\"http", "src='http", "href='http", "url(http", "@import"] {
        assert!(!html.contains(attr), "external resource: {attr}");
    }
    assert!(!html.contains("<img"), "the target's tag is not markup");
    assert!(html.contains("<svg") && html.contains("score distribution"));
    assert!(html.contains("comparison chart"), "a chart of the differences");
    assert!(html.contains("<style>"));

    let md = agar()
        .args(["report", "cand", "--format", "md"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    assert!(md.status.success());
    assert!(stdout(&md).contains("| Sycophancy | 6.62 |"), "{}", stdout(&md));
    let json = agar()
        .args(["report", "cand", "--format", "json"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["run"]["run_id"], "cand");
    assert_eq!(v["audits"].as_array().unwrap().len(), 16);
}

#[tokio::test]
async fn reading_a_missing_run_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = two_runs(dir.path());
    let out = agar().args(["show", "nope"]).args(store_arg(&store)).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no run \"nope\""), "{err}");
    let out = agar().args(["runs", "--store", "/no/such/store"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no store at /no/such/store"), "{}", stderr(&out));
}
