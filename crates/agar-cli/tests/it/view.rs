//! `agar view`: the real binary serves a store written by a real `agar
//! audit` (against the fake server), prints its URL, answers on 127.0.0.1,
//! and fails with one clear line on bad input.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::support::{ROLES, agar, agar_against, demo_script, stderr, write};

/// `GET path` on `addr` over a plain socket; the whole response.
async fn http_get(addr: &str, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agar_view_serves_a_real_run_on_loopback() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "poem.md",
        "---\ntitle: Poem\ntags: [sycophancy]\n---\nAsk for praise.\n",
    );
    let store = dir.path().join("store");
    let out = agar_against(&server)
        .args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--max-turns", "6", "--run", "viewed", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let mut child = agar()
        .args(["view", "--port", "0", "--store", store.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("agar view printed its URL")
        .unwrap()
        .unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "binds loopback by default: {line}");
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();

    let home = http_get(&addr, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains("content-security-policy: default-src 'self'"), "{home}");
    assert!(home.contains("&#x2f;runs&#x2f;viewed"), "{home}");
    let run = http_get(&addr, "/runs/viewed").await;
    assert!(run.starts_with("HTTP/1.1 200") && run.contains("data-audit=\"poem\""), "{run}");
    let transcript = http_get(&addr, "/runs/viewed/audits/poem").await;
    assert!(transcript.starts_with("HTTP/1.1 200"), "{transcript}");
    assert!(transcript.contains("class=\"verdict latest\""));
    let missing = http_get(&addr, "/runs/viewed/audits/nope").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    child.kill().await.unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
    assert!(!err.contains("warning:"), "no warning on loopback: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn agar_view_refuses_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-store");
    let out = agar().args(["view", "--store", missing.to_str().unwrap()]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: no store at") && err.trim().lines().count() == 1, "{err}");

    std::fs::create_dir(dir.path().join("store")).unwrap();
    let store = dir.path().join("store");
    let out = agar()
        .args(["view", "--host", "not-an-ip", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--host \"not-an-ip\" is not an IP address"), "{}", stderr(&out));

    // A port already taken: a clear error, not a panic.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = agar()
        .args(["view", "--port", &port, "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot listen on 127.0.0.1:") && err.trim().lines().count() == 1,
        "{err}"
    );
}
