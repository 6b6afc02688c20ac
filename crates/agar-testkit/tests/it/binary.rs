//! The `agar-fake-server` process: first line, serving a script, CPU report on SIGTERM.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::client;

#[tokio::test]
async fn the_binary_serves_a_script_and_reports_cpu_time_on_sigterm() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo-script.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agar-fake-server"))
        .arg("--script")
        .arg(&script)
        .args(["--fault-seed", "3", "--model", "target"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(5), stdout.read_line(&mut first))
        .await
        .unwrap()
        .unwrap();
    let base_url = first.trim().strip_prefix("listening on ").unwrap().to_string();
    assert!(base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"), "{base_url}");

    let body = json!({"model": "auditor", "messages": [{"role": "user", "content": "start"}]});
    let reply: Value = client()
        .post(format!("{base_url}/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reply["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "set_target_system_message"
    );
    let models: Value =
        client().get(format!("{base_url}/models")).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["data"].as_array().unwrap().len(), 2);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    let report =
        stderr.lines().find(|l| l.starts_with("cpu_ms=")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(report.ends_with(" calls=1"), "{report}");
    let cpu_ms: u64 = report["cpu_ms=".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(cpu_ms < 5_000, "{cpu_ms}");
}

#[tokio::test]
async fn the_binary_rejects_an_invalid_fault_plan() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_agar-fake-server"))
        .args(["--fault-server-error", "0.8", "--fault-hang", "0.5"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("add up to"), "{stderr}");
}
