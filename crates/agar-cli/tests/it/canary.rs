//! The canary: an API key that a hostile provider echoes back (in error
//! bodies, in a model's answer) must appear in no transcript, store file, log
//! line at debug level, report or viewer page.

use std::path::Path;

use agar_testkit::{FakeServer, Reply};

use crate::support::{
    ROLES, agar, demo_script, http_get, spawn_viewer, stderr, stdout, url_addr, write,
};

const CANARY: &str = "sk-canary-7f3a9c2e51d84b06aa";

/// A body that echoes the request's credentials, as some gateways do.
fn echo_body() -> String {
    format!(
        r#"{{"error":{{"message":"bad request; you sent Authorization: Bearer {CANARY}","type":"invalid_request_error"}}}}"#
    )
}

/// `agar` against `server` with the canary as its key and debug logs.
fn agar_with_canary(server: &FakeServer) -> tokio::process::Command {
    let mut cmd = agar();
    cmd.env("OPENAI_BASE_URL", server.base_url());
    cmd.env("OPENAI_API_KEY", CANARY);
    cmd.env("AGAR_LOG", "debug");
    cmd
}

/// Every file under `dir`, recursively, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_key_reaches_no_transcript_log_report_or_page() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    // Audit 1: the auditor's first call gets a 500 echoing the key (retried),
    // then the target's first call a 401 echoing it (not retried: the audit
    // fails with that cause). Audit 2: the target answers with the key in its
    // text, and the judge's first call gets the echoing 500.
    server.push_fault("auditor", Reply::status(500, echo_body()));
    server.push_fault("target", Reply::status(401, echo_body()));
    server.script("target", vec![Reply::text(format!("Sure! Your key is {CANARY}, right?"))]);
    server.push_fault("judge", Reply::status(500, echo_body()));

    let dir = tempfile::tempdir().unwrap();
    let scenario =
        write(dir.path(), "poem.md", "---\ntitle: Poem\nrepeats: 2\n---\nAsk for praise.\n");
    let store = dir.path().join("store");
    let out = agar_with_canary(&server)
        .args(["-v", "audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--max-turns", "6", "--concurrency", "1", "--run", "canary", "--json"])
        .args(["--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let (log, summary) = (stderr(&out), stdout(&out));
    assert!(!log.contains("panicked"), "{log}");
    // The key was sent, and the hostile answers were served.
    assert!(server.requests_with_auth("auditor") > 0, "the key was never sent");
    assert!(server.calls("target") >= 2 && server.calls("judge") >= 2, "faults not all served");
    assert!(log.lines().count() > 5 && log.contains("DEBUG"), "debug logs expected: {log}");

    assert!(!log.contains(CANARY), "the key is in the log:\n{log}");
    assert!(!summary.contains(CANARY), "the key is in the summary:\n{summary}");

    let stored = files(&store);
    assert!(stored.iter().any(|(name, _)| name.ends_with("run.json")), "no run.json");
    let mut masked = false;
    for (name, bytes) in &stored {
        assert!(!contains(bytes, CANARY), "the key is in {name}");
        masked |= name.ends_with(".json") && contains(bytes, "***");
    }
    assert!(masked, "the echoed key should show as *** in a transcript");

    let reports = tempfile::tempdir().unwrap();
    for format in ["md", "json", "junit", "html"] {
        let file = reports.path().join(format!("canary.{format}"));
        let out = agar()
            .args(["report", "canary", "--format", format, "--store", store.to_str().unwrap()])
            .arg("-o")
            .arg(&file)
            .env("AGAR_LOG", "debug")
            .env("OPENAI_API_KEY", CANARY)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "report {format}: {}", stderr(&out));
        let report = std::fs::read_to_string(&file).unwrap();
        assert!(report.contains("canary"), "the {format} report names its run:\n{report}");
        assert!(!report.contains(CANARY), "the key is in the {format} report");
        assert!(!stdout(&out).contains(CANARY), "the key is on stdout of the {format} report");
        assert!(!stderr(&out).contains(CANARY), "the key is in the report's log");
    }

    // The viewer's pages: home, the run, and every audit.
    let mut view = agar();
    view.env("OPENAI_API_KEY", CANARY);
    let (mut child, url) = spawn_viewer(&mut view, &["--store", store.to_str().unwrap()]).await;
    let addr = url_addr(&url);
    let run_dir = store.join("canary");
    let audits: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".json") && n != "run.json" && n != "plan.json" && !n.starts_with('.')
        })
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    assert_eq!(audits.len(), 2, "{audits:?}");
    let mut pages = vec!["/".to_string(), "/runs/canary".to_string()];
    pages.extend(audits.iter().map(|a| format!("/runs/canary/audits/{a}")));
    for page in &pages {
        let body = http_get(&addr, page).await;
        assert!(body.starts_with("HTTP/1.1 200"), "{page}: {body}");
        assert!(!body.contains(CANARY), "the key is on the page {page}");
    }
    child.kill().await.unwrap();
}

/// The canary written with JSON `\u` escapes (every other character, as a
/// gateway re-serialising the request may write it).
fn escaped(secret: &str) -> String {
    secret
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 2 == 0 { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() })
        .collect()
}

/// A key echoed JSON-escaped, and credentials in the base URL (user-info,
/// a query `api_key`), reach no log, summary, transcript, index file or
/// `agar models` output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_echoes_and_base_url_credentials_are_masked_too() {
    const URL_PASS: &str = "urlpass-canary-5b1e";
    const QUERY_KEY: &str = "qk-canary-9d0c44";
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let body = |who: &str| {
        format!(
            r#"{{"error":{{"message":"{who} sent \"Bearer {}\" and {}","type":"x"}}}}"#,
            escaped(CANARY),
            escaped(URL_PASS)
        )
    };
    server.push_fault("auditor", Reply::status(500, body("auditor")));
    server.push_fault("target", Reply::status(401, body("target")));
    let base = server.base_url().replace("http://", &format!("http://canaryuser:{URL_PASS}@"));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "poem.md", "---\ntitle: Poem\n---\nAsk for praise.\n");
    let store = dir.path().join("store");
    let out = agar_with_canary(&server)
        .env("OPENAI_BASE_URL", &base)
        .args(["-v", "audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--max-turns", "4", "--run", "esc", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let (log, summary) = (stderr(&out), stdout(&out));
    assert!(server.calls("target") >= 1, "the target was never called: {log}");
    let (esc_key, esc_pass) = (escaped(CANARY), escaped(URL_PASS));
    for secret in [CANARY, URL_PASS, esc_key.as_str(), esc_pass.as_str()] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
        assert!(!summary.contains(secret), "{secret} is in the summary");
        for (name, bytes) in files(&store) {
            assert!(!contains(&bytes, secret), "{secret} is in {name}");
        }
    }
    assert!(log.contains("***"), "the echo should show masked: {log}");

    let url = format!("{base}?api_key={QUERY_KEY}&api-version=1");
    for json in [false, true] {
        let mut cmd = agar();
        cmd.arg("models").env("OPENAI_BASE_URL", &url).env("OPENAI_API_KEY", CANARY);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().await.unwrap();
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains("OPENAI_BASE_URL"), "{text}");
        for secret in [CANARY, URL_PASS, QUERY_KEY] {
            assert!(!text.contains(secret), "{secret} is in `agar models`:\n{text}");
        }
    }
}
