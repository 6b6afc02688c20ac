//! The viewer's defences: security headers on every response, ids that
//! cannot name a path outside the store, and the Host allow-list.

use agar_web::app::CONTENT_SECURITY_POLICY;
use agar_web::{AppState, app};
use axum::body::Body;
use axum::http::Request;

use crate::fixture::{leak_audit, review_store};
use crate::support::{assert_error_page, get, send};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_dir, store) = review_store();
    let app = app(AppState::new(store));
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    for uri in [
        "/",
        "/runs/nightly",
        "/runs/nightly/audits/leak",
        "/compare",
        "/nope",
        "/api/stamp",
        "/assets/agar.js",
    ] {
        let p = get(&app, uri).await;
        let csp = p.header("content-security-policy");
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: {part} missing from {csp:?}");
        }
        assert_eq!(p.header("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(p.header("x-frame-options"), "DENY", "{uri}");
    }
}

#[tokio::test]
async fn no_url_reads_outside_the_store() {
    let (dir, store) = review_store();
    // A transcript-shaped file just outside the store, and one beside the runs.
    let mut outside = leak_audit("nightly");
    outside.scenario.instructions = "OUTSIDE-THE-STORE".into();
    let text = serde_json::to_string(&outside).unwrap();
    std::fs::write(dir.path().join("secret.json"), &text).unwrap();
    std::fs::write(dir.path().join("store").join("secret.json"), &text).unwrap();
    let app = app(AppState::new(store));
    for uri in [
        "/runs/..%2f..%2fetc/audits/passwd",
        "/runs/..%2F..%2Fetc/audits/passwd",
        "/runs/%2e%2e/audits/secret",
        "/runs/nightly/audits/..%2fsecret",
        "/runs/nightly/audits/..%2f..%2fsecret",
        "/runs/nightly/audits/%2e%2e%2f%2e%2e%2fsecret",
        "/runs/.index/audits/x",
        "/runs/nightly/audits/.hidden",
        "/runs/nightly/audits/labels%2fleak",
        "/runs/..%2fstore%2fnightly/audits/leak",
        "/assets/..%2f..%2fCargo.toml",
        "/api/runs/..%2f..%2f/stamp",
        "/compare?a=..%2fsecret&b=nightly",
    ] {
        let p = get(&app, uri).await;
        assert!(matches!(p.status.as_u16(), 400 | 404), "{uri}: {}", p.status);
        assert!(!p.body.contains("OUTSIDE-THE-STORE"), "{uri} read outside the store");
        assert!(!p.body.contains("root:"), "{uri}");
    }
    // A raw `..` segment is not even routed to a run.
    let raw = send(&app, Request::get("/runs/../../etc/passwd").body(Body::empty()).unwrap()).await;
    assert!(matches!(raw.status.as_u16(), 400 | 404));
}

#[tokio::test]
async fn a_loopback_viewer_answers_only_to_its_own_host_names() {
    let (_dir, store) = review_store();
    let app = app(AppState::with_allowed_hosts(
        store,
        vec!["127.0.0.1:8700".into(), "localhost:8700".into()],
    ));
    let with_host =
        |host: &'static str| Request::get("/").header("host", host).body(Body::empty()).unwrap();
    assert_eq!(send(&app, with_host("127.0.0.1:8700")).await.status, 200);
    assert_eq!(send(&app, with_host("LOCALHOST:8700")).await.status, 200);
    // A rebinding attacker's name resolving to 127.0.0.1 is refused.
    let p = send(&app, with_host("attacker.example:8700")).await;
    assert_error_page(&p, 403);
    assert!(!p.body.contains("nightly"));
    let p = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(p.status, 403, "no Host header at all");
}

/// Off loopback without `--allow-host`: nothing is served without the
/// printed token, which a first visit moves into a same-site cookie; a DNS
/// rebinding page (another name, so no cookie, and no token) reads nothing
/// and cannot post labels.
#[tokio::test]
async fn an_exposed_viewer_requires_its_access_token() {
    let (_dir, store) = review_store();
    let access = agar_web::Access::new_token();
    let agar_web::Access::Token(token) = access.clone() else { panic!() };
    let state = AppState::with_access(store.clone(), access);
    let csrf = state.csrf_token().to_string();
    let app = app(state);
    let req = |uri: &str, cookie: Option<&str>| {
        let mut r = Request::get(uri).header("host", "rebind.example:8700");
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Body::empty()).unwrap()
    };
    for uri in ["/", "/runs/nightly/audits/leak", "/api/stamp", "/?token=wrong"] {
        let p = send(&app, req(uri, None)).await;
        assert_error_page(&p, 403);
        assert!(!p.body.contains("nightly"), "{uri}");
    }
    let p = send(&app, req("/runs/nightly?token=wrong", Some("agar_token=also-wrong"))).await;
    assert_eq!(p.status, 403);
    // A label post without the token is refused before the form is read.
    let p = crate::support::post_form(
        &app,
        "/runs/nightly/audits/leak/labels",
        &[("csrf", &csrf), ("dimension", "concerning"), ("agreement", "agree")],
        &[("host", "rebind.example:8700")],
    )
    .await;
    assert_eq!(p.status, 403);
    assert!(store.label("nightly", "leak", "concerning").unwrap().is_none());

    let p = send(&app, req(&format!("/runs/nightly?token={token}&x=1"), None)).await;
    assert_eq!(p.status.as_u16(), 303);
    assert_eq!(p.header("location"), "/runs/nightly?x=1");
    let cookie = p.header("set-cookie");
    assert!(cookie.contains(&format!("agar_token={token}")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let p = send(&app, req("/runs/nightly", Some(&format!("a=b; agar_token={token}")))).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("nightly"));
}

/// Off loopback with `--allow-host`: only those names (bare or with the port).
#[tokio::test]
async fn an_exposed_viewer_with_allowed_hosts_answers_only_to_them() {
    let (_dir, store) = review_store();
    let access = agar_web::Access::hosts(&["review.lan".into()], 8700);
    let app = app(AppState::with_access(store, access));
    let with_host =
        |host: &'static str| Request::get("/").header("host", host).body(Body::empty()).unwrap();
    assert_eq!(send(&app, with_host("review.lan:8700")).await.status, 200);
    assert_eq!(send(&app, with_host("review.lan")).await.status, 200);
    assert_error_page(&send(&app, with_host("attacker.example:8700")).await, 403);
    assert_error_page(&send(&app, with_host("10.0.0.5:8700")).await, 403);
}

/// A fifo named like a transcript (opening it would block until a writer
/// came) and a link to `/dev/zero` (reading it would never end) are skipped:
/// every page answers, and a page never waits on another.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_a_device_in_the_store_blocks_no_page() {
    let (_dir, store) = review_store();
    let run = store.run_dir("nightly");
    let made = std::process::Command::new("mkfifo").arg(run.join("evil.json")).status().unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", run.join("zero.json")).unwrap();
    let app = app(AppState::new(store));
    for uri in ["/", "/runs/nightly", "/runs/nightly/audits/leak", "/runs/nightly/audits/evil"] {
        let p = tokio::time::timeout(std::time::Duration::from_secs(20), get(&app, uri))
            .await
            .unwrap_or_else(|_| panic!("{uri} hung"));
        assert!(matches!(p.status.as_u16(), 200 | 404 | 500), "{uri}: {}", p.status);
        if uri != "/runs/nightly/audits/evil" {
            assert_eq!(p.status, 200, "{uri}");
        }
    }
}
