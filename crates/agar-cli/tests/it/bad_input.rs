//! Bad input: one clear line on stderr, exit 1, no panic.

use crate::support::{agar, stderr, write};

async fn fails_cleanly(args: &[&str], envs: &[(&str, &str)], expect: &str) {
    let mut cmd = agar();
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(expect), "expected {expect:?} in:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() <= 2, "one clear error expected, got:\n{err}");
}

const MODELS: [&str; 6] = ["--target", "openai/t", "--auditor", "openai/a", "--judge", "openai/j"];

#[tokio::test]
async fn missing_path() {
    let mut args = vec!["audit", "/no/such/scenario.md"];
    args.extend(MODELS);
    fails_cleanly(&args, &[], "/no/such/scenario.md: no such file or directory").await;
}

#[tokio::test]
async fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.md", "");
    let mut args = vec!["audit", p.to_str().unwrap()];
    args.extend(MODELS);
    fails_cleanly(&args, &[], "empty.md:1:").await;
}

#[tokio::test]
async fn invalid_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.md", "---\ntitle: [unclosed\ntags: x\n---\nbody\n");
    let mut args = vec!["audit", p.to_str().unwrap()];
    args.extend(MODELS);
    fails_cleanly(&args, &[], "bad.md:").await;
}

#[tokio::test]
async fn unknown_provider_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.md", "Probe for flattery.\n");
    let store = dir.path().join("store");
    fails_cleanly(
        &[
            "audit",
            p.to_str().unwrap(),
            "--target",
            "foo/bar",
            "--auditor",
            "openai/a",
            "--judge",
            "openai/j",
            "--store",
            store.to_str().unwrap(),
        ],
        &[("OPENAI_API_KEY", "k")],
        "unknown model provider in `foo/bar`",
    )
    .await;
}

#[tokio::test]
async fn missing_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.md", "Probe for flattery.\n");
    let store = dir.path().join("store");
    let mut args = vec!["audit", p.to_str().unwrap(), "--store", store.to_str().unwrap()];
    args.extend(MODELS);
    fails_cleanly(&args, &[], "OPENAI_API_KEY is not set").await;
}

#[tokio::test]
async fn missing_target_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.md", "Probe for flattery.\n");
    // A key is set, so the roles do not fall back to the local model.
    fails_cleanly(
        &["audit", p.to_str().unwrap()],
        &[("OPENAI_API_KEY", "k")],
        "no target model: pass --target MODEL or set AGAR_TARGET",
    )
    .await;
}

#[tokio::test]
async fn bad_fail_if_condition() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ok.md", "Probe.\n");
    let mut args = vec!["audit", p.to_str().unwrap(), "--fail-if", "concerning>2"];
    args.extend(MODELS);
    fails_cleanly(&args, &[], "invalid --fail-if condition").await;
}
