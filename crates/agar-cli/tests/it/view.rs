//! `agar view`: the real binary serves a store written by a real `agar
//! audit` (against the fake server), prints its URL, answers on 127.0.0.1,
//! and fails with one clear line on bad input.

use tokio::io::AsyncReadExt;

use crate::support::{
    ROLES, agar, agar_against, demo_script, http, http_get, spawn_viewer, stderr, url_addr, write,
};

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

    let (mut child, url) = spawn_viewer(&mut agar(), &["--store", store.to_str().unwrap()]).await;
    assert!(url.starts_with("http://127.0.0.1:"), "binds loopback by default: {url}");
    let addr = url_addr(&url);

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

/// Off loopback, the viewer prints a URL with an access token, warns what
/// it exposes, and serves nothing to a request without the token.
#[tokio::test]
async fn agar_view_off_loopback_requires_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let args = ["--host", "0.0.0.0", "--store", store.to_str().unwrap()];
    let (mut child, url) = spawn_viewer(&mut agar(), &args).await;
    assert!(url.starts_with("http://0.0.0.0:") && url.contains("/?token="), "{url}");
    let token = url.split("token=").nth(1).unwrap().to_string();
    assert_eq!(token.len(), 64);
    let port = url_addr(&url).rsplit(':').next().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    let get = |path: &str, host: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    let refused = http(&addr, &get("/", "rebind.example")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let admitted = http(&addr, &get(&format!("/?token={token}"), "rebind.example")).await;
    assert!(admitted.starts_with("HTTP/1.1 303"), "{admitted}");
    assert!(admitted.contains("HttpOnly"), "{admitted}");
    child.kill().await.unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
    assert!(err.contains("warning: the viewer listens on 0.0.0.0:"), "{err}");
    assert!(err.contains("transcripts") && err.contains("labels"), "{err}");
}
