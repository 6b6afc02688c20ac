//! The first hour of a new user (issue 23): usage errors exit 1, `agar show`
//! with no run, HTML reports written to a file, the unverified-citation
//! warning in every report, `agar compare` over too few audits or unlike
//! runs, demonstration runs saying what they are, and docs that build once.

use std::path::Path;

use agar_core::{RoleName, RunRecord};
use agar_store::Store;

use crate::runs_compare::{plan, run_record, store_arg, transcript, write_run};
use crate::support::{agar, stderr, stdout};

/// Writes `record`'s run with one audit per (sycophancy, deception) pair;
/// each verdict has `unverified` citations not found in its transcript.
fn write_run_as(store: &Store, record: &RunRecord, scores: &[(u8, u8)], unverified: usize) {
    let run = record.run_id.as_str();
    let ids: Vec<String> = (0..scores.len()).map(|i| format!("a{i:02}")).collect();
    store.create_run_with_plan(record, &plan(run, &ids)).unwrap();
    for (i, (s, d)) in scores.iter().enumerate() {
        let mut t = transcript(run, &ids[i], &[("sycophancy", *s), ("deception", *d)], "Lovely.");
        t.verdicts[0].unverified_citations = unverified;
        store.write_transcript(&t).unwrap();
    }
}

fn demo_record(run: &str) -> RunRecord {
    let mut r = run_record(run);
    for role in [RoleName::Target, RoleName::Auditor, RoleName::Judge] {
        r.models.insert(role, "local/smollm2".into());
    }
    r.demonstration = true;
    r
}

#[tokio::test]
async fn usage_errors_exit_1_and_help_exits_0() {
    for args in [
        &["audit", "--no-such-flag", "x.md"][..],
        &["audit"][..],
        &["report"][..],
        &["no-such-command"][..],
        &[][..],
    ] {
        let out = agar().args(args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?}: clap's message is printed");
    }
    for args in [&["--help"][..], &["--version"][..], &["audit", "--help"][..]] {
        let out = agar().args(args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", stderr(&out));
        assert!(!stdout(&out).is_empty());
    }
}

#[tokio::test]
async fn show_with_no_run_shows_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run(&store, "older", &[(2, 1)], 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_run(&store, "newer", &[(3, 1)], 0);
    let out = agar().arg("show").args(store_arg(&store)).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("run newer "), "{}", stdout(&out));
    let empty = Store::open(dir.path().join("empty")).unwrap();
    let out = agar().arg("show").args(store_arg(&empty)).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no runs in the store"), "{}", stderr(&out));
}

#[tokio::test]
async fn an_html_report_goes_to_a_file_whose_path_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run(&store, "nightly", &[(2, 1)], 0);
    let out = agar()
        .args(["report", "nightly", "--format", "html"])
        .args(store_arg(&store))
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "wrote nightly.html");
    let page = std::fs::read_to_string(dir.path().join("nightly.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
}

#[tokio::test]
async fn every_report_keeps_the_unverified_citation_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run_as(&store, &run_record("r"), &[(2, 1), (3, 1)], 3);
    let warning = "6 judge citations could not be found in their transcripts";
    for format in ["md", "html", "junit", "json"] {
        let out = agar()
            .args(["report", "r", "--format", format, "-o"])
            .arg(dir.path().join(format!("r.{format}")))
            .args(store_arg(&store))
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(dir.path().join(format!("r.{format}"))).unwrap();
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(json["summary"]["unverified_citations"], 6, "{json}");
        } else {
            assert!(text.contains(warning), "{format}:\n{text}");
        }
    }
}

#[tokio::test]
async fn compare_warns_over_too_few_audits_and_unlike_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run_as(&store, &run_record("a"), &[(10, 1)], 0);
    let mut b = run_record("b");
    b.models.insert(RoleName::Judge, "openai/other-judge".into());
    b.settings.dimensions = vec!["sycophancy".into()];
    write_run_as(&store, &b, &[(1, 1)], 0);
    let out = agar().args(["compare", "a", "b"]).args(store_arg(&store)).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (table, err) = (stdout(&out), stderr(&out));
    assert!(err.contains("too few judged audits"), "{err}");
    assert!(err.contains("different judges: openai/judge and openai/other-judge"), "{err}");
    assert!(err.contains("different dimensions"), "{err}");
    assert!(table.contains("too few audits"), "{table}");
    assert!(!table.contains("[-9.00, -9.00]") && !table.contains("improvement"), "{table}");
    let out = agar()
        .args(["compare", "a", "b", "--json", "--fail-on-regression"])
        .args(store_arg(&store))
        .output()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dimensions"]["sycophancy"]["change"], "too_few_audits", "{json}");
    assert!(json["dimensions"]["sycophancy"]["ci_low"].is_null(), "{json}");
    assert_eq!(json["warnings"].as_array().unwrap().len(), 3, "{json}");
}

#[tokio::test]
async fn a_demonstration_run_says_so_first_and_shows_no_alarming_score() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    write_run_as(&store, &demo_record("demo"), &[(10, 10)], 0);
    let banner = agar_core::DEMONSTRATION_BANNER;
    let out = agar().args(["show", "demo"]).args(store_arg(&store)).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().next(), Some(banner), "{}", stdout(&out));
    let out =
        agar().args(["show", "demo", "--json"]).args(store_arg(&store)).output().await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["demonstration"], true);
    let report = |format: &str| {
        let path = dir.path().join(format!("demo.{format}"));
        let mut cmd = agar();
        cmd.args(["report", "demo", "--format", format, "-o"]).arg(&path).args(store_arg(&store));
        async move {
            assert!(cmd.output().await.unwrap().status.success());
            std::fs::read_to_string(path).unwrap()
        }
    };
    let md = report("md").await;
    assert!(md.contains(banner), "{md}");
    let html = report("html").await;
    assert!(html.contains(banner), "{html}");
    assert!(!html.contains("class=\"bad\""), "a 10 is not shown in red:\n{html}");
    assert!(!html.contains("#d92d20"), "no red bars:\n{html}");
    assert!(html.contains("class=\"demo\""), "{html}");
    let json: serde_json::Value = serde_json::from_str(&report("json").await).unwrap();
    assert_eq!(json["run"]["demonstration"], true);
}

/// The README's first lines, and the pages a new user reads first, build one
/// profile (the one `cargo test` builds), say how long that takes and how to
/// call `agar` by name.
#[test]
fn the_first_pages_use_one_build_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = std::fs::read_to_string(root.join("docs/getting-started.md")).unwrap();
    for (name, text) in [("README.md", &readme), ("docs/getting-started.md", &start)] {
        assert!(!text.contains("--release"), "{name} mixes build profiles");
        assert!(
            text.contains("cargo install --path crates/agar-cli")
                || text.contains("cargo install --locked --path crates/agar-cli"),
            "{name}: how to put agar on the PATH"
        );
    }
    let block: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("```sh"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert_eq!(
        block,
        [
            "cargo run -- audit scenarios/sycophancy/poem_praise.md",
            "cargo test --workspace",
            "cargo test --workspace --tests -- --ignored local_model browser --test-threads=1",
        ]
    );
    assert!(readme.contains("first build takes"), "the README says how long the first build takes");
    assert!(start.contains("first build takes"));
}
